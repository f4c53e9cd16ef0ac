"""What rules import: rule base classes, Diagnostic, Fix, Edit, Applicability, Severity, Value.

Rules are pure: they read a parsed document, a ConfigView or a parsed script and yield
Diagnostics. They never print, read files or import the user's code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec.structs
from msgspec import Struct, field

from trainlint.text import LineIndex, Span

if TYPE_CHECKING:
    from trainlint.context import RuleContext
    from trainlint.script import ParsedScript
    from trainlint.versions import VersionRange  # what ctx.project.requirement() returns

DOCS_BASE_URL = "https://github.com/trainlint/trainlint/blob/main/docs/rules"

__all__ = [
    "Applicability", "BASES", "ConfigRule", "ConfigView", "Diagnostic", "DocumentRule", "Edit",
    "Example", "Fix", "FixAvailability", "LineIndex", "ParseErrorRule", "ParsedDocument", "ProbeRule", "Rule", "RuleOptions",
    "ScriptRule", "Sentinel", "Severity", "Span", "SuppressionRule", "UNRESOLVED", "Value",
]


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Applicability(str, Enum):
    """ruff's fix applicability: safe fixes keep the run's math, unsafe ones change it."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY = "display"


class FixAvailability(str, Enum):
    NONE = "none"
    SOMETIMES = "sometimes"
    ALWAYS = "always"


class Edit(Struct, frozen=True):
    """Replace the characters in [span.start, span.end) of the diagnostic's file."""

    span: Span
    content: str


class Fix(Struct, frozen=True):
    applicability: Applicability
    message: str
    edits: tuple[Edit, ...]

    @classmethod
    def replace(cls, span: Span, content: str, message: str,
                applicability: Applicability = Applicability.SAFE) -> Fix:
        return cls(applicability, message, (Edit(span, content),))


class Diagnostic(Struct):
    code: str
    name: str
    severity: Severity
    message: str
    path: str
    span: Span
    fix: Fix | None = None
    url: str = ""
    notes: tuple[str, ...] = ()  # extra lines, e.g. the launch that uses a script default
    # A hint that says the same for every file (which setting would let a rule decide): the
    # report keeps its first occurrence only (RULES.md: "once per run, not per file").
    once_per_run: bool = False
    # How the finding knows what it says (BASES): "consumer" (the code that reads the config
    # is known), "schema" (a framework's own table of its keys), "guessed" (from key names
    # alone); None where the rule does not say. Shown in JSON output.
    basis: str | None = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None and self.fix.applicability is not Applicability.DISPLAY

    def sort_key(self) -> tuple:
        return (self.path, self.span.start, self.code)


class Sentinel:
    """A named marker value that is falsy and prints as its name. One instance per name, also
    after pickling (process-pool workers), so compare it with `is`."""

    __slots__ = ("name",)
    _instances: ClassVar[dict[str, Sentinel]] = {}

    def __new__(cls, name: str) -> Sentinel:
        instance = cls._instances.get(name)
        if instance is None:
            instance = cls._instances[name] = super().__new__(cls)
            instance.name = name
        return instance

    def __reduce__(self):
        return Sentinel, (self.name,)

    def __repr__(self) -> str:
        return self.name

    def __bool__(self) -> bool:
        return False


# A value trainlint cannot know statically (environment variable, expression, ...).
UNRESOLVED: Any = Sentinel("UNRESOLVED")


class Value(Struct, frozen=True):
    """One value of a config, with the file and span it came from.

    `value` is the Python value trainlint reads (YAML 1.2 semantics for YAML plain scalars,
    so `1e-4` is the float the author meant; TL004 reports what YAML 1.1 loaders do instead).
    `UNRESOLVED` marks a value that cannot be known statically.
    """

    value: Any
    path: str
    span: Span
    key: str
    key_span: Span | None = None
    raw: str = ""
    style: str | None = None  # YAML scalar style: plain, single, double, literal, folded
    tag: str | None = None  # YAML tag, or "interpolation" for OmegaConf ${...}
    document: int = 0
    origin: str = ""  # what produced it: "yaml", "json", "toml", "argparse", "constant", "shell", ...
    overrode: Value | None = None

    @property
    def known(self) -> bool:
        return self.value is not UNRESOLVED and self.tag != "interpolation"

    @property
    def number(self) -> float | None:
        """The value as a finite number, or None (bools and strings are not numbers)."""
        value = self.value
        if isinstance(value, bool) or not self.known:
            return None
        if isinstance(value, (int, float)) and math.isfinite(value):
            return value
        if isinstance(value, str):
            try:
                parsed = float(value.strip())
            except ValueError:
                return None
            return parsed if math.isfinite(parsed) else None
        return None

    @property
    def leaf_key(self) -> str:
        return self.key.rsplit(".", 1)[-1]


