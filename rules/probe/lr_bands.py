"""The LR band floor for TL905: settings `[tool.trainlint.bands]`, else rules/data/lr_bands.toml.

Accepted shapes for one model type (the table may also sit under a top-level `bands` key):
`rnn-ctc = [5e-4, 2e-3]`, `[rnn-ctc] band = [5e-4, 2e-3]` (or `range`), or
`[rnn-ctc] low = 5e-4` (or `min`, `floor`, `lo`, `lower`); an optional `optimizers` (or
`optimizer`) list names the optimizer families the band holds for (default: Adam and AdamW,
SGD for `cnn-sgd`).
"""

from __future__ import annotations

import tomllib
from typing import Any

from msgspec import Struct

FLOOR_KEYS = ("low", "min", "floor", "lo", "lower", "min_lr")
RANGE_KEYS = ("band", "range", "lr")
ADAM_FAMILY = ("adam", "adamw")
LARGE_EPS = 1e-3  # Adam with eps this large damps its steps; the bands do not hold (RULES.md)


class Floor(Struct, frozen=True):
    value: float
    source: str
    optimizers: tuple[str, ...]


def package_bands() -> dict[str, Any]:
    # importlib.resources (with tempfile, shutil, bz2, lzma: 8 ms) only for the probe, which
    # reads the table: a check imports this module with the rules and never calls it
    from importlib import resources

    try:
        text = resources.files("trainlint.rules").joinpath("data/lr_bands.toml").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return data.get("bands", data)


def find_floor(model_type: str | None, settings_bands: dict[str, Any] | None = None) -> Floor | None:
    if not model_type:
        return None
    key = model_type.strip().lower()
    for source, table in (("[tool.trainlint.bands]", settings_bands or {}),
                          ("lr_bands.toml", package_bands())):
        entries = {str(name).lower(): value for name, value in table.items()}
        if key in entries:
            floor = _floor_of(entries[key])
            if floor is not None:
                return Floor(floor, f"the {model_type} band floor ({source})",
                             _optimizers_of(entries[key], key))
    return None


def _floor_of(entry: Any) -> float | None:
    if isinstance(entry, (list, tuple)) and entry and isinstance(entry[0], (int, float)):
        return float(entry[0])
    if not isinstance(entry, dict):
        return None
    for name in FLOOR_KEYS:
        if isinstance(entry.get(name), (int, float)) and not isinstance(entry.get(name), bool):
            return float(entry[name])
    for name in RANGE_KEYS:
        if name in entry:
            return _floor_of(entry[name])
    return None


def _optimizers_of(entry: Any, model_type: str) -> tuple[str, ...]:
    names = entry.get("optimizers", entry.get("optimizer")) if isinstance(entry, dict) else None
    if isinstance(names, str):
        names = [names]
    if names:
        return tuple(str(name).lower() for name in names)
    return ("sgd",) if model_type == "cnn-sgd" else ADAM_FAMILY


def band_applies(floor: Floor, optimizer_name: str, eps: float | None) -> bool:
    """Bands hold for the optimizer families they name, and not for Adam with a large eps."""
    name = optimizer_name.lower()
    if name not in floor.optimizers:
        return False
    return not (name in ADAM_FAMILY and eps is not None and eps >= LARGE_EPS)
