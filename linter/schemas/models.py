"""Pydantic models of a training setup, one per group of canonical settings.

Built from `trainlint.schemas.canonical.SETTINGS`, so each range is written once. The engine
pre-checks values without Pydantic and validates here only the groups that look wrong.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from trainlint.schemas.canonical import SETTINGS


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number is expected here, not a boolean")
    return value


_NUMBER = BeforeValidator(_not_a_bool)
# "str" settings take any scalar: Lightning writes `precision: 16`, `devices: 2`.
_PYTHON_TYPES = {float: Annotated[float, _NUMBER], int: Annotated[int, _NUMBER], bool: bool,
                 str: str | int | float | bool}


@cache
def group_model(group: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for setting in SETTINGS.values():
        if setting.group != group:
            continue
        constraint = Field(None, gt=setting.gt, ge=setting.ge, lt=setting.lt, le=setting.le,
                           description=setting.doc)
        fields[setting.field] = (_PYTHON_TYPES[setting.kind] | None, constraint)
    config = ConfigDict(extra="ignore", strict=False, allow_inf_nan=False)
    return create_model(f"{group.title()}Settings", __config__=config, **fields)


def explain(name: str, value: Any) -> str | None:
    """Pydantic's message for one value of a canonical setting, or None when it is valid."""
    setting = SETTINGS[name]
    if value is None:
        return "a value is required here, got null"
    try:
        group_model(setting.group).model_validate({setting.field: value})
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        return f"{message[0].lower()}{message[1:]}, got {value!r}"
    return None
