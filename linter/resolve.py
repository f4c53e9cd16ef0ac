"""The effective config of each launch: script defaults, config files and launcher flags merged.

A training run's settings are spread over files: argparse defaults in `train.py`, a YAML or
JSON named by `--config`, flags in `train.sh`, and the world size in the launcher. For every
launch command `effective_views(launch_file, documents)` maps the flags onto the target script's
argparse exactly as argparse would (trainlint.launch_arguments), follows the config files the
flags (or their defaults) name, applies
Hydra-style `key=value` overrides, and returns one ConfigView per launch whose Values keep the
file and span they came from (the value a flag replaced is in `Value.overrode`).

Nothing is imported or run, and nothing is parsed here: the scripts, configs and nested
launchers a launch names are read through the load path (`documents`, see trainlint.load).
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field
from msgspec.structs import replace

from trainlint.dialects import build_views, canonical_name
from trainlint.formats import shell
from trainlint.formats.base import ArgumentSpec, Note, SyntaxProblem
from trainlint.formats.python.ast_index import called_name
from trainlint.formats.shell import Launch, LaunchFile, Word
from trainlint.launch_arguments import (
    ARGUMENT_PROBLEMS,
    ArgparseReader,
    ArgumentProblem,
    ResolvedArgument,
    is_override,
)
from trainlint.paths import relative_path
from trainlint.records import UNRESOLVED, ConfigView, ParsedDocument, Value

if TYPE_CHECKING:
    from trainlint.load import Document, DocumentSource

__all__ = ["ARGUMENT_PROBLEMS", "ArgumentProblem", "EffectiveConfig", "ResolvedArgument",
           "effective_views"]

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
LAUNCHER_FORMATS = ("shell", "markdown")
MAX_NESTING = 4
# argparse dests (and bare flag names) that name a config file the script reads.
_CONFIG_DEST = re.compile(
    r"(^|_)(config|configs|cfg|conf|yaml|hparams|hyperparams|recipe|deepspeed|ds_config|"
    r"config_path|config_file|settings)(_|$)|^c$")
_OPEN_PARSERS = ("parse_known_args", "HfArgumentParser", "fire.Fire", "typer", "click.",
                 "jsonargparse", "tyro.", "simple_parsing", "LightningCLI", "absl", "parents=",
                 "add_subparsers", "parse_intermixed", "OmegaConf.from_cli", "hydra")
_NOT_TRAINING_MODULES = frozenset({
    "pip", "venv", "ensurepip", "http.server", "pytest", "unittest", "json.tool", "pre_commit",
    "black", "ruff", "mypy", "tensorboard", "torch.utils.collect_env", "site", "timeit",
    "cProfile", "pdb", "doctest", "build", "twine", "jupyter", "notebook", "ipykernel"})


class EffectiveConfig(Struct):
    """What one launch trains with: canonical settings with provenance, plus its problems."""

    launch: Launch
    view: ConfigView
    script: str | None = None  # the target script's path, when found
    sources: list[str] = field(default_factory=list)  # files that contributed, in order
    arguments: list[ResolvedArgument] = field(default_factory=list)
    # what argparse rejects, and where a launcher this launch runs cannot be read (TL001)
    problems: list[ArgumentProblem | SyntaxProblem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # skip notes
    launcher_path: str = ""  # the file the launch line is in

    @property
    def world_size(self) -> Value | None:
        return self.view.get("batch.world_size")

    @property
    def label(self) -> str:
        return self.view.label


def _name_of(found: Path) -> str:
    """How a file launch resolution found is named in findings and `show`."""
    return relative_path(os.path.abspath(found))


# --------------------------------------------------------------------------- entry point


def effective_views(launch_file: LaunchFile, documents: DocumentSource,
                    _depth: int = 0, _seen: frozenset[str] = frozenset(),
                    _scripts: dict[str, Script] | None = None) -> list[EffectiveConfig]:
    """One EffectiveConfig per launch of the file (a `bash other.sh` line yields the launches
    of other.sh). The launcher file's own problems and notes stay on `launch_file`.
    `documents(path, formats, views)` reads the files launches name (trainlint.load)."""
    scripts = {} if _scripts is None else _scripts
    configs: list[EffectiveConfig] = []
    for launch in launch_file.launches:
        try:
            if launch.launcher in ("bash", "powershell"):
                configs.extend(_nested(launch_file, launch, documents, _depth, _seen, scripts))
                continue
            resolver = _LaunchResolver(launch_file, launch, documents, scripts)
            configs.append(resolver.resolve())
        except Exception as error:  # pragma: no cover - never lose the other launches
            note = Note(launch_file.path, launch.span, "launch skipped: trainlint could "
                                 f"not resolve it ({type(error).__name__}: {error})")
            configs.append(EffectiveConfig(launch, ConfigView(launch_file.path, "generic", {}, {}),
                                           notes=[note], launcher_path=launch_file.path))
    return configs


def _nested(launch_file: LaunchFile, launch: Launch, documents: DocumentSource, depth: int,
            seen: frozenset[str], scripts: dict[str, Script]) -> list[EffectiveConfig]:
    target = launch.script
    if target is None or not target.known:
        return []
    found = _find_file(str(target.value), _base_dirs(launch_file.path, launch))
    if found is None:
        return [_orphan(launch_file, launch, Note(
            launch_file.path, target.span,
            f"launcher '{target.value}' not found (looked beside {launch_file.path} and in "
            "its parent folders); its launches are not read"))]
    key = str(found.resolve())
    if depth >= MAX_NESTING or key in seen:
        return []
    document = documents(_name_of(found), LAUNCHER_FORMATS, views=False)
    if document is None:
        return []
    nested = document.launch_file
    configs = effective_views(nested, documents, depth + 1, seen | {key}, scripts)
    if configs:  # the nested file's own findings and skip notes travel with its launches
        configs[0].problems.extend(nested.problems)
        configs[0].notes.extend(nested.notes)
    for config in configs:
        config.notes.insert(0, Note(
            launch_file.path, launch.span,
            f"launched from {launch_file.path}:{launch.line}"))
    return configs


def _orphan(launch_file: LaunchFile, launch: Launch, note: Note) -> EffectiveConfig:
    view = ConfigView(launch_file.path, "generic", {}, {})
    view.label = f"{launch_file.path}:{launch.line} {launch.describe()}"
    return EffectiveConfig(launch, view, notes=[note], launcher_path=launch_file.path)


# --------------------------------------------------------------------------- paths


def _project_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file() \
                or (folder / "setup.py").is_file():
            return folder
    return None


def _base_dirs(launcher_path: str, launch: Launch) -> list[Path]:
    """Folders a relative path in the launch may be relative to, most likely first."""
    here = Path(launcher_path).parent
    candidates = [here]
    if not launch.cwd_is_script_dir:
        absolute = here.resolve()
        root = _project_root(absolute)
        for folder in absolute.parents:
            if root is None or not folder.is_relative_to(root):
                break
            candidates.append(folder)
        candidates.append(Path.cwd())
    if launch.cwd:
        moved = []
        for base in candidates:
            folder = base
            for target in launch.cwd:
                if target == "?":
                    folder = None
                    break
                folder = Path(os.path.expanduser(target)) if os.path.isabs(
                    os.path.expanduser(target)) else folder / target
            if folder is not None:
                moved.append(folder)
        candidates = moved + candidates
    unique: list[Path] = []
    seen: set[str] = set()
    for folder in candidates:
        key = str(folder.resolve())
        if key not in seen:
            seen.add(key)
            unique.append(folder)
    return unique


def _find_file(relative: str, bases: Iterable[Path]) -> Path | None:
    relative = relative.replace("\\", "/")
    candidate = Path(os.path.expanduser(relative))
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for base in bases:
        path = base / candidate
        if path.is_file():
            return path
    return None


def _find_module(module: str, bases: Iterable[Path]) -> Path | None:
    parts = module.split(".")
    for base in bases:
        for root in (base, base / "src"):
            for candidate in (root.joinpath(*parts).with_suffix(".py"),
                              root.joinpath(*parts, "__main__.py")):
                if candidate.is_file():
                    return candidate
    return None


# --------------------------------------------------------------------------- one launch


class Script(Struct):
    path: str
    document: ParsedDocument | None  # the declared config (argparse defaults, ...)
    specs: list[ArgumentSpec]
    values: dict[str, Value]  # canonical, from the script alone (defaults and code facts)
    dialect: str
    closed: bool  # argparse rejects unknown options (parse_args on one known parser)
    allow_abbrev: bool
    text: str = ""
    hydra: tuple[str | None, str | None] | None = None
    nanogpt: bool = False
    add_help: bool = True  # argparse answers -h/--help itself (prints the usage, exits 0)


class _LaunchResolver:
    def __init__(self, launch_file: LaunchFile, launch: Launch, documents: DocumentSource,
                 scripts: dict[str, Script] | None = None) -> None:
        self.file = launch_file
        self.launch = launch
        self.documents = documents
        self.scripts = {} if scripts is None else scripts
        self.origin = launch.command.origin or launch_file.format
        self.bases = _base_dirs(launch_file.path, launch)
        self.problems: list[ArgumentProblem] = []
        self.notes: list[Note] = []
        self.sources: list[str] = []

    # ---- notes
    def _note(self, value: Value, message: str) -> None:
        self.notes.append(Note(value.path, value.span, message))

    # ---- the whole launch
    def resolve(self) -> EffectiveConfig:
        launch = self.launch
        script = self._script()
        arguments, overrides = self._arguments(script)
        configs = self._configs(script, arguments, overrides)
        values, raw, dialect = self._merge(script, arguments, configs, overrides)
        self._world(values)
        self._accelerate(values)
        view = ConfigView(self.file.path, dialect, values, raw)
        target = launch.target.value if launch.target is not None else "?"
        view.label = f"{self.file.path}:{launch.line} {launch.launcher} {target}"
        view.guessed = script is None and not self.sources
        return EffectiveConfig(launch, view, script.path if script else None, self.sources,
                               arguments, self.problems, self.notes, self.file.path)

    # ---- the target script
    def _script(self) -> Script | None:
        launch = self.launch
        if launch.module is not None:
            module = launch.module
            if not module.known:
                return None
            found = _find_module(str(module.value), self.bases)
            if found is None:
                if str(module.value) not in _NOT_TRAINING_MODULES and launch.words:
                    self._note(module, f"module '{module.value}' is not in this project; its "
                                       "flags are read without its argparse definitions")
                return None
        else:
            target = launch.script
            if target is None or not target.known:
                if target is not None:
                    self._note(target, "the script path is not known statically "
                                       f"({target.raw}); its flags are not checked")
                return None
            found = _find_file(str(target.value), self.bases)
            if found is None:
                self._note(target, f"script '{target.value}' not found (looked beside "
                                   f"{self.file.path} and in its parent folders); its "
                                   "defaults and flags are not checked")
                return None
            if found.suffix.lower() != ".py":
                return None
        path = _name_of(found)
        if path not in self.scripts:
            document = self.documents(path, ("python",))
            if document is None:
                self._note(launch.target, f"script '{path}' could not be read; its defaults "
                                          "and flags are not checked")
                return None
            self.scripts[path] = _script_info(path, document)
        self.sources.append(path)
        return self.scripts[path]

    # ---- argparse
    def _arguments(self, script: Script | None) -> tuple[list[ResolvedArgument], list[Word]]:
        if script is not None and script.specs and not script.nanogpt:
            parser = ArgparseReader(self.file, self.origin, script, self.problems)
            return parser.read(self.launch.words)
        return self._loose_arguments(script)

    def _loose_arguments(self, script: Script | None) -> tuple[list[ResolvedArgument],
                                                                 list[Word]]:
        """Flags of a script whose parser trainlint cannot see: paired by their look."""
        resolved: list[ResolvedArgument] = []
        overrides: list[Word] = []
        positional: list[Word] = []
        launch = self.launch
        known_defaults = {value.key: value for value in (
            script.document.entries if script and script.document else ())}
        for argument in shell.pair_arguments(launch, lambda flag: None):
            if argument.flag is None:
                word = self._word_at(argument.value)
                if word is not None and is_override(word.text):
                    overrides.append(word)
                elif word is not None:
                    positional.append(word)
                continue
            dest = shell.option_name(str(argument.flag.value))
            value = argument.value
            default = known_defaults.get(dest)
            if value is None:
                value = replace(argument.flag, value=True, key=dest, key_span=argument.flag.span)
            else:
                value = replace(value, key=dest, value=_loose_convert(value, default))
            resolved.append(ResolvedArgument(dest, replace(value, overrode=default),
                                             argument.flag))
        if script is not None and script.nanogpt:
            for word in positional:
                if word.text.endswith(".py"):
                    overrides.insert(0, word)  # a config/*.py file nanoGPT's configurator execs
        else:
            for word in positional:  # `train.py configs/x.yaml`: read as `sys.argv[1]`
                if word.text.lower().endswith(CONFIG_SUFFIXES):
                    overrides.insert(0, word)
                    break
        return resolved, overrides

    def _word_at(self, value: Value | None) -> Word | None:
        if value is None:
            return None
        for word in self.launch.words:
            if word.span == value.span or (word.span.start <= value.span.start
                                           and value.span.end <= word.span.end):
                return word
        return None

    # ---- config files
    def _configs(self, script: Script | None, arguments: list[ResolvedArgument],
                 overrides: list[Word]) -> list[ParsedDocument]:
        documents: list[ParsedDocument] = []
        given = {argument.dest for argument in arguments}
        candidates: list[tuple[Value, bool]] = []
        for argument in arguments:
            if _names_config(argument.dest) and _looks_like_config(argument.value):
                candidates.append((argument.value, True))
        if script is not None:
            for spec in script.specs:
                default = spec.default
                if spec.dest in given or default is None or not _names_config(spec.dest):
                    continue
                if _looks_like_config(default):
                    candidates.append((default, False))
        for word in list(overrides):
            if (word.text.endswith(".py") and script is not None and script.nanogpt) or (
                    word.text.lower().endswith(CONFIG_SUFFIXES) and not is_override(word.text)):
                overrides.remove(word)  # a config file given positionally
                candidates.append((shell.word_value(word, "config", self.file.path,
                                                    self.file.index, self.origin), True))
        for value, explicit in candidates:
            document = self._load_config(value, explicit)
            if document is not None:
                documents.append(document)
        if script is not None and script.hydra is not None:
            document = self._hydra_config(script, arguments)
            if document is not None:
                documents.append(document)
        return documents

    def _load_config(self, value: Value, explicit: bool) -> ParsedDocument | None:
        bases = self.bases if explicit or value.path == self.file.path else [
            Path(value.path).parent, *self.bases]
        found = _find_file(str(value.value), bases)
        if found is None:
            message = (f"config file '{value.value}' not found (looked beside {self.file.path} "
                       "and in its parent folders); its settings are not read")
            self._note(value, message if explicit else message.replace("config file",
                                                                        "default config file"))
            return None
        path = _name_of(found)
        document = self.documents(path)
        if document is None:
            self._note(value, f"config file '{path}' could not be parsed; its settings are "
                              "not read")
            return None
        self.sources.append(path)
        return document.config

    def _hydra_config(self, script: Script, arguments: list[ResolvedArgument]
                      ) -> ParsedDocument | None:
        config_path, config_name = script.hydra or (None, None)
        for argument in arguments:
            if argument.dest in ("config_name", "cn"):
                config_name = str(argument.value.value)
            elif argument.dest in ("config_path", "cp", "config_dir", "cd"):
                config_path = str(argument.value.value)
        if not config_name:
            return None
        name = config_name if config_name.endswith((".yaml", ".yml")) else f"{config_name}.yaml"
        folder = Path(script.path).parent / (config_path or ".")
        found = folder / name
        if not found.is_file():
            self.notes.append(Note(
                self.file.path, self.launch.span,
                f"Hydra config '{_name_of(found)}' not found; its settings are not read"))
            return None
        path = _name_of(found)
        loaded = self.documents(path)
        document = loaded.config if loaded is not None else None
        if document is not None:
            self.sources.append(path)
            if any(entry.key == "defaults" or entry.key.startswith("defaults.")
                   for entry in document.entries):
                self.notes.append(Note(
                    self.file.path, self.launch.span,
                    f"{path}: the Hydra defaults list is not composed; only this file is read"))
        return document

    # ---- merging
    def _merge(self, script: Script | None, arguments: list[ResolvedArgument],
               configs: list[ParsedDocument], overrides: list[Word]
               ) -> tuple[dict[str, Value], dict[str, Value], str]:
        flags = {argument.dest: argument.value for argument in arguments}
        from_launch = self._from_launch
        config_raw: dict[str, Value] = {}
        config_values: dict[str, Value] = {}
        config_dialect = None
        override_values = self._override_values(overrides, configs)
        for document in configs:
            patched = _patched(document, flags, override_values)
            views = build_views(patched)
            for entry in patched.entries:
                config_raw.setdefault(entry.key, entry)
            for view in views[:1]:
                config_dialect = config_dialect or view.dialect
                for name, value in view.values.items():
                    config_values[name] = value
        for key, value in override_values.items():
            config_raw.setdefault(key, value)

        dialect = script.dialect if script else (config_dialect or "generic")
        values: dict[str, Value] = dict(script.values) if script else {}
        defaults = _default_spans(script)
        effective = {dest: value for dest, value in config_raw.items()
                     if dest in defaults.values() and not from_launch(value)}
        effective.update(flags)
        # 1. Script defaults (and code that reads args.<dest>) take the dest's effective value.
        for name, value in list(values.items()):
            dest = defaults.get((value.path, value.span.start, value.span.end))
            if dest is not None and dest in effective:
                values[name] = _over(effective[dest], value)
        # 2. Config files replace defaults, never a flag.
        for name, value in config_values.items():
            current = values.get(name)
            if current is not None and from_launch(current) and not from_launch(value):
                continue
            if current is not None and value.value == "auto":
                continue  # DeepSpeed "auto": the HF Trainer fills it from its own arguments
            values[name] = _over(value, current)
        # 3. Flags, under the name the script's dialect gives their dest.
        for dest, value in flags.items():
            name = canonical_name(dialect, dest)
            if name is None and config_dialect:
                name = canonical_name(config_dialect, dest)
            if name is None:
                continue
            current = values.get(name)
            if current is not None and from_launch(current):
                if current.span == value.span or current.span.start > value.span.start:
                    continue
                current = value.overrode
            values[name] = _over(value, current)
        # 4. Overrides with no config file to land in: by their leaf name.
        if not configs:
            for key, value in override_values.items():
                name = canonical_name(dialect, key) or canonical_name(dialect,
                                                                      key.rsplit(".", 1)[-1])
                if name is not None:
                    values[name] = _over(value, values.get(name))
        raw: dict[str, Value] = {}
        if script is not None and script.document is not None:
            raw.update({entry.key: entry for entry in script.document.entries})
        raw.update(config_raw)
        raw.update(effective)
        if config_dialect and dialect == "generic":
            dialect = config_dialect
        return values, raw, dialect

    def _from_launch(self, value: Value) -> bool:
        return value.path == self.file.path and value.origin == self.origin

    def _override_values(self, overrides: list[Word], configs: list[ParsedDocument]
                         ) -> dict[str, Value]:
        result: dict[str, Value] = {}
        for word in overrides:
            text = word.text
            if not is_override(text):
                continue
            key, _, _raw_value = text.partition("=")
            key = key.lstrip("+")
            if key.startswith("~"):
                continue
            cut = text.index("=") + 1
            value = shell.word_value(word, key, self.file.path, self.file.index, self.origin,
                                     start=cut)
            key_value = shell.word_value(word, key, self.file.path, self.file.index,
                                         self.origin, end=cut - 1)
            result[key] = replace(value, value=_scalar(str(value.value)) if value.known
                                  else UNRESOLVED, key_span=key_value.span)
        return result

    # ---- world size and accelerate's config
    def _world(self, values: dict[str, Value]) -> None:
        launch = self.launch
        world = launch.world_size
        if world is None:
            return
        plain_python = launch.launcher == "python" and not launch.world_factors
        current = values.get("batch.world_size")
        if plain_python and current is not None:
            return
        values["batch.world_size"] = _over(world, current) if current is not None else world

    def _accelerate(self, values: dict[str, Value]) -> None:
        launch = self.launch
        if launch.launcher != "accelerate":
            return
        mixed = launch.world.get("mixed_precision")
        config_flag = launch.world.get("config_file")
        document = None
        if config_flag is not None and config_flag.known:
            document = self._load_config(config_flag, True)
        entries = {entry.key: entry for entry in document.entries} if document else {}
        if launch.world_size is None:
            processes = entries.get("num_processes")  # accelerate counts all machines' processes
            if processes is not None:
                values["batch.world_size"] = _over(replace(processes, key="batch.world_size"),
                                                   values.get("batch.world_size"))
            elif config_flag is None:
                self._note(launch.command, "accelerate launch without --num_processes or "
                                           "--config_file: the world size comes from the "
                                           "machine's default accelerate config, not known here")
        precision = mixed or entries.get("mixed_precision")
        if precision is not None and precision.known and str(precision.value) != "no":
            current = values.get("precision.mode")
            if current is None or id(current) != id(precision):
                values.setdefault("precision.mode", replace(precision, key="precision.mode"))
        accumulation = launch.world.get("gradient_accumulation_steps") or entries.get(
            "deepspeed_config.gradient_accumulation_steps")
        if accumulation is not None and "batch.grad_accum" not in values:
            values["batch.grad_accum"] = replace(accumulation, key="batch.grad_accum")


# --------------------------------------------------------------------------- script facts


def _script_info(path: str, document: Document) -> Script:
    text = document.text
    config = document.config
    specs = list(config.extra.get("arguments", [])) if config is not None else []
    values, dialect = document.own_settings()
    if "HfArgumentParser" in text:
        dialect = "hf"
    closed = bool(specs) and "ArgumentParser(" in text and not any(
        marker in text for marker in _OPEN_PARSERS) and not _options_made_elsewhere(
            document.script.tree)
    hydra = _hydra_main(document.script.tree) if "hydra" in text else None
    nanogpt = not specs and ("configurator.py" in text or "exec(open(" in text)
    return Script(path, config, specs, values, dialect, closed,
                   "allow_abbrev=False" not in text, text, hydra, nanogpt,
                   "add_help=False" not in text)


def _options_made_elsewhere(tree: ast.Module) -> bool:
    """The parser gets options this file does not spell out: an `add_argument` whose flag is
    computed (`f"--{prefix}.lr"` in a loop over prefixes), or the parser (or one of its
    groups) handed to a function this file does not define (`_add_tokenizer_args(parser)`
    imported from another module, `factory.build_group(parser)`), which may add options
    trainlint does not follow. Its option set is then not known, and an option it seems to
    lack is no finding."""
    parsers: set[str] = set()
    defined: set[str] = set()
    calls: list[ast.Call] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Call):
            calls.append(node)
            if called_name(node) == "add_argument":
                first = node.args[0] if node.args else None
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    return True
        elif isinstance(node, ast.Assign) and _makes_parser(node.value):
            parsers.update(target.id for target in node.targets if isinstance(target, ast.Name))
    if not parsers:
        return False
    _add_groups(tree, parsers)
    return any(_hands_on(call, parsers, defined) for call in calls)


_PARSER_MAKERS = frozenset({"ArgumentParser", "add_argument_group",
                            "add_mutually_exclusive_group"})
# builtins that take a parser without adding options to it
_INERT_CALLS = frozenset({"print", "isinstance", "id", "type", "repr", "str", "vars", "len",
                          "hasattr", "getattr"})


def _makes_parser(value: ast.AST) -> bool:
    return isinstance(value, ast.Call) and called_name(value) in _PARSER_MAKERS


def _add_groups(tree: ast.Module, parsers: set[str]) -> None:
    """Names bound to a group of a known parser (`group = parser.add_argument_group(...)`)."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and _makes_parser(node.value)
                and isinstance(node.value.func, ast.Attribute)
                and isinstance(node.value.func.value, ast.Name)
                and node.value.func.value.id in parsers):
            parsers.update(target.id for target in node.targets if isinstance(target, ast.Name))


