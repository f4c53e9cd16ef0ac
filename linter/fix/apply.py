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


def _lines(path: str, text: str) -> list[str]:
    """The text's lines with their line breaks, in the line model of the file's reader."""
    from trainlint.text import LineIndex

    index = LineIndex.for_file(path, text)
    lines = [text[index.line_start(n):index.next_line_start(n)] for n in range(1, index.lines + 1)]
    return [line for line in lines if line]


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(_lines(path, before), _lines(path, after),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    out = []
    for line in lines:
        out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n")
    return "".join(out)


TEMPORARY_SUFFIX = ".trainlint"


def write_atomically(path: Path, data: bytes) -> None:
    """Replace a file's contents all at once, as the same file.

    A symbolic link stays a link: its target is written. The target keeps its mode, owner and
    group (a file whose owner cannot be kept is not written: OSError). The bytes go to a
    temporary file beside the target, `.NAME.PID.XXXX.trainlint`, which is renamed over it;
    a process killed in between (kill -9) leaves that file behind, and the next write of the
    same file removes it once its process is gone."""
    import tempfile

    target = Path(os.path.realpath(path))
    status = target.stat()
    _remove_stale_temporaries(target)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.",
                                         suffix=TEMPORARY_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if hasattr(os, "chown") and (status.st_uid, status.st_gid) != _owner(temporary):
            try:
                os.chown(temporary, status.st_uid, status.st_gid)
            except PermissionError as exc:
                raise PermissionError(exc.errno, "cannot keep its owner and group "
                                      f"({status.st_uid}:{status.st_gid})") from None
        os.chmod(temporary, status.st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _owner(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_uid, status.st_gid


def _remove_stale_temporaries(target: Path) -> None:
    """Temporary files of this file left by a process that no longer runs."""
    import re

    pattern = re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.[a-z0-9_]{{8}}"
                         rf"{re.escape(TEMPORARY_SUFFIX)}")
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _running(int(match.group(1))):
            try:
                os.unlink(target.parent / name)
            except OSError:
                pass


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows: signal 0 would be a Ctrl-C event
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or a platform that cannot tell: keep its file
    return True
