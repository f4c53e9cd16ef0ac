"""Python files as configuration, read from the `ast` only (never imported, never executed).

Four shapes of configuration, each an entry with its own `origin`:
- "argparse": `X.add_argument(..., default=...)` anywhere (any parser, group or subparser
  variable) -> key = the dest argparse computes; `X.set_defaults(k=...)` -> key = k. Every
  add_argument call also becomes an ArgumentSpec in `extra["arguments"]`; a store_true /
  store_false without `default=` gets its implicit default there (origin "argparse-implicit",
  spanning the action) but no entry.
- "dataclass": fields of `@dataclass` classes (HfArgumentParser style), `= x` or
  `= field(default=x)` -> key = the field name.
- "constant": module-level names bound once (anywhere in module scope) by a top-level
  statement to a literal-ish value (nanoGPT `config/*.py`).
- "dictconfig": a module-level name bound once to `{...}` / `dict(...)`, then
  `args['lrStart'] = 0.02` or `args.update(...)` -> key = the dict key.

Values are Python literals, with simple arithmetic of literals and of earlier module
constants folded (`5 * 8` -> 40); anything else is UNRESOLVED with its source text in `raw`.
Dict, list and tuple displays also get one entry per item (`betas.0`), like the other formats.
"""

from __future__ import annotations

import ast
import operator
import re
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any, NoReturn

from trainlint.formats.base import ArgumentSpec, ParseError
from trainlint.formats.python.ast_index import (
    ParsedScript,
    dotted,
    parse_python,
    walk_breadth_first,
)
from trainlint.records import UNRESOLVED, ParsedDocument, Value
from trainlint.text import LineIndex, Span

__all__ = ["NodeValues", "parse"]

MAX_FOLD_DEPTH = 64
MAX_CONTAINER_RAW = 1 << 20  # as in the JSON adapter: longer displays keep raw ""
MAX_INT_BITS = 4096
MAX_SEQUENCE = 10_000
_ARGPARSE_TYPES = {"float": float, "int": int, "str": str, "bool": bool}
_IMPLICIT_DEFAULTS = {"store_true": False, "store_false": True}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def parse(path: str, text: str, index: LineIndex,
          tree: ast.Module | ParsedScript | None = None) -> ParsedDocument:
    """Read the configuration a Python file declares, without running any of it.

    `tree` is the file's `ast` when the caller has it; a ParsedScript lends its index of the
    file's calls, so the tree is not walked again."""
    script: ParsedScript | None = None
    if isinstance(tree, ParsedScript):
        script = tree
        tree = tree.tree
    elif tree is None:
        tree = _parse_tree(path, text, index)
    reader = _Reader(path, text, index, tree, script)
    try:
        reader.read()
    except RecursionError:
        raise ParseError("expression nested too deeply to read") from None
    entries = sorted(reader.entries, key=lambda entry: entry.span.start)
    arguments = sorted(reader.arguments, key=lambda spec: spec.span.start)
    return ParsedDocument(path=path, text=text, format="python", entries=entries, index=index,
                          extra={"arguments": arguments})


class NodeValues:
    """Values for single expressions of a module, folded as its entries are (`5e-4 * 8` -> 0.004,
    and names of the module's constants resolved from `constants`), each with its span: for
    readers that know what a framework makes of a structure the entries flatten."""

    def __init__(self, document: ParsedDocument) -> None:
        self.path = document.path
        self.text = document.text
        self.columns = _Columns(document.text, document.index)
        self.folder = _Folder()
        self.folder.constants = {entry.key: entry.value for entry in document.entries
                                 if entry.origin == "constant" and "." not in entry.key}

    def value(self, node: ast.AST, key: str, key_node: ast.AST | None = None,
              origin: str = "constant") -> Value:
        span = self.columns.span(node)
        key_span = self.columns.name_span(key_node, key.rsplit(".", 1)[-1]) if key_node else None
        return Value(value=self.folder.value(node), path=self.path, span=span, key=key,
                     key_span=key_span, raw=self.text[span.start:span.end], origin=origin)

    def at(self, node: ast.AST, key: str, value: Any, origin: str = "constant") -> Value:
        """A Value that the structure at `node` implies (raw "": no literal to splice)."""
        return Value(value=value, path=self.path, span=self.columns.span(node), key=key,
                     origin=origin)


