"""Suppression comments: `# trainlint: ignore[TL101]`, `# noqa: TL101`, `# trainlint: ignore-file`.

A comment at the end of a line covers that line; a comment alone on its line covers the next
line. Without codes (`# trainlint: ignore`) it covers every code. A bare `# noqa` belongs to
other linters and is not read. Works in every format with `#` comments (Python, YAML, TOML,
shell); JSON has none, so use `per-file-ignores` there.

Only real comments are read, as each format's lexer finds them (trainlint.formats.comments):
the same words inside a YAML block scalar, a TOML or Python string or a shell here-document
are data, and suppress nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from msgspec import Struct, field

from trainlint.records import Diagnostic
from trainlint.text import LineIndex, Span

_COMMENT = re.compile(
    r"#\s*(?:trainlint:\s*(?P<kind>ignore-file|ignore)(?:\[(?P<codes>[^\]]*)\])?"
    r"|noqa:\s*(?P<noqa>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))",
    re.IGNORECASE,
)


class Suppression(Struct):
    span: Span  # the comment directive itself
    codes: frozenset[str] | None  # None: every code
    target_line: int  # 0: the whole file
    used: set[str] = field(default_factory=set)

    def covers(self, diagnostic: Diagnostic) -> bool:
        if self.target_line and diagnostic.span.line != self.target_line:
            return False
        return self.codes is None or any(diagnostic.code.startswith(code) for code in self.codes)


def _codes(text: str | None, only_ours: bool = False) -> frozenset[str] | None:
    if text is None:
        return None
    codes = frozenset(code.strip().upper() for code in text.replace(",", " ").split() if code.strip())
    if only_ours:
        codes = frozenset(code for code in codes if code.startswith("TL"))
    return codes or None


def find_suppressions(text: str, index: LineIndex,
                      comments: Callable[[], Iterable[tuple[int, int]]]) -> list[Suppression]:
    """The suppressions in a file's comments. `comments()` gives the (start, end) of each
    comment; it is called only when the text mentions a suppression at all."""
    if ("trainlint" not in text and "noqa" not in text) or not any(
            _ours(match) for match in _COMMENT.finditer(text)):
        return []  # no directive of ours anywhere: no need to find the comments
    found = []
    for comment_start, comment_end in comments():
        for match in _COMMENT.finditer(text, comment_start, comment_end):
            suppression = _suppression(match, index)
            if suppression is not None:
                found.append(suppression)
    return found


def _ours(match: re.Match) -> bool:
    """A `# trainlint: ...` directive, or a `# noqa:` that names a TL code."""
    return match.group("noqa") is None or _codes(match.group("noqa"), only_ours=True) is not None


def _suppression(match: re.Match, index: LineIndex) -> Suppression | None:
    line, col = index.line_col(match.start())
    before = index.line_text(line)[: col - 1]
    own_line = not before.strip()
    kind = (match.group("kind") or "").lower()
    if match.group("noqa") is not None:
        codes = _codes(match.group("noqa"), only_ours=True)
        if codes is None:
            return None  # `# noqa: E501` belongs to another linter
    else:
        codes = _codes(match.group("codes"))
    target = 0 if kind == "ignore-file" else (line + 1 if own_line else line)
    return Suppression(index.span(match.start(), match.end()), codes, target)


def apply_suppressions(diagnostics: list[Diagnostic],
                       suppressions: list[Suppression]) -> list[Diagnostic]:
    if not suppressions:
        return diagnostics
    kept = []
    for diagnostic in diagnostics:
        covering = [s for s in suppressions if s.covers(diagnostic)]
        for suppression in covering:
            suppression.used.add(diagnostic.code)
        if not covering:
            kept.append(diagnostic)
    return kept
