"""Structural config edits a splice of an existing value cannot express: adding a key.

The new key goes on the line after a sibling key of the same mapping, with the sibling's
indentation, so nothing else in the file moves. The new pair is serialized by the format's own
library (ruamel.yaml for YAML, json for JSON, tomlkit for TOML), which knows the quoting rules;
only that region of the file changes.
"""

from __future__ import annotations

import io
import json

from trainlint.dialects import dialects
from trainlint.records import Edit, ParsedDocument, Value


def _yaml_pair(key: str, value: object) -> str:
    """`key: value` as ruamel.yaml writes it, quoted where YAML 1.1 loaders (PyYAML) would
    read the plain text differently (`no` -> False), so both YAML versions agree."""
    import yaml as pyyaml  # ruamel.yaml: only when a key is added (start-up)
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    def dump(item: object) -> str:
        writer = YAML(typ="rt")
        writer.default_flow_style = False
        stream = io.StringIO()
        writer.dump({key: item}, stream)
        return stream.getvalue().rstrip("\n")

    pair = dump(value)
    if isinstance(value, str) and pyyaml.safe_load(pair) != {key: value}:
        pair = dump(SingleQuotedScalarString(value))
    return pair


def _toml_pair(key: str, value: object) -> str:
    import tomlkit  # only when a key is added to a TOML file (start-up)

    return tomlkit.dumps({key: value}).rstrip("\n")


def insert_key_after(doc: ParsedDocument, sibling: Value, key: str, value: object) -> Edit | None:
    """An edit adding `key: value` to the mapping that holds `sibling`, right after it.

    None where the sibling is not a key of a block mapping (a flow mapping, a list item, a
    value that spans several lines) or the format is not a config format."""
    if sibling.key_span is None or sibling.span.end_line != sibling.key_span.line:
        return None
    text = doc.text
    line_start = doc.index.offset(sibling.key_span.line, 1)
    indent = text[line_start:sibling.key_span.start]
    index = doc.index
    line = index.line_of(sibling.span.end)
    newline = index.terminator(line) or index.newline
    if doc.format == "json":
        pair = f"{json.dumps(key)}: {json.dumps(value)}"
        at = sibling.span.end
        return Edit(doc.index.span(at, at), f",{newline}{indent}{pair}")
    if indent.strip():
        return None  # not the first thing on its line: a flow mapping or `- key:` item
    if doc.format == "yaml":
        pair = _yaml_pair(key, value)
    elif doc.format == "toml":
        pair = _toml_pair(key, value)
    else:
        return None
    at = index.line_end(line)
    return Edit(doc.index.span(at, at), newline + indent + pair)


def dialect_key_near(dialect: str, canonical: str, sibling: Value) -> str | None:
    """The dialect's own name for a canonical setting, as a key beside `sibling` (same parent)."""
    table = dialects().get(dialect)
    if table is None:
        return None
    parent = sibling.key.rsplit(".", 1)[0] if "." in sibling.key else ""
    for key, name in table.keys.items():
        if name != canonical:
            continue
        key_parent = key.rsplit(".", 1)[0] if "." in key else ""
        if key_parent == parent:
            return key.rsplit(".", 1)[-1]
    return None
