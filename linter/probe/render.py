"""The probe's text output: a table of measured values and a loss-per-step plot."""

from __future__ import annotations

import math
from typing import Any

from trainlint.context import RuleContext
from trainlint.probe.measurements import Measurements

BLOCKS = " ▁▂▃▄▅▆▇█"
ASCII_BLOCKS = " .:-=+*#@"


def _num(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def table_rows(m: Measurements, ctx: RuleContext) -> list[tuple[str, str, str]]:
    from trainlint.probe.findings import (
        CtcCollapse,
        GradientScale,
        InitialLossOutOfRange,
        LossNotDecreasing,
        LossScalesWithBatch,
    )

    o901 = ctx.options_for(InitialLossOutOfRange)
    o902 = ctx.options_for(LossNotDecreasing)
    o904 = ctx.options_for(CtcCollapse)
    o906 = ctx.options_for(GradientScale)
    o907 = ctx.options_for(LossScalesWithBatch)
    rows = []
    reference = (f"{_num(m.reference_loss)} = {m.reference_note}; ok "
                 f"{o901.low_factor:g}x-{o901.high_factor:g}x" if m.reference_loss is not None
                 else "no reference")
    rows.append(("initial loss", _num(m.initial_loss), reference))
    drop = m.loss_drop
    change = (f"{-drop:+.0%} (needs -{o902.min_drop:.0%} or better)" if drop is not None
              else (m.stop_reason or "not measured"))
    rows.append((f"loss after {m.steps_run} steps", _num(m.final_loss), change))
    floor = (f"floor/10 = {m.lr_floor:.3g} ({m.lr_floor_source})" if m.lr_floor is not None
             else "no band floor known")
    if m.lr_floor is not None and m.lr_schedule and m.lr_at_start < m.lr_floor:
        reached = next((step for step, lr in enumerate(m.lr_schedule) if lr >= m.lr_floor), None)
        floor += (f"; reached at step {reached}" if reached is not None
                  else f"; not reached in {len(m.lr_schedule) - 1} steps")
    rows.append(("LR at step 0", _num(m.lr_at_start, 3),
                 floor if m.lr_at_start is not None else m.lr_source or "no optimizer given"))
    rows.append(("gradient norm at init", _num(m.grad_norm, 3),
                 f"ok {o906.min_norm:g} .. {o906.max_norm:g}"))
    if m.ratio_2x is not None:
        rows.append(("loss on batch x2 / x4", f"x{m.ratio_2x:.2f} / x{m.ratio_4x:.2f}",
                     f"summed if >= x{o907.min_ratio_2x:g} / x{o907.min_ratio_4x:g}"))
    if m.ctc is not None:
        rows.append((f"blank share at step {m.ctc_steps}", f"{m.ctc.blank_share:.0%}",
                     f"targets need {m.ctc.needed_share:.0%} non-blank; collapse if > "
                     f"{o904.max_blank_share:.0%} blank"))
        rows.append((f"frame entropy / ln C at step {m.ctc_steps}", f"{m.ctc.entropy_share:.0%}",
                     f"uniform if > {o904.max_entropy_share:.0%}"))
    if m.non_finite is not None:
        rows.append(("first non-finite", m.non_finite.where, m.non_finite.detail))
    return rows


def format_table(m: Measurements, ctx: RuleContext, title: str) -> str:
    rows = [("measured", "value", "reference / limit"), *table_rows(m, ctx)]
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
