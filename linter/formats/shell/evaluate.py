"""Walking a launcher's statements in order, as the shell would run them, without running them.

Variables assigned earlier are substituted (`Value.raw` keeps the source text, `Value.value`
the substituted value), `cd` is followed, and every simple command is handed to launch
recognition (trainlint.formats.shell.launch). Constructs whose effect cannot be known without
running the script (loops, conditionals, functions, subshells) are skipped with a note; a
block that is never closed is a problem (TL001), and the lines after it are still read.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterator
from typing import Any

from msgspec import Struct

from trainlint.formats.base import Note, SyntaxProblem
from trainlint.formats.shell.launch import LaunchFile, Word, recognize, to_number
from trainlint.formats.shell.scanner import (
    NAME_RE,
    ArrayAssign,
    Lexer,
    Op,
    Part,
    RawWord,
    Redirect,
    Statement,
)
from trainlint.records import UNRESOLVED, Value

class _Var(Struct):
    text: str
    known: bool
    offsets: tuple[int | None, ...] = ()
    array: list[Word] | None = None
    value: Value | None = None


_BASH_OPENERS = {"if": "fi", "for": "done", "while": "done", "until": "done", "select": "done",
                 "case": "esac", "{": "}", "function": "}"}
_BASH_LEADERS = frozenset({"then", "do", "else", "elif", "!", "time", "{"})


class Evaluator:
    """Walks the statements of one language in order, keeping variables and `cd`."""

    def __init__(self, result: LaunchFile) -> None:
        self.result = result
        self.path = result.path
        self.index = result.index
        self.env: dict[str, _Var] = {}
        self.cwd: list[str] = []
        self.cwd_is_script_dir = False

    def finish(self) -> None:
        for name, var in self.env.items():
            if var.value is not None:
                self.result.variables.setdefault(name, var.value)

    # ---- statement walk
    def run(self, statements: Iterator[Statement], language: str, lexer: Lexer) -> None:
        statements = list(statements)
        self.result.notes.extend(lexer.notes)
        self.result.problems.extend(lexer.problems)
        self.result.comments.extend(lexer.comments)
        if language == "powershell":
            for name in getattr(lexer, "assigned_in_blocks", ()):
                self.env[name] = _Var("", False)
            for statement in statements:
                if not statement.broken:
                    self._safely(self._powershell_statement, statement)
            return
        skipped = self._compound_regions(statements)
        for number, statement in enumerate(statements):
            if statement.broken:
                continue  # cut short by a quote that is never closed (reported by the lexer)
            if number in skipped:
                self._mark_unknown_assignments(statement)
                continue
            self._safely(self._bash_statement, statement)

    def _safely(self, handler: Callable[[Statement], None], statement: Statement) -> None:
        try:
            handler(statement)
        except Exception as error:  # pragma: no cover - one odd command must not end the file
            span = self.index.span(statement.start, statement.end)
            self.result.notes.append(Note(
                self.path, span, "command skipped: trainlint could not read it "
                                 f"({type(error).__name__}: {error})"))

    def _compound_regions(self, statements: list[Statement]) -> set[int]:
        """Indices of statements inside loops, conditionals, functions and subshells."""
        skipped: set[int] = set()
        start = 0
        while start < len(statements):
            stack: list[tuple[str, int]] = []
            expect_body = False
            number = start
            restart = None
            while number < len(statements):
                statement = statements[number]
                opened_here = bool(stack)  # a statement that closes a block is inside it
                for kind, item in self._command_position_words(statement):
                    if kind == "open":
                        if not stack:
                            self._skip_note(item, statement)
                        if item == "function-body":
                            expect_body = True
                            stack.append(("}", number))
                        elif item == "{" and expect_body:
                            expect_body = False
                        else:
                            stack.append((_BASH_OPENERS.get(item, item), number))
                        opened_here = True
                    elif kind == "close" and stack and stack[-1][0] == item:
                        stack.pop()
                if stack or opened_here:
                    skipped.add(number)
                number += 1
            if stack:
                closer, opened_at = stack[0]
                statement = statements[opened_at]
                self.result.problems.append(SyntaxProblem(
                    self.path, self.index.span(statement.start, statement.start + 1),
                    f"this block is never closed by '{closer}'; the shell would fail to run "
                    "the script (trainlint reads the lines after it)"))
                skipped = {n for n in skipped if n < opened_at}
                skipped.add(opened_at)
                restart = opened_at + 1
            if restart is None:
                break
            start = restart
        return skipped

    def _command_position_words(self, statement: Statement) -> Iterator[tuple[str, str]]:
        """("open"/"close", keyword) for the reserved words and parentheses of a statement."""
        items = statement.items
        position = 0
        command_position = True
        while position < len(items):
            item = items[position]
            if isinstance(item, Op):
                if item.op == "(" and command_position and not _empty_parens(items, position):
                    yield "open", ")"
                elif item.op == ")":
                    yield "close", ")"  # `)` outside words is always structure
                position += 1
                continue
            word = item.plain() if isinstance(item, RawWord) else None
            if not command_position or word is None:
                command_position = False
                position += 1
                continue
            if _empty_parens(items, position + 1):
                yield "open", "function-body"
                position += 3
                continue
            if word == "function":
                yield "open", "function-body"
                position += 4 if _empty_parens(items, position + 2) else 2
                continue
            if word in _BASH_OPENERS:
                yield "open", word
                if word in ("for", "select", "case"):
                    command_position = False
            elif word in ("fi", "done", "esac", "}"):
                yield "close", word
            elif word not in _BASH_LEADERS:
                command_position = False
            position += 1

    def _skip_note(self, kind: str, statement: Statement) -> None:
        names = {"if": "`if` conditional", "for": "`for` loop", "while": "`while` loop",
                 "until": "`until` loop", "select": "`select` loop", "case": "`case` statement",
                 "{": "`{ }` group", ")": "subshell `( )`", "function-body": "function"}
        what = names.get(kind, f"`{kind}` block")
        span = self.index.span(statement.start, statement.start + 1)
        self.result.notes.append(Note(
            self.path, span, f"{what} skipped: launches inside conditionals, loops and "
                             "functions are not read"))

    def _mark_unknown_assignments(self, statement: Statement) -> None:
        for item in statement.items:
            if isinstance(item, ArrayAssign):
                self.env[item.name] = _Var("", False)
            elif isinstance(item, RawWord):
                split = _split_assignment(item)
                if split is not None:
                    self.env[split[0]] = _Var("", False)

    # ---- bash statements
    def _bash_statement(self, statement: Statement) -> None:
        items = [item for item in statement.items if not isinstance(item, Redirect)]
        position = 0
        prefix: list[tuple[str, list[Word], RawWord | ArrayAssign]] = []
        while position < len(items):
            item = items[position]
            if isinstance(item, ArrayAssign):
                prefix.append((item.name, self._expand_array(item), item))
                position += 1
                continue
            if isinstance(item, RawWord):
                split = _split_assignment(item)
                if split is not None:
                    name, _append, rhs = split
                    prefix.append((name, [self._expand_assignment(rhs, item)], item))
                    position += 1
                    continue
            break
        rest = [item for item in items[position:] if isinstance(item, RawWord)]
        if not rest:
            for name, words, item in prefix:
                self._assign(name, words, item)
            return
        first = rest[0].literal()
        if first in ("export", "declare", "typeset", "local", "readonly"):
            for word in rest[1:]:
                split = _split_assignment(word)
                if split is not None:
                    name, _append, rhs = split
                    self._assign(name, [self._expand_assignment(rhs, word)], word)
            return
        if first == "unset":
            for word in rest[1:]:
                name = word.literal()
                if name:
                    self.env.pop(name, None)
            return
        if first == "read":
            for word in rest[1:]:
                name = word.literal()
                if name and NAME_RE.fullmatch(name):
                    self.env[name] = _Var("", False)
            return
        if first in ("cd", "pushd"):
            self._cd(rest[1:])
            return
        if first == "popd":
            if self.cwd:
                self.cwd.pop()
            return
        words: list[Word] = []
        for raw in rest:
            words.extend(self._expand(raw))
        env = {name: self._var_value(name, value[0] if value else None, item)
               for name, value, item in prefix}
        self._launch(words, env, statement)

    def _cd(self, args: list[RawWord]) -> None:
        if not args:
            return
        source = self.index.text[args[0].start:args[-1].end]
        if "dirname" in source and ("$0" in source or "BASH_SOURCE" in source) \
                or source.strip("\"'") in ("${0%/*}", "$(dirname $0)"):
            self.cwd = []
            self.cwd_is_script_dir = True
            return
        words = self._expand(args[-1])
        if words and words[0].known:
            self.cwd.append(words[0].text)
        else:
            self.cwd.append("?")

    def _assign(self, name: str, words: list[Word], item: RawWord | ArrayAssign) -> None:
        if isinstance(item, ArrayAssign):
            text = " ".join(word.text for word in words)
            known = all(word.known for word in words)
            self.env[name] = _Var(text, known, (), list(words))
            return
        word = words[0] if words else None
        if word is None:
            self.env[name] = _Var("", True)
            return
        value = self._var_value(name, word, item)
        self.env[name] = _Var(word.text, word.known, word.offsets, None, value)

    def _var_value(self, name: str, word: Word | None, item: Any) -> Value:
        if word is None:
            span = self.index.span(item.start, item.end)
            return Value("", self.path, span, name, raw="", origin=self.result.format)
        value = to_number(word.text) if word.known else UNRESOLVED
        key_span = self.index.span(item.start, item.start + len(name))
        return Value(value, self.path, word.span, name, key_span, self.index.text[
            word.span.start:word.span.end], origin=self.result.format)

    def _expand_assignment(self, rhs: list[Part], item: RawWord) -> Word:
        start = rhs[0].start if rhs else item.end
        raw = RawWord(rhs, start, item.end)
        words = self._expand(raw, split=False)
        if words:
            return words[0]
        return Word("", "", self.index.span(item.end, item.end))

    def _expand_array(self, item: ArrayAssign) -> list[Word]:
        words: list[Word] = []
        for element in item.elements:
            words.extend(self._expand(element))
        return words

    # ---- expansion
    def _expand(self, raw: RawWord, split: bool = True) -> list[Word]:
        """Expand one raw word into zero or more words (unquoted expansions split on spaces)."""
        chars: list[tuple[str, int | None, bool]] = []  # (char, offset, splittable)
        known = True
        quoted = False
        variadic = False
        array_words: list[Word] | None = None
        for part in raw.parts:
            if part.kind == "lit":
                quoted = quoted or part.quoted
                chars.extend((ch, off, False) for ch, off in zip(part.text, part.offsets))
                continue
            quoted = quoted or part.quoted
            text, offsets, part_known, elements = self._expand_part(part)
            if elements is not None and part.quoted and len(raw.parts) == 1:
                array_words = elements
                continue
            if part.kind == "param" and (part.text in "@*" and part.op == ""
                                         or part.op in ("[@]", "[*]") and not part_known):
                variadic = True
            if not part_known:
                known = False
                text = self.index.text[part.start:part.end]
                offsets = tuple(range(part.start, part.end))
            splittable = split and not part.quoted and part_known
            chars.extend((ch, off, splittable) for ch, off in zip(text, offsets))
        if array_words is not None:
            return array_words
        span = self.index.span(raw.start, raw.end)
        source = self.index.text[raw.start:raw.end]
        pieces = _split_chars(chars) if split else [chars]
        if len(pieces) == 1 and pieces[0] == chars:
            if not chars and not quoted:
                return []
            return [Word("".join(c for c, _, _ in chars), source, span, known,
                         tuple(o for _, o, _ in chars), variadic, quoted)]
        words = []
        for piece in pieces:
            offsets = tuple(o for _, o, _ in piece)
            text = "".join(c for c, _, _ in piece)
            piece_span = span
            if offsets and None not in offsets and list(offsets) == sorted(offsets):
                piece_span = self.index.span(offsets[0], offsets[-1] + 1)
            raw_text = self.index.text[piece_span.start:piece_span.end]
            words.append(Word(text, raw_text, piece_span, known, offsets, variadic, quoted))
        return words

    def _expand_part(self, part: Part) -> tuple[str, tuple, bool, list[Word] | None]:
        if part.kind == "cmd":
            return "", (), False, None
        if part.kind == "arith":
            number = self._arith(part.text)
            if number is None:
                return "", (), False, None
            text = str(number)
            return text, (None,) * len(text), True, None
        name, op = part.text, part.op
        var = self.env.get(name)
        if op.startswith("["):
            if var is None or not var.known:
                return "", (), False, None
            elements = var.array if var.array is not None else [self._scalar_word(var)]
            subscript = op[1:-1]
            if subscript in ("@", "*"):
                joined = " ".join(word.text for word in elements)
                offsets: list[int | None] = []
                for number, word in enumerate(elements):
                    if number:
                        offsets.append(None)
                    offsets.extend(word.offsets or (None,) * len(word.text))
                return joined, tuple(offsets), all(w.known for w in elements), (
                    elements if subscript == "@" else None)
            if subscript.isdigit() and int(subscript) < len(elements):
                word = elements[int(subscript)]
                return word.text, word.offsets or (None,) * len(word.text), word.known, None
            return "", (), False, None
        if op in ("#len", "other") or not NAME_RE.fullmatch(name.removeprefix("env:")):
            return "", (), False, None
        is_set = var is not None
        empty = is_set and var.known and var.text == ""
        if op in (":-", "-", ":=", "="):
            use_default = not is_set or (op.startswith(":") and empty)
            if use_default:
                text, offsets, known = self._expand_default(part.arg or [])
                if op.endswith("="):
                    self.env[name] = _Var(text, known, offsets)
                return text, offsets, known, None
        elif op in (":+", "+"):
            if not is_set:
                return "", (), True, None
            if not var.known:
                return "", (), False, None
            if op == ":+" and empty:
                return "", (), True, None
            return self._expand_default(part.arg or []) + (None,)
        if not is_set or not var.known:
            return "", (), False, None
        offsets = var.offsets if len(var.offsets) == len(var.text) else (None,) * len(var.text)
        return var.text, offsets, True, None

    def _scalar_word(self, var: _Var) -> Word:
        """A scalar variable used as an array (`${X[@]}` is `$X`)."""
        if var.value is not None:
            return Word(var.text, var.value.raw, var.value.span, var.known, var.offsets)
        return Word(var.text, "", self.index.span(0, 0), var.known, var.offsets)

    def _expand_default(self, parts: list[Part]) -> tuple[str, tuple, bool]:
        if not parts:
            return "", (), True
        raw = RawWord(parts, parts[0].start, parts[-1].end)
        words = self._expand(raw, split=False)
        if not words:
            return "", (), True
        return words[0].text, words[0].offsets, words[0].known

    def _arith(self, expression: str) -> int | None:
        def substitute(match: re.Match) -> str:
            var = self.env.get(match.group(1))
            if var is None or not var.known or not re.fullmatch(r"-?\d+", var.text.strip()):
                raise ValueError(match.group(1))
            return var.text.strip()

        try:
            plain = re.sub(r"\$?\{?([A-Za-z_]\w*)\}?", substitute, expression)
            return _safe_int_eval(plain)
        except (ValueError, SyntaxError, ZeroDivisionError, TypeError):
            return None

    # ---- PowerShell statements
    def _powershell_statement(self, statement: Statement) -> None:
        items = [item for item in statement.items if isinstance(item, RawWord)]
        if not items:
            return
        first = items[0]
        is_variable = len(first.parts) == 1 and first.parts[0].kind == "param" \
            and not first.parts[0].quoted
        if len(items) >= 2 and is_variable and items[1].plain() in ("=", "+=", "-=", "*=", "/="):
            name = first.parts[0].text
            if items[1].plain() != "=" or len(items) != 3:
                self.env[name] = _Var("", False)
                return
            words = self._expand(items[2], split=False)
            word = words[0] if words else Word("", "", self.index.span(items[2].start,
                                                                         items[2].end))
            if items[2].literal() in ("$true", "$false", "$null"):
                word = Word(items[2].literal()[1:], word.raw, word.span, True, word.offsets)
            self.env[name] = _Var(word.text, word.known, word.offsets, None,
                                  self._var_value(name, word, first))
            return
        if len(items) == 1 and len(first.parts) == 2 and first.parts[0].kind == "param" \
                and first.parts[1].kind == "lit" and first.parts[1].text.startswith("=") \
                and not first.parts[0].quoted:
            name = first.parts[0].text
            rhs = first.parts[1]
            text, offsets = rhs.text[1:], rhs.offsets[1:]
            span = self.index.span(offsets[0], offsets[-1] + 1) if offsets else \
                self.index.span(rhs.end, rhs.end)
            word = Word(text, self.index.text[span.start:span.end], span, True, offsets)
            self.env[name] = _Var(text, True, offsets, None, self._var_value(name, word, first))
            return
        first_text = first.plain()
        if first_text and first_text.lower() in ("cd", "set-location", "sl", "push-location",
                                                 "pushd"):
            self._cd(items[1:2])
            return
        if first_text and first_text.lower() in ("pop-location", "popd"):
            if self.cwd:
                self.cwd.pop()
            return
        words: list[Word] = []
        for raw in items:
            words.extend(self._expand(raw, split=False))
        self._launch(words, {}, statement)

    # ---- launches
    def _launch(self, words: list[Word], env: dict[str, Value], statement: Statement) -> None:
        launch = recognize(words, self.path, self.index, self.result.format)
        if launch is None:
            return
        launch.env = env
        launch.cwd = tuple(self.cwd)
        launch.cwd_is_script_dir = self.cwd_is_script_dir
        if launch.span.start > statement.start and env:
            launch.span = self.index.span(statement.start, launch.span.end)
        self.result.launches.append(launch)


def _empty_parens(items: list, position: int) -> bool:
    return position + 1 < len(items) and isinstance(items[position], Op) \
        and items[position].op == "(" and isinstance(items[position + 1], Op) \
        and items[position + 1].op == ")"


def _split_assignment(word: RawWord) -> tuple[str, bool, list[Part]] | None:
    """`NAME=value` / `NAME+=value` -> (NAME, append, the parts of value)."""
    if not word.parts or word.parts[0].kind != "lit" or word.parts[0].quoted:
        return None
    first = word.parts[0]
    match = re.match(r"([A-Za-z_][A-Za-z_0-9]*)(\+?)=", first.text)
    if match is None:
        return None
    cut = match.end()
    rest = first.text[cut:]
    parts = []
    if rest:
        parts.append(Part("lit", rest, first.start + cut, first.end, first.offsets[cut:], False))
    parts.extend(word.parts[1:])
    return match.group(1), bool(match.group(2)), parts


def _split_chars(chars: list[tuple[str, int | None, bool]]) -> list[list]:
    pieces: list[list] = []
    current: list = []
    for item in chars:
        if item[2] and item[0] in " \t\n":
            if current:
                pieces.append(current)
                current = []
            continue
        current.append(item)
    if current or not pieces:
        pieces.append(current)
    return pieces


_ARITH_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.FloorDiv: operator.floordiv, ast.Div: operator.floordiv, ast.Mod: operator.mod}


def _safe_int_eval(expression: str) -> int:
    tree = ast.parse(expression.strip(), mode="eval")

    def evaluate(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return evaluate(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
            return _ARITH_OPS[type(node.op)](evaluate(node.left), evaluate(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -evaluate(node.operand)
        raise ValueError("not integer arithmetic")

    return evaluate(tree)
