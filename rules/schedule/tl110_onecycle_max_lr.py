"""TL110 onecycle-max-lr."""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator

from trainlint.api import (
    Build,
    CodeIndex,
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
    code_index,
)

# torch.optim defaults of `lr` (torch 2.13) for optimizers built without one.
DEFAULT_LR = {"Adam": 1e-3, "AdamW": 1e-3, "RAdam": 1e-3, "SGD": 1e-3, "NAdam": 2e-3,
              "Adamax": 2e-3, "RMSprop": 1e-2, "Adagrad": 1e-2}


class OneCycleMaxLr(ScriptRule):
    """`OneCycleLR(max_lr=x)` where x is just the optimizer's own lr.

    ## What it does
    Compares the `max_lr` of a `torch.optim.lr_scheduler.OneCycleLR` with the `lr` of the
    optimizer it wraps (the same expression, such as `args.lr`, or the same number).

    ## Why is this bad?
    OneCycleLR ignores the optimizer's lr: it starts at `max_lr / div_factor` (25 by
    default), rises to `max_lr` and ends at `max_lr / (div_factor * final_div_factor)`.
    Copying the "base" LR into `max_lr` usually means the run was tuned for a constant LR
    and now spends most of its time well below it; OneCycle's peak is normally set several
    times higher than a constant LR (an LR range test finds it).

    ## Example
    ```python
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    scheduler = OneCycleLR(optimizer, max_lr=args.lr, total_steps=10_000)
    ```

    ## Use instead
    ```python
    scheduler = OneCycleLR(optimizer, max_lr=args.max_lr, total_steps=10_000)
    ```

    ## Fix safety
    No fix: the right peak is a tuning decision. The rule is an `info`.

    ## Options
    None.

    ## Source
    Seed 003 (`003_a398bf3ca9a9c075.txt`): OneCycleLR with max_lr 0.004 starting at 0.0004
    and ending at 4e-06. PyTorch `OneCycleLR` docs: initial_lr = max_lr/div_factor,
    min_lr = initial_lr/final_div_factor (torch 2.13).
    """

    code = "TL110"
    name = "onecycle-max-lr"
    severity = Severity.INFO
    fix_availability = FixAvailability.NONE
    message = "`OneCycleLR(max_lr=...)` equals the optimizer's lr, which OneCycleLR never starts at"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"OneCycleLR",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "from torch.optim.lr_scheduler import OneCycleLR\n"
            "\n"
            "def make(model):\n"
            "    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
            "    return OneCycleLR(optimizer, max_lr=1e-3, total_steps=10000)\n"
        )),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "from torch.optim.lr_scheduler import OneCycleLR\n"
            "\n"
            "def make(model):\n"
            "    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-4)\n"
            "    return OneCycleLR(optimizer, max_lr=4e-3, total_steps=10000)\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        index = code_index(script)
        for build in index.builds:
            if build.kind != "OneCycleLR" or "max_lr" not in build.args:
                continue
            optimizer = _same_lr_optimizer(index, build)
            if optimizer is not None:
                yield self.diagnostic(script.path, script.span(build.args["max_lr"]),
                                      _message(index, build, optimizer))


def _same_lr_optimizer(index: CodeIndex, build: Build) -> Build | None:
    wrapped = build.args.get("optimizer")
    if wrapped is None:
        return None
    max_lr = build.args["max_lr"]
    peak = index.resolve(max_lr)
    for optimizer in index.builds_of(wrapped, build.call):
        if optimizer.family != "optimizer":
            continue
        lr = optimizer.args.get("lr")
        if lr is not None and ast.dump(lr) == ast.dump(max_lr):
            return optimizer
        if lr is None:
            base = DEFAULT_LR.get(optimizer.kind)
        else:
            resolved = index.resolve(lr)
            base = resolved.number if resolved is not None else None
        peak_number = peak.number if peak is not None else None
        if base is not None and peak_number is not None and math.isclose(base, peak_number):
            return optimizer
    return None


def _message(index: CodeIndex, build: Build, optimizer: Build) -> str:
    max_lr = build.args["max_lr"]
    text = index.script.source(max_lr)
    peak = index.resolve(max_lr)
    div = _number(index, build, "div_factor", 25.0)
    final_div = _number(index, build, "final_div_factor", 1e4)
    if "lr" in optimizer.args:
        lr_text = index.script.source(optimizer.args["lr"])
    else:
        lr_text = f"its default {DEFAULT_LR.get(optimizer.kind, 0):g}"
    if peak is not None and peak.number is not None and div and final_div:
        start, end = peak.number / div, peak.number / (div * final_div)
        course = f"it starts at {start:.3g} and ends at {end:.3g}"
    else:
        course = f"it starts at {text}/{div:g} and ends at {text}/{div * final_div:g}"
    return (f"`OneCycleLR(max_lr={text})` equals the optimizer's lr ({lr_text}, line "
            f"{optimizer.line}): OneCycleLR overrides it, {course}, so the copied base LR is "
            f"only the peak; set max_lr deliberately (often several times a constant LR)")


def _number(index: CodeIndex, build: Build, parameter: str, default: float) -> float:
    value = index.resolve(build.args.get(parameter)) if parameter in build.args else None
    number = value.number if value is not None else None
    return number if number else default
