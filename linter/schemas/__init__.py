"""Shapes of a training setup: canonical names (cheap) and pydantic-core validators (on demand)."""

from __future__ import annotations

from msgspec import Struct

from trainlint.records import ConfigView, Value
from trainlint.schemas.canonical import SETTINGS, violates


class InvalidValue(Struct, frozen=True):
    name: str
    value: Value
    reason: str


def sanitize(view: ConfigView) -> list[InvalidValue]:
    """Drop values the schema rejects from the view (so rules that need them stay quiet) and
    return them with Pydantic's reason."""
    invalid = []
    for name, value in list(view.values.items()):
        setting = SETTINGS.get(name)
        if setting is None or not value.known:
            continue
        if value.value is None and setting.nullable:
            del view.values[name]  # `key: null` means "not set" here
            continue
        if not violates(setting, value.value):
            continue
        from trainlint.schemas.models import explain  # pydantic-core: only for a value that fails

        reason = explain(name, value.value)
        if reason is not None:
            invalid.append(InvalidValue(name, value, reason))
            del view.values[name]
    return invalid
