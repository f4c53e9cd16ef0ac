"""GitHub Actions workflow commands: one `::error file=...::` annotation per finding.

Chosen automatically when `GITHUB_ACTIONS=true`. Escaping follows @actions/core: `%`, CR and
LF in the message; also `:` and `,` in properties.
"""

from __future__ import annotations

from trainlint.api import Diagnostic
from trainlint.report.common import display_path, printable

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic) -> str:
    span = diagnostic.span
    properties = {
        "file": display_path(diagnostic.path),
        "line": span.line, "col": span.col, "endLine": span.end_line, "endColumn": span.end_col,
        "title": f"trainlint {diagnostic.code} ({diagnostic.name})",
    }
    fields = ",".join(f"{name}={escape_property(str(value))}" for name, value in properties.items())
    message = f"{diagnostic.code} {diagnostic.message}"
    if diagnostic.fix is not None:
        message += f"\nFix ({diagnostic.fix.applicability.value}): {diagnostic.fix.message}"
    if diagnostic.url:
        message += f"\nSee {diagnostic.url}"
    return f"::{LEVELS[diagnostic.severity.value]} {fields}::{escape_data(message)}"


def render(report, stream, **_options) -> None:
    for diagnostic in report.diagnostics:
        stream.write(printable(annotation(diagnostic)) + "\n")
    for error in report.errors:
        stream.write(f"::error title=trainlint internal error::{escape_data(error)}\n")
