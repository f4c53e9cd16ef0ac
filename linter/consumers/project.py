"""Who reads each config file of a project: `ProjectConsumers`.

`ProjectConsumers.scan(root, python_files, read_text)` reads the project's Python files that
can load configs (a byte prefilter first, each file parsed once) into load sites; calls of
project helpers (`load_config(path)`) become sites where they are called, one level deep.
`for_config(path)` then links the file to its readers, in this order of trust:

1. consumer: a call site names the file (a path literal, an f-string / `os.path.join` /
   `Path /` with constant parts, a glob of its folder, the default of the argparse option the
   loader reads, a launcher flag fed in with `link()`), or a linked config includes it
   (Hydra defaults list, `_base_`, `_BASE_`, `!include`, HF `deepspeed:`);
2. framework: a file of a Hydra config dir that no defaults list names (a config group option
   the command line can select);
3. project: nothing names the file, but the project reads run-time config paths of its type
   with exactly one loader: the loader of its linked sibling files, else of the nearest folder
   above it whose scripts load a run-time config path, else of the whole project;
4. unknown: none of these. Rules stay quiet: unknown is never a guess.

Why one module (over 800 lines): the four linking steps above and the helper calls read and
extend the same per-project tables (sites, helpers, links, the loaders by folder); the file
readers are in `sites.py`, the loader table in `loaders.py`, schemas in `schema.py`.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from msgspec import Struct

from trainlint.consumers.includes import Include, includes_of
from trainlint.consumers.loaders import IGNORED, KEPT, LOADERS, RAISE, UNKNOWN, UNKNOWN_LOADER, Loader
from trainlint.consumers.paths import CONFIG_NAME, Hole, PathRef, normalize
from trainlint.consumers.paths import _merge as _merge_parts
from trainlint.consumers.schema import ProjectSchema
from trainlint.consumers.sites import NEEDLES, FileFacts, HelperDef, LoadSite, SchemaRef
from trainlint.formats.python.ast_index import called_name

__all__ = ["CallSite", "Consumer", "ProjectConsumers"]

CONFIG_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".py": "python"}
BASES = ("consumer", "framework", "project", "unknown")
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", "env",
              ".tox", ".nox", "build", "dist", ".mypy_cache", ".pytest_cache", ".ruff_cache",
              "site-packages", ".eggs"}
# loaders whose files can name other config files (defaults lists, _base_, !include, ...)
_INCLUDING_FAMILIES = frozenset({"mmengine", "yacs", "hydra", "hf", "trl", "hyperpyyaml", "draccus"})
_FOLDER = re.compile(r"(^|/)[^/*]+/")  # a literal folder name in a path part
_DEEPSPEED_FLAGS = ("--deepspeed", "--deepspeed_config", "--deepscale_config", "--ds_config")

ReadText = Callable[[str], "str | None"]


class CallSite(Struct, frozen=True):
    """A place in the project's code (or a launcher) that reads a config."""

    path: str
    line: int
    call: str  # "OmegaConf.load", "load_config -> yaml.safe_load", "--config of train.sh"

    def label(self, root: str = "") -> str:
        return f"{_shown(self.path, root)}:{self.line}"

    def label_beside(self, config: str) -> str:
        """`file:line`, the file relative to the folder it shares with `config` (the file it
        reads), as a rule's message names the reader."""
        try:
            root = os.path.commonpath([os.path.abspath(config), os.path.abspath(self.path)])
        except ValueError:  # another drive
            root = ""
        return self.label(root)


class Consumer(Struct):
    """How one config file is read: by which loader, from where, against which schema.

    `basis` is "consumer" (a call site or an include names the file), "framework" (a
    framework's convention: a Hydra config dir), "project" (the project's one loader for
    run-time configs of its type and folder) or "unknown" (nothing found: `loader` is
    UNKNOWN_LOADER and rules stay quiet)."""

    config: str
    basis: str
    loader: Loader
    sites: tuple[CallSite, ...] = ()
    schema: ProjectSchema | None = None
    via: str = ""  # how the link was found, in words
    unknown_keys: str = UNKNOWN  # raise | ignored | kept | unknown, with the schema applied
    converts_strings: bool = False  # '1e-4' reaches the code as 1e-4 (TL004 is moot)
    value_language: tuple[str, ...] = ()
    package: str | None = None  # Hydra: the key path this file's keys land under
    alternatives: tuple[Consumer, ...] = ()  # other readers with another loader or schema

    @property
    def known(self) -> bool:
        return self.basis != "unknown"

    def script_site(self) -> CallSite | None:
        """The first call site in a Python file: the reader a rule's message names."""
        return next((each for each in self.sites if each.path.endswith(".py")), None)


class _Reader(Struct):
    """One way a config is read, before readers are merged into a Consumer."""

    loader: str
    basis: str
    sites: tuple[CallSite, ...]
    via: str
    site: LoadSite | None = None  # the load site (schema, wrapper and file context)
    package: str | None = None
    hydra_root: str | None = None
    schema: SchemaRef | None = None


