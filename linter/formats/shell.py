"""Launch scripts: `.sh`/`.bash`, PowerShell `.ps1`, and the shell blocks of Markdown files.

`parse(path, text, index)` reads the launch commands of a file without running it: the
launcher (python, torchrun, accelerate, deepspeed, ...), its world-size flags, the target
script or module, and the script's arguments, each a `Value` at its exact characters.
Variables assigned earlier in the same script are substituted (`Value.raw` keeps the source
text, `Value.value` the substituted value). Constructs whose effect cannot be known without
running the script (loops, conditionals, functions, here-documents) are skipped with a note
at their line and column; a broken quote is a finding at the quote, and the lexer resumes on
the next line, so the rest of the file is still read.

The tokenizer follows the POSIX shell's token recognition (quotes, escapes, `$`-expansions,
operators, comments) character by character, keeping the offset of every character, which
`shlex` and `bashlex` do not give (and bashlex rejects `[[`, `$((...))`, arrays and `case`).
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterator
from typing import Any

from msgspec import Struct, field

from trainlint.records import DOCS_BASE_URL, UNRESOLVED, Diagnostic, Fix, Severity, Value
from trainlint.text import LineIndex, Span

__all__ = [
    "Launch", "LaunchArgument", "LaunchFile", "LaunchProblem", "Word", "pair_arguments", "parse",
    "word_value",
]

BASH_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh")
POWERSHELL_SUFFIXES = (".ps1", ".psm1")
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")
FENCE_BASH = frozenset({"bash", "sh", "shell", "zsh", "console", "shell-session", "shellsession",
                        "terminal", "ksh"})
FENCE_POWERSHELL = frozenset({"powershell", "ps1", "pwsh", "ps", "posh"})
_PROMPTED_FENCES = frozenset({"console", "shell-session", "shellsession", "terminal"})
# The catalog names (RULES.md) of the codes launch problems carry.
RULE_NAMES = {"TL001": "parse-error", "TL002": "invalid-value", "TL003": "unknown-key"}


# --------------------------------------------------------------------------- public shapes


class LaunchProblem(Struct, frozen=True):
    """A finding (code set) or a skip note (code None) at a place in a launcher or config."""

    path: str
    span: Span
    message: str
    code: str | None = None
    severity: Severity = Severity.INFO
    fix: Fix | None = None

    @property
    def is_note(self) -> bool:
        return self.code is None

    def __str__(self) -> str:
        return f"{self.path}:{self.span.line}:{self.span.col}: {self.message}"

    def diagnostic(self) -> Diagnostic | None:
        """The finding as a Diagnostic (None for a skip note)."""
        if self.code is None:
            return None
        return Diagnostic(code=self.code, name=RULE_NAMES.get(self.code, self.code.lower()),
                          severity=self.severity, message=self.message, path=self.path,
                          span=self.span, fix=self.fix, url=f"{DOCS_BASE_URL}/{self.code}.md")


class Word(Struct):
    """One shell word after expansion and quote removal, with its source characters.

    `offsets[i]` is the source offset of `text[i]` (None where the character came from an
    expansion whose source is unknown). `known` is False when part of the word cannot be
    known statically (`$1`, `$(cmd)`, an environment variable). `variadic` marks `"$@"`.
    """

    text: str
    raw: str
    span: Span
    known: bool = True
    offsets: tuple[int | None, ...] = ()
    variadic: bool = False
    quoted: bool = False

    @property
    def looks_like_option(self) -> bool:
        return self.text.startswith("-") and len(self.text) > 1 and not _is_number(self.text)


class LaunchArgument(Struct):
    """A script argument: `--flag value`, `--flag=value`, a bare `--flag`, or a positional."""

    flag: Value | None
    value: Value | None


class Launch(Struct):
    """One launch command: who runs what, on how many processes, with which arguments."""

    path: str
    span: Span
    launcher: str  # python, torchrun, torch.distributed.run/launch, accelerate, deepspeed, bash
    command: Value  # the launcher word as written
    script: Value | None = None  # the target script path (None for a module)
    module: Value | None = None  # python -m pkg.train
    wrappers: tuple[str, ...] = ()  # srun, mpirun, nohup, ...
    world: dict[str, Value] = field(default_factory=dict)  # nproc_per_node, nnodes, ...
    launcher_options: list[LaunchArgument] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)  # the script's arguments
    env: dict[str, Value] = field(default_factory=dict)  # VAR=... before the command
    cwd: tuple[str, ...] = ()  # `cd` targets before the command, in order
    cwd_is_script_dir: bool = False  # `cd "$(dirname "$0")"`
    index: LineIndex | None = None
    world_size: Value | None = None
    world_factors: tuple[Value, ...] = ()
    world_note: str = ""  # why the world size is unknown

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def target(self) -> Value | None:
        return self.script or self.module

    @property
    def arguments(self) -> list[LaunchArgument]:
        """The arguments paired naively: a flag takes the next word unless it looks like a flag."""
        return pair_arguments(self, lambda flag: None)

    def describe(self) -> str:
        target = self.target.value if self.target is not None else "?"
        return f"{self.launcher} {target}"


class LaunchFile(Struct):
    path: str
    text: str
    index: LineIndex
    format: str  # "shell", "powershell" or "markdown"
    launches: list[Launch] = field(default_factory=list)
    notes: list[LaunchProblem] = field(default_factory=list)
    problems: list[LaunchProblem] = field(default_factory=list)
    variables: dict[str, Value] = field(default_factory=dict)
    comments: list[tuple[int, int]] = field(default_factory=list)  # (start, end), in file order


def parse(path: str, text: str, index: LineIndex | None = None) -> LaunchFile:
    """Read the launch commands of a shell script, a PowerShell script or a Markdown file."""
    index = index or LineIndex(text)
    lower = path.lower()
    if lower.endswith(MARKDOWN_SUFFIXES):
        return _parse_markdown(path, text, index)
    kind = "powershell" if lower.endswith(POWERSHELL_SUFFIXES) else "shell"
    result = LaunchFile(path, text, index, kind)
    evaluator = _Evaluator(result)
    lexer_cls = _PowerShellLexer if kind == "powershell" else _BashLexer
    lexer = lexer_cls(text, 0, len(text), index, path)
    evaluator.run(lexer.statements(), kind, lexer)
    evaluator.finish()
    return result


# --------------------------------------------------------------------------- helpers

_NUMBER_RE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_PYTHON_RE = re.compile(r"(python|pythonw)(\d+(\.\d+)*)?(\.exe)?|py(\.exe)?")


def _is_number(text: str) -> bool:
    return _NUMBER_RE.fullmatch(text) is not None


def to_number(text: str) -> Any:
    """'4' -> 4, '3e-4' -> 0.0003, anything else unchanged."""
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if _is_number(text):
        return float(text)
    return text


def word_value(word: Word, key: str, path: str, index: LineIndex, origin: str,
               value: Any = None, start: int | None = None, end: int | None = None,
               key_span: Span | None = None) -> Value:
    """A Value for a word, or for the characters [start, end) of its text."""
    start = start or 0
    if start == 0 and (end is None or end >= len(word.text)):
        span = word.span
        text = word.text
    else:
        end = len(word.text) if end is None else end
        span = _sub_span(word, start, end, index)
        text = word.text[start:end]
    if value is None:
        value = text if word.known else UNRESOLVED
    raw = index.text[span.start:span.end]
    return Value(value=value, path=path, span=span, key=key, key_span=key_span, raw=raw,
                 origin=origin)


def _sub_span(word: Word, start: int, end: int, index: LineIndex) -> Span:
    """The source characters of word.text[start:end] inside the word's own span.

    Characters that came from a variable have offsets elsewhere (at its assignment); the
    slice then covers the reference (`$NGPU` of `--nproc_per_node=$NGPU`), as written.
    """
    offsets = word.offsets
    if not offsets or len(offsets) != len(word.text):
        return word.span
    low, high = word.span.start, word.span.end

    def inside(position: int) -> int | None:
        if 0 <= position < len(offsets):
            offset = offsets[position]
            if offset is not None and low <= offset < high:
                return offset
        return None

    first = inside(start)
    if first is None:
        before = inside(start - 1)
        first = before + 1 if before is not None else low
    last = inside(end - 1) if end > start else None
    if last is not None:
        stop = last + 1
    else:
        after = inside(end)
        stop = after if after is not None and end > start else (first if end <= start else high)
    if stop < first:
        return word.span
    return index.span(first, stop)


def _is_option_text(text: str) -> bool:
    return text.startswith("-") and len(text) > 1 and not _is_number(text)


def _basename(text: str) -> str:
    return re.split(r"[\\/]", text)[-1]


def _is_python(name: str) -> bool:
    return _PYTHON_RE.fullmatch(name.lower()) is not None


def _option_name(text: str) -> str:
    return text.lstrip("-").replace("-", "_")


# --------------------------------------------------------------------------- lexer shapes


class _Part(Struct):
    kind: str  # lit, param, cmd, arith
    text: str  # literal text, parameter name, or arithmetic expression
    start: int
    end: int
    offsets: tuple[int | None, ...] = ()
    quoted: bool = False
    op: str = ""  # parameter operator: ":-", "-", ":=", ":+", "[@]", "#len", "other", ...
    arg: list[_Part] | None = None


class _RawWord(Struct):
    parts: list[_Part]
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


class _ArrayAssign(Struct):
    name: str
    elements: list[_RawWord]
    start: int
    end: int


class _Op(Struct):
    op: str
    start: int
    end: int


class _Redirect(Struct):
    op: str
    target: _RawWord | None
    start: int
    end: int


class _Statement(Struct):
    items: list  # _RawWord, _ArrayAssign, _Redirect, _Op("(" / ")" / "{" / "}")
    start: int
    end: int
    broken: bool = False  # cut short by a lexing error


class _Unbalanced(Exception):
    def __init__(self, start: int, what: str) -> None:
        super().__init__(what)
        self.start = start
        self.what = what


_SEPARATORS = frozenset({"\n", ";", "&", "&&", "||", "|", "|&", ";;", ";&", ";;&"})
_REDIRECTS = frozenset({"<", ">", ">>", ">&", "<&", "<>", ">|", "&>", "&>>", "<<<", "<<", "<<-"})
_BASH_OPERATORS = sorted(_SEPARATORS | _REDIRECTS | {"(", ")"}, key=len, reverse=True)
_BASH_OPERATORS.remove("\n")


# --------------------------------------------------------------------------- bash lexer


class _BashLexer:
    """POSIX shell token recognition over text[start:end], with character offsets."""

    language = "shell"

    def __init__(self, text: str, start: int, end: int, index: LineIndex, path: str) -> None:
        self.text = text
        self.pos = start
        self.end = end
        self.index = index
        self.path = path
        self.notes: list[LaunchProblem] = []
        self.problems: list[LaunchProblem] = []
        self.comments: list[tuple[int, int]] = []  # (start, end) of every comment
        self._heredocs: list[tuple[str, bool, int, int]] = []  # (delimiter, strip tabs, start, end)
        self._expect_heredoc: tuple[bool, int, int] | None = None

    # ---- diagnostics
    def _span(self, start: int, end: int | None = None) -> Span:
        return self.index.span(start, start + 1 if end is None else end)

    def _problem(self, start: int, end: int, message: str) -> None:
        self.problems.append(LaunchProblem(self.path, self._span(start, end), message, "TL001",
                                           Severity.ERROR))

    def _note(self, start: int, end: int, message: str) -> None:
        self.notes.append(LaunchProblem(self.path, self._span(start, end), message))

    def _comment(self, start: int) -> int:
        """Record the comment that starts at `start`; the offset of its line's end."""
        newline = self.text.find("\n", start, self.end)
        line_end = self.end if newline == -1 else newline
        stop = line_end - 1 if line_end > start and self.text[line_end - 1] == "\r" else line_end
        self.comments.append((start, stop))
        return line_end

    # ---- statements
    def statements(self) -> Iterator[_Statement]:
        items: list = []
        start = None
        for token in self.tokens():
            if isinstance(token, _Op) and token.op == "error":
                if items:
                    yield _Statement(items, start, token.start, broken=True)
                items, start = [], None
                continue
            if isinstance(token, _Op) and token.op in _SEPARATORS:
                if items:
                    yield _Statement(items, start, token.start)
                items, start = [], None
                continue
            if start is None:
                start = token.start
            if isinstance(token, _Op) and token.op in _REDIRECTS:
                previous = items[-1] if items else None
                if isinstance(previous, _RawWord) and previous.end == token.start \
                        and (previous.plain() or "").isdigit():
                    items.pop()  # the file descriptor of `2>&1`
                items.append(_Redirect(token.op, None, token.start, token.end))
                continue
            if isinstance(token, _RawWord) and items and isinstance(items[-1], _Redirect) \
                    and items[-1].target is None:
                items[-1].target = token
                items[-1].end = token.end
                continue
            items.append(token)
        if items:
            yield _Statement(items, start, items[-1].end)

    # ---- tokens
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
                yield _Op("\n", self.pos, self.pos + 1)
                self.pos += 1
                self._read_heredocs()
            elif char == "#":
                self.pos = self._comment(self.pos)
            elif char in "|&;<>()":
                token = self._operator()
                yield token
            else:
                try:
                    token = self._word()
                except _Unbalanced as error:
                    yield self._recover(error)
                    continue
                yield token

    def _operator(self) -> _Op:
        text = self.text
        for op in _BASH_OPERATORS:
            if text.startswith(op, self.pos) and self.pos + len(op) <= self.end:
                token = _Op(op, self.pos, self.pos + len(op))
                self.pos += len(op)
                if op in ("<<", "<<-"):
                    self._expect_heredoc = (op == "<<-", token.start, token.end)
                return token
        raise AssertionError("unreachable")  # pragma: no cover

    def _recover(self, error: _Unbalanced) -> _Op:
        line, _col = self.index.line_col(error.start)
        self._problem(error.start, error.start + 1,
                      f"{error.what} is never closed; the shell would fail here "
                      f"(trainlint skips to line {line + 1})")
        newline = self.text.find("\n", error.start, self.end)
        self.pos = self.end if newline == -1 else newline + 1
        self._expect_heredoc = None
        return _Op("error", error.start, self.pos)

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
                self._note(op_start, op_end,
                           f"here-document (<<{delimiter}) skipped: its text is not read")
                self.pos = pos
            else:
                self._problem(op_start, op_end,
                              f"here-document is never closed by a line '{delimiter}'; "
                              "the shell would read the rest of the file as its text")

    def _word(self) -> _RawWord | _ArrayAssign:
        text, end = self.text, self.end
        start = self.pos
        parts: list[_Part] = []
        lit: list[str] = []
        lit_offsets: list[int] = []

        def flush(quoted: bool = False) -> None:
            nonlocal lit, lit_offsets
            if lit:
                parts.append(_Part("lit", "".join(lit), lit_offsets[0], lit_offsets[-1] + 1,
                                   tuple(lit_offsets), quoted))
                lit, lit_offsets = [], []

        pos = start
        while pos < end:
            char = text[pos]
            if char in " \t\n|&;<>()" or (char == "\r" and text.startswith("\n", pos + 1)):
                if char == "(" and not parts and lit and "".join(lit).endswith("=") \
                        and _NAME_RE.fullmatch("".join(lit)[:-1].rstrip("+")):
                    name = "".join(lit)[:-1].rstrip("+")
                    self.pos = pos + 1
                    return self._array(name, start)
                break
            if char == "\\":
                if pos + 1 >= end:
                    lit.append("\\")
                    lit_offsets.append(pos)
                    pos += 1
                    continue
                following = text[pos + 1]
                if following == "\n":
                    pos += 2
                    continue
                if following == "\r" and text.startswith("\n", pos + 2):
                    pos += 3
                    continue
                if following in " \t":
                    newline = text.find("\n", pos, end)
                    if newline != -1 and text[pos + 1:newline].strip() == "":
                        self._trailing_space_note(pos)
                lit.append(following)
                lit_offsets.append(pos + 1)
                pos += 2
                continue
            if char == "'":
                close = text.find("'", pos + 1, end)
                if close == -1:
                    raise _Unbalanced(pos, "single quote (')")
                flush()
                if close > pos + 1:
                    parts.append(_Part("lit", text[pos + 1:close], pos + 1, close,
                                       tuple(range(pos + 1, close)), True))
                else:
                    parts.append(_Part("lit", "", pos, close + 1, (), True))
                pos = close + 1
                continue
            if char == '"':
                flush()
                pos = self._double_quoted(pos, parts)
                continue
            if char == "$" or char == "`":
                part, new_pos = self._expansion(pos, quoted=False)
                if part is not None:
                    flush()
                    parts.append(part)
                    pos = new_pos
                    continue
            lit.append(char)
            lit_offsets.append(pos)
            pos += 1
        flush()
        self.pos = pos
        word = _RawWord(parts, start, pos)
        if self._expect_heredoc is not None:
            strip_tabs, op_start, op_end = self._expect_heredoc
            self._expect_heredoc = None
            delimiter = "".join(part.text for part in parts if part.kind == "lit")
            self._heredocs.append((delimiter, strip_tabs, op_start, op_end))
        return word

    def _trailing_space_note(self, pos: int) -> None:
        self.problems.append(LaunchProblem(
            self.path, self._span(pos, pos + 1),
            "backslash followed by a space at the end of the line: the line does not "
            "continue, and the next line runs as a separate command",
            "TL001", Severity.ERROR))

    def _array(self, name: str, start: int) -> _ArrayAssign:
        elements: list[_RawWord] = []
        text, end = self.text, self.end
        while True:
            while self.pos < end and text[self.pos] in " \t\n\r":
                self.pos += 1
            if self.pos >= end:
                raise _Unbalanced(start, f"array '{name}=(' ")
            if text[self.pos] == ")":
                self.pos += 1
                return _ArrayAssign(name, elements, start, self.pos)
            if text[self.pos] == "#":
                self.pos = self._comment(self.pos)
                continue
            if text.startswith("\\\n", self.pos):
                self.pos += 2
                continue
            word = self._word()
            if isinstance(word, _RawWord) and word.end > word.start:
                elements.append(word)
            elif self.pos < end and text[self.pos] in "|&;<>(":
                self.pos += 1

    def _double_quoted(self, pos: int, parts: list[_Part]) -> int:
        text, end = self.text, self.end
        open_at = pos
        pos += 1
        lit: list[str] = []
        offsets: list[int] = []
        had_part = False

        def flush() -> None:
            nonlocal lit, offsets, had_part
            if lit:
                parts.append(_Part("lit", "".join(lit), offsets[0], offsets[-1] + 1,
                                   tuple(offsets), True))
                lit, offsets = [], []
                had_part = True

        while pos < end:
            char = text[pos]
            if char == '"':
                flush()
                if not had_part:
                    parts.append(_Part("lit", "", open_at, pos + 1, (), True))
                return pos + 1
            if char == "\\" and pos + 1 < end and text[pos + 1] in '$`"\\\n':
                if text[pos + 1] != "\n":
                    lit.append(text[pos + 1])
                    offsets.append(pos + 1)
                pos += 2
                continue
            if char in "$`":
                part, new_pos = self._expansion(pos, quoted=True)
                if part is not None:
                    flush()
                    parts.append(part)
                    had_part = True
                    pos = new_pos
                    continue
            lit.append(char)
            offsets.append(pos)
            pos += 1
        raise _Unbalanced(open_at, 'double quote (")')

    def _expansion(self, pos: int, quoted: bool) -> tuple[_Part | None, int]:
        text, end = self.text, self.end
        if text[pos] == "`":
            close = self._find_close(pos + 1, "`")
            return _Part("cmd", text[pos + 1:close], pos, close + 1, quoted=quoted), close + 1
        following = text[pos + 1] if pos + 1 < end else ""
        if following == "(":
            if text.startswith("((", pos + 1):
                close = self._find_close(pos + 3, ")")
                if close + 1 < end and text[close + 1] == ")":
                    return (_Part("arith", text[pos + 3:close], pos, close + 2, quoted=quoted),
                            close + 2)
                close = self._find_close(close + 1, ")")
                return _Part("cmd", text[pos + 2:close], pos, close + 1, quoted=quoted), close + 1
            close = self._find_close(pos + 2, ")")
            return _Part("cmd", text[pos + 2:close], pos, close + 1, quoted=quoted), close + 1
        if following == "{":
            close = self._find_close(pos + 2, "}")
            return self._brace_parameter(pos, close, quoted), close + 1
        if following and (following.isalpha() or following == "_"):
            match = _NAME_RE.match(text, pos + 1, end)
            return _Part("param", match.group(), pos, match.end(), quoted=quoted), match.end()
        if following and (following.isdigit() or following in "@*#?$!-"):
            return _Part("param", following, pos, pos + 2, quoted=quoted), pos + 2
        if following == "'" and not quoted:  # $'...' ANSI-C quoting: keep as literal text
            close = text.find("'", pos + 2, end)
            if close == -1:
                raise _Unbalanced(pos, "quote ($')")
            return _Part("lit", text[pos + 2:close], pos, close + 1,
                         tuple(range(pos + 2, close)), True), close + 1
        return None, pos

    def _brace_parameter(self, pos: int, close: int, quoted: bool) -> _Part:
        body = self.text[pos + 2:close]
        if body.startswith("#") and _NAME_RE.fullmatch(body[1:]):
            return _Part("param", body[1:], pos, close + 1, quoted=quoted, op="#len")
        match = _NAME_RE.match(body) or re.match(r"[0-9@*#?$!-]", body)
        if match is None:
            return _Part("param", body, pos, close + 1, quoted=quoted, op="other")
        name, rest = match.group(), body[match.end():]
        if rest.startswith("[") and "]" in rest:
            subscript, rest = rest[1:rest.index("]")], rest[rest.index("]") + 1:]
            if rest:
                return _Part("param", name, pos, close + 1, quoted=quoted, op="other")
            return _Part("param", name, pos, close + 1, quoted=quoted, op=f"[{subscript}]")
        if not rest:
            return _Part("param", name, pos, close + 1, quoted=quoted)
        for op in (":-", ":=", ":+", "-", "=", "+"):
            if rest.startswith(op):
                arg_start = pos + 2 + match.end() + len(op)
                sub = _BashLexer(self.text, arg_start, close, self.index, self.path)
                arg_parts = sub._word_parts_until(close)
                return _Part("param", name, pos, close + 1, quoted=quoted, op=op, arg=arg_parts)
        return _Part("param", name, pos, close + 1, quoted=quoted, op="other")

    def _word_parts_until(self, close: int) -> list[_Part]:
        """Parts of the text up to `close` (a `${x:-default}` default), spaces kept."""
        parts: list[_Part] = []
        while self.pos < close:
            if self.text[self.pos] in " \t":
                parts.append(_Part("lit", self.text[self.pos], self.pos, self.pos + 1,
                                   (self.pos,), True))
                self.pos += 1
                continue
            saved_end = self.end
            self.end = close
            try:
                word = self._word()
            finally:
                self.end = saved_end
            if isinstance(word, _RawWord):
                parts.extend(word.parts)
            if self.pos < close and self.text[self.pos] in "|&;<>()\n":
                char = self.text[self.pos]
                parts.append(_Part("lit", char, self.pos, self.pos + 1, (self.pos,), True))
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
                    raise _Unbalanced(pos, "single quote (')")
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
        raise _Unbalanced(start - (1 if closer == "`" else 2), what)

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
        raise _Unbalanced(open_at, 'double quote (")')


