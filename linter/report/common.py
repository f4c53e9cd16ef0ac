"""Helpers shared by reporters: relative file names and source lines."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from trainlint.paths import display_path, printable
from trainlint.text import LineIndex

__all__ = ["display_path", "printable", "source_lines"]


@lru_cache(maxsize=64)
def source_lines(path: str) -> tuple[str, ...]:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ()
    text = data.decode("utf-8-sig", errors="replace")
    index = LineIndex.for_file(path, text)  # the lines the findings' positions count
    return tuple(index.line_text(line) for line in range(1, index.lines + 1))
