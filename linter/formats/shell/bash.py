"""The bash lexer: POSIX shell token recognition, with the source offset of every character.

It follows the shell's token recognition (quotes, escapes, `$`-expansions, operators,
comments, here-documents) character by character; `shlex` gives no offsets and mishandles
`\\`-newline inside words, and bashlex rejects `[[`, `$((...))`, arrays and `case`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from trainlint.formats.shell.scanner import (
    NAME_RE,
    REDIRECTS,
    SEPARATORS,
    ArrayAssign,
    Lexer,
    Op,
    Part,
    RawWord,
    Unbalanced,
    WordBuilder,
)
from trainlint.text import LineIndex

_OPERATORS = sorted(SEPARATORS | REDIRECTS | {"(", ")"}, key=len, reverse=True)
_OPERATORS.remove("\n")


class BashLexer(Lexer):
    """POSIX shell token recognition over text[start:end], with character offsets."""

    language = "shell"
    escape = "\\"
    expansion_chars = "$`"

    def __init__(self, text: str, start: int, end: int, index: LineIndex, path: str) -> None:
        super().__init__(text, start, end, index, path)
        self._heredocs: list[tuple[str, bool, int, int]] = []  # (delimiter, strip tabs, start, end)
        self._expect_heredoc: tuple[bool, int, int] | None = None

    def tokens(self) -> Iterator[Any]:
        text, end = self.text, self.end
        while self.pos < end:
            char = text[self.pos]
            if char in " \t\f\v":
                self.pos += 1
            elif char == "\\" and self.pos + 1 < end and text[self.pos + 1] == "\n":
                self.pos += 2
            elif char == "\\" and text.startswith("\r\n", self.pos + 1):
                self.pos += 3
            elif char == "\r" and text.startswith("\n", self.pos + 1):
                self.pos += 1
            elif char == "\n":
                yield Op("\n", self.pos, self.pos + 1)
                self.pos += 1
                self._read_heredocs()
            elif char == "#":
                self.pos = self.comment(self.pos)
            elif char in "|&;<>()":
                token = self._operator()
                yield token
            else:
                try:
                    token = self.read_word()
                except Unbalanced as error:
                    yield self.recover(error)
                    continue
                yield token

    def _operator(self) -> Op:
        text = self.text
        for op in _OPERATORS:
            if text.startswith(op, self.pos) and self.pos + len(op) <= self.end:
                token = Op(op, self.pos, self.pos + len(op))
                self.pos += len(op)
                if op in ("<<", "<<-"):
                    self._expect_heredoc = (op == "<<-", token.start, token.end)
                return token
        raise AssertionError("unreachable")  # pragma: no cover

    def recover(self, error: Unbalanced) -> Op:
        self._expect_heredoc = None
        return super().recover(error)

    def _read_heredocs(self) -> None:
        text, end = self.text, self.end
        while self._heredocs:
            delimiter, strip_tabs, op_start, op_end = self._heredocs.pop(0)
            pos = self.pos
            closed = False
            while pos < end:
                newline = text.find("\n", pos, end)
                line_end = end if newline == -1 else newline
                line = text[pos:line_end].rstrip("\r")
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    pos = line_end + 1 if newline != -1 else end
                    closed = True
                    break
                pos = line_end + 1 if newline != -1 else end
            if closed:
                self.note(op_start, op_end,
                           f"here-document (<<{delimiter}) skipped: its text is not read")
                self.pos = pos
            else:
                self.problem(op_start, op_end,
                              f"here-document is never closed by a line '{delimiter}'; "
                              "the shell would read the rest of the file as its text")

    # ---- word hooks (see Lexer.read_word)
    def ends_word(self, char: str, pos: int, start: int) -> bool:
        return char in " \t\n|&;<>()" or (char == "\r" and self.text.startswith("\n", pos + 1))

    def at_word_end(self, char: str, pos: int, word: WordBuilder,
                    start: int) -> ArrayAssign | None:
        if char == "(" and not word.parts and word.chars:
            pending = word.pending
            if pending.endswith("=") and NAME_RE.fullmatch(pending[:-1].rstrip("+")):
                self.pos = pos + 1
                return self._array(pending[:-1].rstrip("+"), start)
        return None

    def read_escape(self, pos: int, word: WordBuilder) -> int:
        text, end = self.text, self.end
        if pos + 1 >= end:
            word.add("\\", pos)
            return pos + 1
        following = text[pos + 1]
        if following == "\n":
            return pos + 2
        if following == "\r" and text.startswith("\n", pos + 2):
            return pos + 3
        if following in " \t":
            newline = text.find("\n", pos, end)
            if newline != -1 and text[pos + 1:newline].strip() == "":
                self._trailing_space_note(pos)
        word.add(following, pos + 1)
        return pos + 2

    def read_single_quoted(self, pos: int, word: WordBuilder) -> int:
        text = self.text
        close = text.find("'", pos + 1, self.end)
        if close == -1:
            raise Unbalanced(pos, "single quote (')")
        if close > pos + 1:
            word.part(Part("lit", text[pos + 1:close], pos + 1, close,
                           tuple(range(pos + 1, close)), True))
        else:
            word.part(Part("lit", "", pos, close + 1, (), True))
        return close + 1

    def read_quoted_escape(self, pos: int, limit: int, word: WordBuilder) -> int | None:
        text = self.text
        if text[pos] == "\\" and pos + 1 < self.end and text[pos + 1] in '$`"\\\n':
            if text[pos + 1] != "\n":
                word.add(text[pos + 1], pos + 1)
            return pos + 2
        return None

    def expansion(self, pos: int, quoted: bool, start: int) -> tuple[Part | None, int]:
        return self._expansion(pos, quoted)

    def word_read(self, word: RawWord) -> RawWord:
        if self._expect_heredoc is not None:
            strip_tabs, op_start, op_end = self._expect_heredoc
            self._expect_heredoc = None
            delimiter = "".join(part.text for part in word.parts if part.kind == "lit")
            self._heredocs.append((delimiter, strip_tabs, op_start, op_end))
        return word

    def _trailing_space_note(self, pos: int) -> None:
        self.problem(pos, pos + 1, "backslash followed by a space at the end of the line: the "
                                   "line does not continue, and the next line runs as a "
                                   "separate command")

    def _array(self, name: str, start: int) -> ArrayAssign:
        elements: list[RawWord] = []
        text, end = self.text, self.end
        while True:
            while self.pos < end and text[self.pos] in " \t\n\r":
                self.pos += 1
            if self.pos >= end:
                raise Unbalanced(start, f"array '{name}=(' ")
            if text[self.pos] == ")":
                self.pos += 1
                return ArrayAssign(name, elements, start, self.pos)
            if text[self.pos] == "#":
                self.pos = self.comment(self.pos)
                continue
            if text.startswith("\\\n", self.pos):
                self.pos += 2
                continue
            word = self.read_word()
            if isinstance(word, RawWord) and word.end > word.start:
                elements.append(word)
            elif self.pos < end and text[self.pos] in "|&;<>(":
                self.pos += 1

    def _expansion(self, pos: int, quoted: bool) -> tuple[Part | None, int]:
        text, end = self.text, self.end
        if text[pos] == "`":
            close = self._find_close(pos + 1, "`")
            return Part("cmd", text[pos + 1:close], pos, close + 1, quoted=quoted), close + 1
        following = text[pos + 1] if pos + 1 < end else ""
        if following == "(":
            if text.startswith("((", pos + 1):
                close = self._find_close(pos + 3, ")")
                if close + 1 < end and text[close + 1] == ")":
                    return (Part("arith", text[pos + 3:close], pos, close + 2, quoted=quoted),
                            close + 2)
                close = self._find_close(close + 1, ")")
                return Part("cmd", text[pos + 2:close], pos, close + 1, quoted=quoted), close + 1
            close = self._find_close(pos + 2, ")")
            return Part("cmd", text[pos + 2:close], pos, close + 1, quoted=quoted), close + 1
        if following == "{":
            close = self._find_close(pos + 2, "}")
            return self._brace_parameter(pos, close, quoted), close + 1
        if following and (following.isalpha() or following == "_"):
            match = NAME_RE.match(text, pos + 1, end)
            return Part("param", match.group(), pos, match.end(), quoted=quoted), match.end()
        if following and (following.isdigit() or following in "@*#?$!-"):
            return Part("param", following, pos, pos + 2, quoted=quoted), pos + 2
        if following == "'" and not quoted:  # $'...' ANSI-C quoting: keep as literal text
            close = text.find("'", pos + 2, end)
            if close == -1:
                raise Unbalanced(pos, "quote ($')")
            return Part("lit", text[pos + 2:close], pos, close + 1,
                         tuple(range(pos + 2, close)), True), close + 1
        return None, pos

    def _brace_parameter(self, pos: int, close: int, quoted: bool) -> Part:
        body = self.text[pos + 2:close]
        if body.startswith("#") and NAME_RE.fullmatch(body[1:]):
            return Part("param", body[1:], pos, close + 1, quoted=quoted, op="#len")
        match = NAME_RE.match(body) or re.match(r"[0-9@*#?$!-]", body)
        if match is None:
            return Part("param", body, pos, close + 1, quoted=quoted, op="other")
        name, rest = match.group(), body[match.end():]
        if rest.startswith("[") and "]" in rest:
            subscript, rest = rest[1:rest.index("]")], rest[rest.index("]") + 1:]
            if rest:
                return Part("param", name, pos, close + 1, quoted=quoted, op="other")
            return Part("param", name, pos, close + 1, quoted=quoted, op=f"[{subscript}]")
        if not rest:
            return Part("param", name, pos, close + 1, quoted=quoted)
        for op in (":-", ":=", ":+", "-", "=", "+"):
            if rest.startswith(op):
                arg_start = pos + 2 + match.end() + len(op)
                sub = BashLexer(self.text, arg_start, close, self.index, self.path)
                arg_parts = sub._word_parts_until(close)
                return Part("param", name, pos, close + 1, quoted=quoted, op=op, arg=arg_parts)
        return Part("param", name, pos, close + 1, quoted=quoted, op="other")

    def _word_parts_until(self, close: int) -> list[Part]:
        """Parts of the text up to `close` (a `${x:-default}` default), spaces kept."""
        parts: list[Part] = []
        while self.pos < close:
            if self.text[self.pos] in " \t":
                parts.append(Part("lit", self.text[self.pos], self.pos, self.pos + 1,
                                   (self.pos,), True))
                self.pos += 1
                continue
            saved_end = self.end
            self.end = close
            try:
                word = self.read_word()
            finally:
                self.end = saved_end
            if isinstance(word, RawWord):
                parts.extend(word.parts)
            if self.pos < close and self.text[self.pos] in "|&;<>()\n":
                char = self.text[self.pos]
                parts.append(Part("lit", char, self.pos, self.pos + 1, (self.pos,), True))
                self.pos += 1
        return parts

    def _find_close(self, pos: int, closer: str) -> int:
        """Index of the `closer` that ends a construct opened just before pos."""
        text, end = self.text, self.end
        start = pos
        depth = 0
        opener = {")": "(", "}": "{"}.get(closer)
        while pos < end:
            char = text[pos]
            if char == "\\":
                pos += 2
                continue
            if char == closer and depth == 0:
                return pos
            if opener and char == opener:
                depth += 1
            elif opener and char == closer:
                depth -= 1
            elif char == "'" and closer != "`":
                close = text.find("'", pos + 1, end)
                if close == -1:
                    raise Unbalanced(pos, "single quote (')")
                pos = close
            elif char == '"' and closer != "`":
                pos = self._skip_double(pos)
            elif char == "`" and closer != "`":
                pos = self._find_close(pos + 1, "`")
            elif char == "$" and text.startswith("(", pos + 1):
                pos = self._find_close(pos + 2, ")")
            elif char == "$" and text.startswith("{", pos + 1):
                pos = self._find_close(pos + 2, "}")
            pos += 1
        what = {"`": "backquote (`)", ")": "'$(' or '$(('", "}": "'${'"}[closer]
        raise Unbalanced(start - (1 if closer == "`" else 2), what)

    def _skip_double(self, pos: int) -> int:
        text, end = self.text, self.end
        open_at = pos
        pos += 1
        while pos < end:
            char = text[pos]
            if char == "\\":
                pos += 2
                continue
            if char == '"':
                return pos
            if char == "$" and text.startswith("(", pos + 1):
                pos = self._find_close(pos + 2, ")")
            elif char == "$" and text.startswith("{", pos + 1):
                pos = self._find_close(pos + 2, "}")
            elif char == "`":
                pos = self._find_close(pos + 1, "`")
            pos += 1
        raise Unbalanced(open_at, 'double quote (")')
