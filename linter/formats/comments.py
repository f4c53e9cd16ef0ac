"""The comments of a file, as its format's own lexer sees them.

A `#` is a comment only where the format says so: not inside a YAML scalar (a `|` or `>`
block, a multi-line quoted string), a TOML string (`\"\"\"` ones included) or a Python string.
Shell comments come from trainlint's shell lexer (trainlint.formats.shell), which knows quotes
and here-documents. JSON has no comments. Suppression comments (trainlint.suppress) are read
from these only.

Each finder returns `(start, end)` character offsets of the comments, in file order, and
is run only for files that may hold a suppression (see `trainlint.suppress`).
"""

from __future__ import annotations

import io
import re
import tokenize
from bisect import bisect_right

from trainlint.text import LineIndex

Spans = list[tuple[int, int]]


def find_comments(fmt: str, text: str, path: str = "") -> Spans:
    """The comments of a text of the given format (`path` picks the shell dialect)."""
    if fmt == "yaml":
        return yaml_comments(text)
    if fmt == "toml":
        return toml_comments(text)
    if fmt == "python":
        return python_comments(text)
    if fmt in ("shell", "markdown"):
        from trainlint.formats import shell  # the shell lexer: only for launchers

        return shell.parse(path, text).comments
    return []


_LINE_BREAK = re.compile(r"[\r\n]")


def _line_end(text: str, start: int) -> int:
    """Where the line of `start` ends: at `\n`, `\r\n` or a lone `\r` (YAML and TOML readers
    end lines there, as trainlint's universal line model does)."""
    found = _LINE_BREAK.search(text, start)
    return len(text) if found is None else found.start()


def yaml_comments(text: str) -> Spans:
    """`#` after a blank (or at a line start) outside every scalar libyaml's scanner finds.
    A file libyaml cannot scan has no comments here (it is a TL001 anyway)."""
    import yaml  # PyYAML: a Python-only run never loads it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    starts: list[int] = []
    ends: list[int] = []
    try:
        for token in yaml.scan(text, Loader=loader):
            if isinstance(token, yaml.ScalarToken):
                starts.append(token.start_mark.index)
                ends.append(token.end_mark.index)
    except yaml.YAMLError:
        return []
    comments: Spans = []
    position = text.find("#")
    while position != -1:
        scalar = bisect_right(starts, position) - 1
        if scalar >= 0 and position < ends[scalar]:
            position = text.find("#", ends[scalar])  # inside a scalar: skip past it
            continue
        if position == 0 or text[position - 1] in " \t\r\n":
            end = _line_end(text, position)
            comments.append((position, end))
            position = text.find("#", end)
        else:
            position = text.find("#", position + 1)  # `a#b` is part of a plain scalar
    return comments


def toml_comments(text: str) -> Spans:
    """`#` outside TOML strings: basic and literal, one-line and multi-line (tomllib keeps no
    comments, so this scan skips the strings the way TOML reads them)."""
    comments: Spans = []
    position, length = 0, len(text)
    while position < length:
        char = text[position]
        if char == "#":
            end = _line_end(text, position)
            comments.append((position, end))
            position = end
        elif text.startswith('"""', position) or text.startswith("'''", position):
            position = _multiline_string_end(text, position)
        elif char in "\"'":
            position = _string_end(text, position)
        else:
            position += 1
    return comments


def _multiline_string_end(text: str, start: int) -> int:
    quote = text[start]
    position = start + 3
    while True:
        close = text.find(quote * 3, position)
        if close == -1:
            return len(text)
        if quote == '"' and _escaped(text, close):
            position = close + 1
            continue
        end = close + 3
        while end < len(text) and end < close + 5 and text[end] == quote:
            end += 1  # up to two quotes may end the string's content (`""""` is `"` + `"""`)
        return end


def _string_end(text: str, start: int) -> int:
    quote = text[start]
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\n":
            return position  # an unclosed string (a TOML error): resume at the next line
        if quote == '"' and char == "\\":
            position += 2
            continue
        if char == quote:
            return position + 1
        position += 1
    return position


def _escaped(text: str, position: int) -> bool:
    backslashes = 0
    while position - backslashes - 1 >= 0 and text[position - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def python_comments(text: str) -> Spans:
    """COMMENT tokens of Python's tokenizer (a `#` in a string or docstring is none)."""
    line_starts = LineIndex(text, "universal").line_starts  # the lines tokenize counts
    comments: Spans = []
    try:
        # newline=None: lines end where Python's own tokenizer ends them (a lone CR too)
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT:
                start = line_starts[token.start[0] - 1] + token.start[1]
                comments.append((start, start + len(token.string)))
    except (tokenize.TokenError, SyntaxError):
        pass  # the comments before the error stand; the file is a TL001 anyway
    return comments
