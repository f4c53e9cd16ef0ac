"""TL907 loss-scales-with-batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, RuleOptions, Severity


class LossScalesWithBatch(ProbeRule):
    """Checks that the loss is averaged, not summed, over the batch.

    ## What it does
    `trainlint probe` evaluates the untrained model in eval mode on the first batch, on that
    batch repeated twice and on it repeated four times (every tensor concatenated along dim
    0; `ProbeTarget.repeat_batch` overrides this). An averaged loss stays the same; a summed
    one doubles and quadruples. The rule fires when the loss grows by at least `min_ratio_2x`
    and `min_ratio_4x`.

    ## Why is this bad?
    A summed loss scales with the batch size (and with sequence length when it sums over
    tokens), so the initial loss is far off (TL901), the gradient scale and with it the
    effective learning rate change whenever the batch size does, and losses logged by runs
    with different batch sizes cannot be compared. A loss summed over tokens and divided by
    the batch size passes this test (repeating samples does not change the per-sample sum);
    TL901 catches that one.

    ## Example
    ```python
    criterion = nn.CrossEntropyLoss(reduction="sum")
    ```
    `TL907 the loss grows with the batch: x2.00 for the batch repeated 2x, x4.00 for 4x`

    ## Use instead
    ```python
    criterion = nn.CrossEntropyLoss()  # reduction="mean"
    ```

    ## Fix safety
    No fix: the probe reports what it measured.

    ## Options
    - `min_ratio_2x` (default 1.5) and `min_ratio_4x` (default 3.0): the growth that counts
      as summing. A mean-reduced loss gives 1.0 up to float rounding; a summed one 2.0 and
      4.0.

    ## Source
    Seed 000_c50777d40fdc0372.txt: the LabelSmoothingLoss summed over tokens (initial loss
    500+ instead of 4-7); this test explains such a TL901.
    """

    code = "TL907"
    name = "loss-scales-with-batch"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "the loss is summed over the batch, not averaged"

    class Options(RuleOptions):
        min_ratio_2x: float = 1.5
        min_ratio_4x: float = 3.0

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        if m.ratio_2x is None or m.ratio_4x is None:
            return
        if m.ratio_2x >= self.options.min_ratio_2x and m.ratio_4x >= self.options.min_ratio_4x:
            yield self.diagnostic(
                where.path, where.span,
                f"the loss grows with the batch: x{m.ratio_2x:.2f} for the batch repeated 2x, "
                f"x{m.ratio_4x:.2f} for 4x; it is summed, not averaged (use reduction='mean' or "
                "divide by the number of predicted tokens)")

    def table_rows(self, m: Any, where: Any) -> list[tuple[str, str, str]]:
        if m.ratio_2x is None:
            return []
        return [("loss on batch x2 / x4", f"x{m.ratio_2x:.2f} / x{m.ratio_4x:.2f}",
                 f"summed if >= x{self.options.min_ratio_2x:g} / x{self.options.min_ratio_4x:g}")]
