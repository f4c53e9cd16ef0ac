"""Engine contracts that no shipped rule can trigger: a fix that would break the file is
refused, and a rule that crashes costs one line and exit 2, not the other files' findings."""

from __future__ import annotations

import io

import trainlint.engine as engine
from trainlint.api import Applicability, DocumentRule, Fix, FixAvailability, Severity
from trainlint.engine import RunOptions, check_paths
from trainlint.report import render
from trainlint.settings import Settings


class BreaksTheFile(DocumentRule):
    """A rule whose fix would leave invalid YAML."""

    code = "TL998"
    name = "breaks-the-file"
    severity = Severity.WARNING
    fix_availability = FixAvailability.ALWAYS
    message = "test rule"
    formats = frozenset({"yaml"})

    def check_document(self, doc):
        for entry in doc.entries:
            if entry.key == "lr":
                yield self.at(entry, fix=Fix.replace(entry.span, "[0.1", "break it", Applicability.SAFE))


class Crashes(DocumentRule):
    code = "TL999"
    name = "crashes"
    severity = Severity.WARNING
    message = "test rule"
    formats = frozenset({"yaml"})

    def check_document(self, doc):
        if doc.path.endswith("boom.yaml"):
            raise ZeroDivisionError("division by zero")
        return ()


def _use_rules(monkeypatch, *rules):
    monkeypatch.setattr(engine, "all_rules", lambda kinds=None: rules)


CONFIG = "# keep me\nlr: 0.1   # comment\nepochs: 10\nbatch_size: 8\n"


def test_a_fix_that_would_not_parse_is_refused(tmp_path, monkeypatch):
    _use_rules(monkeypatch, BreaksTheFile)
    path = tmp_path / "train.yaml"
    path.write_text(CONFIG)
    report = check_paths([str(path)], Settings(), RunOptions(fix=True))
    assert path.read_text() == CONFIG
    assert report.fixed == 0
    assert any("fix refused (TL998): the result would not parse" in note for note in report.notes)
    assert [d.code for d in report.diagnostics] == ["TL998"]


def test_a_crashing_rule_is_one_line_and_exit_2(tmp_path, monkeypatch):
    from trainlint.registry import all_rules

    shipped = all_rules()
    _use_rules(monkeypatch, Crashes, *shipped)
    (tmp_path / "boom.yaml").write_text(CONFIG)
    (tmp_path / "fine.yaml").write_text("lr: 1e-4\nepochs: 10\nbatch_size: 8\n")
    report = check_paths([str(tmp_path)], Settings(), RunOptions(select=["TL0", "TL999"]))
    assert report.exit_code == 2
    assert len(report.errors) == 1
    assert "boom.yaml: internal error in TL999 (crashes): ZeroDivisionError" in report.errors[0]
    assert [d.code for d in report.diagnostics] == ["TL004"]  # the other file is still checked
    stream = io.StringIO()
    render(report, "text", stream, color=False)
    assert "error: " in stream.getvalue() and "TL004" in stream.getvalue()
