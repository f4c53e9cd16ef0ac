"""What a project's checkpoints hold and which loads read them: shared by TL401 and TL402.

`checkpoint_facts(script)` reads one script: the objects its saves store that
`torch.load(weights_only=True)` refuses, its refusing loads, the functions of its own that save
a parameter with `torch.save` (helpers, one level), and the classes it defines. A save is
`torch.save`, `xm.save`, `accelerator.save`, `fabric.save`, or a call of such a helper, in the
same file or imported from another file of the project. `object_saves(facts)` then resolves
what a file could not know alone: helpers and classes defined in other files, and parameters
named `args`/`opt` where the project parses its arguments with argparse.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Iterator

from msgspec import Struct
from msgspec.structs import replace

from trainlint.api import ParsedScript, Span

# What `weights_only=True` unpickles without help: tensors, plain containers and scalars.
SAFE_CALLS = frozenset({"state_dict", "item", "tolist", "cpu", "detach", "clone", "to",
                        "float", "int", "str", "bool", "vars", "dict", "list", "tuple",
                        "len", "round", "min", "max", "sum", "abs", "asdict", "to_container",
                        "to_dict", "_asdict", "getstate", "get_rng_state", "isoformat"})
NAMESPACE_MAKERS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args"})
# methods of a numpy array that give numpy values again
NUMPY_METHODS = frozenset({"mean", "sum", "std", "var", "max", "min", "median", "astype", "copy",
                           "reshape", "ravel", "flatten", "squeeze", "round", "cumsum", "argmax",
                           "argmin", "prod", "transpose", "clip"})
NUMPY_ARRAYS = frozenset({"numpy.array", "numpy.asarray", "numpy.zeros", "numpy.ones",
                          "numpy.empty", "numpy.stack", "numpy.concatenate", "numpy.arange"})
SAFE_GLOBALS = ("torch.serialization.add_safe_globals", "torch.serialization.safe_globals")
PATH_JOINS = frozenset({"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath",
                        "str", "os.fspath"})
_CONFIG = ("an OmegaConf DictConfig", None, "OmegaConf.to_container(cfg)")
_NUMPY_STATE = ("a numpy RNG state, which holds an array", None,
                "a plain copy (`(s[0], s[1].tolist(), *s[2:])`)")
# Calls whose result weights_only loading refuses (checked with torch 2.13): qualified name ->
# (what it is, the type to pass to add_safe_globals where one type does, what to save instead).
OBJECT_MAKERS: dict[str, tuple[str, str | None, str]] = {
    "argparse.Namespace": ("an argparse.Namespace", "argparse.Namespace", "vars(args)"),
    "types.SimpleNamespace": ("a types.SimpleNamespace", "types.SimpleNamespace", "vars(...)"),
    "omegaconf.OmegaConf.load": _CONFIG, "omegaconf.OmegaConf.create": _CONFIG,
    "omegaconf.OmegaConf.merge": _CONFIG, "omegaconf.OmegaConf.structured": _CONFIG,
    "easydict.EasyDict": ("an EasyDict", "easydict.EasyDict", "dict(cfg)"),
    "mmengine.Config.fromfile": ("an mmengine Config", None, "cfg.to_dict()"),
    "mmengine.config.Config.fromfile": ("an mmengine Config", None, "cfg.to_dict()"),
    "mmcv.Config.fromfile": ("an mmcv Config", None, "dict(cfg)"),
    "ml_collections.ConfigDict": ("an ml_collections ConfigDict", None, "cfg.to_dict()"),
    "yacs.config.CfgNode": ("a yacs CfgNode", None, "a plain dict"),
    "detectron2.config.get_cfg": ("a detectron2 CfgNode", None, "cfg.dump()"),
    "pathlib.Path": ("a pathlib.Path", None, "str(path)"),
    "pathlib.PurePath": ("a pathlib.Path", None, "str(path)"),
    "pathlib.PosixPath": ("a pathlib.Path", None, "str(path)"),
    "collections.defaultdict": ("a collections.defaultdict", None, "dict(...)"),
    "datetime.datetime.now": ("a datetime", None, ".isoformat()"),
    "numpy.random.get_state": _NUMPY_STATE,
    "numpy.random.RandomState": ("a numpy RandomState", None, "its state as tensors"),
}
# Annotations of a parameter that say it holds such an object.
OBJECT_ANNOTATIONS = {
    "argparse.Namespace": OBJECT_MAKERS["argparse.Namespace"],
    "omegaconf.DictConfig": _CONFIG, "omegaconf.dictconfig.DictConfig": _CONFIG,
}
# A parameter named so, in a project that parses its arguments with argparse, holds them.
ARGUMENT_NAMES = frozenset({"args", "opt", "opts"})
# Methods that give back an object of the kind they are called on (`model.to(device)` is the
# model, `x.cpu()` a tensor): a saved value is what its receiver is.
KEEPS_KIND = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train",
                        "eval", "requires_grad_", "share_memory"})
# Tensors under torch.nn that weights-only loading rebuilds (checked on torch 2.13).
TENSOR_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter",
                            "torch.nn.Buffer", "torch.nn.parameter.Buffer"})
MODULE_CLASSES = frozenset({"torch.nn.Module", "lightning.LightningModule",
                            "pytorch_lightning.LightningModule",
                            "lightning.pytorch.LightningModule"})
# Saving functions: qualified name -> (position and name of the saved object, of the path).
SAVE_FUNCTIONS = {"torch.save": (0, "obj", 1, "f"),
                  "torch_xla.core.xla_model.save": (0, "data", 1, "file_or_path")}
# `<receiver>.save(...)` of library objects: constructor -> (object, path positions and names,
# whether whole modules are fine because the library saves their state_dict).
SAVE_METHODS = {
    "accelerate.Accelerator": ((0, "obj", 1, "f"), False, "accelerator"),
    "lightning.Fabric": ((1, "state", 0, "path"), True, "fabric"),
    "lightning.fabric.Fabric": ((1, "state", 0, "path"), True, "fabric"),
    "lightning_fabric.Fabric": ((1, "state", 0, "path"), True, "fabric"),
}
HELPER_WORDS = ("save",)  # imported helpers worth a look across files


class SavedObject(Struct):
    """An object a save stores that weights-only loading refuses."""

    span: Span
    what: str
    key: str
    checkpoint: str | None  # the file name the save writes, where the code spells it out
    saver: str = "torch.save"  # what the code calls to save: `save_on_master`, `xm.save`, ...
    allow: str | None = None  # the type to pass to add_safe_globals, where one does
    instead: str = ""  # what to save instead
    settled: bool = False  # a load in the same file reads it (the file's own finding)
    if_argparse: bool = False  # a parameter named `args`: an object if the project uses argparse


class RefusingLoad(Struct):
    """A `torch.load` with weights_only=True, or the default (True from torch 2.6)."""

    line: int
    checkpoint: str | None
    explicit: bool  # weights_only=True written out: refuses on every version


class Helper(Struct):
    """A function of this file that saves one of its parameters."""

    name: str
    position: int | None  # of the saved parameter at a call site (self not counted)
    keyword: str | None
    path_position: int | None
    path_keyword: str | None


class ImportedCall(Struct):
    """A call of a function imported from a project module, whose arguments hold objects."""

    module: str
    level: int  # of a relative import (`from .misc import save_on_master`: 1)
    name: str
    objects: list[tuple[int | None, str | None, SavedObject]]  # (position, keyword, object)
    paths: list[tuple[int | None, str | None, str | None]]  # (position, keyword, checkpoint)


class ImportedInstance(Struct):
    """A saved value made by calling a class imported from a project module."""

    module: str
    level: int
    name: str
    saved: SavedObject
    modules_fine: bool  # saved by a library that stores an nn.Module's state_dict


class CheckpointFacts(Struct):
    saves: list[SavedObject]
    loads: list[RefusingLoad]
    helpers: list[Helper]
    classes: dict[str, bool]  # top-level classes -> whether each is an nn.Module
    calls: list[ImportedCall]
    instances: list[ImportedInstance]
    parses_arguments: bool
    allows_globals: bool  # calls add_safe_globals / safe_globals: its loads accept what it needs


# ---------------------------------------------------------------- one script

def checkpoint_facts(script: ParsedScript) -> CheckpointFacts:
    """Everything the file tells about checkpoints (see the module docstring). A file that
    calls nothing named `load` or `save...` only defines classes or parses arguments: that is
    read from its text."""
    if not saves_or_loads(script.text):
        return text_facts(script.text)
    return script.derived(checkpoint_facts, _facts)


# Each pattern begins with a literal, which `re` finds at memchr speed; the word boundary
# before it is checked by hand (a pattern that begins with `\b` or `^` is tried at every
# position: ~40 ns a byte, most of a project scan's time on the files it does not parse).
_LOAD_CALL = re.compile(r"load\s*\(")
_SAVE_CALL = re.compile(r"save\w*\s*\(")
_CLASS = re.compile(r"\nclass[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?[ \t]*:")  # at a line's start


def saves_or_loads(text: str) -> bool:
    """A call of `load(`, `save(` or a helper named `save...(`: the files worth parsing."""
    return any(starts_word(text, match.start()) for pattern in (_LOAD_CALL, _SAVE_CALL)
               for match in pattern.finditer(text))


def starts_word(text: str | bytes, at: int) -> bool:
    """Whether a word starts at `at`: what a word boundary before a word character asks."""
    if at == 0:
        return True
    before = text[at - 1:at]
    return not (before.isalnum() or before == ("_" if isinstance(text, str) else b"_"))


def text_facts(text: str) -> CheckpointFacts:
    """What a file without saves or loads tells its project, without parsing it: its
    top-level classes (an nn.Module where a base says so) and whether it parses arguments."""
    classes = ({match.group(1): "Module" in (match.group(2) or "")
                for match in _CLASS.finditer("\n" + text)} if "class" in text else {})
    parses = any(f"{name}(" in text for name in NAMESPACE_MAKERS)
    return CheckpointFacts([], [], [], classes, [], [], parses, False)


def _facts(script: ParsedScript) -> CheckpointFacts:
    allows = any(script.calls_to(SAFE_GLOBALS))
    loads = [] if allows else [load for _, load in refusing_loads(script)]
    own_loads = [checkpoint_name(script, script.argument(call, 0, "f"))
                 for call, _ in script.calls_to(("torch.load",))]
    saves = []
    for saved in saved_objects(script):
        saved.settled = any(same_checkpoint(saved.checkpoint, name) for name in own_loads)
        saves.append(saved)
    classes = {node.name: is_module_class(script, node) for node in script.tree.body
               if isinstance(node, ast.ClassDef)}
    calls, instances = _imported_saves(script)
    parses = any(isinstance(call.func, ast.Attribute) and call.func.attr in NAMESPACE_MAKERS
                 for call in script.calls)
    return CheckpointFacts(saves, loads, list(_helpers(script).values()), classes, calls,
                           instances, parses, allows)


def refusing_loads(script: ParsedScript) -> list[tuple[ast.Call, RefusingLoad]]:
    """Loads that refuse objects: weights_only=True, or the default (no pickle_module=)."""
    found = []
    for call, _ in script.calls_to(("torch.load",)):
        keyword = script.keyword(call, "weights_only")
        if keyword is None:
            if script.argument(call, 2, "pickle_module") is not None or script.has_kwargs(call):
                continue
            explicit = False
        elif script.literal(keyword.value) is True:
            explicit = True
        else:
            continue
        name = checkpoint_name(script, script.argument(call, 0, "f"))
        found.append((call, RefusingLoad(call.lineno, name, explicit)))
    return found


def saved_objects(script: ParsedScript) -> list[SavedObject]:
    """The objects weights-only loading refuses that this file's saves store: torch.save and
    the wrappers, and calls of the file's own helpers."""
    found = []
    for call, obj, path, modules_fine in _saves(script):
        checkpoint = checkpoint_name(script, path)
        for value, key, what in objects_in(script, obj, modules_fine):
            found.append(_saved(script, value, key, what, checkpoint, call))
    return found


