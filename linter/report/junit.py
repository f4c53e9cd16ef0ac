"""JUnit XML: one test suite per file with findings, one failing test case per finding.

Errors and warnings are failures; info findings are passing test cases whose text is in
`system-out`. A clean run is one passing test case, so CI test views show a green check.
"""

from __future__ import annotations

from itertools import groupby
from xml.etree import ElementTree

from trainlint.api import Diagnostic
from trainlint.report.common import display_path


def _testcase(diagnostic: Diagnostic, filename: str) -> ElementTree.Element:
    span = diagnostic.span
    case = ElementTree.Element("testcase", {
        "name": f"{diagnostic.code} {diagnostic.name} at {filename}:{span.line}:{span.col}",
        "classname": filename, "file": filename, "line": str(span.line),
    })
    text = f"{filename}:{span.line}:{span.col}: {diagnostic.code} {diagnostic.message}"
    if diagnostic.fix is not None:
        text += f"\nfix ({diagnostic.fix.applicability.value}): {diagnostic.fix.message}"
    if diagnostic.url:
        text += f"\nsee {diagnostic.url}"
    if diagnostic.severity.value == "info":
        ElementTree.SubElement(case, "system-out").text = text
    else:
        failure = ElementTree.SubElement(case, "failure", {
            "message": f"{diagnostic.code} {diagnostic.message}", "type": diagnostic.severity.value})
        failure.text = text
    return case


def junit_tree(report) -> ElementTree.Element:
    root = ElementTree.Element("testsuites", {"name": "trainlint"})
    by_file = groupby(report.diagnostics, key=lambda d: display_path(d.path))
    for filename, diagnostics in by_file:
        cases = [_testcase(d, filename) for d in diagnostics]
        failures = sum(1 for case in cases if case.find("failure") is not None)
        suite = ElementTree.SubElement(root, "testsuite", {
            "name": filename, "tests": str(len(cases)), "failures": str(failures), "errors": "0",
            "skipped": "0"})
        suite.extend(cases)
    if report.errors:
        suite = ElementTree.SubElement(root, "testsuite", {
            "name": "trainlint", "tests": str(len(report.errors)), "failures": "0",
            "errors": str(len(report.errors)), "skipped": "0"})
        for error in report.errors:
            case = ElementTree.SubElement(suite, "testcase", {"name": error, "classname": "trainlint"})
            ElementTree.SubElement(case, "error", {"message": error}).text = error
    if len(root) == 0:
        suite = ElementTree.SubElement(root, "testsuite", {
            "name": "trainlint", "tests": "1", "failures": "0", "errors": "0", "skipped": "0"})
        ElementTree.SubElement(suite, "testcase", {"name": "trainlint", "classname": "trainlint"})
    totals = {key: sum(int(suite.get(key)) for suite in root) for key in ("tests", "failures", "errors")}
    root.attrib.update({key: str(value) for key, value in totals.items()})
    return root


def render(report, stream, **_options) -> None:
    tree = junit_tree(report)
    ElementTree.indent(tree)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ElementTree.tostring(tree, encoding="unicode"))
    stream.write("\n")
