"""How the probe rules print measured numbers in their messages and table rows."""

from __future__ import annotations


def number(value: float | None, digits: int = 4) -> str:
    """`value` to `digits` significant digits; "n/a" when it was not measured."""
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def steps(count: int) -> str:
    """A step count with thousands separators: 2,000 steps."""
    return f"{count:,} step{'s' * (count != 1)}"