def _saved(script: ParsedScript, value: ast.expr, key: str, what: tuple, checkpoint: str | None,
           call: ast.Call) -> SavedObject:
    text, allow, instead, if_argparse = what
    saver = _short(script, call.func)
    return SavedObject(script.span(value), text, key, checkpoint, saver, allow, instead,
                       if_argparse=if_argparse)


def _saves(script: ParsedScript) -> Iterator[tuple[ast.Call, ast.expr | None, ast.expr | None, bool]]:
    """(call, saved object, path, whole modules are fine) of every save in the file."""
    for call, name in script.calls_to(SAVE_FUNCTIONS):
        position, keyword, path_position, path_keyword = SAVE_FUNCTIONS[name]
        yield (call, script.argument(call, position, keyword),
               script.argument(call, path_position, path_keyword), False)
    for call in script.method_calls("save"):
        method = _save_method(script, call)
        if method is not None:
            (position, keyword, path_position, path_keyword), modules_fine = method
            yield (call, script.argument(call, position, keyword),
                   script.argument(call, path_position, path_keyword), modules_fine)
    helpers = _helpers(script)
    if helpers:
        for call in script.calls:
            callee = script.callee(call)
            helper = helpers.get(id(callee)) if callee is not None else None
            if helper is not None:
                yield (call, _argument(script, call, helper.position, helper.keyword),
                       _argument(script, call, helper.path_position, helper.path_keyword), False)


