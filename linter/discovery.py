"""Which files a check reads: the paths given, folders walked.

Explicit files are always checked; folders are walked with `.gitignore`d paths, `exclude`
patterns, version-control, virtualenv, build and cache folders skipped, and only files of a
format trainlint reads (trainlint.formats.base.FORMAT_BY_SUFFIX) are listed. Used by the
engine, `--since` and the project scan of the rules that link files (trainlint.project).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlint.formats.base import format_of
from trainlint.paths import display_path

if TYPE_CHECKING:
    from trainlint.settings import Settings

NOT_TRAINING_CONFIGS = {"pyproject.toml", "package.json", "package-lock.json", "tsconfig.json",
                        ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "trainlint.toml",
                        ".devcontainer.json", "devcontainer.json"}
SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox",
                ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "build",
                "dist", "site-packages", ".eggs", ".ipynb_checkpoints", "wandb", "mlruns"}
# Folders that never hold a training setup: editor and dev-container settings (JSON with
# comments, JSONC, for VS Code) and a repository's automation (CI workflows, issue templates,
# link-checker and bot settings). Skipped while walking, with a note (`--verbose`).
NOT_TRAINING_DIRS = {".devcontainer": "dev-container settings, JSONC",
                     ".vscode": "editor settings, JSONC",
                     ".github": "repository automation: CI workflows, templates, bot settings"}


def discover(paths: Iterable[str], settings: Settings,
             errors: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Files to check (explicit files always; folders walked) and skip notes. A path that
    does not exist, a dangling link or a link loop is an error (as in ruff): a CI gate with
    a typo in its path must not pass."""
    files: list[str] = []
    notes: list[str] = []
    errors = notes if errors is None else errors
    _WALKS.clear()  # a run's walks are its own: files change between runs in one process
    for given in paths:
        try:
            mode = os.stat(given).st_mode  # one call: a pre-commit run names hundreds of files
        except OSError as exc:
            errors.append(_missing_path(given, exc))
            continue
        if stat.S_ISDIR(mode):
            files.extend(walk_folder(Path(given), settings, errors=errors, skipped=notes))
        elif stat.S_ISREG(mode):
            files.append(given)
        else:
            errors.append(f"{given}: not a regular file or folder; trainlint reads neither FIFOs "
                          "nor devices")
    return files, notes


