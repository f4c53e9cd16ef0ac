"""paths -> formats -> ConfigView + parsed script -> rules -> suppressions -> report / fix loop.

The engine knows no rule by name: it dispatches on the rule's kind (ParseErrorRule,
DocumentRule, ConfigRule, ScriptRule, LaunchRule, SuppressionRule).
"""

from __future__ import annotations

import fnmatch
import gc
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from trainlint import parallel
from trainlint.api import (
    ConfigRule, DocumentRule, LaunchRule, ParseErrorRule, ScriptRule, SuppressionRule,
)
from trainlint.fix.apply import MAX_PASSES, applicable, apply_edits, unified_diff, write_atomically
from trainlint.discovery import discover, is_test_path
from trainlint.formats.base import ParseError
from trainlint.load import (
    LAUNCHER_FORMATS,
    Document,
    Loader,
    Source,
    Unreadable,
    forget_kept_scripts,
    format_of,
    preload,
)
from trainlint.records import Applicability, ConfigView, Diagnostic, Severity
from trainlint.registry import all_rules, is_selected, runs
from trainlint.running import facts_of, problem_findings, run_rule
from trainlint.schemas import sanitize
from trainlint.settings import Settings, load_settings
from trainlint.suppress import apply_suppressions, find_suppressions
from trainlint.text import LineIndex
# Forked children (they start with the modules already imported) pay for themselves from about
# 16 KiB of Python on 2 cores: 7 KiB ran 85 ms forked and 87 ms in one process, 24 KiB 95 and
# 100 ms, 75 KiB 116 and 140 ms. Python files cost about four times what a config of the same
# size does (ast, code facts, script rules).
PARALLEL_MIN_WORK = 16 * 1024  # bytes of Python, or four times as many bytes of config
PYTHON_WEIGHT = 4
CONFIG_WEIGHT_CAP = 16 * 1024
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
    "shell": ("ParseErrorRule", "ConfigRule", "LaunchRule", "SuppressionRule"),
    "markdown": ("ParseErrorRule", "ConfigRule", "LaunchRule", "SuppressionRule"),
}


def kinds_for(files: Iterable[str]) -> frozenset[str]:
    """The rule kinds the given files can use."""
    kinds: set[str] = set()
    for path in files:
        kinds.update(KINDS_BY_FORMAT.get(format_of(path) or "", ()))
    return frozenset(kinds)


class RuleSet:
    """The selected rules, instantiated once per process, grouped by kind."""

    def __init__(self, settings: Settings, options: RunOptions,
                 kinds: frozenset[str] | None = None) -> None:
        self.settings = settings
        self.loader = Loader(settings.max_file_size, _run_consumers(settings, kinds),
                             share_documents=True)  # one parse of a script per run
        ctx = settings.rule_context()
        ctx.consumers = self.loader.consumers
        select = options.select or settings.select
        extend = [*settings.extend_select, *options.extend_select]
        ignore = [*settings.ignore, *options.ignore]
        self.preview = settings.preview if options.preview is None else options.preview
        classes = [cls for cls in all_rules(kinds)
                   if is_selected(cls.code, select, extend, ignore) and runs(cls, self.preview)]
        ctx.selected = frozenset(cls.code for cls in classes)
        rules = [cls(ctx) for cls in classes]
        self.parse_error = [r for r in rules if isinstance(r, ParseErrorRule)]
        self.document = [r for r in rules if isinstance(r, DocumentRule)]
        self.config = [r for r in rules if isinstance(r, ConfigRule)]
        self.script = [r for r in rules if isinstance(r, ScriptRule)]
        # each script rule with its needles as text (a file's text is tested, not its bytes)
        self.script_needles = [(r, tuple(needle.decode() for needle in r.needles))
                               for r in self.script]
        self.launch = [r for r in rules if isinstance(r, LaunchRule)]
        self.suppression = [r for r in rules if isinstance(r, SuppressionRule)]
        self.project = [r for r in self.script
                        if type(r).project_facts is not ScriptRule.project_facts]
        ctx.project_codes = frozenset(r.code for r in self.project)


def _run_consumers(settings: Settings, kinds: frozenset[str] | None):
    """Who reads each config (trainlint.consumers), for runs that check config files."""
    if kinds is not None and "DocumentRule" not in kinds:
        return None
    from trainlint.consumers.run import RunConsumers  # config runs only

    return RunConsumers(settings)


# ---------------------------------------------------------------- analysis

