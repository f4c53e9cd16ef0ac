"""TL104 schedule-horizon-mismatch: the LR schedule's horizon does not match the length of training.

The class docstring is the rule's page (docs/rules/TL104.md).
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
    run_epochs,
)
from trainlint.rules.numbers import new_text, spliceable


class ScheduleHorizonMismatch(ConfigRule):
    """## What it does
    Checks that the LR schedule is built for the length of the run:
    - warmup + decay steps (`warmup_steps` + `cosine_steps`) equal the total steps;
    - a decay horizon (`lr_decay_iters`, `CosineAnnealingLR(T_max)`, DeepSpeed
      `total_num_steps`) equals the run's steps or epochs in the unit it is stepped in (the run's
      length, or the length after the warmup);
    - `OneCycleLR(total_steps)` is not smaller than the steps it will be stepped: PyTorch raises
      `ValueError: Tried to step X times. The specified number of total steps is Y` there, so
      that case is an error.
    A schedule that is switched off (nanoGPT `decay_lr = False`: the LR stays at its peak) has
    no horizon and no warmup to check.

    ## Why is this bad?
    A horizon shorter than the run ends the decay early: nanoGPT then trains at `min_lr` for the
    rest, and `CosineAnnealingLR` (a periodic function) climbs back up to the peak LR. A horizon
    longer than the run stops the decay half-way, so the run never reaches its low final LR.

    ## Example
    ```python
    max_iters = 5000
    lr_decay_iters = 2000
    ```

    ## Use instead
    ```python
    max_iters = 5000
    lr_decay_iters = 5000
    ```

    ## Fix safety
    Unsafe: it sets the decay length (or horizon) so that it ends with the run.

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
        Example("nano.yaml", "max_iters: 5000\nlr_decay_iters: 2000\nwarmup_iters: 100\n"
                "learning_rate: 1.0e-3\nblock_size: 256\n",
                fixed="max_iters: 5000\nlr_decay_iters: 5000\nwarmup_iters: 100\n"
                      "learning_rate: 1.0e-3\nblock_size: 256\n", unsafe=True),
    )
    good = (
        Example("run.json", '{"lrStart": 0.001, "lrEnd": 1e-7, "nBatch": 20000,\n'
                ' "warmup_steps": 1500, "cosine_steps": 18500}\n'),
        Example("nano.yaml", "max_iters: 5000\nlr_decay_iters: 5000\nwarmup_iters: 100\n"
                "learning_rate: 1.0e-3\nblock_size: 256\n"),
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
        horizon, total, warm = derived.decay_horizon, derived.total_steps, derived.warmup_steps
        if decay is None or decay.number is None or horizon is None or total is None or warm is None:
            return
        stated = self._stated(total)
        if self._close(horizon.value, total.value, stated):
            return
        expected = total.value - warm.value
        if expected <= 0:
            return
        message = (f"warmup + decay = {horizon.provenance} = {fmt(horizon.value)} steps, but the run "
                   f"has {described(total)} steps")
        yield self._report(decay, expected, message, "decay steps")

    def _horizon(self, view, derived):
        horizon_value = view.get("schedule.decay_horizon")
        horizon = derived.decay_horizon
        if horizon_value is None or horizon is None or horizon.source is not horizon_value:
            return
        if horizon.unit == "epochs":
            length = run_epochs(derived)
            warm = derived.warmup_epochs
        else:
            length = derived.total_steps
            warm = derived.warmup_steps
        if length is None:
            return
        stated = self._stated(length)
        candidates = [length.value] + ([length.value - warm.value] if warm is not None else [])
        if any(self._close(horizon.value, candidate, stated) for candidate in candidates):
            return
        message = (f"the LR decays over {described(horizon)} {horizon.unit}, "
                   f"but the run lasts {described(length)} {horizon.unit}")
        yield self._report(horizon_value, length.value, message, "decay horizon")

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

    def _report(self, value, expected, message, what, severity=None):
        expected = round(expected)
        fix = None
        if spliceable(value):
            fix = self.replace_value(value, new_text(value, expected),
                                     f"{what} {fmt(value.number)} -> {fmt(expected)}")
            message += f": {fix.message}"
        return self.at(value, message, fix, severity)