# --------------------------------------------------------------------------- PowerShell lexer

_PS_FLOW = frozenset({"if", "elseif", "else", "foreach", "for", "while", "do", "until", "switch",
                      "function", "filter", "try", "catch", "finally", "trap", "workflow",
                      "begin", "process", "end", "param", "class", "enum"})
_PS_CONTINUATIONS = frozenset({"else", "elseif", "catch", "finally", "until", "while"})


class _PowerShellLexer(_BashLexer):
    """PowerShell's argument-mode tokens: backtick escapes and continuations, its quoting rules,
    `$var`/`${var}`/`$env:VAR`, `#` and `<# #>` comments. Flow-control blocks are skipped."""

    language = "powershell"

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
                yield _Op("\n", self.pos, self.pos + 1)
                self.pos += 1
                at_command_start = True
            elif text.startswith("<#", self.pos):
                close = text.find("#>", self.pos + 2, end)
                self.comments.append((self.pos, end if close == -1 else close + 2))
                self.pos = end if close == -1 else close + 2
            elif char == "#":
                self.pos = self._comment(self.pos)
            elif char in "|":
                yield _Op("|", self.pos, self.pos + 1)
                self.pos += 1
                at_command_start = True
            elif char == "&" and text.startswith("&&", self.pos):
                yield _Op("&&", self.pos, self.pos + 2)
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
                except _Unbalanced as error:
                    yield self._recover(error)
                    continue
                self._note(start, start + 1, "PowerShell block skipped: its commands are "
                                              "not read")
            elif char == ">" or (char.isdigit() and text.startswith(">", self.pos + 1)):
                match = re.compile(r"\d?>>?(&\d)?").match(text, self.pos)
                op_end = match.end() if match else self.pos + 1
                yield _Op(">", self.pos, op_end)
                self.pos = op_end
            else:
                try:
                    token = self._ps_word()
                except _Unbalanced as error:
                    yield self._recover(error)
                    at_command_start = True
                    continue
                if at_command_start:
                    keyword = token.plain()
                    if keyword and keyword.lower() in _PS_FLOW:
                        try:
                            self._skip_flow(token.start)
                        except _Unbalanced as error:
                            yield self._recover(error)
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
        self.problems.append(LaunchProblem(
            self.path, self._span(pos, pos + 1),
            "backtick followed by whitespace at the end of the line: the line does not "
            "continue, and the next line runs as a separate command",
            "TL001", Severity.ERROR))

    def _skip_here_string(self) -> None:
        start = self.pos
        quote = self.text[self.pos + 1]
        close = self.text.find("\n" + quote + "@", self.pos, self.end)
        if close == -1:
            self._problem(start, start + 2, f"here-string @{quote} is never closed by a line "
                                            f"starting with {quote}@")
            newline = self.text.find("\n", start, self.end)
            self.pos = self.end if newline == -1 else newline + 1
            return
        self._note(start, start + 2, "here-string skipped: its text is not read")
        self.pos = close + 3

    def _skip_flow(self, start: int) -> None:
        """Skip a flow-control statement: its header, its `{ }` block, and else/catch parts."""
        keyword = self.text[start:self.pos].lower()
        self._note(start, self.pos, f"`{keyword}` block skipped: launches inside PowerShell "
                                    "conditionals, loops and functions are not read")
        block_start = self.pos
        while True:
            brace = self._next_brace(self.pos)
            if brace is None:
                self._problem(start, block_start, f"`{keyword}` has no {{ }} block")
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
                pos = self._comment(pos)
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
                pos = self._comment(pos)
                continue
            if char == opener:
                depth += 1
            elif char == closer:
                depth -= 1
                if depth == 0:
                    self.pos = pos + 1
                    return
            pos += 1
        raise _Unbalanced(start, f"'{opener}'")

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
        raise _Unbalanced(pos, "single quote (')" if quote == "'" else 'double quote (")')

    def _ps_word(self) -> _RawWord:
        text, end = self.text, self.end
        start = self.pos
        parts: list[_Part] = []
        lit: list[str] = []
        offsets: list[int] = []

        def flush(quoted: bool = False) -> None:
            nonlocal lit, offsets
            if lit:
                parts.append(_Part("lit", "".join(lit), offsets[0], offsets[-1] + 1,
                                   tuple(offsets), quoted))
                lit, offsets = [], []

        pos = start
        if text[pos] in "{(":
            self._skip_block(pos)
            return _RawWord([_Part("cmd", text[pos:self.pos], pos, self.pos)], pos, self.pos)
        if text[pos] in "})":
            self.pos = pos + 1
            return _RawWord([_Part("lit", text[pos], pos, pos + 1, (pos,), False)], pos, pos + 1)
        while pos < end:
            char = text[pos]
            if char in " \t\r\n;|{})" or (char == "&" and pos > start):
                break
            if char == "`":
                if pos + 1 < end and text[pos + 1] in "\r\n":
                    break
                if pos + 1 < end:
                    lit.append(_PS_ESCAPES.get(text[pos + 1], text[pos + 1]))
                    offsets.append(pos + 1)
                pos += 2
                continue
            if char == "'":
                close = self._ps_skip_string(pos)
                flush()
                body = text[pos + 1:close]
                chars, char_offsets = [], []
                scan = pos + 1
                while scan < close:
                    chars.append(text[scan])
                    char_offsets.append(scan)
                    scan += 2 if text.startswith("''", scan) else 1
                parts.append(_Part("lit", "".join(chars), pos, close + 1, tuple(char_offsets),
                                   True) if body else _Part("lit", "", pos, close + 1, (), True))
                pos = close + 1
                continue
            if char == '"':
                close = self._ps_skip_string(pos)
                flush()
                self._ps_double(pos, close, parts)
                pos = close + 1
                continue
            if char == "$" and pos + 1 < end:
                part = self._ps_variable(pos, quoted=False)
                if part is not None:
                    flush()
                    parts.append(part)
                    pos = part.end
                    continue
            if char == "(" and pos > start:
                close = self._find_ps_paren(pos)
                flush()
                parts.append(_Part("cmd", text[pos + 1:close], pos, close + 1))
                pos = close + 1
                continue
            lit.append(char)
            offsets.append(pos)
            pos += 1
        flush()
        self.pos = pos
        return _RawWord(parts, start, pos)

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
        raise _Unbalanced(pos, "parenthesis (")

    def _ps_variable(self, pos: int, quoted: bool) -> _Part | None:
        text, end = self.text, self.end
        following = text[pos + 1]
        if following == "(":
            close = self._find_ps_paren(pos + 1)
            return _Part("cmd", text[pos + 2:close], pos, close + 1, quoted=quoted)
        if following == "{":
            close = text.find("}", pos + 2, end)
            if close == -1:
                raise _Unbalanced(pos, "'${'")
            name = text[pos + 2:close]
            return _Part("param", _ps_name(name), pos, close + 1, quoted=quoted)
        match = re.compile(r"(?:env:|global:|script:|local:)?[A-Za-z_][A-Za-z_0-9]*",
                           re.IGNORECASE).match(text, pos + 1, end)
        if match is None:
            return None
        return _Part("param", _ps_name(match.group()), pos, match.end(), quoted=quoted)

    def _ps_double(self, open_at: int, close: int, parts: list[_Part]) -> None:
        text = self.text
        lit: list[str] = []
        offsets: list[int] = []
        before = len(parts)

        def flush() -> None:
            nonlocal lit, offsets
            if lit:
                parts.append(_Part("lit", "".join(lit), offsets[0], offsets[-1] + 1,
                                   tuple(offsets), True))
                lit, offsets = [], []

        pos = open_at + 1
        while pos < close:
            char = text[pos]
            if char == "`" and pos + 1 < close:
                lit.append(_PS_ESCAPES.get(text[pos + 1], text[pos + 1]))
                offsets.append(pos + 1)
                pos += 2
                continue
            if char == '"' and text.startswith('"', pos + 1):
                lit.append('"')
                offsets.append(pos)
                pos += 2
                continue
            if char == "$" and pos + 1 < close:
                part = self._ps_variable(pos, quoted=True)
                if part is not None:
                    flush()
                    parts.append(part)
                    pos = part.end
                    continue
            lit.append(char)
            offsets.append(pos)
            pos += 1
        flush()
        if len(parts) == before:
            parts.append(_Part("lit", "", open_at, close + 1, (), True))


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


