"""Statement-level edits for the TL7xx fixes: a new line before or after a statement, and a
loop wrapped in a `with` block.

They are splices at the statement's own lines, worked out from the `ast` positions, so that
comments, blank lines, quotes and the rest of the file stay as they were (the engine
re-parses the result and refuses one that no longer parses). Lines that start inside a
multi-line string are never re-indented: that would change the string.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from trainlint.api import Edit

if TYPE_CHECKING:
    from trainlint.api import ParsedScript


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_start(script: ParsedScript, lineno: int) -> int:
    return script.offset(lineno, 0)


def _line_end(script: ParsedScript, lineno: int) -> int:
    """The offset of the end of a line, before its line break."""
    text = script.text
    start = _line_start(script, lineno)
    end = text.find("\n", start)
    if end == -1:
        return len(text)
    return end - 1 if end > start and text[end - 1] == "\r" else end


def indentation(script: ParsedScript, node: ast.stmt) -> str | None:
    """The whitespace before a statement, or None when other code precedes it on its line."""
    start = _line_start(script, node.lineno)
    prefix = script.text[start:script.offset(node.lineno, node.col_offset)]
    return prefix if not prefix.strip(" \t") else None


def _rest_is_blank(script: ParsedScript, node: ast.stmt) -> bool:
    """Nothing but a comment follows the statement on its last line."""
    end = script.offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
    rest = script.text[end:_line_end(script, node.end_lineno or node.lineno)].strip(" \t")
    return not rest or rest.startswith("#")


def insert_before(script: ParsedScript, node: ast.stmt, statement: str) -> Edit | None:
    """A new line holding `statement` just above `node`, at its indentation."""
    indent = indentation(script, node)
    if indent is None:
        return None
    start = _line_start(script, node.lineno)
    return Edit(script.index.span(start, start), f"{indent}{statement}{_newline(script.text)}")


def insert_after(script: ParsedScript, node: ast.stmt, statement: str) -> Edit | None:
    """A new line holding `statement` just below `node` (all of it), at its indentation."""
    indent = indentation(script, node)
    if indent is None or not _rest_is_blank(script, node):
        return None
    newline = _newline(script.text)
    end = _line_end(script, node.end_lineno or node.lineno)
    text = script.text
    if end == len(text):
        return Edit(script.index.span(end, end), f"{newline}{indent}{statement}")
    after = end + (2 if text.startswith("\r\n", end) else 1)
    return Edit(script.index.span(after, after), f"{indent}{statement}{newline}")


def insert_at_top(script: ParsedScript, block: ast.stmt, statement: str) -> Edit | None:
    """`statement` as the first line of a compound statement's body."""
    body = getattr(block, "body", None)
    if not body or body[0].lineno == block.lineno:
        return None  # `for x in y: f(x)` on one line
    return insert_before(script, body[0], statement)


def _string_lines(node: ast.AST) -> set[int]:
    """Lines that start inside a multi-line string of `node`."""
    inside: set[int] = set()
    for child in ast.walk(node):
        if isinstance(child, (ast.Constant, ast.JoinedStr)) and (
                isinstance(child, ast.JoinedStr) or isinstance(child.value, (str, bytes))):
            end = child.end_lineno or child.lineno
            if end > child.lineno:
                inside.update(range(child.lineno + 1, end + 1))
    return inside


def wrap_in(script: ParsedScript, node: ast.stmt, header: str) -> Edit | None:
    """`header:` (a `with ...` line) above `node`, and `node` indented one level under it,
    by the indentation step the statement's own body uses."""
    indent = indentation(script, node)
    body = getattr(node, "body", None)
    if indent is None or not body or body[0].lineno == node.lineno:
        return None
    step_indent = indentation(script, body[0])
    if step_indent is None or not step_indent.startswith(indent) or step_indent == indent:
        return None
    step = step_indent[len(indent):]
    if not _rest_is_blank(script, node):
        return None
    skip = _string_lines(node)
    last = node.end_lineno or node.lineno
    lines = []
    for lineno in range(node.lineno, last + 1):
        line = script.index.line_text(lineno)
        if lineno in skip or not line.strip():
            lines.append(line)
        elif line.startswith(indent):
            lines.append(indent + step + line[len(indent):])
        else:  # a continuation line inside brackets: its indentation means nothing
            lines.append(step + line)
    newline = _newline(script.text)
    start, end = _line_start(script, node.lineno), _line_end(script, last)
    content = f"{indent}{header}{newline}" + newline.join(lines)
    return Edit(script.index.span(start, end), content)
