"""TL104 schedule-horizon-mismatch: the LR schedule's horizon does not match the length of training.

The class docstring is the rule's page (docs/rules/TL104.md).
"""

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Edit,
    Example,
    Fix,
    FixAvailability,
    RuleOptions,
    Severity,
    derive,
    described,
    fmt,
    run_epochs,
)
from trainlint.rules.numbers import new_text, spliceable


class ScheduleHorizonMismatch(ConfigRule):
    """## What it does
    Checks that the LR schedule is built for the length of the run:
    - warmup + decay steps (`warmup_steps` + `cosine_steps`) equal the total steps;
    - a decay horizon (`lr_decay_iters` / `--lr-decay-iters`, `lr_decay_steps`,
      `CosineAnnealingLR(T_max)`, DeepSpeed `total_num_steps`) equals the run's steps or epochs
      in the unit it is stepped in (the run's length, or the length after the warmup); the run's
      length is `max_steps` / `max_iters` / `train_iters` / `train_steps`, or epochs;
    - an mmengine `param_scheduler` (mmpretrain, mmdet, ...) ends with `train_cfg`'s
      `max_epochs` (schedulers `by_epoch`, also with `convert_to_iter_based`) or `max_iters`
      (`by_epoch=False`): a `CosineAnnealingLR` `T_max` counted from its `begin`, or the `end`
      of a cosine or poly decay. A scheduler without an `end` ends with the run; a value set in
      a `_base_` file, or units that differ (an iteration-based scheduler in an epoch-based
      loop), leave the rule quiet;
    - `OneCycleLR(total_steps)` is not smaller than the steps it will be stepped: PyTorch raises
      `ValueError: Tried to step X times. The specified number of total steps is Y` there, so
      that case is an error.
    A schedule that is switched off (nanoGPT `decay_lr = False`: the LR stays at its peak) has
    no horizon and no warmup to check. A horizon shorter than the run in a schedule that then
    holds its minimum LR (Megatron's and nanoGPT's `lr_decay_iters`, a scheduler's `end`) is
    reported at info: decaying early and holding is also a recipe (GPT-3 decays over 260B of
    its 300B tokens).

    ## Why is this bad?
    A horizon shorter than the run ends the decay early: nanoGPT then trains at `min_lr` for the
    rest, and `CosineAnnealingLR` (a periodic function) climbs back up to the peak LR. A horizon
    longer than the run stops the decay half-way, so the run never reaches its low final LR.

    ## Example
    ```python
    max_iters = 5000
    lr_decay_iters = 8000
    ```

    ## Use instead
    ```python
    max_iters = 5000
    lr_decay_iters = 5000
    ```

    ## Fix safety
    Unsafe: it sets the decay length (or horizon) so that it ends with the run; an mmengine
    scheduler's `end` beside its `T_max` moves with it.

    ## Options
    - `tolerance` (0.01): relative difference accepted when the run's length is computed from a
      dataset size (rounding of steps per epoch); stated lengths must match exactly.

    ## Source
    Seed 003 (`003_a398bf3ca9a9c075.txt`): the best run, run16_5, used warmup 1500 + cosine
    18500 = 20000 total batches; every run16 variant kept warmup + cosine equal to the total.
    PyTorch `OneCycleLR.get_lr` raises ValueError when stepped past `total_steps` (torch 2.x).
    """

    class Options(RuleOptions):
        tolerance: float = 0.01

    code = "TL104"
    name = "schedule-horizon-mismatch"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "the LR schedule's horizon does not match the length of training"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "end the LR decay with the run"

    bad = (
        Example("run.json", '{"lrStart": 0.001, "lrEnd": 1e-7, "nBatch": 20000,\n'
                ' "warmup_steps": 1500, "cosine_steps": 8500}\n',
                fixed='{"lrStart": 0.001, "lrEnd": 1e-7, "nBatch": 20000,\n'
                      ' "warmup_steps": 1500, "cosine_steps": 18500}\n', unsafe=True),
        Example("nano.yaml", "max_iters: 5000\nlr_decay_iters: 8000\nwarmup_iters: 100\n"
                "learning_rate: 1.0e-3\nblock_size: 256\n",
                fixed="max_iters: 5000\nlr_decay_iters: 5000\nwarmup_iters: 100\n"
                      "learning_rate: 1.0e-3\nblock_size: 256\n", unsafe=True),
        Example("mm.py", "param_scheduler = [\n"
                "    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5),\n"
                "    dict(type='CosineAnnealingLR', T_max=45, by_epoch=True, begin=5),\n]\n"
                "train_cfg = dict(by_epoch=True, max_epochs=100)\n",
                fixed="param_scheduler = [\n"
                "    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5),\n"
                "    dict(type='CosineAnnealingLR', T_max=95, by_epoch=True, begin=5),\n]\n"
                "train_cfg = dict(by_epoch=True, max_epochs=100)\n", unsafe=True),
    )
    good = (
        Example("run.json", '{"lrStart": 0.001, "lrEnd": 1e-7, "nBatch": 20000,\n'
                ' "warmup_steps": 1500, "cosine_steps": 18500}\n'),
        Example("nano.yaml", "max_iters: 5000\nlr_decay_iters: 5000\nwarmup_iters: 100\n"
                "learning_rate: 1.0e-3\nblock_size: 256\n"),
        Example("mm.py", "param_scheduler = [\n"
                "    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5),\n"
                "    dict(type='CosineAnnealingLR', T_max=95, by_epoch=True, begin=5),\n]\n"
                "train_cfg = dict(by_epoch=True, max_epochs=100)\n"),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        yield from self._decay_steps(view, derived)
        yield from self._horizon(view, derived)
        yield from self._one_cycle(view, derived)

    def _close(self, a: float, b: float, stated: bool) -> bool:
        if stated:
            return abs(a - b) < 0.5
        return abs(a - b) <= self.options.tolerance * max(abs(b), 1)

    def _stated(self, quantity) -> bool:
        return quantity is not None and quantity.source is not None

    def _decay_steps(self, view, derived):
        decay = view.get("schedule.decay_steps")
        horizon = derived.decay_horizon
        if decay is None or decay.number is None or horizon is None:
            return
        total, warm = self._length(derived, horizon.unit)
        if total is None or warm is None:
            return
        stated = self._stated(total)
        if self._close(horizon.value, total.value, stated):
            return
        expected = total.value - warm.value
        if expected <= 0:
            return
        unit = horizon.unit
        message = (f"warmup + decay = {horizon.provenance} = {fmt(horizon.value)} {unit}, but the run "
                   f"has {described(total)} {unit}")
        message, severity = self._held(derived, horizon.value, total.value, message, unit)
        yield self._report(decay, expected, message, f"decay {unit}", severity,
                           end=self._end(view, decay), length=total.value)

    @staticmethod
    def _held(derived, horizon: float, length: float, message: str, unit: str):
        """A schedule that decays early and then holds its minimum LR is a recipe (GPT-3 decays
        over 260B of its 300B tokens), not a mistake the config shows: said at info."""
        if not derived.decay_holds or horizon >= length:
            return message, None
        return (f"{message}; the LR holds its minimum for the last {fmt(length - horizon)} {unit}, "
                "which may be meant"), Severity.INFO

    @staticmethod
    def _length(derived, unit):
        """(the run's length, the warmup) in the unit the schedule counts."""
        if unit == "epochs":
            return run_epochs(derived), derived.warmup_epochs
        return derived.total_steps, derived.warmup_steps

    def _horizon(self, view, derived):
        horizon_value = view.get("schedule.decay_horizon")
        horizon = derived.decay_horizon
        if horizon_value is None or horizon is None or horizon.source is not horizon_value:
            return
        length, warm = self._length(derived, horizon.unit)
        if length is None:
            return
        stated = self._stated(length)
        candidates = [length.value] + ([length.value - warm.value] if warm is not None else [])
        if any(self._close(horizon.value, candidate, stated) for candidate in candidates):
            return
        message = (f"the LR decays over {described(horizon)} {horizon.unit}, "
                   f"but the run lasts {described(length)} {horizon.unit}")
        message, severity = self._held(derived, horizon.value, length.value, message,
                                        horizon.unit)
        yield self._report(horizon_value, length.value, message, "decay horizon", severity,
                           end=self._end(view, horizon_value), length=length.value)

    @staticmethod
    def _end(view, horizon):
        end = view.get("schedule.decay_end")
        return end if end is not None and end is not horizon and end.number is not None else None

    def _one_cycle(self, view, derived):
        total_value = view.get("schedule.total_steps")
        total = derived.total_steps
        if total_value is None or total_value.number is None or total is None:
            return
        stated = self._stated(total)
        if self._close(total_value.number, total.value, stated):
            return
        overrun = total_value.number < total.value
        message = (f"OneCycleLR is built for {fmt(total_value.number)} steps but the run steps it "
                   f"{described(total)} times")
        if overrun:
            message += ": PyTorch raises ValueError once it is stepped past total_steps"
        yield self._report(total_value, total.value, message, "total steps",
                           Severity.ERROR if overrun else None)

    def _report(self, value, expected, message, what, severity=None, end=None, length=None):
        """`end`: the scheduler's configured stop beside the horizon, set to `length` as well."""
        expected = round(expected)
        fix = None
        if spliceable(value) and (end is None or spliceable(end)):
            fix = self.replace_value(value, new_text(value, expected),
                                     f"{what} {fmt(value.number)} -> {fmt(expected)}")
            if end is not None:
                length = round(length)
                fix = Fix(fix.applicability, f"{fix.message}, end {fmt(end.number)} -> {fmt(length)}",
                          (*fix.edits, Edit(end.span, new_text(end, length))))
            message += f": {fix.message}"
        return self.at(value, message, fix, severity)
