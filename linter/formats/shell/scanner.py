"""What the bash and PowerShell lexers share: token shapes, statements, and one word scanner.

A word is read by one loop (`Lexer.read_word`) for both languages: it stops where the
language ends a word, reads escapes, single- and double-quoted strings and expansions with
the language's own rules (the hooks each lexer defines), and keeps the source offset of every
character it keeps, so that a finding can point at the exact characters of a flag or value.
Double-quoted strings are read by one loop too (`Lexer.read_double_quoted`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from msgspec import Struct

from trainlint.formats.base import Note, SyntaxProblem
from trainlint.text import LineIndex, Span

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
SEPARATORS = frozenset({"\n", ";", "&", "&&", "||", "|", "|&", ";;", ";&", ";;&"})
REDIRECTS = frozenset({"<", ">", ">>", ">&", "<&", "<>", ">|", "&>", "&>>", "<<<", "<<", "<<-"})


# --------------------------------------------------------------------------- token shapes


class Part(Struct):
    kind: str  # lit, param, cmd, arith
    text: str  # literal text, parameter name, or arithmetic expression
    start: int
    end: int
    offsets: tuple[int | None, ...] = ()
    quoted: bool = False
    op: str = ""  # parameter operator: ":-", "-", ":=", ":+", "[@]", "#len", "other", ...
    arg: list[Part] | None = None


class RawWord(Struct):
    parts: list[Part]
    start: int
    end: int

    def literal(self) -> str | None:
        """The word's text when it has no expansions (quotes removed), else None."""
        if any(part.kind != "lit" for part in self.parts):
            return None
        return "".join(part.text for part in self.parts)

    def plain(self) -> str | None:
        """The text when the word is one unquoted literal (a keyword candidate)."""
        if len(self.parts) == 1 and self.parts[0].kind == "lit" and not self.parts[0].quoted:
            return self.parts[0].text
        return None


class ArrayAssign(Struct):
    name: str
    elements: list[RawWord]
    start: int
    end: int


class Op(Struct):
    op: str
    start: int
    end: int


class Redirect(Struct):
    op: str
    target: RawWord | None
    start: int
    end: int


class Statement(Struct):
    items: list  # RawWord, ArrayAssign, Redirect, Op("(" / ")" / "{" / "}")
    start: int
    end: int
    broken: bool = False  # cut short by a lexing error


class Unbalanced(Exception):
    def __init__(self, start: int, what: str) -> None:
        super().__init__(what)
        self.start = start
        self.what = what


class WordBuilder:
    """The parts of one word as it is read: literal characters with their source offsets,
    joined into one literal part whenever an expansion or a quoted string comes between."""

    __slots__ = ("parts", "chars", "offsets", "quoted")

    def __init__(self, quoted: bool = False) -> None:
        self.parts: list[Part] = []
        self.chars: list[str] = []
        self.offsets: list[int] = []
        self.quoted = quoted

    def add(self, char: str, offset: int) -> None:
        self.chars.append(char)
        self.offsets.append(offset)

    def flush(self) -> None:
        if self.chars:
            self.parts.append(Part("lit", "".join(self.chars), self.offsets[0],
                                   self.offsets[-1] + 1, tuple(self.offsets), self.quoted))
            self.chars, self.offsets = [], []

    def part(self, part: Part) -> None:
        self.flush()
        self.parts.append(part)

    @property
    def pending(self) -> str:
        """The literal characters read since the last part."""
        return "".join(self.chars)


# --------------------------------------------------------------------------- the lexer


