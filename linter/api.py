"""The one door for rules: everything a rule module imports from trainlint comes from here.

- the records rules read and make (`Value`, `ConfigView`, `ParsedDocument`, `Diagnostic`,
  `Fix`, `Edit`, `Severity`, `Applicability`, `Span`, `LineIndex`; see trainlint.records);
- the rule base classes, one per kind of input (ConfigRule, DocumentRule, ScriptRule,
  ParseErrorRule, LaunchRule, SuppressionRule, ProbeRule), `Example` and `RuleOptions`;
- the engine's helpers rules use: the parsed script and its index (`ParsedScript`,
  `code_index`, ...), derived quantities (`derive`, `fmt`, ...), the dialect tables, the
  canonical settings, the libcst fix helpers (`insert_keyword`, ...) and the structural YAML
  insert. These are imported on first use (PEP 562 `__getattr__`), so that importing this
  module costs nothing beyond the records: libcst, for one, loads only when a rule builds a
  Python fix, and a YAML-only run never imports the Python readers.

Rules are pure: they read a parsed document, a ConfigView or a parsed script and yield
Diagnostics. They never print, read files or import the user's code. A test fails when a
module under rules/ imports anything else from trainlint (shared helper modules under
trainlint.rules excepted).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec.structs
from msgspec import Struct, field

from trainlint.records import (
    BASES,
    DOCS_BASE_URL,
    UNRESOLVED,
    Applicability,
    ConfigView,
    Diagnostic,
    Edit,
    Fix,
    ParsedDocument,
    RuleOptions,
    Sentinel,
    Severity,
    Value,
)
from trainlint.text import LineIndex, Span

if TYPE_CHECKING:
    from trainlint.bands import packaged_bands
    from trainlint.project_scan import Needles
    from trainlint.context import ProjectContext, RuleContext
    from trainlint.derive import (
        Derived, Patience, Quantity, derive, described, fmt, is_constant_schedule, is_ctc,
        optimizer_family_of, run_epochs, term,
    )
    from trainlint.dialects import GENERIC, canonical_name, dialects
    from trainlint.fix.cst import (
        ensure_module_name, insert_keyword, rename_keyword, replace_node, rewrite_call_text,
        string_literal,
    )
    from trainlint.fix.insert import dialect_key_near, insert_key_after
    from trainlint.formats.base import ArgumentSpec
    from trainlint.formats.python.ast_index import (
        NOTHING, ParsedScript, dotted, walk_breadth_first,
    )
    from trainlint.formats.python.training_code import (
        PLATEAU, SCHEDULER_PREFIX, WRAPPERS, Build, CodeIndex, StepCall, code_index,
        feasible_builds, literal, position, read_arguments, walk_local,
    )
    from trainlint.launch_arguments import ArgumentProblem
    from trainlint.loops import (
        Event, Grad, Kind, Loop, LoopModel, argument_for, has_word, loop_model, map_text,
    )
    from trainlint.schemas.canonical import SETTINGS
    from trainlint.versions import VersionRange  # what ctx.project.requirement() returns

# name -> the module it is imported from on first use
_LAZY = {
    **dict.fromkeys(("ProjectContext", "RuleContext"), "trainlint.context"),
    **dict.fromkeys(("Derived", "Patience", "Quantity", "derive", "described", "fmt",
                     "is_constant_schedule", "is_ctc", "optimizer_family_of", "run_epochs",
                     "term"), "trainlint.derive"),
    **dict.fromkeys(("GENERIC", "canonical_name", "dialects"), "trainlint.dialects"),
    **dict.fromkeys(("ensure_module_name", "insert_keyword", "rename_keyword", "replace_node",
                     "rewrite_call_text", "string_literal"), "trainlint.fix.cst"),
    **dict.fromkeys(("dialect_key_near", "insert_key_after"), "trainlint.fix.insert"),
    "ArgumentSpec": "trainlint.formats.base",
    **dict.fromkeys(("NOTHING", "ParsedScript", "walk_breadth_first"),
                    "trainlint.formats.python.ast_index"),
    **dict.fromkeys(("PLATEAU", "SCHEDULER_PREFIX", "WRAPPERS", "Build", "CodeIndex", "StepCall",
                     "code_index", "feasible_builds", "literal", "position", "read_arguments",
                     "walk_local"), "trainlint.formats.python.training_code"),
    "SETTINGS": "trainlint.schemas.canonical",
    "packaged_bands": "trainlint.bands",
    **dict.fromkeys(("Event", "Grad", "Kind", "Loop", "LoopModel", "argument_for", "has_word",
                     "loop_model", "map_text"), "trainlint.loops"),
    "dotted": "trainlint.formats.python.ast_index",
    "VersionRange": "trainlint.versions",
}

__all__ = [
    "BASES", "DOCS_BASE_URL", "UNRESOLVED", "Applicability", "ConfigRule", "ConfigView", "Diagnostic",
    "DocumentRule", "Edit", "Example", "Fix", "FixAvailability", "LaunchRule", "LineIndex",
    "ParseErrorRule", "ParsedDocument", "ProbeRule", "Rule", "RuleOptions", "ScriptRule",
    "Sentinel", "Severity", "Span", "SuppressionRule", "Value", "options_fields", *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trainlint.api' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class FixAvailability(str, Enum):
    NONE = "none"
    SOMETIMES = "sometimes"
    ALWAYS = "always"


class Example(Struct, frozen=True):
    """A small file a rule's test runs: `bad` ones must fire the rule, `good` ones must not.

    `fixed` is the text after `--fix` (or `--unsafe-fixes` when `unsafe` is True).
    `settings` are `[tool.trainlint]` keys for the run (e.g. {"model-type": "ctc"}).
    """

    filename: str
    source: str
    fixed: str | None = None
    unsafe: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    fix_availability: ClassVar[FixAvailability] = FixAvailability.NONE
    message: ClassVar[str]
    # What the rule's fixes do, in a few words ("rename the key"): set exactly when the rule
    # can fix (fix_availability is not NONE); shown on its doc page and by `trainlint rules`.
    fix_title: ClassVar[str | None] = None
    # A preview rule runs only with `--preview` or `preview = true` (as in ruff), until its
    # measured precision meets the bar for the default set (DESIGN.md, "Precision").
    preview: ClassVar[bool] = False
    # The measured precision, for its doc page and `trainlint rules`, e.g.
    # "97% (34 findings, 2026-12 corpus)"; None: not measured yet.
    precision: ClassVar[str | None] = None
    Options: ClassVar[type[RuleOptions] | None] = None
    bad: ClassVar[tuple[Example, ...]] = ()
    good: ClassVar[tuple[Example, ...]] = ()

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx
        self.options = ctx.options_for(type(self))
        self.severity_override = ctx.severity_override(self.code)

    @classmethod
    def url(cls) -> str:
        return f"{DOCS_BASE_URL}/{cls.code}.md"

    def diagnostic(self, path: str, span: Span, message: str | None = None,
                   fix: Fix | None = None, severity: Severity | None = None,
                   basis: str | None = None) -> Diagnostic:
        if basis is not None and basis not in BASES:
            raise ValueError(f"basis must be one of {BASES}, not {basis!r}")
        return Diagnostic(
            code=self.code, name=self.name,
            severity=self.severity_override or severity or self.severity,
            message=message or self.message, path=path, span=span, fix=fix, url=self.url(),
            basis=basis,
        )

    def at(self, value: Value, message: str | None = None, fix: Fix | None = None,
           severity: Severity | None = None, whole_entry: bool = False,
           basis: str | None = None) -> Diagnostic:
        """A diagnostic at a value (or at its key, when `whole_entry`)."""
        span = value.key_span if whole_entry and value.key_span else value.span
        return self.diagnostic(value.path, span, message, fix, severity, basis)

    def replace_value(self, value: Value, new_text: str, message: str,
                      applicability: Applicability = Applicability.UNSAFE) -> Fix:
        """A fix that splices `new_text` in place of the value's source text."""
        return Fix.replace(value.span, new_text, message, applicability)

    def rename_key(self, value: Value, new_key: str, message: str,
                   applicability: Applicability = Applicability.UNSAFE) -> Fix | None:
        """A fix that renames the value's key in place (keeping the key's quotes)."""
        span = value.key_span
        if span is None:
            return None
        text = value.key.rsplit(".", 1)[-1]
        quoted = span.end - span.start == len(text) + 2
        if quoted:
            span = Span(span.start + 1, span.end - 1, span.line, span.col + 1,
                        span.end_line, span.end_col - 1)
        return Fix.replace(span, new_key, message, applicability)