# --------------------------------------------------------------------------- Markdown


def _parse_markdown(path: str, text: str, index: LineIndex) -> LaunchFile:
    result = LaunchFile(path, text, index, "markdown")
    evaluators = {"shell": _Evaluator(result), "powershell": _Evaluator(result)}
    blocks = list(_fenced_blocks(text))
    chars = [ch if ch in "\r\n" else " " for ch in text]
    for language, start, end, prompted in blocks:
        _unmask_block(chars, text, start, end, language, prompted)
    masked = "".join(chars)
    for language, start, end, _prompted in blocks:
        lexer_cls = _PowerShellLexer if language == "powershell" else _BashLexer
        lexer = lexer_cls(masked, start, end, index, path)
        evaluators[language].run(lexer.statements(), language, lexer)
    for evaluator in evaluators.values():
        evaluator.finish()
    result.launches.sort(key=lambda launch: launch.span.start)
    result.comments.sort()
    return result


_FENCE_RE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([\w+-]*)[^\n]*$")


def _fenced_blocks(text: str) -> Iterator[tuple[str, int, int, bool]]:
    """(language, start, end, prompted) of each shell fenced block.

    The lexers read a masked copy of the file: the blocks' text, with everything else and
    console prompts and output blanked (newlines kept), so offsets stay those of the file.
    """
    lines = text.splitlines(keepends=True)
    offset = 0
    line_starts = []
    for line in lines:
        line_starts.append(offset)
        offset += len(line)
    number = 0
    while number < len(lines):
        match = _FENCE_RE.match(lines[number].rstrip("\r\n"))
        if not match:
            number += 1
            continue
        fence, language = match.group(2), match.group(3).lower()
        close = number + 1
        while close < len(lines):
            stripped = lines[close].strip()
            if stripped.startswith(fence[0] * len(fence)) and stripped.strip(fence[0]) == "":
                break
            close += 1
        body_start = line_starts[number + 1] if number + 1 < len(lines) else len(text)
        body_end = line_starts[close] if close < len(lines) else len(text)
        kind = ("shell" if language in FENCE_BASH
                else "powershell" if language in FENCE_POWERSHELL else None)
        if kind is not None and body_end > body_start:
            yield kind, body_start, body_end, language in _PROMPTED_FENCES or kind == "powershell"
        number = close + 1


