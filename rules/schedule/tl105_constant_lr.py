"""TL105 constant-lr: the learning rate never decays over a long run.

The class docstring is the rule's page (docs/rules/TL105.md).
"""

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Example,
    FixAvailability,
    RuleOptions,
    Severity,
    derive,
    described,
    fmt,
    is_constant_schedule,
    run_epochs,
)
from trainlint.rules.data_tables import band_for, target_peak
from trainlint.rules.numbers import new_text, spliceable


class ConstantLr(ConfigRule):
    """## What it does
    Finds a long run whose learning rate never decays: a constant scheduler
    (`lr_scheduler_type: constant`, `constant_with_warmup`), nanoGPT's `decay_lr = False`, or an
    end LR equal to the start LR (`lrStart == lrEnd` in a linear-decay config). "Long" means at
    least `min_steps` optimizer steps or `min_epochs` epochs; a run of unknown length is left
    alone.

    Whatever the run's length, it also finds the Hugging Face Trainer's `constant` schedule
    (`lr_scheduler_type: constant` in a config or a launcher's flags; axolotl's
    `lr_scheduler: constant`) given a `warmup_ratio` or `warmup_steps` above 0: `constant`
    takes no warmup (`transformers.get_scheduler` drops it without a word), so the run starts
    at the full LR. `constant_with_warmup` is the schedule that warms up and then holds.

    ## Why is this bad?
    At a constant LR the weights keep bouncing around the minimum at the noise level that LR
    allows; decaying the LR at the end lets them settle, and almost always gives a better final
    model for the same compute.

    ## Example
    ```python
    args['lrStart'] = 0.02
    args['lrEnd'] = 0.02
    args['nBatch'] = 10000
    ```

    ## Use instead
    ```python
    args['lrStart'] = 0.001
    args['lrEnd'] = 0.00001
    args['nBatch'] = 10000
    ```

    ## Fix safety
    Unsafe, and only where the constant is an end LR equal to the start LR: the fix sets the end
    LR to `end_lr_ratio` (1%) of the peak (of the peak TL102's fix would set, where the peak is
    outside its band). A constant scheduler name gets no fix: which decay to use is a choice.
    A `constant` schedule that drops a warmup is renamed `constant_with_warmup` (unsafe: the
    run then warms up, as its config says it should).

    ## Options
    - `min_steps` (2000): runs at least this long in optimizer steps count as long.
    - `min_epochs` (10): runs at least this many epochs count as long.
    - `end_lr_ratio` (0.01): end LR / peak LR that the fix writes.

    ## Source
    `transformers.optimization.get_scheduler`: `SchedulerType.CONSTANT` returns
    `get_constant_schedule(optimizer)` before the warmup arguments are read.
    Seed 003 (`003_a398bf3ca9a9c075.txt`): the speech-BCI GRU + CTC baseline `speechBaseline4`
    trained 10,000 batches at a constant 0.02 (`lrStart = lrEnd = 0.02`); "Constant LR without
    decay" is listed under what did not work, and the best run decayed from 1e-3 to 1e-7 with a
    cosine over 18,500 steps.
    """

    class Options(RuleOptions):
        min_steps: int = 2000
        min_epochs: float = 10
        end_lr_ratio: float = 0.01

    code = "TL105"
    name = "constant-lr"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "the learning rate never decays over a long run"
    precision = "100.0% (4 true, 0 false, 2 debatable of 6; dev corpus, 28 repositories)"
    fix_title = "decay the LR to 1% of its peak by the end of the run"

    bad = (
        Example("baseline.json", '{"lrStart": 0.02, "lrEnd": 0.02, "nBatch": 10000, "batchSize": 64}\n',
                fixed='{"lrStart": 0.02, "lrEnd": 0.00001, "nBatch": 10000, "batchSize": 64}\n',
                unsafe=True),
        Example("hf.yaml", "per_device_train_batch_size: 16\nlearning_rate: 2.0e-5\n"
                "num_train_epochs: 20\nlr_scheduler_type: constant\noutput_dir: out\n"),
        Example("sft.yaml", "per_device_train_batch_size: 16\nlearning_rate: 2.0e-5\n"
                "num_train_epochs: 3\nlr_scheduler_type: constant\nwarmup_ratio: 0.03\n"
                "output_dir: out\n",
                fixed="per_device_train_batch_size: 16\nlearning_rate: 2.0e-5\n"
                "num_train_epochs: 3\nlr_scheduler_type: constant_with_warmup\n"
                "warmup_ratio: 0.03\noutput_dir: out\n", unsafe=True),
    )
    good = (
        Example("run.json", '{"lrStart": 0.001, "lrEnd": 1e-7, "nBatch": 20000, "batchSize": 32}\n'),
        Example("hf.yaml", "per_device_train_batch_size: 16\nlearning_rate: 2.0e-5\n"
                "num_train_epochs: 3\nlr_scheduler_type: constant\noutput_dir: out\n"),
        Example("sft.yaml", "per_device_train_batch_size: 16\nlearning_rate: 2.0e-5\n"
                "num_train_epochs: 3\nlr_scheduler_type: constant_with_warmup\n"
                "warmup_ratio: 0.03\noutput_dir: out\n"),
        Example("sft.yaml", "per_device_train_batch_size: 16\nlearning_rate: 2.0e-5\n"
                "num_train_epochs: 3\nlr_scheduler_type: constant\nwarmup_steps: 0\n"
                "output_dir: out\n"),
        Example("nano.py", "max_iters = 20\ndecay_lr = False\nlearning_rate = 3e-5\nblock_size = 1024\n"
                "eval_iters = 40\n"),
    )

    def check_config(self, view: ConfigView):
        lr = view.get("optimizer.lr")
        end = view.get("schedule.end_lr")
        constant = is_constant_schedule(view)
        equal_end = (lr is not None and end is not None and lr.number is not None
                     and end.number is not None and abs(end.number - lr.number) <= 1e-12 * abs(lr.number))
        if constant is None and not equal_end:
            return
        derived = derive(view, self.ctx.project)
        length = self._long(derived)
        if derived.warmup_ignored is not None and not equal_end:
            yield self._warmup_ignored(*derived.warmup_ignored, length)
            return
        if length is None:
            return
        anchor = end if equal_end else constant
        why = (f"end LR {fmt(end.number)} equals the start LR {fmt(lr.number)}" if equal_end
               else f"{constant.key}: {constant.value}")
        message = f"the learning rate never decays ({why}) over {length}"
        fix = None
        if equal_end and spliceable(end):
            peak = target_peak(band_for(self.ctx, view, derived), derived) or lr.number
            new_end = peak * self.options.end_lr_ratio
            fix = self.replace_value(end, new_text(end, new_end),
                                     f"end LR {fmt(end.number)} -> {fmt(new_end)}")
            message += f": {fix.message}"
        yield self.at(anchor, message, fix)

    def _warmup_ignored(self, name, warmup, length: str | None):
        message = (f"`{name.key}: {name.value}` ignores `{warmup.key}: {warmup.raw or warmup.value}`"
                   ": the Trainer's constant schedule has no warmup, so the run starts at the "
                   "full LR; `constant_with_warmup` warms up, then holds")
        if length is not None:
            message += f" (and the LR never decays over {length})"
        fix = None
        body = name.raw.strip().strip("'\"") if name.raw else ""
        if body == "constant":
            new = name.raw.replace("constant", "constant_with_warmup", 1)
            fix = self.replace_value(name, new, f"{name.key}: constant -> constant_with_warmup")
        return self.at(name, message, fix)

    def _long(self, derived) -> str | None:
        total = derived.total_steps
        if total is not None and total.value >= self.options.min_steps:
            return f"{described(total)} steps"
        epochs = run_epochs(derived)
        if epochs is not None and epochs.value >= self.options.min_epochs:
            return f"{described(epochs)} epochs"
        return None
