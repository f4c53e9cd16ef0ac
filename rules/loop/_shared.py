"""What the TL7xx rules share: where a loop is reported, and the names of its optimizer."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from trainlint.api import Kind, Span, dotted

if TYPE_CHECKING:
    from trainlint.api import Loop, ParsedScript


def header_span(script: ParsedScript, loop: Loop) -> Span:
    """`for x, y in loader` (without the colon): where a finding about a loop is shown."""
    node = loop.node
    start = script.offset(node.lineno, node.col_offset)
    line, col = loop.header_end
    return script.index.span(start, script.offset(line, col))


def optimizer_text(call: ast.Call) -> str | None:
    """`optimizer` for `optimizer.step()`, and for `scaler.step(optimizer)`."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    receiver = dotted(func.value)
    if call.args and receiver is not None and "scaler" in receiver.rsplit(".", 1)[-1].lower():
        return dotted(call.args[0])
    if call.args or call.keywords:
        return None  # `optimizer.step(closure)`: leave it
    return receiver


def stepped_optimizers(loop: Loop) -> set[str | None]:
    """The optimizers a loop steps in its own body (None for one it cannot name)."""
    return {optimizer_text(event.node) for event in loop.of(Kind.STEP, depth=0)}


def statement_of(script: ParsedScript, node: ast.AST) -> ast.stmt | None:
    while node is not None and not isinstance(node, ast.stmt):
        node = script.parent(node)
    return node


def loop_source(script: ParsedScript, loop: Loop) -> str:
    return script.source(loop.node)


def calls_in(script: ParsedScript, node: ast.AST) -> list[ast.Call]:
    """Every call inside a node (also in functions defined there), in source order."""
    start = (node.lineno, node.col_offset)
    end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
    return [call for call in script.calls
            if start <= (call.lineno, call.col_offset) and
            (call.end_lineno or call.lineno, call.end_col_offset or 0) <= end]
