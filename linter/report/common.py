"""Helpers shared by reporters: relative file names and source lines."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from trainlint.paths import display_path, printable
from trainlint.text import LineIndex

__all__ = ["display_path", "printable", "source_lines"]


class SourceLines(Sequence):
    """A file's lines as the findings' positions count them (its reader's line model), each
    cut from the text when asked for: a finding shows one or two lines of a file."""

    def __init__(self, text: str, index: LineIndex | None) -> None:
        self.text = text
        self.index = index

    def __len__(self) -> int:
        return self.index.lines if self.index is not None else 0

    def __getitem__(self, item):
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError(item)
        return self.index.line_text(item + 1)


@lru_cache(maxsize=64)
def source_lines(path: str) -> SourceLines:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return SourceLines("", None)
    text = data.decode("utf-8-sig", errors="replace")
    return SourceLines(text, LineIndex.for_file(path, text))
