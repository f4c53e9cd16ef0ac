"""Launch scripts: `.sh`/`.bash`, PowerShell `.ps1`, and the shell blocks of Markdown files.

`parse(path, text, index)` reads the launch commands of a file without running it: the
launcher (python, torchrun, accelerate, deepspeed, ...), its world-size flags, the target
script or module, and the script's arguments, each a `Value` at its exact characters. A broken
quote or a block that is never closed is a problem (data; TL001 reports it) at its place, and
the lexer resumes on the next line, so the rest of the file is still read; constructs whose
effect cannot be known without running the script are skipped with a note.

- `scanner`: token shapes and the word and quote scanner both lexers share;
- `bash`, `powershell`: the two lexers (character offsets kept for every word);
- `markdown`: the fenced shell blocks of a Markdown file;
- `evaluate`: statements in order, with variables and `cd`;
- `launch`: recognizing a launch command, and its shapes (`Launch`, `Word`, `LaunchFile`).
"""

from __future__ import annotations

import re

from trainlint.formats.base import Note, format_of
from trainlint.formats.shell.bash import BashLexer
from trainlint.formats.shell.evaluate import Evaluator
from trainlint.formats.shell.launch import (
    BASH_SUFFIXES,
    POWERSHELL_SUFFIXES,
    Launch,
    LaunchArgument,
    LaunchFile,
    Word,
    option_name,
    pair_arguments,
    to_number,
    word_value,
)
from trainlint.formats.shell.markdown import FILL_IN_RE, parse_markdown
from trainlint.formats.shell.powershell import PowerShellLexer
from trainlint.text import LineIndex

__all__ = [
    "BASH_SUFFIXES", "POWERSHELL_SUFFIXES", "Launch", "LaunchArgument", "LaunchFile", "Word",
    "option_name", "pair_arguments", "parse", "to_number", "word_value",
]


def parse(path: str, text: str, index: LineIndex | None = None) -> LaunchFile:
    """Read the launch commands of a shell script, a PowerShell script or a Markdown file
    (which, by the file's suffix: FORMAT_BY_SUFFIX)."""
    index = index or LineIndex(text)
    if format_of(path) == "markdown":
        return parse_markdown(path, text, index)
    kind = "powershell" if path.lower().endswith(POWERSHELL_SUFFIXES) else "shell"
    result = LaunchFile(path, text, index, kind)
    evaluator = Evaluator(result)
    lexer_cls = PowerShellLexer if kind == "powershell" else BashLexer
    lexer = lexer_cls(text, 0, len(text), index, path)
    evaluator.run(lexer.statements(), kind, lexer)
    evaluator.finish()
    _fill_ins_are_not_problems(result)
    return result


# `NAME=<what to put here>`: a script shipped as a template, to be filled in before it runs
_FILL_IN_ASSIGNMENT_RE = re.compile(
    r"^[ \t]*(?:export[ \t]+)?[A-Za-z_]\w*=" + FILL_IN_RE.pattern, re.MULTILINE)


def _fill_ins_are_not_problems(result: LaunchFile) -> None:
    """Where the script itself marks a value to fill in (`DATA_PATH=<PATH_OF_DATA> \\`), the
    line and the one it continues onto are a template: what the shell would make of them
    before they are filled in is no finding (a note says why)."""
    lines = set()
    for match in _FILL_IN_ASSIGNMENT_RE.finditer(result.text):
        line = result.index.line_col(match.start())[0]
        lines.update((line, line + 1))
    if not lines:
        return
    kept = []
    for problem in result.problems:
        if problem.span.line in lines:
            result.notes.append(Note(result.path, problem.span,
                                     f"not read: a value to fill in ({problem.message})"))
        else:
            kept.append(problem)
    result.problems = kept