def _save_method(script: ParsedScript, call: ast.Call) -> tuple[tuple, bool] | None:
    """`accelerator.save(obj, f)`, `fabric.save(path, state)`: the library's signature."""
    receiver = call.func.value  # type: ignore[attr-defined]
    made = script.constructor(receiver)
    if made in SAVE_METHODS:
        signature, modules_fine, _ = SAVE_METHODS[made]
        return signature, modules_fine
    tail = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
    imported = set(script.aliases.values())
    for constructor, (signature, modules_fine, name) in SAVE_METHODS.items():
        package = constructor.split(".", 1)[0]
        if tail == name and any(each.split(".", 1)[0] == package for each in imported):
            return signature, modules_fine
    return None


def _argument(script: ParsedScript, call: ast.Call, position: int | None,
              keyword: str | None) -> ast.expr | None:
    if keyword is not None or position is not None:
        return script.argument(call, position, keyword or "")
    return None


def _helpers(script: ParsedScript) -> dict[int, Helper]:
    """Functions of this file that pass a parameter to torch.save (or forward `*args`): def
    node id -> Helper. One level: a helper of a helper is not followed."""
    return script.derived(_helpers, _find_helpers)


def _find_helpers(script: ParsedScript) -> dict[int, Helper]:
    helpers: dict[int, Helper] = {}
    for call, name in script.calls_to(SAVE_FUNCTIONS):
        function = script.enclosing_function(call)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        position, keyword, path_position, path_keyword = SAVE_FUNCTIONS[name]
        params = _positional_params(script, function)
        vararg = function.args.vararg.arg if function.args.vararg else None
        if call.args and isinstance(call.args[0], ast.Starred) and vararg is not None \
                and isinstance(call.args[0].value, ast.Name) and call.args[0].value.id == vararg:
            helpers[id(function)] = Helper(function.name, len(params) + position, None,
                                           len(params) + path_position, None)
            continue
        saved = script.argument(call, position, keyword)
        if not isinstance(saved, ast.Name):
            continue
        binding = script.binding_of(saved)
        if binding is None or binding.kind != "param" or script.scope_of(saved).node is not function:
            continue
        path = script.argument(call, path_position, path_keyword)
        path_param = path.id if isinstance(path, ast.Name) else None
        helpers[id(function)] = Helper(
            function.name, params.index(saved.id) if saved.id in params else None, saved.id,
            params.index(path_param) if path_param in params else None,
            path_param if path_param in _all_params(function) else None)
    return helpers