class ParsedDocument(Struct):
    """A config file as the format adapter read it: every leaf value in file order.

    `entries` keeps repeated keys (TL005) and list items (`a.0.b`). `documents` is the number
    of YAML documents. `dialect` is filled by detection; None means "not a training config".
    """

    path: str
    text: str
    format: str
    entries: list[Value]
    index: LineIndex
    documents: int = 1
    dialect: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ConfigView:
    """Canonical setting name -> Value for one training setup (one document or one launch)."""

    __slots__ = ("path", "dialect", "values", "raw", "document", "derived", "invalid", "label")

    def __init__(self, path: str, dialect: str, values: dict[str, Value],
                 raw: dict[str, Value], document: ParsedDocument | None = None) -> None:
        self.path = path
        self.dialect = dialect
        self.values = values
        self.raw = raw
        self.document = document
        self.derived: dict[str, Any] = {}  # cache of derived quantities (trainlint.derive)
        self.invalid: list[Any] = []  # values the schema rejected (InvalidValue), for TL002
        self.label = ""  # for an effective config: the launch it belongs to

    def get(self, name: str) -> Value | None:
        return self.values.get(name)

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        return None if value is None else value.number

    def known(self, name: str) -> Any:
        """The plain value when it is known, else None."""
        value = self.values.get(name)
        if value is None or not value.known:
            return None
        return value.value

    def flag(self, name: str) -> bool | None:
        value = self.known(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None

    def __contains__(self, name: str) -> bool:
        return name in self.values


class RuleOptions(Struct):
    """Base of per-rule options: a struct whose fields Pydantic validates from settings.

    Declare `class Options(RuleOptions): max_share: float = 0.1` on the rule.
    """


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


BASES = ("consumer", "schema", "guessed")


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    fix_availability: ClassVar[FixAvailability] = FixAvailability.NONE
    message: ClassVar[str]
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
    """Sees one Python script: its `ast` with resolved import aliases (see trainlint.script).

    `needles` are byte strings of which at least one must occur in the file for the rule to
    run at all (the cheap prefilter); empty means always run.
    """

    needles: ClassVar[tuple[bytes, ...]] = ()

    def check_script(self, script: ParsedScript) -> Iterable[Diagnostic]:
        raise NotImplementedError

    # A rule that links files of one project (a save in train.py, a load in evaluate.py)
    # overrides the three methods below; see trainlint.project. `project_needles` must all occur
    # in a checked file for its facts to be taken.
    project_needles: ClassVar[tuple[bytes, ...]] = ()

    def project_facts(self, script: ParsedScript) -> Any:
        """What this file tells the other files of its project (it must pickle), or None."""
        return None

    def project_files_wanted(self, facts: dict[str, Any]) -> tuple[bytes, ...] | None:
        """None when the checked files' facts settle every finding; else the byte strings that
        must all occur in one of the project's other Python files for it to be read for its
        facts (reading a project costs time: ask only when a finding depends on it)."""
        return None

    def check_project(self, facts: dict[str, Any]) -> Iterable[Diagnostic]:
        """Findings from the facts of one project's files, keyed by path."""
        return ()


class ParseErrorRule(Rule):
    """Turns a file that cannot be read or parsed into a finding (TL001)."""

    def check_parse_error(self, path: str, message: str, span: Span) -> Diagnostic:
        return self.diagnostic(path, span, message)


class SuppressionRule(Rule):
    """Sees the suppression comments of a file after all other rules ran (TL009)."""

    def check_suppressions(self, path: str, text: str, suppressions: list) -> Iterable[Diagnostic]:
        raise NotImplementedError


class ProbeRule(Rule):
    """A runtime finding of `trainlint probe` (TL9xx): documented here, measured by the probe."""


def options_fields(options_cls: type[RuleOptions]) -> Iterator[msgspec.structs.FieldInfo]:
    yield from msgspec.structs.fields(options_cls)


# What script rules use from the analysis and fix modules, imported on first use: those
# modules import this one, and a run over configs never needs them.
_LAZY_EXPORTS = {
    "loop_model": "trainlint.loops", "LoopModel": "trainlint.loops", "Loop": "trainlint.loops",
    "Event": "trainlint.loops", "map_text": "trainlint.loops", "argument_for": "trainlint.loops",
    "has_word": "trainlint.loops", "Kind": "trainlint.loops", "Grad": "trainlint.loops",
    "dotted": "trainlint.script", "insert_keyword": "trainlint.fix.cst",
    "ensure_module_name": "trainlint.fix.cst",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = globals()[name] = getattr(importlib.import_module(module), name)
    return value
