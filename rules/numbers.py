"""Writing a new number in the style of the old one, for fixes that splice a value in place."""

from __future__ import annotations

import math
import re

from trainlint.api import Value

_INT = re.compile(r"[-+]?\d[\d_]*")
_EXPONENT = re.compile(r"(?P<mantissa>[-+]?[\d_]*\.?[\d_]*)(?P<e>[eE])(?P<sign>[-+]?)(?P<digits>\d+)")


def spliceable(value: Value | None) -> bool:
    """A value whose source text is a literal the fix can replace (not a default, not code)."""
    if value is None or not value.known or not value.raw:
        return False
    body = value.raw.strip().strip("'\"")
    try:
        float(body.replace("_", ""))
    except ValueError:
        return False
    return True


def format_like(old: str, new: float | int, yaml: bool = False) -> str:
    """`new` written as `old` was: 1e-4 -> 5e-4, 0.0001 -> 0.0005, "3" -> "8", 15000 -> 7200.

    `yaml`: YAML 1.1 loaders read an exponent without a dot as a string, so write 5.0e-4.
    """
    text = old.strip()
    quote = text[0] if text[:1] in ("'", '"') and text[-1:] == text[:1] else ""
    body = text[1:-1] if quote else text
    if _INT.fullmatch(body) and float(new).is_integer():
        written = str(int(new))
    elif _EXPONENT.fullmatch(body):
        written = _exponent_like(body, float(new), yaml and not quote)
    else:
        written = _decimal(float(new))
        if "." not in written and "." in body:
            written += ".0"
    return f"{quote}{written}{quote}"


def _exponent_like(old: str, new: float, yaml: bool) -> str:
    match = _EXPONENT.fullmatch(old)
    assert match is not None
    if new == 0:
        return "0.0" if yaml else "0"
    exponent = math.floor(math.log10(abs(new)))
    mantissa = round(new / 10 ** exponent, 6)
    if abs(mantissa) >= 10:
        mantissa /= 10
        exponent += 1
    mantissa_text = f"{mantissa:.6f}".rstrip("0").rstrip(".")
    if "." not in mantissa_text and ("." in match["mantissa"] or yaml):
        mantissa_text += ".0"
    sign = "-" if exponent < 0 else ("+" if match["sign"] == "+" else "")
    digits = str(abs(exponent)).zfill(len(match["digits"]) if match["digits"].startswith("0") else 1)
    return f"{mantissa_text}{match['e']}{sign}{digits}"


def _decimal(new: float) -> str:
    if new.is_integer() and abs(new) < 1e15:
        return str(int(new))
    text = f"{new:.12f}".rstrip("0").rstrip(".")
    return text if float(text) == round(new, 12) else repr(new)


def new_text(value: Value, new: float | int) -> str:
    """The replacement text for a value's span, in its own style and format."""
    return format_like(value.raw, new, yaml=value.origin.startswith("yaml"))


def nice(number: float) -> float:
    """Round to two significant digits (a suggestion a person would write)."""
    if number == 0:
        return 0.0
    exponent = math.floor(math.log10(abs(number)))
    return round(number, -exponent + 1)
