"""The PowerShell lexer: argument-mode tokens with the source offset of every character.

Backtick escapes and continuations, its quoting rules (`''` and `""` inside quotes),
`$var` / `${var}` / `$env:VAR`, `#` and `<# #>` comments. Flow-control blocks (`if`,
`foreach`, functions, ...) and here-strings are skipped with a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from trainlint.formats.shell.scanner import Lexer, Op, Part, RawWord, Unbalanced, WordBuilder
from trainlint.text import LineIndex

_PS_FLOW = frozenset({"if", "elseif", "else", "foreach", "for", "while", "do", "until", "switch",
                      "function", "filter", "try", "catch", "finally", "trap", "workflow",
                      "begin", "process", "end", "param", "class", "enum"})
_PS_CONTINUATIONS = frozenset({"else", "elseif", "catch", "finally", "until", "while"})


class PowerShellLexer(Lexer):
    """PowerShell's argument-mode tokens: backtick escapes and continuations, its quoting rules,
    `$var`/`${var}`/`$env:VAR`, `#` and `<# #>` comments. Flow-control blocks are skipped."""

    language = "powershell"
    escape = "`"
    expansion_chars = "$("

    def __init__(self, text: str, start: int, end: int, index: LineIndex, path: str) -> None:
        super().__init__(text, start, end, index, path)
        self.assigned_in_blocks: set[str] = set()

    def tokens(self) -> Iterator[Any]:
        text, end = self.text, self.end
        at_command_start = True
        while self.pos < end:
            char = text[self.pos]
            if char in " \t\f\v\r":
                self.pos += 1
            elif char == "`" and self.pos + 1 < end and text[self.pos + 1] in "\r\n":
                self.pos += 3 if text.startswith("\r\n", self.pos + 1) else 2
            elif char == "`" and self._backtick_before_space(self.pos):
                self._backtick_space_problem(self.pos)
                self.pos += 1
            elif char == "\n" or char == ";":
                yield Op("\n", self.pos, self.pos + 1)
                self.pos += 1
                at_command_start = True
            elif text.startswith("<#", self.pos):
                close = text.find("#>", self.pos + 2, end)
                self.comments.append((self.pos, end if close == -1 else close + 2))
                self.pos = end if close == -1 else close + 2
            elif char == "#":
                self.pos = self.comment(self.pos)
            elif char in "|":
                yield Op("|", self.pos, self.pos + 1)
                self.pos += 1
                at_command_start = True
            elif char == "&" and text.startswith("&&", self.pos):
                yield Op("&&", self.pos, self.pos + 2)
                self.pos += 2
                at_command_start = True
            elif char == "&":  # the call operator
                self.pos += 1
            elif char == "@" and text[self.pos + 1:self.pos + 2] in ('"', "'") \
                    and text.startswith("\n", self._skip_blanks(self.pos + 2)):
                self._skip_here_string()
            elif char in "{(" and at_command_start:
                start = self.pos
                try:
                    self._skip_block(self.pos)
                except Unbalanced as error:
                    yield self.recover(error)
                    continue
                self.note(start, start + 1, "PowerShell block skipped: its commands are "
                                              "not read")
            elif char == ">" or (char.isdigit() and text.startswith(">", self.pos + 1)):
                match = re.compile(r"\d?>>?(&\d)?").match(text, self.pos)
                op_end = match.end() if match else self.pos + 1
                yield Op(">", self.pos, op_end)
                self.pos = op_end
            else:
                try:
                    token = self.read_word()
                except Unbalanced as error:
                    yield self.recover(error)
                    at_command_start = True
                    continue
                if at_command_start:
                    keyword = token.plain()
                    if keyword and keyword.lower() in _PS_FLOW:
                        try:
                            self._skip_flow(token.start)
                        except Unbalanced as error:
                            yield self.recover(error)
                        continue
                at_command_start = False
                yield token

    def _skip_blanks(self, pos: int) -> int:
        while pos < self.end and self.text[pos] in " \t\r":
            pos += 1
        return pos

    def _backtick_before_space(self, pos: int) -> bool:
        newline = self.text.find("\n", pos, self.end)
        rest = self.text[pos + 1:self.end if newline == -1 else newline]
        return rest.rstrip("\r") != "" and rest.strip() == "" and newline != -1

    def _backtick_space_problem(self, pos: int) -> None:
        self.problem(pos, pos + 1, "backtick followed by whitespace at the end of the line: the "
                                   "line does not continue, and the next line runs as a "
                                   "separate command")

    def _skip_here_string(self) -> None:
        start = self.pos
        quote = self.text[self.pos + 1]
        close = self.text.find("\n" + quote + "@", self.pos, self.end)
        if close == -1:
            self.problem(start, start + 2, f"here-string @{quote} is never closed by a line "
                                            f"starting with {quote}@")
            newline = self.text.find("\n", start, self.end)
            self.pos = self.end if newline == -1 else newline + 1
            return
        self.note(start, start + 2, "here-string skipped: its text is not read")
        self.pos = close + 3

    def _skip_flow(self, start: int) -> None:
        """Skip a flow-control statement: its header, its `{ }` block, and else/catch parts."""
        keyword = self.text[start:self.pos].lower()
        self.note(start, self.pos, f"`{keyword}` block skipped: launches inside PowerShell "
                                    "conditionals, loops and functions are not read")
        block_start = self.pos
        while True:
            brace = self._next_brace(self.pos)
            if brace is None:
                self.problem(start, block_start, f"`{keyword}` has no {{ }} block")
                return
            self._skip_block(brace)
            self._mark_assignments(block_start, self.pos)
            following = re.compile(r"[ \t\r\n]*([A-Za-z]+)").match(self.text, self.pos, self.end)
            if following and following.group(1).lower() in _PS_CONTINUATIONS:
                self.pos = following.end()
                block_start = self.pos
                continue
            return

    def _next_brace(self, pos: int) -> int | None:
        text, end = self.text, self.end
        while pos < end:
            char = text[pos]
            if char == "{":
                return pos
            if char in "'\"":
                pos = self._ps_skip_string(pos)
            elif char == "#":
                pos = self.comment(pos)
                continue
            pos += 1
        return None

    def _skip_block(self, pos: int) -> None:
        text, end = self.text, self.end
        opener = text[pos]
        closer = {"{": "}", "(": ")"}[opener]
        depth = 0
        start = pos
        while pos < end:
            char = text[pos]
            if char == "`":
                pos += 2
                continue
            if char in "'\"":
                pos = self._ps_skip_string(pos) + 1
                continue
            if char == "#" and not text.startswith("<#", pos - 1):
                pos = self.comment(pos)
                continue
            if char == opener:
                depth += 1
            elif char == closer:
                depth -= 1
                if depth == 0:
                    self.pos = pos + 1
                    return
            pos += 1
        raise Unbalanced(start, f"'{opener}'")

    def _mark_assignments(self, start: int, end: int) -> None:
        for match in re.finditer(r"\$(?:env:)?([A-Za-z_]\w*)\s*[+\-*/]?=(?!=)",
                                 self.text[start:end]):
            self.assigned_in_blocks.add(match.group(1))

    def _ps_skip_string(self, pos: int) -> int:
        """Index of the quote that closes the string opened at pos."""
        text, end = self.text, self.end
        quote = text[pos]
        scan = pos + 1
        while scan < end:
            char = text[scan]
            if quote == '"' and char == "`":
                scan += 2
                continue
            if char == quote:
                if text.startswith(quote, scan + 1):
                    scan += 2
                    continue
                return scan
            scan += 1
        raise Unbalanced(pos, "single quote (')" if quote == "'" else 'double quote (")')

    # ---- word hooks (see Lexer.read_word)
    def whole_word(self, start: int) -> RawWord | None:
        text = self.text
        if text[start] in "{(":
            self._skip_block(start)
            return RawWord([Part("cmd", text[start:self.pos], start, self.pos)], start, self.pos)
        if text[start] in "})":
            self.pos = start + 1
            return RawWord([Part("lit", text[start], start, start + 1, (start,), False)], start,
                           start + 1)
        return None

    def ends_word(self, char: str, pos: int, start: int) -> bool:
        return char in " \t\r\n;|{})" or (char == "&" and pos > start)

    def read_escape(self, pos: int, word: WordBuilder) -> int | None:
        text, end = self.text, self.end
        if pos + 1 < end and text[pos + 1] in "\r\n":
            return None  # a continuation: the word ends here
        if pos + 1 < end:
            word.add(_PS_ESCAPES.get(text[pos + 1], text[pos + 1]), pos + 1)
        return pos + 2

    def read_single_quoted(self, pos: int, word: WordBuilder) -> int:
        text = self.text
        close = self._ps_skip_string(pos)
        chars, offsets = [], []
        scan = pos + 1
        while scan < close:  # `''` is one quote
            chars.append(text[scan])
            offsets.append(scan)
            scan += 2 if text.startswith("''", scan) else 1
        word.part(Part("lit", "".join(chars), pos, close + 1, tuple(offsets), True) if close > pos + 1
                  else Part("lit", "", pos, close + 1, (), True))
        return close + 1

    def double_quote_close(self, open_at: int) -> int:
        return self._ps_skip_string(open_at)

    def read_quoted_escape(self, pos: int, limit: int, word: WordBuilder) -> int | None:
        text = self.text
        if text[pos] == "`" and pos + 1 < limit:
            word.add(_PS_ESCAPES.get(text[pos + 1], text[pos + 1]), pos + 1)
            return pos + 2
        if text[pos] == '"' and text.startswith('"', pos + 1):  # `""` is one quote
            word.add('"', pos)
            return pos + 2
        return None

    def expansion(self, pos: int, quoted: bool, start: int) -> tuple[Part | None, int]:
        text = self.text
        if text[pos] == "$":
            part = self._ps_variable(pos, quoted) if pos + 1 < self.end else None
            return (part, part.end) if part is not None else (None, pos)
        if not quoted and pos > start:  # `(` inside a word: a subexpression
            close = self._find_ps_paren(pos)
            return Part("cmd", text[pos + 1:close], pos, close + 1), close + 1
        return None, pos

    def _find_ps_paren(self, pos: int) -> int:
        depth = 0
        text, end = self.text, self.end
        scan = pos
        while scan < end:
            char = text[scan]
            if char in "'\"":
                scan = self._ps_skip_string(scan) + 1
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    return scan
            scan += 1
        raise Unbalanced(pos, "parenthesis (")

    def _ps_variable(self, pos: int, quoted: bool) -> Part | None:
        text, end = self.text, self.end
        following = text[pos + 1]
        if following == "(":
            close = self._find_ps_paren(pos + 1)
            return Part("cmd", text[pos + 2:close], pos, close + 1, quoted=quoted)
        if following == "{":
            close = text.find("}", pos + 2, end)
            if close == -1:
                raise Unbalanced(pos, "'${'")
            name = text[pos + 2:close]
            return Part("param", _ps_name(name), pos, close + 1, quoted=quoted)
        match = re.compile(r"(?:env:|global:|script:|local:)?[A-Za-z_][A-Za-z_0-9]*",
                           re.IGNORECASE).match(text, pos + 1, end)
        if match is None:
            return None
        return Part("param", _ps_name(match.group()), pos, match.end(), quoted=quoted)


_PS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f",
               "v": "\v", "e": "\x1b"}


def _ps_name(name: str) -> str:
    """PowerShell variable names are case-insensitive; `$env:X` reads the environment."""
    lower = name.lower()
    for scope in ("global:", "script:", "local:"):
        if lower.startswith(scope):
            return name[len(scope):].lower()
    if lower.startswith("env:"):
        return "env:" + name[4:]
    return lower
