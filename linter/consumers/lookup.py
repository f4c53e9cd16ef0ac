"""Finding the classes, parsers and yacs trees a consumer names, across the project's files.

A class reference is resolved through the imports of the file that uses it (relative ones
too) to a project module, read from its `ast` (each file parsed once, on demand), and merged
with its bases that are in the project. A base outside the project (transformers'
`TrainingArguments`, a TRL config) makes the schema incomplete; for those the framework's
own key table (the `hf` dialect's known keys) tells which keys exist.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from trainlint.api import UNRESOLVED
from trainlint.consumers.schema import (
    ProjectSchema,
    SchemaClass,
    SchemaField,
    TypeSpec,
    argparse_schema,
    class_kind,
    read_class,
    yacs_trees,
)
from trainlint.consumers.sites import SchemaRef, _imports
from trainlint.formats.python.ast_index import dotted

if TYPE_CHECKING:
    from trainlint.consumers.project import ProjectConsumers

_MAX_DEPTH = 6
_FRAMEWORK_TABLES = {"transformers": "hf", "trl": "hf"}


def fold(node: ast.AST | None) -> Any:
    """A literal default (numbers, strings, containers, negatives); UNRESOLVED otherwise."""
    if node is None:
        return UNRESOLVED
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNRESOLVED


class _Module:
    def __init__(self, path: str, tree: ast.Module, imports: dict[str, str]) -> None:
        self.path = path
        self.tree = tree
        self.imports = imports
        self.classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def qualify(self, node: ast.AST) -> str | None:
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.classes and not rest:
            return f"{self.path}:{head}"
        target = self.imports.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target


class SchemaResolver:
    def __init__(self, project: ProjectConsumers) -> None:
        self.project = project
        self.modules: dict[str, _Module | None] = {}
        self.classes: dict[str, SchemaClass | None] = {}
        self._yacs: dict[str, SchemaClass] | None = None

    # -- entry -------------------------------------------------------------------------------------
    def resolve(self, ref: SchemaRef | None, source: str | None) -> ProjectSchema | None:
        if ref is None:
            return None
        if ref.kind == "argparse":
            return self._argparse(source)
        if ref.kind == "yacs":
            return self._yacs_schema(ref, source)
        if not ref.classes:
            return None
        parts = [self.class_schema(name, source) for name in ref.classes]
        parts = [part for part in parts if part is not None]
        if not parts:
            return None
        if ref.kind == "hf":
            closed = not ref.allow_extra
        elif ref.kind == "dacite":
            closed = ref.strict
        elif ref.kind == "structured":
            closed = True
        else:
            closed = all(part.closed for part in parts)
        known = frozenset()
        for name in (external for part in parts for external in part.external):
            table = _FRAMEWORK_TABLES.get(name.split(".", 1)[0])
            if table is not None:
                known |= _dialect_known(table)
        first = parts[0]
        return ProjectSchema(" + ".join(part.name for part in parts), parts[0].kind if len(parts) == 1
                             else ref.kind, first.path, first.line, tuple(parts), closed, known)

    # -- classes -----------------------------------------------------------------------------------
    def class_schema(self, name: str, source: str | None, depth: int = 0) -> SchemaClass | None:
        key = name
        if key in self.classes:
            return self.classes[key]
        self.classes[key] = None  # a cycle reads as unresolved
        found = self._read_class(name, depth)
        self.classes[key] = found
        return found

    def _read_class(self, name: str, depth: int) -> SchemaClass | None:
        located = self._locate(name)
        if located is None:
            short = name.rpartition(":")[2].rpartition(".")[2]
            return SchemaClass(short, "external", "", 0, complete=False, external=(name,))
        module, node = located
        kind = class_kind(node, module.qualify)
        bases: list[SchemaClass] = []
        external: list[str] = []
        for base in node.bases:
            base_name = module.qualify(base) or dotted(base)
            if base_name is None or base_name in ("object", "abc.ABC", "ABC", "typing.Generic"):
                continue
            short = base_name.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
            if short in ("BaseModel", "BaseSettings", "Enum", "IntEnum", "StrEnum", "ABC", "Generic",
                         "ChoiceRegistry", "object", "str", "int", "Protocol"):
                continue
            resolved = None
            if depth < _MAX_DEPTH:
                resolved = self.class_schema(base_name, module.path, depth + 1)
            if resolved is None or resolved.kind == "external":
                external.append(base_name)
                continue
            bases.append(resolved)
            external.extend(resolved.external)
            if kind is None and resolved.kind in ("dataclass", "pydantic", "attrs"):
                kind = resolved.kind
        if kind is None:
            return SchemaClass(node.name, "class", module.path, node.lineno, complete=False,
                               external=tuple(external) or (f"{module.path}:{node.name}",))
        schema = read_class(node, module.path, kind, module.qualify, fold)
        merged: dict[str, SchemaField] = {}
        for base in bases:
            merged.update(base.fields)
        merged.update(schema.fields)
        schema.fields = merged
        schema.external = tuple(dict.fromkeys(external))
        schema.complete = not external and all(base.complete for base in bases)
        if kind == "pydantic" and schema.extra is None:
            inherited = next((base.extra for base in bases if base.extra), None)
            schema.extra = inherited
            schema.closed = inherited == "forbid"
        if depth < _MAX_DEPTH:
            self._nest(schema, module, depth)
        return schema

    def _nest(self, schema: SchemaClass, module: _Module, depth: int) -> None:
        for item in schema.fields.values():
            target = _class_in(item.type)
            if target is None:
                continue
            nested = self.class_schema(target, module.path, depth + 1)
            if nested is None or nested.kind in ("external", "class"):
                continue
            if nested.kind == "enum":
                values = tuple(f.default for f in nested.fields.values() if f.default is not UNRESOLVED)
                item.choices = item.choices or values or None
                continue
            item.nested = nested

    def _locate(self, name: str) -> tuple[_Module, ast.ClassDef] | None:
        if ":" in name:
            path, _, short = name.rpartition(":")
            module = self._module(path)
            if module is None:
                return None
            node = module.classes.get(short)
            return (module, node) if node is not None else None
        module_name, _, short = name.rpartition(".")
        for path in self.project.files_of_module(module_name):
            module = self._module(path)
            if module is None:
                continue
            node = module.classes.get(short)
            if node is not None:
                return module, node
            target = module.imports.get(short)  # re-exported from a package __init__
            if target is not None and target != name and target.count(".") >= 1:
                found = self._locate(target)
                if found is not None:
                    return found
        return None

    def _module(self, path: str) -> _Module | None:
        if path in self.modules:
            return self.modules[path]
        text = self.project._text(path)
        module = None
        if text is not None:
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            if tree is not None:
                module = _Module(path, tree, _imports(tree, self.project.module_of(path),
                                                       path.endswith("__init__.py")))
        self.modules[path] = module
        return module

    # -- argparse and yacs -------------------------------------------------------------------------
    def _argparse(self, source: str | None) -> ProjectSchema | None:
        if source is None:
            return None
        text = self.project._text(source)
        if text is None:
            return None
        from trainlint.formats.python import declared_config as pyconfig
        from trainlint.formats.base import ParseError
        from trainlint.text import LineIndex

        try:
            document = pyconfig.parse(source, text, LineIndex(text))
        except (ParseError, RecursionError, ValueError):
            return None
        specs = document.extra.get("arguments", [])
        if not specs:
            return None
        part = argparse_schema(source, specs)
        return ProjectSchema(part.name, "argparse", source, min(f.line for f in part.fields.values()),
                             (part,), closed=False)

    def _yacs_schema(self, ref: SchemaRef, source: str | None) -> ProjectSchema | None:
        trees = self._yacs_trees()
        if not trees:
            return None
        candidates = list(trees.values())
        if len(candidates) > 1 and source is not None:
            module = self._module(source)
            imported = set(module.imports.values()) if module is not None else set()
            near = [tree for tree in candidates
                    if _imported(self.project.module_of(tree.path), imported)]
            candidates = near if len(near) == 1 else candidates
        if len(candidates) != 1:
            biggest = max(candidates, key=lambda tree: _size(tree))
            if sum(1 for tree in candidates if _size(tree) >= _size(biggest) / 2) != 1:
                return None
            candidates = [biggest]
        tree = candidates[0]
        tree.complete = not ref.extended
        return ProjectSchema(f"{tree.name} ({_short_path(tree.path, self.project.root)})", "yacs",
                             tree.path, tree.line, (tree,), closed=True)

    def _yacs_trees(self) -> dict[str, SchemaClass]:
        if self._yacs is None:
            self._yacs = {}
            for path in self.project.python_files:
                text = self.project._text(path)
                if not text or not any(n in text for n in ("CN()", "CfgNode()", "CN(new_allowed")):
                    continue
                module = self._module(path)
                if module is None:
                    continue
                for name, tree in yacs_trees(module.tree, path, fold, module.qualify).items():
                    if _size(tree) >= 3:
                        self._yacs[f"{path}:{name}"] = tree
        return self._yacs


def _imported(module: str | None, imported: set[str]) -> bool:
    """Whether `module` (a yacs tree's file) is what one of `imported` names."""
    return bool(module) and any(module.endswith(target.rsplit(".", 1)[0]) for target in imported)


def _class_in(spec: TypeSpec) -> str | None:
    if spec.kind == "class":
        return spec.name
    if spec.kind == "union":
        classes = [arg.name for arg in spec.args if arg.kind == "class"]
        if len(classes) == 1 and all(arg.kind in ("class", "none") for arg in spec.args):
            return classes[0]
    return None


def _size(tree: SchemaClass) -> int:
    return sum(1 + (_size(f.nested) if f.nested is not None else 0) for f in tree.fields.values())


def _short_path(path: str, root: str) -> str:
    return path[len(root) + 1:] if path.startswith(root + "/") else path


def _dialect_known(name: str) -> frozenset[str]:
    from trainlint.dialects import dialects

    dialect = dialects().get(name)
    return dialect.known if dialect is not None else frozenset()
