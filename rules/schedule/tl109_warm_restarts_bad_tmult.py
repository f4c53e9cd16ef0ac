"""TL109 warm-restarts-bad-tmult."""

from __future__ import annotations

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


class WarmRestartsBadTmult(ScriptRule):
    """`CosineAnnealingWarmRestarts(T_mult=...)` that is not an integer >= 1.

    ## What it does
    Checks the `T_mult` argument of `torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`
    (keyword or third positional), following it to a module constant or to the default of
    an argparse argument (`T_mult=args.t_mult`). An argparse argument with `type=float` is
    reported too: any value given on the command line then arrives as a float.

    ## Why is this bad?
    The constructor raises `ValueError: Expected integer T_mult >= 1, but got 1.5` for
    anything but an `int` >= 1, including `2.0`. The run dies before the first step, or,
    with a float-typed command-line flag, only when someone passes the flag.

    ## Example
    ```python
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=1.5)
    ```

    ## Use instead
    ```python
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=2)
    ```

    ## Fix safety
    No fix: rounding the multiplier changes the restart periods.

    ## Options
    None.

    ## Source
    Seed 004 (`004_9d53dcec9b7b0ae7.txt`) trains with `CosineAnnealingWarmRestarts`.
    PyTorch: `if T_mult < 1 or not isinstance(T_mult, int): raise ValueError` (torch 2.13).
    """

    code = "TL109"
    name = "warm-restarts-bad-tmult"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "`CosineAnnealingWarmRestarts` needs an integer `T_mult` >= 1"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"CosineAnnealingWarmRestarts",)

    bad = (
        Example("train.py", (
            "from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts\n"
            "\n"
            "def make(optimizer):\n"
            "    return CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=1.5)\n"
        )),
        Example("train.py", (
            "import argparse\n"
            "from torch.optim import lr_scheduler\n"
            "\n"
            "parser = argparse.ArgumentParser()\n"
            "parser.add_argument('--t_mult', type=float, default=2)\n"
            "args = parser.parse_args()\n"
            "\n"
            "def make(optimizer):\n"
            "    return lr_scheduler.CosineAnnealingWarmRestarts(optimizer, 10, args.t_mult)\n"
        )),
    )
    good = (
        Example("train.py", (
            "from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts\n"
            "\n"
            "def make(optimizer):\n"
            "    return CosineAnnealingWarmRestarts(optimizer, T_0=10, T_mult=2)\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        index = code_index(script)
        for build in index.builds:
            if build.kind == "CosineAnnealingWarmRestarts" and "T_mult" in build.args:
                message = _problem(index, build)
                if message:
                    yield self.diagnostic(script.path, script.span(build.args["T_mult"]), message)


def _problem(index: CodeIndex, build: Build) -> str | None:
    expr = build.args["T_mult"]
    spec = index.argument(expr)
    if spec is not None and spec.type_name == "float":
        flag = spec.flags[0]
        return (f"`T_mult` comes from `{flag}`, which has type=float: any value given on the "
                f"command line is a float and CosineAnnealingWarmRestarts raises ValueError; "
                f"use type=int")
    value = index.resolve(expr)
    if value is None or not value.known:
        return None
    number = value.value
    if isinstance(number, int) and not isinstance(number, bool) and number >= 1:
        return None
    where = "" if value.span.line == expr.lineno else f" (set on line {value.span.line})"
    return (f"`T_mult={value.raw or repr(number)}`{where} is not an integer >= 1: "
            f"CosineAnnealingWarmRestarts raises ValueError at construction; use an int such as "
            f"{max(1, round(number)) if value.number is not None else 1}")