def _positional_params(script: ParsedScript, function: ast.AST) -> list[str]:
    args = function.args  # type: ignore[attr-defined]
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    scope = script.scope_for(function)
    if scope is not None and scope.self_name is not None and names:
        names = names[1:]  # `self` is not passed at the call site
    return names


def _all_params(function: ast.AST) -> set[str]:
    args = function.args  # type: ignore[attr-defined]
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}


def _imported_saves(script: ParsedScript) -> tuple[list[ImportedCall], list[ImportedInstance]]:
    """Calls of functions imported from elsewhere whose names say they save, with the objects
    their arguments hold; these are saves if the project defines them as helpers."""
    calls = []
    for call in script.calls:
        func = call.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if not any(word in called.lower() for word in HELPER_WORDS):
            continue
        origin = _imported_origin(script, func)
        if origin is None or script.qualname(func) in SAVE_FUNCTIONS:
            continue  # torch.save and xm.save are saves already (_saves), no project's helpers
        objects, paths = [], []
        arguments = [(i, None, arg) for i, arg in enumerate(call.args)
                     if not isinstance(arg, ast.Starred)]
        arguments += [(None, k.arg, k.value) for k in call.keywords if k.arg is not None]
        for position, keyword, value in arguments:
            for found, key, what in objects_in(script, value):
                objects.append((position, keyword, _saved(script, found, key, what, None, call)))
            paths.append((position, keyword, checkpoint_name(script, value)))
        if objects:
            calls.append(ImportedCall(*origin, objects, paths))
    instances = []
    for call, obj, path, modules_fine in _saves(script):
        if obj is None:
            continue
        checkpoint = checkpoint_name(script, path)
        for value, key in _values_saved(script, obj):
            made = script.origin(value, KEEPS_KIND)
            if isinstance(made, ast.Call):
                origin = _imported_origin(script, made.func)
                if (origin is not None and origin[2][:1].isupper()
                        and not _library_class(script.qualname(made.func) or "")):
                    short = _short(script, made)
                    saved = SavedObject(script.span(value), f"a {origin[2]} instance (`{short}`)",
                                        key, checkpoint, _short(script, call.func), origin[2],
                                        "its fields as a dict (`dataclasses.asdict`, `vars`)")
                    instances.append(ImportedInstance(*origin, saved, modules_fine))
    return calls, instances


