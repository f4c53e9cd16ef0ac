"""The records that pass between the readers, the engine, rules and reporters: a Value with the
place it came from, a parsed config (ParsedDocument), a training setup seen through canonical
names (ConfigView), and a finding (Diagnostic) with its Fix.

Every module of the engine uses these; rules get them through `trainlint.api`.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, ClassVar

from msgspec import Struct, field

from trainlint.text import LineIndex, Span

DOCS_BASE_URL = "https://github.com/trainlint/trainlint/blob/main/docs/rules"

__all__ = [
    "BASES", "DOCS_BASE_URL", "Applicability", "ConfigView", "Diagnostic", "Edit", "Fix", "LineIndex",
    "ParsedDocument", "RuleOptions", "Sentinel", "Severity", "Span", "UNRESOLVED", "Value",
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


BASES = ("consumer", "schema", "guessed")


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
        """The value is what the code receives: not UNRESOLVED, and no tag a loader builds
        something else from (`${...}` interpolation, HyperPyYAML's `!ref <x>` / `!new:`, a
        custom constructor such as `!PiecewiseDecay`)."""
        return self.value is not UNRESOLVED and self.tag is None

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
    # path -> the code that reads the config (trainlint.consumers.Consumer), set by the load
    # path; asked on first use of `consumer`, so a file no rule asks about costs no scan.
    consumer_lookup: Any = None
    _consumer: Any = None

    @property
    def consumer(self) -> Any:
        """Who reads this config (`trainlint.consumers.Consumer`: loader, schema, policies),
        or None where nothing can be asked (a rule run on its own, a launch's view)."""
        if self._consumer is None and self.consumer_lookup is not None:
            self._consumer = self.consumer_lookup(self.path)
            self.consumer_lookup = None
        return self._consumer


class ConfigView:
    """Canonical setting name -> Value for one training setup (one document or one launch)."""

    __slots__ = ("path", "dialect", "values", "raw", "document", "derived", "invalid", "label",
                 "guessed")

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
        # a launch that read no file (its script not found, no config): what its flags mean
        # is guessed from their names, and a rule that depends on meaning says info
        self.guessed = False

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
