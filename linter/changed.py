"""`--since REF`: the files a change touched, plus what they pull in and what pulls them in.

Changed means: changed between the merge base of REF and HEAD and the working tree (so a pull
request's own commits and uncommitted edits count, and commits that landed on REF meanwhile do
not), plus untracked files that are not ignored. Deleted files are gone and not checked.

A changed launcher or config pulls in the files it names (`--config conf/train.yaml`,
`--deepspeed ds.json`, `python train.py`, `deepspeed: ds.json`), followed transitively; a
launcher that names a changed file is checked too, because its effective config changed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from trainlint.formats.base import ParseError
from trainlint.load import DEFAULT_MAX_FILE_SIZE, LAUNCHER_FORMATS, Loader, Unreadable, format_of

# A file name with a suffix trainlint reads, as it appears in a launcher, config or script.
_REFERENCE = re.compile(
    r"(?<![\w.$/{-])((?:\.{0,2}/)?(?:[\w.+-]+/)*[\w.+-]+\.(?:ya?ml|json|toml|py|sh|bash))(?![\w.-])")


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


def referenced_files(path: Path, root: Path, loader: Loader | None = None) -> set[Path]:
    """Files inside `root` that `path` names (relative to its folder or to the root).

    For a launcher, the files that trainlint's launch resolver loads (the script, the configs
    its flags and their defaults name) are added to the names found in the text. Files are read
    through the load path: regular files only, at most `max-file-size` bytes.
    """
    loader = loader or Loader()
    try:
        source = loader.read(str(path))
    except (Unreadable, ParseError):
        return set()
    found = set()
    for match in _REFERENCE.finditer(source.text):
        for folder in (path.parent, root):
            candidate = (folder / match.group(1)).resolve()
            if candidate.is_file():
                found.add(candidate)
                break
    if format_of(path) in LAUNCHER_FORMATS:
        try:
            loaded = loader.from_source(str(path), source).loaded
        except Exception:  # a resolver bug must not stop --since: the names in the text remain
            loaded = []
        found.update(Path(name).resolve() for name in loaded)
    return {candidate for candidate in found
            if candidate != path and candidate.is_file() and candidate.is_relative_to(root)}


def pulled_in(changed: Iterable[Path], root: Path, loader: Loader | None = None) -> set[Path]:
    """The changed files and everything they name, transitively."""
    loader = loader or Loader()
    seen = set(changed)
    pending = list(seen)
    while pending:
        path = pending.pop()
        if format_of(path) is None:
            continue
        for found in referenced_files(path, root, loader) - seen:
            seen.add(found)
            pending.append(found)
    return seen


def select_changed(candidates: list[str], ref: str, cwd: Path | None = None,
                   max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> list[str]:
    """The candidate files (as discovered from the PATHS) that the change since `ref` touches."""
    cwd = cwd or Path.cwd()
    loader = Loader(max_file_size)
    root, changed = changed_files(ref, cwd)
    wanted = pulled_in(changed, root, loader)
    by_path = {Path(os.path.abspath(name)).resolve(): name for name in candidates}
    launchers = [path for path in by_path
                 if path not in wanted and format_of(path) in LAUNCHER_FORMATS]
    for path in launchers:
        if referenced_files(path, root, loader) & set(changed):
            wanted.add(path)
    return [name for path, name in by_path.items() if path in wanted]
