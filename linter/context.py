"""What a rule may know besides its input: project context, its options, version targets.

A rule's options come from `[tool.trainlint.rules.CODE]`, validated with Pydantic on first use
(`validate_rule_options`; Pydantic costs ~120 ms to import, so only a rule with options set
pays it). A bad setting raises SettingsError, which the CLI prints as one line (exit 2).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_type_hints

from msgspec import Struct, field

from trainlint.records import RuleOptions, Severity


if TYPE_CHECKING:
    from trainlint.project_scan import Needles
    from trainlint.versions import VersionRange


class SettingsError(Exception):
    """A settings problem the user must fix: the CLI prints it and exits 2."""


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
    target_torch: tuple[int, ...] | None = None  # exactly this version (settings / CLI)
    target_transformers: tuple[int, ...] | None = None
    # Where each target came from ("pyproject.toml [tool.trainlint]", "command line").
    sources: dict[str, str] = field(default_factory=dict)
    _ranges: dict[Any, Any] = field(default_factory=dict)  # this run's answers, per folder

    def requirement(self, package: str, path: str) -> VersionRange:
        """The versions of `package` ("torch", "transformers", "lightning", "deepspeed",
        "accelerate") that the run may use at the file `path`: the `target-torch` /
        `target-transformers` setting when given (exactly that version), else the range the
        project's own requirement and lock files allow (trainlint.versions), else every
        release (`kind == "unknown"`). The files are read on the first call, once per folder."""
        from trainlint import versions

        target = getattr(self, f"target_{package}", None)
        if target is not None:
            return versions.exact_range(package, target, self.sources.get(f"target_{package}",
                                                                          "settings"))
        return versions.project_range(package, path, self._ranges)


class RuleContext(Struct):
    project: ProjectContext = field(default_factory=ProjectContext)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    severities: dict[str, Severity] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)  # package data, e.g. LR bands
    selected: frozenset[str] | None = None  # codes selected for this run (TL009 reads it)
    project_codes: frozenset[str] = frozenset()  # codes whose findings link files (TL009 reads it)
    settings: Any = None  # the run's Settings: which files a project scan may read
    consumers: Any = None  # path -> Consumer: who reads a config (trainlint.consumers.run)
    _options_cache: dict[str, RuleOptions | None] = field(default_factory=dict)
    _scans: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def project_scripts(self, path: str, needles: Needles, analyse: Callable[[Any], Any],
                        analyse_text: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """`analyse(script)` for each Python file of the project of `path` that holds every
        byte string in `needles` (or matches the bytes pattern `needles`, or for which the
        predicate `needles(data)` is true), and `analyse_text(text)` (no parse) for the others
        when given, by path (the file itself included, as it is on disk). Test code is read
        only where `path` is test code, or with `include-tests`. For a finding that
        depends on the rest of the project before the project phase runs (a fix TL401 must
        not offer when another file saves objects into the checkpoint). A run walks each
        project once per analysis, a process analyses each file once per version; a failing
        `analyse` raises. Without the run's settings (a rule run on its own) no project is
        read: nothing is known of it."""
        if self.settings is None:
            return {}
        from trainlint.project_scan import scan_project

        return scan_project(path, needles, analyse, analyse_text, self.settings, self._scans)

    def consumer_of(self, path: str) -> Any:
        """Who reads the config file `path` (trainlint.consumers.Consumer), or None where the
        run asks no one (a rule run on its own, a file in no project). For a value of a
        launch's effective config, whose file is not the one being checked."""
        return None if self.consumers is None else self.consumers(path)

    def options_for(self, rule_cls: type) -> RuleOptions | None:
        code = rule_cls.code
        if code not in self._options_cache:
            options_cls = getattr(rule_cls, "Options", None)
            if options_cls is None:
                self._options_cache[code] = None
            elif code in self.rule_options:
                source = getattr(self.settings, "source", None)
                self._options_cache[code] = validate_rule_options(
                    options_cls, self.rule_options[code], code, source)
            else:
                self._options_cache[code] = options_cls()
        return self._options_cache[code]

    def severity_override(self, code: str) -> Severity | None:
        return self.severities.get(code)


def option_names(options_cls: type[RuleOptions]) -> list[str]:
    return list(options_cls.__struct_fields__)


def validate_rule_options(options_cls: type, values: dict[str, Any], code: str,
                          source: Any = None):
    """The options struct of a rule from its settings table; SettingsError names what is wrong,
    at its place in the settings file `source` (a Path) when given."""
    from pydantic import TypeAdapter, ValidationError  # only for a rule with options set

    names = set(options_cls.__struct_fields__)
    written = {key.replace("-", "_"): key for key in values}  # as the user wrote each one
    values = {key.replace("-", "_"): value for key, value in values.items()}

    def where(*keys: str) -> str:
        if source is None:
            return f"[tool.trainlint.rules.{code}]"
        from trainlint.settings_positions import located  # only to word the error

        return f"{located(source, 'rules', code, *keys)}: [tool.trainlint.rules.{code}]"

    unknown = sorted(set(values) - names)
    if unknown:
        from difflib import get_close_matches  # only to word the error

        close = get_close_matches(unknown[0], sorted(names), n=1)
        hint = f"; did you mean `{close[0].replace('_', '-')}`?" if close else ""
        raise SettingsError(f"{where(written[unknown[0]])} unknown option "
                            f"`{written[unknown[0]]}`{hint}")
    try:
        validated = TypeAdapter(_typed_dict_of(options_cls)).validate_python(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        keys = [written.get(str(part), str(part)) for part in first["loc"]]
        raise SettingsError(f"{where(*keys)} `{'.'.join(keys)}`: {first['msg']}") from None
    return options_cls(**validated)


def _typed_dict_of(options_cls: type):
    """The options' fields as a TypedDict (all keys optional: unset ones keep their default),
    which Pydantic validates; it does not read msgspec structs itself."""
    from typing_extensions import TypedDict  # what Pydantic reads on Python < 3.12

    hints = get_type_hints(options_cls, vars(sys.modules[options_cls.__module__]))
    names = set(options_cls.__struct_fields__)
    return TypedDict(f"{options_cls.__qualname__}Values",  # type: ignore[operator]
                     {name: hint for name, hint in hints.items() if name in names}, total=False)
