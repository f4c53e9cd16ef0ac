"""SARIF 2.1.0: one run with every rule's metadata, results with locations and fixes.

Columns count Unicode code points (`columnKind: unicodeCodePoints`), as trainlint's do. File
URIs are relative to the working directory (`%SRCROOT%`), which is what GitHub code scanning
expects when trainlint runs from the repository root.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from trainlint import __version__
from trainlint.api import DOCS_BASE_URL, Diagnostic, Span
from trainlint.report.common import printable

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = DOCS_BASE_URL.rsplit("/blob/", 1)[0]
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SRCROOT = "%SRCROOT%"


def artifact_location(path: str) -> dict:
    absolute = os.path.abspath(path)
    try:
        relative = Path(os.path.relpath(absolute)).as_posix()
    except ValueError:
        relative = "../"
    if relative.startswith("../"):
        return {"uri": Path(absolute).as_uri()}
    # from the name's bytes: a name that is not UTF-8 keeps them as %XX escapes
    return {"uri": quote(os.fsencode(relative)), "uriBaseId": SRCROOT}


def region(span: Span) -> dict:
    return {"startLine": span.line, "startColumn": span.col,
            "endLine": span.end_line, "endColumn": span.end_col}


def _rule_descriptor(rule) -> dict:
    from trainlint.docs import rule_markdown

    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.message},
        "helpUri": rule.url(),
        "help": {"text": f"{rule.message}. See {rule.url()}", "markdown": rule_markdown(rule)},
        "defaultConfiguration": {"level": LEVELS[rule.severity.value]},
        "properties": {"fix": rule.fix_availability.value},
    }


def _fixes(diagnostic: Diagnostic) -> list[dict]:
    fix = diagnostic.fix
    if fix is None or not fix.edits:
        return []
    replacements = [{"deletedRegion": region(edit.span), "insertedContent": {"text": edit.content}}
                    for edit in fix.edits]
    return [{
        "description": {"text": f"{fix.message} ({fix.applicability.value} fix)"},
        "artifactChanges": [{"artifactLocation": artifact_location(diagnostic.path),
                             "replacements": replacements}],
    }]


def _result(diagnostic: Diagnostic, rule_index: dict[str, int], sources) -> dict:
    from trainlint.baseline import fingerprint

    result = {
        "ruleId": diagnostic.code,
        "level": LEVELS[diagnostic.severity.value],
        "message": {"text": diagnostic.message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(diagnostic.path),
                                            "region": region(diagnostic.span)}}],
        "partialFingerprints": {"trainlint/v1": fingerprint(diagnostic, sources=sources)},
    }
    if diagnostic.code in rule_index:
        result["ruleIndex"] = rule_index[diagnostic.code]
    fixes = _fixes(diagnostic)
    if fixes:
        result["fixes"] = fixes
    return result


def sarif_log(report) -> dict:
    from trainlint.baseline import SourceLines
    from trainlint.registry import all_rules

    rules = list(all_rules())
    rule_index = {rule.code: i for i, rule in enumerate(rules)}
    sources = SourceLines()
    notifications = [{"level": "error", "message": {"text": error}} for error in report.errors]
    invocation = {"executionSuccessful": not report.errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "trainlint", "version": __version__,
                                "semanticVersion": __version__,
                                "informationUri": INFORMATION_URI,
                                "rules": [_rule_descriptor(rule) for rule in rules]}},
            "originalUriBaseIds": {SRCROOT: {"uri": Path.cwd().resolve().as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "invocations": [invocation],
            "results": [_result(d, rule_index, sources) for d in report.diagnostics],
        }],
    }


def render(report, stream, **_options) -> None:
    stream.write(printable(json.dumps(sarif_log(report), indent=2, ensure_ascii=False)))
    stream.write("\n")
