"""The shell blocks of Markdown files: fenced `bash`/`sh`/`console`/`powershell` blocks.

The lexers read a masked copy of the file: the blocks' commands, with everything else and
console prompts and output blanked (newlines kept), so every offset is the file's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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
    blocks = list(_fenced_blocks(text))
    chars = [ch if ch in "\r\n" else " " for ch in text]
    for language, start, end, prompted in blocks:
        _unmask_block(chars, text, start, end, language, prompted)
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
