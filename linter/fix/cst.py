"""Python fixes as minimal text edits: splices at `ast` spans, and the libcst call rewriter.

Every fix ends as one Edit per changed region, computed as the common prefix / suffix of the
old and the new text of the region (a call, an import line), so that comments, blank lines,
quotes and formatting elsewhere stay as they were.

Most rewrites are splices at the spans the `ast` pass reported: add `weights_only=True`,
replace a value, rename a keyword, rename `torch.cuda.amp.autocast` to
`torch.amp.autocast` with the device inserted first and the old positional arguments turned
into keywords (`rewrite_call_text`), drop a keyword argument with its comma. Where comments
sit inside the call, dropping an argument goes through libcst, whose whitespace model keeps
them: the call's own source is parsed with `libcst.parse_expression` (no metadata wrapper:
the `ast` pass already resolved the names; the text is exactly the module's, so the result
equals a whole-module parse at a fraction of its cost), transformed, and generated again.

libcst is imported only inside the functions that build such a fix. Importing it costs
~0.4 s (measured with `python -X importtime`, libcst 1.9), ten times a whole ruff run on
the fixture scripts, and `trainlint check` builds the fixes it reports, so the common
rewrites must not need it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trainlint.records import Edit

if TYPE_CHECKING:
    from trainlint.formats.python.ast_index import ParsedScript

__all__ = [
    "add_import", "drop_argument", "ensure_module_name", "insert_keyword", "minimal_edit",
    "newline_of", "prepend_argument", "remove_keyword",
    "rename_keyword", "replace_func", "replace_node", "rewrite_call", "rewrite_call_text",
    "string_literal",
]


def newline_of(script: ParsedScript) -> str:
    """The line break a new line of the script gets (its first one, else `\\n`)."""
    return script.index.newline


def string_literal(script: ParsedScript, value: str) -> str:
    """`value` quoted the way most strings of the file are."""
    quote = script.preferred_quote()
    return f"{quote}{value}{quote}"


def _edit(script: ParsedScript, start: int, end: int, content: str) -> Edit:
    return Edit(script.index.span(start, end), content)


def minimal_edit(script: ParsedScript, start: int, old: str, new: str) -> Edit | None:
    """The smallest edit that turns `old` (found at `start`) into `new`; None if equal."""
    if old == new:
        return None
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < limit - prefix
           and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]):
        suffix += 1
    return _edit(script, start + prefix, start + len(old) - suffix,
                 new[prefix:len(new) - suffix])


def replace_node(script: ParsedScript, node: ast.AST, content: str) -> Edit:
    span = script.span(node)
    return _edit(script, span.start, span.end, content)


def rename_keyword(script: ParsedScript, keyword: ast.keyword, new_name: str) -> Edit | None:
    """`fp16=True` -> `bf16=True`: replace the keyword's name, keep its value."""
    if keyword.arg is None:
        return None
    start = script.span(keyword).start
    if script.text[start:start + len(keyword.arg)] != keyword.arg:
        return None
    return _edit(script, start, start + len(keyword.arg), new_name)


def _indent_at(script: ParsedScript, offset: int) -> str:
    index = script.index
    line = script.text[index.line_start(index.line_of(offset)):offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def insert_keyword(script: ParsedScript, call: ast.Call, name: str, value: str) -> Edit | None:
    """Add `name=value` as the call's last argument, in the call's own layout.

    `f(a)` -> `f(a, name=value)`; a call laid out one argument per line with a trailing
    comma gets a new line with the same indentation. None where no edit is safe (a bare
    generator argument, text that does not end with the closing parenthesis).
    """
    text = script.text
    span = script.span(call)
    close = span.end - 1
    if close < 0 or text[close] != ")":
        return None
    items = sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))
    argument = f"{name}={value}"
    if not items:
        return _edit(script, close, close, argument)
    if (len(call.args) == 1 and isinstance(call.args[0], ast.GeneratorExp)
            and script.span(call.args[0]).start == _open_paren(script, call)):
        return None  # `f(x for x in y)`: the generator borrows the call's parentheses
    last = items[-1]
    last_start, last_end = script.span(last).start, script.span(last).end
    between = text[last_end:close]
    stripped = between.lstrip(" \t")
    if not stripped.startswith(","):
        return _edit(script, last_end, last_end, f", {argument}")
    comma = last_end + len(between) - len(stripped)
    index = script.index
    if not index.breaks_between(last_end, close):
        return _edit(script, comma + 1, comma + 1, f" {argument},")
    comma_line = index.line_of(comma)
    next_line = index.next_line_start(comma_line)
    indent = _indent_at(script, last_start)
    if last.lineno == call.lineno:
        indent += "    "  # the last argument sits on the line that opens the call
    return _edit(script, next_line, next_line,
                 f"{indent}{argument},{index.terminator(comma_line)}")