def _parse_tree(path: str, text: str, index: LineIndex) -> ast.Module:
    try:
        return parse_python(text, path)
    except SyntaxError as exc:
        if exc.lineno is None:  # e.g. "source code string cannot contain null bytes"
            _raise_at_nul(exc.msg, text, index)
        col = max(exc.offset or 1, 1)
        if isinstance(exc, IndentationError) and exc.lineno <= len(index.line_starts):
            line = index.line_text(exc.lineno)  # point at the statement, not into its indent
            col = len(line) - len(line.lstrip(" \t\f")) + 1
        raise ParseError(exc.msg, exc.lineno, col) from None
    except UnicodeError as exc:  # a lone surrogate
        line, col = index.line_col(getattr(exc, "start", 0))
        raise ParseError(f"cannot encode the text: {exc.reason}", line, col) from None
    except ValueError as exc:  # null bytes before Python 3.12
        _raise_at_nul(str(exc), text, index)
    except (RecursionError, MemoryError):
        raise ParseError("expression nested too deeply to parse") from None


def _raise_at_nul(message: str, text: str, index: LineIndex) -> NoReturn:
    nul = text.find("\x00")
    line, col = index.line_col(nul) if nul != -1 else (1, 1)
    raise ParseError(message, line, col) from None


class _Columns:
    """ast columns count UTF-8 bytes; Spans count characters. Converts, per line, in O(log n)."""

    def __init__(self, text: str, index: LineIndex) -> None:
        self.text = text
        self.index = index
        self.lines: dict[int, tuple[list[int], list[int]] | None] = {}

    def offset(self, lineno: int, byte_col: int) -> int:
        starts = self.index.line_starts
        lineno = max(1, min(lineno, len(starts)))
        line_start = starts[lineno - 1]
        table = self.lines.get(lineno, False)
        if table is False:
            table = self.lines[lineno] = self._wide_chars(lineno)
        if table is None:
            return line_start + byte_col
        byte_positions, extra_bytes = table
        before = bisect_right(byte_positions, byte_col - 1)
        return line_start + byte_col - (extra_bytes[before - 1] if before else 0)

    def _wide_chars(self, lineno: int) -> tuple[list[int], list[int]] | None:
        """Byte position of each non-ASCII char, and the extra bytes up to and including it."""
        starts = self.index.line_starts
        end = starts[lineno] if lineno < len(starts) else len(self.text)
        line = self.text[starts[lineno - 1]:end]
        if line.isascii():
            return None
        byte_positions: list[int] = []
        extra_bytes: list[int] = []
        extra = 0
        for match in _NON_ASCII.finditer(line):
            byte_positions.append(match.start() + extra)
            extra += len(match.group().encode("utf-8", "surrogatepass")) - 1
            extra_bytes.append(extra)
        return byte_positions, extra_bytes

    def span(self, node: ast.AST) -> Span:
        start = self.offset(node.lineno, node.col_offset)
        end_line = node.end_lineno or node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        return self.index.span(start, self.offset(end_line, end_col))

    def name_span(self, node: ast.AST, name: str) -> Span:
        """The span of `name` written at the start of `node` (a keyword's name)."""
        start = self.offset(node.lineno, node.col_offset)
        return self.index.span(start, start + len(name))


