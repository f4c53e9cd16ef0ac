"""Schemas from the project's own code, read from the `ast`: dataclasses, pydantic models,
attrs classes, argparse parsers and yacs defaults trees.

A `ProjectSchema` is what one consumer checks a config against: its fields (name, type,
default, choices, nesting), whether it is closed (a key it does not know fails the run) and
whether it is complete (every base class and part was read: when not, a key it does not list
may still exist). Pydantic is imported only when a value must be validated
(`ProjectSchema.validate`): `import pydantic` and building a model cost ~120 ms.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from typing import Any

from msgspec import Struct, field

from trainlint.api import UNRESOLVED
from trainlint.formats.python.ast_index import dotted

__all__ = ["ProjectSchema", "SchemaClass", "SchemaField", "TypeSpec"]

_MISSING: Any = UNRESOLVED  # a default that is not a literal (or no default at all: see has_default)

_DATACLASS_DECORATORS = {"dataclass", "dataclasses.dataclass", "attr.s", "attr.attrs", "attrs",
                         "attr.define", "attrs.define", "define", "frozen", "attr.frozen",
                         "attrs.frozen", "mutable", "attr.mutable", "pydantic.dataclasses.dataclass",
                         "flax.struct.dataclass", "chex.dataclass"}
_MODEL_BASES = {"BaseModel", "BaseSettings", "pydantic.BaseModel", "pydantic_settings.BaseSettings"}
_TYPING_MODULES = {"typing", "typing_extensions", "collections", "pathlib", "os", "builtins"}
_SCALARS = {"float": "float", "int": "int", "str": "str", "bool": "bool", "bytes": "str",
            "None": "none", "NoneType": "none", "Path": "str", "pathlib.Path": "str",
            "os.PathLike": "str", "Any": "any", "typing.Any": "any", "object": "any",
            "dict": "dict", "Dict": "dict", "typing.Dict": "dict", "Mapping": "dict",
            "MutableMapping": "dict", "list": "list", "List": "list", "typing.List": "list",
            "Sequence": "list", "tuple": "list", "Tuple": "list", "typing.Tuple": "list",
            "set": "list", "Set": "list", "Iterable": "list"}


class TypeSpec(Struct, frozen=True):
    """A field's annotation, read: `Optional[float]` is a union of float and none."""

    kind: str  # float int str bool none any dict list literal enum class union unknown
    args: tuple[TypeSpec, ...] = ()  # union members, list item, dict key/value
    values: tuple = ()  # literal / enum values
    name: str = ""  # class or enum name (qualified where known)
    text: str = ""  # the annotation as written

    @property
    def optional(self) -> bool:
        return self.kind == "none" or (self.kind == "union" and any(a.kind == "none" for a in self.args))

    def describe(self) -> str:
        return self.text or self.kind


class SchemaField(Struct):
    name: str
    type: TypeSpec
    default: Any = _MISSING  # the literal default; UNRESOLVED when not a literal
    has_default: bool = False
    default_factory: str | None = None  # `field(default_factory=list)` -> "list"
    choices: tuple | None = None  # Literal / Enum values / argparse choices
    help: str | None = None
    path: str = ""
    line: int = 0
    nested: SchemaClass | None = None  # the class of a field typed with a project class
    constraints: dict[str, Any] = field(default_factory=dict)  # pydantic Field(ge=..., le=...)


class SchemaClass(Struct):
    """One class (or parser, or yacs node) of the project read as a schema."""

    name: str
    kind: str  # dataclass | pydantic | attrs | argparse | yacs | enum | external
    path: str
    line: int
    fields: dict[str, SchemaField] = field(default_factory=dict)
    closed: bool = True  # a key it does not declare fails (per kind: see ProjectSchema)
    complete: bool = True  # every base resolved
    external: tuple[str, ...] = ()  # bases (or members) outside the project
    extra: str | None = None  # pydantic `extra=` setting when written


