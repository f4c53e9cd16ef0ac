"""Framework dialects: which framework a config is written for, and its keys as canonical names.

Each dialect is a key table in this folder (`hf.toml`, `deepspeed.toml`, ...): `signature` keys
that identify it, `keys` mapping its own dotted keys (`*` matches one segment) to canonical
names, and `when` conditions on sibling keys. `generic.toml` holds leaf names any dialect falls
back to. A file no dialect claims is not a training config and gets no findings.

The TOML files are the source; a run reads `tables.json`, the same tables as JSON, which loads
in 0.2 ms where parsing the TOML takes 6 ms of every start. `python -m trainlint.dialects`
rewrites it, and a test fails when it is out of date.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from msgspec import Struct, field

from trainlint.records import ConfigView, ParsedDocument, Value

GENERIC = "generic"
_CORE_GROUPS = ("optimizer.lr", "batch.", "duration.")


class Dialect(Struct, frozen=True):
    name: str
    description: str
    signature: frozenset[str]
    min_signature: int
    priority: int
    keys: dict[str, str]
    patterns: tuple[tuple[re.Pattern, str, str], ...]  # (regex, pattern text, canonical)
    when: dict[str, tuple[str, str]] = field(default_factory=dict)
    known: frozenset[str] = frozenset()
    # key -> values that mean "not set" (`[unset]`; a key listed in `unset_null` is unset when null)
    unset: dict[str, tuple] = field(default_factory=dict)
    # How the framework reads its YAML: "pyyaml" (YAML 1.1 floats) or "omegaconf", whose loader
    # adds a resolver that reads `1e-4` as a float.
    yaml_loader: str = "pyyaml"

    def is_unset(self, key: str, value: object) -> bool:
        sentinels = self.unset.get(key)
        return sentinels is not None and any(
            value is None if sentinel is None else (value == sentinel and type(value) is type(sentinel))
            for sentinel in sentinels)

    def canonical(self, key: str, siblings: dict[str, Value] | None = None) -> str | None:
        name = self.keys.get(key)
        if name is not None:
            return name
        for regex, pattern, canonical in self.patterns:
            if regex.fullmatch(key) and self._condition_holds(pattern, key, siblings):
                return canonical
        return None

    def _condition_holds(self, pattern: str, key: str, siblings: dict[str, Value] | None) -> bool:
        condition = self.when.get(pattern)
        if condition is None:
            return True
        if siblings is None:
            return False
        sibling_key, needle = condition
        # The condition's sibling lives beside the matched key's parent object.
        parts = key.split(".")
        for depth in range(len(parts) - 1, 0, -1):
            candidate = ".".join([*parts[:depth], sibling_key])
            value = siblings.get(candidate)
            if value is not None:
                return needle in str(value.value)
        return False


def _compile(pattern: str) -> re.Pattern:
    return re.compile(r"\.".join("[^.]+" if part == "*" else re.escape(part)
                                 for part in pattern.split(".")))


COMPILED_TABLES = Path(__file__).parent / "tables.json"


def read_toml_tables() -> list[dict]:
    """The dialect tables from their TOML sources, in file name order."""
    import tomllib  # 6 ms: a run reads tables.json; only the rewrite and its test read TOML

    return [tomllib.loads(entry.read_text(encoding="utf-8"))
            for entry in sorted(Path(__file__).parent.glob("*.toml"))]


def write_compiled_tables() -> None:
    text = json.dumps(read_toml_tables(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    COMPILED_TABLES.write_text(text, encoding="utf-8")


@cache
def dialects() -> dict[str, Dialect]:
    table: dict[str, Dialect] = {}
    for data in json.loads(COMPILED_TABLES.read_text(encoding="utf-8")):
        keys = data.get("keys", {})
        table[data["name"]] = Dialect(
            name=data["name"], description=data.get("description", ""),
            signature=frozenset(data.get("signature", ())),
            min_signature=data.get("min_signature", 2), priority=data.get("priority", 10),
            keys={k: v for k, v in keys.items() if "*" not in k},
            patterns=tuple((_compile(k), k, v) for k, v in keys.items() if "*" in k),
            when={k: tuple(v) for k, v in data.get("when", {}).items()},
            known=frozenset(data.get("known", ())) | frozenset(keys) | frozenset(data.get("signature", ())),
            unset=_unset_table(data),
            yaml_loader=data.get("yaml_loader", "pyyaml"),
        )
    return table


def _unset_table(data: dict) -> dict[str, tuple]:
    table: dict[str, tuple] = {}
    for key, value in data.get("unset", {}).items():
        table[key] = tuple(value) if isinstance(value, list) else (value,)
    for key in data.get("unset_null", ()):
        table[key] = (*table.get(key, ()), None)
    return table


def _document_keys(doc: ParsedDocument, document: int) -> set[str]:
    return {entry.key for entry in doc.entries if entry.document == document}


def detect(doc: ParsedDocument, document: int = 0) -> str | None:
    """The dialect of one document of a parsed file, or None when it is no training config."""
    keys = _document_keys(doc, document)
    if not keys:
        return None
    top_level = {key.split(".", 1)[0] for key in keys}
    best: tuple[int, int, str] | None = None
    for dialect in dialects().values():
        if dialect.name == GENERIC:
            continue
        hits = sum(1 for key in dialect.signature if key in keys or key in top_level)
        if hits >= dialect.min_signature:
            candidate = (hits, dialect.priority, dialect.name)
            if best is None or candidate > best:
                best = candidate
    if best is not None:
        return best[2]
    names = {name for name in (_generic_name(key) for key in keys) if name}
    if len(names) >= 2 and any(name.startswith(_CORE_GROUPS) for name in names):
        return GENERIC
    return None


def _generic_name(key: str) -> str | None:
    leaf = key.rsplit(".", 1)[-1]
    if any(part.isdigit() for part in key.split(".")):
        return None
    return dialects()[GENERIC].keys.get(leaf)


def canonical_name(dialect: str, key: str, siblings: dict[str, Value] | None = None) -> str | None:
    table = dialects()
    own = table[dialect].canonical(key, siblings) if dialect in table else None
    return own or _generic_name(key)


def map_entries(entries: list[Value], dialect: str) -> dict[str, Value]:
    """Canonical name -> Value. The dialect's own keys win (the last of repeated keys, as loaders
    keep it); generic leaf names fill what is still missing (the first occurrence)."""
    table = dialects()
    own = table.get(dialect)
    by_key = {entry.key: entry for entry in entries}
    values: dict[str, Value] = {}
    generic: dict[str, Value] = {}
    for entry in entries:
        if isinstance(entry.value, (dict, list)) and entry.known:
            continue
        if own is not None and own.is_unset(entry.key, entry.value):
            continue
        name = own.canonical(entry.key, by_key) if own is not None else None
        if name is not None:
            values[name] = entry
            continue
        name = _generic_name(entry.key)
        if name is not None and name not in generic:
            generic[name] = entry
    for name, entry in generic.items():
        values.setdefault(name, entry)
    return values


def build_views(doc: ParsedDocument) -> list[ConfigView]:
    """One ConfigView per document of the file that is a training config."""
    views = []
    for document in range(max(doc.documents, 1)):
        dialect = detect(doc, document)
        if dialect is None:
            continue
        entries = [entry for entry in doc.entries if entry.document == document]
        raw = {entry.key: entry for entry in entries}
        views.append(ConfigView(doc.path, dialect, map_entries(entries, dialect), raw, doc))
    if views:
        doc.dialect = views[0].dialect
    return views
