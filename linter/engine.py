"""paths -> formats -> ConfigView + parsed script -> rules -> suppressions -> report / fix loop.

The engine knows no rule by name: it dispatches on the rule's kind (ParseErrorRule,
DocumentRule, ConfigRule, ScriptRule, SuppressionRule).
"""

from __future__ import annotations

import codecs
import fnmatch
import importlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from trainlint.api import (
    Applicability, ConfigRule, ConfigView, Diagnostic, DocumentRule, ParsedDocument, ParseErrorRule, Rule,
    ScriptRule, Severity, SuppressionRule,
)
from trainlint.fix.apply import MAX_PASSES, applicable, apply_edits, unified_diff, write_atomically
from trainlint.formats.base import ParseError
from trainlint.registry import all_rules, is_selected, runs
from trainlint.settings import Settings
from trainlint.suppress import apply_suppressions, find_suppressions
from trainlint.text import LineIndex, Span

FORMAT_BY_SUFFIX = {
    ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".py": "python",
    ".sh": "shell", ".bash": "shell", ".ps1": "shell", ".md": "markdown",
}
NOT_TRAINING_CONFIGS = {"pyproject.toml", "package.json", "package-lock.json", "tsconfig.json",
                        ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "trainlint.toml"}
SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox",
                ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "build",
                "dist", "site-packages", ".eggs", ".ipynb_checkpoints", "wandb", "mlruns"}
# Forked children (they start with the modules already imported) pay for themselves from about
# 16 KiB of Python on 2 cores: 7 KiB ran 85 ms forked and 87 ms in one process, 24 KiB 95 and
# 100 ms, 75 KiB 116 and 140 ms. Python files cost about four times what a config of the same
# size does (ast, code facts, script rules).
PARALLEL_MIN_WORK = 16 * 1024  # bytes of Python, or four times as many bytes of config
PYTHON_WEIGHT = 4
MAX_PROCESSES = 8


class FileResult(Struct):
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixed: int = 0
    diff: str = ""
    output: str | None = None  # fixed text for --stdin-filename
    errors: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # rule code -> what the file tells its project


class Report(Struct):
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0
    fixed: int = 0
    diffs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    unsafe_fixable: int = 0
    dry_run: bool = False  # --diff: `fixed` counts fixes shown, not written

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        failing = any(d.severity is not Severity.INFO for d in self.diagnostics)
        return 1 if failing else 0


class RunOptions(Struct):
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    select: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    preview: bool | None = None  # None: the settings decide


KINDS_BY_FORMAT = {
    "yaml": ("ParseErrorRule", "DocumentRule", "ConfigRule", "SuppressionRule"),
    "json": ("ParseErrorRule", "DocumentRule", "ConfigRule", "SuppressionRule"),
    "toml": ("ParseErrorRule", "DocumentRule", "ConfigRule", "SuppressionRule"),
    "python": ("ParseErrorRule", "ConfigRule", "ScriptRule", "SuppressionRule"),
    "shell": ("ParseErrorRule", "ConfigRule", "SuppressionRule"),
    "markdown": ("ParseErrorRule", "ConfigRule", "SuppressionRule"),
}


def kinds_for(files: Iterable[str]) -> frozenset[str]:
    """The rule kinds the given files can use."""
    kinds: set[str] = set()
    for path in files:
        kinds.update(KINDS_BY_FORMAT.get(FORMAT_BY_SUFFIX.get(Path(path).suffix.lower(), ""), ()))
    return frozenset(kinds)


