from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import Diagnostic, Example, FixAvailability, ScriptRule, Severity
from trainlint.script import ParsedScript

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

    ## Source
    Seed 001: the teacher's checkpoint contained numpy arrays, so loading it failed once
    PyTorch 2.6 made `weights_only=True` the default. The rule sees one file at a time: a
    save in one script and a load in another are not linked.
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

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        saves = [call for call, _ in script.calls_to(("torch.save",))]
        if not saves:
            return
        loads = [call for call, _ in script.calls_to(("torch.load",))
                 if self._loads_weights_only(script, call)]
        if not loads or any(script.calls_to(("torch.serialization.add_safe_globals",
                                             "torch.serialization.safe_globals"))):
            return
        load_line = loads[0].lineno
        for save in saves:
            saved = script.argument(save, 0, "obj")
            if saved is None:
                continue
            for value, key, what in self._objects(script, saved):
                where = f" under {key}" if key else ""
                message = (f"`torch.save` stores {what}{where}; `torch.load` with "
                           f"weights_only=True (line {load_line}; the default since torch 2.6) "
                           "refuses it: save tensors or Python numbers (`float(...)`, `.item()`, "
                           "`vars(args)`, `.state_dict()`), or allow the type with "
                           "torch.serialization.add_safe_globals")
                yield self.diagnostic(script.path, script.span(value), message)

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
