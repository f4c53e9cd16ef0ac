"""TL009 unused-suppression: suppression comment that suppresses nothing.

The class docstring is the rule's page (docs/rules/TL009.md).
"""

import re
from functools import cache
from pathlib import Path

from trainlint.api import Example, Fix, FixAvailability, LineIndex, Severity, Span, SuppressionRule

_BRACKETS = re.compile(r"\[([^\]]*)\]")
_NOQA_CODES = re.compile(r"(noqa:\s*)(.*)$", re.IGNORECASE | re.DOTALL)
# Comments in these files are not comments (a Markdown heading, an example in the docs).
_NOT_COMMENTS = (".md",)


class UnusedSuppression(SuppressionRule):
    """## What it does
    Finds `# trainlint: ignore[...]`, `# trainlint: ignore-file[...]` and `# noqa: TL...`
    comments that suppress nothing: no finding of the listed code is on the line they cover
    (or, for `ignore-file`, anywhere in the file).

    ## Why is this bad?
    A suppression outlives the problem it hid. Once the value is fixed, the comment stays and
    silently hides the next real finding on that line: someone changes `lr: 0.02` back to a bad
    value and trainlint says nothing. Removing stale suppressions keeps the remaining ones
    meaningful, as ruff's RUF100 does for `# noqa`.

    Only codes of rules that are selected in this run are reported (a suppression for a rule you
    turned off may be needed again when you turn it on), a `# noqa` without TL codes belongs to
    other linters and is never reported, and a blanket `# trainlint: ignore` without codes is
    left alone. Comments in Markdown files are not read. Codes of rules that link files
    (TL402: a save here, the load in another script) are not reported either: whether another
    file needs the suppression is known only after every file is checked.

    ## Example
    ```yaml
    learning_rate: 2.0e-5  # trainlint: ignore[TL004]
    ```

    ## Use instead
    ```yaml
    learning_rate: 2.0e-5
    ```

    ## Fix safety
    Safe: the fix removes the unused codes, or the whole comment when none is left (the whole
    line when the comment stood alone on it, except after a line that ends in a `\\` or
    backtick continuation: there only the comment's text goes, so that no line is joined onto
    the command); text after the directive in the same comment is kept. It changes no value,
    and a suppression that still hides a finding is never touched. Only real comments are
    suppressions: the same words inside a YAML block scalar, a TOML or Python string or a
    shell here-document are data, never reported or removed.
    To keep a suppression on purpose, add `TL009` to it (`# trainlint: ignore[TL101, TL009]`).

    ## Options
    None.

    ## Source
    ruff's RUF100 (unused-noqa); RULES.md TL009.
    """

    code = "TL009"
    name = "unused-suppression"
    severity = Severity.WARNING
    fix_availability = FixAvailability.ALWAYS
    message = "suppression comment that suppresses nothing"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "remove the unused suppression"

    bad = (
        Example("train.yaml",
                "learning_rate: 2.0e-5  # trainlint: ignore[TL004]\nnum_train_epochs: 3\n",
                fixed="learning_rate: 2.0e-5\nnum_train_epochs: 3\n",
                settings={"extend-select": ["TL004"]}),
        Example("config.yaml",
                "# trainlint: ignore[TL001]\nlr: 0.001\nepochs: 10\n",
                fixed="lr: 0.001\nepochs: 10\n", settings={"extend-select": ["TL001"]}),
        Example("train.yaml",
                "learning_rate: 1e-4  # trainlint: ignore[TL004, TL001]\nnum_train_epochs: 3\n",
                fixed="learning_rate: 1e-4  # trainlint: ignore[TL004]\nnum_train_epochs: 3\n",
                settings={"extend-select": ["TL001", "TL004"]}),
    )
    good = (
        Example("train.yaml",
                "learning_rate: 1e-4  # trainlint: ignore[TL004]\nnum_train_epochs: 3\n",
                settings={"extend-select": ["TL004"]}),
        Example("train.py", "import os  # noqa: F401\nx = 1  # noqa\n"),
        Example("train.yaml", "lr: 0.001  # trainlint: ignore\nepochs: 10\n"),
    )

    def check_suppressions(self, path, text, suppressions):
        if not suppressions or path.lower().endswith(_NOT_COMMENTS):
            return
        candidates = [(s, self._unused_codes(s)) for s in suppressions if s.codes]
        candidates = [(s, unused) for s, unused in candidates if unused]
        if not candidates:
            return
        index = LineIndex.for_file(path, text)  # the lines the suppressions' spans count
        for suppression, unused in candidates:
            if self._kept_on_purpose(suppression, suppressions):
                continue
            directive = text[suppression.span.start:suppression.span.end]
            listed = ", ".join(unused)
            fix = Fix.replace(*self._removal(text, index, suppression, unused), self.fix_title)
            yield self.diagnostic(path, suppression.span,
                                  f"unused suppression: `{directive}` hides no {listed} finding "
                                  "here", fix)

    def _unused_codes(self, suppression) -> list[str]:
        selected = self._selected_codes()
        unused = []
        for code in sorted(suppression.codes):
            if not code.startswith("TL") or code == self.code:
                continue
            if not any(rule.startswith(code) for rule in selected):
                continue  # not selected in this run: maybe needed when it is
            if any(rule.startswith(code) for rule in self.ctx.project_codes):
                continue  # a finding that links files may need it; those come after this file
            if not any(used.startswith(code) for used in suppression.used):
                unused.append(code)
        return unused

    def _selected_codes(self) -> frozenset[str]:
        selected = getattr(self.ctx, "selected", None)
        return _builtin_codes() if selected is None else selected

    def _kept_on_purpose(self, suppression, suppressions) -> bool:
        """A suppression that names TL009 (or a blanket one) covering this line keeps it."""
        if self.code in suppression.codes:
            return True
        for other in suppressions:
            if other is suppression or other.target_line not in (0, suppression.span.line):
                continue
            if other.codes is None or any(self.code.startswith(code) for code in other.codes):
                return True
        return False

    def _removal(self, text: str, index: LineIndex, suppression, unused: list[str]) -> tuple[Span, str]:
        """The span to replace and its new text."""
        span = suppression.span
        directive = text[span.start:span.end]
        line_start = index.line_starts[span.line - 1]
        line_end = index.offset(span.line + 1, 1) if span.line < len(index.line_starts) else len(text)
        content_end = line_start + len(index.line_text(span.line))
        before, after = text[line_start:span.start], text[span.end:content_end]
        kept = [code for code in _listed_codes(directive) if code.strip().upper() not in unused]
        if kept:
            return _rewrite_codes(index, span, directive, kept)
        if directive.lower().lstrip("# ").startswith("noqa") and after.lstrip().startswith(","):
            codes_start = span.start + _NOQA_CODES.search(directive).start(2)
            end = span.end + (len(after) - len(after.lstrip().lstrip(",").lstrip()))
            return index.span(codes_start, end), ""
        if after.strip():
            rest = after.lstrip()
            end = span.end + len(after) - len(rest)
            return index.span(span.start, end), ("" if rest.startswith("#") else "# ")
        if not before.strip() and not _continues(index, span.line - 1):
            return index.span(line_start, line_end), ""
        if not before.strip():  # after a `\` line: removing the line break would join lines
            return index.span(line_start, content_end), ""
        return index.span(line_start + len(before.rstrip()), span.end), ""


