"""How trainlint names a file: `relative_path` names it in findings and launch resolution (a
name trainlint can open again), `display_path` prints it (the one path-display helper)."""

from __future__ import annotations

import os


def relative_path(path: str | os.PathLike) -> str:
    """A relative path as given; an absolute one relative to the working directory when the
    file is inside it (`../` never), else as it is. Launch resolution names the files it finds
    with it (after `os.path.abspath`, which normalizes `a/../b`)."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    try:
        relative = os.path.relpath(text)
    except ValueError:  # another drive (Windows)
        return text
    return text if relative.startswith("..") else relative


def display_path(path: str | os.PathLike) -> str:
    """A file name as outputs print it: `relative_path`, with the bytes of a name that are not
    UTF-8 (kept by Python as lone surrogates) shown as U+FFFD, as ruff shows them: every output
    stays valid UTF-8."""
    return printable(relative_path(path))


def printable(text: str) -> str:
    """`text` without lone surrogates (a non-UTF-8 file name's bytes): U+FFFD instead."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
