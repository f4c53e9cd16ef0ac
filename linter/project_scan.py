"""The Python files of one project, for a rule that needs the rest of the project while a
file is checked (`RuleContext.project_scripts`), and the project folder of a file.

A project is the nearest folder above a file that holds one of PROJECT_MARKERS. This module
imports no rule machinery: the context a rule receives reaches it without an import loop.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlint.discovery import is_test_path, walk_folder
from trainlint.formats.base import ParseError
from trainlint.load import Loader, Unreadable, decode, keep_for_check
from trainlint.parallel import map_scan
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


def project_root(path: str) -> str:
    """The project folder of `path` (see ProjectRoots)."""
    return _ROOTS.of(path)

# (path, modification time, size, analyse) -> what `analyse` found: a file is parsed again
# only when it changed, also across runs in one process.
_ANALYSED: dict[tuple, Any] = {}
# What a project file must hold to be parsed: every byte string of a tuple, a match of a bytes
# pattern, or a predicate on the file's bytes (for an any-of that a pattern makes slow).
Needles = tuple[bytes, ...] | re.Pattern[bytes] | Callable[[bytes], bool]


def scan_project(path: str, needles: Needles, analyse, analyse_text,
                 settings: Settings, cache: dict) -> dict[str, Any]:
    """`analyse(script)` of every Python file of the project of `path` holding all `needles`,
    `analyse_text(text)` of the others (RuleContext.project_scripts); `cache` keeps the answer
    for the run. Test code is read only for test code (or with `include-tests`): a test's
    files are its own, and a large project's tests are many. A large project is read on
    every usable core (what `analyse` returns must then pickle)."""
    root = _ROOTS.of(path)
    tests = reads_tests(settings, root, [path])
    key = (root, tests, needles, analyse, analyse_text)
    if key not in cache:
        stamped = []
        for each in project_files(root, settings, tests, cache):
            try:
                stat = os.stat(each)
            except OSError:
                continue
            if stat.st_size <= settings.max_file_size:
                stamped.append((each, (each, stat.st_mtime_ns, stat.st_size, needles, analyse,
                                       analyse_text)))
        _analyse_new([(each, stamp) for each, stamp in stamped if stamp not in _ANALYSED],
                     Loader(settings.max_file_size), needles, analyse, analyse_text)
        cache[key] = {relative_path(each): _ANALYSED[stamp] for each, stamp in stamped
                      if _ANALYSED[stamp] is not None}
    return cache[key]


def _analyse_new(files: list[tuple[str, tuple]], loader: Loader, needles: Needles, analyse,
                 analyse_text) -> None:
    """Read each file here and test its bytes (cheap), then parse and analyse those that hold
    the needles, on every usable core when they are many bytes (a file's parse is the cost)."""
    holding: dict[str, bytes] = {}
    stamps = dict(files)
    for each, stamp in files:
        try:
            data = loader.read_bytes(each)
        except Unreadable:
            _ANALYSED[stamp] = None
            continue
        if holds(data, needles):
            holding[each] = data
        else:
            _ANALYSED[stamp] = _text_analysed(data, analyse_text)
    parsed = map_scan(lambda each: _script_analysed(loader, each, holding[each], analyse),
                      list(holding), [len(data) for data in holding.values()])
    for each, result in zip(holding, parsed):
        _ANALYSED[stamps[each]] = result


def reads_tests(settings: Settings, root: str, paths: Iterable[str]) -> bool:
    """Whether a scan of the project at `root` for `paths` reads its test code too: with
    `include-tests`, or where one of `paths` is test code itself."""
    return settings.include_tests or any(is_project_test(each, root) for each in paths)


def is_project_test(path: str, root: str) -> bool:
    """Test code (discovery.is_test_path) by the path below the project's root."""
    path = os.path.abspath(path)
    below = path[len(root) + 1:] if path.startswith(root + os.sep) else path
    return is_test_path(below)


def project_files(root: str, settings: Settings, tests: bool, cache: dict) -> list[str]:
    """The Python files of the project at `root`, test code only when `tests`; `cache` keeps
    the walk for the run."""
    if (root, "files") not in cache:
        cache[(root, "files")] = walk_python_files(root, settings)
    if tests:
        return cache[(root, "files")]
    if (root, "files", "no tests") not in cache:
        cache[(root, "files", "no tests")] = [each for each in cache[(root, "files")]
                                              if not is_project_test(each, root)]
    return cache[(root, "files", "no tests")]


def walk_python_files(root: str, settings: Settings) -> list[str]:
    """The Python files of the project at `root` (not those of projects inside it)."""
    return [each for each in walk_folder(Path(root), settings)  # the run's walk of the folder
            if each.endswith(".py") and _ROOTS.of(each) == root]


def holds(data: bytes, needles: Needles) -> bool:
    """Whether a file's bytes hold what `needles` asks for (see Needles)."""
    if isinstance(needles, tuple):
        return all(needle in data for needle in needles)
    if isinstance(needles, re.Pattern):
        return needles.search(data) is not None
    return needles(data)


def analysed(loader: Loader, path: str, needles: Needles, analyse, analyse_text=None) -> Any:
    """`analyse(script)` of the Python file `path` when its bytes hold the needles, else
    `analyse_text(text)` when given; None for a file that cannot be read or parsed (reported
    when that file is checked itself)."""
    try:
        data = loader.read_bytes(path)
    except Unreadable:
        return None
    if not holds(data, needles):
        return _text_analysed(data, analyse_text)
    return _script_analysed(loader, path, data, analyse)


def _text_analysed(data: bytes, analyse_text) -> Any:
    if analyse_text is None:
        return None
    try:
        return analyse_text(decode(data).text)
    except (ParseError, ValueError):
        return None  # reported when that file is checked itself


def _script_analysed(loader: Loader, path: str, data: bytes, analyse) -> Any:
    script = loader.from_bytes(path, data, views=False).script
    if script is None:
        return None  # it cannot be parsed: reported when that file is checked itself
    analysis = analyse(script)
    keep_for_check(script)
    return analysis