class ProjectConsumers:
    """The config readers of one project, found statically (never importing its code)."""

    _cache: dict[str, ProjectConsumers] = {}

    def __init__(self, root: str, read_text: ReadText) -> None:
        self.root = normalize(os.path.abspath(root))
        self.read_text = read_text
        self.python_files: list[str] = []
        self.config_files: list[str] = []
        self.facts: dict[str, FileFacts] = {}
        self.sites: list[LoadSite] = []
        self.helpers: list[HelperDef] = []
        self._texts: dict[str, str | None] = {}
        self._readers: dict[str, list[_Reader]] | None = None
        self._links: list[tuple[str, _Reader]] = []
        self._consumers: dict[str, Consumer] = {}
        self._schemas: Any = None
        self._imports: dict[str, set[str]] = {}  # file -> the modules it imports
        self._reached: dict[tuple[str, int], set[str]] = {}  # (script, depth) -> files reached
        self.parsed = 0  # Python files whose load sites the scan read
        self.read = 0  # Python files read by the scan

    # -- building ----------------------------------------------------------------------------------
    @classmethod
    def scan(cls, root: str, python_files: Iterable[str], read_text: ReadText | None = None,
             config_files: Iterable[str] | None = None,
             parse: Callable[[str, str], Any] | None = None, cache: bool = True) -> ProjectConsumers:
        """Read the load sites of a project's Python files (cached per root).

        `read_text(path)` returns a file's text or None (the engine passes its reader, with
        its size and file-type limits); `config_files` lists the project's config files
        (walked from `root` when not given); `parse(path, text)` may hand back a
        ParsedScript the caller already has."""
        key = normalize(os.path.abspath(root))
        if cache and key in cls._cache:
            return cls._cache[key]
        project = cls(key, read_text or _read_text)
        python = [normalize(os.path.abspath(p)) for p in python_files]
        if config_files is None:
            configs = list(_walk_configs(key))
        else:
            configs = [normalize(os.path.abspath(p)) for p in config_files]
        project.python_files = sorted(set(python))
        project.config_files = sorted(set(configs))
        project._read_sites(parse)
        if cache:
            cls._cache[key] = project
        return project

    @classmethod
    def clear_cache(cls) -> None:
        cls._cache.clear()

    def _text(self, path: str) -> str | None:
        if path not in self._texts:
            try:
                self._texts[path] = self.read_text(path)
            except (OSError, UnicodeDecodeError, ValueError):
                self._texts[path] = None
        return self._texts[path]

    def _read_sites(self, parse) -> None:
        self.read += len(self.python_files)
        for path, facts in zip(self.python_files, self._each_file(
                self.python_files, lambda path: self._facts_if_loading(path, parse), parse)):
            if facts is None:
                continue
            self.parsed += 1
            self.facts[path] = facts
            self.helpers.extend(facts.helpers)
        for facts in self.facts.values():
            self.sites.extend(facts.sites)
        if self.helpers:
            self._read_helper_calls(parse)
        self._texts = {path: text for path, text in self._texts.items()
                       if not path.endswith(".py")}

    def _each_file(self, paths: list[str], read: Callable[[str], Any], parse) -> list:
        """`[read(path) for path in paths]`, on every usable core when the files are many
        (the scan runs before the check forks, and would otherwise hold the other cores
        idle: reading and testing the text of every file too); in this process when the
        caller hands its own parsed scripts."""
        from trainlint import parallel

        if parse is not None:
            return [read(path) for path in paths]
        return parallel.map_scan(read, paths, parallel.file_sizes(paths))

    def _facts_if_loading(self, path: str, parse) -> FileFacts | None:
        """The facts of a file that names a loader (NEEDLES); None for the others."""
        text = self._text(path)
        if text is None or not any(needle in text for needle in NEEDLES):
            return None
        return self._facts_of(path, parse)

    def _facts_of(self, path: str, parse) -> FileFacts | None:
        reader = self._file_reader(path, self._texts[path], parse)
        if reader is None:
            return None
        if parse is None:
            reader.script.release()  # the scan's own parse: its tree is freed now
        return reader.facts

    def _file_reader(self, path: str, text: str, parse):
        from trainlint.consumers.sites import FileReader
        from trainlint.formats.python.ast_index import ParsedScript

        try:
            script = parse(path, text) if parse is not None else None
            if script is None:
                script = ParsedScript.parse(path, text)
            reader = FileReader(script, self.module_of(path))
            reader.read()
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        return reader

    def _read_helper_calls(self, parse) -> None:
        """Calls of project helpers become load sites at the caller (one level)."""
        by_name: dict[str, list[HelperDef]] = {}
        for helper in self.helpers:
            by_name.setdefault(helper.name.rsplit(".", 1)[-1], []).append(helper)
        evidence = [self._call_evidence(helper) for helper in self.helpers]

        def calls_of(path: str) -> tuple[FileFacts | None, list[LoadSite]]:
            text = self._text(path)
            if text is None or not any(
                    path == file or (call in text and any(word in text for word in words))
                    for file, call, words in evidence):
                return None, []  # it cannot call a helper
            return self._helper_calls_in(path, by_name, parse)

        found = self._each_file(self.python_files, calls_of, parse)
        for path, (facts, sites) in zip(self.python_files, found):
            if facts is not None:
                self.facts.setdefault(path, facts)
            self.sites.extend(sites)

    def _helper_calls_in(self, path: str, by_name: dict[str, list[HelperDef]],
                         parse) -> tuple[FileFacts | None, list[LoadSite]]:
        """The file's facts and the load sites its calls of project helpers make."""
        reader = self._file_reader(path, self._texts[path], parse)
        if reader is None:
            return None, []
        sites = []
        for call in reader.script.calls:
            name = called_name(call)
            if name not in by_name:
                continue
            for helper in self._helpers_for(reader, call, by_name[name]):
                if helper.file == path and helper.site.line == call.lineno:
                    continue
                site = reader.helper_site(call, helper)
                if site is not None:
                    sites.append(site)
        if parse is None:
            reader.script.release()
        return reader.facts, sites

    def _call_evidence(self, helper: HelperDef) -> tuple[str, str, tuple[str, ...]]:
        """Text a file must hold to call `helper` from outside its own file: the call, and
        the name of its module (an import) or of its class (an object made from it)."""
        if "." in helper.name:
            cls, _, method = helper.name.rpartition(".")
            return helper.file, f".{method}(", (cls,)
        module = (self.module_of(helper.file) or "").rpartition(".")[2]
        name = helper.name
        words = (f"import {name}", f" {name},", f" {name}\n", f"{module}.{name}(")
        return helper.file, f"{helper.name}(", words

    def _helpers_for(self, reader, call: ast.Call, candidates: list[HelperDef]) -> list[HelperDef]:
        """The helper loads a call runs: a def of the same file, an imported project function,
        or a method of a project class the receiver was made from (a helper may load twice)."""
        func = call.func
        if isinstance(func, ast.Name):
            local = [h for h in candidates if h.file == reader.script.path and h.name == func.id]
            if local:
                return local
        target = reader.qualname(func)
        if target is None and isinstance(func, ast.Attribute):
            cls = reader.receiver_class(func.value)
            if cls is None:
                return []
            if ":" in cls:
                file, _, class_name = cls.rpartition(":")
                files = [file]
            else:
                module, _, class_name = cls.rpartition(".")
                files = self.files_of_module(module)
            name = f"{class_name}.{func.attr}"
            for file in files:
                found = [h for h in candidates if h.file == file and h.name == name]
                if found:
                    return found
            return []
        if target is None:
            return []
        module, _, function = target.rpartition(".")
        for file in self.files_of_module(module):
            found = [h for h in candidates if h.file == file and h.name == function]
            if found:
                return found
        return []

    # -- modules -----------------------------------------------------------------------------------
    def module_of(self, path: str) -> str | None:
        relative = posixpath.relpath(path, self.root)
        if relative.startswith(".."):
            return None
        module = relative[:-3] if relative.endswith(".py") else relative
        module = module.replace("/", ".")
        return module.removesuffix(".__init__")

    def files_of_module(self, module: str) -> list[str]:
        """Project files a dotted module name can be (`pkg.utils` matches `src/pkg/utils.py`
        and `pkg/utils/__init__.py`)."""
        if not module:
            return []
        index = self._module_index()
        return index.get(module, [])

    def _module_index(self) -> dict[str, list[str]]:
        index = getattr(self, "_modules", None)
        if index is None:
            index = {}
            for path in self.python_files:
                module = self.module_of(path)
                if module is None:
                    continue
                parts = module.split(".")
                for start in range(len(parts)):
                    index.setdefault(".".join(parts[start:]), []).append(path)
            self._modules = index
        return index

    # -- the public questions ----------------------------------------------------------------------
    def for_config(self, path: str) -> Consumer | None:
        """The consumer of a config file (basis "unknown" when none is found); None for a
        path that is not a config file of this project."""
        path = normalize(os.path.abspath(path))
        if _kind_of(path) is None:
            return None
        if path in self._consumers:
            return self._consumers[path]
        readers = self._all_readers()
        found = readers.get(path)
        if not found:
            found = self._framework_or_project(path, readers)
        consumer = self._consumer(path, found)
        self._consumers[path] = consumer
        return consumer

    def describe(self, path: str) -> str:
        """One line: "read by `train.py:42` via `OmegaConf.load`; schema `TrainConfig`
        (`config.py:17`)"."""
        consumer = self.for_config(path)
        if consumer is None:
            return "not a config file"
        if not consumer.known:
            return f"no reader found ({consumer.via or 'no code of this project names it'})"
        where = ", ".join(f"`{site.label(self.root)}`" for site in consumer.sites[:3])
        more = f" (+{len(consumer.sites) - 3} more)" if len(consumer.sites) > 3 else ""
        text = f"read by {where}{more} via `{consumer.loader.display}`"
        if consumer.basis != "consumer":
            text += f" ({consumer.basis}: {consumer.via})"
        elif consumer.via:
            text += f" ({consumer.via})"
        if consumer.schema is not None:
            text += f"; schema `{consumer.schema.name}`"
            if consumer.schema.path:
                text += f" (`{_shown(consumer.schema.path, self.root)}:{consumer.schema.line}`)"
        if consumer.alternatives:
            others = ", ".join(f"`{alt.loader.display}`" for alt in consumer.alternatives)
            text += f"; also read via {others}"
        return text

    def hydra_root(self, path: str) -> str | None:
        """The config dir of the Hydra app whose primary config (`config_name`) `path` is, or
        None: what `show` composes the defaults list from."""
        path = normalize(os.path.abspath(path))
        for reader in self._all_readers().get(path, ()):
            if reader.loader == "hydra" and reader.hydra_root and reader.via.startswith("config_name"):
                return reader.hydra_root
        return None

    def consumers(self) -> dict[str, Consumer]:
        """The consumer of every config file of the project."""
        return {path: self.for_config(path) for path in self.config_files}  # type: ignore[misc]

    def link(self, config_path: str, script_path: str | None = None, flag: str | None = None,
             *, loader: str | None = None, site: tuple[str, int] | None = None) -> Consumer | None:
        """Feed in a link a launcher makes: `python train.py --config x.yaml` is
        `link("x.yaml", "train.py", "--config", site=("train.sh", 3))`; a positional file is
        `flag=None` (sys.argv[1]) or the positional's dest; a framework CLI that reads the
        file itself passes `loader=` ("accelerate", "deepspeed"). Returns the consumer the
        config then has, or None when the script reads no config from that flag."""
        config = normalize(os.path.abspath(config_path))
        launcher = None
        if site is not None:
            launcher = CallSite(normalize(os.path.abspath(site[0])), site[1], flag or "argument")
        reader = self._launch_reader(config, script_path, flag, loader, launcher)
        if reader is None:
            return None
        self._links.append((config, reader))
        self._by_folder = None
        if self._readers is not None:
            self._readers.setdefault(config, []).append(reader)
            self._add_includes({config}, self._readers)
        self._consumers.clear()
        return self.for_config(config)

    def config_flags(self, script_path: str) -> dict[str, Loader]:
        """The options of a script whose value is a config file a loader reads (`--config`,
        `--config_path`, `argv[1]`), with that loader: what a launcher link needs."""
        script = normalize(os.path.abspath(script_path))
        flags: dict[str, Loader] = {}
        for load in self._sites_of(script):
            hole = load.path.open_hole if load.path is not None else None
            if hole is None:
                continue
            if hole.kind == "arg":
                facts = self.facts.get(script)
                argument = facts.arguments.get(hole.name) if facts else None
                for flag in (argument.flags if argument and argument.flags else (f"--{hole.name}",)):
                    flags[flag] = LOADERS.get(load.loader, UNKNOWN_LOADER)
            elif hole.kind == "argv":
                flags[f"argv[{hole.name}]"] = LOADERS.get(load.loader, UNKNOWN_LOADER)
        return flags

    # -- readers -----------------------------------------------------------------------------------
    def _all_readers(self) -> dict[str, list[_Reader]]:
        if self._readers is None:
            readers: dict[str, list[_Reader]] = {}
            configs = self._known_files()
            for load in self.sites:
                for path, via in self._named(load, configs):
                    readers.setdefault(path, []).append(self._site_reader(load, via))
            for facts in self.facts.values():
                for hydra in facts.hydra:
                    self._hydra_readers(hydra, facts, readers)
            for config, reader in self._links:
                readers.setdefault(config, []).append(reader)
            self._add_includes(set(readers), readers)
            self._readers = readers
        return self._readers

    def _site_reader(self, load: LoadSite, via: str) -> _Reader:
        sites = (CallSite(load.file, load.line, load.call),) + tuple(
            CallSite(file, line, call) for file, line, call in load.via)
        return _Reader(load.loader, "consumer", sites, via, load, schema=load.schema)

    def _named(self, load: LoadSite, configs: set[str]) -> list[tuple[str, str]]:
        """The config (or Python config) files a load site names, with how."""
        ref = load.path
        if ref is None:
            return []
        found: list[tuple[str, str]] = []
        literal = ref.literal
        if literal is not None:
            path = self._resolve(literal, ref.anchor, load.file)
            if path is not None:
                found.append((path, f"path `{literal}`"))
            return found
        # arguments with a default that names a file
        facts = self.facts.get(load.file)
        defaults = {}
        for hole in ref.holes:
            if hole.kind == "arg" and facts is not None:
                argument = facts.arguments.get(hole.name)
                if argument is not None and argument.default is not None:
                    defaults[hole.name] = argument.default
        if defaults:
            filled = _fill_args(ref, defaults)
            text = filled.literal
            if text is not None:
                path = self._resolve(text, filled.anchor, load.file)
                if path is not None:
                    flag = next(iter(defaults))
                    found.append((path, f"default of `--{flag}`"))
        if ref.open_hole is None:
            spec = LOADERS.get(load.loader, UNKNOWN_LOADER)
            for path in self._matching(ref, load.file, configs):
                # a pattern without a literal suffix names only files its loader reads
                if ref.suffix is None and _kind_of(path) not in spec.formats:
                    continue
                found.append((path, f"path pattern `{ref.describe()}`"))
        return found

    def _resolve(self, text: str, anchor: str, source: str) -> str | None:
        """The config file a literal path names, looked for where the code's working
        directory can be: beside the calling file and in each folder above it."""
        configs = self._known_files()
        if anchor == "abs":
            path = normalize(os.path.expanduser(text))
            return path if path in configs else None
        folder = posixpath.dirname(source)
        if anchor == "file":
            text = text.replace("<self>/", "").replace("<self>", "")
            path = normalize(posixpath.join(folder, text))
            return path if path in configs else None
        for base in _ancestors(folder, self.root):
            path = normalize(posixpath.join(base, text))
            if path in configs:
                return path
        return None

    def _matching(self, ref: PathRef, source: str, configs: set[str]) -> list[str]:
        """Config files a path with holes can name. A path that starts with a hole must
        still name a folder literally (`{root}/configs/{name}.yaml`)."""
        parts = list(ref.parts)
        leading = bool(parts) and isinstance(parts[0], Hole)
        if leading:
            while parts and isinstance(parts[0], Hole):
                parts.pop(0)
            # a path that starts with a run-time value must still name a folder and a file
            # type literally: `{root}/configs/{name}.yaml`, not `{dir}/*/{name}`
            if not any(isinstance(p, str) and _FOLDER.search(p) for p in parts) or ref.suffix is None:
                return []
            pattern = PathRef("cwd", tuple(parts)).regex()
            return sorted(path for path in configs if path.startswith(self.root + "/")
                          and pattern.search(path[len(self.root):]) is not None
                          and _ends_at(pattern, path[len(self.root):]))
        if ref.anchor == "file":
            cleaned = tuple(p.replace("<self>/", "").replace("<self>", "") if isinstance(p, str) else p
                            for p in parts)
            bases = [posixpath.dirname(source)]
            parts = list(cleaned)
        elif ref.anchor == "cwd":
            bases = list(_ancestors(posixpath.dirname(source), self.root))
        else:
            return []
        found: list[str] = []
        ordered = self._sorted_known()
        lead = parts[0] if parts and isinstance(parts[0], str) else ""
        rest = parts[1:] if lead else parts
        for base in bases:
            joined = base.rstrip("/") + "/" + lead
            head = normalize(joined) + ("/" if joined.endswith("/") else "")
            pattern = PathRef("cwd", _merge_parts((head, *rest))).regex()
            prefix = head if head.endswith("/") else posixpath.dirname(head) + "/"
            start = bisect_left(ordered, prefix)
            hits = []
            for path in ordered[start:]:
                if not path.startswith(prefix):
                    break
                if pattern.fullmatch(path):
                    hits.append(path)
            if hits:
                found = hits
                break
        return sorted(found)

    def _sorted_known(self) -> list[str]:
        ordered = getattr(self, "_ordered", None)
        if ordered is None:
            ordered = self._ordered = sorted(self._known_files())
        return ordered

    # -- hydra -------------------------------------------------------------------------------------
    def _hydra_readers(self, hydra, facts: FileFacts, readers: dict[str, list[_Reader]]) -> None:
        folder = self._hydra_dir(hydra)
        if folder is None or hydra.config_name is None:
            return
        name = hydra.config_name
        file_name = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
        primary = normalize(posixpath.join(folder, file_name))
        call = "@hydra.main" if hydra.kind == "main" else "hydra.compose"
        site = CallSite(hydra.file, hydra.line, call)
        schema = self._hydra_schema(facts, primary, name)
        reader = _Reader("hydra", "consumer", (site,), f"config_name `{name}`", None, "",
                         folder, schema)
        if primary in set(self.config_files):
            readers.setdefault(primary, []).append(reader)
        self._hydra_dirs().append((folder, site, name))

    def _hydra_dir(self, hydra) -> str | None:
        if hydra.config_dir is not None:
            text = hydra.config_dir.literal
            if text is None:
                return None
            if hydra.config_dir.anchor == "file":
                folder = posixpath.dirname(hydra.file)
                return normalize(posixpath.join(folder, text.replace("<self>", ".")))
            if hydra.config_dir.anchor == "abs":
                return normalize(text)
            for base in _ancestors(posixpath.dirname(hydra.file), self.root):
                candidate = normalize(posixpath.join(base, text))
                if any(p.startswith(candidate + "/") for p in self.config_files):
                    return candidate
            return None
        if hydra.module:
            relative = hydra.module.replace(".", "/")
            for path in self.config_files:
                index = path.find("/" + relative + "/")
                if index != -1:
                    return path[:index + len(relative) + 1]
        return None

    def _hydra_dirs(self) -> list:
        dirs = getattr(self, "_hydra_folders", None)
        if dirs is None:
            dirs = self._hydra_folders = []
        return dirs

    def _hydra_schema(self, facts: FileFacts, primary: str, name: str) -> SchemaRef | None:
        """A structured config stored in the ConfigStore under the primary config's name or
        named in its defaults list."""
        stores = [entry for f in self.facts.values() for entry in f.stores if entry.group is None]
        if not stores:
            return None
        names = {name}
        text = self._config_text(primary)
        if text:
            from trainlint.consumers.includes import _compose, _mapping_get

            root = _compose(text, primary)
            defaults = _mapping_get(root, "defaults")
            if defaults is not None and defaults.id == "sequence":
                names.update(item.value for item in defaults.value if item.id == "scalar")
        for entry in stores:
            if entry.name in names:
                return SchemaRef("structured", (entry.node,), line=entry.line)
        return None

    # -- includes ----------------------------------------------------------------------------------
    def _add_includes(self, start: set[str], readers: dict[str, list[_Reader]]) -> None:
        queue = sorted(start)
        seen = set(queue)
        configs = self._known_files()
        while queue:
            path = queue.pop(0)
            for reader in list(readers.get(path, ())):
                if reader.basis != "consumer":
                    continue
                family = LOADERS.get(reader.loader, UNKNOWN_LOADER).family
                if family not in _INCLUDING_FAMILIES:
                    continue
                text = self._config_text(path)
                if not text:
                    continue
                for include in includes_of(path, text, family, reader.hydra_root):
                    target = self._include_target(include, path, configs)
                    if target is None:
                        continue
                    readers.setdefault(target, []).append(self._include_reader(include, reader, path))
                    if target not in seen:
                        seen.add(target)
                        queue.append(target)

    def _include_target(self, include: Include, source: str, configs: set[str]) -> str | None:
        if include.kind == "deepspeed":
            return self._resolve(include.path, "cwd", source)
        return include.path if include.path in configs else None

    def _include_reader(self, include: Include, reader: _Reader, source: str) -> _Reader:
        shown = _shown(source, self.root)
        if include.kind == "deepspeed":
            return _Reader("deepspeed", "consumer", reader.sites, f"`deepspeed:` of {shown}",
                           None)
        via = {"defaults": f"defaults list of {shown} (`{include.key}`)",
               "base": f"`{include.key}` of {shown}",
               "include": f"`{include.key}` in {shown}"}[include.kind]
        package = include.package if include.kind == "defaults" else reader.package
        # a group file's keys land under its package: the root schema does not apply there
        schema = reader.schema if (include.kind != "defaults" or not package) else None
        site = reader.site if schema is reader.schema else None
        return _Reader(reader.loader, "consumer", reader.sites, via, site, package,
                       reader.hydra_root, schema)

    def _config_text(self, path: str) -> str | None:
        return self._text(path)

    def _known_files(self) -> set[str]:
        """Files a link may name: the config files and the Python files (Python configs)."""
        known = getattr(self, "_known", None)
        if known is None:
            known = self._known = set(self.config_files) | set(self.python_files)
        return known

    # -- framework and project fallbacks -----------------------------------------------------------
    def _framework_or_project(self, path: str, readers: dict[str, list[_Reader]]) -> list[_Reader]:
        self._all_readers()
        if path.endswith((".yaml", ".yml")):
            for folder, site, name in self._hydra_dirs():
                if path.startswith(folder + "/"):
                    group = posixpath.dirname(posixpath.relpath(path, folder))
                    return [_Reader("hydra", "framework", (site,),
                                    f"in the Hydra config dir of `{name}`"
                                    + (f", group `{group}`" if group else ""), None,
                                    group.replace("/", ".") if group else "", folder)]
        return self._project_readers(path, readers)

    def _project_readers(self, path: str, readers: dict[str, list[_Reader]]) -> list[_Reader]:
        kind = _kind_of(path)
        relative = posixpath.relpath(path, self.root)
        if kind is None or relative.startswith("..") or "/" not in relative:
            return []  # root-level files (tool configs) are never guessed
        if any(part.startswith(".") for part in relative.split("/")) or _is_test_path(relative):
            return []
        if kind == "python" and not self._looks_like_config(path):
            return []
        folder = posixpath.dirname(path)
        # 1. the linked files beside it (a wider circle of "linked files under a folder"
        #    was measured wrong too often: examples/ and src/ trees mix unrelated readers)
        linked = [reader for other, found in self._readers_by_folder(readers).get(folder, ())
                  if other != path and _kind_of(other) == kind
                  for reader in found if reader.basis == "consumer"]
        # a test that reads the files says less about the run than the code that trains
        trained = [reader for reader in linked if not all(
            _is_test_path(posixpath.relpath(site.path, self.root)) for site in reader.sites)]
        if trained or linked:
            return self._agreed(trained or linked,
                                f"the files beside it in `{_shown(folder, self.root)}/` are read so")
        # 2. the scripts of the nearest folder above it that load a run-time config path,
        #    when a folder on the way says it holds configs (`configs/`, `hparams/`)
        candidates, sites_by_folder = self._runtime_sites(kind)
        for base in _ancestors(folder, self.root):
            local = sites_by_folder.get(base)
            if local:
                if not _names_a_config(posixpath.relpath(path, base)):
                    return []
                where = "the project root" if base == self.root else f"`{_shown(base, self.root)}/`"
                return self._sole_kind(local, f"the scripts of {where}", kind)
        return []

    def _agreed(self, linked: list[_Reader], where: str) -> list[_Reader]:
        """One project-basis reader when the linked files agree on how they are read."""
        kinds = {_reader_kind(reader) for reader in linked}
        if len(kinds) != 1:
            return []
        first = linked[0]
        return [_Reader(first.loader, "project", _unique_sites(linked), where, first.site,
                        first.package, first.hydra_root, first.schema)]

    def _readers_by_folder(self, readers: dict[str, list[_Reader]]) -> dict[str, list]:
        index = getattr(self, "_by_folder", None)
        if index is None or index[0] != len(readers):
            grouped: dict[str, list] = {}
            for other, found in readers.items():
                grouped.setdefault(posixpath.dirname(other), []).append((other, found))
            index = self._by_folder = (len(readers), grouped)
        return index[1]

    def _runtime_sites(self, kind: str) -> tuple[list[LoadSite], dict[str, list[LoadSite]]]:
        """The load sites that read a run-time config path of type `kind` (tests left out),
        and the same grouped by the folder of their file."""
        cache = getattr(self, "_runtime", None)
        if cache is None:
            cache = self._runtime = {}
        if kind not in cache:
            loads = [load for load in self.sites if _reads_runtime(load, kind)
                     and not _is_test_path(posixpath.relpath(load.file, self.root))]
            by_folder: dict[str, list[LoadSite]] = {}
            for load in loads:
                by_folder.setdefault(posixpath.dirname(load.file), []).append(load)
            cache[kind] = (loads, by_folder)
        return cache[kind]

    def _sole_kind(self, loads: list[LoadSite], where: str, kind: str) -> list[_Reader]:
        """The readers when every load of these scripts reads the same way. A call that reads
        the file with two loaders (a YAML peek, then `merge_from_file`) counts as one way."""
        by_call: dict[tuple[str, int], set[tuple]] = {}
        for load in loads:
            by_call.setdefault((load.file, load.line), set()).add((load.loader, load.wrapper))
        if len({frozenset(kinds) for kinds in by_call.values()}) != 1:
            return []
        found: list[_Reader] = []
        for loader, wrapper in sorted(next(iter(by_call.values())), key=str):
            same = [load for load in loads if (load.loader, load.wrapper) == (loader, wrapper)]
            first = same[0]
            sites = tuple(dict.fromkeys(CallSite(l.file, l.line, l.call) for l in same))
            # the schema is known only when every site applies the same one
            schema = first.schema if len({load.schema for load in same}) == 1 else None
            found.append(_Reader(loader, "project", sites,
                                 f"the only {kind.upper() if kind != 'python' else 'Python config'} "
                                 f"loader of {where} for a run-time path", first, schema=schema))
        return found

    def _looks_like_config(self, path: str) -> bool:
        """A Python file that only assigns values (and imports / `_base_`): a config module."""
        text = self._text(path)
        if not text or "def " in text and "_base_" not in text:
            return False
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            return False
        return not any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If,
                                      ast.For, ast.While)) for s in tree.body)

    # -- launchers ---------------------------------------------------------------------------------
    def _launch_reader(self, config: str, script_path: str | None, flag: str | None,
                       loader: str | None, launcher: CallSite | None) -> _Reader | None:
        shown_flag = flag or "its first argument"
        via = shown_flag
        if launcher is not None:
            via = f"{shown_flag} of {_shown(launcher.path, self.root)}:{launcher.line}"
        launch_sites = (launcher,) if launcher else ()
        if loader is not None:
            return _Reader(loader, "consumer", launch_sites, via)
        if script_path is None:
            return None
        script = normalize(os.path.abspath(script_path))
        dest = _dest_of(flag)
        if dest is None:  # the first positional: sys.argv[1], or the first positional option
            facts = self.facts.get(script)
            positional = [a.dest for a in facts.arguments.values()
                          if a.flags and not a.flags[0].startswith("-")] if facts else []
            dest = None if not positional else positional[0]
            loads = [load for load in self._sites_of(script)
                     if _reads_flag(load, None) or (dest is not None and _reads_flag(load, dest))]
        else:
            loads = [load for load in self._sites_of(script) if _reads_flag(load, dest)]
        if not loads and dest is not None:
            # the option is read in a module the script imports (`Trainer(args)`), up to three
            # imports away: never a module the script does not reach
            reached = self._reached_from(script)
            loads = [load for load in self.sites if _reads_flag(load, dest) and load.file in reached]
            if len({(l.loader, l.wrapper) for l in loads}) != 1:
                loads = []
        if loads:
            load = loads[0]
            sites = launch_sites + tuple(CallSite(l.file, l.line, l.call) for l in loads)
            return _Reader(load.loader, "consumer", sites, via, load, schema=load.schema)
        if flag in _DEEPSPEED_FLAGS and self._uses_deepspeed(script):
            return _Reader("deepspeed", "consumer", launch_sites, via)
        return None

    def _reached_from(self, script: str, depth: int = 3) -> set[str]:
        """The project files a script imports, directly or through up to two more modules (package
        `__init__` files, which re-export, are not counted as a hop)."""
        key = (script, depth)
        if key in self._reached:
            return self._reached[key]
        reached: set[str] = set()
        self._reached[key] = reached
        frontier = [script]
        for _ in range(depth):
            following = []
            while frontier:
                path = frontier.pop()
                for module in self._imported_modules(path):
                    for file in self.files_of_module(module):
                        if file in reached:
                            continue
                        reached.add(file)
                        # a package's __init__ only re-exports: its imports are the same hop
                        (frontier if file.endswith("/__init__.py") else following).append(file)
            frontier = following
        return reached

    def _imported_modules(self, path: str) -> set[str]:
        if path not in self._imports:
            self._imports[path] = self._read_imports(path)
        return self._imports[path]

    def _read_imports(self, path: str) -> set[str]:
        facts = self.facts.get(path)
        if facts is not None:
            table = facts.imports
        else:
            text = self._text(path)
            if text is None:
                return set()
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return set()
            from trainlint.consumers.sites import _imports

            table = _imports(tree, self.module_of(path), path.endswith("__init__.py"))
        modules = set()
        for target in table.values():
            modules.add(target)
            modules.add(target.rpartition(".")[0])  # `from pkg.mod import name`
        modules.discard("")
        return modules

    def _sites_of(self, script: str) -> list[LoadSite]:
        """The loads a script makes, with those of the files it runs with
        `exec(open(file).read())` (nanoGPT's configurator)."""
        loads = [load for load in self.sites if load.file == script]
        for load in list(loads):
            if load.loader == "python.exec" and load.path is not None and load.path.literal:
                ran = self._resolve(load.path.literal, load.path.anchor, script)
                if ran is not None and ran != script:
                    loads.extend(other for other in self.sites if other.file == ran)
        return loads

    def _uses_deepspeed(self, script: str) -> bool:
        text = self._text(script)
        return bool(text) and any(word in text for word in (
            "deepspeed", "TrainingArguments", "HfArgumentParser", "TrlParser", "Trainer"))

    # -- consumers ---------------------------------------------------------------------------------
    def _consumer(self, path: str, readers: list[_Reader]) -> Consumer:
        if not readers:
            return Consumer(path, "unknown", UNKNOWN_LOADER, via=self._unknown_reason(path))
        groups: dict[tuple, list[_Reader]] = {}
        for reader in sorted(readers, key=lambda r: _rank(r, self.root)):
            groups.setdefault(_reader_kind(reader), []).append(reader)
        built = [self._from_group(path, group) for group in groups.values()]
        primary, *others = built
        primary.alternatives = tuple(others)
        return primary

    def _from_group(self, path: str, group: list[_Reader]) -> Consumer:
        first = group[0]
        spec = LOADERS.get(first.loader, UNKNOWN_LOADER)
        schema = self.schema_for(first) if first.schema is not None else None
        unknown_keys, converts = self._policy(first, spec, schema)
        language = spec.value_language
        sites = _unique_sites(group)
        return Consumer(path, first.basis, spec, sites, schema, first.via, unknown_keys,
                        converts, language, first.package)

    def _policy(self, reader: _Reader, spec: Loader, schema: ProjectSchema | None) -> tuple[str, bool]:
        """What happens to unknown keys, and whether strings are converted, once the
        wrapper and schema the code applies are known."""
        wrapper = reader.site.wrapper if reader.site is not None else None
        ref = reader.schema
        if wrapper in ("argparse.set_defaults", "argparse.namespace", "dacite"):
            wrapped = LOADERS[wrapper]
            if wrapper == "dacite" and ref is not None and ref.strict:
                return RAISE, False
            return wrapped.unknown_keys, wrapped.converts_strings
        if wrapper == "structured" or (ref is not None and ref.kind == "structured"):
            return RAISE, True
        if wrapper == "hf" or (ref is not None and ref.kind == "hf"):
            return (IGNORED if ref is not None and ref.allow_extra else RAISE), spec.converts_strings
        if wrapper == "class" or (ref is not None and ref.kind == "class"):
            if schema is None:
                return UNKNOWN, False
            part = schema.parts[0]
            if part.kind == "pydantic":
                extra = part.extra or "ignore"
                return {"forbid": RAISE, "allow": KEPT}.get(extra, IGNORED), True
            if spec.family in ("draccus", "pyrallis"):
                return RAISE, True
            return RAISE, False  # dataclass / attrs / external dataclass: TypeError
        if ref is not None and ref.kind == "yacs":
            return RAISE, True
        return spec.unknown_keys, spec.converts_strings

    def _unknown_reason(self, path: str) -> str:
        relative = posixpath.relpath(path, self.root)
        if "/" not in relative:
            return "no code names it, and files at the project root are never guessed"
        if any(part.startswith(".") for part in relative.split("/")):
            return "no code names it (a hidden folder)"
        kind = _kind_of(path) or "config"
        loads = self._runtime_sites(kind)[0]
        kinds = sorted({LOADERS.get(l.loader, UNKNOWN_LOADER).display for l in loads})
        if len(kinds) > 1:
            return f"no code names it, and the project reads {kind.upper()} with {', '.join(kinds)}"
        return "no code names it"

    # -- schemas -----------------------------------------------------------------------------------
    def schema_for(self, reader: _Reader) -> ProjectSchema | None:
        from trainlint.consumers.lookup import SchemaResolver

        if self._schemas is None:
            self._schemas = SchemaResolver(self)
        source = reader.site.file if reader.site is not None else None
        return self._schemas.resolve(reader.schema, source)


