"""Which files a check reads: the paths given, folders walked.

Explicit files are always checked; folders are walked with `.gitignore`d paths, `exclude`
patterns, version-control, virtualenv, build and cache folders skipped, and only files of a
format trainlint reads (trainlint.formats.base.FORMAT_BY_SUFFIX) are listed. Used by the
engine, `--since` and the project scan of the rules that link files (trainlint.project).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from trainlint.formats.base import format_of

if TYPE_CHECKING:
    from trainlint.settings import Settings

NOT_TRAINING_CONFIGS = {"pyproject.toml", "package.json", "package-lock.json", "tsconfig.json",
                        ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "trainlint.toml"}
SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox",
                ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "build",
                "dist", "site-packages", ".eggs", ".ipynb_checkpoints", "wandb", "mlruns"}


def discover(paths: Iterable[str], settings: Settings,
             errors: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Files to check (explicit files always; folders walked) and skip notes. A named path that
    is no regular file or folder (a FIFO, a device, a link to one) is an error in `errors`
    (a note without it): it is never read."""
    files: list[str] = []
    notes: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            files.append(given)
        elif path.is_dir():
            files.extend(walk_folder(path, settings))
        elif path.exists():
            message = f"{given}: not a regular file or folder; trainlint reads neither FIFOs nor devices"
            (errors if errors is not None else notes).append(message)
        else:
            notes.append(f"{given}: no such file or directory")
    return files, notes


def walk_folder(root: Path, settings: Settings, wanted=None) -> Iterator[str]:
    """The files a check of the folder reads; with `wanted(path)`, only those it accepts. The
    ignore files are read at the first path that needs them."""
    ignore = _lazy_ignore_matcher(root, settings)
    for folder, dirs, names in os.walk(root):
        base = Path(folder)
        dirs[:] = sorted(
            d for d in dirs
            if d not in SKIPPED_DIRS and not d.endswith(".egg-info")
            and not (base / d / "pyvenv.cfg").exists() and not ignore(base / d, True)
        )
        for name in sorted(names):
            if format_of(name) is not None and name not in NOT_TRAINING_CONFIGS:
                candidate = base / name
                if (wanted is None or wanted(candidate)) and not ignore(candidate, False):
                    yield str(candidate)


def _lazy_ignore_matcher(root: Path, settings: Settings):
    matcher = None

    def ignored(path: Path, is_dir: bool) -> bool:
        nonlocal matcher
        if matcher is None:
            matcher = _ignore_matcher(root, settings)  # may import pathspec: 5 ms
        return matcher(path, is_dir)

    return ignored


def _ignore_matcher(root: Path, settings: Settings):
    patterns = list(settings.exclude)
    gitignores = []
    for folder in (root.resolve(), *root.resolve().parents):
        if (folder / ".gitignore").is_file():
            gitignores.append(folder)
        if (folder / ".git").exists():
            break
    if not patterns and not gitignores and not any(root.rglob(".gitignore")):
        return lambda path, is_dir: False
    import pathspec  # 5 ms: only where an ignore file or `exclude` exists

    specs = []
    for folder in gitignores:
        lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
        specs.append((folder, pathspec.GitIgnoreSpec.from_lines(lines)))
    for nested in root.rglob(".gitignore"):
        if nested.parent.resolve() not in gitignores:
            lines = nested.read_text(encoding="utf-8", errors="replace").splitlines()
            specs.append((nested.parent.resolve(), pathspec.GitIgnoreSpec.from_lines(lines)))
    excluded = pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None
    anchor = (settings.root or root).resolve()

    def ignored(path: Path, is_dir: bool) -> bool:
        absolute = path.resolve()
        for folder, spec in specs:
            try:
                relative = absolute.relative_to(folder).as_posix()
            except ValueError:
                continue
            if spec.match_file(relative + ("/" if is_dir else "")):
                return True
        if excluded is not None:
            try:
                relative = absolute.relative_to(anchor).as_posix()
            except ValueError:
                relative = path.as_posix()
            return excluded.match_file(relative + ("/" if is_dir else ""))
        return False

    return ignored
