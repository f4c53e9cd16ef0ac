"""TL401 torch-load-weights-only: `torch.load` without an explicit `weights_only=`.

The class docstring is the rule's page (docs/rules/TL401.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    Applicability,
    Diagnostic,
    Example,
    Fix,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
)

DEFAULT_FLIP = (2, 6)  # torch.load's weights_only default became True in 2.6


class TorchLoadWeightsOnly(ScriptRule):
    """## What it does
    Finds `torch.load(...)` calls that do not pass `weights_only=` explicitly, however
    `torch.load` was imported: `import torch as T` / `T.load`, `from torch import load as tl`,
    `from torch import *`, `torch.serialization.load`, or a plain alias (`load_fn = torch.load`).
    A function of your own that happens to be called `load` is not `torch.load`.

    ## Why is this bad?
    PyTorch 2.6 changed the default of `weights_only` from `False` to `True`. A checkpoint that
    holds anything besides tensors and plain containers (numpy arrays, numpy scalars such as
    `np.mean(...)`, an `argparse.Namespace`, a config object, a whole `nn.Module`) then fails to
    load with an `UnpicklingError`, in the middle of a run or at evaluation time. Below 2.6 the
    same call unpickles arbitrary objects, which runs code from the file. Saying
    `weights_only=` makes the behaviour the same on every version.

    A call that passes `pickle_module=` keeps the old default (`False`) on every version; it
    is reported so that the choice is written down. A call with `**kwargs` is reported
    without a fix, since the mapping might already carry the argument.

    ## Example
    ```python
    checkpoint = torch.load(output_dir / "best_model.pth")
    ```

    ## Use instead
    ```python
    checkpoint = torch.load(output_dir / "best_model.pth", weights_only=True)
    # a trusted file that holds other objects:
    torch.serialization.add_safe_globals([argparse.Namespace])  # torch >= 2.4
    ```

    ## Fix safety
    Adds `weights_only=True`. Safe where the target torch (`target-torch`, else the project's
    pin, else the newest release) is 2.6 or newer: that is already the default, the fix only
    makes it visible. Unsafe below 2.6, where it changes what the call accepts. With
    `pickle_module=` the suggestion is `weights_only=False` (unsafe: loading an untrusted
    file this way can execute code).

    ## Options
    None. The target torch version is the `target-torch` setting.

    ## Source
    Seed 001: after upgrading to PyTorch 2.6, `torch.load(output_dir / 'best_model.pth')` of
    a checkpoint holding numpy arrays failed to load (`weights_only` now defaults to True).
    PyTorch 2.4 added the FutureWarning, 2.6 flipped the default.
    """

    code = "TL401"
    name = "torch-load-weights-only"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "`torch.load` without an explicit `weights_only=`"
    fix_title = "add `weights_only=True`"
    needles = (b"load",)

    bad = (
        Example(
            "train.py",
            "import torch\n\ncheckpoint = torch.load(output_dir / 'best_model.pth')\n",
            fixed="import torch\n\ncheckpoint = torch.load(output_dir / 'best_model.pth', "
                  "weights_only=True)\n",
        ),
        Example(
            "evaluate.py",
            "from torch import load as tl\n\nstate = tl(\n    'ckpt.pt',\n"
            "    map_location='cpu',  # on the CPU\n)\n",
            fixed="from torch import load as tl\n\nstate = tl(\n    'ckpt.pt',\n"
                  "    map_location='cpu',  # on the CPU\n    weights_only=True,\n)\n",
        ),
        Example(
            "old.py",
            "import torch as T\n\nstate = T.load('ckpt.pt')\n",
            fixed="import torch as T\n\nstate = T.load('ckpt.pt', weights_only=True)\n",
            unsafe=True,
            settings={"target-torch": "2.4"},
        ),
    )
    good = (
        Example("train.py", "import torch\n\nstate = torch.load('ckpt.pt', weights_only=True)\n"),
        Example("train.py", "import json\n\ndef load(path):\n    return json.load(open(path))\n\n"
                            "config = load('config.json')\n"),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        target = self.ctx.project.torch
        for call, _ in script.calls_to(("torch.load",)):
            if script.keyword(call, "weights_only") is not None:
                continue
            yield self._finding(script, call, target)

    def _finding(self, script: ParsedScript, call: ast.Call, target: tuple[int, ...]) -> Diagnostic:
        from trainlint.api import insert_keyword  # libcst: only when a fix is built

        version = ".".join(map(str, target[:2]))
        span = script.span(call)
        if script.argument(call, 2, "pickle_module") is not None:
            message = ("`torch.load` with `pickle_module=` and no `weights_only=`: it unpickles "
                       "arbitrary objects (weights_only=False) on every torch version; say so "
                       "with `weights_only=False`, and load only trusted files")
            fix = None
            if not script.has_kwargs(call):
                edit = insert_keyword(script, call, "weights_only", "False")
                if edit is not None:
                    fix = Fix(Applicability.UNSAFE,
                              "weights_only unset -> weights_only=False (trusted files only: "
                              "unpickling can execute code)", (edit,))
            return self.diagnostic(script.path, span, message, fix)
        if target >= DEFAULT_FLIP:
            message = (f"`torch.load` without `weights_only=`: on torch {version} it loads with "
                       "weights_only=True and rejects checkpoints holding numpy arrays, "
                       "argparse.Namespace or other objects; pass weights_only=True (register "
                       "needed types with torch.serialization.add_safe_globals) or "
                       "weights_only=False for a trusted file")
        else:
            message = (f"`torch.load` without `weights_only=`: torch {version} unpickles "
                       "arbitrary objects (weights_only=False), and torch >= 2.6 loads with "
                       "weights_only=True instead, rejecting numpy arrays and other objects; "
                       "pass weights_only= explicitly")
        if script.has_kwargs(call):
            return self.diagnostic(script.path, span,
                                   message + " (unless **kwargs already carries it)")
        edit = insert_keyword(script, call, "weights_only", "True")
        if edit is None:
            return self.diagnostic(script.path, span, message)
        applicability = Applicability.SAFE if target >= DEFAULT_FLIP else Applicability.UNSAFE
        fix = Fix(applicability, "weights_only unset -> weights_only=True", (edit,))
        return self.diagnostic(script.path, span, message, fix)