class ProjectSchema(Struct):
    """The schema one consumer applies: one class, several (HfArgumentParser), a parser or a
    yacs tree."""

    name: str  # "TrainConfig", "ModelArguments + DataArguments", "argparse of train.py"
    kind: str
    path: str
    line: int
    parts: tuple[SchemaClass, ...]
    closed: bool  # unknown keys fail the run
    known_external: frozenset[str] = frozenset()  # keys known from a framework table
    _model: Any = None

    @property
    def complete(self) -> bool:
        return all(part.complete for part in self.parts)

    @property
    def external(self) -> tuple[str, ...]:
        return tuple(name for part in self.parts for name in part.external)

    @property
    def fields(self) -> dict[str, SchemaField]:
        merged: dict[str, SchemaField] = {}
        for part in self.parts:
            for name, item in part.fields.items():
                merged.setdefault(name, item)
        return merged

    def field(self, key: str) -> SchemaField | None:
        """The field a dotted key names (`optimizer.lr` walks nested classes), or None."""
        head, _, rest = key.partition(".")
        found = self.fields.get(head)
        while found is not None and rest:
            if found.nested is None:
                return None
            head, _, rest = rest.partition(".")
            found = found.nested.fields.get(head)
        return found

    def knows(self, key: str) -> bool | None:
        """True when the schema declares `key`, False when it surely does not, None when it
        cannot tell (a base class or part outside the project, an open node)."""
        if self.field(key) is not None:
            return True
        head = key.split(".", 1)[0]
        if head in self.known_external:
            return True
        parts = key.split(".")
        if len(parts) > 1:
            parent = self.field(".".join(parts[:-1]))
            if parent is None or parent.nested is None:
                return None
            node = parent.nested
            return False if node.complete and node.closed else None
        if not self.complete and not self.known_external:
            return None
        if self.external and not self.known_external:
            return None
        return False

    def check(self, key: str, value: Any, converts_strings: bool = False) -> str | None:
        """A plain-Python check of one value against its field's type and choices: the
        problem in words, or None (valid, or not decidable here)."""
        item = self.field(key)
        if item is None:
            return None
        return _check_value(item.type, value, converts_strings, item.choices)

    # -- pydantic (lazy) ---------------------------------------------------------------------------
    def validate(self, data: dict, strict: bool = False) -> list[tuple[str, str]]:
        """Validate a whole config with a Pydantic model built from this schema: (dotted
        key, message) per error. Imports pydantic on first use."""
        from pydantic import ValidationError

        model = self.pydantic_model(strict)
        try:
            model.model_validate(data)
        except ValidationError as exc:
            return [(".".join(str(p) for p in error["loc"]), error["msg"]) for error in exc.errors()]
        return []

    def pydantic_model(self, strict: bool = False):
        cache_key = ("model", strict)
        if self._model is None:
            self._model = {}
        if cache_key not in self._model:
            from trainlint.consumers.models import build_model

            self._model[cache_key] = build_model(self, strict)
        return self._model[cache_key]


# -- checking values without pydantic --------------------------------------------------------------

def _check_value(spec: TypeSpec, value: Any, converts: bool, choices: tuple | None) -> str | None:
    if value is UNRESOLVED:
        return None
    if choices and value not in choices and not (converts and str(value) in map(str, choices)):
        return f"must be one of {', '.join(map(repr, choices))}"
    if _fits(spec, value, converts):
        return None
    return f"expected {spec.describe()}, got {type(value).__name__} {value!r}"


def _fits(spec: TypeSpec, value: Any, converts: bool) -> bool:
    kind = spec.kind
    if kind in ("any", "unknown", "class", "enum"):
        return True
    if kind == "union":
        return any(_fits(arg, value, converts) for arg in spec.args)
    if kind == "none":
        return value is None
    if kind == "literal":
        return value in spec.values or (converts and str(value) in map(str, spec.values))
    if kind == "bool":
        return isinstance(value, bool) or (converts and isinstance(value, str) and
                                           value.lower() in ("true", "false", "1", "0", "yes", "no"))
    if kind == "int":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        return converts and isinstance(value, str) and value.strip().lstrip("+-").isdigit()
    if kind == "float":
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return True
        if converts and isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return False
            return True
        return False
    if kind == "str":
        return isinstance(value, str) or converts
    if kind == "list":
        return isinstance(value, (list, tuple)) or (converts and isinstance(value, str))
    if kind == "dict":
        return isinstance(value, dict)
    return True