_PROMPT_RE = re.compile(r"^([ \t]*)(\$ |\$$|> |PS[^\n>]*> |>>> )")


def _unmask_block(chars: list[str], text: str, start: int, end: int, kind: str,
                  prompted: bool) -> None:
    """Copy the block's commands into the masked text (prompts and output stay blank)."""
    body = text[start:end]
    lines = body.splitlines(keepends=True)
    has_prompts = prompted and any(_PROMPT_RE.match(line) for line in lines)
    position = start
    continuing = False
    continuation = "`" if kind == "powershell" else "\\"
    for line in lines:
        content = line.rstrip("\r\n")
        match = _PROMPT_RE.match(content) if has_prompts else None
        if match and not continuing:
            keep_from = match.end()
        elif continuing or not has_prompts:
            keep_from = 0
        else:
            keep_from = None  # command output
        if keep_from is not None:
            for column in range(keep_from, len(content)):
                chars[position + column] = content[column]
            continuing = content.rstrip().endswith(continuation) if has_prompts else False
        position += len(line)


# --------------------------------------------------------------------------- evaluation


class _Var(Struct):
    text: str
    known: bool
    offsets: tuple[int | None, ...] = ()
    array: list[Word] | None = None
    value: Value | None = None


_BASH_OPENERS = {"if": "fi", "for": "done", "while": "done", "until": "done", "select": "done",
                 "case": "esac", "{": "}", "function": "}"}
