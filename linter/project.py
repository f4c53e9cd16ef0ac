"""Findings that link the files of one project: a `torch.save` in train.py and the
`torch.load` of it in evaluate.py (TL402).

Each checked Python file gives its facts (`ScriptRule.project_facts`), in whichever process
checks it. After every file is checked, the facts are grouped by project, the nearest folder
above a file that holds one of PROJECT_MARKERS, and a rule's `check_project` sees one project
at a time. The project's other Python files are read only when the rule asks for them
(`project_files_wanted`: TL402 has a save of objects and no load among the checked files), and
only those that hold what the rule names (every byte string of a tuple, a match of a pattern,
or a predicate on the bytes: project_scan.Needles) are parsed. Test code is read only where a
checked file with facts is test code, or with `include-tests`. Findings are kept for the
checked files only, as every other finding is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trainlint.api import Diagnostic, ScriptRule
from trainlint.load import Loader
from trainlint.paths import relative_path
from trainlint.project_scan import Needles, ProjectRoots, analysed, project_files, reads_tests
from trainlint.running import facts_of, run_rule

if TYPE_CHECKING:
    from trainlint.settings import Settings


def project_findings(rules: Iterable[ScriptRule], facts_by_file: dict[str, dict[str, Any]],
                     checked: Iterable[str], settings: Settings, errors: list[str]) -> list[Diagnostic]:
    """`facts_by_file`: path -> {rule code: facts}. A rule's failure becomes a line in `errors`."""
    roots = ProjectRoots()
    files_by_root: dict[str, list[str]] = {}
    for path in facts_by_file:
        files_by_root.setdefault(roots.of(path), []).append(path)
    checked_files = {os.path.abspath(path) for path in checked}
    walks: dict = {}  # each project walked once for every rule
    found: list[Diagnostic] = []
    for rule in rules:
        for root, paths in files_by_root.items():
            facts = {path: facts_by_file[path][rule.code] for path in paths
                     if rule.code in facts_by_file[path]}
            if not facts:
                continue
            needles = rule.project_files_wanted(facts)
            if needles is not None:
                tests = reads_tests(settings, root, facts)
                unchecked = [path for path in project_files(root, settings, tests, walks)
                             if os.path.abspath(path) not in checked_files]
                facts.update(_facts_elsewhere(rule, needles, unchecked, settings, errors))
            from_rule: list[Diagnostic] = []
            run_rule(rule, rule.check_project, (facts,), from_rule, errors, root)
            found.extend(d for d in from_rule if os.path.abspath(d.path) in checked_files)
    return found


def _facts_elsewhere(rule: ScriptRule, needles: Needles, unchecked: list[str],
                     settings: Settings, errors: list[str]) -> dict[str, Any]:
    """The facts of the project's Python files that were not checked in this run."""
    loader = Loader(settings.max_file_size)
    facts: dict[str, Any] = {}
    for path in unchecked:
        fact = analysed(loader, path, needles, lambda script: facts_of(rule, script, errors))
        if fact is not None:
            facts[relative_path(path)] = fact
    return facts