def _library_class(name: str) -> bool:
    """A class whose objects `foreign` knows (`argparse.Namespace`, `torch.nn.Linear`): not
    one of the project's, however it was imported."""
    return name in OBJECT_MAKERS or name in TENSOR_CLASSES or name.startswith("torch.")


def _imported_origin(script: ParsedScript, func: ast.expr) -> tuple[str, int, str] | None:
    """(module, level, name) of a function or class imported with `from module import name`
    or called as `module.name`; None for anything else."""
    if isinstance(func, ast.Name):
        binding = script.binding_of(func)
        node = binding.node if binding is not None else None
        if isinstance(node, ast.ImportFrom) and binding.kind in ("import", "target"):
            for alias in node.names:
                if (alias.asname or alias.name) == func.id:
                    return node.module or "", node.level, alias.name
        return None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        binding = script.binding_of(func.value)
        node = binding.node if binding is not None else None
        if isinstance(node, ast.Import) and binding.qualname:
            return binding.qualname, 0, func.attr
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == func.value.id:
                    module = f"{node.module}.{alias.name}" if node.module else alias.name
                    return module, node.level, func.attr
    return None


# ---------------------------------------------------------------- what a save holds

def objects_in(script: ParsedScript, saved: ast.expr | None, modules_fine: bool = False,
               ) -> Iterator[tuple[ast.expr, str, tuple]]:
    """(value, key, (what, allow, instead, if_argparse)) for each refused object in a saved
    expression: the expression itself, or each entry of a saved dict."""
    if saved is None:
        return
    for value, key in _values_saved(script, saved):
        what = foreign(script, value)
        if what and not (modules_fine and what[0].startswith("a whole nn.Module")):
            yield value, key, what


def _values_saved(script: ParsedScript, saved: ast.expr) -> list[tuple[ast.expr, str]]:
    entries = _dict_entries(script, saved)
    return [(saved, "")] if entries is None else [(value, key) for key, value in entries]


