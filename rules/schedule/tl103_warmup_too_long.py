"""TL103 warmup-too-long: warmup is a large share of all training steps.

The class docstring is the rule's page (docs/rules/TL103.md).
"""

import math

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Example,
    FixAvailability,
    RuleOptions,
    Severity,
    derive,
    fmt,
)
from trainlint.rules.numbers import new_text, spliceable


class WarmupTooLong(ConfigRule):
    """## What it does
    Computes the warmup as a share of all optimizer steps and fires when it is more than
    `max_share` (10%), or more than `max_share_bert_mlm` (6%) for BERT-style MLM pre-training.
    The warmup comes from `warmup_steps` (`lr_warmup_steps`, Megatron's `--lr-warmup-iters`), a
    `warmup_ratio` / `warmup_steps_proportion`, `warmup_epochs`, or the first scheduler of an
    mmengine `param_scheduler` when it ramps up from `begin` 0 to an `end` (`LinearLR`,
    counted in epochs when `by_epoch`); total steps from `max_steps` / `max_iters` /
    `train_iters` / `train_steps` / `nBatch` (mmengine: `train_cfg`'s `max_epochs` or
    `max_iters`), or epochs x steps per epoch (the config's `num_iters_per_epoch` /
    `steps_per_epoch`, or the dataset size over the effective batch). Where the total is
    unknown, or counted in another unit than the warmup, the rule stays quiet.

    A warmup counted in epochs is reported at info: recipes counted in epochs (vision) are
    often tuned with long warmups (MoCo v3: 40 of 300 epochs; BEiT fine-tuning: 20 of 100),
    and the rule's sources are warmups in steps. In a launch whose script trainlint cannot find
    (and no config file), what the flags mean is guessed from their names: the finding is info.

    ## Why is this bad?
    Every warmup step trains below the peak learning rate. A long warmup spends a large share
    of the budget at a low LR: the run converges slowly and, with an inverse-square-root
    (Noam / warmuplr) schedule, the whole run stays at a lower LR, since the decay starts late.

    ## Example
    ```json
    {"model_type": "ltg_bert", "objective": "mlm", "warmup_steps_proportion": 0.1}
    ```

    ## Use instead
    ```json
    {"model_type": "ltg_bert", "objective": "mlm", "warmup_steps_proportion": 0.06}
    ```

    ## Fix safety
    Unsafe: it sets the warmup to `suggested_share` (6%) of the total steps: a ratio becomes
    0.06, a step count 6% of the total steps, an epoch count 6% of the epochs (at least 1). A
    warmup whose end is where the next scheduler begins (mmengine `begin`) gets no fix.

    ## Options
    - `max_share` (0.10): the largest warmup share that does not fire.
    - `max_share_bert_mlm` (0.06): the same for model type `bert-mlm` (seed 002).
    - `suggested_share` (0.06): what the fix writes.

    ## Source
    Seed 002 (`002_6031db6a944e5725.txt`): "10% warmup too conservative" for BabyLM LTG-BERT
    MLM; 6% recommended. Seed 000 (`000_c50777d40fdc0372.txt`): a 15,000-step warmup was "too
    conservative" for the conformer; v2 used 8,000.
    """

    class Options(RuleOptions):
        max_share: float = 0.10
        max_share_bert_mlm: float = 0.06
        suggested_share: float = 0.06

    code = "TL103"
    name = "warmup-too-long"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "warmup is a large share of all training steps"
    precision = "100.0% (3 true, 0 false, 8 debatable of 11; dev corpus, 28 repositories)"
    fix_title = "shorten the warmup to 6% of training"

    bad = (
        Example("model.json", '{"model_type": "bert", "objective": "mlm", "learning_rate": 2e-4,\n'
                ' "warmup_steps_proportion": 0.1, "max_steps": 30000}\n',
                fixed='{"model_type": "bert", "objective": "mlm", "learning_rate": 2e-4,\n'
                      ' "warmup_steps_proportion": 0.06, "max_steps": 30000}\n', unsafe=True),
        Example("asr.yaml", "lr: 2.0e-3\nwarmup_steps: 15000\nnepochs: 60\nnum_iters_per_epoch: 2000\n",
                fixed="lr: 2.0e-3\nwarmup_steps: 7200\nnepochs: 60\nnum_iters_per_epoch: 2000\n",
                unsafe=True),
        Example("hf.json", '{"per_device_train_batch_size": 32, "num_train_epochs": 2,\n'
                ' "learning_rate": 3e-5, "warmup_ratio": 0.25, "output_dir": "out"}\n'),
    )
    good = (
        Example("asr.yaml", "lr: 2.0e-3\nwarmup_steps: 8000\nnepochs: 40\nnum_iters_per_epoch: 2000\n"),
        Example("asr.yaml", "lr: 2.0e-3\nwarmup_steps: 25000\nmax_epoch: 35\n"),  # total unknown
        Example("nano.py", "max_iters = 5000\nlr_decay_iters = 5000\nwarmup_iters = 100\n"
                "learning_rate = 1e-3\nblock_size = 256\n"),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        share = derived.warmup_share
        if share is None:
            return
        bert = derived.model_type is not None and derived.model_type.value == "bert-mlm"
        limit = self.options.max_share_bert_mlm if bert else self.options.max_share
        if share.value <= limit * (1 + 1e-9):
            return
        source = self._warmup_value(view)
        if source is None:
            return
        limit_text = f"{limit:.0%}" + (" for bert-mlm" if bert else "")
        message = f"warmup is {share.value:.1%} of training ({share.provenance}), more than {limit_text}"
        fix = self._fix(view, derived, source)
        if fix is not None:
            message += f": {fix.message}"
        if derived.warmup_epochs is not None and derived.warmup_epochs.source is source:
            yield self.at(source, f"{message}; warmups counted in epochs are often tuned this long "
                                  "(MoCo v3: 40 of 300 epochs, BEiT fine-tuning: 20 of 100)", fix,
                          Severity.INFO)
            return
        if view.guessed:  # a launch of a script trainlint cannot read
            yield self.at(source, f"{message}; the script the launch runs was not found, so the "
                                  "flags are read by their names", fix, Severity.INFO,
                          basis="guessed")
            return
        yield self.at(source, message, fix)

    def _warmup_value(self, view: ConfigView):
        for name in ("schedule.warmup_steps", "schedule.warmup_ratio", "schedule.warmup_epochs"):
            value = view.get(name)
            if value is not None and value.number is not None and value.number > 0:
                return value
        return None

    def _fix(self, view: ConfigView, derived, source):
        if not spliceable(source) or view.get("schedule.decay_begin") is not None:
            return None  # the decay begins where the warmup ends: one number cannot move both
        share = self.options.suggested_share
        old = source.number
        is_ratio = source is view.get("schedule.warmup_ratio") or (
            0 < old < 1 and source is view.get("schedule.warmup_steps"))
        if is_ratio:
            new = share
            what = "warmup ratio"
        elif source is view.get("schedule.warmup_epochs") or (derived.warmup_epochs is not None
                                                               and derived.warmup_epochs.source is source):
            if derived.epochs is None:
                return None
            new = max(1, round(share * derived.epochs.value))
            what = "warmup epochs"
        else:
            if derived.total_steps is None:
                return None
            new = max(1, math.ceil(share * derived.total_steps.value))
            what = "warmup steps"
        if new >= old:
            return None
        return self.replace_value(source, new_text(source, new), f"{what} {fmt(old)} -> {fmt(new)} "
                                  f"({share:.0%})")
