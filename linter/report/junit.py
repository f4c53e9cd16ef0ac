"""JUnit XML: one test suite per file with findings, one failing test case per finding.

Errors and warnings are failures; info findings are passing test cases whose text is in
`system-out`. A clean run is one passing test case, so CI test views show a green check.
"""

from __future__ import annotations

import re
from itertools import groupby
from xml.etree import ElementTree

from trainlint.api import Diagnostic
from trainlint.report.common import display_path


# What XML 1.0 cannot hold, even escaped: control characters but tab, LF and CR, lone
# surrogates, U+FFFE and U+FFFF. ElementTree writes them as they are (a file that is not
# well-formed), so they are written as visible escapes first.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}"
                        if ord(match.group()) < 0x100 else f"\\u{ord(match.group()):04x}", text)


def _clean(element: ElementTree.Element) -> ElementTree.Element:
    for node in element.iter():
        if node.text:
            node.text = _xml_text(node.text)
        for key, value in node.attrib.items():
            node.attrib[key] = _xml_text(value)
    return element


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
    tree = _clean(junit_tree(report))
    ElementTree.indent(tree)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ElementTree.tostring(tree, encoding="unicode"))
    stream.write("\n")