class _Folder:
    """Literal values, with simple arithmetic folded and earlier module constants resolved."""

    _BINARY = {
        ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
        ast.Pow: operator.pow,
    }
    _UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: operator.not_,
              ast.Invert: operator.invert}

    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}

    def value(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > MAX_FOLD_DEPTH:
            return UNRESOLVED
        try:
            return self._value(node, depth + 1)
        except (ArithmeticError, ValueError, TypeError, MemoryError):
            return UNRESOLVED

    def _value(self, node: ast.AST, depth: int) -> Any:
        if isinstance(node, ast.Constant):
            return UNRESOLVED if node.value is Ellipsis else node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id, UNRESOLVED)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.value(item, depth) for item in node.elts]
            if any(item is UNRESOLVED for item in items):
                return UNRESOLVED
            if isinstance(node, ast.List):
                return items
            return tuple(items) if isinstance(node, ast.Tuple) else set(items)
        if isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):  # {**other}
                return UNRESOLVED
            return self._mapping(zip(node.keys, node.values), depth)
        if _is_dict_call(node):
            return self._mapping(((kw.arg, kw.value) for kw in node.keywords), depth)
        if isinstance(node, ast.UnaryOp) and type(node.op) in self._UNARY:
            operand = self.value(node.operand, depth)
            if operand is UNRESOLVED or not isinstance(operand, (int, float, complex)):
                return UNRESOLVED
            return self._checked(self._UNARY[type(node.op)](operand))
        if isinstance(node, ast.BinOp) and type(node.op) in self._BINARY:
            return self._binary(node, depth)
        return UNRESOLVED

    def _mapping(self, pairs, depth: int) -> Any:
        result = {}
        for key_node, value_node in pairs:
            key = key_node if isinstance(key_node, str) else self.value(key_node, depth)
            value = self.value(value_node, depth)
            if key is UNRESOLVED or value is UNRESOLVED:
                return UNRESOLVED
            result[key] = value
        return result

    def _binary(self, node: ast.BinOp, depth: int) -> Any:
        left = self.value(node.left, depth)
        if left is UNRESOLVED:
            return UNRESOLVED
        right = self.value(node.right, depth)
        if right is UNRESOLVED:
            return UNRESOLVED
        numbers = (int, float)
        if isinstance(left, numbers) and isinstance(right, numbers):
            if isinstance(node.op, ast.Pow) and not _small_power(left, right):
                return UNRESOLVED
            return self._checked(self._BINARY[type(node.op)](left, right))
        if isinstance(node.op, ast.Add) and type(left) is type(right) and isinstance(
                left, (str, bytes, list, tuple)):
            return self._checked(left + right)
        if isinstance(node.op, ast.Mult):
            sequence, count = (left, right) if isinstance(right, int) else (right, left)
            if (isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int)
                    and not isinstance(count, bool)
                    and len(sequence) * max(count, 0) <= MAX_SEQUENCE):
                return sequence * count
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            return self._checked(left % right)
        return UNRESOLVED

    @staticmethod
    def _checked(value: Any) -> Any:
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            return UNRESOLVED
        if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_SEQUENCE * 100:
            return UNRESOLVED
        return value


def _small_power(base: int | float, exponent: int | float) -> bool:
    if isinstance(base, float) or isinstance(exponent, float):
        return True  # float overflow raises OverflowError, caught by the folder
    magnitude = max(abs(base), 2).bit_length()
    return abs(exponent) * magnitude <= MAX_INT_BITS


def _is_dict_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "dict" and not node.args
            and all(keyword.arg is not None for keyword in node.keywords))


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def argparse_dest(flags: tuple[str, ...], explicit: str | None = None,
                  prefix_chars: str = "-") -> str:
    """The attribute name argparse gives an argument (ArgumentParser._get_optional_kwargs)."""
    if explicit is not None:
        return explicit
    if flags and flags[0][:1] not in prefix_chars:
        return flags[0]  # a positional keeps its name as written
    long_flags = [flag for flag in flags if len(flag) > 1 and flag[1] in prefix_chars]
    chosen = long_flags[0] if long_flags else (flags[0] if flags else "")
    return chosen.lstrip(prefix_chars).replace("-", "_")


# -- module scope: which names are bound how often --------------------------------------

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
_BLOCKS_OF: dict[type, tuple[str, ...]] = {}  # node type -> the statement lists it holds


def _blocks_of(kind: type) -> tuple[str, ...]:
    blocks = _BLOCKS_OF.get(kind)
    if blocks is None:
        blocks = _BLOCKS_OF[kind] = tuple(block for block in _BLOCKS if block in kind._fields)
    return blocks


def _statements(tree: ast.Module) -> Iterator[tuple[ast.AST, bool]]:
    """Every statement (and except/case clause), with whether it runs in module scope."""
    stack: list[tuple[ast.AST, bool]] = [(node, True) for node in reversed(tree.body)]
    while stack:
        node, module_scope = stack.pop()
        yield node, module_scope
        blocks = _blocks_of(type(node))
        if not blocks:
            continue
        inner = module_scope and not isinstance(node, _SCOPES)
        for block in blocks:
            children = getattr(node, block, None)
            if children and isinstance(children, list):
                stack.extend((child, inner) for child in reversed(children))


def _walk(tree: ast.Module) -> Iterator[tuple[ast.AST, bool]]:
    """Every node, with whether it runs in the module's own scope (not in a def/class body)."""
    stack: list[tuple[ast.AST, bool]] = [(node, True) for node in reversed(tree.body)]
    while stack:
        node, module_scope = stack.pop()
        yield node, module_scope
        children = list(ast.iter_child_nodes(node))
        if module_scope and isinstance(node, _SCOPES):
            outer = {id(child) for child in _evaluated_outside(node)}
            stack.extend((child, id(child) in outer) for child in reversed(children))
        else:
            stack.extend((child, module_scope) for child in reversed(children))


