"""The probe's text output: a table of measured values (each rule gives its rows) and a
loss-per-step plot."""

from __future__ import annotations

import math
from typing import Any

BLOCKS = " ▁▂▃▄▅▆▇█"
ASCII_BLOCKS = " .:-=+*#@"


def _num(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}"


def format_table(rows: list[tuple[str, str, str]], title: str) -> str:
    """The measured values (the rules' table rows) under the run's title."""
    rows = [("measured", "value", "reference / limit"), *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [title]
    for name, value, note in rows:
        lines.append(f"  {name.ljust(widths[0])}  {value.ljust(widths[1])}  {note}".rstrip())
    return "\n".join(lines)


def loss_plot(losses: list[float], width: int = 60, height: int = 8, ascii_only: bool = False) -> str:
    """Loss per step as columns of block characters (log scale when the loss spans > 20x)."""
    values = [v for v in losses if v is not None and math.isfinite(v)]
    if len(values) < 2:
        return ""
    log = min(values) > 0 and max(values) / min(values) > 20
    scaled = [math.log10(v) if log else v for v in values]
    columns = _bucket(scaled, width)
    low, high = min(columns), max(columns)
    span = (high - low) or 1.0
    blocks = ASCII_BLOCKS if ascii_only else BLOCKS
    levels = [(value - low) / span * height * 8 for value in columns]
    top_label, bottom_label = _num(max(values), 3), _num(min(values), 3)
    label_width = max(len(top_label), len(bottom_label))
    lines = []
    for row in range(height, 0, -1):
        cells = []
        for level in levels:
            eighths = int(round(min(max(level - (row - 1) * 8, 0), 8)))
            if row == 1 and eighths == 0:
                eighths = 1  # keep the lowest values visible
            cells.append(blocks[eighths])
        label = top_label if row == height else bottom_label if row == 1 else ""
        lines.append(f"  {label.rjust(label_width)} |{''.join(cells)}")
    scale = "log scale" if log else "linear scale"
    lines.append(f"  {' ' * label_width}  step 0 .. {len(values) - 1} ({scale})")
    return "\n".join(lines)


def _bucket(values: list[float], width: int) -> list[float]:
    if len(values) <= width:
        return values
    size = len(values) / width
    return [sum(chunk) / len(chunk)
            for chunk in (values[int(i * size):max(int((i + 1) * size), int(i * size) + 1)]
                          for i in range(width))]


def can_encode(stream: Any, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
