"""Measurements -> TL901-TL908 Diagnostics, with the rules' options and the settings' severities.

Pure Python: it judges numbers the probe measured, so it is tested without running a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trainlint.api import Diagnostic, Rule, Severity, Span
from trainlint.context import RuleContext
from trainlint.probe import lr_bands
from trainlint.probe.ctc import collapse_reasons as ctc_collapse_reasons
from trainlint.probe.measurements import Measurements
from trainlint.rules.probe.tl901_initial_loss_out_of_range import InitialLossOutOfRange
from trainlint.rules.probe.tl902_loss_not_decreasing import LossNotDecreasing
from trainlint.rules.probe.tl903_non_finite import NonFiniteValues
from trainlint.rules.probe.tl904_ctc_collapse import CtcCollapse
from trainlint.rules.probe.tl905_lr_at_start import LrAtStart
from trainlint.rules.probe.tl906_gradient_scale import GradientScale
from trainlint.rules.probe.tl907_loss_scales_with_batch import LossScalesWithBatch
from trainlint.rules.probe.tl908_first_non_finite_module import FirstNonFiniteModule

PROBE_RULES: tuple[type[Rule], ...] = (
    InitialLossOutOfRange, LossNotDecreasing, NonFiniteValues, CtcCollapse, LrAtStart,
    GradientScale, LossScalesWithBatch, FirstNonFiniteModule,
)


@dataclass
class Judgement:
    """What the checks need besides the measurements: where to report, and the context."""

    path: str
    span: Span
    ctx: RuleContext = field(default_factory=RuleContext)
    model_type: str | None = None
    lr_floor: float | None = None  # ProbeTarget.lr_floor
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def judge(m: Measurements, where: Judgement) -> list[Diagnostic]:
    """Every selected probe rule's findings, in code order; skip notes go to `where.notes`."""
    diagnostics: list[Diagnostic] = []
    for rule_cls, check in CHECKS:
        if not _selected(rule_cls.code, where):
            continue
        rule = rule_cls(where.ctx)

        def emit(message: str, severity: Severity | None = None, rule: Rule = rule) -> None:
            diagnostics.append(rule.diagnostic(where.path, where.span, message, severity=severity))

        check(m, rule.options, where, emit)
    return diagnostics


def _selected(code: str, where: Judgement) -> bool:
    from trainlint.registry import is_selected

    return is_selected(code, where.select, [], where.ignore)


Emit = Callable[..., None]