class Lexer:
    """Token recognition over text[start:end], with character offsets. Subclasses give the
    language: `tokens()` and the word hooks below."""

    language = ""
    escape = "\\"  # the character that escapes the next one in a word
    expansion_chars = "$"  # characters that may start an expansion in a word

    def __init__(self, text: str, start: int, end: int, index: LineIndex, path: str) -> None:
        self.text = text
        self.pos = start
        self.end = end
        self.index = index
        self.path = path
        self.notes: list[Note] = []
        self.problems: list[SyntaxProblem] = []
        self.comments: list[tuple[int, int]] = []  # (start, end) of every comment

    def tokens(self) -> Iterator[Any]:
        raise NotImplementedError

    # ---- what the lexer reports
    def span(self, start: int, end: int | None = None) -> Span:
        return self.index.span(start, start + 1 if end is None else end)

    def problem(self, start: int, end: int, message: str) -> None:
        """A place the shell would fail to read (data for TL001)."""
        self.problems.append(SyntaxProblem(self.path, self.span(start, end), message))

    def note(self, start: int, end: int, message: str) -> None:
        """A construct skipped because its effect is not known without running it."""
        self.notes.append(Note(self.path, self.span(start, end), message))

    def comment(self, start: int) -> int:
        """Record the comment that starts at `start`; the offset of its line's end."""
        newline = self.text.find("\n", start, self.end)
        line_end = self.end if newline == -1 else newline
        stop = line_end - 1 if line_end > start and self.text[line_end - 1] == "\r" else line_end
        self.comments.append((start, stop))
        return line_end

    def recover(self, error: Unbalanced) -> Op:
        """After a quote or bracket that is never closed: a problem, and go on at the next line."""
        line, _col = self.index.line_col(error.start)
        self.problem(error.start, error.start + 1,
                     f"{error.what} is never closed; the shell would fail here "
                     f"(trainlint skips to line {line + 1})")
        newline = self.text.find("\n", error.start, self.end)
        self.pos = self.end if newline == -1 else newline + 1
        return Op("error", error.start, self.pos)

    # ---- statements
    def statements(self) -> Iterator[Statement]:
        items: list = []
        start = None
        for token in self.tokens():
            if isinstance(token, Op) and token.op == "error":
                if items:
                    yield Statement(items, start, token.start, broken=True)
                items, start = [], None
                continue
            if isinstance(token, Op) and token.op in SEPARATORS:
                if items:
                    yield Statement(items, start, token.start)
                items, start = [], None
                continue
            if start is None:
                start = token.start
            if isinstance(token, Op) and token.op in REDIRECTS:
                previous = items[-1] if items else None
                if isinstance(previous, RawWord) and previous.end == token.start \
                        and (previous.plain() or "").isdigit():
                    items.pop()  # the file descriptor of `2>&1`
                items.append(Redirect(token.op, None, token.start, token.end))
                continue
            if isinstance(token, RawWord) and items and isinstance(items[-1], Redirect) \
                    and items[-1].target is None:
                items[-1].target = token
                items[-1].end = token.end
                continue
            items.append(token)
        if items:
            yield Statement(items, start, items[-1].end)

    # ---- words
    def read_word(self) -> RawWord | ArrayAssign:
        """One word at self.pos, read up to where the language ends it."""
        start = self.pos
        whole = self.whole_word(start)
        if whole is not None:
            return whole
        text, end = self.text, self.end
        word = WordBuilder()
        pos = start
        while pos < end:
            char = text[pos]
            if self.ends_word(char, pos, start):
                other = self.at_word_end(char, pos, word, start)
                if other is not None:
                    return other
                break
            if char == self.escape:
                after = self.read_escape(pos, word)
                if after is None:
                    break
                pos = after
                continue
            if char == "'":
                pos = self.read_single_quoted(pos, word)
                continue
            if char == '"':
                pos = self.read_double_quoted(pos, word)
                continue
            if char in self.expansion_chars:
                part, after = self.expansion(pos, False, start)
                if part is not None:
                    word.part(part)
                    pos = after
                    continue
            word.add(char, pos)
            pos += 1
        word.flush()
        self.pos = pos
        return self.word_read(RawWord(word.parts, start, pos))

    def read_double_quoted(self, open_at: int, word: WordBuilder) -> int:
        """A double-quoted string at `open_at` into `word`; the offset after it."""
        word.flush()
        close = self.double_quote_close(open_at)  # None: the first `"` the loop meets
        limit = self.end if close is None else close
        text = self.text
        inner = WordBuilder(quoted=True)
        pos = open_at + 1
        while pos < limit:
            char = text[pos]
            if close is None and char == '"':
                close = pos
                break
            after = self.read_quoted_escape(pos, limit, inner)
            if after is not None:
                pos = after
                continue
            if char in self.expansion_chars:
                part, after = self.expansion(pos, True, open_at)
                if part is not None:
                    inner.part(part)
                    pos = after
                    continue
            inner.add(char, pos)
            pos += 1
        if close is None:
            raise Unbalanced(open_at, 'double quote (")')
        inner.flush()
        word.parts.extend(inner.parts or [Part("lit", "", open_at, close + 1, (), True)])
        return close + 1

    # ---- hooks of a language
    def whole_word(self, start: int) -> RawWord | None:
        """A word that is one construct by its first character, or None."""
        return None

    def ends_word(self, char: str, pos: int, start: int) -> bool:
        raise NotImplementedError

    def at_word_end(self, char: str, pos: int, word: WordBuilder,
                    start: int) -> RawWord | ArrayAssign | None:
        """Something else than a word where a word ends (bash: `NAME=(` starts an array)."""
        return None

    def read_escape(self, pos: int, word: WordBuilder) -> int | None:
        """The escape character at pos: the offset after it, or None when it ends the word."""
        raise NotImplementedError

    def read_single_quoted(self, pos: int, word: WordBuilder) -> int:
        raise NotImplementedError

    def double_quote_close(self, open_at: int) -> int | None:
        """The offset of the closing `"`, when the language finds it before reading inside."""
        return None

    def read_quoted_escape(self, pos: int, limit: int, word: WordBuilder) -> int | None:
        """An escape inside double quotes at pos: the offset after it, or None: no escape."""
        raise NotImplementedError

    def expansion(self, pos: int, quoted: bool, start: int) -> tuple[Part | None, int]:
        """An expansion at pos (`$x`, `$(...)`, ...): (its part, the offset after it), or
        (None, pos) where the character is plain text."""
        raise NotImplementedError

    def word_read(self, word: RawWord) -> RawWord:
        return word