class RuleSet:
    """The selected rules, instantiated once per process, grouped by kind."""

    def __init__(self, settings: Settings, options: RunOptions,
                 kinds: frozenset[str] | None = None) -> None:
        self.settings = settings
        ctx = settings.rule_context()
        select = options.select or settings.select
        extend = [*settings.extend_select, *options.extend_select]
        ignore = [*settings.ignore, *options.ignore]
        self._selection = (select, extend, ignore)
        self._severities = ctx.severities
        self.preview = settings.preview if options.preview is None else options.preview
        classes = [cls for cls in all_rules(kinds)
                   if is_selected(cls.code, select, extend, ignore) and runs(cls, self.preview)]
        ctx.selected = frozenset(cls.code for cls in classes)
        rules = [cls(ctx) for cls in classes]
        self.parse_error = [r for r in rules if isinstance(r, ParseErrorRule)]
        self.document = [r for r in rules if isinstance(r, DocumentRule)]
        self.config = [r for r in rules if isinstance(r, ConfigRule)]
        self.script = [r for r in rules if isinstance(r, ScriptRule)]
        self.suppression = [r for r in rules if isinstance(r, SuppressionRule)]
        self.project = [r for r in self.script
                        if type(r).project_facts is not ScriptRule.project_facts]
        ctx.project_codes = frozenset(r.code for r in self.project)

    def admit(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Findings made outside a rule (launch resolution): selection and severity apply too."""
        admitted = []
        for diagnostic in diagnostics:
            if not is_selected(diagnostic.code, *self._selection):
                continue
            override = self._severities.get(diagnostic.code)
            if override is not None:
                diagnostic.severity = override
            admitted.append(diagnostic)
        return admitted


# ---------------------------------------------------------------- discovery

def discover(paths: Iterable[str], settings: Settings,
             errors: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Files to check (explicit files always; folders walked) and skip notes. A path that
    does not exist, a dangling link or a link loop is an error (as in ruff): a CI gate with
    a typo in its path must not pass."""
    files: list[str] = []
    notes: list[str] = []
    errors = notes if errors is None else errors
    for given in paths:
        path = Path(given)
        try:
            os.stat(path)
        except OSError as exc:
            errors.append(_missing_path(given, exc))
            continue
        if path.is_dir():
            files.extend(walk_folder(path, settings, errors=errors))
        else:
            files.append(given)
    return files, notes


def _missing_path(given: str, exc: OSError) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return f"{given}: symbolic link loop"
    if os.path.islink(given):
        return f"{given}: dangling symbolic link (to {os.readlink(given)})"
    return f"{given}: {exc.strerror or 'cannot be read'}"


def walk_folder(root: Path, settings: Settings, wanted=None,
                errors: list[str] | None = None) -> Iterator[str]:
    """The files a check of the folder reads; with `wanted(path)`, only those it accepts.
    Iterative, so that a tree thousands of folders deep is walked like any other; a folder
    that cannot be listed, or an ignore pattern that cannot be read, is one line in `errors`.
    Links to folders are not followed (as `os.walk`)."""
    ignore = _IgnoreRules(root, settings, errors)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            if errors is not None:
                errors.append(f"{folder}: cannot list the folder ({exc.strerror or exc})")
            continue
        if any(entry.name == ".gitignore" for entry in entries):
            ignore.read_gitignore(folder)
        subfolders = []
        for entry in entries:
            name = entry.name
            candidate = folder / name
            if _is_folder(entry):
                if (name not in SKIPPED_DIRS and not name.endswith(".egg-info")
                        and not entry.is_symlink()
                        and not (candidate / "pyvenv.cfg").exists()
                        and not ignore(candidate, True)):
                    subfolders.append(candidate)
            elif Path(name).suffix.lower() in FORMAT_BY_SUFFIX and name not in NOT_TRAINING_CONFIGS:
                if (wanted is None or wanted(candidate)) and not ignore(candidate, False):
                    yield str(candidate)
        stack.extend(reversed(subfolders))


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class _IgnoreRules:
    """`.gitignore` files (those of the folders above the walk up to the repository's root,
    read at the first path that needs them, and those met while walking) and `exclude`.
    pathspec (5 ms to import) is imported only when there is a pattern. A `.gitignore`
    pattern that cannot be compiled (`[z-a]`) is one line in `errors`; the others apply."""

    def __init__(self, root: Path, settings: Settings, errors: list[str] | None) -> None:
        self.root = root
        self.settings = settings
        self.errors = errors
        self.specs: list[tuple[Path, Any]] | None = None  # (folder, spec), read on first use
        self.pending: list[Path] = []  # folders met while walking whose .gitignore is unread
        self.excluded: Any = None

    def read_gitignore(self, folder: Path) -> None:
        self.pending.append(folder)

    def _start(self) -> None:
        self.specs = []
        above = []
        resolved = _resolved(self.root)
        for folder in (resolved, *resolved.parents):
            if (folder / ".gitignore").is_file():
                above.append(folder)
            if (folder / ".git").exists():
                break
        for folder in above:
            self._add(folder)
        if self.settings.exclude:
            self.excluded = _spec(self.settings.exclude)

    def _add(self, folder: Path) -> None:
        folder = _resolved(folder)
        if any(known == folder for known, _ in self.specs):
            return
        try:
            lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        spec = _spec(lines, folder / ".gitignore", self.errors)
        if spec is not None:
            self.specs.append((folder, spec))

    def __call__(self, path: Path, is_dir: bool) -> bool:
        if self.specs is None:
            self._start()
        while self.pending:
            self._add(self.pending.pop())
        if not self.specs and self.excluded is None:
            return False
        absolute = _resolved(path)
        suffix = "/" if is_dir else ""
        for folder, spec in self.specs:
            try:
                relative = absolute.relative_to(folder).as_posix()
            except ValueError:
                continue
            if spec.match_file(relative + suffix):
                return True
        if self.excluded is not None:
            anchor = _resolved(self.settings.root or self.root)
            try:
                relative = absolute.relative_to(anchor).as_posix()
            except ValueError:
                relative = path.as_posix()
            return self.excluded.match_file(relative + suffix)
        return False


def _resolved(path: Path) -> Path:
    """The absolute path with links resolved; never raises (a link loop stays as it is)."""
    return Path(os.path.realpath(path))


def _spec(lines: list[str], source: Path | None = None, errors: list[str] | None = None):
    """A gitignore-style matcher of `lines`; with `source`, a pattern that cannot be compiled
    is reported in `errors` and left out (git matches nothing with it either)."""
    import re

    import pathspec

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, re.error):
        if source is None:
            raise
    kept = []
    for number, line in enumerate(lines, 1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error) as exc:
            if errors is not None:
                from trainlint.report.common import display_path

                errors.append(f"{display_path(str(source))}:{number}: pattern `{line.strip()}` "
                              f"cannot be read ({_pattern_error(exc)}); it is left out")
            continue
        kept.append(line)
    return pathspec.GitIgnoreSpec.from_lines(kept) if kept else None


