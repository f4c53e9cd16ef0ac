"""Positions in decoded text: 1-based line/column pairs and 0-based character offsets.

One line model serves every position and every edit: the one the file's reader uses.
Python's tokenizer, JSON, TOML, YAML 1.2, Markdown, PowerShell and editors end a line at
`\\r\\n`, a lone `\\r` or `\\n` ("universal" newlines; Python's `ast` line numbers count a lone
`\\r` inside a docstring as a line break). bash ends a line only at `\\n`: a lone `\\r` is part of
a word there, so `.sh`/`.bash` files use the "lf" model. Columns count characters; ast's UTF-8
byte columns are converted where they are read (trainlint.formats.python.ast_index).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import PurePath

from msgspec import Struct

_UNIVERSAL_BREAK = re.compile(r"\r\n?|\n")
_LF_ONLY_SUFFIXES = (".sh", ".bash")


class Span(Struct, frozen=True):
    """A half-open range of characters, with 1-based line/column of both ends."""

    start: int
    end: int
    line: int
    col: int
    end_line: int
    end_col: int


def line_model(path: str) -> str:
    """The line model of a file's reader: "lf" for bash launchers, else "universal"."""
    return "lf" if PurePath(path).suffix.lower() in _LF_ONLY_SUFFIXES else "universal"


class LineIndex:
    """Converts character offsets to line/column and back for one text."""

    __slots__ = ("text", "line_starts", "model")

    def __init__(self, text: str, model: str = "universal") -> None:
        self.text = text
        self.model = model
        if model == "lf" or "\r" not in text:
            starts = [0]
            find = text.find
            pos = find("\n")
            while pos != -1:
                starts.append(pos + 1)
                pos = find("\n", pos + 1)
        elif model == "universal":
            starts = [0, *(match.end() for match in _UNIVERSAL_BREAK.finditer(text))]
        else:
            raise ValueError(f"unknown line model {model!r}")
        self.line_starts = starts

    @classmethod
    def for_file(cls, path: str, text: str) -> LineIndex:
        """The index of a file's text in the line model of the reader of its format."""
        return cls(text, line_model(path))

    @property
    def lines(self) -> int:
        return len(self.line_starts)

    def line_of(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset)

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

    def line_start(self, line: int) -> int:
        return self.line_starts[line - 1]

    def next_line_start(self, line: int) -> int:
        """Where the line after `line` starts (the text's end for the last line)."""
        return self.line_starts[line] if line < len(self.line_starts) else len(self.text)

    def terminator(self, line: int) -> str:
        """The line break that ends `line` ("" for a last line without one)."""
        if line >= len(self.line_starts):
            return ""
        end = self.line_starts[line]
        return "\r\n" if self.text.startswith("\r\n", max(end - 2, 0)) else self.text[end - 1]

    def line_end(self, line: int) -> int:
        """Where the line's content ends, before its line break."""
        return self.next_line_start(line) - len(self.terminator(line))

    def line_text(self, line: int) -> str:
        return self.text[self.line_starts[line - 1]:self.line_end(line)]

    @property
    def newline(self) -> str:
        """The line break a new line should get: the first one of the text, else `\\n`."""
        return self.terminator(1) or "\n"

    def breaks_between(self, start: int, end: int) -> bool:
        """Whether a line break lies in text[start:end]."""
        return self.line_of(end) != self.line_of(start) if end > start else False
