"""How trainlint names a file to the user: the one path-display helper."""

from __future__ import annotations

import os


def display_path(path: str | os.PathLike) -> str:
    """A relative path as given; an absolute one relative to the working directory when the
    file is inside it (`../` never), else as it is. Findings, notes and `show` use it, and
    launch resolution names the files it finds with it (after `os.path.abspath`, which
    normalizes `a/../b`)."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    try:
        relative = os.path.relpath(text)
    except ValueError:  # another drive (Windows)
        return text
    return text if relative.startswith("..") else relative
