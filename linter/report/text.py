"""Text output: `path:line:col: CODE [*] message`, a code frame with a caret, the fix, a summary.

rich is imported only when the output is a terminal with colour.
"""

from __future__ import annotations

import os

from trainlint.api import Applicability, Diagnostic
from trainlint.report.common import display_path, printable, source_lines


def use_color(stream, color: bool | None) -> bool:
    if color is not None:
        return color
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def _marker(diagnostic: Diagnostic) -> str:
    fix = diagnostic.fix
    return " [*]" if fix is not None and fix.applicability is Applicability.SAFE else ""


def _frame(diagnostic: Diagnostic) -> list[str]:
    lines = source_lines(diagnostic.path)
    span = diagnostic.span
    if not lines or span.line > len(lines):
        return []
    text = lines[span.line - 1]
    gutter = len(str(span.line))
    width = span.end_col - span.col if span.end_line == span.line else len(text) - span.col + 1
    caret = " " * (span.col - 1) + "^" * max(width, 1)
    return [f" {span.line} | {text}", f" {' ' * gutter} | {caret}"]


def _fix_lines(diagnostic: Diagnostic) -> list[str]:
    fix = diagnostic.fix
    if fix is None:
        return []
    kind = {"safe": "fix", "unsafe": "unsafe fix", "display": "suggestion"}[fix.applicability.value]
    return [f"  = {kind}: {fix.message}", *_fix_diff(diagnostic)]


def _fix_diff(diagnostic: Diagnostic) -> list[str]:
    """The lines a fix changes, before (-) and after (+), where its edits stay within lines."""
    lines = source_lines(diagnostic.path)
    edits = sorted(diagnostic.fix.edits, key=lambda edit: edit.span.start)
    if not lines or not edits or any(e.span.line != e.span.end_line or e.span.line > len(lines)
                                     for e in edits):
        return []
    first, last = edits[0].span.line, edits[-1].span.line
    if last - first > 3:
        return []
    before = list(lines[first - 1:last])
    after = list(before)
    for edit in reversed(edits):
        row = edit.span.line - first
        text = after[row]
        after[row] = text[:edit.span.col - 1] + edit.content + text[edit.span.end_col - 1:]
    after_lines = "\n".join(after).split("\n")  # an edit may add lines
    width = len(str(last + len(after_lines)))
    minus = [f" - {first + i:>{width}} | {text}" for i, text in enumerate(before)]
    plus = [f" + {first + i:>{width}} | {text}" for i, text in enumerate(after_lines)]
    return [*minus, *plus]


def format_diagnostic(diagnostic: Diagnostic, frames: bool = True) -> list[str]:
    span = diagnostic.span
    head = (f"{display_path(diagnostic.path)}:{span.line}:{span.col}: "
            f"{diagnostic.code}{_marker(diagnostic)} {diagnostic.message}")
    notes = [f"  = note: {note}" for note in diagnostic.notes]
    body = [*_frame(diagnostic), *_fix_lines(diagnostic), *notes] if frames else []
    return [head, *body]


def summary(report) -> list[str]:
    count = len(report.diagnostics)
    lines = []
    if report.fixed:
        verb = "Would fix" if getattr(report, "dry_run", False) else "Fixed"
        lines.append(f"{verb} {report.fixed} finding{'s' * (report.fixed != 1)} "
                     f"({count} remaining).")
    if count:
        safe = sum(1 for d in report.diagnostics if _marker(d))
        line = f"Found {count} finding{'s' * (count != 1)}"
        line += f" ({safe} fixable with --fix)." if safe else "."
        lines.append(line)
        if report.unsafe_fixable:
            lines.append(f"{report.unsafe_fixable} more fixable with --unsafe-fixes "
                         "(they change hyper-parameters: review the suggestions).")
    elif not report.fixed:
        lines.append("All checks passed!")
    return lines


def render(report, stream, *, verbose: bool = False, color: bool | None = None, **_options) -> None:
    blocks = [format_diagnostic(d) for d in report.diagnostics]
    tail = summary(report)
    notes = report.notes if verbose else []
    if use_color(stream, color):
        _render_rich(stream, blocks, tail, notes, report)
        return
    out = [*("\n".join(block) + "\n\n" for block in blocks), *(f"note: {note}\n" for note in notes),
           *(f"error: {error}\n" for error in report.errors), "\n".join(tail) + "\n"]
    stream.write(printable("".join(out)))  # a name that is not UTF-8 shows as U+FFFD


def _render_rich(stream, blocks, tail, notes, report) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=stream, highlight=False, soft_wrap=True)
    styles = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan"}
    for block, diagnostic in zip(blocks, report.diagnostics):
        location, _, rest = block[0].partition(f" {diagnostic.code}")
        style = styles[diagnostic.severity.value]
        console.print(f"[bold]{escape(location)}[/bold] [{style}]{diagnostic.code}[/{style}]"
                      f"{escape(rest)}")
        for line in block[1:]:
            style = ("green" if line.startswith(("  =", " + ")) else
                     "red" if line.startswith(" - ") else "blue")
            console.print(f"[{style}]{escape(line)}[/{style}]")
        console.print()
    for note in notes:
        console.print(f"[dim]note: {escape(note)}[/dim]")
    for error in report.errors:
        console.print(f"[bold red]error:[/bold red] {escape(error)}")
    for line in tail:
        console.print(escape(line))
