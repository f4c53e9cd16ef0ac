"""The Python files of one project, for a rule that needs the rest of the project while a
file is checked (`RuleContext.project_scripts`), and the project folder of a file.

A project is the nearest folder above a file that holds one of PROJECT_MARKERS. This module
imports no rule machinery: the context a rule receives reaches it without an import loop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlint.discovery import walk_folder
from trainlint.formats.base import ParseError
from trainlint.load import Loader, Unreadable, decode
from trainlint.paths import relative_path

if TYPE_CHECKING:
    from trainlint.settings import Settings

# A folder with its own requirements.txt is installed and run on its own (an example of a
# collection such as pytorch/examples): its scripts are not linked to their neighbours'.
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "trainlint.toml", ".git",
                   "requirements.txt")

class ProjectRoots:
    """The project folder of a file, with each folder looked at once per run."""

    def __init__(self) -> None:
        self._root_of_folder: dict[str, str] = {}

    def of(self, path: str) -> str:
        start = os.path.dirname(os.path.abspath(path))
        folder, walked = start, []
        while folder not in self._root_of_folder:
            walked.append(folder)
            if any(os.path.exists(os.path.join(folder, marker)) for marker in PROJECT_MARKERS):
                root = folder
                break
            parent = os.path.dirname(folder)
            if parent == folder:
                root = start  # no marker up to the file system root: the file's own folder
                break
            folder = parent
        else:
            root = self._root_of_folder[folder]
        for each in walked:
            self._root_of_folder[each] = root
        return root


_ROOTS = ProjectRoots()
# (path, modification time, size, analyse) -> what `analyse` found: a file is parsed again
# only when it changed, also across runs in one process.
_ANALYSED: dict[tuple, Any] = {}


def scan_project(path: str, needles, analyse, analyse_text,
                 settings: Settings, cache: dict) -> dict[str, Any]:
    """`analyse(script)` of every Python file of the project of `path` holding all `needles`,
    `analyse_text(text)` of the others (RuleContext.project_scripts); `cache` keeps the answer
    for the run."""
    root = _ROOTS.of(path)
    key = (root, needles, analyse, analyse_text)
    if key not in cache:
        loader = Loader(settings.max_file_size)
        found: dict[str, Any] = {}
        if (root, "files") not in cache:
            cache[(root, "files")] = walk_python_files(root, settings)
        for each in cache[(root, "files")]:
            try:
                stat = os.stat(each)
            except OSError:
                continue
            if stat.st_size > settings.max_file_size:
                continue
            stamp = (each, stat.st_mtime_ns, stat.st_size, needles, analyse, analyse_text)
            if stamp not in _ANALYSED:
                _ANALYSED[stamp] = analysed(loader, each, needles, analyse, analyse_text)
            if _ANALYSED[stamp] is not None:
                found[relative_path(each)] = _ANALYSED[stamp]
        cache[key] = found
    return cache[key]


def walk_python_files(root: str, settings: Settings) -> list[str]:
    """The Python files of the project at `root` (not those of projects inside it)."""
    return [each for each in walk_folder(Path(root), settings, lambda p: p.suffix == ".py")
            if _ROOTS.of(each) == root]


def analysed(loader: Loader, path: str, needles, analyse, analyse_text=None) -> Any:
    """`analyse(script)` of the Python file `path` when its bytes hold every needle (or match
    the bytes pattern), else `analyse_text(text)` when given; None for a file that cannot be
    read or parsed (reported when that file is checked itself)."""
    try:
        data = loader.read_bytes(path)
    except Unreadable:
        return None
    if isinstance(needles, tuple):
        parse = all(needle in data for needle in needles)
    else:
        parse = needles.search(data) is not None
    if not parse:
        if analyse_text is None:
            return None
        try:
            return analyse_text(decode(data).text)
        except (ParseError, ValueError):
            return None  # reported when that file is checked itself
    script = loader.from_bytes(path, data, views=False).script
    if script is None:
        return None  # it cannot be parsed: reported when that file is checked itself
    return analyse(script)
