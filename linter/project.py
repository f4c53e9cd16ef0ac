"""Findings that link the files of one project: a `torch.save` in train.py and the
`torch.load` of it in evaluate.py (TL402).

Each checked Python file gives its facts (`ScriptRule.project_facts`), in whichever process
checks it. After every file is checked, the facts are grouped by project, the nearest folder
above a file that holds one of PROJECT_MARKERS, and a rule's `check_project` sees one project
at a time. The project's other Python files are read only when the rule asks for them
(`project_files_wanted`: TL402 has a save of objects and no load among the checked files), and
only those that contain every byte string the rule names are parsed. Findings are kept for
the checked files only, as every other finding is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlint.api import Diagnostic, ScriptRule

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


def project_findings(rules: Iterable[ScriptRule], facts_by_file: dict[str, dict[str, Any]],
                     checked: Iterable[str], settings: Settings, errors: list[str]) -> list[Diagnostic]:
    """`facts_by_file`: path -> {rule code: facts}. A rule's failure becomes a line in `errors`."""
    from trainlint.engine import run_rule

    roots = ProjectRoots()
    files_by_root: dict[str, list[str]] = {}
    for path in facts_by_file:
        files_by_root.setdefault(roots.of(path), []).append(path)
    checked_files = {os.path.abspath(path) for path in checked}
    found: list[Diagnostic] = []
    for rule in rules:
        for root, paths in files_by_root.items():
            facts = {path: facts_by_file[path][rule.code] for path in paths
                     if rule.code in facts_by_file[path]}
            if not facts:
                continue
            needles = rule.project_files_wanted(facts)
            if needles is not None:
                facts.update(_facts_elsewhere(rule, needles, root, roots, checked_files,
                                              settings, errors))
            from_rule: list[Diagnostic] = []
            run_rule(rule, rule.check_project, (facts,), from_rule, errors, root)
            found.extend(d for d in from_rule if os.path.abspath(d.path) in checked_files)
    return found


def _facts_elsewhere(rule: ScriptRule, needles: tuple[bytes, ...], root: str, roots: ProjectRoots,
                     checked_files: set[str], settings: Settings, errors: list[str]) -> dict[str, Any]:
    """The facts of the project's Python files that were not checked in this run."""
    from trainlint.engine import decode, facts_of, walk_folder
    from trainlint.formats.base import ParseError
    from trainlint.script import ParsedScript

    def unchecked_script(path: Path) -> bool:
        return path.suffix == ".py" and os.path.abspath(path) not in checked_files

    facts: dict[str, Any] = {}
    for path in walk_folder(Path(root), settings, unchecked_script):
        if roots.of(path) != root:
            continue  # a project of its own inside this one
        try:
            if os.path.getsize(path) > settings.max_file_size:
                continue
            data = Path(path).read_bytes()
        except OSError:
            continue
        if not all(needle in data for needle in needles):
            continue
        try:
            text, _, _ = decode(data)
            script = ParsedScript.parse(path, text)
        except (ParseError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # reported when that file is checked itself
        fact = facts_of(rule, script, errors)
        if fact is not None:
            facts[_shown(path)] = fact
    return facts


def _shown(path: str) -> str:
    """A path as a user would type it here: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


_ROOTS = ProjectRoots()
# (path, modification time, size, analyse) -> what `analyse` found: a file is parsed again
# only when it changed, also across runs in one process.
_ANALYSED: dict[tuple, Any] = {}


def scan_project(path: str, needles, analyse, analyse_text,
                 settings: Settings | None, cache: dict) -> dict[str, Any]:
    """`analyse(script)` of every Python file of the project of `path` holding all `needles`,
    `analyse_text(text)` of the others (RuleContext.project_scripts); `cache` keeps the answer
    for the run."""
    root = _ROOTS.of(path)
    key = (root, needles, analyse, analyse_text)
    if key not in cache:
        from trainlint.settings import Settings

        settings = settings or Settings()
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
                _ANALYSED[stamp] = _analysed(each, needles, analyse, analyse_text)
            if _ANALYSED[stamp] is not None:
                found[_shown(each)] = _ANALYSED[stamp]
        cache[key] = found
    return cache[key]


def walk_python_files(root: str, settings: Settings) -> list[str]:
    """The Python files of the project at `root` (not those of projects inside it)."""
    from trainlint.engine import walk_folder

    return [each for each in walk_folder(Path(root), settings, lambda p: p.suffix == ".py")
            if _ROOTS.of(each) == root]


def _analysed(path: str, needles, analyse, analyse_text) -> Any:
    from trainlint.engine import decode
    from trainlint.formats.base import ParseError
    from trainlint.script import ParsedScript

    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if isinstance(needles, tuple):
        parse = all(needle in data for needle in needles)
    else:
        parse = needles.search(data) is not None
    if not parse and analyse_text is None:
        return None
    try:
        text, _, _ = decode(data)
        if not parse:
            return analyse_text(text)
        script = ParsedScript.parse(path, text)
    except (ParseError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # reported when that file is checked itself
    return analyse(script)
