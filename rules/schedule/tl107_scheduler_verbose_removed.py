"""TL107 scheduler-verbose-removed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    SCHEDULER_PREFIX,
    Applicability,
    Diagnostic,
    Edit,
    Example,
    Fix,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
    Span,
)

if TYPE_CHECKING:
    from trainlint.api import VersionRange

REMOVED_IN = "2.7"


class SchedulerVerboseRemoved(ScriptRule):
    """`verbose=` passed to a torch LR scheduler.

    ## What it does
    Finds `verbose=` arguments of `torch.optim.lr_scheduler` classes
    (`ReduceLROnPlateau(..., verbose=True)`, `StepLR(..., verbose=False)`), however the class
    was imported (`optim.lr_scheduler.X`, `from torch.optim.lr_scheduler import *`).

    ## Why is this bad?
    PyTorch deprecated the scheduler `verbose` parameter in 2.2 (a warning on every
    construction) and removed it in 2.7: there the constructor raises
    `TypeError: __init__() got an unexpected keyword argument 'verbose'` before training
    starts. The rule is an error when any torch version the project allows is 2.7 or newer
    (the `target-torch` setting, else the range its requirement and lock files allow; the
    message names the range), a warning when every allowed version is older, and a warning
    saying "if you upgrade to torch 2.7" when no torch requirement is found.

    ## Example
    ```python
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        patience=10,
        verbose=True
    )
    ```

    ## Use instead
    ```python
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        patience=10,
    )
    ```
    Log `scheduler.get_last_lr()` yourself where you want to see the LR.

    ## Fix safety
    Safe: `verbose` only printed the LR, so removing it keeps the run's math. The fix removes
    the argument with its comma (its whole line when it stands on one) and leaves the rest of
    the call, comments included, byte for byte.

    ## Options
    None. The torch version is the `target-torch` setting, else the project's own range.

    ## Source
    Seed 004 (`004_9d53dcec9b7b0ae7.txt`): the recommended `ReduceLROnPlateau(...,
    verbose=True)`. PyTorch 2.2 deprecated `verbose` (pytorch#111302); 2.7 removed it.
    """

    code = "TL107"
    name = "scheduler-verbose-removed"
    severity = Severity.ERROR
    fix_availability = FixAvailability.ALWAYS
    message = "`verbose=` was removed from torch LR schedulers in 2.7"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "remove the `verbose` argument"
    needles = (b"verbose",)

    bad = (
        Example(
            "train.py",
            "from torch import optim\n"
            "\n"
            "def make(optimizer):\n"
            "    return optim.lr_scheduler.ReduceLROnPlateau(\n"
            "        optimizer,\n"
            "        mode='min',  # watch val loss\n"
            "        patience=10,  # epochs\n"
            "        verbose=True\n"
            "    )\n",
            fixed=(
                "from torch import optim\n"
                "\n"
                "def make(optimizer):\n"
                "    return optim.lr_scheduler.ReduceLROnPlateau(\n"
                "        optimizer,\n"
                "        mode='min',  # watch val loss\n"
                "        patience=10,  # epochs\n"
                "    )\n"
            ),
        ),
        Example(
            "train.py",
            "from torch.optim.lr_scheduler import StepLR\n"
            "\n"
            "def make(opt):\n"
            "    return StepLR(opt, step_size=30, verbose=False, gamma=0.5)\n",
            fixed=(
                "from torch.optim.lr_scheduler import StepLR\n"
                "\n"
                "def make(opt):\n"
                "    return StepLR(opt, step_size=30, gamma=0.5)\n"
            ),
        ),
    )
    good = (
        Example(
            "train.py",
            "from torch.optim.lr_scheduler import StepLR\n"
            "\n"
            "def make(opt, trainer_cls):\n"
            "    trainer = trainer_cls(verbose=True)\n"
            "    return StepLR(opt, step_size=30)\n",
        ),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        torch = None
        for call in script.calls:
            keyword = next((kw for kw in call.keywords if kw.arg == "verbose"), None)
            if keyword is None:
                continue
            qualname = script.qualname(call.func) or ""
            if qualname.startswith(SCHEDULER_PREFIX):
                torch = torch or self.ctx.project.requirement("torch", script.path)
                yield self._diagnostic(script, call, keyword, qualname, torch)

    def _diagnostic(self, script: ParsedScript, call: ast.Call, keyword: ast.keyword,
                    qualname: str, torch: VersionRange) -> Diagnostic:
        cls = qualname.rsplit(".", 1)[-1]
        removed = torch.at_least(REMOVED_IN)
        if not torch.known:
            severity = Severity.WARNING
            message = (f"`{cls}(verbose=...)`: if you upgrade to torch 2.7, this raises "
                       "TypeError (`verbose` was removed in 2.7, deprecated since 2.2; no torch "
                       "requirement found); remove the argument")
        elif removed and len(removed) == len(torch.versions):
            severity = Severity.ERROR
            message = (f"`{cls}(verbose=...)` raises TypeError on {torch.describe()} "
                       "(`verbose` was removed in 2.7); remove the argument")
        elif removed:
            severity = Severity.ERROR
            message = (f"`{cls}(verbose=...)`: {torch.describe()} allows "
                       f"{torch.series(removed)}, where it raises TypeError (`verbose` was "
                       "removed in 2.7, deprecated since 2.2); remove the argument")
        else:
            severity = Severity.WARNING
            message = (f"`{cls}(verbose=...)` is deprecated since torch 2.2 and raises "
                       f"TypeError from 2.7 on: {torch.describe()} allows only older versions, "
                       "so it breaks when you upgrade; remove the argument")
        span = removal_span(script, call, keyword)
        fix = None
        if span is not None:
            fix = Fix(Applicability.SAFE, f"Remove `{script.source(keyword)}`",
                      (Edit(span, ""),))
        return self.diagnostic(script.path, script.span(keyword), message, fix, severity)


def removal_span(script: ParsedScript, call: ast.Call, keyword: ast.keyword) -> Span | None:
    """The text to delete so that the argument and one comma go and nothing else changes.

    1. The argument stands alone on its line(s) (with its comma): the lines go; a comment
       after it stays on its line.
    2. Else `, verbose=True` after the previous argument, if only a comma and blanks part them.
    3. Else `verbose=True, ` before the next argument, under the same condition.
    None where comments or line continuations sit in between (no fix offered).
    """
    text = script.text
    span = script.span(keyword)
    arguments = sorted([*call.args, *call.keywords],
                       key=lambda node: (node.lineno, node.col_offset))
    position = next(i for i, node in enumerate(arguments) if node is keyword)
    own_lines = _own_lines(script.index, span.start, span.end)
    if own_lines is not None:
        return script.index.span(*own_lines)
    if position > 0:
        previous_end = script.span(arguments[position - 1]).end
        if _only_comma_between(text[previous_end:span.start]):
            return script.index.span(previous_end, span.end)
    if position + 1 < len(arguments):
        next_start = script.span(arguments[position + 1]).start
        if _only_comma_between(text[span.end:next_start]):
            return script.index.span(span.start, next_start)
    if len(arguments) == 1:
        after = _trailing_comma_end(text, span.end)
        return script.index.span(span.start, after)
    return None


def _own_lines(index, start: int, end: int) -> tuple[int, int] | None:
    """The argument's whole lines when nothing else stands on them; a comment after it stays
    (on its own line, where the argument was)."""
    text = index.text
    first, last = index.line_of(start), index.line_of(end)
    line_start = index.line_start(first)
    if text[line_start:start].strip():
        return None
    content_end = index.line_end(last)
    rest = text[end:content_end].strip()
    if rest.startswith(","):
        rest = rest[1:].lstrip()
    if not rest:
        return line_start, index.next_line_start(last)
    if rest.startswith("#"):
        return start, text.index("#", end, content_end)
    return None


def _only_comma_between(gap: str) -> bool:
    return gap.count(",") == 1 and not gap.replace(",", "").strip() and "\\" not in gap


def _trailing_comma_end(text: str, end: int) -> int:
    gap_end = end
    while gap_end < len(text) and text[gap_end] in " \t":
        gap_end += 1
    return gap_end + 1 if gap_end < len(text) and text[gap_end] == "," else end
