"""JSON output: one object per finding, ruff's field names where they overlap (stable contract)."""

from __future__ import annotations

import json

from trainlint.api import Diagnostic
from trainlint.report.common import display_path, printable


def _location(line: int, col: int) -> dict[str, int]:
    return {"row": line, "column": col}


def diagnostic_to_dict(diagnostic: Diagnostic) -> dict:
    span = diagnostic.span
    fix = None
    if diagnostic.fix is not None:
        fix = {
            "applicability": diagnostic.fix.applicability.value,
            "message": diagnostic.fix.message,
            "edits": [
                {"content": edit.content,
                 "location": _location(edit.span.line, edit.span.col),
                 "end_location": _location(edit.span.end_line, edit.span.end_col)}
                for edit in diagnostic.fix.edits
            ],
        }
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
        "filename": display_path(diagnostic.path),
        "location": _location(span.line, span.col),
        "end_location": _location(span.end_line, span.end_col),
        "fix": fix,
        "url": diagnostic.url,
        "basis": diagnostic.basis,
    }


def render(report, stream, **_options) -> None:
    text = json.dumps([diagnostic_to_dict(d) for d in report.diagnostics], indent=2, ensure_ascii=False)
    stream.write(printable(text))  # a message may quote a file name that is not UTF-8
    stream.write("\n")