def ensure_module_name(script: ParsedScript, module: str) -> tuple[str, Edit | None]:
    """The local name of `module` (`T` for `import torch as T`), adding `import module` if none."""
    local = script.local_name_for(module)
    if local is not None:
        return local, None
    return module.split(".", 1)[0], add_import(script, f"import {module}")


def add_import(script: ParsedScript, statement: str) -> Edit:
    """Insert an import line before the first top-level import (after the docstring and
    `from __future__` imports), or before the first statement of a file without imports."""
    body = script.tree.body
    anchor: ast.stmt | None = None
    after: ast.stmt | None = None
    for stmt in body:
        is_docstring = (stmt is body[0] and isinstance(stmt, ast.Expr)
                        and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, str))
        is_future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if is_docstring or is_future:
            after = stmt
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            anchor = stmt
            break
    newline = newline_of(script)
    if anchor is None:
        for stmt in body:
            if after is None or (stmt.lineno > (after.end_lineno or after.lineno)):
                anchor = stmt
                break
    if anchor is not None:
        start = script.offset(anchor.lineno, 0)
        return _edit(script, start, start, f"{statement}{newline}")
    # only a docstring / __future__ imports, or an empty file
    text = script.text
    end = len(text)
    ends_with_break = script.index.line_starts[-1] == end
    prefix = "" if not text or ends_with_break else newline
    return _edit(script, end, end, f"{prefix}{statement}{newline}")


def _items(call: ast.Call) -> list[ast.AST]:
    return sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))


def _open_paren(script: ParsedScript, call: ast.Call) -> int | None:
    """Offset of the call's `(`: the first character after the callee that is not a space."""
    text = script.text
    position = script.span(call.func).end
    while position < len(text) and text[position] in " \t":
        position += 1
    return position if position < len(text) and text[position] == "(" else None