_BASH_LEADERS = frozenset({"then", "do", "else", "elif", "!", "time", "{"})


class _Evaluator:
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
    def run(self, statements: Iterator[_Statement], language: str, lexer: _BashLexer) -> None:
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

    def _safely(self, handler: Callable[[_Statement], None], statement: _Statement) -> None:
        try:
            handler(statement)
        except Exception as error:  # pragma: no cover - one odd command must not end the file
            span = self.index.span(statement.start, statement.end)
            self.result.notes.append(LaunchProblem(
                self.path, span, "command skipped: trainlint could not read it "
                                 f"({type(error).__name__}: {error})"))

    def _compound_regions(self, statements: list[_Statement]) -> set[int]:
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
                self.result.problems.append(LaunchProblem(
                    self.path, self.index.span(statement.start, statement.start + 1),
                    f"this block is never closed by '{closer}'; the shell would fail to run "
                    "the script (trainlint reads the lines after it)", "TL001", Severity.ERROR))
                skipped = {n for n in skipped if n < opened_at}
                skipped.add(opened_at)
                restart = opened_at + 1
            if restart is None:
                break
            start = restart
        return skipped

    def _command_position_words(self, statement: _Statement) -> Iterator[tuple[str, str]]:
        """("open"/"close", keyword) for the reserved words and parentheses of a statement."""
        items = statement.items
        position = 0
        command_position = True
        while position < len(items):
            item = items[position]
            if isinstance(item, _Op):
                if item.op == "(" and command_position and not _empty_parens(items, position):
                    yield "open", ")"
                elif item.op == ")":
                    yield "close", ")"  # `)` outside words is always structure
                position += 1
                continue
            word = item.plain() if isinstance(item, _RawWord) else None
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

    def _skip_note(self, kind: str, statement: _Statement) -> None:
        names = {"if": "`if` conditional", "for": "`for` loop", "while": "`while` loop",
                 "until": "`until` loop", "select": "`select` loop", "case": "`case` statement",
                 "{": "`{ }` group", ")": "subshell `( )`", "function-body": "function"}
        what = names.get(kind, f"`{kind}` block")
        span = self.index.span(statement.start, statement.start + 1)
        self.result.notes.append(LaunchProblem(
            self.path, span, f"{what} skipped: launches inside conditionals, loops and "
                             "functions are not read"))

    def _mark_unknown_assignments(self, statement: _Statement) -> None:
        for item in statement.items:
            if isinstance(item, _ArrayAssign):
                self.env[item.name] = _Var("", False)
            elif isinstance(item, _RawWord):
                split = _split_assignment(item)
                if split is not None:
                    self.env[split[0]] = _Var("", False)

    # ---- bash statements
    def _bash_statement(self, statement: _Statement) -> None:
        items = [item for item in statement.items if not isinstance(item, _Redirect)]
        position = 0
        prefix: list[tuple[str, list[Word], _RawWord | _ArrayAssign]] = []
        while position < len(items):
            item = items[position]
            if isinstance(item, _ArrayAssign):
                prefix.append((item.name, self._expand_array(item), item))
                position += 1
                continue
            if isinstance(item, _RawWord):
                split = _split_assignment(item)
                if split is not None:
                    name, _append, rhs = split
                    prefix.append((name, [self._expand_assignment(rhs, item)], item))
                    position += 1
                    continue
            break
        rest = [item for item in items[position:] if isinstance(item, _RawWord)]
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
                if name and _NAME_RE.fullmatch(name):
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

    def _cd(self, args: list[_RawWord]) -> None:
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

    def _assign(self, name: str, words: list[Word], item: _RawWord | _ArrayAssign) -> None:
        if isinstance(item, _ArrayAssign):
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

    def _expand_assignment(self, rhs: list[_Part], item: _RawWord) -> Word:
        start = rhs[0].start if rhs else item.end
        raw = _RawWord(rhs, start, item.end)
        words = self._expand(raw, split=False)
        if words:
            return words[0]
        return Word("", "", self.index.span(item.end, item.end))

    def _expand_array(self, item: _ArrayAssign) -> list[Word]:
        words: list[Word] = []
        for element in item.elements:
            words.extend(self._expand(element))
        return words

    # ---- expansion
    def _expand(self, raw: _RawWord, split: bool = True) -> list[Word]:
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

    def _expand_part(self, part: _Part) -> tuple[str, tuple, bool, list[Word] | None]:
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
        if op in ("#len", "other") or not _NAME_RE.fullmatch(name.removeprefix("env:")):
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

    def _expand_default(self, parts: list[_Part]) -> tuple[str, tuple, bool]:
        if not parts:
            return "", (), True
        raw = _RawWord(parts, parts[0].start, parts[-1].end)
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
    def _powershell_statement(self, statement: _Statement) -> None:
        items = [item for item in statement.items if isinstance(item, _RawWord)]
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
    def _launch(self, words: list[Word], env: dict[str, Value], statement: _Statement) -> None:
        launch = _recognize(words, self.path, self.index, self.result.format)
        if launch is None:
            return
        launch.env = env
        launch.cwd = tuple(self.cwd)
        launch.cwd_is_script_dir = self.cwd_is_script_dir
        if launch.span.start > statement.start and env:
            launch.span = self.index.span(statement.start, launch.span.end)
        self.result.launches.append(launch)


