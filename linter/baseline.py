"""Baselines: record today's findings once, then report only new ones.

A finding is matched by its code, its file (relative to the baseline file's folder) and the
content of the line it starts on (whitespace collapsed), never by line number, so edits
elsewhere in the file do not bring old findings back. Identical findings count: a baseline
entry with `count: 2` hides two of them, and a third one shows.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

from msgspec import Struct

from trainlint import __version__
from trainlint.api import Diagnostic

FORMAT_KEY = "trainlint-baseline"
FORMAT_VERSION = 1


class BaselineError(Exception):
    """A baseline file that is missing, corrupt or of another format: exit 2."""


class Key(Struct, frozen=True):
    code: str
    file: str
    content: str


class SourceLines:
    """Reads each file once per run (not cached across runs: files change under --fix)."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}

    def line(self, path: str, number: int) -> str:
        if path not in self._files:
            try:
                text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
            except OSError:
                text = ""
            self._files[path] = text.splitlines()
        lines = self._files[path]
        return lines[number - 1] if 0 < number <= len(lines) else ""


def line_content(diagnostic: Diagnostic, sources: SourceLines | None = None) -> str:
    """The text of the line the finding starts on, whitespace collapsed."""
    text = (sources or SourceLines()).line(diagnostic.path, diagnostic.span.line)
    return " ".join(text.split())


def _relative_file(path: str, root: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def key_for(diagnostic: Diagnostic, root: Path, sources: SourceLines | None = None) -> Key:
    return Key(diagnostic.code, _relative_file(diagnostic.path, root),
               line_content(diagnostic, sources))


def fingerprint(diagnostic: Diagnostic, root: Path | None = None,
                sources: SourceLines | None = None) -> str:
    """A short stable hash of (code, file, line content): SARIF partialFingerprints use it too."""
    key = key_for(diagnostic, root or Path.cwd().resolve(), sources)
    data = "\0".join((key.code, key.file, key.content)).encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest()[:32]


def _root_of(baseline_path: Path) -> Path:
    return Path(os.path.abspath(baseline_path)).parent.resolve()


def write_baseline(path: Path, diagnostics: list[Diagnostic]) -> int:
    """Write every finding to `path`; returns how many were written."""
    root = _root_of(path)
    counts: Counter[Key] = Counter()
    messages: dict[Key, str] = {}
    sources = SourceLines()
    for diagnostic in diagnostics:
        key = key_for(diagnostic, root, sources)
        counts[key] += 1
        messages.setdefault(key, diagnostic.message)
    entries = [
        {"code": key.code, "file": key.file, "content": key.content, "count": counts[key],
         "message": messages[key]}
        for key in sorted(counts, key=lambda k: (k.file, k.code, k.content))
    ]
    document = {FORMAT_KEY: FORMAT_VERSION, "trainlint-version": __version__, "findings": entries}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None
    return sum(counts.values())


class Baseline(Struct):
    root: Path
    counts: Counter

    def filter(self, diagnostics: list[Diagnostic]) -> tuple[list[Diagnostic], int]:
        """The findings that are not in the baseline, and how many were hidden."""
        remaining = Counter(self.counts)
        kept = []
        sources = SourceLines()
        for diagnostic in diagnostics:
            key = key_for(diagnostic, self.root, sources)
            if remaining[key] > 0:
                remaining[key] -= 1
            else:
                kept.append(diagnostic)
        return kept, len(diagnostics) - len(kept)


def load_baseline(path: Path) -> Baseline:
    if not path.is_file():
        raise BaselineError(f"baseline file {path} does not exist "
                            f"(create it with --write-baseline {path})")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON (line {exc.lineno}, "
                            f"column {exc.colno}): write it again with --write-baseline") from None
    if not isinstance(document, dict) or FORMAT_KEY not in document:
        raise BaselineError(f"{path} is not a trainlint baseline (no `{FORMAT_KEY}` key)")
    version = document[FORMAT_KEY]
    if version != FORMAT_VERSION:
        written_by = document.get("trainlint-version", "an unknown version")
        raise BaselineError(f"baseline {path} has format {version!r} (written by trainlint "
                            f"{written_by}); this trainlint {__version__} reads format "
                            f"{FORMAT_VERSION}: write it again with --write-baseline")
    return Baseline(_root_of(path), _entries(document.get("findings"), path))


def _entries(findings, path: Path) -> Counter:
    if not isinstance(findings, list):
        raise BaselineError(f"baseline {path} is corrupt: `findings` is not a list")
    counts: Counter[Key] = Counter()
    for number, entry in enumerate(findings, 1):
        try:
            key = Key(entry["code"], entry["file"], entry["content"])
            count = entry.get("count", 1)
        except (KeyError, TypeError, AttributeError):
            raise BaselineError(f"baseline {path} is corrupt: finding {number} needs "
                                "`code`, `file` and `content`") from None
        if not all(isinstance(part, str) for part in (key.code, key.file, key.content)) \
                or not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise BaselineError(f"baseline {path} is corrupt: finding {number} has a field "
                                "of the wrong type")
        counts[key] += count
    return counts