def _dict_entries(script: ParsedScript, saved: ast.expr,
                  depth: int = 0) -> list[tuple[str, ast.expr]] | None:
    """(key, value) pairs of a saved dict (literal, `dict(...)`, or built key by key)."""
    made = script.origin(saved, frozenset()) if depth < 3 else saved
    entries: list[tuple[str, ast.expr]] = []
    if isinstance(made, ast.Dict):
        for key, value in zip(made.keys, made.values):
            if key is None:  # {**other}
                entries.extend(_dict_entries(script, value, depth + 1) or [])
                continue
            if isinstance(value, ast.Dict):
                entries.extend(_dict_entries(script, value, depth + 1) or [])
                continue
            entries.append((_key_text(script, key), value))
    elif isinstance(made, ast.Call) and isinstance(made.func, ast.Name) and made.func.id == "dict":
        for keyword in made.keywords:
            if keyword.arg is not None:
                entries.append((repr(keyword.arg), keyword.value))
    else:
        return None
    if isinstance(saved, ast.Name):
        entries.extend(_item_assignments(script, saved))
    return entries


def _key_text(script: ParsedScript, key: ast.expr) -> str:
    text = script.source(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _short(script: ParsedScript, node: ast.AST) -> str:
    source = script.source(node)
    return source if len(source) <= 40 else source[:37] + "..."


def _item_assignments(script: ParsedScript, name: ast.Name) -> list[tuple[str, ast.expr]]:
    """`checkpoint['k'] = v` statements in the scope that saves `checkpoint`."""
    scope = script.scope_of(name)
    found = []
    for node in script.nodes(ast.Assign):
        if script.scope_of(node) is not scope:
            continue
        for target in node.targets:
            if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                    and target.value.id == name.id and node.lineno <= name.lineno):
                found.append((_key_text(script, target.slice), node.value))
    return found


