"""TL402 checkpoint-holds-objects: checkpoint holds objects that `torch.load(weights_only=True)` refuses.

The class docstring is the rule's page (docs/rules/TL402.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from msgspec import Struct

from trainlint.api import (
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
    Span,
)

# What `weights_only=True` unpickles without help: tensors, plain containers and scalars.
SAFE_CALLS = frozenset({"state_dict", "item", "tolist", "cpu", "detach", "clone", "to",
                        "float", "int", "str", "bool", "vars", "dict", "list", "tuple",
                        "len", "round", "min", "max", "sum", "abs"})
NAMESPACE_MAKERS = frozenset({"parse_args", "parse_known_args", "parse_intermixed_args"})
# methods of a numpy array that give numpy values again
NUMPY_METHODS = frozenset({"mean", "sum", "std", "var", "max", "min", "median", "astype", "copy",
                           "reshape", "ravel", "flatten", "squeeze", "round", "cumsum", "argmax",
                           "argmin", "prod", "transpose", "clip"})
NUMPY_ARRAYS = frozenset({"numpy.array", "numpy.asarray", "numpy.zeros", "numpy.ones",
                          "numpy.empty", "numpy.stack", "numpy.concatenate", "numpy.arange"})
SAFE_GLOBALS = ("torch.serialization.add_safe_globals", "torch.serialization.safe_globals")
PATH_JOINS = frozenset({"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath",
                        "str", "os.fspath"})


class SavedObject(Struct):
    """An object a `torch.save` stores that weights-only loading refuses."""

    span: Span
    what: str
    key: str
    checkpoint: str | None  # the file name the save writes, where the code spells it out


class RefusingLoad(Struct):
    """A `torch.load` with weights_only=True or the default, in a file with no safe globals."""

    line: int
    checkpoint: str | None


class CheckpointFacts(Struct):
    """What one script tells its project: saves not linked in the file itself, and loads."""

    saves: list[SavedObject]
    loads: list[RefusingLoad]


class CheckpointHoldsObjects(ScriptRule):
    """## What it does
    Finds `torch.save(...)` of a checkpoint that holds objects `torch.load(weights_only=True)`
    refuses: numpy arrays or numpy scalars (`np.mean(wers)`, `x.numpy()`), an
    `argparse.Namespace` (`'args': args` after `args = parser.parse_args()`), a whole
    `nn.Module`, or an instance of a class defined in the script, where the same script
    loads checkpoints with `weights_only=True` or the default. Dicts built key by key
    (`checkpoint['wer'] = ...`) are followed.

    ## Why is this bad?
    Since PyTorch 2.6 `torch.load` defaults to `weights_only=True`, which only rebuilds
    tensors, plain containers and Python scalars. The run saves its best checkpoint without
    complaint and fails only when it loads it back, typically at the end of training for the
    test evaluation, or when resuming.

    ## Example
    ```python
    torch.save({"model": model.state_dict(), "wer": np.mean(wers), "args": args}, path)
    checkpoint = torch.load(path)
    ```

    ## Use instead
    ```python
    torch.save({"model": model.state_dict(), "wer": float(np.mean(wers)),
                "args": vars(args)}, path)
    checkpoint = torch.load(path, weights_only=True)
    ```

    ## Fix safety
    No fix: whether to convert the values or to trust the file
    (`torch.serialization.add_safe_globals([...])`, torch >= 2.4) is a decision about the
    data.

    ## Options
    None.

    ## Across files
    A save in one script and a load in another of the same project (the nearest folder above
    both with a `pyproject.toml`, `setup.py`, `setup.cfg`, `trainlint.toml` or `.git`) are
    linked too: the finding is at the save and names the load. When the load is in a file not
    being checked (pre-commit passes only the staged files), the project's other Python files
    that mention `torch` and `load` are read for it. Where both calls spell out the file name
    (`run_dir / "best.pt"`, `"ckpt/teacher.pth"`), they are linked only if the names match.

    ## Source
    Seed 001: the teacher's checkpoint contained numpy arrays, so loading it failed once
    PyTorch 2.6 made `weights_only=True` the default. The teacher's training script saved it;
    the student's loaded it.
    """

    code = "TL402"
    name = "checkpoint-holds-objects"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "checkpoint holds objects that `torch.load(weights_only=True)` refuses"
    needles = (b"save",)

    bad = (
        Example(
            "train.py",
            "import numpy as np\nimport torch\n\n"
            "def train(model, wers, path):\n"
            "    torch.save({'model': model.state_dict(), 'wer': np.mean(wers)}, path)\n"
            "    return torch.load(path)\n",
        ),
        Example(
            "train.py",
            "import argparse\nimport torch\n\nparser = argparse.ArgumentParser()\n"
            "args = parser.parse_args()\n\n"
            "def save(model, path):\n"
            "    checkpoint = {'model': model.state_dict()}\n"
            "    checkpoint['args'] = args\n"
            "    torch.save(checkpoint, path)\n\n"
            "def load(path):\n"
            "    return torch.load(path, weights_only=True)\n",
        ),
    )
    good = (
        Example(
            "train.py",
            "import numpy as np\nimport torch\n\n"
            "def train(model, wers, path):\n"
            "    torch.save({'model': model.state_dict(), 'wer': float(np.mean(wers))}, path)\n"
            "    return torch.load(path, weights_only=True)\n",
        ),
        Example(
            "train.py",
            "import numpy as np\nimport torch\n\n"
            "def train(model, wers, path):\n"
            "    torch.save({'model': model.state_dict(), 'wer': np.mean(wers)}, path)\n"
            "    return torch.load(path, weights_only=False)\n",
        ),
    )

    project_needles = (b"torch",)

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        loads = self._refusing_loads(script)
        if not loads:
            return
        for saved in self._saved_objects(script):
            yield self._finding(script.path, saved, f"line {loads[0].lineno}")

    # ----------------------------------------------------------------- across files
    def project_facts(self, script: ParsedScript) -> CheckpointFacts | None:
        if any(script.calls_to(SAFE_GLOBALS)):
            return None  # the script allows the types it needs
        loads = self._refusing_loads(script)
        # A save that a load in its own file reads is settled there: reported by check_script
        # when that load refuses objects, chosen on purpose when it passes weights_only=False.
        saves = [] if loads else self._saved_objects(script)
        own_loads = [self._checkpoint_name(script, script.argument(call, 0, "f"))
                     for call, _ in script.calls_to(("torch.load",))]
        saves = [saved for saved in saves
                 if not any(self._same_checkpoint(saved.checkpoint, name) for name in own_loads)]
        if not saves and not loads:
            return None
        return CheckpointFacts(saves, [RefusingLoad(call.lineno, self._checkpoint_name(
            script, script.argument(call, 0, "f"))) for call in loads])

    def project_files_wanted(self, facts: dict[str, Any]) -> tuple[bytes, ...] | None:
        unlinked = any(self._linked_load(path, saved, facts) is None
                       for path, fact in facts.items() for saved in fact.saves)
        return (b"torch", b"load") if unlinked else None

    def check_project(self, facts: dict[str, Any]) -> Iterator[Diagnostic]:
        for path, fact in facts.items():
            for saved in fact.saves:
                linked = self._linked_load(path, saved, facts)
                if linked is not None:
                    yield self._finding(path, saved, f"{linked[0]}:{linked[1].line}")

    @staticmethod
    def _linked_load(path: str, saved: SavedObject,
                     facts: dict[str, Any]) -> tuple[str, RefusingLoad] | None:
        for other, fact in facts.items():
            if other == path:
                continue
            for load in fact.loads:
                if CheckpointHoldsObjects._same_checkpoint(saved.checkpoint, load.checkpoint):
                    return other, load
        return None

    @staticmethod
    def _same_checkpoint(saved: str | None, loaded: str | None) -> bool:
        """Whether a load may read what a save wrote: yes unless both name different files."""
        return saved is None or loaded is None or saved == loaded

    # ----------------------------------------------------------------- one file
    def _finding(self, path: str, saved: SavedObject, load_at: str) -> Diagnostic:
        where = f" under {saved.key}" if saved.key else ""
        message = (f"`torch.save` stores {saved.what}{where}; `torch.load` with "
                   f"weights_only=True ({load_at}; the default since torch 2.6) "
                   "refuses it: save tensors or Python numbers (`float(...)`, `.item()`, "
                   "`vars(args)`, `.state_dict()`), or allow the type with "
                   "torch.serialization.add_safe_globals")
        return self.diagnostic(path, saved.span, message)

    def _refusing_loads(self, script: ParsedScript) -> list[ast.Call]:
        if any(script.calls_to(SAFE_GLOBALS)):
            return []
        return [call for call, _ in script.calls_to(("torch.load",))
                if self._loads_weights_only(script, call)]

    def _saved_objects(self, script: ParsedScript) -> list[SavedObject]:
        found = []
        for save, _ in script.calls_to(("torch.save",)):
            saved = script.argument(save, 0, "obj")
            if saved is None:
                continue
            checkpoint = self._checkpoint_name(script, script.argument(save, 1, "f"))
            for value, key, what in self._objects(script, saved):
                found.append(SavedObject(script.span(value), what, key, checkpoint))
        return found

    @classmethod
    def _checkpoint_name(cls, script: ParsedScript, expr: ast.expr | None, depth: int = 0) -> str | None:
        """The file name a path expression ends in, where the code spells it out."""
        if expr is None or depth > 4:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            name = expr.value.replace("\\", "/").rsplit("/", 1)[-1]
            return name if "." in name.strip(".") else None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            return cls._checkpoint_name(script, expr.right, depth + 1)
        if isinstance(expr, ast.JoinedStr) and expr.values:
            return cls._checkpoint_name(script, expr.values[-1], depth + 1)
        if isinstance(expr, ast.Call) and expr.args:
            if script.qualname(expr.func) in PATH_JOINS:
                return cls._checkpoint_name(script, expr.args[-1], depth + 1)
            return None
        if isinstance(expr, ast.Name):
            made = script.origin(expr, frozenset(), depth=3, follow_calls=False)
            return None if made is expr else cls._checkpoint_name(script, made, depth + 1)
        return None

    @staticmethod
    def _loads_weights_only(script: ParsedScript, call: ast.Call) -> bool:
        keyword = script.keyword(call, "weights_only")
        if keyword is None:
            return script.argument(call, 2, "pickle_module") is None and not script.has_kwargs(call)
        return script.literal(keyword.value) is True

    def _objects(self, script: ParsedScript, saved: ast.expr) -> Iterator[tuple[ast.expr, str, str]]:
        entries = self._dict_entries(script, saved)
        if entries is None:
            what = self._foreign(script, saved)
            if what:
                yield saved, "", what
            return
        for key, value in entries:
            what = self._foreign(script, value)
            if what:
                yield value, key, what

    def _dict_entries(self, script: ParsedScript, saved: ast.expr,
                      depth: int = 0) -> list[tuple[str, ast.expr]] | None:
        """(key, value) pairs of a saved dict (literal, `dict(...)`, or built key by key)."""
        made = script.origin(saved, frozenset()) if depth < 3 else saved
        entries: list[tuple[str, ast.expr]] = []
        if isinstance(made, ast.Dict):
            for key, value in zip(made.keys, made.values):
                if key is None:  # {**other}
                    nested = self._dict_entries(script, value, depth + 1)
                    entries.extend(nested or [])
                    continue
                if isinstance(value, ast.Dict):
                    entries.extend(self._dict_entries(script, value, depth + 1) or [])
                    continue
                entries.append((self._key_text(script, key), value))
        elif isinstance(made, ast.Call) and isinstance(made.func, ast.Name) and made.func.id == "dict":
            for keyword in made.keywords:
                if keyword.arg is not None:
                    entries.append((repr(keyword.arg), keyword.value))
        else:
            return None
        if isinstance(saved, ast.Name):
            entries.extend(self._item_assignments(script, saved))
        return entries

    @staticmethod
    def _key_text(script: ParsedScript, key: ast.expr) -> str:
        text = script.source(key)
        return text if len(text) <= 40 else text[:37] + "..."

    @staticmethod
    def _item_assignments(script: ParsedScript, name: ast.Name) -> list[tuple[str, ast.expr]]:
        """`checkpoint['k'] = v` statements in the scope that saves `checkpoint`."""
        scope = script.scope_of(name)
        found = []
        for node in script.nodes(ast.Assign):
            if script.scope_of(node) is not scope:
                continue
            for target in node.targets:
                if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                        and target.value.id == name.id and node.lineno <= name.lineno):
                    found.append((CheckpointHoldsObjects._key_text(script, target.slice),
                                  node.value))
        return found

    def _foreign(self, script: ParsedScript, value: ast.expr, depth: int = 0) -> str | None:
        """What object `value` is when weights_only loading refuses it, else None."""
        if depth > 4:
            return None
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            for element in value.elts:
                found = self._foreign(script, element, depth + 1)
                if found:
                    return found
            return None
        if isinstance(value, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            return self._foreign(script, value.elt, depth + 1)
        if isinstance(value, (ast.Name, ast.Attribute)):
            made = script.origin(value, frozenset())
            if made is value:
                return self._unresolved_name(script, value)
            return self._foreign(script, made, depth + 1)
        if not isinstance(value, ast.Call):
            return None
        func = value.func
        name = script.qualname(func) or ""
        source = script.source(value)
        short = source if len(source) <= 40 else source[:37] + "..."
        if name.startswith("numpy."):
            return f"a numpy {'array' if name in NUMPY_ARRAYS else 'value'} (`{short}`)"
        if name == "argparse.Namespace":
            return "an argparse.Namespace"
        if isinstance(func, ast.Attribute):
            if func.attr == "numpy":
                return f"a numpy array (`{short}`)"
            if func.attr in NAMESPACE_MAKERS:
                return f"an argparse.Namespace (`{short}`)"
            if func.attr in NUMPY_METHODS:
                receiver = self._foreign(script, func.value, depth + 1)
                if receiver and receiver.startswith("a numpy"):
                    return f"a numpy value (`{short}`)"
            if func.attr in SAFE_CALLS:
                return None
        if isinstance(func, ast.Name):
            if func.id in SAFE_CALLS:
                return None
            binding = script.binding_of(func)
            if binding is not None and binding.kind == "class":
                if self._is_module_class(script, binding.node):
                    return f"a whole nn.Module (`{short}`; save its .state_dict())"
                return f"a {func.id} instance"
        if name.startswith("torch.nn.") and name[len("torch.nn."):][:1].isupper():
            return f"a whole nn.Module (`{short}`; save its .state_dict())"
        return None

    @staticmethod
    def _unresolved_name(script: ParsedScript, value: ast.expr) -> str | None:
        """A parameter named like the parsed arguments, in a script that parses arguments."""
        if not (isinstance(value, ast.Name) and value.id in ("args", "opt", "opts")):
            return None
        for call in script.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in NAMESPACE_MAKERS:
                parent = script.parent(call)
                if isinstance(parent, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == value.id for t in parent.targets):
                    return "an argparse.Namespace (`args` from parse_args())"
        return None

    @staticmethod
    def _is_module_class(script: ParsedScript, node: ast.AST) -> bool:
        if not isinstance(node, ast.ClassDef):
            return False
        for base in node.bases:
            name = script.qualname(base) or ""
            if name in ("torch.nn.Module", "lightning.LightningModule",
                        "pytorch_lightning.LightningModule", "lightning.pytorch.LightningModule"):
                return True
        return False
