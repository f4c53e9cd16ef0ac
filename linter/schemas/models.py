"""Validators of a training setup's canonical settings, one per group of settings.

Built from `trainlint.schemas.canonical.SETTINGS`, so each range is written once. The engine
pre-checks values without them and validates here only the values that look wrong, for
Pydantic's message. The schemas are pydantic-core's (the validation engine under Pydantic's
models, with the same checks and messages): importing it takes about 15 ms where `pydantic`
and a model per group took 110 ms, paid by every process that met one wrong value.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic_core import SchemaValidator, ValidationError, core_schema

from trainlint.schemas.canonical import SETTINGS, Setting


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number is expected here, not a boolean")
    return value


def _value_schema(setting: Setting) -> core_schema.CoreSchema:
    """The setting's type and bounds; a number is never a boolean (`lr: true`), and "str"
    settings take any scalar (Lightning writes `precision: 16`, `devices: 2`)."""
    bounds = {name: getattr(setting, name) for name in ("gt", "ge", "lt", "le")
              if getattr(setting, name) is not None}
    if setting.kind is float:
        schema = core_schema.no_info_before_validator_function(
            _not_a_bool, core_schema.float_schema(allow_inf_nan=False, **bounds))
    elif setting.kind is int:
        schema = core_schema.no_info_before_validator_function(
            _not_a_bool, core_schema.int_schema(**bounds))
    elif setting.kind is bool:
        schema = core_schema.bool_schema()
    else:
        schema = core_schema.union_schema([core_schema.str_schema(), core_schema.int_schema(),
                                           core_schema.float_schema(allow_inf_nan=False),
                                           core_schema.bool_schema()])
    return core_schema.nullable_schema(schema)


@cache
def group_validator(group: str) -> SchemaValidator:
    """A lax validator of one group's settings as a mapping (unknown keys ignored)."""
    fields = {setting.field: core_schema.typed_dict_field(_value_schema(setting), required=False)
              for setting in SETTINGS.values() if setting.group == group}
    return SchemaValidator(core_schema.typed_dict_schema(fields, extra_behavior="ignore"))


def explain(name: str, value: Any) -> str | None:
    """Pydantic's message for one value of a canonical setting, or None when it is valid."""
    setting = SETTINGS[name]
    if value is None:
        return "a value is required here, got null"
    try:
        group_validator(setting.group).validate_python({setting.field: value})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]  # the URL imports pydantic for its version
        message = error["msg"].removeprefix("Value error, ")
        return f"{message[0].lower()}{message[1:]}, got {value!r}"
    return None
