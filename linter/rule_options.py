"""A rule's options from `[tool.trainlint.rules.CODE]`, validated with Pydantic.

Pydantic is imported only when a rule has options in the settings (it costs ~120 ms to start).
"""

from __future__ import annotations

import sys
from typing import Any, get_type_hints

from trainlint.errors import SettingsError


def validate_rule_options(options_cls: type, values: dict[str, Any], code: str):
    """The options struct of a rule from its settings table; SettingsError names what is wrong."""
    from pydantic import TypeAdapter, ValidationError  # only for a rule with options set

    names = set(options_cls.__struct_fields__)
    values = {key.replace("-", "_"): value for key, value in values.items()}
    unknown = sorted(set(values) - names)
    if unknown:
        from difflib import get_close_matches  # only to word the error

        close = get_close_matches(unknown[0], sorted(names), n=1)
        hint = f"; did you mean `{close[0].replace('_', '-')}`?" if close else ""
        raise SettingsError(f"[tool.trainlint.rules.{code}] unknown option `{unknown[0]}`{hint}")
    try:
        validated = TypeAdapter(_typed_dict_of(options_cls)).validate_python(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SettingsError(f"[tool.trainlint.rules.{code}] `{where}`: {first['msg']}") from None
    return options_cls(**validated)


def _typed_dict_of(options_cls: type):
    """The options' fields as a TypedDict (all keys optional: unset ones keep their default),
    which Pydantic validates; it does not read msgspec structs itself."""
    from typing_extensions import TypedDict  # what Pydantic reads on Python < 3.12

    hints = get_type_hints(options_cls, vars(sys.modules[options_cls.__module__]))
    names = set(options_cls.__struct_fields__)
    return TypedDict(f"{options_cls.__qualname__}Values",  # type: ignore[operator]
                     {name: hint for name, hint in hints.items() if name in names}, total=False)
