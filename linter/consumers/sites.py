"""Where one Python file loads configs: its load sites, read from the `ast` (never run).

For a file this gives `FileFacts`: every call of a modelled loader (`yaml.safe_load(open(p))`,
`OmegaConf.load(p)`, `cfg.merge_from_file(p)`, `HfArgumentParser(...).parse_json_file(p)`,
`TrlParser(...).parse_args_and_config()`, `@hydra.main(...)`, ...) with the path it reads as a
PathRef, what the code does with the result (the schema it is poured into:
`Cls(**cfg)`, `parser.set_defaults(**cfg)`, `OmegaConf.merge(OmegaConf.structured(Cls), cfg)`),
the project helpers that load a path they are given (`def load_config(path)`), the argparse
/ click options of the file (dest, flags, default), Hydra entry points and ConfigStore entries.

Why one module (over 800 lines): one `ast` pass per file (`FileReader`) finds every kind of
load site together, because one call can be a loader, a schema's constructor and a helper's
body at once; the loader semantics are tables in `loaders.py`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from msgspec import Struct, field

from trainlint.consumers.paths import Hole, PathRef
from trainlint.formats.python.ast_index import ParsedScript, dotted

__all__ = ["FileFacts", "FileReader", "HelperDef", "HydraSite", "LoadSite", "SchemaRef", "read_facts"]

# Text a file must hold to be parsed for load sites: a file without any is skipped unparsed.
NEEDLES = ("safe_load", "yaml.load", "full_load", "unsafe_load", "load_all", "json.load",
           "tomllib", "tomli", "toml.load", "OmegaConf", "hydra", "TrlParser", "parse_json_file",
           "parse_yaml_file", "parse_dict", "parse_args_and_config", "merge_from_file",
           "fromfile", "LazyConfig", "hyperpyyaml", "draccus", "pyrallis", "YAML(", "exec(",
           "deepspeed.initialize", "ConfigStore", "initialize_config", "LightningCLI",
           "jsonargparse", "ActionConfigFile", "configargparse", "is_config_file", "config.parse")

_MAX_DEPTH = 12
_CONFIG_HELP = re.compile(r"\b(config(uration)?|yaml|yml|hparams|hyper-?param(eter)?s?|recipe)\b", re.I)
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")


class SchemaRef(Struct, frozen=True):
    """What the code pours a loaded config into, as written (resolved per project later)."""

    kind: str  # dataclass | pydantic | dacite | hf | structured | argparse | yacs | class
    classes: tuple[str, ...] = ()  # qualified class names (absolute, or "<file>:Name")
    allow_extra: bool = False  # HfArgumentParser(allow_extra_keys=True), dacite strict=False
    strict: bool = False  # dacite Config(strict=True)
    line: int = 0
    extended: bool = False  # yacs: the defaults tree is extended by project code before the merge


class LoadSite(Struct, frozen=True):
    """One place that reads a config file."""

    file: str
    line: int
    col: int
    loader: str  # a name in trainlint.consumers.loaders.LOADERS
    call: str  # the call as written for messages: "yaml.safe_load", "load_config"
    path: PathRef | None  # None: the path expression could not be read
    function: str = ""  # the enclosing def ("" at module level)
    schema: SchemaRef | None = None
    # what the parsed dict is poured into, when that decides keys and types: a name in the
    # loader table ("argparse.set_defaults", "dacite", ...) or "class" (decided per project
    # once the class is read: a dataclass, a pydantic model, an external class)
    wrapper: str | None = None
    via: tuple[tuple[str, int, str], ...] = ()  # helper hops: (file, line, call)


class HelperDef(Struct, frozen=True):
    """A project function that loads a path it is given: `def load_config(path): ...`."""

    file: str
    name: str  # function name (methods: Class.name)
    params: tuple[str, ...]  # positional parameter names, in order (self excluded)
    site: LoadSite  # the load inside, with `param` holes


class Argument(Struct, frozen=True):
    """An argparse / click option of the file."""

    dest: str
    flags: tuple[str, ...]
    line: int
    default: PathRef | None = None  # a default that is a path literal
    type_name: str | None = None
    config: bool = False  # its help or default says it names a config file


class HydraSite(Struct, frozen=True):
    file: str
    line: int
    kind: str  # main | compose
    config_dir: PathRef | None  # the config dir (anchored at the file for config_path)
    config_name: str | None
    module: str | None = None  # initialize_config_module / pkg:// form


class StoreEntry(Struct, frozen=True):
    """`ConfigStore.instance().store(name=..., node=Cls, group=...)`."""

    name: str
    group: str | None
    node: str  # qualified class name
    line: int


class FileFacts(Struct):
    path: str
    sites: list[LoadSite] = field(default_factory=list)
    helpers: list[HelperDef] = field(default_factory=list)
    arguments: dict[str, Argument] = field(default_factory=dict)
    hydra: list[HydraSite] = field(default_factory=list)
    stores: list[StoreEntry] = field(default_factory=list)
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name


# -- loader calls ----------------------------------------------------------------------------------

# qualified name -> (loader, index of the path argument, its keyword, reads a stream)
_FUNCTIONS: dict[str, tuple[str, int, str]] = {
    "yaml.safe_load": ("pyyaml.safe_load", 0, "stream"),
    "yaml.safe_load_all": ("pyyaml.safe_load", 0, "stream"),
    "yaml.load": ("pyyaml.load", 0, "stream"),
    "yaml.load_all": ("pyyaml.load", 0, "stream"),
    "yaml.full_load": ("pyyaml.load", 0, "stream"),
    "yaml.full_load_all": ("pyyaml.load", 0, "stream"),
    "yaml.unsafe_load": ("pyyaml.load", 0, "stream"),
    "ruamel.yaml.safe_load": ("ruamel.yaml", 0, "stream"),
    "ruamel.yaml.load": ("ruamel.yaml", 0, "stream"),
    "ruamel.yaml.round_trip_load": ("ruamel.yaml", 0, "stream"),
    "omegaconf.OmegaConf.load": ("omegaconf.load", 0, "file_"),
    "hyperpyyaml.load_hyperpyyaml": ("hyperpyyaml", 0, "yaml_stream"),
    "hyperpyyaml.core.load_hyperpyyaml": ("hyperpyyaml", 0, "yaml_stream"),
    "json.load": ("json", 0, "fp"),
    "json.loads": ("json", 0, "s"),
    "tomllib.load": ("toml", 0, "fp"),
    "tomllib.loads": ("toml", 0, "s"),
    "tomli.load": ("toml", 0, "fp"),
    "tomli.loads": ("toml", 0, "s"),
    "toml.load": ("toml", 0, "f"),
    "toml.loads": ("toml", 0, "s"),
    "mmengine.Config.fromfile": ("mmengine.Config", 0, "filename"),
    "mmengine.config.Config.fromfile": ("mmengine.Config", 0, "filename"),
    "mmcv.Config.fromfile": ("mmengine.Config", 0, "filename"),
    "mmcv.utils.Config.fromfile": ("mmengine.Config", 0, "filename"),
    "detectron2.config.LazyConfig.load": ("detectron2.LazyConfig", 0, "filename"),
    "draccus.parse": ("draccus", -1, "config_path"),
    "pyrallis.parse": ("pyrallis", -1, "config_path"),
    "deepspeed.initialize": ("deepspeed", -1, "config"),
}
_CONFIG_CLIS = {"lightning.pytorch.cli.LightningCLI", "pytorch_lightning.cli.LightningCLI",
                "lightning.pytorch.LightningCLI", "lightning.LightningCLI", "jsonargparse.CLI",
                "jsonargparse.auto_cli", "pytorch_lightning.utilities.cli.LightningCLI"}
_CONFIGARGPARSE_PARSERS = {"configargparse.ArgumentParser", "configargparse.ArgParser",
                           "configargparse.getArgumentParser"}
_YAML_SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}
_HF_PARSERS = {"transformers.HfArgumentParser", "transformers.hf_argparser.HfArgumentParser"}
_TRL_PARSERS = {"trl.TrlParser", "trl.scripts.utils.TrlParser", "trl.commands.cli_utils.TrlParser",
                "trl.scripts.TrlParser"}
_HF_METHODS = {"parse_yaml_file": ("hf.parse_yaml_file", "yaml_file"),
               "parse_json_file": ("hf.parse_json_file", "json_file")}
_OPEN_CALLS = {"open", "io.open", "codecs.open", "builtins.open", "smart_open.open",
               "fsspec.open"}
_PATH_CALLS = {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "os.fspath", "str",
               "os.path.abspath", "os.path.realpath", "os.path.normpath", "os.path.expanduser",
               "os.path.expandvars", "upath.UPath"}
_PATH_METHODS = {"resolve", "absolute", "expanduser", "as_posix", "strip"}
_BUILTINS = frozenset({"open", "str", "vars", "dict", "sorted", "list", "tuple", "exec",
                       "setattr", "reversed", "enumerate"})
_PLAIN_LOADERS = frozenset({"pyyaml.safe_load", "pyyaml.load", "ruamel.yaml", "omegaconf.load",
                            "json", "toml"})
_DICT_WRAPPERS = {"easydict.EasyDict", "addict.Dict", "munch.Munch", "munch.munchify",
                  "dict", "ml_collections.ConfigDict", "box.Box", "omegaconf.OmegaConf.create",
                  "copy.deepcopy"}


def read_facts(script: ParsedScript, module: str | None) -> FileFacts:
    """The load sites, helpers, options and Hydra entry points of one parsed file.

    `module` is the file's dotted module name in its project (for relative imports)."""
    reader = FileReader(script, module)
    reader.read()
    return reader.facts