def analyze(document: Document, rules: RuleSet, errors: list[str], notes: list[str] | None = None,
            facts: dict[str, Any] | None = None) -> tuple[list[Diagnostic], bool]:
    """All findings for one parsed file, suppressions applied. Returns (findings, parsed_ok).
    `facts` receives what the file tells its project, for the rules that link files.

    A launcher's findings can lie in other files (a script default the launch uses); those are
    suppressed by the comments of the file they are in."""
    path, text = document.path, document.text
    found: list[Diagnostic] = []
    if document.error is not None:
        problem = document.error
        for rule in rules.parse_error:
            found.append(rule.check_parse_error(path, problem.message, problem.span,
                                                problem.read_by))
        return found, False
    if notes is not None:
        notes.extend(document.notes)
    found.extend(problem_findings(document.problems, rules.parse_error, rules.launch, errors, path))
    config = document.config
    if config is not None and config.dialect is not None:
        for rule in rules.document:
            if config.format in rule.formats:
                run_rule(rule, rule.check_document, (config,), found, errors, path)
    _check_views(document.views, rules, found, errors, path)
    if document.script is not None:
        for rule, needles in rules.script_needles:
            if needles and not any(needle in text for needle in needles):
                continue
            run_rule(rule, rule.check_script, (document.script,), found, errors, path)
        if facts is not None:
            _project_facts(document.script, text, rules, facts, errors)
    found = _deduplicate(found)
    suppressions = find_suppressions(text, document.index, document.comments)
    here = apply_suppressions([d for d in found if d.path == path], suppressions)
    found = here + _suppress_elsewhere([d for d in found if d.path != path], rules.loader)
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


def _check_views(views: list[ConfigView], rules: RuleSet, found: list[Diagnostic],
                 errors: list[str], path: str) -> None:
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


def _suppress_elsewhere(diagnostics: list[Diagnostic], loader: Loader) -> list[Diagnostic]:
    """Apply the suppression comments of the files these findings are in."""
    kept = []
    by_path: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        by_path.setdefault(diagnostic.path, []).append(diagnostic)
    for other, group in by_path.items():
        suppressions = _suppressions_in(other, loader)
        kept.extend(group if suppressions is None else apply_suppressions(group, suppressions))
    return kept


# The comments of files other than the one being checked (a script that several launchers
# use), read once per version of the file in a run; check_paths empties it.
_SUPPRESSIONS_READ: dict[tuple[str, int, int], list | None] = {}