def _evaluated_outside(node: ast.AST) -> list[ast.AST]:
    """The parts of a def/class/lambda that run in the enclosing scope."""
    parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
    if isinstance(node, ast.ClassDef):
        parts += [*node.bases, *node.keywords]
    else:
        parts += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    return parts


def _bound_names(node: ast.AST) -> list[str]:
    """The names a statement (or except / case clause) binds in the scope it runs in (walrus
    targets aside)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".", 1)[0] for alias in node.names]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    return [name for target in _binding_targets(node) for name in _stored_names(target)]


def _binding_targets(node: ast.AST) -> list[ast.AST]:
    """The assignment targets (or the match pattern) of a statement."""
    if isinstance(node, (ast.Assign, ast.Delete)):
        return node.targets
    if isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor)):
        return [node.target]
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [item.optional_vars for item in node.items if item.optional_vars]
    if isinstance(node, ast.match_case):
        return [node.pattern]
    return []


def _stored_names(target: ast.AST) -> list[str]:
    """Every name stored to (or deleted) anywhere inside a target or pattern."""
    if type(target) is ast.Name:  # the common case, without a walk
        return [target.id] if isinstance(target.ctx, (ast.Store, ast.Del)) else []
    names = []
    for part in walk_breadth_first(target):
        if isinstance(part, ast.Name):
            if isinstance(part.ctx, (ast.Store, ast.Del)):
                names.append(part.id)
        elif isinstance(part, (ast.MatchAs, ast.MatchStar)):
            if part.name:
                names.append(part.name)
        elif isinstance(part, ast.MatchMapping) and part.rest:
            names.append(part.rest)
    return names


def _is_update_call(node: ast.AST, dict_configs: set[str]) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update" and isinstance(node.func.value, ast.Name)
            and node.func.value.id in dict_configs)


# -- the reader --------------------------------------------------------------------------

class _Reader:
    def __init__(self, path: str, text: str, index: LineIndex, tree: ast.Module,
                 script: ParsedScript | None = None) -> None:
        self.path = path
        self.text = text
        self.tree = tree
        self.script = script
        self.columns = _Columns(text, index)
        self.folder = _Folder()
        self.entries: list[Value] = []
        self.arguments: list[ArgumentSpec] = []

    def read(self) -> None:
        counts: dict[str, int] = {}
        module_statements: list[ast.AST] = []
        classes: list[ast.ClassDef] = []

        def bind(name: str, times: int = 1) -> None:
            counts[name] = counts.get(name, 0) + times

        for node, module_scope in _statements(self.tree):
            if module_scope:
                for name in _bound_names(node):
                    bind(name)
                module_statements.append(node)
            if isinstance(node, ast.Global):  # rebound from inside a function
                for name in node.names:
                    bind(name, 2)
            elif isinstance(node, ast.ClassDef) and _is_dataclass(node):
                classes.append(node)
        if ":=" in self.text:  # walrus targets bind in the enclosing scope, even in expressions
            for node, module_scope in _walk(self.tree):
                if module_scope and isinstance(node, ast.NamedExpr):
                    bind(node.target.id)
        dict_configs = self._read_module_constants(counts)
        if dict_configs:
            self._read_dict_updates(module_statements, dict_configs)
        if "add_argument" in self.text or "set_defaults" in self.text:
            for node in self._calls():
                if isinstance(node.func, ast.Attribute):
                    if node.func.attr == "add_argument":
                        self._read_add_argument(node)
                    elif node.func.attr == "set_defaults":
                        self._read_set_defaults(node)
        for node in classes:
            self._read_dataclass(node)

    def _calls(self) -> list[ast.Call]:
        """Every call of the file (the order does not matter: entries are sorted by place)."""
        if self.script is not None:
            return self.script.calls
        return [node for node in ast.walk(self.tree) if isinstance(node, ast.Call)]

    # -- entries -----------------------------------------------------------------------

    def _entry(self, key: str, node: ast.AST, key_span: Span | None, origin: str,
               value: Any = None, resolved: bool = False) -> Value:
        """Add the entry for `node` under `key` (and its items, for displays)."""
        span = self.columns.span(node)
        if not resolved:
            value = self.folder.value(node)
        too_long = span.end - span.start > MAX_CONTAINER_RAW and isinstance(
            node, (ast.Dict, ast.List, ast.Tuple, ast.Set, ast.Call))
        raw = "" if too_long else self.text[span.start:span.end]
        entry = Value(value=value, path=self.path, span=span, key=key, key_span=key_span,
                      raw=raw, origin=origin)
        self.entries.append(entry)
        self._items(key, node, origin)
        return entry

    def _items(self, key: str, node: ast.AST, origin: str) -> None:
        if isinstance(node, ast.Dict):
            for key_node, value_node in zip(node.keys, node.values):
                name = _string(key_node)
                if name is not None:
                    self._entry(f"{key}.{name}", value_node, self.columns.span(key_node), origin)
        elif _is_dict_call(node):
            for keyword in node.keywords:
                self._entry(f"{key}.{keyword.arg}", keyword.value,
                            self.columns.name_span(keyword, keyword.arg), origin)
        elif isinstance(node, (ast.List, ast.Tuple)):
            for position, item in enumerate(node.elts):
                if isinstance(item, ast.Starred):
                    break
                self._entry(f"{key}.{position}", item, None, origin)

    # -- module constants and dict configs ---------------------------------------------

    def _read_module_constants(self, counts: dict[str, int]) -> set[str]:
        """Entries for module-level constants; returns the names that hold dict configs."""
        dict_configs: set[str] = set()
        for statement in self.tree.body:
            if isinstance(statement, ast.Assign):
                targets, value_node = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value_node = [statement.target], statement.value
            else:
                continue
            names = [target for target in targets if isinstance(target, ast.Name)]
            if len(names) != len(targets):
                continue
            for target in names:
                if counts.get(target.id, 0) != 1 or target.id.startswith("__"):
                    continue
                if isinstance(value_node, ast.Dict) or _is_dict_call(value_node):
                    dict_configs.add(target.id)
                    self._dict_display(value_node)
                    continue
                value = self.folder.value(value_node)
                if value is UNRESOLVED:
                    continue
                self.folder.constants[target.id] = value
                self._entry(target.id, value_node, self.columns.span(target), "constant",
                            value, resolved=True)
        return dict_configs

    def _dict_display(self, node: ast.AST) -> None:
        if isinstance(node, ast.Dict):
            for key_node, value_node in zip(node.keys, node.values):
                name = _string(key_node)
                if name is not None:
                    self._entry(name, value_node, self.columns.span(key_node), "dictconfig")
        else:
            for keyword in node.keywords:  # dict(k=v)
                self._entry(keyword.arg, keyword.value,
                            self.columns.name_span(keyword, keyword.arg), "dictconfig")

    def _read_dict_updates(self, statements: list[ast.AST], dict_configs: set[str]) -> None:
        for node in statements:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is None:
                    continue
                for target in targets:
                    located = self._subscript_key(target, dict_configs)
                    if located is not None:
                        key, key_node = located
                        self._entry(key, node.value, self.columns.span(key_node), "dictconfig")
            elif isinstance(node, ast.Expr) and _is_update_call(node.value, dict_configs):
                self._read_update(node.value)

    def _read_update(self, call: ast.Call) -> None:
        """`args.update({...})` / `args.update(k=v)`."""
        for argument in call.args:
            if isinstance(argument, ast.Dict) or _is_dict_call(argument):
                self._dict_display(argument)
        for keyword in call.keywords:
            if keyword.arg is not None:
                self._entry(keyword.arg, keyword.value,
                            self.columns.name_span(keyword, keyword.arg), "dictconfig")

    @staticmethod
    def _subscript_key(target: ast.AST, dict_configs: set[str]) -> tuple[str, ast.AST] | None:
        """`args['a']['b']` -> ("a.b", the 'b' node) when `args` is a dict config."""
        parts: list[str] = []
        last_key: ast.AST | None = None
        while isinstance(target, ast.Subscript):
            name = _string(target.slice)
            if name is None:
                return None
            parts.append(name)
            last_key = last_key or target.slice
            target = target.value
        if not parts or not isinstance(target, ast.Name) or target.id not in dict_configs:
            return None
        return ".".join(reversed(parts)), last_key

    # -- argparse ----------------------------------------------------------------------

    def _read_add_argument(self, call: ast.Call) -> None:
        flags = tuple(flag for flag in map(_string, call.args) if flag is not None)
        keywords = {keyword.arg: keyword for keyword in call.keywords if keyword.arg}
        explicit_dest = _string(keywords["dest"].value) if "dest" in keywords else None
        if not flags and explicit_dest is None:
            return
        dest = argparse_dest(flags, explicit_dest)
        action_node = keywords["action"].value if "action" in keywords else None
        action = _string(action_node)
        if action is None and action_node is not None:
            name = dotted(action_node)
            action = name.removeprefix("argparse.") if name else None
        type_node = keywords["type"].value if "type" in keywords else None
        type_name = dotted(type_node) if type_node is not None else None
        spec = ArgumentSpec(
            flags=flags, dest=dest, action=action, type_name=type_name,
            nargs=self._literal_keyword(keywords, "nargs", (str, int)),
            choices=self._choices(keywords),
            help=self._literal_keyword(keywords, "help", (str,)),
            span=self.columns.span(call),
        )
        if "default" in keywords:
            keyword = keywords["default"]
            value = self._typed_default(self.folder.value(keyword.value), type_name)
            spec.default = self._entry(dest, keyword.value,
                                       self.columns.name_span(keyword, "default"),
                                       "argparse", value, resolved=True)
        elif action in _IMPLICIT_DEFAULTS:
            spec.default = Value(value=_IMPLICIT_DEFAULTS[action], path=self.path,
                                 span=self.columns.span(action_node), key=dest,
                                 origin="argparse-implicit")
        self.arguments.append(spec)

    def _read_set_defaults(self, call: ast.Call) -> None:
        for keyword in call.keywords:
            if keyword.arg is not None:
                self._entry(keyword.arg, keyword.value,
                            self.columns.name_span(keyword, keyword.arg), "argparse")

    def _literal_keyword(self, keywords: dict[str, ast.keyword], name: str,
                         kinds: tuple[type, ...]) -> Any:
        if name not in keywords:
            return None
        value = self.folder.value(keywords[name].value)
        return value if isinstance(value, kinds) and not isinstance(value, bool) else None

    def _choices(self, keywords: dict[str, ast.keyword]) -> tuple | None:
        if "choices" not in keywords:
            return None
        value = self.folder.value(keywords["choices"].value)
        if isinstance(value, (list, tuple, set, frozenset)):
            return tuple(value)
        if isinstance(value, (str, dict)):
            return tuple(value)
        return None

    def _typed_default(self, value: Any, type_name: str | None) -> Any:
        """argparse runs `type` on a string default: `type=float, default="1e-4"` is 1e-4."""
        convert = _ARGPARSE_TYPES.get(type_name or "")
        if convert is None or not isinstance(value, str):
            return value
        if type_name in self.folder.constants:  # a module constant shadows the builtin
            return value
        try:
            return self.folder._checked(convert(value))
        except (ValueError, ArithmeticError):
            return value  # argparse would fail at parse_args(); the string is what is written

    # -- dataclasses -------------------------------------------------------------------

    def _read_dataclass(self, node: ast.ClassDef) -> None:
        for statement in node.body:
            if not (isinstance(statement, ast.AnnAssign) and statement.value is not None
                    and isinstance(statement.target, ast.Name)):
                continue
            if _is_class_variable(statement.annotation):
                continue
            default = _field_default(statement.value)
            if default is None:
                continue  # default_factory or no default: nothing to read
            self._entry(statement.target.id, default, self.columns.span(statement.target),
                        "dataclass")


_DATACLASS_DECORATORS = {"dataclass", "define", "frozen", "mutable", "attrs"}  # + attrs'
_MODEL_BASES = {"BaseModel", "BaseSettings"}  # pydantic


def _last_name(node: ast.AST | None) -> str | None:
    name = dotted(node) if node is not None else None
    return name.rsplit(".", 1)[-1] if name else None


def _is_dataclass(node: ast.ClassDef) -> bool:
    """`@dataclass` / `@dataclasses.dataclass(...)`, attrs' `@define`, or a pydantic model."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _last_name(target) in _DATACLASS_DECORATORS:
            return True
    return any(_last_name(base) in _MODEL_BASES for base in node.bases)


def _is_class_variable(annotation: ast.AST) -> bool:
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    return _last_name(annotation) in ("ClassVar", "InitVar")


def _field_default(value: ast.expr) -> ast.expr | None:
    """The default expression of a field: `= x`, `field(default=x)`, pydantic `Field(x)`."""
    if not isinstance(value, ast.Call):
        return value
    called = _last_name(value.func)
    if called not in ("field", "Field", "attrib", "ib"):
        return value
    for keyword in value.keywords:
        if keyword.arg == "default":
            return keyword.value
    if called == "Field" and value.args and not isinstance(value.args[0], ast.Starred):
        first = value.args[0]
        return None if isinstance(first, ast.Constant) and first.value is Ellipsis else first
    return None