# -- reading annotations ---------------------------------------------------------------------------

class TypeReader:
    """Annotations to TypeSpecs; `resolve(name)` names project classes and enums."""

    def __init__(self, qualify: Callable[[ast.AST], str | None]) -> None:
        self.qualify = qualify

    def read(self, node: ast.AST | None, depth: int = 0) -> TypeSpec:
        if node is None:
            return TypeSpec("unknown")
        text = ast.unparse(node) if depth == 0 else ""
        spec = self._read(node, depth)
        return TypeSpec(spec.kind, spec.args, spec.values, spec.name, text) if text else spec

    def _read(self, node: ast.AST, depth: int) -> TypeSpec:
        if depth > 8:
            return TypeSpec("unknown")
        if isinstance(node, ast.Constant):
            if node.value is None:
                return TypeSpec("none")
            if isinstance(node.value, str):  # a string annotation
                try:
                    inner = ast.parse(node.value, mode="eval").body
                except SyntaxError:
                    return TypeSpec("unknown")
                return self._read(inner, depth + 1)
            return TypeSpec("unknown")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return _union([self._read(node.left, depth + 1), self._read(node.right, depth + 1)])
        if isinstance(node, ast.Subscript):
            return self._subscript(node, depth)
        name = dotted(node)
        if name is None:
            return TypeSpec("unknown")
        if name in _SCALARS:
            return TypeSpec(_SCALARS[name])
        qualified = self.qualify(node)
        short = name.rsplit(".", 1)[-1]
        if short in _SCALARS and (qualified is None or qualified.split(".", 1)[0] in _TYPING_MODULES):
            return TypeSpec(_SCALARS[short])
        return TypeSpec("class", name=qualified or name)

    def _subscript(self, node: ast.Subscript, depth: int) -> TypeSpec:
        outer = (dotted(node.value) or "").rsplit(".", 1)[-1]
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer == "Optional":
            return _union([self._read(items[0], depth + 1), TypeSpec("none")])
        if outer == "Union":
            return _union([self._read(item, depth + 1) for item in items])
        if outer == "Literal":
            values = tuple(item.value for item in items if isinstance(item, ast.Constant))
            return TypeSpec("literal", values=values)
        if outer in ("Annotated", "Final", "ClassVar", "InitVar", "Required", "NotRequired"):
            return self._read(items[0], depth + 1)
        base = _SCALARS.get(outer)
        if base in ("list", "dict"):
            kept = [item for item in items
                    if not (isinstance(item, ast.Constant) and item.value is Ellipsis)]
            return TypeSpec(base, tuple(self._read(item, depth + 1) for item in kept))
        return TypeSpec("unknown")


def _union(members: list[TypeSpec]) -> TypeSpec:
    flat: list[TypeSpec] = []
    for member in members:
        flat.extend(member.args if member.kind == "union" else (member,))
    return flat[0] if len(flat) == 1 else TypeSpec("union", tuple(flat))


# -- reading classes -------------------------------------------------------------------------------

