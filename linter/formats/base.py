"""Shared shapes of the format adapters, and the one table of the formats trainlint reads."""

from __future__ import annotations

import os

from msgspec import Struct, field

from trainlint.records import Value
from trainlint.text import Span


# The one table of what trainlint reads: file suffix -> format.
FORMAT_BY_SUFFIX = {
    ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".py": "python",
    ".sh": "shell", ".bash": "shell", ".ps1": "shell", ".md": "markdown",
}


def format_of(path: str | os.PathLike) -> str | None:
    """The format trainlint reads a file as, from its suffix; None: not a file it reads."""
    return FORMAT_BY_SUFFIX.get(os.path.splitext(os.fspath(path))[1].lower())


class ParseError(Exception):
    """A file that cannot be parsed: reported as TL001 at line/col (1-based). `read_by` names
    the more lenient readers that do read the text (JSON with comments), if any."""

    def __init__(self, message: str, line: int = 1, col: int = 1, read_by: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col
        self.read_by = read_by


class SyntaxProblem(Struct, frozen=True):
    """A place where a file cannot be read as its format: the whole file (a parse error), or
    one command of a launcher (a quote that is never closed). TL001 reports it."""

    path: str
    span: Span
    message: str
    read_by: str | None = None  # lenient readers that read the text after all (ParseError)

    def __str__(self) -> str:
        return f"{self.path}:{self.span.line}:{self.span.col}: {self.message}"


class Note(Struct, frozen=True):
    """Something trainlint skipped at a place, and why (`--verbose` prints it)."""

    path: str
    span: Span
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.span.line}:{self.span.col}: {self.message}"


class ArgumentSpec(Struct):
    """One `parser.add_argument(...)` of a training script, read without running it."""

    flags: tuple[str, ...]  # ("--lr", "--learning-rate")
    dest: str
    action: str | None = None  # store_true, store_false, BooleanOptionalAction, ...
    type_name: str | None = None  # "float", "int", "str", "bool", or a dotted name
    nargs: str | int | None = None
    default: Value | None = None  # the default literal with its span (None: no default=)
    choices: tuple | None = None
    help: str | None = None
    span: Span | None = None  # the whole add_argument call


class ScriptConfig(Struct):
    """What a Python file contributes as configuration: argparse specs and plain values."""

    arguments: list[ArgumentSpec] = field(default_factory=list)
