"""TL901 initial-loss-out-of-range."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, RuleOptions, Severity
from trainlint.rules.probe.display import number


class InitialLossOutOfRange(ProbeRule):
    """Checks the loss at step 0 against the loss of a uniform prediction.

    ## What it does
    `trainlint probe` computes the loss of the untrained model on the first batch and
    compares it with its exact reference: ln(C) for C-class cross-entropy (with or without
    label smoothing: a uniform prediction scores ln(C) against any target distribution),
    ln(V) per predicted token for language models (causal or masked), and for CTC the loss of
    uniform log-probs on the same batch computed by `torch.nn.functional.ctc_loss` with the
    reduction the target declares (`ctc_reduction`, default `mean` as in `nn.CTCLoss`).
    It fires when the loss is outside [`low_factor` x reference, `high_factor` x reference].

    ## Why is this bad?
    A freshly initialised network predicts close to uniformly, so its loss sits near the
    reference. A loss many times higher means the loss is summed over tokens or frames, the
    targets or classes are wrong, or the logits are scaled; a loss far lower means labels leak
    into the inputs or the loss ignores most targets. Either way every number the run logs is
    on the wrong scale, and the learning rate tuned against it is too.

    ## Example
    ```python
    def loss(outputs, batch):  # label smoothing, summed over every token
        return label_smoothing_kl(outputs, batch["targets"]).sum()
    ```
    `TL901 initial loss 218.4 is 63x its reference 3.466 (ln 32 per token cross-entropy)`

    ## Use instead
    ```python
    def loss(outputs, batch):  # averaged per predicted token
        return label_smoothing_kl(outputs, batch["targets"]).sum() / batch["targets"].numel()
    ```

    ## Fix safety
    No fix: the probe reports what it measured; the loss code has to change.

    ## Options
    - `low_factor` (default 0.5) and `high_factor` (default 2.0): the accepted band around
      the reference. A real initialisation is not exactly uniform, so its loss runs a little
      above the reference; 2x leaves room for that and for a KL-based label-smoothing loss
      (which is ln(C) minus the entropy of the smoothed targets), while a summed loss is off
      by the sequence length.

    ## Source
    Seed 000_c50777d40fdc0372.txt: a LabelSmoothingLoss bug made the initial loss 500+ where
    4-7 was right; 20+ epochs were spent before the loss reached 25.
    """

    code = "TL901"
    name = "initial-loss-out-of-range"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "the initial loss is far from the loss of a uniform prediction"

    class Options(RuleOptions):
        low_factor: float = 0.5
        high_factor: float = 2.0

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        if m.initial_loss is None or m.reference_loss is None or m.non_finite is not None:
            return
        if not math.isfinite(m.initial_loss) or m.reference_loss <= 0:
            return
        ratio = m.initial_loss / m.reference_loss
        if self.options.low_factor <= ratio <= self.options.high_factor:
            return
        summed = ""
        if m.ratio_2x is not None and m.ratio_2x >= 1.5:
            summed = "; the loss grows with the batch (TL907): it is summed, not averaged"
        scale = (f"is {ratio:.3g}x" if ratio >= 0
                 else "is negative, which a cross-entropy or CTC loss never is, against")
        yield self.diagnostic(
            where.path, where.span,
            f"initial loss {m.initial_loss:.4g} {scale} its reference {m.reference_loss:.4g} "
            f"({m.reference_note}); expected "
            f"{self.options.low_factor:g}x-{self.options.high_factor:g}x{summed}")

    def table_rows(self, m: Any, where: Any) -> list[tuple[str, str, str]]:
        reference = (f"{number(m.reference_loss)} = {m.reference_note}; ok "
                     f"{self.options.low_factor:g}x-{self.options.high_factor:g}x"
                     if m.reference_loss is not None else "no reference")
        return [("initial loss", number(m.initial_loss), reference)]
