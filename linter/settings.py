"""`[tool.trainlint]` in the nearest pyproject.toml, or a trainlint.toml, validated with Pydantic.

Pydantic is imported only when a settings table exists (it costs ~120 ms to start).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

from msgspec import Struct, field
from msgspec.structs import replace

from trainlint.api import Severity
from trainlint.context import ProjectContext, RuleContext, parse_version

DEFAULT_MAX_FILE_SIZE = 1024 * 1024


class SettingsError(Exception):
    """A settings problem the user must fix: the CLI prints it and exits 2."""


class Settings(Struct):
    select: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    unsafe_fixes: bool = False
    exclude: list[str] = field(default_factory=list)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    project: ProjectContext = field(default_factory=ProjectContext)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    bands: dict[str, dict[str, Any]] = field(default_factory=dict)
    root: Path | None = None
    source: Path | None = None

    def rule_context(self) -> RuleContext:
        options = {code: {k: v for k, v in table.items() if k != "severity"}
                   for code, table in self.rules.items()}
        severities = {code: Severity(table["severity"])
                      for code, table in self.rules.items() if "severity" in table}
        tables = {"bands": self.bands} if self.bands else {}
        return RuleContext(project=self.project, rule_options=options,
                           severities=severities, tables=tables, settings=self)

    def with_overrides(self, **changes: Any) -> Settings:
        project_changes = {k: v for k, v in changes.items() if k in ProjectContext.__slots__}
        other = {k: v for k, v in changes.items() if k not in ProjectContext.__slots__}
        project = replace(self.project, **project_changes) if project_changes else self.project
        return replace(self, project=project, **other)


def _settings_model():
    from pydantic import BaseModel, ConfigDict, Field

    class RuleTable(BaseModel):
        model_config = ConfigDict(extra="allow")
        severity: Severity | None = None

    class ToolTable(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)
        select: list[str] = []
        extend_select: list[str] = Field([], alias="extend-select")
        ignore: list[str] = []
        per_file_ignores: dict[str, list[str]] = Field({}, alias="per-file-ignores")
        unsafe_fixes: bool = Field(False, alias="unsafe-fixes")
        exclude: list[str] = []
        max_file_size: int = Field(DEFAULT_MAX_FILE_SIZE, alias="max-file-size", gt=0)
        model_type: str | None = Field(None, alias="model-type")
        dataset_size: int | None = Field(None, alias="dataset-size", gt=0)
        world_size: int | None = Field(None, alias="world-size", ge=1)
        target_torch: str | None = Field(None, alias="target-torch")
        target_transformers: str | None = Field(None, alias="target-transformers")
        rules: dict[str, RuleTable] = {}
        bands: dict[str, dict[str, Any]] = {}

    return ToolTable


ALLOWED_KEYS = (
    "select", "extend-select", "ignore", "per-file-ignores", "unsafe-fixes", "exclude",
    "max-file-size", "model-type", "dataset-size", "world-size", "target-torch",
    "target-transformers", "rules", "bands",
)


def _check_unknown_keys(table: dict[str, Any], source: Path) -> None:
    for key in table:
        if key not in ALLOWED_KEYS:
            from difflib import get_close_matches

            close = get_close_matches(key, ALLOWED_KEYS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise SettingsError(f"{source}: unknown setting `{key}` in [tool.trainlint]{hint}")


def validate_table(table: dict[str, Any], source: Path) -> Settings:
    _check_unknown_keys(table, source)
    from pydantic import ValidationError

    try:
        parsed = _settings_model().model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SettingsError(f"{source}: [tool.trainlint] `{where}`: {first['msg']}") from None
    project = ProjectContext(
        model_type=parsed.model_type, dataset_size=parsed.dataset_size,
        world_size=parsed.world_size, target_torch=parse_version(parsed.target_torch),
        target_transformers=parse_version(parsed.target_transformers),
    )
    for name in ("target_torch", "target_transformers"):
        if getattr(project, name):
            project.sources[name] = f"{source.name} [tool.trainlint]"
    rules = {code.upper(): {k: v for k, v in rule.model_dump(exclude_none=True).items()}
             for code, rule in parsed.rules.items()}
    return Settings(
        select=parsed.select, extend_select=parsed.extend_select, ignore=parsed.ignore,
        per_file_ignores=parsed.per_file_ignores, unsafe_fixes=parsed.unsafe_fixes,
        exclude=parsed.exclude, max_file_size=parsed.max_file_size, project=project,
        rules=rules, bands=parsed.bands, source=source,
    )


def validate_rule_options(options_cls: type, values: dict[str, Any], code: str):
    from pydantic import TypeAdapter, ValidationError

    names = set(options_cls.__struct_fields__)
    values = {key.replace("-", "_"): value for key, value in values.items()}
    unknown = sorted(set(values) - names)
    if unknown:
        from difflib import get_close_matches

        close = get_close_matches(unknown[0], sorted(names), n=1)
        hint = f"; did you mean `{close[0].replace('_', '-')}`?" if close else ""
        raise SettingsError(f"[tool.trainlint.rules.{code}] unknown option `{unknown[0]}`{hint}")
    try:
        validated = TypeAdapter(_typed_dict_of(options_cls)).validate_python(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SettingsError(f"[tool.trainlint.rules.{code}] `{where}`: {first['msg']}") from None
    return options_cls(**validated)


def _typed_dict_of(options_cls: type):
    """The options' fields as a TypedDict (all keys optional: unset ones keep their default),
    which Pydantic validates; it does not read msgspec structs itself."""
    from typing import get_type_hints

    from typing_extensions import TypedDict  # what Pydantic reads on Python < 3.12

    hints = get_type_hints(options_cls, vars(sys.modules[options_cls.__module__]))
    names = set(options_cls.__struct_fields__)
    return TypedDict(f"{options_cls.__qualname__}Values",  # type: ignore[operator]
                     {name: hint for name, hint in hints.items() if name in names}, total=False)


def find_settings_file(start: Path) -> Path | None:
    """The nearest trainlint.toml or pyproject.toml with a [tool.trainlint] table."""
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        candidate = folder / "trainlint.toml"
        if candidate.is_file():
            return candidate
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.trainlint" in candidate.read_text(encoding="utf-8", errors="replace"):
            return candidate
        if (folder / ".git").exists():
            break
    return None


def _read_table(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc}") from None
    if path.name == "trainlint.toml":
        return data.get("tool", {}).get("trainlint", data)
    return data.get("tool", {}).get("trainlint", {})


def load_settings(start: Path, explicit: Path | None = None) -> Settings:
    source = explicit or find_settings_file(start.resolve())
    if source is None:
        settings = Settings()
        root = _project_root(start.resolve())
    else:
        table = _read_table(source)
        settings = validate_table(table, source) if table else Settings(source=source)
        root = source.parent
    settings.root = root
    # The project's own requirements (a version range per package) are read by the rules that
    # need them, per file's project: ProjectContext.requirement, trainlint.versions.
    return settings


def _project_root(start: Path) -> Path:
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return directory
