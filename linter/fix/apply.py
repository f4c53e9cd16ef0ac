"""Applying fixes: non-overlapping edits, converge, re-parse, write atomically."""

from __future__ import annotations

import os
from pathlib import Path

from trainlint.api import Applicability, Diagnostic, Edit

MAX_PASSES = 10


def applicable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    fix = diagnostic.fix
    if fix is None or not fix.edits:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return unsafe and fix.applicability is Applicability.UNSAFE


def apply_edits(text: str, diagnostics: list[Diagnostic], unsafe: bool) -> tuple[str, list[Diagnostic]]:
    """Apply the fixes whose edits do not overlap an earlier fix's; return the new text and the
    diagnostics whose fixes were applied (the others wait for the next pass)."""
    chosen: list[tuple[Diagnostic, tuple[Edit, ...]]] = []
    taken: list[tuple[int, int]] = []
    for diagnostic in sorted(diagnostics, key=lambda d: min(e.span.start for e in d.fix.edits)):
        edits = diagnostic.fix.edits
        if any(_overlaps(edit, taken) for edit in edits):
            continue
        if any(text[e.span.start:e.span.end] == e.content for e in edits) and all(
                text[e.span.start:e.span.end] == e.content for e in edits):
            continue  # a no-op fix
        chosen.append((diagnostic, edits))
        taken.extend((edit.span.start, edit.span.end) for edit in edits)
    all_edits = sorted((edit for _, edits in chosen for edit in edits),
                       key=lambda edit: edit.span.start, reverse=True)
    for edit in all_edits:
        text = text[:edit.span.start] + edit.content + text[edit.span.end:]
    return text, [diagnostic for diagnostic, _ in chosen]


def _overlaps(edit: Edit, taken: list[tuple[int, int]]) -> bool:
    start, end = edit.span.start, edit.span.end
    for other_start, other_end in taken:
        if start < other_end and other_start < end:
            return True
        if start == end == other_start or start == end == other_end or (
                other_start == other_end and start <= other_start <= end):
            return True  # an insertion at the edge of another edit would race with it
    return False


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the original."""
    import tempfile

    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".trainlint", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