@cache
def _builtin_codes() -> frozenset[str]:
    """Every built-in rule's code, from the module file names (importing them all is slow).
    Used when the engine does not say which codes this run selected."""
    import trainlint.rules

    root = Path(trainlint.rules.__file__).parent
    return frozenset(match.group(1).upper() for path in root.rglob("tl*.py")
                     if (match := re.match(r"(tl\d+)_", path.name)))


def _listed_codes(directive: str) -> list[str]:
    brackets = _BRACKETS.search(directive)
    listed = brackets.group(1) if brackets else _NOQA_CODES.search(directive).group(2)
    return [code.strip() for code in listed.split(",") if code.strip()]


def _rewrite_codes(index: LineIndex, span: Span, directive: str, kept: list[str]) -> tuple[Span, str]:
    brackets = _BRACKETS.search(directive)
    if brackets:
        start, end = brackets.span(1)
    else:
        start, end = _NOQA_CODES.search(directive).span(2)
    return index.span(span.start + start, span.start + end), ", ".join(kept)


def _continues(index: LineIndex, line: int) -> bool:
    """Whether a line ends in a line continuation (a shell `\\` or a PowerShell backtick), so
    that the line after it is part of its command: removing that whole line would join the
    next one onto the command, and change what runs."""
    return line >= 1 and index.line_text(line).endswith(("\\", "`"))