def _suppressions_in(path: str, loader: Loader) -> list | None:
    """A file's suppression comments; None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _SUPPRESSIONS_READ:
        try:
            text = loader.read(path).text
        except (Unreadable, ParseError):
            _SUPPRESSIONS_READ[key] = None
        else:
            from trainlint.formats.comments import find_comments  # tokenize: only when asked

            _SUPPRESSIONS_READ[key] = find_suppressions(
                text, LineIndex.for_file(path, text),
                lambda: find_comments(format_of(path) or "", text, path))
    return _SUPPRESSIONS_READ[key]


def _deduplicate(found: list[Diagnostic]) -> list[Diagnostic]:
    """One finding per code and place, the most severe where two differ (a config's own
    warning beside the hint a launch that reads it gave at the same value), else the first."""
    kept: dict[tuple[str, str, int, int], Diagnostic] = {}
    for diagnostic in found:
        key = (diagnostic.code, diagnostic.path, diagnostic.span.start, diagnostic.span.end)
        first = kept.get(key)
        if first is None or diagnostic.severity.rank > first.severity.rank:
            kept[key] = diagnostic
    return list(kept.values())


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


TEST_CODE_NOTE = "in test code: info unless `include-tests`"


def _tests_as_info(diagnostics: list[Diagnostic], settings: Settings) -> list[Diagnostic]:
    """Findings in test code (discovery.is_test_path) are info unless `include-tests`: test
    fixtures hold odd configs on purpose, and a test suite is not a training run."""
    if settings.include_tests:
        return diagnostics
    for diagnostic in diagnostics:
        if diagnostic.severity is not Severity.INFO and is_test_path(diagnostic.path, settings.root):
            diagnostic.severity = Severity.INFO
            diagnostic.notes = (*diagnostic.notes, TEST_CODE_NOTE)
    return diagnostics


# ---------------------------------------------------------------- one file, with fixes

def _wants_views(rules: RuleSet, path: str) -> bool:
    """Whether the file's views are built: for the config rules; a launcher's launches also
    for the launch rules (an option the launched script lacks is TL003's alone)."""
    return bool(rules.config) or (bool(rules.launch) and format_of(path) in LAUNCHER_FORMATS)


def check_file(path: str, rules: RuleSet, options: RunOptions,
               stdin: bytes | None = None) -> FileResult:
    """Check one file (or the bytes of `--stdin-filename`, read exactly as a file's)."""
    result = FileResult(path)
    if format_of(path) is None:
        result.notes.append(f"{path}: skipped (not a format trainlint reads)")
        return result
    loader, views = rules.loader, _wants_views(rules, path)
    try:
        document = loader.load(path, views) if stdin is None else \
            loader.from_bytes(path, stdin, views)
    except Unreadable as exc:
        result.notes.append(f"{path}: {exc}")
        return result
    diagnostics, parsed_ok = analyze(document, rules, result.errors, result.notes, result.facts)
    text = document.text
    if (options.fix or options.diff) and parsed_ok:
        found = diagnostics
        fixed_text, diagnostics = _fix_loop(document, rules, options, diagnostics, result)
        if fixed_text != text:
            if options.diff:
                result.diff = unified_diff(path, text, fixed_text)
            elif stdin is not None:
                result.output = _with_bom(document, fixed_text)
            else:
                try:
                    write_atomically(Path(path), document.bom + fixed_text.encode(document.codec))
                except OSError as exc:
                    result.errors.append(f"{path}: fixes not written: {exc.strerror or exc}")
                    result.fixed, diagnostics = 0, found
        elif stdin is not None and options.fix:
            result.output = _with_bom(document, text)
    result.diagnostics = _tests_as_info(_per_file_ignored(diagnostics, rules.settings),
                                        rules.settings)
    if document.script is not None:
        document.script.release()
    return result


def _with_bom(document: Document, text: str) -> str:
    """The text to print for `--stdin-filename --fix`, with the BOM it came with."""
    return "\ufeff" + text if document.bom else text


def _fix_loop(document: Document, rules: RuleSet, options: RunOptions,
              diagnostics: list[Diagnostic], result: FileResult) -> tuple[str, list[Diagnostic]]:
    """Apply fixes pass by pass until nothing changes. A batch whose result does not parse, or
    has more error findings of some code than before (a rename onto an existing key makes a
    TL005), is retried one fix at a time; the fixes that do that are refused with a note."""
    path, text = document.path, document.text
    unsafe = options.unsafe_fixes
    refused: set[tuple[str, str, str]] = set()
    for _ in range(MAX_PASSES):
        fixable = [d for d in _per_file_ignored(diagnostics, rules.settings)
                   if d.path == path and applicable(d, unsafe) and _fix_key(d) not in refused]
        if not fixable:
            break
        attempt = _attempt_fixes(document, text, rules, unsafe, diagnostics, fixable)
        if attempt is None:
            break
        if attempt.problem and len(attempt.applied) > 1:
            for diagnostic in attempt.applied:
                single = _attempt_fixes(document, text, rules, unsafe, diagnostics, [diagnostic])
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


def _attempt_fixes(document: Document, text: str, rules: RuleSet, unsafe: bool,
                   before: list[Diagnostic], fixes: list[Diagnostic]) -> _Attempt | None:
    """Apply the fixes to `text` (the document's, as fixed so far) and check the result again;
    None when nothing would change."""
    path = document.path
    candidate, applied = apply_edits(text, fixes, unsafe)
    if not applied or candidate == text:
        return None
    facts: dict[str, Any] = {}
    again = rules.loader.from_source(path, Source(candidate, document.bom, document.codec),
                                     _wants_views(rules, path))
    after, parsed_ok = analyze(again, rules, [], None, facts)
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

def _safe_check(path: str, rules: RuleSet, options: RunOptions,
                stdin: bytes | None = None) -> FileResult:
    enabled = gc.isenabled()
    gc.disable()  # see _collect_the_file
    try:
        return check_file(path, rules, options, stdin)
    except Exception as exc:  # never lose the other files to one file's internal error
        return FileResult(path, errors=[f"{path}: internal error: {type(exc).__name__}: {exc}"])
    finally:
        _collect_the_file(enabled)


_FILES_CHECKED = [0]
# Every so many files, a collection of what outlived its file (little: a checked file's tree
# is freed by reference counting, see ParsedScript.release), and, rarely, of every object.
MIDDLE_COLLECTION_EVERY = 256
FULL_COLLECTION_EVERY = 4096
# A file's young objects that outlived it (made less freed, as the collector counts them)
# worth a collection: a small script leaves a few hundred, and a collection after each of
# 300 such files cost 3% of a run.
YOUNG_OBJECTS_TO_COLLECT = 10_000


def _collect_the_file(enabled: bool) -> None:
    """Collect what checking one file left in reference cycles: one collection of the
    objects made since the file began, where they are many. Python's own collector, left on
    during a file, promotes a large file's AST to the oldest generation, whose collections
    then walk every live object: about 55 of them in a run of 3,000 files took half the run's CPU time
    (Megatron-LM: 23.3 s with it, 12.4 s without any collection). With trees freed as their
    file ends, these collections cost Megatron-LM 0.5 s and find about 20,000 objects."""
    _FILES_CHECKED[0] += 1
    count = _FILES_CHECKED[0]
    if count % FULL_COLLECTION_EVERY == 0:
        gc.collect(2)
    elif count % MIDDLE_COLLECTION_EVERY == 0:
        gc.collect(1)
    elif gc.get_count()[0] >= YOUNG_OBJECTS_TO_COLLECT:
        gc.collect(0)
    if enabled:
        gc.enable()


def _work_estimates(files: list[str]) -> list[int]:
    """Bytes to check, Python counting PYTHON_WEIGHT times (ast, code facts, script rules),
    other files at most CONFIG_WEIGHT_CAP: a large JSON or YAML file is data, read by a C
    parser in milliseconds (dealt by size, Megatron-LM's 900 golden-value JSON files filled
    one core's share and left every Python file to the other)."""
    return [size * PYTHON_WEIGHT if path.endswith(".py") else min(size, CONFIG_WEIGHT_CAP)
            for path, size in zip(files, parallel.file_sizes(files))]


def _checked_together(rules: RuleSet, files: list[str]) -> list[list[int]]:
    """The indexes of the Python files whose check asks for work a rule shares between the
    files of a project (ScriptRule.shared_work_needles), by project: a project's such files
    are checked in one process, where the work is done once; then, in that process, the
    project's files that the work parses (ScriptRule.shared_work_parses), which reuse its
    parse."""
    wanted = [needles for rule in rules.script for needles in rule.shared_work_needles]
    if not wanted:
        return []
    from trainlint.project_scan import holds, project_root

    parsed = [rule.shared_work_parses for rule in rules.script
              if rule.shared_work_needles and rule.shared_work_parses is not None]
    together: dict[str, list[int]] = {}
    afterwards: dict[str, list[int]] = {}
    for index, path in enumerate(files):
        if format_of(path) != "python":
            continue
        try:
            data = rules.loader.read_bytes(path)
        except Unreadable:
            continue  # reported when the file is checked
        if any(all(needle in data for needle in needles) for needles in wanted):
            together.setdefault(project_root(path), []).append(index)
        elif any(holds(data, needles) for needles in parsed):
            afterwards.setdefault(project_root(path), []).append(index)
    return [group + afterwards.get(root, []) for root, group in together.items()]


def _check_all(files: list[str], rules: RuleSet, options: RunOptions) -> list[FileResult]:
    """Each file's result, in order: in this process, or on every usable core when the work
    pays for the fork (see parallel.py)."""
    processes = min(parallel.usable_cpus(), MAX_PROCESSES)
    estimates = _work_estimates(files) if processes > 1 and parallel.can_fork() else []
    if sum(estimates) < PARALLEL_MIN_WORK * PYTHON_WEIGHT:
        return [_safe_check(path, rules, options) for path in files]
    preload(format_of(path) for path in files)
    if rules.loader.consumers is not None:
        rules.loader.consumers.prepare(files)  # scanned once, shared by the forked children
    together = _checked_together(rules, files)
    gc.freeze()  # children then do not copy this process's objects on their first collection
    return parallel.map_forked(lambda path: _safe_check(path, rules, options), files, estimates,
                               processes, together)


def _cross_file_findings(rules: RuleSet, results: list[FileResult], errors: list[str]) -> list[Diagnostic]:
    """What the rules that link files find (see trainlint.project), with each file's
    suppression comments and per-file-ignores applied."""
    facts_by_file = {result.path: result.facts for result in results if result.facts}
    if not facts_by_file:
        return []
    from trainlint.project import project_findings  # only when a file gave facts (start-up)

    found = project_findings(rules.project, facts_by_file, [result.path for result in results],
                             rules.settings, errors)
    return _tests_as_info(_per_file_ignored(_suppress_elsewhere(found, rules.loader),
                                            rules.settings), rules.settings)


def check_paths(paths: Iterable[str], settings: Settings | None = None,
                options: RunOptions | None = None,
                stdin: tuple[str, bytes | str] | None = None) -> Report:
    """Check files and folders; `stdin` is (filename, bytes) for --stdin-filename (read as a
    file's bytes are: BOM, UTF-16 and invalid bytes alike; text is taken as UTF-8)."""
    options = options or RunOptions()
    paths = list(paths) or ["."]
    settings = settings or load_settings(Path(paths[0]))
    if settings.unsafe_fixes:
        options.unsafe_fixes = True
    report = Report(dry_run=options.diff, errors=list(settings.errors))
    _SUPPRESSIONS_READ.clear()
    forget_kept_scripts()
    if stdin is not None:
        name, data = stdin
        rules = RuleSet(settings, options, kinds_for([name]))
        results = [_safe_check(name, rules, options,
                               data.encode("utf-8") if isinstance(data, str) else data)]
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
    forget_kept_scripts()  # what no check took
    report.diagnostics = _once_per_run(_deduplicate(sorted(report.diagnostics, key=Diagnostic.sort_key)))
    report.unsafe_fixable = sum(
        1 for d in report.diagnostics
        if d.fix is not None and d.fix.applicability is Applicability.UNSAFE and not options.unsafe_fixes)
    return report
