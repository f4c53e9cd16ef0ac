"""`--since REF`: the files a change touched, plus what they pull in and what pulls them in.

Changed means: changed between the merge base of REF and HEAD and the working tree (so a pull
request's own commits and uncommitted edits count, and commits that landed on REF meanwhile do
not), plus untracked files that are not ignored. Deleted files are gone and not checked.

A changed launcher or config pulls in the files it names (`--config conf/train.yaml`,
`--deepspeed ds.json`, `python train.py`, `deepspeed: ds.json`), followed transitively; a
launcher that names a changed file is checked too, because its effective config changed.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

LAUNCHER_SUFFIXES = {".sh", ".bash", ".ps1", ".md"}
REFERENCING_SUFFIXES = LAUNCHER_SUFFIXES | {".yaml", ".yml", ".json", ".toml", ".py"}
# A file name with a suffix trainlint reads, as it appears in a launcher, config or script.
_REFERENCE = re.compile(
    r"(?<![\w.$/{-])((?:\.{0,2}/)?(?:[\w.+-]+/)*[\w.+-]+\.(?:ya?ml|json|toml|py|sh|bash))(?![\w.-])")
MAX_REFERENCING_BYTES = 1024 * 1024


class ChangedFilesError(Exception):
    """`--since` outside a git repository or with a ref git does not know: exit 2."""


def _git(args: list[str], cwd: Path) -> str:
    try:
        process = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                 encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise ChangedFilesError("--since needs git, and git is not installed") from None
    if process.returncode != 0:
        raise _GitFailed(process.stderr.strip())
    return process.stdout


class _GitFailed(Exception):
    pass


def repository_root(cwd: Path) -> Path:
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    except _GitFailed:
        raise ChangedFilesError(f"--since needs a git repository, and {cwd} is not inside one") from None


def changed_files(ref: str, cwd: Path) -> tuple[Path, list[Path]]:
    """The repository root and the existing files changed since `ref` (absolute paths)."""
    root = repository_root(cwd)
    try:
        _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root)
    except _GitFailed:
        raise ChangedFilesError(
            f"--since: unknown git ref `{ref}` (in a shallow CI clone, fetch it first, e.g. "
            "actions/checkout with fetch-depth: 0)") from None
    try:
        base = _git(["merge-base", ref, "HEAD"], root).strip()
    except _GitFailed:
        base = ref  # unrelated histories: compare with the ref itself
    names = _git(["diff", "--name-only", "-z", "--diff-filter=ACMRT", "--end-of-options", base],
                 root).split("\0")
    names += _git(["ls-files", "--others", "--exclude-standard", "-z"], root).split("\0")
    files = {(root / name).resolve() for name in names if name}
    return root, sorted(path for path in files if path.is_file())


def referenced_files(path: Path, root: Path) -> set[Path]:
    """Files inside `root` that `path` names (relative to its folder or to the root).

    For a launcher, the files that trainlint's launch resolver loads (the script, the configs
    its flags and their defaults name) are added to the names found in the text.
    """
    try:
        if path.stat().st_size > MAX_REFERENCING_BYTES:
            return set()
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    found = set()
    for match in _REFERENCE.finditer(text):
        for folder in (path.parent, root):
            candidate = (folder / match.group(1)).resolve()
            if candidate.is_file():
                found.add(candidate)
                break
    if path.suffix.lower() in LAUNCHER_SUFFIXES:
        found.update(Path(name).resolve() for name in _resolved_loads(path, text))
    return {candidate for candidate in found
            if candidate != path and candidate.is_file() and candidate.is_relative_to(root)}


def _resolved_loads(path: Path, text: str) -> list[str]:
    """The files the launch resolver loads for this launcher (none where it is unavailable)."""
    try:
        resolve = importlib.import_module("trainlint.resolve")
        from trainlint.text import LineIndex
    except ImportError:
        return []
    loaded: list[str] = []
    load = resolve.default_loader()

    def recording(name: str):
        loaded.append(name)
        return load(name)

    try:
        resolve.launcher_configs(str(path), text, LineIndex(text), recording)
    except Exception:  # a resolver bug must not stop --since: the names in the text remain
        return loaded
    return loaded


def pulled_in(changed: Iterable[Path], root: Path) -> set[Path]:
    """The changed files and everything they name, transitively."""
    seen = set(changed)
    pending = list(seen)
    while pending:
        path = pending.pop()
        if path.suffix.lower() not in REFERENCING_SUFFIXES:
            continue
        for found in referenced_files(path, root) - seen:
            seen.add(found)
            pending.append(found)
    return seen


def select_changed(candidates: list[str], ref: str, cwd: Path | None = None) -> list[str]:
    """The candidate files (as discovered from the PATHS) that the change since `ref` touches."""
    cwd = cwd or Path.cwd()
    root, changed = changed_files(ref, cwd)
    wanted = pulled_in(changed, root)
    by_path = {Path(os.path.abspath(name)).resolve(): name for name in candidates}
    launchers = [path for path in by_path
                 if path not in wanted and path.suffix.lower() in LAUNCHER_SUFFIXES]
    for path in launchers:
        if referenced_files(path, root) & set(changed):
            wanted.add(path)
    return [name for path, name in by_path.items() if path in wanted]