def _empty_parens(items: list, position: int) -> bool:
    return position + 1 < len(items) and isinstance(items[position], _Op) \
        and items[position].op == "(" and isinstance(items[position + 1], _Op) \
        and items[position + 1].op == ")"


def _split_assignment(word: _RawWord) -> tuple[str, bool, list[_Part]] | None:
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
        parts.append(_Part("lit", rest, first.start + cut, first.end, first.offsets[cut:], False))
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


# --------------------------------------------------------------------------- launch recognition

_TORCHRUN_FLAGS = frozenset({"standalone", "no_python", "run_path", "module", "m", "use_env",
                             "virtual_local_rank", "help", "h"})
_ACCELERATE_FLAGS = frozenset({
    "cpu", "multi_gpu", "tpu", "ipex", "mps", "use_deepspeed", "use_fsdp", "use_megatron_lm",
    "use_xpu", "module", "m", "no_python", "quiet", "q", "debug", "same_network",
    "tpu_use_cluster", "tpu_use_sudo", "downcast_bf16", "dynamo_use_fullgraph",
    "dynamo_use_dynamic", "enable_cpu_affinity", "help", "h"})
_DEEPSPEED_FLAGS = frozenset({"no_python", "module", "no_local_rank", "no_ssh_check",
                              "force_multi", "elastic_training", "bind_cores_to_rank", "no_ssh",
                              "save_pid", "enable_each_rank_log", "help", "h"})
_SRUN_SHORT_WITH_ARG = frozenset("AbcdDeiJLmnNopqrStTwWxG")
_SRUN_FLAGS = frozenset({"exclusive", "label", "unbuffered", "overcommit", "pty", "no_kill",
                         "quiet", "verbose", "overlap", "exact", "kill_on_bad_exit",
                         "disable_status", "help", "usage", "test_only", "l", "u", "v", "Q",
                         "K", "k", "E", "H", "O", "s", "X", "Z", "immediate"})
_MPI_FLAGS = frozenset({"oversubscribe", "allow_run_as_root", "report_bindings", "tag_output",
                        "display_map", "v", "verbose", "q", "quiet", "timestamp_output",
                        "merge_stderr_to_stdout", "noprefix", "bind_to_core", "bind_to_socket",
                        "byslot", "bynode", "l", "prepend_rank"})
_MPI_TWO_ARGS = frozenset({"mca", "gmca", "genv", "env"})
_PYTHON_OPTIONS_WITH_ARG = frozenset({"-W", "-X", "-Q"})
_SKIP_WRAPPERS = frozenset({"nohup", "time", "exec", "command", "builtin", "sudo", "xvfb-run",
                            "unbuffer", "caffeinate"})
_RUNNERS = frozenset({"uv", "poetry", "pipenv", "pdm", "hatch", "rye", "pixi"})
_CONDA = frozenset({"conda", "mamba", "micromamba"})
_WORLD_KEYS = {
    "torchrun": ("nproc_per_node", "nnodes"),
    "accelerate": ("num_processes", "num_machines", "config_file", "mixed_precision",
                   "gradient_accumulation_steps", "gpu_ids"),
    "deepspeed": ("num_gpus", "num_nodes", "include", "hostfile", "num_accelerators"),
    "srun": ("ntasks", "n", "nodes", "N", "ntasks_per_node", "gpus", "gpus_per_node"),
    "mpirun": ("np", "n", "c", "npernode", "N"),
}
_WORLD_ALIASES = {"nproc_per_node": "nproc_per_node", "nnodes": "nnodes",
                  "num_processes": "num_processes", "num_machines": "num_machines",
                  "num_gpus": "num_gpus", "num_accelerators": "num_gpus",
                  "num_nodes": "num_nodes", "n": "ntasks", "ntasks": "ntasks", "N": "nodes",
                  "nodes": "nodes", "ntasks_per_node": "ntasks_per_node", "np": "np",
                  "c": "np", "npernode": "npernode", "include": "include",
                  "hostfile": "hostfile", "config_file": "config_file",
                  "mixed_precision": "mixed_precision",
                  "gradient_accumulation_steps": "gradient_accumulation_steps",
                  "gpu_ids": "gpu_ids", "gpus": "gpus", "gpus_per_node": "gpus_per_node"}


