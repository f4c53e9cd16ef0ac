"""Positions in decoded text: 1-based line/column pairs and 0-based character offsets."""

from __future__ import annotations

from bisect import bisect_right

from msgspec import Struct


class Span(Struct, frozen=True):
    """A half-open range of characters, with 1-based line/column of both ends."""

    start: int
    end: int
    line: int
    col: int
    end_line: int
    end_col: int


class LineIndex:
    """Converts character offsets to line/column and back for one text."""

    __slots__ = ("text", "line_starts")

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self.line_starts = starts

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def offset(self, line: int, col: int) -> int:
        """Offset of a 1-based line/column (clamped to the text)."""
        line = max(1, min(line, len(self.line_starts)))
        return min(self.line_starts[line - 1] + col - 1, len(self.text))

    def span(self, start: int, end: int) -> Span:
        line, col = self.line_col(start)
        end_line, end_col = self.line_col(end)
        return Span(start, end, line, col, end_line, end_col)

    def line_text(self, line: int) -> str:
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start:end].rstrip("\r")