class FileReader:
    def __init__(self, script: ParsedScript, module: str | None) -> None:
        self.script = script
        self.module = module
        self.facts = FileFacts(script.path)
        self.facts.imports = _imports(script.tree, module, script.path.endswith("__init__.py"))
        self.dests: dict[str, Argument] = {}

    # -- top level ---------------------------------------------------------------------------------
    def read(self) -> None:
        self._read_arguments()
        self.facts.arguments = self.dests
        text = self.script.text
        for call in self.script.calls:
            self._read_call(call)
        if "hydra" in text or "initialize" in text:
            self._read_hydra()
        if "draccus" in text or "pyrallis" in text or "config.parse" in text:
            self._read_wrap_decorators()
        for site in self.facts.sites:
            if _helper_candidate(site):
                helper = self._helper_of(site)
                if helper is not None:
                    self.facts.helpers.append(helper)

    # -- calls of helpers (asked by the project once every file's helpers are known) ---------------
    def helper_site(self, call: ast.Call, helper: HelperDef) -> LoadSite | None:
        """The load a call of `helper` makes: the helper's site with the caller's arguments in
        place of its parameters, at the caller."""
        values: dict[str, PathRef] = {}
        for index, argument in enumerate(call.args):
            if isinstance(argument, ast.Starred) or index >= len(helper.params):
                break
            ref = self.path_of(argument, 0)
            if ref is not None:
                values[helper.params[index]] = ref
        for keyword in call.keywords:
            if keyword.arg in helper.params:
                ref = self.path_of(keyword.value, 0)
                if ref is not None:
                    values[keyword.arg] = ref
        inner = helper.site
        path = inner.path.substitute(values) if inner.path is not None else None
        schema, wrapper, display = inner.schema, inner.wrapper, f"{_called(call)} -> {inner.call}"
        if schema is None:
            found = self._usage(call)
            if found is not None:
                (wrapper, shown), schema = found
                display = f"{display} -> {shown}"
        elif schema.kind == "hf" and not schema.classes and isinstance(call.func, ast.Attribute):
            schema = self._parser_schema(call.func.value, schema.allow_extra)
        return LoadSite(self.script.path, call.lineno, call.col_offset + 1, inner.loader, display,
                        path, self._function_name(call), schema, wrapper,
                        ((inner.file, inner.line, inner.call),))

    def receiver_class(self, node: ast.AST) -> str | None:
        """The class an object was made from (`<path>:Name` for a class of this file)."""
        if isinstance(node, ast.Name) and node.id == "self":
            owner = self._enclosing_class(node)
            return f"{self.script.path}:{owner.name}" if owner is not None else None
        made = self.script.origin(node, follow_calls=False)
        if isinstance(made, ast.Call):
            return self.class_name(made.func)
        return None

    def qualname(self, node: ast.AST) -> str | None:
        name = self.script.qualname(node)
        if name is not None:
            return name
        text = dotted(node)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        target = self.facts.imports.get(head)
        if target is None:
            if head in _BUILTINS and isinstance(node, (ast.Name, ast.Attribute)) and \
                    self.script.lookup(head, self.script.scope_of(node),
                                       (node.lineno, node.col_offset)) is None:
                return text
            return None
        return f"{target}.{rest}" if rest else target

    # -- argparse / click --------------------------------------------------------------------------
    def _read_arguments(self) -> None:
        from trainlint.formats.python.declared_config import argparse_dest

        for call in self.script.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in ("add_argument", "add"):
                flags = tuple(a.value for a in call.args
                              if isinstance(a, ast.Constant) and isinstance(a.value, str))
                if func.attr == "add" and (not flags or not all(f.startswith("-") for f in flags)):
                    continue  # configargparse's alias, not `set.add(...)`
                dest_kw = ParsedScript.keyword(call, "dest")
                explicit = dest_kw.value.value if dest_kw is not None and isinstance(
                    dest_kw.value, ast.Constant) and isinstance(dest_kw.value.value, str) else None
                if not flags and explicit is None:
                    continue
                self._argument(argparse_dest(flags, explicit), flags, call)
        for node in self.script.nodes(ast.FunctionDef):
            for decorator in node.decorator_list:
                if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr in ("option", "argument")
                        and (self.qualname(decorator.func) or "").startswith(("click.", "typer."))):
                    self._click_option(decorator)

    def _argument(self, dest: str, flags: tuple[str, ...], call: ast.Call) -> None:
        default_kw = ParsedScript.keyword(call, "default")
        default = None
        if default_kw is not None:
            ref = self.path_of(default_kw.value, 0)
            if ref is not None and ref.literal is not None and ref.suffix:
                default = ref
        type_kw = ParsedScript.keyword(call, "type")
        type_name = dotted(type_kw.value) if type_kw is not None else None
        help_kw = ParsedScript.keyword(call, "help")
        help_text = help_kw.value.value if help_kw is not None and isinstance(
            help_kw.value, ast.Constant) and isinstance(help_kw.value.value, str) else ""
        config = bool(_CONFIG_HELP.search(help_text)) or (
            default is not None and default.suffix in _CONFIG_SUFFIXES)
        current = self.dests.get(dest)
        if current is not None and current.default is not None and default is None:
            return  # keep the one that names a file
        self.dests[dest] = Argument(dest, flags, call.lineno, default, type_name, config)

    def arg_hole(self, dest: str) -> Hole:
        argument = self.dests.get(dest)
        return Hole("arg", dest, argument.config if argument is not None else False)

    def _click_option(self, call: ast.Call) -> None:
        """click names a parameter after its first undashed name, else its first `--` option,
        else its first option."""
        names = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        flags = tuple(n for n in names if n.startswith("-"))
        plain = [n for n in names if not n.startswith("-")]
        long_flags = [f for f in flags if f.startswith("--")]
        chosen = plain[0] if plain else (long_flags or list(flags) or [""])[0]
        dest = chosen.lstrip("-").replace("-", "_").lower()
        if dest:
            self._argument(dest, flags, call)

    # -- calls -------------------------------------------------------------------------------------
    def _read_call(self, call: ast.Call) -> None:
        name = self.qualname(call.func)
        func = call.func
        if name is not None:
            spec = _FUNCTIONS.get(name)
            if spec is not None:
                loader, position, keyword = spec
                if name == "yaml.load" or name == "yaml.load_all":
                    loader = self._yaml_load_kind(call)
                argument = ParsedScript.argument(call, position if position >= 0 else None, keyword)
                if argument is None:
                    if loader == "deepspeed":
                        argument = self._keyword_value(call, "config_params")
                    if argument is None and loader not in ("draccus", "pyrallis"):
                        return
                self._add_site(call, loader, _short(name), argument)
                return
            if name in _CONFIG_CLIS:  # LightningCLI(...) / jsonargparse.CLI(...): `--config`
                self._add_site(call, "jsonargparse", _short(name), None, raw=True)
                return
            if name in _CONFIGARGPARSE_PARSERS:
                self._configargparse_defaults(call)
                return
            if name == "exec" and call.args:
                argument = call.args[0]
                if isinstance(argument, ast.Call) and isinstance(argument.func, ast.Attribute) \
                        and argument.func.attr == "read":
                    self._add_site(call, "python.exec", "exec", argument)
                return
        if not isinstance(func, ast.Attribute):
            return
        method = func.attr
        if method in ("add_argument", "add") and call.args:
            self._config_file_option(call)
            return
        if method == "merge_from_file" and call.args:
            self._add_site(call, "yacs", "merge_from_file", call.args[0],
                           SchemaRef("yacs", line=call.lineno, extended=self._extends(call)))
        elif method in _HF_METHODS:
            maker = self._parser_kind(func.value)
            if maker is not None:
                loader, keyword = _HF_METHODS[method]
                argument = ParsedScript.argument(call, 0, keyword)
                if argument is not None:
                    allow = self._true_keyword(call, "allow_extra_keys")
                    schema = self._parser_schema(func.value, allow)
                    self._add_site(call, loader, f"{maker}.{method}", argument, schema)
        elif method == "parse_args_and_config":
            maker = self._parser_kind(func.value)
            if maker is not None:
                schema = self._parser_schema(func.value, False)
                self._add_site(call, "trl.TrlParser", f"{maker}.{method}",
                               PathRef("cwd", (Hole("arg", "config"),)), schema, raw=True)
        elif method == "load" and self._is_ruamel(func.value) and call.args:
            self._add_site(call, "ruamel.yaml", "YAML().load", call.args[0])

    def _extends(self, merge: ast.Call) -> bool:
        """Whether the yacs node is handed to a function (`add_deeplab_config(cfg)`) before
        `cfg.merge_from_file(...)`: such functions add keys the defaults tree does not list."""
        receiver = dotted(merge.func.value)  # type: ignore[attr-defined]
        if receiver is None:
            return False
        function = self.script.enclosing_function(merge)
        for call in self.script.calls:
            if call.lineno >= merge.lineno or self.script.enclosing_function(call) is not function:
                continue
            if not call.args or dotted(call.args[0]) != receiver:
                continue
            # `add_deeplab_config(cfg)`, or a method `self.add_x_config(cfg)`
            if not isinstance(call.func, ast.Attribute) or call.func.attr.startswith("add_"):
                return True
        return False

    def _config_file_option(self, call: ast.Call) -> None:
        """An option whose value is a config file the parser reads itself: configargparse's
        `is_config_file=True`, jsonargparse's `action=ActionConfigFile`."""
        loader = None
        if self._true_keyword(call, "is_config_file") or self._true_keyword(call, "is_config_file_arg"):
            loader = "configargparse"
        else:
            action = ParsedScript.keyword(call, "action")
            action_name = (self.qualname(action.value) or dotted(action.value) or "") if action else ""
            if action_name.endswith("ActionConfigFile"):
                loader = "jsonargparse"
        if loader is None:
            return
        from trainlint.formats.python.declared_config import argparse_dest

        flags = tuple(a.value for a in call.args
                      if isinstance(a, ast.Constant) and isinstance(a.value, str))
        if flags:
            dest = argparse_dest(flags)
            self._add_site(call, loader, f"{flags[-1]} ({loader})", None,
                           path=PathRef("cwd", (Hole("arg", dest, True),)))

    def _configargparse_defaults(self, call: ast.Call) -> None:
        """`configargparse.ArgumentParser(default_config_files=["conf.yaml", ...])`."""
        files = ParsedScript.keyword(call, "default_config_files")
        if files is None or not isinstance(files.value, (ast.List, ast.Tuple)):
            return
        for item in files.value.elts:
            path = self.path_of(item, 0)
            if path is not None:
                self._add_site(call, "configargparse", "default_config_files", None, path=path)

    def _yaml_load_kind(self, call: ast.Call) -> str:
        loader = ParsedScript.argument(call, 1, "Loader")
        name = dotted(loader) if loader is not None else None
        if name is not None and name.rsplit(".", 1)[-1] in _YAML_SAFE_LOADERS:
            return "pyyaml.safe_load"
        return "pyyaml.load"

    def _keyword_value(self, call: ast.Call, name: str) -> ast.expr | None:
        keyword = ParsedScript.keyword(call, name)
        return keyword.value if keyword is not None else None

    @staticmethod
    def _true_keyword(call: ast.Call, name: str) -> bool:
        keyword = ParsedScript.keyword(call, name)
        return keyword is not None and isinstance(keyword.value, ast.Constant) and \
            keyword.value.value is True

    def _parser_kind(self, receiver: ast.AST) -> str | None:
        """'HfArgumentParser' / 'TrlParser' when `receiver` is made by one (or a subclass
        defined in this file, or `self` inside one)."""
        made = self.script.origin(receiver)
        names: list[str] = []
        if isinstance(made, ast.Call):
            qualified = self.qualname(made.func)
            if qualified is not None:
                names.append(qualified)
            local = self._local_class(made.func)
            if local is not None:
                names.extend(self._base_names(local))
        elif isinstance(made, ast.Name) and made.id == "self":
            owner = self._enclosing_class(made)
            if owner is not None:
                names.extend(self._base_names(owner))
        for name in names:
            if name in _TRL_PARSERS:
                return "TrlParser"
            if name in _HF_PARSERS:
                return "HfArgumentParser"
        return None

    def _local_class(self, node: ast.AST) -> ast.ClassDef | None:
        if isinstance(node, ast.Name):
            binding = self.script.binding_of(node)
            if binding is not None and binding.kind == "class":
                return binding.node  # type: ignore[return-value]
        return None

    def _base_names(self, cls: ast.ClassDef) -> list[str]:
        names = []
        for base in cls.bases:
            name = self.qualname(base)
            if name is not None:
                names.append(name)
        return names

    def _enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        for ancestor in self.script.ancestors(node):
            if isinstance(ancestor, ast.ClassDef):
                return ancestor
        return None

    def _parser_schema(self, receiver: ast.AST, allow_extra: bool) -> SchemaRef | None:
        """The dataclasses an HfArgumentParser / TrlParser was made with."""
        made = self.script.origin(receiver)
        if not isinstance(made, ast.Call) or not made.args:
            return SchemaRef("hf", allow_extra=allow_extra)
        types = made.args[0]
        value = self.script.value_of(types) if isinstance(types, ast.Name) else None
        if value is not None:
            types = value
        elements = types.elts if isinstance(types, (ast.Tuple, ast.List)) else [types]
        classes = tuple(name for name in map(self.class_name, elements) if name is not None)
        return SchemaRef("hf", classes, allow_extra=allow_extra, line=made.lineno)

    def class_name(self, node: ast.AST) -> str | None:
        """The qualified name of a class reference (`Config`, `configs.Config`); a class of
        this file is `<path>:Name`."""
        local = self._local_class(node)
        if local is not None:
            return f"{self.script.path}:{local.name}"
        return self.qualname(node)

    def _is_ruamel(self, receiver: ast.AST) -> bool:
        made = self.script.origin(receiver)
        return isinstance(made, ast.Call) and (self.qualname(made.func) or "") in (
            "ruamel.yaml.YAML", "ruamel.yaml.main.YAML")

    # -- sites -------------------------------------------------------------------------------------
    def _add_site(self, call: ast.Call, loader: str, display: str, argument: ast.AST | None,
                  schema: SchemaRef | None = None, raw: bool = False,
                  path: PathRef | None = None) -> None:
        if path is None:
            if raw:  # the parser reads `--config` itself
                path = PathRef("cwd", (Hole("arg", "config", True),))
            elif argument is None:
                path = self._flag_path(loader)
            else:
                path = self.source_of(argument, 0)
        wrapper = None
        if schema is None and loader in _PLAIN_LOADERS:
            found = self._usage(call)
            if found is not None:
                (wrapper, shown), schema = found
                display = f"{display} -> {shown}"
        if loader == "omegaconf.load" and any(
                name == "composer" or name.startswith("composer.")
                for name in self.facts.imports.values()):
            loader = "composer"
        self.facts.sites.append(LoadSite(
            self.script.path, call.lineno, call.col_offset + 1, loader, display, path,
            self._function_name(call), schema, wrapper))

    def _flag_path(self, loader: str) -> PathRef | None:
        if loader in ("draccus", "pyrallis"):
            return PathRef("cwd", (Hole("arg", "config_path"),))
        return None

    def _function_name(self, node: ast.AST) -> str:
        names = []
        for ancestor in self.script.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(ancestor.name)
        return ".".join(reversed(names))

    # -- what the code does with a loaded dict -----------------------------------------------------
    def _usage(self, call: ast.Call, depth: int = 0) -> tuple[tuple[str, str] | None,
                                                               SchemaRef | None] | None:
        """((wrapper loader, display), schema) for the first schema the result of `call` is
        poured into, following one assignment."""
        for use in self._uses(call, depth):
            found = self._wrapper_at(use, depth)
            if found is not None:
                return found
        return None

    def _uses(self, node: ast.AST, depth: int) -> Iterator[ast.AST]:
        """`node` itself, or the later reads of the name it is assigned to."""
        yield node
        parent = self.script.parent(node)
        while isinstance(parent, ast.Call) and (self.qualname(parent.func) or "") in _DICT_WRAPPERS:
            yield parent
            node, parent = parent, self.script.parent(parent)
        target = None
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target = parent.targets[0]
        elif isinstance(parent, ast.AnnAssign):
            target = parent.target
        if isinstance(target, ast.Name) and depth < 2:
            yield from self._reads_after(target.id, parent)

    def _reads_after(self, name: str, statement: ast.AST) -> Iterator[ast.AST]:
        scope_node = self.script.enclosing_function(statement) or self.script.tree
        line = getattr(statement, "end_lineno", statement.lineno)
        for node in ast.walk(scope_node):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load) \
                    and node.lineno >= line:
                yield node

    def _wrapper_at(self, node: ast.AST, depth: int):
        parent = self.script.parent(node)
        if isinstance(parent, ast.keyword) and parent.arg is None:  # f(**cfg)
            call = self.script.parent(parent)
            if isinstance(call, ast.Call):
                return self._kwargs_wrapper(call)
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and \
                parent.func.attr == "update" and node in parent.args:
            return self._update_wrapper(parent)
        if isinstance(parent, ast.Call) and node in parent.args:
            return self._argument_wrapper(parent, node)
        if isinstance(parent, ast.keyword) and parent.arg is not None:  # f(data=cfg)
            call = self.script.parent(parent)
            if isinstance(call, ast.Call):
                return self._argument_wrapper(call, node)
        if isinstance(parent, ast.Attribute) and parent.attr == "items":
            loop = self.script.parent(self.script.parent(parent))
            if isinstance(loop, (ast.For, ast.AsyncFor)) and self._sets_attributes(loop):
                return ("argparse.namespace", "setattr(args, k, v)"), SchemaRef("argparse")
        return None

    def _kwargs_wrapper(self, call: ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("set_defaults", "set_defaults_with_config"):
            return (("argparse.set_defaults", "set_defaults(**cfg)"),
                    SchemaRef("argparse", line=call.lineno))
        name = self.class_name(func)
        if name is None or name in _DICT_WRAPPERS:
            return None
        if name.startswith(("builtins.", "collections.")):
            return None
        return ("class", f"{name.rpartition(':')[2].rpartition('.')[2]}(**cfg)"), \
            SchemaRef("class", (name,), line=call.lineno)

    def _argument_wrapper(self, call: ast.Call, node: ast.AST):
        name = self.qualname(call.func) or ""
        func = call.func
        if name == "dacite.from_dict":
            cls = ParsedScript.argument(call, 0, "data_class")
            strict = False
            config = ParsedScript.argument(call, 2, "config")
            if isinstance(config, ast.Call):
                strict = self._true_keyword(config, "strict")
            classes = tuple(c for c in [self.class_name(cls)] if c) if cls is not None else ()
            return ("dacite", "dacite.from_dict"), SchemaRef("dacite", classes, strict=strict,
                                                             line=call.lineno)
        if name == "omegaconf.OmegaConf.merge":
            for argument in call.args:
                if argument is node:
                    continue
                cls = self._structured_class(argument)
                if cls is not None:
                    return ("structured", "OmegaConf.merge(structured)"), SchemaRef(
                        "structured", (cls,), line=call.lineno)
            return None
        if isinstance(func, ast.Attribute) and func.attr in ("model_validate", "parse_obj"):
            cls = self.class_name(func.value)
            if cls is not None:
                return ("class", f"{func.attr}"), SchemaRef("class", (cls,), line=call.lineno)
        if isinstance(func, ast.Attribute) and func.attr == "parse_dict":
            maker = self._parser_kind(func.value)
            if maker is not None:
                return ("hf", "HfArgumentParser.parse_dict"), self._parser_schema(
                    func.value, self._true_keyword(call, "allow_extra_keys"))
        return None

    def _update_wrapper(self, call: ast.Call):
        receiver = call.func.value  # type: ignore[attr-defined]
        if isinstance(receiver, ast.Call) and (self.qualname(receiver.func) or "") == "vars":
            return (("argparse.namespace", "vars(args).update(cfg)"),
                    SchemaRef("argparse", line=call.lineno))
        if isinstance(receiver, ast.Attribute) and receiver.attr == "__dict__":
            return (("argparse.namespace", "args.__dict__.update(cfg)"),
                    SchemaRef("argparse", line=call.lineno))
        return None

    @staticmethod
    def _sets_attributes(loop: ast.AST) -> bool:
        for node in ast.walk(loop):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id == "setattr":
                return True
        return False

    def _structured_class(self, node: ast.AST) -> str | None:
        made = self.script.origin(node, follow_calls=False)
        if isinstance(made, ast.Call) and (self.qualname(made.func) or "") == \
                "omegaconf.OmegaConf.structured" and made.args:
            return self.class_name(made.args[0])
        return None

    # -- path expressions --------------------------------------------------------------------------
    def source_of(self, node: ast.AST, depth: int) -> PathRef | None:
        """The path a loader argument reads: a stream (`open(p)`, `f` of `with open(p) as
        f`, `f.read()`, `Path(p).read_text()`) or a path."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Call):
            func = node.func
            name = self.qualname(func) or ""
            if name in _OPEN_CALLS or (isinstance(func, ast.Attribute) and func.attr == "open"
                                        and name not in ("gzip.open", "tarfile.open")):
                target = ParsedScript.argument(node, 0, "file") if name in _OPEN_CALLS else func.value
                return self.path_of(target, depth + 1) if target is not None else None
            if isinstance(func, ast.Attribute) and func.attr in ("read", "read_text", "readlines",
                                                                  "read_bytes"):
                return self.source_of(func.value, depth + 1)
            return self.path_of(node, depth + 1)
        if isinstance(node, ast.Name):
            binding = self.script.binding_of(node)
            if binding is not None and binding.kind == "target":
                holder = self.script.parent(binding.node)
                if isinstance(holder, ast.withitem):
                    return self.source_of(holder.context_expr, depth + 1)
            value = self.script.value_of(node, defaults=False)
            if value is not None:
                return self.source_of(value, depth + 1)
        return self.path_of(node, depth + 1)

    def path_of(self, node: ast.AST | None, depth: int) -> PathRef | None:
        """A path expression as a PathRef, or None when it cannot be read."""
        if node is None or depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return _literal(node.value)
            return None
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, depth)
        if isinstance(node, ast.Name):
            return self._name_path(node, depth)
        if isinstance(node, ast.Attribute):
            return self._attribute_path(node, depth)
        if isinstance(node, ast.Subscript):
            return self._subscript_path(node)
        if isinstance(node, ast.BinOp):
            return self._binop_path(node, depth)
        if isinstance(node, ast.Call):
            return self._call_path(node, depth)
        return None

    def _fstring(self, node: ast.JoinedStr, depth: int) -> PathRef:
        parts: list[str | Hole] = []
        anchor = "cwd"
        for index, value in enumerate(node.values):
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                if index == 0 and str(value.value).startswith(("/", "~")):
                    anchor = "abs"
                continue
            inner = None
            if isinstance(value, ast.FormattedValue):
                inner = self.path_of(value.value, depth + 1)
            if inner is None:
                parts.append(Hole("wild"))
            else:
                if index == 0:
                    anchor = inner.anchor
                parts.extend(inner.parts)
        return PathRef(anchor, _merge(parts))

    def _name_path(self, node: ast.Name, depth: int) -> PathRef | None:
        if node.id == "__file__":
            return PathRef("file", ("<self>",))
        binding = self.script.binding_of(node)
        if binding is None:
            return PathRef("cwd", (Hole("name", node.id),))
        if binding.kind == "param":
            dest = self._click_dest(binding.node)
            if dest is not None:
                return PathRef("cwd", (self.arg_hole(dest),))
            return PathRef("cwd", (Hole("param", node.id),))
        if binding.kind == "target":
            bound = binding.node
            if isinstance(bound, ast.comprehension):
                return self._iterated_path(bound.iter, depth)
            holder = self.script.parent(bound)
            if isinstance(holder, (ast.For, ast.AsyncFor)) and holder.target is bound:
                return self._iterated_path(holder.iter, depth)
        value = self.script.value_of(node, defaults=False)
        if value is not None:
            found = self.path_of(value, depth + 1)
            if found is not None:
                return found
        assigned = value if value is not None else _assigned_value(binding.node)
        if assigned is None:
            return PathRef("cwd", (Hole("name", node.id),))
        if _mentions_argv(assigned, self):
            # `hparams_file, run_opts, overrides = sb.parse_arguments(sys.argv[1:])`
            return PathRef("cwd", (Hole("argv", "1"),))
        return None  # made by code trainlint does not follow (a download, a lookup): unknown

    def _click_dest(self, param: ast.AST) -> str | None:
        """The option dest when `param` belongs to a click command."""
        function = self.script.parent(param)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        name = getattr(param, "arg", None)
        if name in self.dests and any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                and d.func.attr in ("option", "argument") for d in function.decorator_list):
            return name
        return None

    def _iterated_path(self, iterable: ast.AST, depth: int) -> PathRef | None:
        """The paths a loop walks: `glob.glob(p)`, `Path(d).glob(p)`, `os.listdir(d)`."""
        while isinstance(iterable, ast.Call) and (self.qualname(iterable.func) or "") in (
                "sorted", "list", "tuple", "reversed", "enumerate", "tqdm.tqdm"):
            if not iterable.args:
                return None
            iterable = iterable.args[0]
        if isinstance(iterable, ast.Name):
            value = self.script.value_of(iterable, defaults=False)
            if isinstance(value, (ast.List, ast.Tuple)) and not value.elts:
                return self._accumulated_path(iterable, depth)
            if value is not None:
                return self._iterated_path(value, depth + 1)
        if isinstance(iterable, ast.Subscript) and (self.qualname(iterable.value) or "") == "sys.argv":
            return PathRef("cwd", (Hole("argv", "1"),))  # `for arg in sys.argv[1:]`
        if isinstance(iterable, (ast.List, ast.Tuple)):  # `for path in [a]`, `for ext in (".json",)`
            refs = {self.path_of(item, depth + 1) for item in iterable.elts}
            return refs.pop() if len(refs) == 1 else None
        if not isinstance(iterable, ast.Call):
            return None
        name = self.qualname(iterable.func) or ""
        func = iterable.func
        if name in ("glob.glob", "glob.iglob") and iterable.args:
            pattern = self.path_of(iterable.args[0], depth + 1)
            return _globbed(pattern) if pattern is not None else None
        if isinstance(func, ast.Attribute) and func.attr in ("glob", "rglob") and iterable.args:
            base = self.path_of(func.value, depth + 1)
            pattern = self.path_of(iterable.args[0], depth + 1)
            if base is None or pattern is None:
                return None
            if func.attr == "rglob":
                pattern = PathRef("cwd", (Hole("wild", "**"), *pattern.parts))
            return base.join(_globbed(pattern))
        if name == "os.listdir" and iterable.args:
            base = self.path_of(iterable.args[0], depth + 1)
            return base.join(PathRef("cwd", (Hole("wild", "*"),))) if base is not None else None
        return None

    def _accumulated_path(self, name: ast.Name, depth: int) -> PathRef | None:
        """The paths a list gathers with `.extend(...)` / `.append(...)` in the same scope,
        when they all fit one pattern."""
        scope = self.script.enclosing_function(name) or self.script.tree
        found: list[PathRef] = []
        for call in self.script.method_calls("extend"):
            if _called_on(call, name.id) and call.args and self.script.enclosing_function(call) is (
                    None if scope is self.script.tree else scope):
                ref = self._iterated_path(call.args[0], depth + 1)
                if ref is None:
                    return None
                found.append(ref)
        return found[0] if len(set(found)) == 1 else None

    def _attribute_path(self, node: ast.Attribute, depth: int) -> PathRef | None:
        if node.attr == "parent":
            base = self.path_of(node.value, depth + 1)
            return _parent(base) if base is not None else None
        if node.attr == "name" or node.attr == "stem":
            return None
        if node.attr in self.dests and self._is_namespace(node.value):
            return PathRef("cwd", (self.arg_hole(node.attr),))
        value = self.script.value_of(node, defaults=False)
        if value is not None:
            found = self.path_of(value, depth + 1)
            if found is not None:
                return found
        if self._is_namespace(node.value):
            return PathRef("cwd", (Hole("arg", node.attr),))
        return PathRef("cwd", (Hole("name", node.attr),))

    def _is_namespace(self, node: ast.AST) -> bool:
        """`args` / `self.args` / `opt`: an object made by `parse_args()`, or a parameter
        named like one."""
        made = self.script.origin(node, follow_calls=False)
        if isinstance(made, ast.Call) and isinstance(made.func, ast.Attribute) and \
                made.func.attr in ("parse_args", "parse_known_args", "parse_intermixed_args"):
            return True
        name = dotted(node)
        return name is not None and name.rsplit(".", 1)[-1] in (
            "args", "opt", "opts", "options", "flags", "cli_args", "cmd_args", "arguments",
            "namespace", "ns", "parsed_args", "known_args")

    def _subscript_path(self, node: ast.Subscript) -> PathRef | None:
        if (self.qualname(node.value) or "") == "sys.argv":
            index = node.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, int):
                return PathRef("cwd", (Hole("argv", str(index.value)),))
            return None
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            if key.value in self.dests:
                return PathRef("cwd", (self.arg_hole(key.value),))
            return PathRef("cwd", (Hole("name", key.value),))
        return None

    def _binop_path(self, node: ast.BinOp, depth: int) -> PathRef | None:
        if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and \
                isinstance(node.left.value, str):
            values = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            return self._format(node.left.value, values, depth, percent=True)
        left = self.path_of(node.left, depth + 1)
        right = self.path_of(node.right, depth + 1)
        if left is None and right is None:
            return None
        left = left or PathRef("cwd", (Hole("wild"),))
        right = right or PathRef("cwd", (Hole("wild"),))
        if isinstance(node.op, ast.Div):
            return left.join(right)
        if isinstance(node.op, ast.Add):
            return left.concat(right)
        return None

    def _call_path(self, node: ast.Call, depth: int) -> PathRef | None:
        name = self.qualname(node.func) or ""
        func = node.func
        if name in ("os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath",
                    "pathlib.PosixPath") and len(node.args) >= 1 and not node.keywords:
            refs = [self.path_of(a, depth + 1) or PathRef("cwd", (Hole("wild"),))
                    for a in node.args if not isinstance(a, ast.Starred)]
            if not refs:
                return None
            result = refs[0]
            for ref in refs[1:]:
                result = result.join(ref)
            return result
        if name in _PATH_CALLS and node.args:
            return self.path_of(node.args[0], depth + 1)
        if name == "os.path.dirname" and node.args:
            base = self.path_of(node.args[0], depth + 1)
            return _parent(base) if base is not None else None
        if name in ("os.getcwd", "pathlib.Path.cwd"):
            return PathRef("cwd", ())
        if isinstance(func, ast.Attribute):
            if func.attr in _PATH_METHODS:
                return self.path_of(func.value, depth + 1)
            if func.attr == "joinpath":
                base = self.path_of(func.value, depth + 1)
                for argument in node.args:
                    ref = self.path_of(argument, depth + 1) or PathRef("cwd", (Hole("wild"),))
                    base = base.join(ref) if base is not None else None
                return base
            if func.attr == "format" and isinstance(func.value, ast.Constant) and \
                    isinstance(func.value.value, str):
                return self._format(func.value.value, node.args, depth)
            if func.attr == "with_suffix" and node.args:
                base = self.path_of(func.value, depth + 1)
                suffix = node.args[0]
                if base is not None and isinstance(suffix, ast.Constant) and \
                        isinstance(suffix.value, str):
                    return _with_suffix(base, suffix.value)
        return None

    def _format(self, template: str, values: list[ast.AST], depth: int,
                percent: bool = False) -> PathRef:
        pattern = r"%[-#0 +]*\d*(?:\.\d+)?[sdifr]" if percent else r"\{[^{}]*\}"
        parts: list[str | Hole] = []
        position = 0
        used = 0
        for match in re.finditer(pattern, template):
            parts.append(template[position:match.start()])
            value = values[used] if used < len(values) else None
            used += 1
            inner = self.path_of(value, depth + 1) if value is not None else None
            parts.extend(inner.parts if inner is not None else (Hole("wild"),))
            position = match.end()
        parts.append(template[position:])
        anchor = "abs" if template.startswith(("/", "~")) else "cwd"
        return PathRef(anchor, _merge(parts))

    # -- helpers, hydra, decorators ----------------------------------------------------------------
    def _helper_of(self, site: LoadSite) -> HelperDef | None:
        function = None
        for node in self.script.nodes(ast.FunctionDef) + self.script.nodes(ast.AsyncFunctionDef):
            if node.lineno <= site.line <= (node.end_lineno or node.lineno):
                if function is None or node.lineno > function.lineno:
                    function = node
        if function is None:
            return None
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        owner = self.script.parent(function)
        if isinstance(owner, ast.ClassDef) and params and params[0] in ("self", "cls"):
            params = params[1:]
        holes = {h.name for h in site.path.holes if h.kind == "param"} if site.path else set()
        keywords = [a.arg for a in function.args.kwonlyargs]
        self_parser = site.schema is not None and site.schema.kind == "hf" and not site.schema.classes
        if not holes & set(params + keywords) and not (self_parser and isinstance(owner, ast.ClassDef)):
            return None
        name = f"{owner.name}.{function.name}" if isinstance(owner, ast.ClassDef) else function.name
        return HelperDef(self.script.path, name, tuple(params + keywords), site)

    def _read_hydra(self) -> None:
        for node in self.script.nodes(ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and (
                        self.qualname(decorator.func) or "") in ("hydra.main", "hydra.main.main"):
                    self._hydra_site(decorator, "main")
        compose_name: dict[str, str | None] = {}
        initializers: list[ast.Call] = []
        for call in self.script.calls:
            name = self.qualname(call.func) or ""
            if name in ("hydra.compose", "hydra.experimental.compose"):
                config_name = ParsedScript.argument(call, 0, "config_name")
                compose_name[self._function_name(call)] = (
                    config_name.value if isinstance(config_name, ast.Constant) else None)
            elif name in ("hydra.initialize", "hydra.initialize_config_dir",
                          "hydra.initialize_config_module", "hydra.experimental.initialize",
                          "hydra.experimental.initialize_config_dir"):
                initializers.append(call)
        for call in initializers:
            self._hydra_site(call, "compose", compose_name.get(self._function_name(call)))

    def _hydra_site(self, call: ast.Call, kind: str, config_name: str | None = None) -> None:
        name = self.qualname(call.func) or ""
        module = None
        if name.endswith("initialize_config_module"):
            module_node = ParsedScript.argument(call, 0, "config_module")
            module = module_node.value if isinstance(module_node, ast.Constant) else None
            config_dir = None
        elif name.endswith("initialize_config_dir"):
            config_dir = self.path_of(ParsedScript.argument(call, 0, "config_dir"), 0)
        else:
            path_node = ParsedScript.argument(call, 0, "config_path")
            config_dir = None
            if isinstance(path_node, ast.Constant) and isinstance(path_node.value, str):
                text = path_node.value
                if text.startswith("pkg://"):
                    module = text[len("pkg://"):]
                else:
                    config_dir = PathRef("abs" if text.startswith("/") else "file", (text,))
            elif path_node is not None:
                config_dir = self.path_of(path_node, 0)
            elif kind == "main":
                config_dir = None
        if kind == "main":
            name_node = ParsedScript.argument(call, 1, "config_name")
            config_name = name_node.value if isinstance(name_node, ast.Constant) else None
        self.facts.hydra.append(HydraSite(self.script.path, call.lineno, kind, config_dir,
                                          config_name, module))
        if "ConfigStore" in self.script.text:
            self._read_stores()

    def _read_stores(self) -> None:
        if self.facts.stores:
            return
        for call in self.script.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "store":
                name = ParsedScript.argument(call, None, "name")
                node = ParsedScript.argument(call, None, "node")
                group = ParsedScript.argument(call, None, "group")
                if isinstance(name, ast.Constant) and node is not None:
                    cls = self.class_name(node.func if isinstance(node, ast.Call) else node)
                    if cls is not None:
                        self.facts.stores.append(StoreEntry(
                            str(name.value), group.value if isinstance(group, ast.Constant) else None,
                            cls, call.lineno))

    def _read_wrap_decorators(self) -> None:
        """`@draccus.wrap()` / `@pyrallis.wrap()`: the config class is the annotation of the
        function's first parameter; the file comes from `--config_path`."""
        for node in self.script.nodes(ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = self.qualname(target) or ""
                if name == "torchtune.config.parse":  # `tune run recipe --config x.yaml`
                    self.facts.sites.append(LoadSite(
                        self.script.path, decorator.lineno, decorator.col_offset + 1,
                        "torchtune.config", "@config.parse",
                        PathRef("cwd", (Hole("arg", "config", True),)), node.name))
                    continue
                if name not in ("draccus.wrap", "pyrallis.wrap"):
                    continue
                args = node.args.args
                classes: tuple[str, ...] = ()
                if args and args[0].annotation is not None:
                    cls = self.class_name(args[0].annotation)
                    classes = (cls,) if cls else ()
                loader = name.split(".")[0]
                self.facts.sites.append(LoadSite(
                    self.script.path, decorator.lineno, decorator.col_offset + 1, loader,
                    f"@{name}", PathRef("cwd", (Hole("arg", "config_path"),)), node.name,
                    SchemaRef("class", classes, line=node.lineno)))


# -- small helpers ---------------------------------------------------------------------------------

def _helper_candidate(site: LoadSite) -> bool:
    """A load inside a def that its callers complete: a path from a parameter, or an
    HfArgumentParser subclass reading with `self` (the caller names the dataclasses)."""
    if site.path is not None and any(h.kind == "param" for h in site.path.holes):
        return True
    return site.schema is not None and site.schema.kind == "hf" and not site.schema.classes


def _called_on(call: ast.Call, name: str) -> bool:
    return isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) and \
        call.func.value.id == name


def _assigned_value(node: ast.AST) -> ast.AST | None:
    """The right-hand side a tuple-unpacking assignment binds from."""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value
    return None


def _mentions_argv(node: ast.AST, reader) -> bool:
    for part in ast.walk(node):
        if isinstance(part, (ast.Name, ast.Attribute)) and reader.qualname(part) == "sys.argv":
            return True
    return False


def _called(call: ast.Call) -> str:
    return dotted(call.func) or "call"


def _short(name: str) -> str:
    """`omegaconf.OmegaConf.load` -> `OmegaConf.load`, `yaml.safe_load` stays."""
    parts = name.split(".")
    for index, part in enumerate(parts):
        if part[:1].isupper():
            return ".".join(parts[index:])
    return ".".join(parts[-2:]) if len(parts) > 1 else name


def _literal(text: str) -> PathRef:
    if text.startswith(("/", "~")):
        return PathRef("abs", (text,))
    return PathRef("cwd", (text,)) if text else PathRef("cwd", ())


def _merge(parts: list[str | Hole]) -> tuple[str | Hole, ...]:
    from trainlint.consumers.paths import _merge as merge

    return merge(tuple(parts))


def _parent(ref: PathRef) -> PathRef:
    if ref.anchor == "file" and ref.parts == ("<self>",):
        return PathRef("file", ())
    return ref.parent()


def _globbed(pattern: PathRef) -> PathRef:
    """Glob characters of the literal parts become wildcard holes."""
    parts: list[str | Hole] = []
    for part in pattern.parts:
        if not isinstance(part, str):
            parts.append(part)
            continue
        for piece in re.split(r"(\*\*/|\*\*|\*|\?)", part):
            if piece in ("**/", "**"):
                parts.append(Hole("wild", "**"))
            elif piece in ("*", "?"):
                parts.append(Hole("wild", "*"))
            elif piece:
                parts.append(piece)
    return PathRef(pattern.anchor, _merge(parts))


def _with_suffix(ref: PathRef, suffix: str) -> PathRef:
    if ref.parts and isinstance(ref.parts[-1], str):
        last = ref.parts[-1]
        head, _, name = last.rpartition("/")
        stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
        name = f"{head}/{stem}{suffix}" if head else f"{stem}{suffix}"
        return PathRef(ref.anchor, (*ref.parts[:-1], name))
    return PathRef(ref.anchor, (*ref.parts, suffix))


def _imports(tree: ast.Module, module: str | None, is_package: bool = False) -> dict[str, str]:
    """Local name -> qualified name for every import statement of the file (in any block or
    function: an import's scope is ignored), relative imports resolved against `module` (a
    package's `__init__` is its own package)."""
    table: dict[str, str] = {}
    if is_package:
        package = module or ""
    else:
        package = module.rsplit(".", 1)[0] if module and "." in module else ""
    for node in _import_statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    table[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    table.setdefault(top, top)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".") if package else []
            up = node.level - 1
            if up > len(parts):
                continue
            parts = parts[:len(parts) - up] if up else parts
            base = ".".join([*parts, base] if base else parts)
        for alias in node.names:
            if alias.name != "*":
                table[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return table


_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _import_statements(statements: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements at any depth of statement blocks (expressions are not walked)."""
    stack = list(reversed(statements))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        for name in _BLOCK_FIELDS:
            block = getattr(node, name, None)
            if block:
                stack.extend(reversed(block))
