"""Finds rule classes: every module under `trainlint.rules` plus the `trainlint.rules` entry
point group of installed plugins. Codes must be unique."""

from __future__ import annotations

import importlib
import os
import re
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


RULE_KINDS = ("ParseErrorRule", "DocumentRule", "ConfigRule", "ScriptRule", "LaunchRule", "SuppressionRule",
              "ProbeRule")
# Patterns over a rule module's text read "\n" + text: one that begins with a literal is
# tried where that literal occurs (memchr speed); one that begins with `^` under MULTILINE is
# tried at every position (4 ms a run over the 63 modules, before any check).
_CLASS_BASES = re.compile(r"\nclass\s+\w+\s*\(([^)]*)\)")  # a class statement's bases
_KIND_NAMES = re.compile(r"\b(" + "|".join(RULE_KINDS) + r")\b")


def _declared_kinds(source: str) -> set[str] | None:
    """The rule kinds a module's classes derive from, read from its text; None when unsure."""
    kinds = set()
    for bases in _CLASS_BASES.findall("\n" + source):
        kinds.update(_KIND_NAMES.findall(bases))
    return kinds or None


def _builtin_modules(kinds: frozenset[str] | None):
    """Import the rule modules; with `kinds`, skip the ones that declare none of them, so a run
    over YAML files never imports the script or probe rules (a cheap read of the source, not an
    import, decides)."""
    import trainlint.rules as package

    for name, source in _rule_sources().items():
        if kinds is not None:
            declared = _declared_kinds(source)
            if declared is not None and not declared & kinds:
                continue
        yield importlib.import_module(f"{package.__name__}.{name}")


@cache
def _rule_sources() -> dict[str, str]:
    """The text of each rule module by its name under `trainlint.rules` (`schedule.tl101_...`),
    in order of name, read once per process (os.scandir: a third of pathlib's rglob)."""
    import trainlint.rules as package

    found: dict[str, str] = {}
    folders = [(os.path.dirname(package.__file__), "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir():
                    if not entry.name.startswith("__"):  # __pycache__
                        folders.append((entry.path, f"{prefix}{entry.name}."))
                elif entry.name.startswith("tl") and entry.name.endswith(".py"):
                    with open(entry.path, encoding="utf-8") as handle:
                        found[prefix + entry.name[:-3]] = handle.read()
    return dict(sorted(found.items()))


def _plugins_installed() -> bool:
    """Whether any installed distribution declares the `trainlint.rules` entry point group.

    A scan of the `*.dist-info/entry_points.txt` files on sys.path for the group's name; only
    when one has it is importlib.metadata (14 ms of imports) loaded to read them properly."""
    import sys

    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                if not entry.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8") as f:
                        if "[trainlint.rules]" in f.read():
                            return True
                except OSError:
                    continue
    return False


def _plugin_classes() -> list[type[Rule]]:
    if not _plugins_installed():
        return []
    from importlib.metadata import entry_points

    classes = []
    for entry in entry_points(group="trainlint.rules"):
        loaded = entry.load()
        classes.extend(_rule_classes_in(loaded) if not isinstance(loaded, type) else [loaded])
    return classes


@cache
def all_rules(kinds: frozenset[str] | None = None) -> tuple[type[Rule], ...]:
    """Every rule class, or those of some kinds (names from RULE_KINDS)."""
    classes: list[type[Rule]] = []
    for module in _builtin_modules(kinds):
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


ALL = "ALL"  # ruff's selector of every rule (the least specific one)
# indentation is spaces or tabs: `\n\s+` would also match runs of blank lines (8 ms a run);
# read over "\n" + text (see _CLASS_BASES)
_CODE_DECLARATION = re.compile(r'\n[ \t]+code[ \t]*=[ \t]*["\']([A-Z]+[0-9]+)["\']')


def _specificity(selector: str, code: str) -> int:
    """How specific a matching selector is (-1: it does not match the code)."""
    selector = selector.upper()
    if selector == ALL:
        return 0
    return len(selector) if code.startswith(selector) else -1


def is_selected(code: str, select: list[str], extend_select: list[str], ignore: list[str]) -> bool:
    """ruff's semantics: the most specific matching prefix decides; on a tie, ignore wins."""
    positive = max((_specificity(p, code) for p in (select or ["TL"]) + extend_select), default=-1)
    negative = max((_specificity(p, code) for p in ignore), default=-1)
    return positive > negative


def runs(rule: type[Rule], preview: bool) -> bool:
    """A preview rule runs only in preview mode, whatever selects it (as in ruff)."""
    return preview or not getattr(rule, "preview", False)


_PREVIEW_DECLARATION = re.compile(r"\n[ \t]+preview[ \t]*=[ \t]*True\b")


@cache
def _declared() -> dict[str, bool]:
    """Every rule code and whether it is a preview rule, read from the rule modules' text
    (importing them all costs more than a clean run) and from installed plugins; once per
    process (each selector of a command line asks)."""
    declared: dict[str, bool] = {}
    for source in _rule_sources().values():
        text = "\n" + source
        preview = bool(_PREVIEW_DECLARATION.search(text))
        declared.update((code, preview) for code in _CODE_DECLARATION.findall(text))
    declared.update((rule.code, bool(getattr(rule, "preview", False))) for rule in _plugin_classes())
    return declared


def known_codes() -> frozenset[str]:
    return frozenset(_declared())


def preview_codes() -> frozenset[str]:
    return frozenset(code for code, preview in _declared().items() if preview)


def _letters(code: str) -> str:
    return code.rstrip("0123456789")


def selector_error(selector: str, exact: bool = False) -> str | None:
    """Why a selector names no rule (None: it is fine). A selector is `ALL`, a code, or a
    prefix of codes that keeps their letters whole (`TL`, `TL1`, `TL10`; not `T`)."""
    wanted = selector.strip().upper()
    codes = known_codes()
    if exact:
        if wanted in codes:
            return None
    elif wanted == ALL or any(code.startswith(wanted) and len(wanted) >= len(_letters(code))
                              for code in codes):
        return None
    families = set() if exact else {
        *(_letters(code) for code in codes), *(code[:len(_letters(code)) + 1] for code in codes)}
    close = _closest(wanted, sorted(codes), sorted(families))
    hint = f"; did you mean `{close}`?" if close else " (see `trainlint rules`)"
    return f"unknown rule {'code' if exact else 'selector'} `{selector}`{hint}"


_DIGIT_LOOKALIKES = str.maketrans("OIL", "011")


def _closest(wanted: str, codes: list[str], families: list[str]) -> str | None:
    """The code (else the family) one typo away, reading O, I and L among digits as 0, 1, 1."""
    letters = len(wanted) - len(wanted.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    head, rest = wanted[:letters], wanted[letters:]
    fixed = head + rest.translate(_DIGIT_LOOKALIKES)
    for candidates in (codes, families):
        if fixed in candidates:
            return fixed
        near = [c for c in candidates if _one_edit_apart(fixed, c)]
        if near:
            return near[0]
    return None


def _one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))
