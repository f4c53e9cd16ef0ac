"""TL010 store-true-default-true."""

from __future__ import annotations

from collections.abc import Iterator

from trainlint.api import (
    ArgumentSpec,
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
    Span,
    literal,
    read_arguments,
)

# action -> the default that makes the flag a no-op, and the action that turns it back.
STUCK_DEFAULTS = {"store_true": (True, "store_false"), "store_false": (False, "store_true")}


class StoreTrueDefaultTrue(ScriptRule):
    """An argparse flag that can never be turned off from the command line.

    ## What it does
    Finds `add_argument(..., action="store_true", default=True)` and
    `add_argument(..., action="store_false", default=False)` (also a `set_defaults(flag=True)`
    for a store_true flag), unless another argument writes the opposite value to the same
    `dest` (a `--no-flag` with `action="store_false"`).

    ## Why is this bad?
    `store_true` can only set the value to True; with `default=True` the flag is True whether
    it is given or not, so `--use_amp`, `--shuffle` or `--augment` cannot be switched off
    for an ablation or a debugging run, and nobody notices: the run just does what it always
    did.

    ## Example
    ```python
    parser.add_argument("--use_amp", action="store_true", default=True)
    ```

    ## Use instead
    ```python
    parser.add_argument("--use_amp", action=argparse.BooleanOptionalAction, default=True)
    ```
    which also accepts `--no-use_amp` (Python 3.9+).

    ## Fix safety
    No fix: whether the default or the action is wrong is the author's call.

    ## Options
    None.

    ## Source
    Python `argparse` docs: `store_true` / `store_false` store a constant;
    `BooleanOptionalAction` (3.9) adds the `--no-` form.
    """

    code = "TL010"
    name = "store-true-default-true"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "flag with action='store_true' and default=True can never be turned off"
    precision = "100.0% (3 true, 0 false, 3 debatable of 6; dev corpus, 28 repositories)"
    needles = (b"store_true", b"store_false")

    bad = (
        Example("train.py", (
            "import argparse\n"
            "\n"
            "parser = argparse.ArgumentParser()\n"
            "parser.add_argument('--use_amp', action='store_true', default=True)\n"
            "args = parser.parse_args()\n"
        )),
    )
    good = (
        Example("train.py", (
            "import argparse\n"
            "\n"
            "parser = argparse.ArgumentParser()\n"
            "parser.add_argument('--use_amp', action=argparse.BooleanOptionalAction,\n"
            "                    default=True)\n"
            "parser.add_argument('--shuffle', action='store_true', default=True)\n"
            "parser.add_argument('--no_shuffle', dest='shuffle', action='store_false')\n"
            "args = parser.parse_args()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        flags = [spec for spec in read_arguments(script) if spec.action in STUCK_DEFAULTS]
        actions_by_dest: dict[str, set[str]] = {}
        for spec in flags:
            actions_by_dest.setdefault(spec.dest, set()).add(spec.action)
        for spec, span in _stuck(script, flags):
            stuck_value, opposite = STUCK_DEFAULTS[spec.action]
            if opposite in actions_by_dest.get(spec.dest, ()):
                continue
            flag = spec.flags[0]
            message = (f"`{flag}` uses action='{spec.action}' with default={stuck_value}: it "
                       f"is {stuck_value} whether given or not and cannot be turned off from "
                       f"the command line; use action=argparse.BooleanOptionalAction "
                       f"(which adds a `--no-` form) or drop the default")
            yield self.diagnostic(script.path, span, message)


def _stuck(script: ParsedScript, flags: list[ArgumentSpec]) -> Iterator[tuple[ArgumentSpec, Span]]:
    """Flags whose default (in add_argument or in a set_defaults call) is the stored value."""
    for spec in flags:
        if spec.default is not None and spec.default.value is STUCK_DEFAULTS[spec.action][0]:
            yield spec, spec.default.span
    by_dest = {spec.dest: spec for spec in flags}
    for call in script.method_calls("set_defaults"):
        for keyword in call.keywords:
            spec = by_dest.get(keyword.arg)
            if spec is not None and literal(keyword.value) is STUCK_DEFAULTS[spec.action][0]:
                yield spec, script.span(keyword.value)