def _pattern_error(exc: Exception) -> str:
    message = getattr(exc, "msg", None) or str(exc)
    return message.split(" at position")[0]


# ---------------------------------------------------------------- reading

def decode(data: bytes) -> tuple[str, bytes, str]:
    """Text, BOM and codec of a file's bytes. Raises ParseError for bytes that are no text."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            data, found_bom = data[len(bom):], bom
            break
    else:
        found_bom, codec = b"", "utf-8"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        before = data[:exc.start].decode(codec, errors="replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise ParseError(f"invalid {codec.upper()} byte 0x{data[exc.start]:02x}: not a text file?",
                         line, col) from None
    nul = text.find("\x00")
    if nul != -1:
        line = text.count("\n", 0, nul) + 1
        raise ParseError("file contains NUL bytes: binary, not a text file", line,
                         nul - (text.rfind("\n", 0, nul) + 1) + 1)
    return text, found_bom, codec


# ---------------------------------------------------------------- analysis

class Parsed(Struct):
    views: list[ConfigView] = field(default_factory=list)
    document: ParsedDocument | None = None
    script: object | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)  # made while resolving launches
    notes: list[str] = field(default_factory=list)


def _format_module(fmt: str):
    return importlib.import_module(f"trainlint.formats.{fmt}")


def parse_file(path: str, text: str, index: LineIndex, fmt: str, views: bool = True) -> Parsed:
    """Parse one file into what rules see. Raises ParseError. Without `views` (no config rule
    selected), a Python file is only parsed for the script rules."""
    from trainlint.dialects import build_views

    if fmt in ("yaml", "json", "toml"):
        document = _format_module(fmt).parse(path, text, index)
        return Parsed(build_views(document), document)
    if fmt == "python":
        return _parse_python(path, text, index, views)
    if fmt in ("shell", "markdown"):
        return _parse_launcher(path, text, index)
    return Parsed()


def _parse_python(path: str, text: str, index: LineIndex, views: bool = True) -> Parsed:
    from trainlint.script import ParsedScript

    try:
        script = ParsedScript.parse(path, text, index)
    except SyntaxError as exc:
        raise ParseError(f"invalid Python: {exc.msg}", exc.lineno or 1, exc.offset or 1) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ParseError(f"invalid Python: {exc}") from None
    parsed = Parsed(script=script)
    if not views:
        return parsed
    document = _format_module("pyconfig").parse(path, text, index, script.tree)
    parsed.document = document
    parsed.views = _python_views(document, script)
    return parsed


def _python_views(document: ParsedDocument, script) -> list[ConfigView]:
    from trainlint.dialects import build_views

    views = build_views(document)
    facts = []
    pycode = _format_module("pycode")
    if pycode.might_have_facts(script.text):
        facts = pycode.training_facts(script, document.extra.get("arguments", []))
    if not facts:
        return views
    if not views:
        raw = {entry.key: entry for entry in document.entries}
        views = [ConfigView(document.path, "argparse", {}, raw, document)]
    for view in views:
        for fact in facts:
            view.values[fact.key] = fact  # what the code does beats a mapped default
    return views


def _parse_launcher(path: str, text: str, index: LineIndex) -> Parsed:
    from trainlint.resolve import launcher_report

    report = launcher_report(path, text, index)
    return Parsed(views=report.views, diagnostics=report.diagnostics, notes=report.notes)


def run_rule(rule: Rule, method, args: tuple, sink: list[Diagnostic], errors: list[str],
              path: str) -> None:
    """Run one rule check; a rule bug becomes one error line, not a lost report."""
    try:
        results = list(method(*args) or ())  # all or nothing: no half a rule's findings
    except Exception as exc:  # noqa: BLE001 - any rule bug, reported and contained
        errors.append(f"{path}: internal error in {rule.code} ({rule.name}): "
                      f"{type(exc).__name__}: {exc}")
        return
    sink.extend(results)


def analyze(path: str, text: str, fmt: str, rules: RuleSet, errors: list[str],
            notes: list[str] | None = None,
            facts: dict[str, Any] | None = None) -> tuple[list[Diagnostic], bool]:
    """All findings for one file's text, suppressions applied. Returns (findings, parsed_ok).
    `facts` receives what the file tells its project, for the rules that link files.

    A launcher's findings can lie in other files (a script default the launch uses); those are
    suppressed by the comments of the file they are in."""
    index = LineIndex.for_file(path, text)
    found: list[Diagnostic] = []
    try:
        parsed = parse_file(path, text, index, fmt, views=bool(rules.config))
    except ParseError as exc:
        offset = index.offset(exc.line, exc.col)
        span = index.span(offset, offset)
        for rule in rules.parse_error:
            found.append(rule.check_parse_error(path, exc.message, span))
        return found, False
    except RecursionError:
        span = index.span(0, 0)
        for rule in rules.parse_error:
            found.append(rule.check_parse_error(path, "nested too deeply to parse", span))
        return found, False
    if notes is not None:
        notes.extend(parsed.notes)
    found.extend(rules.admit(parsed.diagnostics))
    if parsed.document is not None and parsed.document.dialect is not None:
        for rule in rules.document:
            if parsed.document.format in rule.formats:
                run_rule(rule, rule.check_document, (parsed.document,), found, errors, path)
    _check_views(parsed.views, rules, found, errors, path)
    if parsed.script is not None:
        for rule in rules.script:
            if rule.needles and not any(n.decode() in text for n in rule.needles):
                continue
            run_rule(rule, rule.check_script, (parsed.script,), found, errors, path)
        if facts is not None:
            _project_facts(parsed.script, text, rules, facts, errors)
    found = _deduplicate(found)
    suppressions = find_suppressions(text, index)
    here = apply_suppressions([d for d in found if d.path == path], suppressions)
    found = here + _suppress_elsewhere([d for d in found if d.path != path])
    for rule in rules.suppression:
        run_rule(rule, rule.check_suppressions, (path, text, suppressions), found, errors, path)
    return found, True


def _project_facts(script, text: str, rules: RuleSet, facts: dict[str, Any],
                   errors: list[str]) -> None:
    for rule in rules.project:
        if all(needle.decode() in text for needle in rule.project_needles):
            fact = facts_of(rule, script, errors)
            if fact is not None:
                facts[rule.code] = fact


def facts_of(rule: ScriptRule, script, errors: list[str]) -> Any:
    """What a script tells its project for one rule, or None (also when the rule fails)."""
    found: list[Any] = []
    run_rule(rule, lambda each: [rule.project_facts(each)], (script,), found, errors, script.path)
    return found[0] if found else None


def _check_views(views: list[ConfigView], rules: RuleSet, found: list[Diagnostic],
                 errors: list[str], path: str) -> None:
    from trainlint.schemas import sanitize

    for view in views:
        view.invalid = sanitize(view)
        from_view: list[Diagnostic] = []
        for rule in rules.config:
            run_rule(rule, rule.check_config, (view,), from_view, errors, path)
        if view.label:
            for diagnostic in from_view:
                if diagnostic.path != path:
                    diagnostic.notes = (*diagnostic.notes, f"used by the launch at {view.label}")
        found.extend(from_view)


def _suppress_elsewhere(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Apply the suppression comments of the files these findings are in."""
    kept = []
    by_path: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        by_path.setdefault(diagnostic.path, []).append(diagnostic)
    for other, group in by_path.items():
        suppressions = _suppressions_in(other)
        kept.extend(group if suppressions is None else apply_suppressions(group, suppressions))
    return kept


