"""The github and junit reporters on real engine reports, and the reporter registry."""

from __future__ import annotations

import io
import re
from xml.etree import ElementTree

from helpers import check, read_by_pyyaml
from trainlint.api import Diagnostic, Severity
from trainlint.engine import Report
from trainlint.report import available_formats, render
from trainlint.report.github import annotation
from trainlint.text import Span

BAD = "learning_rate: 1e-4\nnum_train_epochs: 3\n"
ONLY_TL004 = {"select": ["TL004"]}  # counts must not change when other rules are added
ANNOTATION = re.compile(r"^::(error|warning|notice) ((?:[a-zA-Z]+=[^,:]*,)*[a-zA-Z]+=[^,:]*)::(.*)$")


def _render(report, fmt: str) -> str:
    stream = io.StringIO()
    render(report, fmt, stream, color=False)
    return stream.getvalue()


def _diagnostic(message: str, severity=Severity.WARNING, path="dir,with:odd/x.yaml") -> Diagnostic:
    return Diagnostic("TL999", "made-up", severity, message, path, Span(0, 3, 2, 5, 2, 8),
                      url="https://example.com/TL999.md")


def test_every_reporter_module_is_an_output_format():
    assert {"text", "json", "github", "sarif", "junit"} <= set(available_formats())


def test_github_annotations_on_a_real_report(tmp_path):
    (tmp_path / "train.yaml").write_text(BAD)
    read_by_pyyaml(tmp_path, "train.yaml")  # the reader that makes TL004 an error
    report = check(tmp_path / "train.yaml", ONLY_TL004)
    [line] = _render(report, "github").splitlines()
    match = ANNOTATION.match(line)
    assert match, line
    level, properties, message = match.groups()
    fields = dict(field.split("=", 1) for field in properties.split(","))
    assert level == "error"
    assert fields["line"] == "1" and fields["col"] == "16"
    assert fields["endLine"] == "1" and fields["endColumn"] == "20"
    assert fields["file"].endswith("train.yaml")
    assert fields["title"] == "trainlint TL004 (yaml11-float-string)"
    assert message.startswith("TL004 `learning_rate: 1e-4`")
    assert "%0AFix (safe): " in message and "docs/rules/TL004.md" in message


def test_github_escapes_messages_and_properties():
    line = annotation(_diagnostic("100% of\nthe run: a, b"))
    assert "file=dir%2Cwith%3Aodd/x.yaml," in line
    assert line.split("::", 2)[2].startswith("TL999 100%25 of%0Athe run: a, b")
    assert "\n" not in line


def test_github_levels():
    assert annotation(_diagnostic("m", Severity.ERROR)).startswith("::error ")
    assert annotation(_diagnostic("m", Severity.WARNING)).startswith("::warning ")
    assert annotation(_diagnostic("m", Severity.INFO)).startswith("::notice ")


def test_github_reports_internal_errors():
    report = Report(errors=["x.py: internal error in TL999 (made-up): boom"])
    assert _render(report, "github") == \
        "::error title=trainlint internal error::x.py: internal error in TL999 (made-up): boom\n"


def test_junit_one_suite_per_file_and_a_failure_per_finding(tmp_path):
    (tmp_path / "a.yaml").write_text(BAD)
    (tmp_path / "b.yaml").write_text("learning_rate: 2e-5\nweight_decay: 1E-2\n")
    read_by_pyyaml(tmp_path, "a.yaml", "b.yaml")
    report = check(tmp_path, ONLY_TL004)
    report.diagnostics.append(_diagnostic("just so you know", Severity.INFO, str(tmp_path / "c.yaml")))
    root = ElementTree.fromstring(_render(report, "junit"))
    assert root.tag == "testsuites"
    suites = {suite.get("name").rsplit("/", 1)[-1]: suite for suite in root}
    assert set(suites) == {"a.yaml", "b.yaml", "c.yaml"}
    assert (suites["b.yaml"].get("tests"), suites["b.yaml"].get("failures")) == ("2", "2")
    assert (suites["c.yaml"].get("tests"), suites["c.yaml"].get("failures")) == ("1", "0")
    assert root.get("tests") == "4" and root.get("failures") == "3"
    [case] = list(suites["a.yaml"])
    failure = case.find("failure")
    assert case.get("name").startswith("TL004 yaml11-float-string at ")
    assert failure.get("type") == "error" and failure.get("message").startswith("TL004 ")
    assert ":1:16: TL004" in failure.text
    assert suites["c.yaml"].find("testcase/system-out").text.endswith("see https://example.com/TL999.md")


def test_junit_clean_run_is_one_passing_case_and_errors_are_errors():
    root = ElementTree.fromstring(_render(Report(), "junit"))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "0")
    root = ElementTree.fromstring(_render(Report(errors=["x.py: internal error"]), "junit"))
    assert root.get("errors") == "1"
    assert root.find("testsuite/testcase/error").get("message") == "x.py: internal error"
