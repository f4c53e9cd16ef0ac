"""TL702 eval-in-train-mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Applicability, Diagnostic, Example, Fix, FixAvailability, Kind, ScriptRule, Severity,
    dotted, loop_model,
)
from trainlint.rules.loop._edits import insert_after, insert_before
from trainlint.rules.loop._shared import header_span

if TYPE_CHECKING:
    from trainlint.api import Loop, LoopModel, ParsedScript


class EvalInTrainMode(ScriptRule):
    """## What it does
    Finds an evaluation loop that runs a model with dropout or batch norm while the model is
    still in train mode: nothing calls `model.eval()` (or `model.train(False)`) before the
    loop, in its function or, for a function, at the places of the file that call it.

    A loop counts as evaluation when it runs a model and no backward pass, iterates batches,
    and runs under `torch.no_grad()` / `inference_mode()` (around it, on its function, or at
    every call of its function), or computes metrics in a function named for validation or
    called after the training steps. The model must be built in this file where its layers
    can be read: a `torch.nn.Module` class of the file with `nn.Dropout`, `nn.BatchNorm*`
    or a transformer layer, an `nn.Sequential` of them, or a torchvision classifier. A
    Hugging Face `from_pretrained` model (which starts in eval mode), a model from another
    file, a loop inside a framework's own loop (Lightning's `validation_step` runs after
    Lightning's own `model.eval()`), and any loop with something before it that might set
    the mode (`.train(flag)`, `model.apply(...)`, a function of another module with `eval`
    in its name) stay quiet.

    ## Why is this bad?
    In train mode, dropout drops activations at random and batch norm normalizes with the
    statistics of the current batch and updates its running averages. Validation numbers
    come out noisy and too low, vary with the batch size, and the running statistics of
    batch norm drift toward the validation data: the checkpoint chosen as "best" is not the
    best, and the model's behaviour after evaluation changes.

    ## Example
    ```python
    @torch.no_grad()
    def evaluate(model, loader):
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    ```

    ## Use instead
    ```python
    @torch.no_grad()
    def evaluate(model, loader):
        model.eval()
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
        model.train()
    ```

    ## Fix safety
    Unsafe: it changes the numbers evaluation reports. The fix puts `model.eval()` before
    the loop and `model.train()` after it, so that the code after the loop sees the mode it
    saw before (offered where the loop runs one model it names and has no `return`).

    ## Options
    None.

    ## Source
    PyTorch `nn.Module.eval` docs (dropout and batch norm behave differently in training and
    evaluation) and the "Saving and loading models" tutorial: "call `model.eval()` ... before
    running inference. Failing to do this will yield inconsistent inference results."
    """

    code = "TL702"
    name = "eval-in-train-mode"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "evaluation loop runs a model with dropout or batch norm in train mode"
    fix_title = "call `model.eval()` before the loop and `model.train()` after it"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b"Dropout", b"BatchNorm", b"torchvision", b"Transformer")

    bad = (
        Example("train.py", (
            "import torch\n"
            "from torch import nn\n"
            "\n"
            "\n"
            "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.body = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5))\n"
            "        self.head = nn.Linear(256, 10)\n"
            "\n"
            "    def forward(self, x):\n"
            "        return self.head(self.body(x))\n"
            "\n"
            "\n"
            "@torch.no_grad()\n"
            "def evaluate(model, loader):\n"
            "    correct = 0\n"
            "    for x, y in loader:\n"
            "        correct += (model(x).argmax(1) == y).sum().item()\n"
            "    return correct\n"
            "\n"
            "\n"
            "model = Net()\n"
            "print(evaluate(model, val_loader))\n"
        ), fixed=(
            "import torch\n"
            "from torch import nn\n"
            "\n"
            "\n"
            "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.body = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5))\n"
            "        self.head = nn.Linear(256, 10)\n"
            "\n"
            "    def forward(self, x):\n"
            "        return self.head(self.body(x))\n"
            "\n"
            "\n"
            "@torch.no_grad()\n"
            "def evaluate(model, loader):\n"
            "    correct = 0\n"
            "    model.eval()\n"
            "    for x, y in loader:\n"
            "        correct += (model(x).argmax(1) == y).sum().item()\n"
            "    model.train()\n"
            "    return correct\n"
            "\n"
            "\n"
            "model = Net()\n"
            "print(evaluate(model, val_loader))\n"
        ), unsafe=True),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "from torch import nn\n"
            "\n"
            "model = nn.Sequential(nn.Linear(784, 256), nn.Dropout(0.5), nn.Linear(256, 10))\n"
            "\n"
            "\n"
            "@torch.no_grad()\n"
            "def evaluate(model, loader):\n"
            "    for x, y in loader:\n"
            "        model(x)\n"
            "\n"
            "\n"
            "model.eval()\n"
            "evaluate(model, val_loader)\n"
        )),
        Example("train.py", (
            "import torch\n"
            "from transformers import AutoModelForSequenceClassification\n"
            "\n"
            "model = AutoModelForSequenceClassification.from_pretrained('bert-base-uncased')\n"
            "with torch.no_grad():\n"
            "    for batch in val_loader:\n"
            "        logits = model(**batch).logits\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        if not model.uses_torch:
            return
        reported: list[Loop] = []
        for loop in model.loops:
            if loop.owned or any(model._contains(other, loop) for other in reported):
                continue
            if not model.is_evaluation(loop) or not self._mode_unset(model, loop):
                continue
            found = self._train_mode_model(model, loop)
            if found is None:
                continue
            text, layers = found
            reported.append(loop)
            message = (f"this evaluation loop runs `{text}` ({layers}) in train mode: nothing "
                       f"calls `{text}.eval()` before it, so dropout stays on and batch norm "
                       "uses (and updates) batch statistics; call `.eval()` before evaluating")
            yield self.diagnostic(script.path, header_span(script, loop), message,
                                  self._fix(script, loop, text))

    @staticmethod
    def _mode_unset(model: LoopModel, loop: Loop) -> bool:
        """Nothing before the loop may set the mode: in its function, and at every call of
        that function in this file (which must have some)."""
        start = (loop.node.lineno, loop.node.col_offset)
        if model.mode_set_before(loop.function, start, loop.node):
            return False
        if loop.function is None:
            return True
        sites = model.call_sites(loop.function)
        if not sites:
            return False
        for site in sites:
            if not isinstance(site, ast.Call):
                return False
            caller = model.script.enclosing_function(site)
            repeating = model.loops_containing(site)
            container = repeating[-1].node if repeating else None
            if model.mode_set_before(caller, (site.lineno, site.col_offset), container):
                return False
        return True

    @staticmethod
    def _train_mode_model(model: LoopModel, loop: Loop) -> tuple[str, str] | None:
        """The one model the loop runs, as the loop's function names it, with what makes it
        differ in train mode; None when there are several or its layers are unknown."""
        found: dict[str, str] = {}
        for event in loop.of(Kind.FORWARD, Kind.GENERATE, depth=1):
            expr = model.model_expression(event)
            text = dotted(expr) if expr is not None else None
            if text is None:
                return None
            layers = model.train_mode_layers(expr)
            if layers is None:
                return None
            found[text] = layers
        if len(found) != 1:
            return None
        return next(iter(found.items()))

    @staticmethod
    def _fix(script: ParsedScript, loop: Loop, text: str) -> Fix | None:
        if any(isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom))
               for node in ast.walk(loop.node)):
            return None
        before = insert_before(script, loop.node, f"{text}.eval()")
        after = insert_after(script, loop.node, f"{text}.train()")
        if before is None or after is None:
            return None
        return Fix(Applicability.UNSAFE, f"call `{text}.eval()` before the loop and "
                                         f"`{text}.train()` after it", (before, after))
