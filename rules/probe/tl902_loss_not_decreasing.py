"""TL902 loss-not-decreasing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, RuleOptions, Severity
from trainlint.rules.probe.display import number


class LossNotDecreasing(ProbeRule):
    """Checks that the model can overfit one fixed batch.

    ## What it does
    `trainlint probe` trains on the first batch for `steps` optimizer updates with the
    optimizer the training script builds (or Adam at lr 1e-3 when the target brings none),
    and measures the loss on that batch again with the same dropout masks as at step 0. The
    steps run at the optimizer's **peak** learning rate: the probe follows the scheduler
    (stepping it alone, then putting it back) until its LR stops rising, and trains at the
    highest LR it reached, with the schedule's other settings at that step (OneCycle's
    momentum). A linear warmup from 0 over 2,000 steps is measured at its target LR, a
    OneCycle at `max_lr`, a Noam schedule at its peak, a decaying or constant schedule (and
    ReduceLROnPlateau) at its start. The LR the schedule *starts* at is TL905's question.
    The report's table says which LR the steps used and why. It fires when the loss fell by
    less than `min_drop` of its initial value, or when nothing can learn at all (no
    parameter requires grad, or the loss is detached from every trainable parameter).

    ## Why is this bad?
    Any working model, loss and optimizer drive the loss on a single repeated batch down
    quickly. When they cannot, the full run cannot either: the parameters are frozen, the
    graph is cut (`.detach()`, `.item()`, `torch.no_grad()`), the learning rate the schedule
    peaks at is far too low, or the loss does not depend on the outputs the way it should.

    ## Example
    ```python
    model = build_model()
    model.requires_grad_(False)  # meant to freeze the encoder only
    ```
    `TL902 no parameter requires grad (0 of 1,210 trainable): nothing can learn`

    ## Use instead
    ```python
    model = build_model()
    model.encoder.requires_grad_(False)
    ```

    ## Fix safety
    No fix: the probe reports what it measured.

    ## Options
    - `steps` (default 50): optimizer updates on the fixed batch; `--steps` overrides it.
    - `min_drop` (default 0.3): the share of the initial loss the steps must remove. A tiny
      model overfits one batch far beyond 30% in 50 steps at a working learning rate.

    ## Source
    Seeds 001_89dd3a1cf9741857.txt and 004_9d53dcec9b7b0ae7.txt: the overfitting test (5
    samples to 0% WER) was the one check that told a working model from a broken schedule;
    the full runs that ignored it ended at 92% and 100% WER.
    """

    code = "TL902"
    name = "loss-not-decreasing"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "the loss does not decrease when overfitting one fixed batch"

    class Options(RuleOptions):
        steps: int = 50
        min_drop: float = 0.3

    def prepare_probe(self, options: Any) -> None:
        options.steps = self.options.steps

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        if m.trainable_params == 0 and m.total_params > 0:
            yield self.diagnostic(where.path, where.span,
                                  f"no parameter requires grad (0 of {m.total_params:,} are "
                                  "trainable): nothing can learn")
            return
        if not m.loss_has_grad:
            yield self.diagnostic(where.path, where.span,
                                  "the loss does not depend on any trainable parameter (it has no "
                                  "grad_fn): look for .detach(), .item() or torch.no_grad() "
                                  "between the model and the loss")
            return
        if m.non_finite is not None:
            where.notes.append("TL902 skipped: the loss or the gradients are not finite (TL903)")
            return
        if m.steps_run < m.steps_requested:
            if m.stop_reason:
                where.notes.append(f"TL902 skipped: {m.stop_reason}")
            return
        drop = m.loss_drop
        if drop is None or drop >= self.options.min_drop:
            return
        yield self.diagnostic(
            where.path, where.span,
            f"overfitting one batch for {m.steps_run} steps {overfit_lr_text(m)} cut the loss by "
            f"{drop:.0%} ({m.initial_loss:.4g} -> {m.final_loss:.4g}); a working setup cuts it "
            f"by {self.options.min_drop:.0%} or more")

    def table_rows(self, m: Any, where: Any) -> list[tuple[str, str, str]]:
        drop = m.loss_drop
        change = (f"{-drop:+.0%} (needs -{self.options.min_drop:.0%} or better)"
                  if drop is not None else (m.stop_reason or "not measured"))
        rows = [(f"loss after {m.steps_run} steps", number(m.final_loss), change)]
        if m.overfit_lr is not None or m.overfit_lr_source:
            rows.append(("LR of the overfit steps", number(m.overfit_lr, 3),
                         f"{m.optimizer_name}: {m.overfit_lr_source}"))
        return rows


def overfit_lr_text(m: Any) -> str:
    """"at LR 0.003 (AdamW; the schedule's peak, at step 2,000)": the LR the steps ran at."""
    if m.overfit_lr is None:
        return f"with {m.optimizer_name} ({m.overfit_lr_source})"
    return f"at LR {m.overfit_lr:.3g} ({m.optimizer_name}; {m.overfit_lr_source})"
