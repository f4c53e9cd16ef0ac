"""Who reads a config, with which loader, against which schema: read statically.

`ProjectConsumers.scan(root, python_files, read_text)` reads a project's Python files (never
importing or running them) and answers, for each config file, which code loads it:

    consumers = ProjectConsumers.scan(root, python_files, read_text)
    consumer = consumers.for_config("configs/train.yaml")
    consumer.basis               # "consumer" | "framework" | "project" | "unknown"
    consumer.loader.yaml_floats  # "1.1": `1e-4` is a string to this loader
    consumer.unknown_keys        # "raise" | "ignored" | "kept" | "unknown"
    consumer.schema.field("lr")  # the project's own dataclass / parser / yacs field
    consumers.describe("configs/train.yaml")

See docs/consumers.md for the model, the loader table and how links are found. The names are
imported on first use (PEP 562): a run hands the load path its lookup
(`trainlint.consumers.run`) at start, and the Python readers load only when a rule asks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainlint.consumers.loaders import LOADERS, UNKNOWN_LOADER, Loader, loader
    from trainlint.consumers.project import CallSite, Consumer, ProjectConsumers
    from trainlint.consumers.schema import ProjectSchema, SchemaClass, SchemaField, TypeSpec

_LAZY = {
    **dict.fromkeys(("LOADERS", "UNKNOWN_LOADER", "Loader", "loader"), "trainlint.consumers.loaders"),
    **dict.fromkeys(("CallSite", "Consumer", "ProjectConsumers"), "trainlint.consumers.project"),
    **dict.fromkeys(("ProjectSchema", "SchemaClass", "SchemaField", "TypeSpec"),
                    "trainlint.consumers.schema"),
}

__all__ = ["LOADERS", "UNKNOWN_LOADER", "CallSite", "Consumer", "Loader", "ProjectConsumers",
           "ProjectSchema", "SchemaClass", "SchemaField", "TypeSpec", "loader"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'trainlint.consumers' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
