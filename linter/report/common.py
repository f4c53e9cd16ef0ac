"""Helpers shared by reporters: relative file names and source lines."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from trainlint.text import LineIndex


def display_path(path: str) -> str:
    """The file name as given, or relative to the working directory when it is absolute.
    Bytes of the name that are not UTF-8 (kept by Python as lone surrogates) show as U+FFFD,
    as ruff shows them: every output stays valid UTF-8."""
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path)
        except ValueError:
            relative = ".."
        path = path if relative.startswith("..") else relative
    return printable(path)


def printable(text: str) -> str:
    """`text` without lone surrogates (a non-UTF-8 file name's bytes): U+FFFD instead."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@lru_cache(maxsize=64)
def source_lines(path: str) -> tuple[str, ...]:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ()
    text = data.decode("utf-8-sig", errors="replace")
    index = LineIndex.for_file(path, text)  # the lines the findings' positions count
    return tuple(index.line_text(line) for line in range(1, index.lines + 1))