# -- helpers ---------------------------------------------------------------------------------------

def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _walk_configs(root: str) -> Iterable[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            if os.path.splitext(name)[1].lower() in CONFIG_SUFFIXES and not name.endswith(".py"):
                yield posixpath.join(folder.replace(os.sep, "/"), name)


def _kind_of(path: str) -> str | None:
    return CONFIG_SUFFIXES.get(posixpath.splitext(path)[1].lower())


def _ancestors(folder: str, root: str) -> Iterable[str]:
    """`folder` and each folder above it, up to and including `root`."""
    current = folder
    while True:
        yield current
        if current == root or not current.startswith(root) or current in ("/", ""):
            return
        current = posixpath.dirname(current)


def _ends_at(pattern, text: str) -> bool:
    return any(match.end() == len(text) for match in pattern.finditer(text))


def _shown(path: str, root: str) -> str:
    if root and path.startswith(root + "/"):
        return path[len(root) + 1:]
    if path == root:
        return "."
    return path


def _is_test_path(relative: str) -> bool:
    parts = relative.split("/")
    name = parts[-1]
    return (any(part in ("tests", "test", "testing", "unittests") for part in parts[:-1])
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def _fill_args(ref: PathRef, defaults: dict[str, PathRef]) -> PathRef:
    parts: list[str | Hole] = []
    anchor = ref.anchor
    for index, part in enumerate(ref.parts):
        if isinstance(part, Hole) and part.kind == "arg" and part.name in defaults:
            value = defaults[part.name]
            if index == 0:
                anchor = value.anchor
            parts.extend(value.parts)
        else:
            parts.append(part)
    from trainlint.consumers.paths import _merge

    return PathRef(anchor, _merge(tuple(parts)))


def _reads_runtime(load: LoadSite, kind: str) -> bool:
    """A load site that reads a config path given at run time, of file type `kind`."""
    ref = load.path
    if ref is None:
        return False
    hole = ref.open_hole
    if hole is None or not hole.config_named or hole.kind == "param":
        return False  # a helper's own load is a template: its callers' loads count
    suffix = ref.suffix
    if suffix is not None:
        return _kind_of("x" + suffix) == kind
    spec = LOADERS.get(load.loader)
    return spec is not None and kind in spec.formats


def _names_a_config(relative: str) -> bool:
    """`configs/x.yaml`, `hparams/train.yaml`: a folder between the scripts and the file says
    it holds configs. (A file name alone was measured wrong: `Utils/ASR/config.yml` is read by
    another loader than the scripts above it, `server/conf.json` by none.)"""
    return any(CONFIG_NAME.search(part.replace("-", "_")) for part in relative.split("/")[:-1])


def _reads_flag(load: LoadSite, dest: str | None) -> bool:
    hole = load.path.open_hole if load.path is not None else None
    if hole is None:
        return False
    if dest is None:
        return hole.kind == "argv" and hole.name == "1"
    return hole.kind == "arg" and hole.name == dest


def _dest_of(flag: str | None) -> str | None:
    if flag is None:
        return None
    return flag.lstrip("-").split("=", 1)[0].replace("-", "_")


def _reader_kind(reader: _Reader) -> tuple:
    wrapper = reader.site.wrapper if reader.site is not None else None
    schema = reader.schema.classes if reader.schema is not None else ()
    return (reader.loader, wrapper, schema)


def _rank(reader: _Reader, root: str) -> tuple:
    test = any(_is_test_path(posixpath.relpath(site.path, root)) for site in reader.sites[:1])
    return (BASES.index(reader.basis), test, reader.schema is None)


def _unique_sites(readers: list[_Reader]) -> tuple[CallSite, ...]:
    return tuple(dict.fromkeys(site for reader in readers for site in reader.sites))