class _Options:
    """Options of a launcher or wrapper, read until the first word that is not an option."""

    def __init__(self, words: list[Word], start: int, flags: frozenset[str],
                 short_with_arg: frozenset[str] = frozenset(),
                 two_args: frozenset[str] = frozenset(), single_dash_long: bool = False) -> None:
        self.found: list[tuple[str, Word, Word | None, int | None]] = []  # name, flag, value, cut
        position = start
        while position < len(words):
            word = words[position]
            text = word.text
            if text == "--":
                position += 1
                break
            if not text.startswith("-") or text == "-":
                break
            if "=" in text and text.startswith("--"):
                cut = text.index("=")
                self.found.append((_option_name(text[:cut]), word, word, cut + 1))
                position += 1
                continue
            if not text.startswith("--") and not single_dash_long and len(text) > 2 \
                    and text[1] in short_with_arg:
                self.found.append((text[1], word, word, 2))
                position += 1
                continue
            name = _option_name(text)
            if name in flags or (not text.startswith("--") and not single_dash_long
                                 and len(text) == 2 and text[1] not in short_with_arg
                                 and short_with_arg):
                self.found.append((name, word, None, None))
                position += 1
                continue
            if name in two_args and position + 2 < len(words):
                self.found.append((name, word, words[position + 2], None))
                position += 3
                continue
            value = words[position + 1] if position + 1 < len(words) else None
            self.found.append((name, word, value, None))
            position += 2 if value is not None else 1
        self.end = position

    def has(self, *names: str) -> bool:
        return any(found[0] in names for found in self.found)


def _recognize(words: list[Word], path: str, index: LineIndex, origin: str) -> Launch | None:
    position = 0
    wrappers: list[str] = []
    world: dict[str, Value] = {}
    options: list[LaunchArgument] = []
    env_assignments: dict[str, Value] = {}
    while position < len(words):
        name = _basename(words[position].text).lower()
        if name in _SKIP_WRAPPERS:
            wrappers.append(name)
            position += 1
            if name == "time" and position < len(words) and words[position].text == "-p":
                position += 1
            continue
        if name == "env":
            wrappers.append(name)
            position += 1
            while position < len(words) and (words[position].text.startswith("-")
                                             or re.match(r"[A-Za-z_]\w*=", words[position].text)):
                position += 2 if words[position].text in ("-u", "-C", "-S") else 1
            continue
        if name in ("nice", "ionice", "stdbuf", "timeout", "taskset", "numactl", "chrt"):
            wrappers.append(name)
            position += 1
            while position < len(words) and words[position].text.startswith("-"):
                takes = words[position].text in ("-n", "-c", "-s", "-k", "-N", "-m", "-C", "-p",
                                                  "--signal", "--kill-after")
                position += 2 if takes else 1
            if name in ("timeout", "taskset", "chrt") and position < len(words):
                position += 1
            continue
        if name in _RUNNERS and position + 1 < len(words) and words[position + 1].text == "run":
            wrappers.append(f"{name} run")
            position += 2
            while position < len(words) and words[position].text.startswith("-"):
                text = words[position].text
                takes = "=" not in text and text in ("--with", "--project", "--python", "-p",
                                                     "--directory", "--env-file", "--extra",
                                                     "--group", "--index-url", "--package",
                                                     "-e", "--environment", "--env")
                position += 2 if takes else 1
            continue
        if name in _CONDA and position + 1 < len(words) and words[position + 1].text == "run":
            wrappers.append(f"{name} run")
            position += 2
            while position < len(words) and words[position].text.startswith("-"):
                takes = words[position].text in ("-n", "--name", "-p", "--prefix", "--cwd")
                position += 2 if takes else 1
            continue
        if name in ("srun", "mpirun", "mpiexec", "orterun"):
            kind = "srun" if name == "srun" else "mpirun"
            wrappers.append(name)
            if kind == "srun":
                parsed = _Options(words, position + 1, _SRUN_FLAGS, _SRUN_SHORT_WITH_ARG)
            else:
                parsed = _Options(words, position + 1, _MPI_FLAGS, two_args=_MPI_TWO_ARGS,
                                  single_dash_long=True)
            _collect(parsed, kind, world, options, path, index, origin)
            position = parsed.end
            continue
        break
    if position >= len(words):
        return None
    command = words[position]
    name = _basename(command.text)
    lower = name.lower()
    command_value = word_value(command, "launcher", path, index, origin)
    launch = Launch(path, index.span(words[0].span.start, words[-1].span.end), "python",
                    command_value, wrappers=tuple(wrappers), world=world,
                    launcher_options=options, index=index)
    launch.env = env_assignments
    rest = position + 1
    if _is_python(lower) or (lower.endswith(".py") and command.known):
        if lower.endswith(".py"):
            launch.script = word_value(command, "script", path, index, origin)
            launch.words = words[rest:]
        elif not _python_target(launch, words, rest, path, index, origin):
            return None
    elif lower in ("torchrun", "torchrun.exe"):
        launch.launcher = "torchrun"
        if not _launcher_target(launch, words, rest, "torchrun", path, index, origin):
            return None
    elif lower in ("accelerate", "accelerate.exe") and rest < len(words) \
            and words[rest].text == "launch":
        launch.launcher = "accelerate"
        if not _launcher_target(launch, words, rest + 1, "accelerate", path, index, origin):
            return None
    elif lower in ("accelerate-launch",):
        launch.launcher = "accelerate"
        if not _launcher_target(launch, words, rest, "accelerate", path, index, origin):
            return None
    elif lower in ("deepspeed", "deepspeed.exe"):
        launch.launcher = "deepspeed"
        if not _launcher_target(launch, words, rest, "deepspeed", path, index, origin):
            return None
    elif lower in ("bash", "sh", "zsh", "source", ".", "pwsh", "powershell", "pwsh.exe",
                   "powershell.exe") or lower.endswith(BASH_SUFFIXES + POWERSHELL_SUFFIXES):
        if not _shell_target(launch, words, position, path, index, origin):
            return None
    else:
        return None
    _world_size(launch, path, index)
    return launch


def _collect(parsed: _Options, kind: str, world: dict[str, Value],
             options: list[LaunchArgument], path: str, index: LineIndex, origin: str) -> None:
    for name, flag_word, value_word, cut in parsed.found:
        flag_end = (cut - 1) if cut is not None and flag_word.text[cut - 1:cut] == "=" else cut
        flag = word_value(flag_word, name, path, index, origin, value=flag_word.text[:flag_end]
                          if flag_end else flag_word.text, start=0 if cut is None else 0,
                          end=flag_end)
        value = None
        if value_word is not None:
            value = word_value(value_word, name, path, index, origin, start=cut or 0,
                               key_span=flag.span)
            if value.known and isinstance(value.value, str):
                value = _replace_value(value, to_number(value.value))
        options.append(LaunchArgument(flag, value))
        canonical = _WORLD_ALIASES.get(name)
        if canonical and name in _WORLD_KEYS.get(kind, ()) and value is not None:
            world[canonical] = _rekey(value, canonical)


def _replace_value(value: Value, new: Any) -> Value:
    return Value(new, value.path, value.span, value.key, value.key_span, value.raw, value.style,
                 value.tag, value.document, value.origin, value.overrode)


def _rekey(value: Value, key: str) -> Value:
    return Value(value.value, value.path, value.span, key, value.key_span, value.raw,
                 value.style, value.tag, value.document, value.origin, value.overrode)


