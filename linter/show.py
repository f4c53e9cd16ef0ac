"""`trainlint show PATH`: the effective settings of a launcher, a script or a config.

One table per training setup (one per launch line for a launcher), one row per canonical
setting: its value, the file and line it came from, and what it overrode; then the derived
quantities (effective batch, steps, warmup share, LR at the first step) with their factors.
`--output-format json` prints the same as one JSON object. Without a terminal the text is
plain (no colour, ASCII table rules).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from trainlint.api import LaunchRule, ParseErrorRule
from trainlint.context import ProjectContext, RuleContext
from trainlint.derive import derive, fmt
from trainlint.formats.base import Note, ParseError
from trainlint.load import (
    DEFAULT_MAX_FILE_SIZE, LAUNCHER_FORMATS, Document, Loader, Unreadable, format_of,
)
from trainlint.records import ConfigView, Diagnostic, Value
from trainlint.registry import all_rules
from trainlint.running import problem_findings
from trainlint.schemas.canonical import SETTINGS

__all__ = ["show", "collect"]

MAX_OVERRODE_CHAIN = 4


class Shown(Struct):
    """One training setup to print."""

    title: str
    view: ConfigView
    launch: Any = None  # trainlint.formats.shell.Launch
    sources: list[str] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # what argparse rejects, ...
    notes: list[Note] = field(default_factory=list)
    flag_text: dict[tuple[str, int], str] = field(default_factory=dict)


class Collected(Struct):
    path: str
    setups: list[Shown] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # the launcher's own (TL001)
    notes: list[Note] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    reader: dict[str, Any] | None = None  # who reads a config file (trainlint.consumers)
    composed: dict[str, Any] | None = None  # a Hydra primary config through its defaults list


def show(path: str, settings: Any, output_format: str, console_out: Any) -> int:
    """Print the effective settings of PATH; returns the exit code (2: no such file)."""
    project = _project(settings)
    collected = collect(path, settings)
    if collected.error is not None and not collected.setups and collected.reader is None:
        label = "error" if collected.exit_code else "note"
        print(f"trainlint: {label}: {collected.error}", file=sys.stderr)
        return collected.exit_code
    derived = {id(setup): _derived(setup.view, project) for setup in collected.setups}
    if output_format == "json":
        payload = _json_payload(collected, derived)
        stream = console_out if hasattr(console_out, "write") else sys.stdout
        stream.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        _render_text(collected, derived, console_out)
    return collected.exit_code


def _project(settings: Any) -> ProjectContext:
    project = getattr(settings, "project", None)
    return project if isinstance(project, ProjectContext) else ProjectContext()


# --------------------------------------------------------------------------- collecting


def collect(path: str, settings: Any = None) -> Collected:
    """The setups of a launcher (one per launch), a Python script, or a config file, read
    through the same load path as `check` (trainlint.load). A launcher's problems are the
    findings of the rules that own them (TL001-TL003), as `check` reports them."""
    result = Collected(path)
    if not Path(path).exists():
        result.error = f"{path}: no such file"
        result.exit_code = 2
        return result
    fmt = format_of(path)
    if fmt is None:
        result.error = f"{path}: not a launcher, script or config trainlint reads"
        result.exit_code = 2
        return result
    loader = Loader(getattr(settings, "max_file_size", DEFAULT_MAX_FILE_SIZE))
    try:
        document = loader.load(path)
    except Unreadable as exc:
        result.error = f"{path}: cannot read ({exc.reason})"
        result.exit_code = 2
        return result
    if document.error is not None:
        span = document.error.span
        result.error = f"{path}:{span.line}:{span.col}: cannot parse: {document.error.message}"
        if document.error.read_by:  # JSON with comments: a lenient reader takes it
            result.error += f" (a comment: {document.error.read_by} read the file, `json.load` does not)"
        result.exit_code = 1
        return result
    if fmt in LAUNCHER_FORMATS:
        _collect_launcher(result, document, loader, _ProblemRules(settings))
    elif fmt == "python":
        _collect_script(result, document)
    else:
        result.reader, result.composed = _reader(path, settings)
        _collect_config(result, document)
    return result


def _reader(path: str, settings: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The code that reads the config, as `show` prints it: "read by `train.py:42` via
    `OmegaConf.load`; schema `TrainConfig` (`config.py:17`)", and for a Hydra primary config
    the config its defaults list composes; None without the run's settings."""
    if not hasattr(settings, "max_file_size"):
        return None, None
    from trainlint.consumers.run import RunConsumers  # config files only

    consumers = RunConsumers(settings)
    consumer = consumers(path)
    project = consumers.project_of(path)
    if consumer is None or project is None:
        return None, None
    root = project.root
    schema = consumer.schema
    reader = {
        "description": consumers.describe(path),
        "basis": consumer.basis,
        "loader": None if not consumer.known else consumer.loader.name,
        "call": None if not consumer.known else consumer.loader.display,
        "sites": [{"file": _relative(site.path, root), "line": site.line, "call": site.call}
                  for site in consumer.sites],
        "via": consumer.via,
        "schema": None if schema is None else {
            "name": schema.name, "kind": schema.kind,
            "file": _relative(schema.path, root) if schema.path else None,
            "line": schema.line or None, "closed": schema.closed},
        "unknown_keys": consumer.unknown_keys,
        "converts_strings": consumer.converts_strings,
        "value_language": list(consumer.value_language),
        "also_read_via": [alt.loader.display for alt in consumer.alternatives if alt.known],
    }
    return reader, _hydra_composed(path, project, consumers)