# The comments of files other than the one being checked (a script that several launchers
# use), read once per version of the file in a run; check_paths empties it.
_SUPPRESSIONS_READ: dict[tuple[str, int, int], list | None] = {}


def _suppressions_in(path: str) -> list | None:
    """A file's suppression comments; None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _SUPPRESSIONS_READ:
        try:
            text, _, _ = decode(Path(path).read_bytes())
        except (OSError, ParseError):
            _SUPPRESSIONS_READ[key] = None
        else:
            _SUPPRESSIONS_READ[key] = find_suppressions(text, LineIndex.for_file(path, text))
    return _SUPPRESSIONS_READ[key]


def _deduplicate(found: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    unique = []
    for diagnostic in found:
        key = (diagnostic.code, diagnostic.path, diagnostic.span.start, diagnostic.span.end)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)
    return unique


def _once_per_run(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """A hint marked `once_per_run` (which setting would let a rule decide) is printed once per
    run, at its first file."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for diagnostic in diagnostics:
        if diagnostic.once_per_run:
            key = (diagnostic.code, diagnostic.message)
            if key in seen:
                continue
            seen.add(key)
        kept.append(diagnostic)
    return kept


def _per_file_ignored(diagnostics: list[Diagnostic], settings: Settings) -> list[Diagnostic]:
    """Drop findings that `per-file-ignores` covers for the file each finding is in."""
    if not settings.per_file_ignores:
        return diagnostics

    def ignored_codes(file: str) -> list[str]:
        posix, name = Path(file).as_posix(), Path(file).name
        return [code.upper() for pattern, listed in settings.per_file_ignores.items()
                if fnmatch.fnmatch(posix, pattern) or fnmatch.fnmatch(name, pattern)
                or fnmatch.fnmatch(posix, f"*/{pattern}") for code in listed]

    codes = {file: ignored_codes(file) for file in {d.path for d in diagnostics}}
    return [d for d in diagnostics if not any(d.code.startswith(code) for code in codes[d.path])]