def foreign(script: ParsedScript, value: ast.expr, depth: int = 0) -> tuple | None:
    """(what, allow, instead, if_argparse) when weights_only loading refuses `value`."""
    if depth > 4:
        return None
    if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        for element in value.elts:
            found = foreign(script, element, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return foreign(script, value.elt, depth + 1)
    if isinstance(value, (ast.Name, ast.Attribute)):
        made = script.origin(value, KEEPS_KIND)
        if made is value:
            return _unresolved(script, value)
        return foreign(script, made, depth + 1)
    if not isinstance(value, ast.Call):
        return None
    if isinstance(value.func, ast.Attribute) and value.func.attr in KEEPS_KIND:
        return foreign(script, value.func.value, depth + 1)
    return _made_by(script, value, depth)


def _made_by(script: ParsedScript, value: ast.Call, depth: int) -> tuple | None:
    func = value.func
    name = script.qualname(func) or ""
    short = _short(script, value)
    known = OBJECT_MAKERS.get(name)
    if known is not None:
        what, allow, instead = known
        return f"{what} (`{short}`)", allow, instead, False
    if name.startswith("numpy."):
        kind = "array" if name in NUMPY_ARRAYS else "value"
        return f"a numpy {kind} (`{short}`)", None, "`.tolist()` or `float(...)`", False
    if isinstance(func, ast.Attribute):
        if func.attr == "numpy":
            return f"a numpy array (`{short}`)", None, "the tensor itself", False
        if func.attr in NAMESPACE_MAKERS:
            return f"an argparse.Namespace (`{short}`)", "argparse.Namespace", "vars(args)", False
        if func.attr == "get_state" and script.constructor(func.value) in (
                "numpy.random.RandomState", "numpy.random.mtrand.RandomState"):
            what, allow, instead = _NUMPY_STATE
            return f"{what} (`{short}`)", allow, instead, False
        if func.attr in NUMPY_METHODS:
            receiver = foreign(script, func.value, depth + 1)
            if receiver and receiver[0].startswith("a numpy"):
                return f"a numpy value (`{short}`)", None, "`.tolist()` or `float(...)`", False
        if func.attr in SAFE_CALLS:
            return None
    if isinstance(func, ast.Name):
        if func.id in SAFE_CALLS:
            return None
        binding = script.binding_of(func)
        if binding is not None and binding.kind == "class":
            if is_module_class(script, binding.node):
                return (f"a whole nn.Module (`{short}`; save its .state_dict())", None,
                        "its .state_dict()", False)
            return (f"a {func.id} instance", func.id,
                    "its fields as a dict (`dataclasses.asdict`, `vars`)", False)
    if (name.startswith("torch.nn.") and name[len("torch.nn."):][:1].isupper()
            and name not in TENSOR_CLASSES):
        return (f"a whole nn.Module (`{short}`; save its .state_dict())", None,
                "its .state_dict()", False)
    return None


def _unresolved(script: ParsedScript, value: ast.expr) -> tuple | None:
    """A name whose value the file does not show: a parameter annotated with an object type,
    or named like the parsed arguments (`args`, `opt`)."""
    if not isinstance(value, ast.Name):
        return None
    binding = script.binding_of(value)
    if binding is not None and binding.kind == "param":
        annotation = getattr(binding.node, "annotation", None)
        if annotation is not None:
            known = OBJECT_ANNOTATIONS.get(script.qualname(annotation) or "")
            if known is not None:
                what, allow, instead = known
                return f"{what} (`{value.id}: {script.source(annotation)}`)", allow, instead, False
            return None  # annotated with another type: not a guess
    if value.id not in ARGUMENT_NAMES:
        return None
    parsed_here = _parsed_into(script, value.id)
    what = ("an argparse.Namespace (`args` from parse_args())" if parsed_here
            else f"an argparse.Namespace (`{value.id}`: the project parses its arguments with "
                 "argparse)")
    return what, "argparse.Namespace", f"vars({value.id})", not parsed_here


def _parsed_into(script: ParsedScript, name: str) -> bool:
    for call in script.calls:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in NAMESPACE_MAKERS:
            parent = script.parent(call)
            if isinstance(parent, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name for t in parent.targets):
                return True
    return False


def is_module_class(script: ParsedScript, node: ast.AST) -> bool:
    if not isinstance(node, ast.ClassDef):
        return False
    return any((script.qualname(base) or "") in MODULE_CLASSES for base in node.bases)


# ---------------------------------------------------------------- checkpoint names

def checkpoint_name(script: ParsedScript, expr: ast.expr | None, depth: int = 0) -> str | None:
    """The file name a path expression ends in, where the code spells it out; a pattern with
    `*` for the formatted parts of an f-string (`f"rng_state_{rank}.pth"` ->
    `rng_state_*.pth`)."""
    if expr is None or depth > 4:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        name = expr.value.replace("\\", "/").rsplit("/", 1)[-1]
        return name if "." in name.strip(".*") else None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return checkpoint_name(script, expr.right, depth + 1)
    if isinstance(expr, ast.JoinedStr) and expr.values:
        pattern = "".join(part.value if isinstance(part, ast.Constant) else "*"
                          for part in expr.values)
        return checkpoint_name(script, ast.Constant(pattern), depth + 1)
    if isinstance(expr, ast.Call) and expr.args:
        if script.qualname(expr.func) in PATH_JOINS:
            return checkpoint_name(script, expr.args[-1], depth + 1)
        return None
    if isinstance(expr, ast.Name):
        made = script.origin(expr, frozenset(), depth=3, follow_calls=False)
        return None if made is expr else checkpoint_name(script, made, depth + 1)
    return None


def is_test_file(path: str) -> bool:
    """A test module (`tests/...`, `test_*.py`, `*_test.py`, `conftest.py`)."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    return (any(part in ("tests", "test", "unittests", "unit_tests") for part in parts[:-1])
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def may_read(save_path: str, load_path: str) -> bool:
    """Whether a load in one file may read a checkpoint saved in another: a test module's
    checkpoints are its own (toy objects, temporary files), and it reads no other's."""
    if is_test_file(save_path) or is_test_file(load_path):
        return os.path.abspath(save_path) == os.path.abspath(load_path)
    return True


def same_checkpoint(saved: str | None, loaded: str | None) -> bool:
    """Whether a load may read what a save wrote: yes unless both name different files (a
    name with `*` is a pattern: `rng_state_*.pth` is not `common.pt`)."""
    if saved is None or loaded is None or saved == loaded:
        return True
    if "*" in saved or "*" in loaded:
        from fnmatch import fnmatchcase

        return fnmatchcase(loaded, saved) or fnmatchcase(saved, loaded)
    return False


# ---------------------------------------------------------------- across files

def object_saves(facts: dict[str, CheckpointFacts]) -> list[tuple[str, SavedObject, bool]]:
    """(path, object, settled) for every save of the project's files, with the saves through
    helpers and of classes defined in other files, and `args` parameters where the project
    parses arguments. `settled`: a load in the save's own file reads it."""
    argparse_project = any(fact.parses_arguments for fact in facts.values())
    modules = ModuleIndex.of(facts)
    found = []
    for path, fact in facts.items():
        for saved in fact.saves:
            if not saved.if_argparse or argparse_project:
                found.append((path, saved, saved.settled))
        for call in fact.calls:
            defining = modules.file_of(path, call.module, call.level)
            helper = None if defining is None else next(
                (h for h in facts[defining].helpers if h.name == call.name), None)
            if helper is None:
                continue
            checkpoint = next((name for position, keyword, name in call.paths
                               if _matches(position, keyword, helper.path_position,
                                           helper.path_keyword)), None)
            for position, keyword, saved in call.objects:
                if _matches(position, keyword, helper.position, helper.keyword) and (
                        not saved.if_argparse or argparse_project):
                    found.append((path, replace(saved, checkpoint=checkpoint), False))
        for instance in fact.instances:
            defining = modules.file_of(path, instance.module, instance.level)
            if defining is None or instance.name not in facts[defining].classes:
                continue
            saved = instance.saved
            if facts[defining].classes[instance.name]:
                if instance.modules_fine:
                    continue
                saved = replace(saved, what=f"a whole nn.Module (a {instance.name}; save its "
                                            ".state_dict())", allow=None,
                                instead="its .state_dict()")
            found.append((path, saved, False))
    return found


_MODULE_INDEXES: dict[tuple[str, tuple[str, ...]], ModuleIndex] = {}


def _matches(position: int | None, keyword: str | None, want_position: int | None,
             want_keyword: str | None) -> bool:
    return (position is not None and position == want_position) or (
        keyword is not None and keyword == want_keyword)


class ModuleIndex:
    """Which of the project's files a module name (absolute or relative) names. Read only
    once made (`of` shares one)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.by_absolute: dict[str, str] = {}
        self.by_dotted: dict[tuple[str, ...], str] = {}
        for path in paths:
            absolute = os.path.abspath(path)
            self.by_absolute[absolute] = path
            parts = absolute[:-len(".py")].split(os.sep) if absolute.endswith(".py") else []
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            for start in range(1, len(parts)):
                self.by_dotted.setdefault(tuple(parts[start:]), path)

    @classmethod
    def of(cls, paths: Iterable[str]) -> ModuleIndex:
        """The index of these paths, made once per run for the same paths from the same
        folder: each load of a project asks for its project's (400 files, 30 loads)."""
        key = (os.getcwd(), tuple(paths))
        made = _MODULE_INDEXES.get(key)
        if made is None:
            if len(_MODULE_INDEXES) >= 32:
                _MODULE_INDEXES.clear()
            made = _MODULE_INDEXES[key] = cls(key[1])
        return made

    def file_of(self, importer: str, module: str, level: int) -> str | None:
        parts = [part for part in module.split(".") if part]
        if level:
            base = os.path.dirname(os.path.abspath(importer))
            for _ in range(level - 1):
                base = os.path.dirname(base)
            for candidate in (os.path.join(base, *parts) + ".py",
                              os.path.join(base, *parts, "__init__.py")):
                if candidate in self.by_absolute:
                    return self.by_absolute[candidate]
            return None
        return self.by_dotted.get(tuple(parts)) if parts else None
