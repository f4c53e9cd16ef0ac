"""Helpers shared by reporters: relative file names and source lines."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from trainlint.paths import display_path

__all__ = ["display_path", "source_lines"]


@lru_cache(maxsize=64)
def source_lines(path: str) -> tuple[str, ...]:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ()
    text = data.decode("utf-8-sig", errors="replace")
    return tuple(line.rstrip("\r") for line in text.split("\n"))