def _missing_path(given: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{given}: symbolic link loop"
    if os.path.islink(given):
        return f"{given}: dangling symbolic link (to {os.readlink(given)})"
    return f"{given}: {exc.strerror or 'cannot be read'}"


# The folders a run walked whole, by their resolved path: (the run's settings, the paths of
# the files below the folder). A project scan or the consumers' scan of a folder the check
# already walked reads this list instead of walking it again (Megatron-LM: three walks of
# 0.2 s each before the check began). `discover` starts a run with none.
_WALKS: dict[str, tuple[Any, list[str]]] = {}


def walk_folder(root: Path, settings: Settings, wanted=None,
                errors: list[str] | None = None,
                skipped: list[str] | None = None) -> Iterator[str]:
    """The files a check of the folder reads; with `wanted(path)`, only those it accepts.
    Iterative, so that a tree thousands of folders deep is walked like any other; a folder
    that cannot be listed, or an ignore pattern that cannot be read, is one line in `errors`;
    a folder skipped as never a training setup (NOT_TRAINING_DIRS) is one line in `skipped`.
    Links to folders are not followed (as `os.walk`). A folder walked whole before in the
    run, or lying in one (a project inside the checked folder), is listed from that walk."""
    walked = _walked_before(root, settings)
    if walked is not None:
        start = str(root)
        for below in walked:
            candidate = _child(start, below)
            if wanted is None or wanted(Path(candidate)):
                yield candidate
        return
    found: list[str] | None = [] if wanted is None else None
    for below, candidate in _walk(root, settings, wanted, errors, skipped):
        if found is not None:
            found.append(below)
        yield candidate
    if found is not None:
        _WALKS[str(_resolved(root))] = (settings, found)


def _child(folder: str, name: str) -> str:
    """`str(Path(folder) / name)` without making Paths (a third of a walk's time): `folder`
    as str() of a Path gives it (no trailing slash but the root's, "." for the current
    folder)."""
    if folder == ".":
        return name
    return folder + name if folder.endswith("/") else f"{folder}/{name}"


def _walked_before(root: Path, settings: Settings) -> list[str] | None:
    """The files below `root` (paths under it) from a whole walk of the run: of `root`
    itself, or of a folder above it where the walk reached `root` (it lists a file there) and
    `exclude` is anchored the same way (settings.root set, or no exclude)."""
    if not _WALKS:
        return None
    resolved = str(_resolved(root))
    known = _WALKS.get(resolved)
    if known is not None:
        return known[1] if known[0] is settings else None
    if settings.exclude and settings.root is None:
        return None
    for folder, (walk_settings, files) in _WALKS.items():
        if walk_settings is not settings or not resolved.startswith(folder.rstrip("/") + "/"):
            continue
        prefix = resolved[len(folder.rstrip("/")) + 1:] + "/"
        below = [path[len(prefix):] for path in files if path.startswith(prefix)]
        return below or None  # nothing there: a folder the walk skipped, or no files; walk it
    return None


def _walk(root: Path, settings: Settings, wanted, errors: list[str] | None,
          skipped: list[str] | None) -> Iterator[tuple[str, str]]:
    """(path below the root, path) of each file the walk keeps."""
    ignore = _IgnoreRules(root, settings, errors)
    stack: list[tuple[str, str]] = [(str(root), "")]  # a folder, and its path below the root
    while stack:
        folder, below = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            if errors is not None:
                errors.append(f"{folder}: cannot list the folder ({exc.strerror or exc})")
            continue
        if any(entry.name == ".gitignore" for entry in entries):
            ignore.read_gitignore(Path(folder))
        subfolders = []
        for entry in entries:
            name = entry.name
            candidate = _child(folder, name)
            if _is_folder(entry):
                if name in NOT_TRAINING_DIRS:
                    if skipped is not None:
                        skipped.append(f"{candidate}: skipped ({NOT_TRAINING_DIRS[name]}; "
                                       "not a training setup)")
                    continue
                if (name not in SKIPPED_DIRS and not name.endswith(".egg-info")
                        and not entry.is_symlink()
                        and not os.path.exists(f"{candidate}/pyvenv.cfg")
                        and not ignore(below + name, True)):
                    subfolders.append((candidate, f"{below}{name}/"))
            elif format_of(name) is not None and name not in NOT_TRAINING_CONFIGS:
                if (wanted is None or wanted(Path(candidate))) and not ignore(below + name, False):
                    yield below + name, candidate
        stack.extend(reversed(subfolders))


TEST_FOLDERS = frozenset({"tests", "test"})


def is_test_path(path: str, root: Path | None = None) -> bool:
    """Whether a file is test code: under a `tests/` or `test/` folder (below `root`, the
    project's root, when the path lies there), or a `test_*.py` / `*_test.py` module.
    Test fixtures hold deliberately odd configs and scripts; their findings are info unless
    `include-tests`."""
    name = os.path.basename(path)
    if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
        return True
    folders = Path(path).parent
    if root is not None and folders.is_absolute():
        try:
            folders = folders.relative_to(_resolved(root))
        except ValueError:
            pass
    return any(part in TEST_FOLDERS for part in folders.parts)


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class _IgnoreRules:
    """`.gitignore` files (those of the folders above the walk up to the repository's root,
    read at the first path that needs them, and those met while walking) and `exclude`.
    pathspec (5 ms to import) is imported only when there is a pattern. A `.gitignore`
    pattern that cannot be compiled (`[z-a]`) is one line in `errors`; the others apply."""

    def __init__(self, root: Path, settings: Settings, errors: list[str] | None) -> None:
        self.root = root
        self.settings = settings
        self.errors = errors
        self.specs: list[tuple[str, Any]] | None = None  # (folder, spec), read on first use
        self.base = str(_resolved(root))  # the walk's root, links resolved
        self.pending: list[Path] = []  # folders met while walking whose .gitignore is unread
        self.excluded: Any = None

    def read_gitignore(self, folder: Path) -> None:
        self.pending.append(folder)

    def _start(self) -> None:
        self.specs = []
        above = []
        resolved = _resolved(self.root)
        for folder in (resolved, *resolved.parents):
            if (folder / ".gitignore").is_file():
                above.append(folder)
            if (folder / ".git").exists():
                break
        for folder in above:
            self._add(folder)
        if self.settings.exclude:
            self.excluded = _spec(self.settings.exclude)

    def _add(self, folder: Path) -> None:
        folder = _resolved(folder)
        if any(known == str(folder) for known, _ in self.specs):
            return
        try:
            lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        spec = _spec(lines, folder / ".gitignore", self.errors)
        if spec is not None:
            self.specs.append((str(folder), spec))

    def __call__(self, below: str, is_dir: bool) -> bool:
        """Whether the walk skips the file or folder at `below` (its path under the walk's
        root, as git sees it in the work tree: a link is matched where it is, not where it
        points)."""
        if self.specs is None:
            self._start()
        while self.pending:
            self._add(self.pending.pop())
        if not self.specs and self.excluded is None:
            return False
        absolute = f"{self.base}/{below}" if self.base != "/" else f"/{below}"
        suffix = "/" if is_dir else ""
        for folder, spec in self.specs:
            if folder == "/":
                relative = absolute[1:]
            elif absolute.startswith(folder) and absolute[len(folder):len(folder) + 1] == "/":
                relative = absolute[len(folder) + 1:]
            else:
                continue
            if spec.match_file(relative + suffix):
                return True
        if self.excluded is not None:
            anchor = str(_resolved(self.settings.root or self.root))
            if anchor == "/":
                relative = absolute[1:]
            elif absolute.startswith(anchor + "/"):
                relative = absolute[len(anchor) + 1:]
            else:
                relative = str(self.root / below)
            return self.excluded.match_file(relative + suffix)
        return False


def _resolved(path: Path) -> Path:
    """The absolute path with links resolved; never raises (a link loop stays as it is)."""
    return Path(os.path.realpath(path))


def _spec(lines: list[str], source: Path | None = None, errors: list[str] | None = None):
    """A gitignore-style matcher of `lines`; with `source`, a pattern that cannot be compiled
    is reported in `errors` and left out (git matches nothing with it either)."""
    import pathspec  # 5 ms: only where an ignore file or `exclude` exists

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, re.error):
        if source is None:
            raise
    kept = []
    for number, line in enumerate(lines, 1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error) as exc:
            if errors is not None:
                errors.append(f"{display_path(str(source))}:{number}: pattern `{line.strip()}` "
                              f"cannot be read ({_pattern_error(exc)}); it is left out")
            continue
        kept.append(line)
    return pathspec.GitIgnoreSpec.from_lines(kept) if kept else None


def _pattern_error(exc: Exception) -> str:
    message = getattr(exc, "msg", None) or str(exc)
    return message.split(" at position")[0]
