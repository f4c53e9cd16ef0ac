"""Engine contracts that no shipped rule can trigger: a fix that would break the file is
refused, and a rule that crashes costs one line and exit 2, not the other files' findings."""

from __future__ import annotations

import io

import trainlint.engine as engine
from trainlint.api import Applicability, DocumentRule, Fix, FixAvailability, ScriptRule, Severity
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


class CountsImports(ScriptRule):
    """A rule that links files: at each script that imports torch, how many of its project's
    scripts do. check_project crashes when told to (a project named `boom`)."""

    code = "TL997"
    name = "counts-imports"
    severity = Severity.INFO
    message = "test rule"
    project_needles = (b"torch",)

    def check_script(self, script):
        return ()

    def project_facts(self, script):
        return script.span(script.tree.body[0])

    def project_files_wanted(self, facts):
        return (b"import torch",)

    def check_project(self, facts):
        if any("boom" in path for path in facts):
            raise ZeroDivisionError("division by zero")
        for path, span in facts.items():
            yield self.diagnostic(path, span, f"{len(facts)} scripts import torch")


def test_facts_of_checked_and_unchecked_files_reach_check_project(tmp_path, monkeypatch):
    _use_rules(monkeypatch, CountsImports)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("import torch\n")
    (tmp_path / "d.py").write_text("import numpy\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "setup.py").write_text("")
    (tmp_path / "nested" / "e.py").write_text("import torch\n")  # another project
    report = check_paths([str(tmp_path / "b.py")], Settings(), RunOptions())
    (finding,) = report.diagnostics  # only the checked file's
    assert (finding.path, finding.message) == (str(tmp_path / "b.py"), "3 scripts import torch")
    assert finding.span.line == 1


def test_a_crash_in_check_project_is_one_error_line(tmp_path, monkeypatch):
    _use_rules(monkeypatch, CountsImports)
    (tmp_path / "boom").mkdir()
    (tmp_path / "boom" / ".git").mkdir()
    (tmp_path / "boom" / "a.py").write_text("import torch\n")
    report = check_paths([str(tmp_path / "boom" / "a.py")], Settings(), RunOptions())
    assert report.diagnostics == []
    assert len(report.errors) == 1 and "internal error in TL997" in report.errors[0]
