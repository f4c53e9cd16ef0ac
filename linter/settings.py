"""`[tool.trainlint]` in the nearest pyproject.toml, or a trainlint.toml, validated with Pydantic.

Pydantic is imported only when a settings table exists (it costs ~120 ms to start).
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from msgspec import Struct, field
from msgspec.structs import replace

from trainlint.api import Severity
from trainlint.bands import packaged_bands
from trainlint.context import ProjectContext, RuleContext, SettingsError, parse_version
from trainlint.load import DEFAULT_MAX_FILE_SIZE
from trainlint.settings_positions import located


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
    preview: bool = False
    include_tests: bool = False  # judge test code at full severity (else its findings are info)
    root: Path | None = None
    source: Path | None = None
    # Problems that do not stop the run (a pin that cannot be read): each is one error line
    # of the report, and the run exits 2 after checking every file.
    errors: list[str] = field(default_factory=list)

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

    class BandTable(BaseModel):
        model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
        low: float | None = Field(None, gt=0)
        high: float | None = Field(None, gt=0)
        suggested: float | None = Field(None, gt=0)
        suggested_per_256: float | None = Field(None, gt=0)
        optimizers: list[str] | None = None
        source: str | None = None

    class ToolTable(BaseModel):
        model_config = ConfigDict(extra="forbid", populate_by_name=True)
        select: list[str] = []
        extend_select: list[str] = Field([], alias="extend-select")
        ignore: list[str] = []
        per_file_ignores: dict[str, list[str]] = Field({}, alias="per-file-ignores")
        unsafe_fixes: bool = Field(False, alias="unsafe-fixes")
        preview: bool = False
        include_tests: bool = Field(False, alias="include-tests")
        exclude: list[str] = []
        max_file_size: int = Field(DEFAULT_MAX_FILE_SIZE, alias="max-file-size", gt=0)
        # ranges and meanings: validate_context, shared with the command line
        model_type: str | None = Field(None, alias="model-type")
        dataset_size: int | None = Field(None, alias="dataset-size")
        world_size: int | None = Field(None, alias="world-size")
        target_torch: str | None = Field(None, alias="target-torch")
        target_transformers: str | None = Field(None, alias="target-transformers")
        rules: dict[str, RuleTable] = {}
        bands: dict[str, BandTable] = {}

    return ToolTable


ALLOWED_KEYS = (
    "select", "extend-select", "ignore", "per-file-ignores", "unsafe-fixes", "preview",
    "include-tests", "exclude", "max-file-size", "model-type", "dataset-size", "world-size", "target-torch",
    "target-transformers", "rules", "bands",
)


def _table_name(source: Path) -> str:
    return "" if source.name == "trainlint.toml" else " [tool.trainlint]"


def _check_unknown_keys(table: dict[str, Any], source: Path) -> None:
    for key in table:
        if key not in ALLOWED_KEYS:
            from difflib import get_close_matches

            close = get_close_matches(key, ALLOWED_KEYS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise SettingsError(f"{located(source, key)}: unknown setting `{key}` in "
                                f"[tool.trainlint]{hint}")


def validate_table(table: dict[str, Any], source: Path) -> Settings:
    _check_unknown_keys(table, source)
    from pydantic import ValidationError

    try:
        parsed = _settings_model().model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        keys = [str(part) for part in first["loc"]]
        raise SettingsError(f"{located(source, *keys)}:{_table_name(source)} `{'.'.join(keys)}`: "
                            f"{first['msg']}") from None
    bands = {name.lower(): band.model_dump(exclude_none=True) for name, band in parsed.bands.items()}
    _check_bands(bands, source)
    context = validate_context(
        {"model-type": parsed.model_type, "dataset-size": parsed.dataset_size,
         "world-size": parsed.world_size, "target-torch": parsed.target_torch,
         "target-transformers": parsed.target_transformers},
        lambda key: f"{located(source, key)}:{_table_name(source)} `{key}`", bands)
    project = ProjectContext(**context)
    for name in ("target_torch", "target_transformers"):
        if getattr(project, name):
            project.sources[name] = f"{source.name} [tool.trainlint]"
    _check_patterns(parsed.exclude, parsed.per_file_ignores, source)
    _check_selections(parsed, source)
    rules = {code.upper(): {k: v for k, v in rule.model_dump(exclude_none=True).items()}
             for code, rule in parsed.rules.items()}
    return Settings(
        select=parsed.select, extend_select=parsed.extend_select, ignore=parsed.ignore,
        per_file_ignores=parsed.per_file_ignores, unsafe_fixes=parsed.unsafe_fixes,
        exclude=parsed.exclude, max_file_size=parsed.max_file_size, project=project,
        rules=rules, bands=bands, preview=parsed.preview, include_tests=parsed.include_tests,
        source=source,
    )


# ---------------------------------------------------------------- shared with the command line

def validate_context(values: dict[str, Any], where, bands: dict[str, dict] | None = None) -> dict[str, Any]:
    """The run's context (`model-type`, `dataset-size`, `world-size`, `target-torch`,
    `target-transformers`; None: not given) checked and converted to ProjectContext fields.
    One validation for the settings file and the command line: `where(key)` names the place
    (`pyproject.toml: [tool.trainlint] `world-size``, `--world-size`)."""
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        name = key.replace("-", "_")
        if key in ("dataset-size", "world-size"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingsError(f"{where(key)}: must be a whole number of at least 1, "
                                    f"not {value!r}")
            converted[name] = value
        elif key == "model-type":
            converted[name] = _model_type(str(value), where(key), bands or {})
        elif key in ("target-torch", "target-transformers"):
            version = parse_version(str(value))
            if version is None:
                raise SettingsError(f"{where(key)}: `{value}` is not a version (e.g. 2.6)")
            converted[name] = version
        else:
            raise ValueError(f"not a context setting: {key}")
    return converted


def _model_type(value: str, where: str, bands: dict[str, dict]) -> str:
    known = sorted({*packaged_model_types(), *bands})
    model_type = value.strip().lower()
    if model_type in known:
        return model_type
    from difflib import get_close_matches

    close = get_close_matches(model_type, known, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    raise SettingsError(f"{where}: unknown model type `{value}`{hint} (known: {', '.join(known)}; "
                        f"a [tool.trainlint.bands.{model_type or 'NAME'}] table with `low` and "
                        f"`high` adds one)")


@cache
def packaged_model_types() -> frozenset[str]:
    """The model types of the packaged LR band table (rules/data/lr_bands.toml)."""
    return frozenset(packaged_bands())


def _check_bands(bands: dict[str, dict], source: Path) -> None:
    """Each band, with the packaged one it overrides under it, has `low` <= `high`; a new
    model type needs both."""
    for name, band in bands.items():
        merged = {**packaged_bands().get(name, {}), **band}
        where = f"{located(source, 'bands', name)}: [tool.trainlint.bands.{name}]"
        if "low" not in merged or "high" not in merged:
            raise SettingsError(f"{where}: a new model type's band needs `low` and `high`")
        if merged["low"] > merged["high"]:
            raise SettingsError(f"{where}: `low` {merged['low']:g} is above `high` "
                                f"{merged['high']:g}")


def _check_patterns(exclude: list[str], per_file_ignores: dict[str, list[str]], source: Path) -> None:
    """`exclude` (gitignore patterns) and `per-file-ignores` keys (glob patterns) compile."""
    import fnmatch

    for pattern in per_file_ignores:
        try:
            re.compile(fnmatch.translate(pattern))
        except re.error as exc:
            raise SettingsError(f"{located(source, 'per-file-ignores', pattern)}:"
                                f"{_table_name(source)} `per-file-ignores`: pattern "
                                f"`{pattern}` cannot be read ({exc.msg})") from None
    if not exclude:
        return
    import pathspec

    for pattern in exclude:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except (ValueError, re.error) as exc:
            message = getattr(exc, "msg", None) or str(exc)
            raise SettingsError(f"{located(source, 'exclude')}:{_table_name(source)} `exclude`: "
                                f"pattern `{pattern}` "
                                f"cannot be read ({message})") from None


def _check_selections(parsed: Any, source: Path) -> None:
    from trainlint.registry import known_codes, selector_error

    for keys, selectors in ((("select",), parsed.select),
                            (("extend-select",), parsed.extend_select),
                            (("ignore",), parsed.ignore),
                            *((("per-file-ignores", pattern), codes)
                              for pattern, codes in parsed.per_file_ignores.items())):
        for selector in selectors:
            problem = selector_error(selector)
            if problem:
                raise SettingsError(f"{located(source, *keys)}:{_table_name(source)} "
                                    f"`{keys[0]}`: {problem}")
    for code in parsed.rules:
        if code.upper() not in known_codes():
            problem = selector_error(code, exact=True)
            raise SettingsError(f"{located(source, 'rules', code)}: "
                                f"[tool.trainlint.rules.{code}]: {problem}")


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
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc.strerror or exc}") from None
    tool = data.get("tool")
    if path.name == "trainlint.toml":  # the keys at the top level, or under [tool.trainlint]
        table = tool["trainlint"] if isinstance(tool, dict) and "trainlint" in tool else data
    elif tool is not None and not isinstance(tool, dict):
        raise SettingsError(f"{path}: `tool` must be a table ([tool.trainlint]), not "
                            f"{type(tool).__name__} {tool!r}")
    else:
        table = (tool or {}).get("trainlint", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.trainlint] must be a table, not "
                            f"{type(table).__name__} {table!r}")
    return table


def load_settings(start: Path, explicit: Path | None = None) -> Settings:
    start = Path(os.path.realpath(start))  # never raises: a link loop stays as it is
    source = explicit or find_settings_file(start)
    if source is None:
        settings = Settings()
        root = _project_root(start)
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