def _apply_splices(text: str, base: int, splices: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, content) splices given in absolute offsets to `text` (which starts
    at `base`); splices at one offset apply in list order."""
    ordered = sorted(enumerate(splices), key=lambda item: (item[1][0], item[0]))
    out, cursor = [], base
    for _, (start, end, content) in ordered:
        out.append(text[cursor - base:start - base])
        out.append(content)
        cursor = end
    out.append(text[cursor - base:])
    return "".join(out)


def rewrite_call_text(script: ParsedScript, call: ast.Call, new_func: str,
                      first_argument: str | None = None,
                      positional_names: tuple[str, ...] | None = None) -> Edit | None:
    """Rename what a call calls, insert `first_argument` before the others, and turn its
    positional arguments into keywords (`positional_names` in signature order)."""
    if any(isinstance(arg, ast.Starred) for arg in call.args):
        return None
    if positional_names is not None and len(call.args) > len(positional_names):
        return None
    open_paren = _open_paren(script, call)
    span = script.span(call)
    if open_paren is None or script.text[span.end - 1] != ")":
        return None
    func = script.span(call.func)
    splices: list[tuple[int, int, str]] = [(func.start, func.end, new_func)]
    items = _items(call)
    if first_argument is not None:
        if not items:
            splices.append((open_paren + 1, open_paren + 1, first_argument))
        else:
            first = script.span(items[0]).start
            between = script.text[open_paren + 1:first]
            if "\n" in between and "#" not in between:
                splices.append((first, first, f"{first_argument},{between}"))
            else:
                splices.append((first, first, f"{first_argument}, "))
    if positional_names is not None:
        for name, arg in zip(positional_names, call.args):
            start = script.span(arg).start
            splices.append((start, start, f"{name}="))
    old = script.text[span.start:span.end]
    return minimal_edit(script, span.start, old, _apply_splices(old, span.start, splices))


def remove_keyword(script: ParsedScript, call: ast.Call, name: str) -> Edit | None:
    """Drop `name=...` with its comma. Comments elsewhere in the call stay (libcst keeps
    them where the call has comments; plain calls are spliced)."""
    keyword = next((k for k in call.keywords if k.arg == name), None)
    if keyword is None:
        return None
    span = script.span(call)
    if "#" in script.text[span.start:span.end]:
        return _remove_keyword_cst(script, call, name)
    open_paren = _open_paren(script, call)
    if open_paren is None or script.text[span.end - 1] != ")":
        return None
    items = _items(call)
    index = items.index(keyword)
    if len(items) == 1:
        start, end = open_paren + 1, span.end - 1
    elif index < len(items) - 1:
        start, end = script.span(keyword).start, script.span(items[index + 1]).start
    else:
        start, end = script.span(items[index - 1]).end, script.span(keyword).end
    return _edit(script, start, end, "")


# --------------------------------------------------------------------- libcst
def rewrite_call(script: ParsedScript, call: ast.Call,
                 transform: Callable[[Any], Any]) -> Edit | None:
    """Parse the call with libcst, let `transform(cst.Call) -> cst.Call` change it, and
    return the minimal edit (None when libcst cannot parse it or nothing changed)."""
    import libcst as cst

    span = script.span(call)
    old = script.text[span.start:span.end]
    try:
        node = cst.parse_expression(old)
    except Exception:  # libcst raises several error types
        return None
    if not isinstance(node, cst.Call) or node.lpar or node.rpar:
        return None
    try:
        new_node = transform(node)
    except _NoFix:
        return None
    if new_node is None:
        return None
    new = cst.Module(body=[]).code_for_node(new_node)
    return minimal_edit(script, span.start, old, new)


class _NoFix(Exception):
    """Raised by a transform that finds the call too odd to rewrite."""


def _remove_keyword_cst(script: ParsedScript, call: ast.Call, name: str) -> Edit | None:
    def transform(node: Any) -> Any:
        for index, arg in enumerate(node.args):
            if arg.keyword is not None and arg.keyword.value == name:
                return drop_argument(node, index)
        raise _NoFix

    return rewrite_call(script, call, transform)


def drop_argument(node: Any, index: int) -> Any:
    """A copy of the libcst Call without argument `index`, keeping surrounding comments."""
    import libcst as cst

    args = list(node.args)
    removed = args.pop(index)
    removed_after = _comma_whitespace(removed)
    kept_lines = list(getattr(removed_after, "empty_lines", ()))  # own-line comments below it
    if not args:
        before = node.whitespace_before_args
        if not _has_comment(before) and not kept_lines:
            return node.with_changes(args=(), whitespace_before_args=cst.SimpleWhitespace(""))
        return node.with_changes(args=())
    if index < len(args):  # not the last one: the comments below it now precede the next
        if index == 0:
            before = node.whitespace_before_args
            if kept_lines and isinstance(before, cst.ParenthesizedWhitespace):
                node = node.with_changes(whitespace_before_args=before.with_changes(
                    empty_lines=[*before.empty_lines, *kept_lines]))
        else:
            prev = args[index - 1]
            prev_after = _comma_whitespace(prev)
            if kept_lines and isinstance(prev_after, cst.ParenthesizedWhitespace):
                args[index - 1] = prev.with_changes(comma=prev.comma.with_changes(
                    whitespace_after=prev_after.with_changes(
                        empty_lines=[*prev_after.empty_lines, *kept_lines])))
        return node.with_changes(args=args)
    prev = args[-1]
    prev_after = _comma_whitespace(prev)
    if isinstance(removed.comma, cst.Comma):  # layout with a trailing comma: keep one
        if isinstance(prev_after, cst.ParenthesizedWhitespace) and isinstance(
                removed_after, cst.ParenthesizedWhitespace):
            merged = prev_after.with_changes(
                empty_lines=[*prev_after.empty_lines, *kept_lines],
                last_line=removed_after.last_line)
            args[-1] = prev.with_changes(comma=prev.comma.with_changes(whitespace_after=merged))
        else:
            args[-1] = prev.with_changes(comma=prev.comma.with_changes(
                whitespace_after=removed.comma.whitespace_after))
        return node.with_changes(args=args)
    if _has_comment(prev_after):  # `a,  # note` then `name=1)`: keep the comma and the note
        if isinstance(prev_after, cst.ParenthesizedWhitespace):
            args[-1] = prev.with_changes(comma=prev.comma.with_changes(
                whitespace_after=prev_after.with_changes(last_line=cst.SimpleWhitespace(""))))
        return node.with_changes(args=args)
    args[-1] = prev.with_changes(comma=cst.MaybeSentinel.DEFAULT,
                                 whitespace_after_arg=removed.whitespace_after_arg)
    return node.with_changes(args=args)


def _comma_whitespace(arg: Any) -> Any:
    comma = getattr(arg, "comma", None)
    return getattr(comma, "whitespace_after", None)


def _has_comment(whitespace: Any) -> bool:
    if whitespace is None:
        return False
    first = getattr(whitespace, "first_line", None)
    if first is not None and getattr(first, "comment", None) is not None:
        return True
    return any(line.comment is not None for line in getattr(whitespace, "empty_lines", ()))


def prepend_argument(node: Any, source: str) -> Any:
    """Insert a positional argument (`"cuda"`) first, in the call's own layout."""
    import libcst as cst

    value = cst.parse_expression(source)
    if not node.args:
        return node.with_changes(args=[cst.Arg(value=value)])
    before = node.whitespace_before_args
    if isinstance(before, cst.ParenthesizedWhitespace):
        comma = cst.Comma(whitespace_after=before)
    else:
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return node.with_changes(args=[cst.Arg(value=value, comma=comma), *node.args])


def replace_func(node: Any, dotted: str) -> Any:
    import libcst as cst

    return node.with_changes(func=cst.parse_expression(dotted))
