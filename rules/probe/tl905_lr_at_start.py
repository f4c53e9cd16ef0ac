"""TL905 lr-at-start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, RuleOptions, Severity
from trainlint.rules.probe import lr_bands
from trainlint.rules.probe.display import number


class LrAtStart(ProbeRule):
    """Checks the learning rate the optimizer really uses at its first step.

    ## What it does
    `trainlint probe` builds the optimizer and the scheduler as the training script does and
    reads the LR from the optimizer's param groups after the scheduler is constructed (a
    scheduler's constructor performs its first step: `LinearLR(start_factor=0.1)` has already
    cut the LR to a tenth). It fires when that LR (the largest over the param groups) is
    below the model type's band floor divided by `floor_divisor` and stays there: for a
    scheduler stepped once an epoch, the whole first epoch runs at that LR; a scheduler
    stepped every optimizer step is followed (the probe steps it alone, then puts it back)
    and may take up to `grace_steps` steps to reach floor / `floor_divisor`, so a short
    linear warmup from 0 (Hugging Face's default) passes. The floor comes from
    `lr_floor` (option or `ProbeTarget.lr_floor`), else from the LR band of the model type
    (`model-type` setting, `--model-type`, or `ProbeTarget.model_type`) in
    `trainlint/rules/data/lr_bands.toml`. Bands hold for Adam/AdamW (SGD for `cnn-sgd`) only;
    with another optimizer, or Adam with eps >= 1e-3, the rule stays quiet unless `lr_floor`
    is set. With no floor known, or an optimizer that sets its own step size (`lr=None`, as
    transformers' Adafactor with `relative_step=True`), it stays quiet and says why.
    Error for CTC tasks, warning otherwise. TL905 judges where the schedule starts; whether
    the model learns at the LR the schedule peaks at is TL902's question.

    ## Why is this bad?
    A per-epoch warmup that starts at a tenth of an already low LR spends whole epochs at a
    learning rate where a CTC model cannot leave the all-blank / one-token solution.

    ## Example
    ```python
    optimizer = Adam(model.parameters(), lr=1e-4)
    scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=5)  # 1e-5 at step 0
    ```
    `TL905 LR at the first step is 1e-05, below 5e-05 (the rnn-ctc band floor 0.0005 / 10)`

    ## Use instead
    ```python
    optimizer = Adam(model.parameters(), lr=5e-4)
    scheduler = LinearLR(optimizer, start_factor=0.5, total_iters=3)
    ```

    ## Fix safety
    No fix: the probe reports what it measured; TL101 fixes the config statically.

    ## Options
    - `floor_divisor` (default 10): how far below the band floor the start may be. Short
      step-based warmups that start near zero are normal; a start ten times below the floor
      at the first step is what stalled seed 004.
    - `lr_floor` (default unset): the band floor to use instead of the model type's.
    - `grace_steps` (default 1000): how many optimizer steps a per-step schedule may spend
      below floor / `floor_divisor`. A linear warmup from 0 reaches a tenth of its peak after
      a tenth of its length, so warmups up to 10,000 steps pass; seed 000's 15,000-step
      warmup, which its notes call too conservative, does not.

    ## Source
    Seed 004_9d53dcec9b7b0ae7.txt: warmup at 10% of 1e-4 = 1e-5, 50x below the LR the
    overfit test validated; the model collapsed to one word.
    """

    code = "TL905"
    name = "lr-at-start"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "the learning rate at the first step is below the model type's band"

    class Options(RuleOptions):
        floor_divisor: float = 10.0
        lr_floor: float | None = None
        grace_steps: int = 1000

    def prepare_probe(self, options: Any) -> None:
        options.schedule_steps = max(options.schedule_steps, self.options.grace_steps)

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        if m.lr_at_start is None:
            if m.trainable_params:
                where.notes.append(self._unknown_lr_note(m))
            return
        floor = self._floor(m, where, notes=where.notes)
        if floor is None:
            return
        limit, source, band_floor = floor
        if m.lr_at_start >= limit:
            return
        low_for = ""
        if m.lr_schedule:  # a per-step schedule: a short warmup from near 0 is fine
            reached = first_step_at(m.lr_schedule, limit)
            if reached is not None and reached <= self.options.grace_steps:
                return
            low_for = (f" and stays below it for {reached:,} steps" if reached is not None
                       else self._never_reached(m))
        elif m.scheduler_interval == "epoch":
            epoch = f" ({m.steps_per_epoch:,} steps)" if m.steps_per_epoch else ""
            low_for = f" for the whole first epoch{epoch} (the scheduler steps once an epoch)"
        severity = Severity.ERROR if m.task == "ctc" else None
        read_from = f" (read from {m.lr_source})" if m.lr_source else ""
        yield self.diagnostic(
            where.path, where.span,
            f"the LR at the first step is {m.lr_at_start:.3g}{read_from}, below {limit:.3g} "
            f"({source} {band_floor:g} / {self.options.floor_divisor:g}){low_for}",
            severity=severity)

    def table_rows(self, m: Any, where: Any) -> list[tuple[str, str, str]]:
        if m.lr_at_start is None:
            return [("LR at step 0", "n/a", m.overfit_lr_source or m.lr_source
                     or "no optimizer given")]
        floor = self._floor(m, where, notes=[])
        if floor is None:
            return [("LR at step 0", number(m.lr_at_start, 3), "no band floor known")]
        limit, source, _ = floor
        note = f"floor/{self.options.floor_divisor:g} = {limit:.3g} ({source})"
        if m.lr_schedule and m.lr_at_start < limit:
            reached = first_step_at(m.lr_schedule, limit)
            note += (f"; reached at step {reached:,}" if reached is not None
                     else f"; not reached in {len(m.lr_schedule) - 1:,} steps")
        return [("LR at step 0", number(m.lr_at_start, 3), note)]

    def _floor(self, m: Any, where: Any, notes: list[str]) -> tuple[float, str, float] | None:
        """(band floor / floor_divisor, where the floor comes from, the floor), or None with
        a note saying what would let the rule decide."""
        explicit = self.options.lr_floor if self.options.lr_floor is not None else where.lr_floor
        if explicit is not None:
            return float(explicit) / self.options.floor_divisor, "lr_floor", float(explicit)
        found = lr_bands.find_floor(where.model_type, self.ctx.tables.get("bands"))
        if found is None:
            hint = ("no LR band is known for model type " + repr(where.model_type)
                    if where.model_type else "no model type is known")
            notes.append(f"TL905 not checked: {hint}; set `model-type` (or --model-type, "
                         "ProbeTarget.model_type or ProbeTarget.lr_floor) to compare the LR at "
                         f"step 0 ({m.lr_at_start:.3g}) with its band")
            return None
        if not lr_bands.band_applies(found, m.optimizer_name, m.optimizer_eps):
            notes.append(f"TL905 not checked: the {where.model_type} band does not hold for "
                         f"{m.optimizer_name} (eps {m.optimizer_eps}); set lr_floor to check")
            return None
        return found.value / self.options.floor_divisor, found.source, found.value

    def _never_reached(self, m: Any) -> str:
        followed = len(m.lr_schedule) - 1
        if followed > self.options.grace_steps:
            return f" and stays below it for more than {self.options.grace_steps:,} steps"
        return (f" and never reaches it (the schedule's peak is {m.overfit_lr:.3g}, at step "
                f"{m.lr_peak_step:,})" if m.overfit_lr is not None
                else f" and stays below it for the {followed:,} steps the schedule was followed")

    @staticmethod
    def _unknown_lr_note(m: Any) -> str:
        if not m.optimizer_name or m.lr_source.startswith("the probe's own"):
            return ("TL905 skipped: the target brings no optimizer; give ProbeTarget.optimizer "
                    "(and scheduler) as the script builds them")
        return f"TL905 skipped: {m.overfit_lr_source}"


def first_step_at(lrs: list[float], limit: float) -> int | None:
    """The first step whose LR is at least `limit`."""
    return next((step for step, lr in enumerate(lrs) if lr >= limit), None)