def _hydra_composed(path: str, project: Any, consumers: Any) -> dict[str, Any] | None:
    config_root = project.hydra_root(path)
    if config_root is None:
        return None
    from trainlint.consumers.compose import compose_hydra

    composed = compose_hydra(os.path.abspath(path), config_root, consumers.read_text)
    root = project.root
    return {
        "files": [_relative(file, root) for file in composed.files],
        "missing": [_relative(file, root) for file in composed.missing],
        "values": [{"key": key, "value": value.value if value.known else value.raw,
                    "file": _relative(value.path, root), "line": value.span.line}
                   for key, value in composed.values.items()],
    }


def _relative(path: str, root: str) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return path


class _ProblemRules:
    """The rules that turn a launcher's problems into findings: TL001 (a place that cannot be
    read) and the launch rules (TL002, TL003), with the settings' severities and options, and
    not filtered by `select`: `show` prints every problem of the launch."""

    def __init__(self, settings: Any) -> None:
        context = settings.rule_context() if hasattr(settings, "rule_context") else RuleContext()
        rules = [cls(context) for cls in all_rules(frozenset({"ParseErrorRule", "LaunchRule"}))]
        self.parse_error = [rule for rule in rules if isinstance(rule, ParseErrorRule)]
        self.launch = [rule for rule in rules if isinstance(rule, LaunchRule)]

    def findings(self, problems: list, path: str) -> list[Diagnostic]:
        return problem_findings(problems, self.parse_error, self.launch, [], path)


def _collect_launcher(result: Collected, document: Document, loader: Loader,
                      rules: _ProblemRules) -> None:
    path = document.path
    result.problems.extend(rules.findings(document.launch_file.problems, path))
    result.notes.extend(document.launch_file.notes)
    texts: dict[str, str] = {path: document.text}
    for config in document.launches:
        shown = Shown(config.view.label or path, config.view, config.launch, config.sources,
                      rules.findings(config.problems, path), config.notes)
        launcher = config.launch.path
        if launcher not in texts:
            try:
                texts[launcher] = loader.read(launcher).text
            except (Unreadable, ParseError):
                texts[launcher] = ""
        _flag_texts(shown, texts)
        result.setups.append(shown)
    if not result.setups and result.error is None:
        result.error = f"{path}: no launch command found"


def _flag_texts(shown: Shown, texts: dict[str, str]) -> None:
    """The flag as written (`--learning-rate`) for values that came from a launcher line."""
    for value in shown.view.values.values():
        text = texts.get(value.path)
        if text and value.key_span is not None and value.key_span.end <= len(text):
            written = text[value.key_span.start:value.key_span.end]
            if written.startswith("-") or "=" not in written:
                shown.flag_text[(value.path, value.span.start)] = written


def _collect_script(result: Collected, document: Document) -> None:
    path = document.path
    values, dialect = document.own_settings()
    raw = {entry.key: entry for entry in document.config.entries}
    view = ConfigView(path, dialect, values, raw, document.config)
    view.label = f"{path} (defaults, no launcher)"
    result.setups.append(Shown(view.label, view, sources=[path]))


def _collect_config(result: Collected, document: Document) -> None:
    path = document.path
    views = document.views
    for number, view in enumerate(views):
        title = f"{path} ({view.dialect})" if len(views) == 1 else \
            f"{path} document {number + 1} ({view.dialect})"
        view.label = view.label or title
        result.setups.append(Shown(title, view, sources=[path]))
    if not views:
        result.error = f"{path}: not a training config (no known training settings)"


