"""A Hydra primary config composed through its defaults list, each value with its file.

What `@hydra.main(config_path=..., config_name=...)` builds before the app sees it: the
defaults list is walked in order, each entry's file composed the same way (its own defaults
first), its keys placed under the entry's package (`model: resnet` -> `model.*`,
`optim@trainer.optimizer: adam` -> `trainer.optimizer.*`, a `# @package _global_` header -> the
root); the config's own keys go where `_self_` stands (after the list when it is not written,
as in Hydra 1.1+). A later value replaces an earlier one; a list replaces the whole list.
Command-line overrides and `hydra/` entries (the launcher's own settings) are not applied.
Nothing is imported or run: the files are read with trainlint's own YAML reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from msgspec import Struct

from trainlint.consumers.includes import _compose, _mapping_get, hydra_defaults
from trainlint.records import Value

__all__ = ["Composed", "compose_hydra"]

_PACKAGE_HEADER = re.compile(r"^#\s*@package\s+(\S+)", re.MULTILINE)
MAX_DEPTH = 20


class Composed(Struct):
    """The effective config: dotted key -> the Value that wins (its file and span), and the
    files that could not be read."""

    values: dict[str, Value]
    files: list[str]
    missing: list[str]


def compose_hydra(primary: str, config_root: str,
                  read_text: Callable[[str], str | None]) -> Composed:
    composed = Composed({}, [], [])
    _compose_file(primary, "", config_root, read_text, composed, set(), 0)
    return composed


def _compose_file(path: str, package: str, root: str, read_text, out: Composed,
                  active: set[str], depth: int) -> None:
    if path in active or depth > MAX_DEPTH:
        return
    text = read_text(path)
    if text is None:
        out.missing.append(path)
        return
    header = _PACKAGE_HEADER.search(text[:2000])
    if header is not None:
        written = header.group(1)
        package = "" if written == "_global_" else written
    node = _compose(text, path)
    if node is None:
        out.missing.append(path)
        return
    out.files.append(path)
    before, after = _split_at_self(node)
    active.add(path)
    for part in before:
        for include in hydra_defaults(part, path, root):
            _compose_file(include.path, _join(package, include.package or ""), root, read_text,
                          out, active, depth + 1)
    _own_values(path, text, package, out)
    for part in after:
        for include in hydra_defaults(part, path, root):
            _compose_file(include.path, _join(package, include.package or ""), root, read_text,
                          out, active, depth + 1)
    active.discard(path)


def _split_at_self(node):
    """The defaults list before and after `_self_` (everything before it when it is not
    written), each as a mapping node `hydra_defaults` reads."""
    import yaml

    defaults = _mapping_get(node, "defaults")
    if defaults is None or defaults.id != "sequence":
        return [], []
    items = list(defaults.value)
    at = next((i for i, item in enumerate(items)
               if item.id == "scalar" and item.value == "_self_"), len(items))

    def wrap(chosen):
        key = yaml.ScalarNode("tag:yaml.org,2002:str", "defaults")
        return yaml.MappingNode("tag:yaml.org,2002:map",
                                [(key, yaml.SequenceNode("tag:yaml.org,2002:seq", chosen))])

    return [wrap(items[:at])], [wrap(items[at + 1:])]


def _own_values(path: str, text: str, package: str, out: Composed) -> None:
    from trainlint.formats import yaml as yaml_format  # the reader `check` uses
    from trainlint.formats.base import ParseError
    from trainlint.text import LineIndex

    try:
        document = yaml_format.parse(path, text, LineIndex.for_file(path, text))
    except (ParseError, RecursionError):
        return
    whole_list = None  # a list is one value: its items are not keys of their own
    for entry in document.entries:
        if entry.key == "defaults" or entry.key.startswith("defaults."):
            continue
        if whole_list is not None and entry.key.startswith(whole_list):
            continue
        whole_list = entry.key + "." if isinstance(entry.value, list) else None
        if isinstance(entry.value, dict) and entry.value:
            continue  # its leaves follow
        key = _join(package, entry.key)
        if isinstance(entry.value, list) or key in out.values:
            prefix = key + "."
            for old in [k for k in out.values if k.startswith(prefix)]:
                del out.values[old]  # a list (or a leaf) replaces what was under the key
        out.values[key] = entry


def _join(package: str, key: str) -> str:
    return ".".join(part for part in (package, key) if part)