def _hands_on(call: ast.Call, parsers: set[str], defined: set[str]) -> bool:
    """Whether `call` passes one of `parsers` to code this file does not define."""
    arguments = [*call.args, *(keyword.value for keyword in call.keywords)]
    if not any(isinstance(arg, ast.Name) and arg.id in parsers for arg in arguments):
        return False
    func = call.func
    if isinstance(func, ast.Name):
        return func.id not in defined and func.id not in _INERT_CALLS
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.attr in defined:
            return False  # `self.add_args(parser)`: a method of this file, its options read
        return func.value.id not in parsers  # `parser.parse_args(...)` adds nothing
    return True


def _hydra_main(tree: ast.Module) -> tuple[str | None, str | None] | None:
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            name = ast.unparse(decorator.func)
            if not name.endswith("hydra.main") and name != "main":
                continue
            found = {keyword.arg: keyword.value.value for keyword in decorator.keywords
                     if isinstance(keyword.value, ast.Constant)}
            return found.get("config_path"), found.get("config_name")
    return None


def _default_spans(script: Script | None) -> dict[tuple[str, int, int], str]:
    if script is None:
        return {}
    spans = {}
    for spec in script.specs:
        if spec.default is not None:
            spans[(spec.default.path, spec.default.span.start, spec.default.span.end)] = spec.dest
    return spans


