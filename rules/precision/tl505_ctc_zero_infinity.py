"""TL505 ctc-zero-infinity: CTC loss without `zero_infinity=True` on subsampled inputs.

The class docstring is the rule's page (docs/rules/TL505.md).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from trainlint.api import (
    Applicability,
    Diagnostic,
    Example,
    Fix,
    FixAvailability,
    ParsedScript,
    RuleOptions,
    ScriptRule,
    Severity,
)
from trainlint.rules.precision._amp import ctc_calls

SUBSAMPLING_WORDS = re.compile(r"subsampl|downsampl|stride|kernel_?len", re.IGNORECASE)
POOLING = frozenset({"torch.nn.MaxPool1d", "torch.nn.MaxPool2d", "torch.nn.AvgPool1d",
                     "torch.nn.AvgPool2d", "torch.nn.functional.max_pool1d",
                     "torch.nn.functional.avg_pool1d", "torch.nn.functional.max_pool2d",
                     "torch.nn.functional.avg_pool2d"})
CONVOLUTIONS = frozenset({"torch.nn.Conv1d", "torch.nn.Conv2d"})


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class CtcZeroInfinity(ScriptRule):
    """## What it does
    Finds `nn.CTCLoss(...)` and `F.ctc_loss(...)` without `zero_infinity=True` in a script
    that shortens its inputs in time (a strided convolution, pooling, or subsampling /
    stride settings), so that some utterances can end up with fewer frames than their
    targets need.

    ## Why is this bad?
    CTC needs at least one frame per target token (more with repeats). When an input is too
    short there is no valid alignment, the loss is infinite, and its gradient is NaN; one
    such batch can poison the weights or stall an fp16 GradScaler. `zero_infinity=True`
    zeroes those losses and their gradients.

    ## Example
    ```python
    self.conv = nn.Conv1d(n_mels, hidden, kernel_size=3, stride=4)
    criterion = nn.CTCLoss(blank=0)
    ```

    ## Use instead
    ```python
    criterion = nn.CTCLoss(blank=0, zero_infinity=True)
    ```

    ## Fix safety
    Unsafe: adds `zero_infinity=True` (or turns `False` into `True`). The loss of impossible
    samples becomes 0 instead of inf, which changes what the run logs and optimizes; better
    still is to drop such samples in the data pipeline.

    ## Options
    `require-subsampling` (default true): only report where the script shortens its inputs.
    Set it to false to report every CTC loss without `zero_infinity=True`.

    ## Source
    PyTorch `CTCLoss` docs: "Infinite losses mainly occur when the inputs are too short to be
    aligned to the targets"; seeds 001 and 004 trained CTC models on subsampled features.
    """

    code = "TL505"
    name = "ctc-zero-infinity"
    severity = Severity.INFO
    fix_availability = FixAvailability.SOMETIMES
    message = "CTC loss without `zero_infinity=True` on subsampled inputs"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "add `zero_infinity=True`"
    needles = (b"ctc", b"CTC")

    class Options(RuleOptions):
        require_subsampling: bool = True

    bad = (
        Example(
            "model.py",
            "from torch import nn\n\nconv = nn.Conv1d(80, 256, kernel_size=3, stride=4)\n"
            "criterion = nn.CTCLoss(blank=0)\n",
            fixed="from torch import nn\n\nconv = nn.Conv1d(80, 256, kernel_size=3, stride=4)\n"
                  "criterion = nn.CTCLoss(blank=0, zero_infinity=True)\n",
            unsafe=True,
        ),
    )
    good = (
        Example(
            "model.py",
            "from torch import nn\n\nconv = nn.Conv1d(80, 256, kernel_size=3, stride=4)\n"
            "criterion = nn.CTCLoss(blank=0, zero_infinity=True)\n",
        ),
        Example("model.py", "from torch import nn\n\ncriterion = nn.CTCLoss(blank=0)\n"),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        calls = ctc_calls(script)
        if not calls:
            return
        evidence = self._subsampling(script)
        if evidence is None and getattr(self.options, "require_subsampling", True):
            return
        for call, name in calls:
            position = 2 if name == "torch.nn.CTCLoss" else 6
            value = script.argument(call, position, "zero_infinity")
            if value is None and script.has_kwargs(call):
                continue
            if value is not None and script.literal(value) is not False:
                continue
            reason = f" ({evidence})" if evidence else ""
            shown = "False" if value is None else script.source(value)
            message = (f"`{_short(script.source(call))}` keeps zero_infinity={shown} where inputs "
                       f"are shortened in time{reason}: a too-short input gives an infinite loss "
                       "and NaN gradients; pass zero_infinity=True")
            yield self.diagnostic(script.path, script.span(call), message,
                                  self._fix(script, call, value))

    @staticmethod
    def _fix(script: ParsedScript, call: ast.Call, value: ast.expr | None) -> Fix | None:
        from trainlint.api import insert_keyword, replace_node  # libcst: only when a fix is built

        if value is None:
            edit = insert_keyword(script, call, "zero_infinity", "True")
        else:
            edit = replace_node(script, value, "True")
        if edit is None:
            return None
        return Fix(Applicability.UNSAFE, "zero_infinity=False -> zero_infinity=True", (edit,))

    @staticmethod
    def _subsampling(script: ParsedScript) -> str | None:
        for call in script.calls:
            name = script.qualname(call.func)
            if name in POOLING:
                return f"pooling on line {call.lineno}"
            if name in CONVOLUTIONS:
                stride = script.argument(call, 3, "stride")
                if stride is not None and script.literal(stride) not in (1, (1, 1)):
                    return f"strided convolution on line {call.lineno}"
        match = SUBSAMPLING_WORDS.search(script.text)
        if match:
            line = script.index.line_of(match.start())
            return f"`{match.group(0)}` on line {line}"
        return None
