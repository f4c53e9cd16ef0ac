"""TL906 gradient-scale."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, RuleOptions, Severity
from trainlint.rules.probe.display import number


class GradientScale(ProbeRule):
    """Checks the global gradient norm at initialisation.

    ## What it does
    `trainlint probe` runs one forward and backward pass of the untrained model on the first
    batch and computes the L2 norm over all gradients (before any clipping). It fires when the
    norm is below `min_norm` (vanishing: frozen or disconnected parameters, a saturated
    activation, a loss that does not depend on the outputs) or above `max_norm` (exploding:
    a summed loss, unnormalised inputs, a bad initialisation).

    ## Why is this bad?
    With vanishing gradients nothing learns; with exploding ones the first Adam steps are
    the largest of the run and clipping silently rescales every update, so the effective
    learning rate is not the configured one.

    ## Example
    ```python
    features = raw_audio_samples  # int16 range, not normalised
    ```
    `TL906 gradient norm at init is 4.2e+04 (above 1000)`

    ## Use instead
    ```python
    features = (raw_audio_samples - mean) / std
    ```

    ## Fix safety
    No fix: the probe reports what it measured.

    ## Options
    - `min_norm` (default 1e-7): the vanishing threshold (seed 001's checklist value).
    - `max_norm` (default 1e3): the exploding threshold; healthy models start between about
      0.1 and 100.

    ## Source
    Seed 001_89dd3a1cf9741857.txt: "Gradients vanishing (< 1e-7)" is on the checklist for a
    model stuck at 92% WER; seed 002_6031db6a944e5725.txt watches grad_norm > 3.0 as the sign
    of explosion.
    """

    code = "TL906"
    name = "gradient-scale"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "the gradient norm at initialisation vanishes or explodes"

    class Options(RuleOptions):
        min_norm: float = 1e-7
        max_norm: float = 1e3

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        norm = m.grad_norm
        if norm is None or m.non_finite is not None or not m.loss_has_grad or not m.trainable_params:
            return
        if norm < self.options.min_norm:
            yield self.diagnostic(where.path, where.span,
                                  f"the gradient norm at init is {norm:.3g}, below "
                                  f"{self.options.min_norm:g}: the gradients vanish")
        elif norm > self.options.max_norm:
            yield self.diagnostic(where.path, where.span,
                                  f"the gradient norm at init is {norm:.3g}, above "
                                  f"{self.options.max_norm:g}: the gradients explode")

    def table_rows(self, m: Any, where: Any) -> list[tuple[str, str, str]]:
        return [("gradient norm at init", number(m.grad_norm, 3),
                 f"ok {self.options.min_norm:g} .. {self.options.max_norm:g}")]