# --------------------------------------------------------------------------- derived


def _derived(view: ConfigView, project: ProjectContext) -> list[tuple[str, str, str]]:
    """(name, value, how) rows of the derived quantities (trainlint.derive)."""
    try:
        return [(str(name), str(value), str(how)) for name, value, how in
                derive(view, project).rows()]
    except Exception as exc:  # a derive bug must not hide the settings table
        return [("derived quantities", "unavailable", f"{type(exc).__name__}: {exc}")]


# --------------------------------------------------------------------------- text


def _render_text(collected: Collected, derived: dict[int, list], console_out: Any) -> None:
    from rich import box  # rich only for the text table: `--output-format json` never loads it
    from rich.table import Table
    from rich.text import Text

    console = _console(console_out)
    plain = not console.is_terminal
    table_box = box.ASCII2 if plain else box.SIMPLE_HEAVY
    for setup in collected.setups:
        console.print(Text(setup.title, style="bold"), soft_wrap=True)
        if collected.reader is not None:
            console.print(collected.reader["description"], highlight=False, soft_wrap=True)
        if setup.launch is not None:
            console.print(_launch_summary(setup), highlight=False, soft_wrap=True)
        table = Table(box=table_box, show_edge=not plain, pad_edge=False, highlight=False)
        table.add_column("setting", style="cyan", no_wrap=True)
        table.add_column("value", style="bold", overflow="fold")
        table.add_column("from", overflow="fold")
        table.add_column("overrode", style="dim", overflow="fold")
        for name, value in _ordered(setup.view):
            table.add_row(name, _text(value), _origin(value, setup), _overrode(value))
        console.print(table)
        rows = derived.get(id(setup), [])
        if rows:
            derived_table = Table(box=table_box, show_edge=not plain, pad_edge=False,
                                  highlight=False, title=None)
            derived_table.add_column("derived", style="cyan", no_wrap=True)
            derived_table.add_column("value", style="bold")
            derived_table.add_column("factors", overflow="fold")
            for name, value, how in rows:
                derived_table.add_row(name, value, how)
            console.print(derived_table)
        for problem in setup.problems:
            console.print(_problem_line(problem), highlight=False, soft_wrap=True)
        for note in setup.notes:
            console.print(f"note: {note}", style="dim", highlight=False, soft_wrap=True)
        console.print()
    for problem in collected.problems:
        console.print(_problem_line(problem), highlight=False, soft_wrap=True)
    for note in collected.notes:
        console.print(f"note: {note}", style="dim", highlight=False, soft_wrap=True)
    if collected.reader is not None and not collected.setups:
        console.print(f"{collected.path}: {collected.reader['description']}", highlight=False,
                      soft_wrap=True)
    if collected.composed is not None:
        _render_composed(collected.composed, console, table_box)
    if collected.error:
        console.print(f"note: {collected.error}", style="dim", highlight=False)


def _render_composed(composed: dict[str, Any], console: Any, table_box: Any) -> None:
    from rich.table import Table

    files = composed["files"]
    console.print(f"composed by Hydra from {len(files)} file(s) of its defaults list "
                  f"(command-line overrides not applied): {', '.join(files)}", highlight=False)
    table = Table(box=table_box, show_edge=False, pad_edge=False, highlight=False)
    table.add_column("key", style="cyan", no_wrap=True)
    table.add_column("value", style="bold", overflow="fold")
    table.add_column("from", overflow="fold")
    for row in composed["values"]:
        table.add_row(row["key"], str(row["value"]), f"{row['file']}:{row['line']}")
    console.print(table)
    for missing in composed["missing"]:
        console.print(f"note: {missing}: named by the defaults list, not found", style="dim",
                      highlight=False)


def _console(console_out: Any):
    from rich.console import Console  # see _render_text

    if isinstance(console_out, Console):
        return console_out
    stream = console_out if hasattr(console_out, "write") else sys.stdout
    is_terminal = bool(getattr(stream, "isatty", lambda: False)())
    if is_terminal:
        return Console(file=stream, highlight=False)
    return Console(file=stream, force_terminal=False, no_color=True, highlight=False,
                   width=200, emoji=False)


def _launch_summary(setup: Shown) -> str:
    launch = setup.launch
    world = setup.view.get("batch.world_size")
    parts = [f"launcher: {launch.launcher}"]
    if launch.wrappers:
        parts.append(f"via {' '.join(launch.wrappers)}")
    target = launch.target
    if target is not None:
        parts.append(f"{'module' if launch.module is not None else 'script'}: {target.value}")
    if world is not None:
        parts.append(f"world size: {_text(world)} ({_where(world)})")
    elif launch.world_note:
        parts.append(f"world size: unknown ({launch.world_note})")
    if setup.sources:
        parts.append("read: " + ", ".join(setup.sources))
    return "  ".join(parts)


