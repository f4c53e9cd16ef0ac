"""Issue 14 section 1, the mechanism: preview rules run only in preview mode (as in ruff),
`ALL` selects every rule, `trainlint rules` and the doc pages say each rule's status and its
measured precision, and a finding can say how it knows (`basis`, in JSON output)."""

from __future__ import annotations

import io
import json

import pytest

import trainlint.docs as docs
import trainlint.engine as engine
import trainlint.registry as registry
from trainlint import cli
from trainlint.api import ConfigRule, Severity
from trainlint.engine import RunOptions, check_paths
from trainlint.report import render
from trainlint.settings import Settings, validate_table

CONFIG = "lr: 1e-4\nepochs: 3\nbatch_size: 8\n"


class NewIdea(ConfigRule):
    """## What it does
    A test rule in preview: it reports the learning rate of every config.
    """

    code = "TL990"
    name = "new-idea"
    severity = Severity.WARNING
    message = "test rule in preview"
    preview = True
    precision = "50% (2 findings, test corpus)"

    def check_config(self, view):
        value = view.get("optimizer.lr")
        if value is not None:
            yield self.at(value, basis="guessed")


class Established(ConfigRule):
    """## What it does
    A test rule in the default set.
    """

    code = "TL991"
    name = "established"
    severity = Severity.WARNING
    message = "test rule by default"

    def check_config(self, view):
        value = view.get("optimizer.lr")
        if value is not None:
            yield self.at(value, basis="consumer")


@pytest.fixture
def two_rules(monkeypatch, tmp_path):
    rules = (NewIdea, Established)
    monkeypatch.setattr(engine, "all_rules", lambda kinds=None: rules)
    monkeypatch.setattr(docs, "all_rules", lambda kinds=None: rules)
    monkeypatch.setattr(registry, "_declared", lambda: {"TL990": True, "TL991": False})
    path = tmp_path / "train.yaml"
    path.write_text(CONFIG)
    return path


def _codes(path, settings=None, **options) -> list[str]:
    report = check_paths([str(path)], settings or Settings(), RunOptions(**options))
    return sorted({d.code for d in report.diagnostics})


def test_preview_rules_run_only_in_preview_mode(two_rules):
    assert _codes(two_rules) == ["TL991"]
    assert _codes(two_rules, preview=True) == ["TL990", "TL991"]
    assert _codes(two_rules, Settings(preview=True)) == ["TL990", "TL991"]
    assert _codes(two_rules, Settings(preview=True), preview=False) == ["TL991"]


def test_preview_setting_is_read_from_the_settings_file(tmp_path):
    settings = validate_table({"preview": True}, tmp_path / "pyproject.toml")
    assert settings.preview is True
    assert validate_table({"select": ["TL1"]}, tmp_path / "pyproject.toml").preview is False


def test_selecting_a_preview_rule_by_its_code_needs_preview_as_in_ruff(two_rules, capsys):
    assert _codes(two_rules, select=["TL990"]) == []
    assert _codes(two_rules, select=["TL990"], preview=True) == ["TL990"]
    code = cli.main(["check", str(two_rules), "--select", "TL990"])
    err = capsys.readouterr().err
    assert code == 0
    assert "`TL990` is a preview rule: selecting it has no effect without --preview" in err
    assert cli.main(["check", str(two_rules), "--select", "TL990", "--preview"]) == 1
    assert "TL990" in capsys.readouterr().out


def test_all_selects_every_rule_and_preview_ones_in_preview(two_rules):
    assert _codes(two_rules, select=["ALL"]) == ["TL991"]
    assert _codes(two_rules, select=["ALL"], preview=True) == ["TL990", "TL991"]
    assert _codes(two_rules, select=["ALL"], ignore=["TL99"], preview=True) == []
    assert _codes(two_rules, select=["ALL"], ignore=["TL990"], preview=True) == ["TL991"]


def test_rules_lists_status_and_precision(two_rules):
    stream = io.StringIO()
    docs.print_rules("text", stream)
    header, preview_row, default_row = stream.getvalue().splitlines()
    assert header.split()[:6] == ["code", "name", "severity", "fix", "status", "precision"]
    assert preview_row.split()[4] == "preview" and "50% (2 findings, test corpus)" in preview_row
    assert default_row.split()[4:6] == ["default", "-"]
    stream = io.StringIO()
    docs.print_rules("json", stream)
    rows = {row["code"]: row for row in json.loads(stream.getvalue())}
    assert rows["TL990"]["status"] == "preview"
    assert rows["TL990"]["precision"] == "50% (2 findings, test corpus)"
    assert rows["TL991"]["status"] == "default" and rows["TL991"]["precision"] is None


def test_doc_page_states_status_and_precision():
    page = docs.rule_markdown(NewIdea)
    assert "Status: **preview** (runs only with `--preview` or `preview = true`)" in page
    assert "Measured precision: 50% (2 findings, test corpus)" in page
    assert "Status: **default** · Measured precision: not measured yet" in docs.rule_markdown(Established)


def test_shipped_rules_say_their_own_status():
    """Every shipped rule is listed as its class declares; the training-loop rules (TL7xx)
    ship in preview until their corpus precision graduates them."""
    rows = {row["code"]: row["status"] for row in docs.rule_rows()}
    for rule in registry.all_rules():
        assert rows[rule.code] == ("preview" if getattr(rule, "preview", False) else "default")
    assert {code for code, status in rows.items() if status == "preview"} <= {
        f"TL7{number:02d}" for number in range(1, 13)}


def test_json_output_says_how_each_finding_knows(two_rules):
    report = check_paths([str(two_rules)], Settings(), RunOptions(preview=True))
    stream = io.StringIO()
    render(report, "json", stream)
    basis = {finding["code"]: finding["basis"] for finding in json.loads(stream.getvalue())}
    assert basis == {"TL990": "guessed", "TL991": "consumer"}


def test_basis_is_one_of_three_words():
    from trainlint.context import RuleContext

    rule = Established(RuleContext())
    with pytest.raises(ValueError):
        rule.diagnostic("x.yaml", None, basis="hunch")