def check_initial_loss(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    if m.initial_loss is None or m.reference_loss is None or m.non_finite is not None:
        return
    if not math.isfinite(m.initial_loss) or m.reference_loss <= 0:
        return
    ratio = m.initial_loss / m.reference_loss
    if options.low_factor <= ratio <= options.high_factor:
        return
    summed = ""
    if m.ratio_2x is not None and m.ratio_2x >= 1.5:
        summed = "; the loss grows with the batch (TL907): it is summed, not averaged"
    emit(f"initial loss {m.initial_loss:.4g} is {ratio:.3g}x its reference "
         f"{m.reference_loss:.4g} ({m.reference_note}); expected "
         f"{options.low_factor:g}x-{options.high_factor:g}x{summed}")


def check_overfit(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    if m.trainable_params == 0 and m.total_params > 0:
        emit(f"no parameter requires grad (0 of {m.total_params:,} are trainable): nothing can "
             "learn")
        return
    if not m.loss_has_grad:
        emit("the loss does not depend on any trainable parameter (it has no grad_fn): "
             "look for .detach(), .item() or torch.no_grad() between the model and the loss")
        return
    if m.non_finite is not None:
        where.notes.append("TL902 skipped: the loss or the gradients are not finite (TL903)")
        return
    if m.steps_run < m.steps_requested:
        if m.stop_reason:
            where.notes.append(f"TL902 skipped: {m.stop_reason}")
        return
    drop = m.loss_drop
    if drop is None or m.final_loss is None or m.initial_loss is None:
        return
    if drop >= options.min_drop:
        return
    own = "" if m.lr_at_start is not None else " of the probe's own; the target brings none"
    emit(f"overfitting one batch for {m.steps_run} steps cut the loss by {drop:.0%} "
         f"({m.initial_loss:.4g} -> {m.final_loss:.4g}); a working setup cuts it by "
         f"{options.min_drop:.0%} or more ({m.optimizer_name}{own}, LR {m.train_lr:.3g} at "
         "step 0)")


def check_non_finite(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    found = m.non_finite
    if found is None:
        return
    prefix = {"inputs": "NaN/Inf in the inputs: ", "loss": "non-finite loss: ",
              "gradients": "non-finite gradients: "}[found.where]
    emit(prefix + found.detail)


def check_ctc_collapse(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    stats = m.ctc
    if m.task != "ctc":
        return
    if stats is None:
        if m.steps_run == 0 and m.non_finite is None and m.trainable_params:
            where.notes.append("TL904 skipped: it judges the predictions after the steps; "
                               "none ran")
        return
    if m.ctc_undecided:
        where.notes.append(f"TL904 undecided: the CTC predictions still looked collapsed at step "
                           f"{m.ctc_steps} when --max-seconds ran out; allow more time")
        return
    reasons = ctc_collapse_reasons(stats, options)
    if reasons:
        emit(f"after {m.ctc_steps} steps on one batch the CTC predictions collapsed: "
             + "; ".join(reasons))


def check_lr_at_start(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    if m.lr_at_start is None:
        if m.trainable_params:
            where.notes.append("TL905 skipped: the target brings no optimizer; give "
                               "ProbeTarget.optimizer (and scheduler) as the script builds them")
        return
    explicit = options.lr_floor if options.lr_floor is not None else where.lr_floor
    if explicit is not None:
        floor, source = float(explicit), "lr_floor"
    else:
        found = lr_bands.find_floor(where.model_type, where.ctx.tables.get("bands"))
        if found is None:
            hint = ("no LR band is known for model type " + repr(where.model_type)
                    if where.model_type else "no model type is known")
            where.notes.append(f"TL905 not checked: {hint}; set `model-type` (or --model-type, "
                               "ProbeTarget.model_type or ProbeTarget.lr_floor) to compare the LR "
                               f"at step 0 ({m.lr_at_start:.3g}) with its band")
            return
        if not lr_bands.band_applies(found, m.optimizer_name, m.optimizer_eps):
            where.notes.append(f"TL905 not checked: the {where.model_type} band does not hold for "
                               f"{m.optimizer_name} (eps {m.optimizer_eps}); set lr_floor to check")
            return
        floor, source = found.value, found.source
    m.lr_floor, m.lr_floor_source = floor / options.floor_divisor, source
    if m.lr_at_start >= m.lr_floor:
        return
    low_for = ""
    if m.lr_schedule:  # a per-step schedule: a short warmup from near 0 is fine
        reached = next((step for step, lr in enumerate(m.lr_schedule) if lr >= m.lr_floor), None)
        if reached is not None and reached <= options.grace_steps:
            return
        low_for = (f" and stays below it for more than {options.grace_steps:,} steps"
                   if reached is None else f" and stays below it for {reached:,} steps")
    elif m.scheduler_interval == "epoch":
        low_for = " for the whole first epoch (the scheduler steps once an epoch)"
    severity = Severity.ERROR if m.task == "ctc" else None
    read_from = f" (read from {m.lr_source})" if m.lr_source else ""
    emit(f"the LR at the first step is {m.lr_at_start:.3g}{read_from}, below "
         f"{m.lr_floor:.3g} ({source} {floor:g} / {options.floor_divisor:g}){low_for}", severity)


def check_gradient_scale(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    norm = m.grad_norm
    if norm is None or m.non_finite is not None or not m.loss_has_grad or not m.trainable_params:
        return
    if norm < options.min_norm:
        emit(f"the gradient norm at init is {norm:.3g}, below {options.min_norm:g}: the gradients "
             "vanish")
    elif norm > options.max_norm:
        emit(f"the gradient norm at init is {norm:.3g}, above {options.max_norm:g}: the gradients "
             "explode")


def check_reduction(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    if m.ratio_2x is None or m.ratio_4x is None:
        return
    if m.ratio_2x >= options.min_ratio_2x and m.ratio_4x >= options.min_ratio_4x:
        emit(f"the loss grows with the batch: x{m.ratio_2x:.2f} for the batch repeated 2x, "
             f"x{m.ratio_4x:.2f} for 4x; it is summed, not averaged (use reduction='mean' or "
             "divide by the number of predicted tokens)")


def check_first_bad_module(m: Measurements, options: Any, where: Judgement, emit: Emit) -> None:
    bad = m.first_bad_module
    if bad is None:
        if m.non_finite is not None and m.non_finite.where != "inputs":
            where.notes.append("TL908: no module output or parameter gradient was non-finite; "
                               "the NaN/Inf arose in the loss function")
        return
    what = "output" if bad.phase == "forward" else "parameter gradient"
    message = f"first non-finite {what}: {bad.name} ({bad.kind}) at step {bad.step}, {bad.phase}"
    if bad.input_finite is False:
        message += ("; its input was already non-finite (it came with the batch or an "
                    "earlier operation)")
    elif bad.input_finite is True:
        message += "; its input was finite: the module produced it"
    emit(message)


CHECKS: tuple[tuple[type[Rule], Callable[..., None]], ...] = (
    (InitialLossOutOfRange, check_initial_loss),
    (LossNotDecreasing, check_overfit),
    (NonFiniteValues, check_non_finite),
    (CtcCollapse, check_ctc_collapse),
    (LrAtStart, check_lr_at_start),
    (GradientScale, check_gradient_scale),
    (LossScalesWithBatch, check_reduction),
    (FirstNonFiniteModule, check_first_bad_module),
)