def _ordered(view: ConfigView) -> list[tuple[str, Value]]:
    order = {name: number for number, name in enumerate(SETTINGS)}
    return sorted(view.values.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def _text(value: Value) -> str:
    if not value.known:
        return f"? ({value.raw})" if value.raw else "?"
    return fmt(value.value)


def _where(value: Value, column: bool = False) -> str:
    where = f"{value.path}:{value.span.line}"
    return f"{where}:{value.span.col}" if column else where


def _origin(value: Value, setup: Shown) -> str:
    """`file:line:col  what`: the flag as written, the config key, or the argparse default."""
    name = setup.flag_text.get((value.path, value.span.start)) or value.key
    if value.origin in ("argparse", "argparse-implicit"):
        name = f"{_dest_of(value, setup.view) or name} (argparse default)"
    elif value.origin == "code":
        name = "code"
    elif value.key == "batch.world_size" and value.key_span is None:
        name = "launcher (one process)"
    return f"{_where(value, column=True)}  {name}"


def _dest_of(value: Value, view: ConfigView) -> str | None:
    for key, entry in view.raw.items():
        if entry.path == value.path and entry.span == value.span:
            return key
    return None


def _overrode(value: Value) -> str:
    chain = []
    current = value.overrode
    while current is not None and len(chain) < MAX_OVERRODE_CHAIN:
        chain.append(f"{_text(current)} ({_where(current)})")
        current = current.overrode
    return " <- ".join(chain)


def _problem_line(finding: Diagnostic) -> str:
    span = finding.span
    return (f"{finding.code} {finding.severity.value}: {finding.path}:{span.line}:{span.col}: "
            f"{finding.message}")


# --------------------------------------------------------------------------- JSON


def _json_value(value: Value) -> dict[str, Any]:
    out: dict[str, Any] = {
        "value": value.value if value.known else None,
        "known": value.known,
        "raw": value.raw,
        "key": value.key,
        "file": value.path,
        "line": value.span.line,
        "column": value.span.col,
        "end_line": value.span.end_line,
        "end_column": value.span.end_col,
        "origin": value.origin,
    }
    return out


def _json_setting(name: str, value: Value) -> dict[str, Any]:
    out = {"name": name, **_json_value(value)}
    chain = []
    current = value.overrode
    while current is not None and len(chain) < MAX_OVERRODE_CHAIN:
        chain.append(_json_value(current))
        current = current.overrode
    out["overrode"] = chain
    return out


def _json_problem(finding: Diagnostic | Note) -> dict[str, Any]:
    is_note = isinstance(finding, Note)
    return {
        "code": None if is_note else finding.code,
        "severity": "info" if is_note else finding.severity.value,
        "message": finding.message,
        "file": finding.path,
        "line": finding.span.line,
        "column": finding.span.col,
    }


def _json_payload(collected: Collected, derived: dict[int, list]) -> dict[str, Any]:
    setups = []
    for setup in collected.setups:
        launch = None
        if setup.launch is not None:
            world = setup.view.get("batch.world_size")
            launch = {
                "file": setup.launch.path,
                "line": setup.launch.line,
                "launcher": setup.launch.launcher,
                "wrappers": list(setup.launch.wrappers),
                "script": setup.launch.script.value if setup.launch.script else None,
                "module": setup.launch.module.value if setup.launch.module else None,
                "world_size": _json_value(world) if world is not None else None,
                "world_factors": [_json_value(v) for v in setup.launch.world_factors],
            }
        setups.append({
            "label": setup.title,
            "dialect": setup.view.dialect,
            "launch": launch,
            "sources": setup.sources,
            "settings": [_json_setting(name, value) for name, value in _ordered(setup.view)],
            "derived": [{"name": name, "value": value, "factors": how}
                        for name, value, how in derived.get(id(setup), [])],
            "problems": [_json_problem(p) for p in setup.problems],
            "notes": [_json_problem(p) for p in setup.notes],
        })
    return {
        "path": collected.path,
        "reader": collected.reader,
        "composed": collected.composed,
        "configs": setups,
        "problems": [_json_problem(p) for p in collected.problems],
        "notes": [_json_problem(p) for p in collected.notes],
        "error": collected.error,
    }