def class_kind(node: ast.ClassDef, qualify: Callable[[ast.AST], str | None]) -> str | None:
    """dataclass / pydantic / attrs / enum for a class that declares a schema, else None."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = qualify(target) or dotted(target) or ""
        short = name.rsplit(".", 1)[-1]
        if name in _DATACLASS_DECORATORS or short in ("dataclass", "define", "frozen"):
            attrs = name.startswith("attr") or name in ("define", "frozen", "mutable")
            return "attrs" if attrs else "dataclass"
        if name.rsplit(".", 1)[-1] == "configclass":  # isaaclab / orbit style
            return "dataclass"
    for base in node.bases:
        name = qualify(base) or dotted(base) or ""
        if name in _MODEL_BASES or name.rsplit(".", 1)[-1] in ("BaseModel", "BaseSettings"):
            return "pydantic"
        if name.rsplit(".", 1)[-1] in ("Enum", "IntEnum", "StrEnum"):
            return "enum"
    return None


def read_class(node: ast.ClassDef, path: str, kind: str, qualify: Callable[[ast.AST], str | None],
               fold: Callable[[ast.AST], Any]) -> SchemaClass:
    """The fields a class body declares (bases are merged by the caller)."""
    reader = TypeReader(qualify)
    schema = SchemaClass(node.name, kind, path, node.lineno)
    if kind == "enum":
        for statement in node.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name):
                value = fold(statement.value)
                schema.fields[statement.targets[0].id] = SchemaField(
                    statement.targets[0].id, TypeSpec("any"), value, True, path=path,
                    line=statement.lineno)
        return schema
    if kind == "pydantic":
        schema.extra = _pydantic_extra(node, fold)
        schema.closed = schema.extra == "forbid"
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            annotation = statement.annotation
            if (dotted(annotation.value if isinstance(annotation, ast.Subscript) else annotation)
                    or "").rsplit(".", 1)[-1] in ("ClassVar", "InitVar"):
                continue
            if name == "model_config":
                continue
            schema.fields[name] = _field(name, reader.read(annotation), statement.value, path,
                                         statement.lineno, fold)
        elif kind == "attrs" and _is_attrib(statement):
            name = statement.targets[0].id
            type_node = next((k.value for k in statement.value.keywords if k.arg == "type"), None)
            schema.fields[name] = _field(name, reader.read(type_node), statement.value, path,
                                         statement.lineno, fold)
    return schema


def _is_attrib(statement: ast.AST) -> bool:
    """`x = attr.ib(...)` in an attrs class without annotations."""
    return (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Call)
            and (dotted(statement.value.func) or "").rsplit(".", 1)[-1] in ("ib", "attrib", "field"))


def _pydantic_extra(node: ast.ClassDef, fold: Callable[[ast.AST], Any]) -> str | None:
    for keyword in node.keywords:  # class M(BaseModel, extra="forbid")
        if keyword.arg == "extra":
            value = fold(keyword.value)
            return value if isinstance(value, str) else _enum_member(keyword.value)
    for statement in node.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets) and \
                    isinstance(statement.value, ast.Call):
                for keyword in statement.value.keywords:
                    if keyword.arg == "extra":
                        value = fold(keyword.value)
                        return value if isinstance(value, str) else _enum_member(keyword.value)
        if isinstance(statement, ast.ClassDef) and statement.name == "Config":  # pydantic v1
            for inner in statement.body:
                if isinstance(inner, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "extra" for t in inner.targets):
                    value = fold(inner.value)
                    return value if isinstance(value, str) else _enum_member(inner.value)
    return None


def _enum_member(node: ast.AST) -> str | None:
    name = dotted(node)
    return name.rsplit(".", 1)[-1] if name else None


def _field(name: str, spec: TypeSpec, value: ast.AST | None, path: str, line: int,
           fold: Callable[[ast.AST], Any]) -> SchemaField:
    item = SchemaField(name, spec, path=path, line=line)
    if spec.kind == "literal":
        item.choices = spec.values
    if value is None:
        return item
    if isinstance(value, ast.Call) and (dotted(value.func) or "").rsplit(".", 1)[-1] in (
            "field", "Field", "attrib", "ib", "HfArg"):
        for keyword in value.keywords:
            if keyword.arg == "default":
                item.default, item.has_default = fold(keyword.value), True
            elif keyword.arg in ("default_factory", "factory"):
                item.default_factory = dotted(keyword.value) or ast.unparse(keyword.value)
                item.has_default = True
            elif keyword.arg == "metadata":
                metadata = fold(keyword.value)
                if isinstance(metadata, dict):
                    item.help = metadata.get("help") if isinstance(metadata.get("help"), str) else None
                    if isinstance(metadata.get("choices"), (list, tuple)):
                        item.choices = tuple(metadata["choices"])
            elif keyword.arg in ("ge", "gt", "le", "lt", "min_length", "max_length"):
                item.constraints[keyword.arg] = fold(keyword.value)
            elif keyword.arg in ("help", "description") and isinstance(keyword.value, ast.Constant):
                item.help = keyword.value.value if isinstance(keyword.value.value, str) else None
        if value.args and (dotted(value.func) or "").endswith("Field"):
            first = value.args[0]
            if not (isinstance(first, ast.Constant) and first.value is Ellipsis):
                item.default, item.has_default = fold(first), True
        return item
    item.default, item.has_default = fold(value), True
    return item


# -- argparse and yacs -----------------------------------------------------------------------------

_ARGPARSE_TYPES = {"float": "float", "int": "int", "str": "str", "bool": "bool"}


def argparse_schema(path: str, specs: Iterable[Any]) -> SchemaClass:
    """The arguments of a script (trainlint.formats.base.ArgumentSpec) as a schema: dest,
    type, default and choices."""
    schema = SchemaClass(f"argparse of {path}", "argparse", path, 1, closed=False)
    for spec in specs:
        if spec.action in ("store_true", "store_false", "BooleanOptionalAction"):
            kind = TypeSpec("bool", text="bool")
        elif spec.action in ("help", "version", "count"):
            kind = TypeSpec("int" if spec.action == "count" else "any")
        else:
            base = _ARGPARSE_TYPES.get(spec.type_name or "str")
            kind = TypeSpec(base or "unknown", text=spec.type_name or "str")
            if spec.nargs not in (None, "?", 1) and base is not None:
                kind = TypeSpec("list", (kind,), text=f"list[{spec.type_name or 'str'}]")
        default = spec.default.value if spec.default is not None else _MISSING
        line = spec.span.line if spec.span is not None else 1
        schema.fields.setdefault(spec.dest, SchemaField(
            spec.dest, kind, default, spec.default is not None, choices=spec.choices,
            help=spec.help, path=path, line=line))
    return schema


def yacs_trees(tree: ast.Module, path: str, fold: Callable[[ast.AST], Any],
               qualify: Callable[[ast.AST], str | None]) -> dict[str, SchemaClass]:
    """Module-level yacs defaults trees: `_C = CN()`, `_C.SOLVER = CN()`,
    `_C.SOLVER.BASE_LR = 0.01` -> {"_C": tree}. `CN(new_allowed=True)` nodes are open."""
    roots: dict[str, SchemaClass] = {}
    for statement in tree.body:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0]
        value = statement.value
        if isinstance(target, ast.Name) and _is_cfgnode(value, qualify):
            roots[target.id] = SchemaClass(target.id, "yacs", path, statement.lineno,
                                           closed=not _new_allowed(value))
            continue
        name = dotted(target)
        if name is None or "." not in name:
            continue
        root, *keys = name.split(".")
        node = roots.get(root)
        if node is None:
            continue
        for key in keys[:-1]:
            child = node.fields.get(key)
            if child is None or child.nested is None:
                node = None
                break
            node = child.nested
        if node is None:
            continue
        leaf = keys[-1]
        if _is_cfgnode(value, qualify):
            nested = SchemaClass(leaf, "yacs", path, statement.lineno, closed=not _new_allowed(value))
            node.fields[leaf] = SchemaField(leaf, TypeSpec("class", name=leaf), path=path,
                                            line=statement.lineno, nested=nested)
            continue
        default = fold(value)
        node.fields[leaf] = SchemaField(leaf, _type_of_default(default), default,
                                        default is not UNRESOLVED, path=path, line=statement.lineno)
    return roots


def _is_cfgnode(node: ast.AST, qualify: Callable[[ast.AST], str | None]) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = qualify(node.func) or dotted(node.func) or ""
    return name.rsplit(".", 1)[-1] in ("CN", "CfgNode", "ConfigNode")


def _new_allowed(node: ast.Call) -> bool:
    return any(k.arg == "new_allowed" and isinstance(k.value, ast.Constant) and k.value.value is True
               for k in node.keywords)


def _type_of_default(value: Any) -> TypeSpec:
    """yacs checks a merged value's type against its default's (tuple and list mix)."""
    if value is UNRESOLVED or value is None:
        return TypeSpec("any")
    kind = {bool: "bool", int: "int", float: "float", str: "str", list: "list", tuple: "list",
            dict: "dict"}.get(type(value), "any")
    return TypeSpec(kind, text=type(value).__name__)
