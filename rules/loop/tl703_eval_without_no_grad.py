"""TL703 eval-without-no-grad."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Applicability, Diagnostic, Example, Fix, FixAvailability, Grad, Kind, ScriptRule, Severity,
    ensure_module_name, loop_model,
)
from trainlint.rules.loop._edits import wrap_in
from trainlint.rules.loop._shared import calls_in, header_span

if TYPE_CHECKING:
    from trainlint.api import Loop, LoopModel, ParsedScript


class EvalWithoutNoGrad(ScriptRule):
    """## What it does
    Finds an evaluation loop whose model calls run with autograd on: no
    `torch.no_grad()` / `torch.inference_mode()` around them, on the function
    (`@torch.no_grad()`), or around the places in the file that call that function.

    A loop counts as evaluation when it iterates batches, runs a model and no backward pass,
    and either follows `model.eval()` or computes metrics (a loss without `backward()`,
    accuracy counts, `sklearn.metrics` / `torchmetrics`) in a function named for validation
    or called after the training steps. A name alone never decides. A loop whose function
    feeds a backward pass, asks for gradients (`torch.autograd.grad`, `requires_grad_()`),
    only calls `model.generate(...)` (which turns autograd off itself), or runs inside a
    framework's own loop (Lightning's `validation_step`, the Hugging Face `Trainer`), stays
    quiet; so does one whose callers are unknown (a function no code of the file calls), and
    legacy code that turns autograd off with `Variable(x, volatile=True)` (PyTorch <= 0.3).

    ## Why is this bad?
    With autograd on, every forward pass keeps its activations for a backward pass that
    never comes: evaluation takes several times the memory it needs (a batch size that
    trains fine runs out of memory here) and runs slower. Outputs kept across batches
    (`preds.append(logits)`) hold every batch's graph until the loop ends.

    ## Example
    ```python
    def validate(model, val_loader):
        model.eval()
        for images, targets in val_loader:
            outputs = model(images)
            correct += (outputs.argmax(1) == targets).sum().item()
    ```

    ## Use instead
    ```python
    def validate(model, val_loader):
        model.eval()
        with torch.no_grad():
            for images, targets in val_loader:
                outputs = model(images)
                correct += (outputs.argmax(1) == targets).sum().item()
    ```

    ## Fix safety
    Unsafe: code in the loop that needs gradients after all (a gradient-based attribution,
    a tensor the caller later back-propagates through) would stop working. The fix wraps
    the loop in `with torch.no_grad():`, indenting it one level with the file's own
    indentation (lines inside multi-line strings are left alone), and adds `import torch`
    where the file has none.

    ## Options
    None.

    ## Source
    PyTorch docs, "Locally disabling gradient computation": `no_grad` for inference, where
    `backward()` is never called, reduces memory consumption.
    """

    code = "TL703"
    name = "eval-without-no-grad"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "evaluation loop runs the model with autograd on"
    fix_title = "wrap the loop in `with torch.no_grad():`"
    precision = "100% (1 of 1 dev corpus, 2 of 2 extra repositories; legacy volatile=True class fixed)"
    needles = (b".eval(", b".train(")

    bad = (
        Example("evaluate.py", (
            "import torch\n"
            "\n"
            "\n"
            "def validate(model, val_loader):\n"
            "    model.eval()\n"
            "    correct = 0\n"
            "    for images, targets in val_loader:  # every batch\n"
            "        outputs = model(images)\n"
            "        correct += (outputs.argmax(1) == targets).sum().item()\n"
            "    return correct\n"
            "\n"
            "\n"
            "accuracy = validate(model, val_loader)\n"
        ), fixed=(
            "import torch\n"
            "\n"
            "\n"
            "def validate(model, val_loader):\n"
            "    model.eval()\n"
            "    correct = 0\n"
            "    with torch.no_grad():\n"
            "        for images, targets in val_loader:  # every batch\n"
            "            outputs = model(images)\n"
            "            correct += (outputs.argmax(1) == targets).sum().item()\n"
            "    return correct\n"
            "\n"
            "\n"
            "accuracy = validate(model, val_loader)\n"
        ), unsafe=True),
    )
    good = (
        Example("evaluate.py", (
            "import torch\n"
            "\n"
            "\n"
            "@torch.no_grad()\n"
            "def validate(model, val_loader):\n"
            "    model.eval()\n"
            "    for images, targets in val_loader:\n"
            "        outputs = model(images)\n"
            "\n"
            "\n"
            "validate(model, val_loader)\n"
        )),
        Example("module.py", (
            "import lightning as L\n"
            "\n"
            "\n"
            "class Classifier(L.LightningModule):\n"
            "    def validation_step(self, batch, batch_idx):\n"
            "        self.eval()\n"
            "        for chunk in batch.split(8):\n"
            "            self.log('val_loss', self.criterion(self.model(chunk), chunk))\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        if not model.uses_torch or model.global_grad_switch:
            return
        found = [loop for loop in model.loops if self._autograd_on(model, loop)]
        for loop in found:
            if any(other is not loop and model._contains(other, loop) for other in found):
                continue  # reported with the loop around it
            yield self.diagnostic(script.path, header_span(script, loop),
                                  self._message(model, loop), self._fix(script, loop))

    @staticmethod
    def _autograd_on(model: LoopModel, loop: Loop) -> bool:
        if loop.owned:
            return False
        evidence = model.evaluation_evidence(loop)
        if not model.is_evaluation(loop, evidence):
            return False
        forwards = loop.of(Kind.FORWARD, depth=1)
        if any(model.script.keyword(call, "volatile") is not None
               for call in calls_in(model.script, loop.node)):
            return False  # `Variable(x, volatile=True)`: PyTorch <= 0.3's autograd switch
        return bool(forwards) and all(model.grad_state(event.node) == Grad.ON for event in forwards)

    @staticmethod
    def _message(model: LoopModel, loop: Loop) -> str:
        evidence = model.evaluation_evidence(loop)
        why = ("after `.eval()`" if "eval" in evidence else "computing metrics")
        return (f"this evaluation loop ({why}) runs the model with autograd on: every forward "
                "keeps its activations for a backward pass that never comes (memory, speed); "
                "wrap it in `with torch.no_grad():` or decorate the function with "
                "`@torch.no_grad()`")

    @staticmethod
    def _fix(script: ParsedScript, loop: Loop) -> Fix | None:
        torch_name, import_edit = ensure_module_name(script, "torch")
        edit = wrap_in(script, loop.node, f"with {torch_name}.no_grad():")
        if edit is None:
            return None
        edits = (edit,) if import_edit is None else (import_edit, edit)
        return Fix(Applicability.UNSAFE, "wrap the loop in `with torch.no_grad():`", edits)
