"""TL908 first-non-finite-module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, Severity


class FirstNonFiniteModule(ProbeRule):
    """Names the first module whose output or gradient went non-finite.

    ## What it does
    Where TL903 fires, `trainlint probe` says where the NaN/Inf first appeared: forward hooks
    on every module record, in the order modules finish their forward pass, whether each
    output was finite and whether its input already was not (then the bad values came from
    the batch or an earlier computation, not from that module's weights). When the forward
    pass was finite and only gradients were not, it names the first module in backward order
    whose parameter gradients are not finite. The step is part of the message.

    ## Why is this bad?
    A NaN loss says that something broke, not where. Knowing that `encoder.0` (the first
    Linear) already received NaN points at the data; a finite input and a NaN output points at
    the module (a `log` of zero, a division, an overflow in half precision).

    ## Example
    ```python
    batch = {"features": features_with_nan, "labels": labels}
    ```
    `TL908 first non-finite output: encoder.0 (Linear) at step 0, forward; its input was
    already non-finite`

    ## Use instead
    ```python
    batch = {"features": torch.nan_to_num(features_with_nan), "labels": labels}
    ```

    ## Fix safety
    No fix: the probe reports what it measured.

    ## Options
    None: it reports where TL903 fired.

    ## Source
    Seed 001_89dd3a1cf9741857.txt: its diagnostic script checked model outputs, gradient flow
    and NaN/Inf in features one by one; the hooks do all three in one pass.
    """

    code = "TL908"
    name = "first-non-finite-module"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "the first module whose output or gradient went non-finite"

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        bad = m.first_bad_module
        if bad is None:
            if m.non_finite is not None and m.non_finite.where != "inputs":
                where.notes.append("TL908: no module output or parameter gradient was "
                                   "non-finite; the NaN/Inf arose in the loss function")
            return
        what = "output" if bad.phase == "forward" else "parameter gradient"
        message = f"first non-finite {what}: {bad.name} ({bad.kind}) at step {bad.step}, {bad.phase}"
        if bad.input_finite is False:
            message += ("; its input was already non-finite (it came with the batch or an "
                        "earlier operation)")
        elif bad.input_finite is True:
            message += "; its input was finite: the module produced it"
        yield self.diagnostic(where.path, where.span, message)
