"""Shapes of a training setup: canonical names (cheap) and pydantic-core validators (on demand)."""

from __future__ import annotations

from msgspec import Struct

from trainlint.records import ConfigView, Value
from trainlint.schemas.canonical import SETTINGS, violates


class InvalidValue(Struct, frozen=True):
    """A value the schema rejects. `stated` is the reason where the finder words its own (a
    derived setting's); otherwise `reason` asks Pydantic, when a rule words the finding: most
    rejected values are passed over (an argparse `default=None` given later), and importing
    pydantic-core costs each process 15 ms."""

    name: str
    value: Value
    stated: str | None = None

    @property
    def reason(self) -> str:
        if self.stated is not None:
            return self.stated
        from trainlint.schemas.models import explain  # pydantic-core: only to word a finding

        return explain(self.name, self.value.value) or "rejected by the schema"


def sanitize(view: ConfigView) -> list[InvalidValue]:
    """Drop values the schema rejects from the view (so rules that need them stay quiet) and
    return them (with Pydantic's reason, on demand). The plain-Python pre-check decides: it
    agrees with the validators on every value (tests/test_schemas.py)."""
    invalid = []
    for name, value in list(view.values.items()):
        setting = SETTINGS.get(name)
        if setting is None or not value.known:
            continue
        if value.value is None and setting.nullable:
            del view.values[name]  # `key: null` means "not set" here
            continue
        if violates(setting, value.value):
            invalid.append(InvalidValue(name, value))
            del view.values[name]
    return invalid
