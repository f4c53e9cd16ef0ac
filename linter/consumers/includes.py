"""Config files that name other config files: Hydra defaults lists, `_base_` (mmengine),
`_BASE_` (detectron2's yacs), HyperPyYAML / draccus `!include`, and the `deepspeed:` key of a
Hugging Face training config.

Each include is read from the text only: YAML through PyYAML's C composer (nodes, no object
built, custom tags kept), Python configs through the `ast`.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterator

from msgspec import Struct

from trainlint.formats.python.ast_index import called_name

__all__ = ["Include", "includes_of", "hydra_defaults"]


class Include(Struct, frozen=True):
    path: str  # absolute, normalized (may not exist)
    kind: str  # defaults | base | include | deepspeed
    key: str  # how it is written: "model: resnet", "_base_", "!include:x.yaml", "deepspeed"
    package: str | None = None  # Hydra: where the group's keys land ("" = the root)


def includes_of(path: str, text: str, family: str, hydra_root: str | None = None) -> list[Include]:
    """The files `path` pulls in, for a config read by a loader of `family`."""
    folder = posixpath.dirname(path)
    if path.endswith(".py"):
        if family != "mmengine":
            return []
        return [Include(_join(folder, name), "base", "_base_") for name in _python_bases(text)]
    found: list[Include] = []
    needs_tree = (("_base_" in text and family == "mmengine") or ("_BASE_" in text and family == "yacs")
                  or ("defaults" in text and family == "hydra")
                  or ("deepspeed" in text and family in ("hf", "trl"))
                  or ("!include" in text and family in ("hyperpyyaml", "draccus")))
    if not needs_tree:
        return found
    root = _compose(text, path)
    if root is None:
        return found
    if family == "mmengine":
        for name in _string_values(_mapping_get(root, "_base_")):
            found.append(Include(_join(folder, name), "base", "_base_"))
    elif family == "yacs":
        for name in _string_values(_mapping_get(root, "_BASE_")):
            found.append(Include(_join(folder, name), "base", "_BASE_"))
    elif family == "hydra":
        found.extend(hydra_defaults(root, path, hydra_root or folder))
    elif family in ("hf", "trl"):
        for name in _string_values(_mapping_get(root, "deepspeed")):
            if name.endswith(".json"):
                found.append(Include(name, "deepspeed", "deepspeed"))  # relative to the run's cwd
    else:
        for tag in _include_tags(root):
            found.append(Include(_join(folder, tag), "include", f"!include:{tag}"))
    return found


def hydra_defaults(root, path: str, config_root: str) -> Iterator[Include]:
    """The files a Hydra defaults list names. Group entries (`model: resnet`,
    `actor@actor_rollout_ref.actor: dp_actor`, `../optim@optim: fsdp`, `/db: mysql`,
    `override hydra/launcher: x`) are `<group>/<option>.yaml` under the config root, a group
    path relative to the file's own group unless it starts with `/`; plain entries (`- base`)
    are configs of the file's own group."""
    defaults = _mapping_get(root, "defaults")
    if defaults is None or defaults.id != "sequence":
        return
    own_group = posixpath.relpath(posixpath.dirname(path), config_root)
    own_group = "" if own_group == "." else own_group
    for item in defaults.value:
        if item.id == "scalar":
            written = item.value
            if not written or written == "_self_":
                continue
            name, _, package = written.partition("@")  # `- reward_manager@reward_manager`
            yield _hydra_file(config_root, own_group, name, None, f"- {written}", package=package)
        elif item.id == "mapping":
            for key_node, value_node in item.value:
                key = str(key_node.value).strip()
                if value_node.id == "scalar":
                    options = [value_node.value]
                elif value_node.id == "sequence":
                    options = [v.value for v in value_node.value if v.id == "scalar"]
                else:
                    options = []
                for prefix in ("override ", "optional "):
                    key = key.removeprefix(prefix)
                group, _, package = key.partition("@")
                if group.startswith("hydra/") or group == "hydra":
                    continue
                for option in options:
                    if option in (None, "null", "", "???") or not isinstance(option, str):
                        continue
                    yield _hydra_file(config_root, own_group, option, group,
                                      f"{key_node.value}: {option}",
                                      package=package or group.strip("/").replace("/", "."))


def _hydra_file(config_root: str, own_group: str, name: str, group: str | None, written: str,
                package: str) -> Include:
    if group is None:
        relative = name if name.startswith("/") else posixpath.join(own_group, name)
    elif group.startswith("/"):
        relative = posixpath.join(group.lstrip("/"), name)
    else:
        relative = posixpath.join(own_group, group, name)
    relative = relative.lstrip("/")
    if not relative.endswith((".yaml", ".yml")):
        relative += ".yaml"
    return Include(posixpath.normpath(posixpath.join(config_root, relative)), "defaults",
                   written, package)


# -- YAML nodes ------------------------------------------------------------------------------------

def _compose(text: str, path: str):
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        loader = loader_class(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError, ValueError):
        return None


def _mapping_get(node, key: str):
    if node is None or node.id != "mapping":
        return None
    for key_node, value_node in node.value:
        if key_node.id == "scalar" and key_node.value == key:
            return value_node
    return None


def _string_values(node) -> list[str]:
    if node is None:
        return []
    if node.id == "scalar":
        return [node.value] if isinstance(node.value, str) and node.value else []
    if node.id == "sequence":
        return [item.value for item in node.value if item.id == "scalar" and item.value]
    return []


def _include_tags(node, depth: int = 0) -> Iterator[str]:
    if depth > 200:
        return
    tag = getattr(node, "tag", "") or ""
    if tag.startswith("!include:"):
        yield tag[len("!include:"):]
    elif tag == "!include" and node.id == "scalar":
        yield node.value
    if node.id == "mapping":
        for _key, value_node in node.value:
            yield from _include_tags(value_node, depth + 1)
    elif node.id == "sequence":
        for item in node.value:
            yield from _include_tags(item, depth + 1)


# -- Python configs --------------------------------------------------------------------------------

def _python_bases(text: str) -> list[str]:
    """`_base_ = [...]` / `_base_ = '...'`, and the relative imports of a new-style
    `with read_base():` block (`from .._base_.models.resnet50 import *`)."""
    if "_base_" not in text and "read_base" not in text:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    names: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_base_" for t in statement.targets):
            try:
                value = ast.literal_eval(statement.value)
            except (ValueError, SyntaxError, TypeError, RecursionError):
                continue
            if isinstance(value, str):
                names.append(value)
            elif isinstance(value, (list, tuple)):
                names.extend(v for v in value if isinstance(v, str))
        elif isinstance(statement, ast.With) and any(
                isinstance(item.context_expr, ast.Call)
                and called_name(item.context_expr) == "read_base"
                for item in statement.items):
            for inner in statement.body:
                if isinstance(inner, ast.ImportFrom) and inner.level and inner.module:
                    up = "../" * (inner.level - 1)
                    names.append(f"{up}{inner.module.replace('.', '/')}.py")
    return names


def _join(folder: str, name: str) -> str:
    return posixpath.normpath(posixpath.join(folder, name))