# ---------------------------------------------------------------- one file, with fixes

def check_file(path: str, rules: RuleSet, options: RunOptions, stdin_text: str | None = None) -> FileResult:
    result = FileResult(path)
    fmt = FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())
    if fmt is None:
        result.notes.append(f"{path}: skipped (not a format trainlint reads)")
        return result
    settings = rules.settings
    try:
        if stdin_text is None:
            size = os.path.getsize(path)
            if size > settings.max_file_size:
                result.notes.append(f"{path}: skipped ({size} bytes is over max-file-size "
                                    f"{settings.max_file_size})")
                return result
            data = Path(path).read_bytes()
            text, bom, codec = decode(data)
        else:
            text, bom, codec = stdin_text, b"", "utf-8"
    except ParseError as exc:
        span = Span(0, 0, exc.line, exc.col, exc.line, exc.col)  # no text to index: bytes only
        result.diagnostics = [r.check_parse_error(path, exc.message, span) for r in rules.parse_error]
        return result
    except OSError as exc:
        result.notes.append(f"{path}: cannot read ({exc.strerror or exc})")
        return result

    diagnostics, parsed_ok = analyze(path, text, fmt, rules, result.errors, result.notes,
                                     result.facts)
    if (options.fix or options.diff) and parsed_ok:
        found = diagnostics
        fixed_text, diagnostics = _fix_loop(path, text, fmt, rules, options, diagnostics, result)
        if fixed_text != text:
            if options.diff:
                result.diff = unified_diff(path, text, fixed_text)
            elif stdin_text is not None:
                result.output = fixed_text
            else:
                try:
                    write_atomically(Path(path), bom + fixed_text.encode(codec))
                except OSError as exc:
                    result.errors.append(f"{path}: fixes not written: {exc.strerror or exc}")
                    result.fixed, diagnostics = 0, found
        elif stdin_text is not None and options.fix:
            result.output = text
    result.diagnostics = _per_file_ignored(diagnostics, settings)
    return result


