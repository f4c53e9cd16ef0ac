"""Pydantic models built from a ProjectSchema (imported only to validate a value).

`import pydantic` plus building a model costs ~120 ms, so nothing imports this module until a
rule asks `ProjectSchema.validate`. Types map as read from the project's annotations; a type
trainlint cannot read becomes `Any` (never a guess). `extra` is "forbid" for a closed schema
and "ignore" for an open one; `strict` follows whether the consumer converts strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Optional

from pydantic import ConfigDict, Field, create_model

from trainlint.api import UNRESOLVED

if TYPE_CHECKING:  # schema.py imports this module when it builds a model
    from trainlint.consumers.schema import ProjectSchema, SchemaClass, TypeSpec

__all__ = ["build_model"]

_SCALARS = {"float": float, "int": int, "str": str, "bool": bool, "dict": dict, "any": Any,
            "unknown": Any, "class": Any, "enum": Any}


def build_model(schema: ProjectSchema, strict: bool = False):
    fields: dict[str, Any] = {}
    for part in schema.parts:
        for name, item in _class_fields(part, strict, 0).items():
            fields.setdefault(name, item)
    config = ConfigDict(extra="forbid" if schema.closed else "ignore", strict=strict,
                        arbitrary_types_allowed=True, protected_namespaces=())
    return create_model(_model_name(schema.name), __config__=config, **fields)


def _class_fields(schema: SchemaClass, strict: bool, depth: int) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, item in schema.fields.items():
        annotation = _python_type(item.type, depth)
        if item.nested is not None and depth < 6:
            nested_config = ConfigDict(extra="forbid" if item.nested.closed else "ignore",
                                       strict=strict, protected_namespaces=())
            annotation = create_model(_model_name(item.nested.name), __config__=nested_config,
                                      **_class_fields(item.nested, strict, depth + 1))
            if item.type.optional:
                annotation = Optional[annotation]
        if item.choices and item.type.kind not in ("literal",):
            annotation = Literal[tuple(item.choices)] if _hashable(item.choices) else annotation
        constraints = {key: value for key, value in item.constraints.items()
                       if value is not UNRESOLVED and isinstance(value, (int, float))}
        # every field may be left out of a config file: the code's default fills it
        fields[name] = (annotation | None if item.type.optional else annotation,
                        Field(None, **constraints))
    return fields


def _python_type(spec: TypeSpec, depth: int) -> Any:
    if spec.kind == "literal":
        return Literal[spec.values] if spec.values and _hashable(spec.values) else Any
    if spec.kind == "none":
        return type(None)
    if spec.kind == "union":
        members = tuple(_python_type(arg, depth + 1) for arg in spec.args)
        if any(member is Any for member in members):
            return Any
        result = members[0]
        for member in members[1:]:
            result = result | member
        return result
    if spec.kind == "list":
        inner = _python_type(spec.args[0], depth + 1) if spec.args else Any
        return list[inner] | tuple
    return _SCALARS.get(spec.kind, Any)


def _hashable(values: tuple) -> bool:
    try:
        hash(values)
    except TypeError:
        return False
    return True


def _model_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in name)
    return cleaned or "Schema"