class DocumentRule(Rule):
    """Sees the parsed text of a training config (YAML/JSON/TOML): styles, duplicates, raw keys."""

    formats: ClassVar[frozenset[str]] = frozenset({"yaml", "json", "toml"})

    def check_document(self, doc: ParsedDocument) -> Iterable[Diagnostic]:
        raise NotImplementedError


class ConfigRule(Rule):
    """Sees one training setup through canonical names, whatever format it came from."""

    def check_config(self, view: ConfigView) -> Iterable[Diagnostic]:
        raise NotImplementedError


class ScriptRule(Rule):
    """Sees one Python script: its `ast` with resolved import aliases (see trainlint.formats.python.ast_index).

    `needles` are byte strings of which at least one must occur in the file for the rule to
    run at all (the cheap prefilter); empty means always run.
    """

    needles: ClassVar[tuple[bytes, ...]] = ()

    def check_script(self, script: ParsedScript) -> Iterable[Diagnostic]:
        raise NotImplementedError

    # What a file whose check asks for work the rule shares between the files of a project (a
    # project scan of RuleContext.project_scripts, made once per process) holds: any of these
    # tuples of byte strings that all occur. A run on several cores checks a project's such
    # files in one process, so that the work is done once, while the other processes check
    # the rest (other projects' such files too). Empty: no shared work.
    shared_work_needles: ClassVar[tuple[tuple[bytes, ...], ...]] = ()
    # What a file holds that the shared work parses (the needles it gives the project scan):
    # on several cores, a project's such files are checked in that same process, after the
    # files that ask for the work, and reuse its parse. None: the work parses no file.
    shared_work_parses: ClassVar[Needles | None] = None

    # A rule that links files of one project (a save in train.py, a load in evaluate.py)
    # overrides the three methods below; see trainlint.project. `project_needles` must all occur
    # in a checked file for its facts to be taken.
    project_needles: ClassVar[tuple[bytes, ...]] = ()

    def project_facts(self, script: ParsedScript) -> Any:
        """What this file tells the other files of its project (it must pickle), or None."""
        return None

    def project_files_wanted(self, facts: dict[str, Any]) -> Needles | None:
        """None when the checked files' facts settle every finding; else what one of the
        project's other Python files must hold to be read for its facts: byte strings that
        must all occur, a bytes pattern, or a predicate on the file's bytes (reading a project
        costs time: ask only when a finding depends on it)."""
        return None

    def check_project(self, facts: dict[str, Any]) -> Iterable[Diagnostic]:
        """Findings from the facts of one project's files, keyed by path."""
        return ()


class ParseErrorRule(Rule):
    """Turns a file that cannot be read or parsed into a finding (TL001)."""

    def check_parse_error(self, path: str, message: str, span: Span,
                          read_by: str | None = None) -> Diagnostic:
        """`read_by`: the lenient readers that do read the file (JSON with comments), if any."""
        return self.diagnostic(path, span, message)


class LaunchRule(Rule):
    """Sees what argparse would do with the arguments of each launch of a launcher (a launch
    resolved against its target script's parser, see trainlint.launch_arguments): one
    ArgumentProblem at a time, an argument argparse rejects before the run starts (TL002,
    TL003)."""

    def check_argument(self, problem: ArgumentProblem) -> Iterable[Diagnostic]:
        raise NotImplementedError


class SuppressionRule(Rule):
    """Sees the suppression comments of a file after all other rules ran (TL009)."""

    def check_suppressions(self, path: str, text: str, suppressions: list) -> Iterable[Diagnostic]:
        raise NotImplementedError


class ProbeRule(Rule):
    """A runtime finding of `trainlint probe` (TL9xx): documented here, measured by the probe."""


def options_fields(options_cls: type[RuleOptions]) -> Iterator[msgspec.structs.FieldInfo]:
    yield from msgspec.structs.fields(options_cls)
