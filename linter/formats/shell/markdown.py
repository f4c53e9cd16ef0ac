"""The shell blocks of Markdown files: fenced `bash`/`sh`/`console`/`powershell` blocks.

The lexers read a masked copy of the file: the blocks' commands, with everything else and
console prompts and output blanked (newlines kept), so every offset is the file's own.

Documentation shows more than runnable commands. A command is read as a launch only when it
could be run as written: a usage synopsis (`[--work-dir DIR]`, `[options]`, a `...` word) is
blanked with a note; a value to fill in (`--model_path <path-to-model>`) is read as a value
trainlint cannot know, while the command's flags are still checked; a block holding a Python
traceback is output, and in any shell block whose lines start with `$ ` prompts, the lines
without one are output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from trainlint.formats.base import Note
from trainlint.formats.shell.bash import BashLexer
from trainlint.formats.shell.evaluate import Evaluator
from trainlint.formats.shell.launch import LaunchFile
from trainlint.formats.shell.powershell import PowerShellLexer
from trainlint.text import LineIndex

FENCE_BASH = frozenset({"bash", "sh", "shell", "zsh", "console", "shell-session", "shellsession",
                        "terminal", "ksh"})
FENCE_POWERSHELL = frozenset({"powershell", "ps1", "pwsh", "ps", "posh"})
_PROMPTED_FENCES = frozenset({"console", "shell-session", "shellsession", "terminal"})


def parse_markdown(path: str, text: str, index: LineIndex) -> LaunchFile:
    result = LaunchFile(path, text, index, "markdown")
    evaluators = {"shell": Evaluator(result), "powershell": Evaluator(result)}
    blocks = []
    for block in _fenced_blocks(text):
        if _TRACEBACK_RE.search(text, block[1], block[2]):
            result.notes.append(Note(path, index.span(block[1], block[1]),
                                     "block skipped: it shows a Python traceback (output)"))
        else:
            blocks.append(block)
    chars = [ch if ch in "\r\n" else " " for ch in text]
    for language, start, end, prompted in blocks:
        _unmask_block(chars, text, start, end, language, prompted, result)
    masked = "".join(chars)
    for language, start, end, _prompted in blocks:
        lexer_cls = PowerShellLexer if language == "powershell" else BashLexer
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
_DOLLAR_PROMPT_RE = re.compile(r"^[ \t]*\$ ")
_TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)|\.py\", line \d+, in ")
_COMMENT_RE = re.compile(r"(?:^|\s)#.*")
_QUOTED_RE = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
# Placeholders of usage synopses, outside quotes: a word opening with `[` (an optional part;
# `[ ` and `[[` are test commands), `<name>` (not a redirection: no space before `>`), `...`.
_PLACEHOLDER_RE = re.compile(r"(?:^|\s)\[(?![\s\[])\S*|(?:^|\s)(?:\.\.\.|…)(?=\s|$)")
# A value to fill in (`--model <model name>`): the command is still run as written around it,
# so the placeholder is read as a variable whose value is unknown (`${___}`, same length).
FILL_IN_RE = re.compile(r"(?<![<\w])<[A-Za-z_][^<>\n]*?[^\s<>]>")


def _unmask_block(chars: list[str], text: str, start: int, end: int, kind: str,
                  prompted: bool, result: LaunchFile) -> None:
    """Copy the block's runnable commands into the masked text (prompts, output and
    commands with placeholders stay blank)."""
    body = text[start:end]
    lines = body.splitlines(keepends=True)
    has_prompts = any(_PROMPT_RE.match(line) for line in lines) if prompted else \
        any(_DOLLAR_PROMPT_RE.match(line) for line in lines)
    continuation = "`" if kind == "powershell" else "\\"
    for command in _commands(lines, start, has_prompts, continuation):
        placeholder = _placeholder(command)
        if placeholder is not None:
            first, keep, _ = command[0]
            result.notes.append(Note(result.path, result.index.span(first + keep, first + keep),
                                     f"not read as a launch: a usage synopsis or placeholder "
                                     f"(`{placeholder.group().strip()}`)"))
            continue
        for position, keep, content in command:
            for column in range(keep, len(content)):
                chars[position + column] = content[column]
            for fill_in in FILL_IN_RE.finditer(_QUOTED_RE.sub(_blank, content), keep):
                start, end = position + fill_in.start(), position + fill_in.end()
                chars[start:end] = _unknown_variable(end - start)


def _blank(quoted: re.Match) -> str:
    return " " * len(quoted.group())


def _unknown_variable(length: int) -> str:
    """A reference to an unset variable, `length` characters long (`${___}`, `$__`)."""
    return "${" + "_" * (length - 3) + "}" if length > 3 else "$" + "_" * (length - 1)


def _placeholder(command: list[tuple[int, int, str]]) -> re.Match | None:
    """The first placeholder of a command, outside quotes and comments; None where there is
    none, or where a quote spans lines (the words cannot be told apart here)."""
    words = _QUOTED_RE.sub('""', " ".join(content[keep:] for _, keep, content in command))
    if "'" in words or words.count('"') % 2:
        return None
    return _PLACEHOLDER_RE.search(_COMMENT_RE.sub("", words))


def _commands(lines: list[str], position: int, has_prompts: bool,
              continuation: str) -> list[list[tuple[int, int, str]]]:
    """The block's commands, each its lines as (offset, first column kept, content); lines
    of command output are left out."""
    commands: list[list[tuple[int, int, str]]] = []
    continuing = False
    for line in lines:
        content = line.rstrip("\r\n")
        match = _PROMPT_RE.match(content) if has_prompts else None
        if continuing:
            commands[-1].append((position, 0, content))
        elif match:
            commands.append([(position, match.end(), content)])
        elif not has_prompts:
            commands.append([(position, 0, content)])
        else:
            position += len(line)
            continue  # command output
        continuing = content.rstrip().endswith(continuation)
        position += len(line)
    return commands