def _fix_loop(path: str, text: str, fmt: str, rules: RuleSet, options: RunOptions,
              diagnostics: list[Diagnostic], result: FileResult) -> tuple[str, list[Diagnostic]]:
    """Apply fixes pass by pass until nothing changes. A batch whose result does not parse, or
    has more error findings of some code than before (a rename onto an existing key makes a
    TL005), is retried one fix at a time; the fixes that do that are refused with a note."""
    unsafe = options.unsafe_fixes
    refused: set[tuple[str, str, str]] = set()
    for _ in range(MAX_PASSES):
        fixable = [d for d in _per_file_ignored(diagnostics, rules.settings)
                   if d.path == path and applicable(d, unsafe) and _fix_key(d) not in refused]
        if not fixable:
            break
        attempt = _attempt_fixes(path, text, fmt, rules, unsafe, diagnostics, fixable)
        if attempt is None:
            break
        if attempt.problem and len(attempt.applied) > 1:
            for diagnostic in attempt.applied:
                single = _attempt_fixes(path, text, fmt, rules, unsafe, diagnostics, [diagnostic])
                if single is not None and not single.problem:
                    attempt = single
                    break
                if single is not None:
                    _refuse(path, [diagnostic], single.problem, refused, result)
            else:
                continue
        elif attempt.problem:
            _refuse(path, attempt.applied, attempt.problem, refused, result)
            continue
        result.fixed += len(attempt.applied)
        text, diagnostics, result.facts = attempt.text, attempt.diagnostics, attempt.facts
    return text, diagnostics


class _Attempt(Struct):
    text: str
    applied: list[Diagnostic]
    diagnostics: list[Diagnostic]
    facts: dict[str, Any]
    problem: str = ""  # why the result cannot be kept


def _attempt_fixes(path: str, text: str, fmt: str, rules: RuleSet, unsafe: bool,
                   before: list[Diagnostic], fixes: list[Diagnostic]) -> _Attempt | None:
    """Apply the fixes and check the result again; None when nothing would change."""
    candidate, applied = apply_edits(text, fixes, unsafe)
    if not applied or candidate == text:
        return None
    facts: dict[str, Any] = {}
    after, parsed_ok = analyze(path, candidate, fmt, rules, [], None, facts)
    attempt = _Attempt(candidate, applied, after, facts)
    if not parsed_ok:
        attempt.problem = "the result would not parse"
    else:
        added = _error_counts(after, path) - _error_counts(before, path)
        if added:
            attempt.problem = f"it would add {', '.join(sorted(added))} error findings"
    return attempt


def _error_counts(diagnostics: list[Diagnostic], path: str) -> Counter:
    return Counter(d.code for d in diagnostics if d.path == path and d.severity is Severity.ERROR)


def _fix_key(diagnostic: Diagnostic) -> tuple[str, str, str]:
    """What identifies a finding's fix across passes (its position moves as others apply)."""
    return diagnostic.code, diagnostic.message, diagnostic.fix.message if diagnostic.fix else ""


def _refuse(path: str, diagnostics: list[Diagnostic], problem: str,
            refused: set[tuple[str, str, str]], result: FileResult) -> None:
    refused.update(_fix_key(d) for d in diagnostics)
    codes = ", ".join(sorted({d.code for d in diagnostics}))
    result.notes.append(f"{path}: fix refused ({codes}): {problem}")


# ---------------------------------------------------------------- many files

