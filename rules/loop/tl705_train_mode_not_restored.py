"""TL705 train-mode-not-restored."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Applicability, Diagnostic, Event, Example, Fix, FixAvailability, Grad, Kind, ScriptRule,
    Severity, dotted, loop_model, map_text,
)
from trainlint.rules.loop._edits import insert_before

if TYPE_CHECKING:
    from trainlint.api import Loop, LoopModel, ParsedScript

MODE_WORDS = ("train_mode", "set_train", "trainmode", "to_train", "unfreeze")


class TrainModeNotRestored(ScriptRule):
    """## What it does
    Finds a loop that trains a model (a backward pass and an optimizer step, in its body or
    in a function of the file it calls) and also puts that model in eval mode
    (`model.eval()`, directly or inside `evaluate(model, ...)`), where nothing in the loop
    ever calls `.train()` again: from the second pass on, the model trains in eval mode.

    The model put in eval mode must be one the loop trains (called outside `no_grad` in its
    training steps): a teacher or an EMA copy that is only evaluated is not reported, and
    neither is a model built in this file from layers none of which depends on the mode (no
    dropout, batch norm or `self.training`), where eval mode changes nothing. A
    `.train(flag)` anywhere in the loop, a function with `train_mode` in its name, an
    evaluation run only on the last pass (`if epoch == epochs - 1:`), training that puts the
    model in eval mode on purpose (`.eval()` in the very function that runs the training
    steps, before them, as linear probes on frozen features do), and loops a framework runs
    (Lightning, the Hugging Face `Trainer`) stay quiet.

    ## Why is this bad?
    Eval mode turns dropout off and freezes batch norm's statistics. Training on in eval
    mode after the first validation silently removes the regularization and the
    normalization updates the model was designed with: it overfits sooner or trains worse,
    and nothing reports it.

    ## Example
    ```python
    model.train()
    for epoch in range(epochs):
        train_one_epoch(model, train_loader, optimizer)
        validate(model, val_loader)  # calls model.eval()
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        model.train()
        train_one_epoch(model, train_loader, optimizer)
        validate(model, val_loader)
    ```

    ## Fix safety
    Unsafe: it changes how every epoch after the first trains. The fix inserts
    `model.train()` before the loop's training steps (the first statement of the loop body
    that trains, after the evaluation where it comes first).

    ## Options
    None.

    ## Source
    PyTorch `nn.Module.train` / `eval` docs; the PyTorch ImageNet example calls
    `model.train()` at the start of every training epoch and `model.eval()` in `validate`.
    """

    code = "TL705"
    name = "train-mode-not-restored"
    severity = Severity.ERROR
    fix_availability = FixAvailability.SOMETIMES
    message = "model put in eval mode inside the training loop is never switched back"
    fix_title = "call `model.train()` before the training steps"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b".eval()",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "\n"
            "def validate(model, loader):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        return sum(float(criterion(model(x), y)) for x, y in loader)\n"
            "\n"
            "\n"
            "model.train()\n"
            "for epoch in range(10):\n"
            "    for x, y in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
            "    print(validate(model, val_loader))\n"
        ), fixed=(
            "import torch\n"
            "\n"
            "\n"
            "def validate(model, loader):\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        return sum(float(criterion(model(x), y)) for x, y in loader)\n"
            "\n"
            "\n"
            "model.train()\n"
            "for epoch in range(10):\n"
            "    model.train()\n"
            "    for x, y in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
            "    print(validate(model, val_loader))\n"
        ), unsafe=True),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "for epoch in range(10):\n"
            "    model.train()\n"
            "    for x, y in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        val_loss = sum(float(criterion(model(x), y)) for x, y in val_loader)\n"
        )),
        Example("distill.py", (
            "import torch\n"
            "\n"
            "for epoch in range(10):\n"
            "    teacher.eval()\n"
            "    for x, y in train_loader:\n"
            "        with torch.no_grad():\n"
            "            target = teacher(x)\n"
            "        optimizer.zero_grad()\n"
            "        criterion(student(x), target).backward()\n"
            "        optimizer.step()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        if not model.uses_torch:
            return
        done: set[int] = set()
        for loop in model.all_training_loops():
            if loop.owned or loop.has(Kind.TRAIN, Kind.TRAIN_MAYBE) or self._mode_helper(
                    script, loop):
                continue
            if self._trains_in_eval_mode(script, loop):
                continue
            trained = self._trained(model, loop)
            for event in loop.of(Kind.EVAL):
                text = map_text(model, _receiver(event.node), event.via)
                if text is None or text not in trained or id(event.outer) in done:
                    continue
                if model.mode_free(trained[text]):
                    continue  # no dropout, no batch norm: the mode changes nothing
                if self._last_pass_only(script, loop, event):
                    continue
                done.add(id(event.outer))
                inside = (f" (in `{model.callee(event.via[0]).name}()`)"  # type: ignore[union-attr]
                          if event.via else "")
                message = (f"`{text}.eval()`{inside} runs inside this training loop and nothing "
                           f"in the loop calls `{text}.train()` again: after the first "
                           "evaluation the model trains in eval mode (dropout off, batch norm "
                           f"frozen); call `{text}.train()` before the training steps")
                span = script.span(event.outer)
                yield self.diagnostic(script.path, span, message,
                                      self._fix(script, model, loop, event, text))

    @staticmethod
    def _mode_helper(script: ParsedScript, loop: Loop) -> bool:
        source = script.source(loop.node).lower()
        return any(word in source for word in MODE_WORDS)

    @staticmethod
    def _trains_in_eval_mode(script: ParsedScript, loop: Loop) -> bool:
        """`.eval()` set on purpose for the training steps themselves: in the function that
        runs them, before them (a linear probe on frozen batch-norm statistics)."""
        steps = loop.of(Kind.BACKWARD, Kind.STEP)
        for event in loop.of(Kind.EVAL):
            home = script.enclosing_function(event.node)
            for step in steps:
                if script.enclosing_function(step.node) is home and (
                        event.node.lineno, event.node.col_offset) < (
                        step.node.lineno, step.node.col_offset):
                    return True
        return False

    @staticmethod
    def _trained(model: LoopModel, loop: Loop) -> dict[str, ast.expr]:
        """The models the loop runs with autograd on, as the loop's function names them."""
        trained: dict[str, ast.expr] = {}
        for event in loop.of(Kind.FORWARD, depth=2):
            if model.grad_state(event.node) == Grad.OFF:
                continue
            expr = model.model_expression(event)
            text = dotted(expr) if expr is not None else None
            if text is not None:
                trained.setdefault(text, expr)
        return trained

    @staticmethod
    def _last_pass_only(script: ParsedScript, loop: Loop, event: Event) -> bool:
        """`if epoch == epochs - 1: evaluate(...)`: nothing trains after it."""
        target = getattr(loop.node, "target", None)
        names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} if target else set()
        node = script.parent(event.outer)
        while node is not None and node is not loop.node:
            if isinstance(node, ast.If):
                for compare in ast.walk(node.test):
                    if isinstance(compare, ast.Compare) and any(
                            isinstance(op, (ast.Eq, ast.GtE)) for op in compare.ops) and any(
                            isinstance(n, ast.Name) and n.id in names for n in ast.walk(compare)):
                        return True
            node = script.parent(node)
        return False

    @staticmethod
    def _fix(script: ParsedScript, model: LoopModel, loop: Loop, event: Event,
             text: str) -> Fix | None:
        body = loop.node.body
        steps = [other for other in loop.of(Kind.BACKWARD, Kind.STEP, Kind.FORWARD, depth=2)
                 if other.kind != Kind.FORWARD or model.grad_state(other.node) != Grad.OFF]
        evaluation = next((s for s in body if _inside(event.outer, s)), None)
        training = [statement for statement in body if statement is not evaluation and any(
            _inside(other.outer, statement) for other in steps)]
        if not training or evaluation is None:
            return None
        later = [s for s in training if s.lineno > (evaluation.end_lineno or evaluation.lineno)]
        target = (later or training)[0]
        if target is evaluation:
            return None
        edit = insert_before(script, target, f"{text}.train()")
        if edit is None:
            return None
        return Fix(Applicability.UNSAFE, f"call `{text}.train()` before the training steps",
                   (edit,))


def _receiver(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return dotted(node.func.value)
    return None


def _inside(node: ast.AST, container: ast.AST) -> bool:
    start = (container.lineno, container.col_offset)
    end = (container.end_lineno or container.lineno, container.end_col_offset or 0)
    return start <= (node.lineno, node.col_offset) and (
        node.end_lineno or node.lineno, node.end_col_offset or 0) <= end
