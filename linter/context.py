"""What a rule may know besides its input: project context, its options, version targets."""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from trainlint.records import RuleOptions, Severity
from trainlint.rule_options import validate_rule_options

NEWEST_TORCH = (2, 13)
NEWEST_TRANSFORMERS = (5, 23)


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """'2.6.0+cu124' -> (2, 6, 0); None for text that is no version."""
    if not text:
        return None
    parts = []
    for piece in str(text).strip().lstrip("=<>~!^ v").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits) if piece.isdigit() else int(digits.split()[0]))
        if not piece.isdigit():
            break
    return tuple(parts) or None


class ProjectContext(Struct):
    """Facts about the run that configs often leave out; set in settings or on the CLI."""

    model_type: str | None = None
    dataset_size: int | None = None
    world_size: int | None = None
    target_torch: tuple[int, ...] | None = None
    target_transformers: tuple[int, ...] | None = None
    # Where each target came from ("settings", "pyproject.toml pin", "newest release").
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def torch(self) -> tuple[int, ...]:
        return self.target_torch or NEWEST_TORCH

    @property
    def transformers(self) -> tuple[int, ...]:
        return self.target_transformers or NEWEST_TRANSFORMERS


class RuleContext(Struct):
    project: ProjectContext = field(default_factory=ProjectContext)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    severities: dict[str, Severity] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)  # package data, e.g. LR bands
    selected: frozenset[str] | None = None  # codes selected for this run (TL009 reads it)
    project_codes: frozenset[str] = frozenset()  # codes whose findings link files (TL009 reads it)
    _options_cache: dict[str, RuleOptions | None] = field(default_factory=dict)

    def options_for(self, rule_cls: type) -> RuleOptions | None:
        code = rule_cls.code
        if code not in self._options_cache:
            options_cls = getattr(rule_cls, "Options", None)
            if options_cls is None:
                self._options_cache[code] = None
            elif code in self.rule_options:
                self._options_cache[code] = validate_rule_options(
                    options_cls, self.rule_options[code], code)
            else:
                self._options_cache[code] = options_cls()
        return self._options_cache[code]

    def severity_override(self, code: str) -> Severity | None:
        return self.severities.get(code)


def option_names(options_cls: type[RuleOptions]) -> list[str]:
    return list(options_cls.__struct_fields__)