def _safe_check(path: str, rules: RuleSet, options: RunOptions, stdin_text: str | None = None) -> FileResult:
    try:
        return check_file(path, rules, options, stdin_text)
    except Exception as exc:  # never lose the other files to one file's internal error
        return FileResult(path, errors=[f"{path}: internal error: {type(exc).__name__}: {exc}"])


def _preload(files: list[str]) -> None:
    """Import what checking these files needs before forking, so that every child starts with
    it instead of importing it again."""
    from trainlint.dialects import dialects

    formats = {FORMAT_BY_SUFFIX.get(Path(path).suffix.lower()) for path in files}
    modules = {"yaml": ("yaml",), "json": ("json",), "toml": ("toml",),
               "python": ("pyconfig", "pycode"), "shell": ("shell",), "markdown": ("shell",)}
    for fmt in formats:
        for name in modules.get(fmt, ()):
            _format_module(name)
    if formats & {"shell", "markdown"}:
        importlib.import_module("trainlint.resolve")
    importlib.import_module("trainlint.schemas")
    importlib.import_module("trainlint.script")
    dialects()


def _work_estimates(files: list[str]) -> list[int]:
    """Bytes to check, Python counting PYTHON_WEIGHT times (ast, code facts, script rules)."""
    estimates = []
    for path in files:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        estimates.append(size * (PYTHON_WEIGHT if path.endswith(".py") else 1))
    return estimates


def _check_all(files: list[str], rules: RuleSet, options: RunOptions) -> list[FileResult]:
    """Each file's result, in order: in this process, or on every usable core when the work
    pays for the fork (see parallel.py)."""
    from trainlint import parallel

    processes = min(parallel.usable_cpus(), MAX_PROCESSES)
    estimates = _work_estimates(files) if processes > 1 and parallel.can_fork() else []
    if sum(estimates) < PARALLEL_MIN_WORK * PYTHON_WEIGHT:
        return [_safe_check(path, rules, options) for path in files]
    _preload(files)
    import gc

    gc.freeze()  # children then do not copy this process's objects on their first collection
    return parallel.map_forked(lambda path: _safe_check(path, rules, options), files, estimates,
                               processes)


def _cross_file_findings(rules: RuleSet, results: list[FileResult], errors: list[str]) -> list[Diagnostic]:
    """What the rules that link files find (see trainlint.project), with each file's
    suppression comments and per-file-ignores applied."""
    facts_by_file = {result.path: result.facts for result in results if result.facts}
    if not facts_by_file:
        return []
    from trainlint.project import project_findings

    found = project_findings(rules.project, facts_by_file, [result.path for result in results],
                             rules.settings, errors)
    return _per_file_ignored(_suppress_elsewhere(found), rules.settings)


def check_paths(paths: Iterable[str], settings: Settings | None = None,
                options: RunOptions | None = None, stdin: tuple[str, str] | None = None) -> Report:
    """Check files and folders; `stdin` is (filename, text) for --stdin-filename."""
    from trainlint.settings import load_settings

    options = options or RunOptions()
    paths = list(paths) or ["."]
    settings = settings or load_settings(Path(paths[0]))
    if settings.unsafe_fixes:
        options.unsafe_fixes = True
    report = Report(dry_run=options.diff, errors=list(settings.errors))
    _SUPPRESSIONS_READ.clear()
    if stdin is not None:
        rules = RuleSet(settings, options, kinds_for([stdin[0]]))
        results = [_safe_check(stdin[0], rules, options, stdin[1])]
    else:
        files, report.notes = discover(paths, settings, report.errors)
        rules = RuleSet(settings, options, kinds_for(files))
        results = _check_all(files, rules, options)
    for result in results:
        report.files += 1
        report.diagnostics.extend(result.diagnostics)
        report.notes.extend(result.notes)
        report.fixed += result.fixed
        report.errors.extend(result.errors)
        if result.diff:
            report.diffs.append(result.diff)
        if result.output is not None:
            report.outputs.append(result.output)
    report.diagnostics.extend(_cross_file_findings(rules, results, report.errors))
    report.diagnostics = _once_per_run(_deduplicate(sorted(report.diagnostics, key=Diagnostic.sort_key)))
    report.unsafe_fixable = sum(
        1 for d in report.diagnostics
        if d.fix is not None and d.fix.applicability is Applicability.UNSAFE and not options.unsafe_fixes)
    return report