def _python_target(launch: Launch, words: list[Word], position: int, path: str,
                   index: LineIndex, origin: str) -> bool:
    while position < len(words):
        text = words[position].text
        if text == "-m" or (text.startswith("-m") and len(text) > 2 and not text.startswith("--")):
            if text == "-m":
                if position + 1 >= len(words):
                    return False
                module = words[position + 1]
                launch.module = word_value(module, "module", path, index, origin)
                after = position + 2
            else:
                module = words[position]
                launch.module = word_value(module, "module", path, index, origin, start=2)
                after = position + 1
            if launch.module.value in ("torch.distributed.run", "torch.distributed.launch"):
                launch.launcher = str(launch.module.value)
                launch.module = None
                return _launcher_target(launch, words, after, "torchrun", path, index, origin)
            if launch.module.value in ("accelerate.commands.launch",):
                launch.launcher = "accelerate"
                launch.module = None
                return _launcher_target(launch, words, after, "accelerate", path, index, origin)
            if launch.module.value in ("deepspeed.launcher.runner",):
                launch.launcher = "deepspeed"
                launch.module = None
                return _launcher_target(launch, words, after, "deepspeed", path, index, origin)
            launch.words = words[after:]
            return True
        if text == "-" or text == "-c" or text.startswith("-c") and not text.startswith("--"):
            return False  # python - (stdin) and python -c are not launches of a script
        if text in _PYTHON_OPTIONS_WITH_ARG:
            position += 2
            continue
        if text.startswith("-") and text != "-":
            position += 1
            continue
        launch.script = word_value(words[position], "script", path, index, origin)
        launch.words = words[position + 1:]
        return True
    return False


def _launcher_target(launch: Launch, words: list[Word], position: int, kind: str, path: str,
                     index: LineIndex, origin: str) -> bool:
    flags = {"torchrun": _TORCHRUN_FLAGS, "accelerate": _ACCELERATE_FLAGS,
             "deepspeed": _DEEPSPEED_FLAGS}[kind]
    parsed = _Options(words, position, flags)
    _collect(parsed, kind, launch.world, launch.launcher_options, path, index, origin)
    if parsed.end >= len(words):
        return False
    target = words[parsed.end]
    if parsed.has("module", "m"):
        launch.module = word_value(target, "module", path, index, origin)
    elif parsed.has("no_python"):
        launch.script = word_value(target, "script", path, index, origin)
        if not target.text.endswith(".py"):
            return False
    else:
        launch.script = word_value(target, "script", path, index, origin)
    launch.words = words[parsed.end + 1:]
    return True


def _shell_target(launch: Launch, words: list[Word], position: int, path: str,
                  index: LineIndex, origin: str) -> bool:
    command = words[position]
    lower = _basename(command.text).lower()
    if lower.endswith(BASH_SUFFIXES + POWERSHELL_SUFFIXES):
        target_at = position
    else:
        target_at = position + 1
        while target_at < len(words) and words[target_at].text.startswith("-"):
            option = words[target_at].text.lower()
            if option in ("-c", "-command", "-encodedcommand"):
                return False
            target_at += 1
    if target_at >= len(words):
        return False
    target = words[target_at]
    if not target.text.lower().endswith(BASH_SUFFIXES + POWERSHELL_SUFFIXES):
        return False
    launch.launcher = "powershell" if target.text.lower().endswith(POWERSHELL_SUFFIXES) else "bash"
    launch.script = word_value(target, "script", path, index, origin)
    launch.words = words[target_at + 1:]
    return True


def _world_size(launch: Launch, path: str, index: LineIndex) -> None:
    """The number of data-parallel processes the launcher starts, when the flags say it."""
    world = launch.world
    command = launch.command
    if launch.launcher in ("torchrun", "torch.distributed.run", "torch.distributed.launch"):
        nproc = world.get("nproc_per_node")
        nodes = world.get("nnodes")
        if nodes is not None and isinstance(nodes.value, str) and ":" in nodes.value:
            low, _, high = nodes.value.partition(":")
            nodes = _replace_value(nodes, int(low) if low == high and low.isdigit()
                                   else UNRESOLVED)
        factors = [f for f in (nproc, nodes) if f is not None]
        if nproc is None:
            nproc = _replace_value(_rekey(command, "nproc_per_node"), 1)
        _set_world(launch, [nproc] + ([nodes] if nodes is not None else []),
                   factors or [nproc])
    elif launch.launcher == "accelerate":
        processes = world.get("num_processes")
        if processes is not None:
            _set_world(launch, [processes], [processes])
        else:
            launch.world_note = ("accelerate launch without --num_processes: the world size "
                                 "comes from its config file")
    elif launch.launcher == "deepspeed":
        gpus = world.get("num_gpus")
        nodes = world.get("num_nodes")
        include = world.get("include")
        if include is not None and include.known:
            count = sum(len(host.split(":", 1)[1].split(",")) if ":" in host else 0
                        for host in str(include.value).split("@"))
            if count:
                _set_world(launch, [_replace_value(include, count)], [include])
                return
        if gpus is not None:
            factors = [gpus] + ([nodes] if nodes is not None else [])
            _set_world(launch, factors, factors)
        else:
            launch.world_note = ("deepspeed without --num_gpus uses every GPU of the "
                                 "machine: the world size is not known statically")
    elif launch.launcher == "python":
        tasks = world.get("ntasks") or world.get("np")
        if tasks is not None:
            _set_world(launch, [tasks], [tasks])
        elif world.get("ntasks_per_node") is not None:
            factors = [world["ntasks_per_node"]] + (
                [world["nodes"]] if world.get("nodes") is not None else [])
            _set_world(launch, factors, factors)
        elif not launch.wrappers or not ({"srun", "mpirun", "mpiexec", "orterun"}
                                         & set(launch.wrappers)):
            _set_world(launch, [_replace_value(_rekey(command, "processes"), 1)], [])
        else:
            launch.world_note = f"{launch.wrappers[-1]} without a task count"


def _set_world(launch: Launch, factors: list[Value], shown: list[Value]) -> None:
    product: Any = 1
    for factor in factors:
        number = factor.value
        if isinstance(number, str) and re.fullmatch(r"\d+", number):
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            product = UNRESOLVED
            break
        product *= number
    anchor = shown[0] if shown else factors[0]
    launch.world_size = Value(product, anchor.path, anchor.span, "batch.world_size",
                              anchor.key_span, anchor.raw, origin=anchor.origin)
    launch.world_factors = tuple(shown)
    if product is UNRESOLVED:
        launch.world_note = "a world-size flag is not a number trainlint can read"


# --------------------------------------------------------------------------- argument pairing


def pair_arguments(launch: Launch,
                   takes_value: Callable[[str], bool | None]) -> list[LaunchArgument]:
    """Pair the script's words into (flag, value) arguments.

    `takes_value(flag)` says whether an option consumes the next word (None: guess from the
    next word: it is the value unless it looks like an option).
    """
    path, index = launch.path, launch.index or LineIndex("")
    origin = launch.command.origin
    pairs: list[LaunchArgument] = []
    words = launch.words
    position = 0
    only_positional = False
    while position < len(words):
        word = words[position]
        if word.variadic:
            position += 1
            continue
        if only_positional or not word.looks_like_option:
            if word.text == "--" and not only_positional:
                only_positional = True
                position += 1
                continue
            pairs.append(LaunchArgument(None, word_value(word, "", path, index, origin)))
            position += 1
            continue
        if "=" in word.text and _is_option_text(word.text.split("=", 1)[0]):
            cut = word.text.index("=")
            flag = word_value(word, word.text[:cut], path, index, origin, value=word.text[:cut],
                              end=cut)
            value = word_value(word, word.text[:cut], path, index, origin, start=cut + 1,
                               key_span=flag.span)
            pairs.append(LaunchArgument(flag, value))
            position += 1
            continue
        flag = word_value(word, word.text, path, index, origin, value=word.text)
        following = words[position + 1] if position + 1 < len(words) else None
        wants = takes_value(word.text)
        if wants is None:
            wants = following is not None and not following.looks_like_option \
                and not following.variadic
        if wants and following is not None:
            value = word_value(following, word.text, path, index, origin, key_span=flag.span)
            pairs.append(LaunchArgument(flag, value))
            position += 2
        else:
            pairs.append(LaunchArgument(flag, None))
            position += 1
    return pairs