# --------------------------------------------------------------------------- small helpers


def _same(first: Value, second: Value) -> bool:
    return first is second or (first.path == second.path and first.span == second.span)


def _over(new: Value, old: Value | None) -> Value:
    """`new` with `old` as the value it overrode (a chain: flag -> config -> default)."""
    if old is None:
        return new
    if _same(new, old):
        return old if new.overrode is None else new
    if new.overrode is None:
        return replace(new, overrode=old)
    if _same(new.overrode, old):
        return new
    if old.overrode is None and not _same(old, new.overrode):
        old = replace(old, overrode=new.overrode)  # a config value between a flag and a default
    return replace(new, overrode=old)


def _patched(document: ParsedDocument, flags: dict[str, Value],
             overrides: dict[str, Value]) -> ParsedDocument:
    """A copy of a config document with flags and `key=value` overrides in place of its keys."""
    if not flags and not overrides:
        return document
    entries = []
    for entry in document.entries:
        new = overrides.get(entry.key) or flags.get(entry.key)
        if isinstance(entry.value, (dict, list)):
            new = overrides.get(entry.key)
        entries.append(_over(replace(new, key=entry.key, document=entry.document), entry)
                       if new is not None else entry)
    existing = {entry.key for entry in document.entries}
    for key, value in overrides.items():
        if key not in existing:
            entries.append(value)
    copy = ParsedDocument(document.path, document.text, document.format, entries,
                          document.index, document.documents, None, dict(document.extra))
    return copy


def _names_config(dest: str) -> bool:
    return bool(_CONFIG_DEST.search(dest.lower()))


def _looks_like_config(value: Value) -> bool:
    return value.known and isinstance(value.value, str) and value.value.lower().endswith(
        CONFIG_SUFFIXES)


def _scalar(text: str) -> Any:
    """A Hydra/OmegaConf command-line value: numbers, booleans, null, else the string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return shell.to_number(text)


def _loose_convert(value: Value, default: Value | None) -> Any:
    """A flag value for a parser trainlint cannot see: typed like the default it replaces."""
    if not value.known:
        return UNRESOLVED
    text = str(value.value)
    lowered = text.lower()
    if default is not None and isinstance(default.value, bool) and lowered in ("1", "0"):
        return lowered == "1"
    if lowered in ("true", "false"):
        return lowered == "true"
    return shell.to_number(text)
