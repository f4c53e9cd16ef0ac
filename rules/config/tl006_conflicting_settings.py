"""TL006 conflicting-settings: two settings that cannot both hold.

The class docstring is the rule's page (docs/rules/TL006.md).
"""

from trainlint.api import ConfigRule, Example, FixAvailability, Severity, derive, dialects, fmt

# Which of two settings wins, per dialect, where the framework documents it.
_WARMUP_WINNER = {
    "hf": "`warmup_steps` wins: TrainingArguments ignores `warmup_ratio` when `warmup_steps` > 0",
    "axolotl": "`warmup_steps` wins (passed on to TrainingArguments, which ignores the ratio)",
}
_LENGTH_WINNER = {
    "hf": "`max_steps` wins: TrainingArguments ignores `num_train_epochs` when `max_steps` > 0",
    "axolotl": "`max_steps` wins (passed on to TrainingArguments)",
    "lightning": "training stops at whichever limit comes first",
}


def _own_keys(dialect: str, *values) -> bool:
    """Both keys are the framework's own names (its key table lists them): a script that
    takes `--num_epochs` into a dataclass of its own is not TrainingArguments, whatever
    parser fills it."""
    table = dialects().get(dialect)
    if table is None or not table.known:
        return True  # a framework table without a key list (Lightning): its mapping decides
    return all(value.key.lstrip("-").replace("-", "_").rsplit(".", 1)[-1] in table.known
               for value in values)


def _on(view, name):
    flag = view.flag(name)
    return bool(flag)


def _positive(view, name):
    number = view.number(name)
    return number is not None and number > 0


class ConflictingSettings(ConfigRule):
    """## What it does
    Finds two settings that cannot both hold: `fp16` and `bf16` both on; both `warmup_steps`
    and `warmup_ratio` set; both `max_steps` and an epoch count set. The message says which one
    the framework lets win.

    Only where the framework is known to give the keys those meanings (its key table says who
    wins: Hugging Face `TrainingArguments`, axolotl, Lightning) is it a warning. Where the
    framework is only guessed from key names, warmup steps next to a `warmup_ratio` are an
    info: in mmcv / mmengine `warmup_ratio` is the warmup's start factor, which goes with
    `warmup_iters`, not a share of training.

    `max_steps` next to an epoch count is the usual way to cap a run: it is a warning only
    where the steps per epoch are known (`steps_per_epoch`, or the dataset size over the
    effective batch) and the two lengths differ by an epoch or more, saying how many epochs
    the steps are; an info where the steps per epoch are not known.

    ## Why is this bad?
    One of the two values is silently ignored. The person who set it believes the run uses it:
    a warmup ratio tuned for one length, an epoch count that never applies.

    ## Example
    ```json
    {"warmup_steps": 500, "warmup_ratio": 0.06, "max_steps": 20000, "num_train_epochs": 3}
    ```

    ## Use instead
    ```json
    {"warmup_steps": 500, "max_steps": 20000}
    ```

    ## Fix safety
    No fix: which one to keep is a person's call.

    ## Options
    None.

    ## Source
    Hugging Face TrainingArguments docs (`warmup_steps` "overrides any effect of
    `warmup_ratio`", `max_steps` "overrides `num_train_epochs`"); RULES.md TL006.
    """

    code = "TL006"
    name = "conflicting-settings"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "two settings that cannot both hold"
    precision = "no warning or error findings (47 info; dev corpus, 28 repositories)"

    bad = (
        Example("args.json", '{\n  "output_dir": "out",\n  "per_device_train_batch_size": 8,\n'
                             '  "num_train_epochs": 3,\n  "warmup_steps": 500,\n  "warmup_ratio": 0.06\n}\n'),
        Example("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\nlearning_rate: 2.0e-5\n"
                             "num_train_epochs: 3\nfp16: true\nbf16: true\n"),
    )
    good = (Example("args.json", '{\n  "output_dir": "out",\n  "per_device_train_batch_size": 8,\n'
                                 '  "num_train_epochs": 3,\n  "warmup_ratio": 0.06,\n  "bf16": true\n}\n'),)

    def check_config(self, view):
        if _on(view, "precision.fp16") and _on(view, "precision.bf16"):
            later = max(view.get("precision.fp16"), view.get("precision.bf16"), key=lambda v: v.span.start)
            yield self.at(later, "`fp16` and `bf16` are both on; choose one (bf16 where the GPU "
                                 "supports it: no loss scaling needed)")
        if _positive(view, "schedule.warmup_steps") and _positive(view, "schedule.warmup_ratio"):
            steps, ratio = view.get("schedule.warmup_steps"), view.get("schedule.warmup_ratio")
            winner = _WARMUP_WINNER.get(view.dialect)
            if winner is not None and _own_keys(view.dialect, steps, ratio):
                yield self.at(ratio, f"both `{steps.key}` and `{ratio.key}` are set; {winner}",
                              basis="schema")
            else:  # the keys' meaning is guessed from their names (mmcv's warmup_ratio is a
                # start factor, not a share of training)
                yield self.at(ratio, f"both `{steps.key}` and `{ratio.key}` are set; if "
                                     f"`{ratio.key}` is a share of training, which one wins "
                                     "depends on the framework (in mmcv / mmengine it is the "
                                     "warmup's start factor, and the two go together)",
                              severity=Severity.INFO, basis="guessed")
        if _positive(view, "duration.max_steps") and _positive(view, "duration.epochs"):
            steps, epochs = view.get("duration.max_steps"), view.get("duration.epochs")
            winner = _LENGTH_WINNER.get(view.dialect)
            if winner is not None and _own_keys(view.dialect, steps, epochs):
                finding = self._length_conflict(view, steps, epochs, winner)
                if finding is not None:
                    yield finding

    def _length_conflict(self, view, steps, epochs, winner: str):
        """A warning where the steps per epoch are known and the two lengths differ; an info
        where they are not known: setting both is the usual way to cap a run, and whether the
        epoch count was meant cannot be told (38 of 38 such findings on the development corpus
        were debatable)."""
        message = f"both `{steps.key}` and `{epochs.key}` are set; {winner}"
        per_epoch = derive(view, self.ctx.project).steps_per_epoch
        if per_epoch is None or not per_epoch.value:
            return self.at(epochs, f"{message} (the steps per epoch are not known, so whether "
                                   f"`{epochs.key}` was meant cannot be told)",
                           severity=Severity.INFO, basis="schema")
        asked = view.number("duration.epochs")
        capped = view.number("duration.max_steps")
        if abs(capped - asked * per_epoch.value) < per_epoch.value:
            return None  # the same length, within an epoch
        runs = capped / per_epoch.value
        return self.at(epochs, f"{message}: {fmt(capped)} steps are {fmt(runs)} "
                               f"epoch{'' if runs == 1 else 's'} of {fmt(per_epoch.value)} steps "
                               f"({per_epoch.provenance}), not the {fmt(asked)} asked",
                       basis="schema")
