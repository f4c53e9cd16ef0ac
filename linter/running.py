"""Calling rules: the one place where a rule's failure is contained, shared by the engine and
the project scan (trainlint.project), and where problems the readers report as data become
findings through the rules that own them."""

from __future__ import annotations

from typing import Any

from trainlint.api import LaunchRule, ParseErrorRule, Rule, ScriptRule
from trainlint.formats.base import SyntaxProblem
from trainlint.records import Diagnostic


def run_rule(rule: Rule, method, args: tuple, sink: list[Diagnostic], errors: list[str],
             path: str) -> None:
    """Run one rule check; a rule bug becomes one error line, not a lost report."""
    try:
        results = list(method(*args) or ())  # all or nothing: no half a rule's findings
    except Exception as exc:  # noqa: BLE001 - any rule bug, reported and contained
        errors.append(f"{path}: internal error in {rule.code} ({rule.name}): "
                      f"{type(exc).__name__}: {exc}")
        return
    sink.extend(results)


def facts_of(rule: ScriptRule, script, errors: list[str]) -> Any:
    """What a script tells its project for one rule, or None (also when the rule fails)."""
    found: list[Any] = []
    run_rule(rule, lambda each: [rule.project_facts(each)], (script,), found, errors, script.path)
    return found[0] if found else None


def problem_findings(problems: list, parse_error: list[ParseErrorRule], launch: list[LaunchRule],
                     errors: list[str], path: str) -> list[Diagnostic]:
    """The findings of the problems a launcher's reading reports, in their order, each once:
    a place that cannot be read (SyntaxProblem) goes to the parse-error rule (TL001), an
    argument argparse rejects (trainlint.launch_arguments.ArgumentProblem) to the launch rules."""
    found: list[Diagnostic] = []
    for problem in problems:
        if isinstance(problem, SyntaxProblem):
            for rule in parse_error:
                run_rule(rule, lambda p: [rule.check_parse_error(p.path, p.message, p.span)],
                         (problem,), found, errors, path)
        else:
            for rule in launch:
                run_rule(rule, rule.check_argument, (problem,), found, errors, path)
    unique: list[Diagnostic] = []
    seen: set[tuple] = set()
    for diagnostic in found:
        key = (diagnostic.code, diagnostic.path, diagnostic.span.start, diagnostic.message)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)
    return unique
