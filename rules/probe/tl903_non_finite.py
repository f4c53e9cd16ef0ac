"""TL903 non-finite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, Severity

PREFIX = {"inputs": "NaN/Inf in the inputs: ", "loss": "non-finite loss: ",
          "gradients": "non-finite gradients: "}


class NonFiniteValues(ProbeRule):
    """Checks the inputs, the loss and the gradients for NaN and Inf.

    ## What it does
    `trainlint probe` scans every floating tensor of the probe's batches, the loss at every
    step and the gradients after every backward pass, and reports the first NaN or Inf with
    where it was (which batch entry, which step). TL908 names the module it came from.

    ## Why is this bad?
    One NaN in a batch turns the loss and then every weight into NaN at the next optimizer
    step; an Inf loss (CTC with inputs shorter than targets, `log(0)`) does the same through
    its gradient. Training code rarely checks, so the run goes on logging `nan`.

    ## Example
    ```python
    features = torch.load("features.pt", weights_only=True)  # some frames are NaN
    ```
    `TL903 batch['features'] holds 12 NaN of 480 values`

    ## Use instead
    ```python
    features = torch.nan_to_num(torch.load("features.pt", weights_only=True))
    ```
    (better: find out why the extractor produced NaN and drop those samples.)

    ## Fix safety
    No fix: the probe reports what it measured.

    ## Options
    None: any NaN or Inf is a finding.

    ## Source
    Seed 001_89dd3a1cf9741857.txt: the diagnostic checklist for a model that did not learn
    includes "NaN/Inf in features?" and "gradients flowing properly?".
    """

    code = "TL903"
    name = "non-finite"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "NaN or Inf in the inputs, the loss or the gradients"

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        found = m.non_finite
        if found is not None:
            yield self.diagnostic(where.path, where.span, PREFIX[found.where] + found.detail)

    def table_rows(self, m: Any, where: Any) -> list[tuple[str, str, str]]:
        found = m.non_finite
        return [] if found is None else [("first non-finite", found.where, found.detail)]
