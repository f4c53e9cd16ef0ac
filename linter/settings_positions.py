"""Where a setting is written in its file, so that a settings error says `file:line:col`.

tomllib (and tomlkit) give values, not positions. The file has already been read by tomllib
when an error is worded, so it is valid TOML: this reads its table headers and key lines
(`[tool.trainlint.rules.TL003]`, `max-distance = 2`, dotted keys) to find the first line that
writes the key, or the nearest table above it. What it cannot find (a key inside an inline
table) is named by the file alone.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_PART = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)"""
_DOTTED = rf"{_PART}(?:[ \t]*\.[ \t]*{_PART})*"


@cache
def _patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """A table header, a key line, a key's parts: compiled only to word an error (the
    settings module imports this one at every start)."""
    return (re.compile(rf"^[ \t]*\[[ \t]*({_DOTTED})[ \t]*\][ \t]*(?:#.*)?$"),
            re.compile(rf"^([ \t]*)({_DOTTED})[ \t]*="), re.compile(_PART))


def located(source: Path, *keys: str) -> str:
    """`source:line:col` of the setting at `keys` below the trainlint table (("select",),
    ("rules", "TL003", "max-distance")), or of its nearest table written out; `source`
    alone where neither is found or the file cannot be read again."""
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return str(source)
    prefixes = [("tool", "trainlint")] if source.name != "trainlint.toml" else [(), ("tool", "trainlint")]
    best: tuple[int, int, int] | None = None  # (keys matched, line, column)
    for prefix in prefixes:
        for matched, line, column in _written(lines, prefix, tuple(keys)):
            if best is None or matched > best[0]:
                best = (matched, line, column)
    if best is None:
        return str(source)
    return f"{source}:{best[1]}:{best[2]}"


def _written(lines: list[str], prefix: tuple[str, ...], keys: tuple[str, ...]):
    """(how many of `keys` a line writes, line, column) for each table header or key line
    that writes the trainlint table at `prefix` or a key at a leading part of `keys`."""
    wanted = [part.lower() for part in (*prefix, *keys)]
    header_pattern, key_pattern, _ = _patterns()
    table: list[str] = []
    for number, text in enumerate(lines, 1):
        header = header_pattern.match(text)
        if header:
            table = _split(header.group(1))
            start = text.index("[") + 1
            yield from _match(table, wanted, len(prefix), number, start + 1)
            continue
        key = key_pattern.match(text)
        if key:
            yield from _match([*table, *_split(key.group(2))], wanted, len(prefix), number,
                              len(key.group(1)) + 1)


def _match(path: list[str], wanted: list[str], prefix: int, line: int, column: int):
    lowered = [part.lower() for part in path]
    if len(lowered) >= prefix and lowered == wanted[:len(lowered)]:
        yield len(lowered) - prefix, line, column


def _split(dotted: str) -> list[str]:
    return [part.strip("\"'") for part in _patterns()[2].findall(dotted)]
