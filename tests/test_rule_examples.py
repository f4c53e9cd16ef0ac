"""Every rule's own `bad` and `good` examples, run through the real engine on real files."""

from __future__ import annotations

import pytest

from helpers import check, codes
from trainlint.api import FixAvailability, ProbeRule
from trainlint.registry import all_rules

STATIC_RULES = [rule for rule in all_rules() if not issubclass(rule, ProbeRule)]
BAD = [(rule, i, example) for rule in STATIC_RULES for i, example in enumerate(rule.bad)]
GOOD = [(rule, i, example) for rule in STATIC_RULES for i, example in enumerate(rule.good)]


def _write(tmp_path, example):
    path = tmp_path / example.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(example.source.encode("utf-8"))
    return path


@pytest.mark.parametrize("rule", STATIC_RULES, ids=lambda rule: rule.code)
def test_rule_has_examples_and_docs(rule):
    assert rule.bad, f"{rule.code} has no bad example"
    assert rule.good, f"{rule.code} has no good example"
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead",
                    "## Fix safety", "## Options", "## Source"):
        assert section in (rule.__doc__ or ""), f"{rule.code} docstring lacks {section}"


@pytest.mark.parametrize("rule,i,example", BAD, ids=lambda v: getattr(v, "code", str(v)) if not hasattr(v, "source") else v.filename)
def test_bad_example_fires(tmp_path, rule, i, example):
    path = _write(tmp_path, example)
    report = check(path, example.settings or None, select=[rule.code], preview=True)
    assert rule.code in codes(report), f"{rule.code} bad[{i}] did not fire: {codes(report)}"
    if example.fixed is not None:
        fixed = check(path, example.settings or None, select=[rule.code], fix=True, preview=True,
                      unsafe_fixes=example.unsafe)
        assert path.read_text(encoding="utf-8") == example.fixed
        assert fixed.fixed >= 1
        again = check(path, example.settings or None, select=[rule.code], fix=True, preview=True,
                      unsafe_fixes=example.unsafe)
        assert again.fixed == 0, "a second --fix changed the file again"
        assert path.read_text(encoding="utf-8") == example.fixed


@pytest.mark.parametrize("rule,i,example", GOOD, ids=lambda v: getattr(v, "code", str(v)) if not hasattr(v, "source") else v.filename)
def test_good_example_is_quiet(tmp_path, rule, i, example):
    path = _write(tmp_path, example)
    report = check(path, example.settings or None, select=[rule.code], preview=True)
    assert rule.code not in codes(report), f"{rule.code} good[{i}] fired: {report.diagnostics}"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_a_rule_that_fixes_says_what_its_fix_does(rule):
    """`fix_title` (shown on the rule's page and by `trainlint rules`) is set exactly when the
    rule can fix, and starts lowercase as the other titles do."""
    fixes = rule.fix_availability is not FixAvailability.NONE
    assert bool(rule.fix_title) == fixes, f"{rule.code}: fix_title {rule.fix_title!r}"
    assert not rule.fix_title or rule.fix_title[0].islower()


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_every_rule_module_has_a_docstring(rule):
    """The module's docstring is its one line of what the module holds; the class docstring
    is the rule's page."""
    import sys

    assert (sys.modules[rule.__module__].__doc__ or "").strip(), rule.__module__


@pytest.mark.parametrize("rule", STATIC_RULES, ids=lambda rule: rule.code)
def test_declared_fixability_matches_examples(tmp_path, rule):
    """A rule that declares no fix emits none; one that declares fixes shows one in an example."""
    emitted = False
    for example in rule.bad:
        path = _write(tmp_path, example)
        report = check(path, example.settings or None, select=[rule.code], preview=True)
        fixes = [d.fix for d in report.diagnostics if d.code == rule.code and d.fix is not None]
        if rule.fix_availability is FixAvailability.NONE:
            assert not fixes, f"{rule.code} declares no fix but emitted one"
        emitted = emitted or bool(fixes)
    if rule.fix_availability is FixAvailability.ALWAYS:
        assert emitted, f"{rule.code} declares fixes but no bad example gets one"
