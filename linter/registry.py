"""Finds rule classes: every module under `trainlint.rules` plus the `trainlint.rules` entry
point group of installed plugins. Codes must be unique."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from trainlint.api import Rule


class RegistryError(Exception):
    pass


def _rule_classes_in(module) -> list[type[Rule]]:
    found = []
    for value in vars(module).values():
        if (isinstance(value, type) and issubclass(value, Rule) and value.__module__ == module.__name__
                and "code" in vars(value)):
            found.append(value)
    return found


def _builtin_modules():
    import trainlint.rules as package

    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.ispkg and info.name.rsplit(".", 1)[-1].startswith("tl"):
            yield importlib.import_module(info.name)


def _plugin_classes() -> list[type[Rule]]:
    from importlib.metadata import entry_points

    classes = []
    for entry in entry_points(group="trainlint.rules"):
        loaded = entry.load()
        classes.extend(_rule_classes_in(loaded) if not isinstance(loaded, type) else [loaded])
    return classes


@cache
def all_rules() -> tuple[type[Rule], ...]:
    classes: list[type[Rule]] = []
    for module in _builtin_modules():
        classes.extend(_rule_classes_in(module))
    classes.extend(_plugin_classes())
    seen: dict[str, type[Rule]] = {}
    for rule in classes:
        if rule.code in seen and seen[rule.code] is not rule:
            raise RegistryError(f"rule code {rule.code} is defined twice: "
                                f"{seen[rule.code].__module__} and {rule.__module__}")
        seen[rule.code] = rule
    return tuple(sorted(seen.values(), key=lambda rule: rule.code))


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    for rule in all_rules():
        if rule.code == code or rule.name == code.lower():
            return rule
    return None


def is_selected(code: str, select: list[str], extend_select: list[str], ignore: list[str]) -> bool:
    """ruff's semantics: the most specific matching prefix decides; on a tie, ignore wins."""
    positive = max((len(p) for p in (select or ["TL"]) + extend_select if code.startswith(p.upper())),
                   default=-1)
    negative = max((len(p) for p in ignore if code.startswith(p.upper())), default=-1)
    return positive > negative
