"""TL701 missing-zero-grad."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Applicability, Diagnostic, Example, Fix, FixAvailability, Kind, ScriptRule, Severity,
    loop_model,
)
from trainlint.rules.loop._edits import insert_after, insert_at_top
from trainlint.rules.loop._shared import (
    calls_in, header_span, loop_source, statement_of, stepped_optimizers,
)

if TYPE_CHECKING:
    from trainlint.api import Loop, LoopModel, ParsedScript


class MissingZeroGrad(ScriptRule):
    """## What it does
    Finds a training loop (one that runs `backward()` and an optimizer step, in its body or
    in a function of the same file it calls) in which gradients are never cleared: no
    `optimizer.zero_grad()`, `model.zero_grad()`, `p.grad = None` or `p.grad.zero_()`
    anywhere in the loop or in the functions it calls. Gradients cleared only outside the
    loop (once before it, or once per epoch around a batch loop) count as never cleared.

    Loops a framework runs are not checked: Lightning's `training_step`, the Hugging Face
    `Trainer`, DeepSpeed's `engine.step()` (which clears the gradients itself), Composer and
    fastai. A loop whose optimizer step cannot be told apart from a scheduler step, or that
    calls a function (of this file) that clears gradients, stays quiet.

    ## Why is this bad?
    `backward()` adds to `.grad`; it does not overwrite it. Without clearing, the gradient
    at step k is the sum of the gradients of steps 1..k: the updates grow, follow stale
    directions, and the run diverges or trains far worse, without any error.

    ## Example
    ```python
    for images, targets in train_loader:
        loss = criterion(model(images), targets)
        loss.backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for images, targets in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(images), targets)
        loss.backward()
        optimizer.step()
    ```

    ## Fix safety
    Unsafe: it changes every update of the run. The fix inserts `optimizer.zero_grad()` at
    the top of the loop body, or, where the step runs only every N iterations (gradient
    accumulation), right after the step. It is offered where the loop steps one optimizer
    that it names itself.

    ## Options
    None.

    ## Source
    PyTorch "Zeroing out gradients" recipe and the `torch.optim` docs: gradients accumulate
    by default and must be cleared before each step.
    """

    code = "TL701"
    name = "missing-zero-grad"
    severity = Severity.ERROR
    fix_availability = FixAvailability.SOMETIMES
    message = "training loop never clears gradients"
    fix_title = "insert `optimizer.zero_grad()`"
    precision = "100% (3 of 3, dev corpus; two false-positive classes fixed before it left preview)"
    needles = (b"backward",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for images, targets in train_loader:\n"
            "    # forward\n"
            "    loss = criterion(model(images), targets)\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
        ), fixed=(
            "import torch\n"
            "\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for images, targets in train_loader:\n"
            "    # forward\n"
            "    optimizer.zero_grad()\n"
            "    loss = criterion(model(images), targets)\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
        ), unsafe=True),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "for step, batch in enumerate(train_loader):\n"
            "    loss = model(**batch).loss / 4\n"
            "    loss.backward()\n"
            "    if (step + 1) % 4 == 0:\n"
            "        optimizer.step()\n"
            "        optimizer.zero_grad(set_to_none=True)\n"
        )),
        Example("train.py", (
            "import deepspeed\n"
            "import torch\n"
            "\n"
            "engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=params)\n"
            "for batch in train_loader:\n"
            "    loss = engine(batch)\n"
            "    engine.backward(loss)\n"
            "    engine.step()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        if not model.uses_torch:
            return
        for loop in model.training_loops():
            if loop.owned or self._clears(script, model, loop):
                continue
            optimizers = stepped_optimizers(loop)
            named = next(iter(optimizers)) if len(optimizers) == 1 else None
            shown = named or "optimizer"
            outside = _cleared_outside(script, model, loop)
            where = (f"clears the gradients only outside it (line {outside})" if outside
                     else "never clears the gradients")
            message = (f"this loop runs `backward()` and `{shown}.step()` but {where}: each "
                       f"step adds to the gradients of all earlier steps; call "
                       f"`{shown}.zero_grad()` once per step")
            yield self.diagnostic(script.path, header_span(script, loop), message,
                                  self._fix(script, loop, named))

    @staticmethod
    def _clears(script: ParsedScript, model: LoopModel, loop: Loop) -> bool:
        if loop.has(Kind.CLEAR):
            return True
        source = loop_source(script, loop)
        if "zero_grad" in source or "set_to_none" in source:
            return True  # in a closure or a lambda the loop defines
        for call in calls_in(script, loop.node):
            name = getattr(call.func, "attr", None)
            for function in model.index.functions.get(name or "", ()):
                if any(event.kind == Kind.CLEAR for event in model.function_events(function)):
                    return True  # `wrapper.step()` of a class of this file that clears
        return False

    def _fix(self, script: ParsedScript, loop: Loop, optimizer: str | None) -> Fix | None:
        steps = loop.of(Kind.STEP, depth=0)
        if optimizer is None or not steps or loop.has(Kind.STEP) and len(
                loop.of(Kind.STEP)) != len(steps):
            return None
        statement = f"{optimizer}.zero_grad()"
        step = statement_of(script, steps[0].node)
        if step is None:
            return None
        if _conditional(script, step, loop.node):
            edit = insert_after(script, step, statement)
            where = f"after `{script.source(steps[0].node)}`"
        else:
            edit = insert_at_top(script, loop.node, statement)
            where = "at the top of the loop body"
        if edit is None:
            return None
        return Fix(Applicability.UNSAFE, f"insert `{statement}` {where}", (edit,))


def _cleared_outside(script: ParsedScript, model: LoopModel, loop: Loop) -> int | None:
    """The line of a gradient clearing in the loop's function, outside the loop."""
    for event in model.function_events(loop.function, depth=0):
        if event.kind == Kind.CLEAR:
            return event.node.lineno
    return None


def _conditional(script: ParsedScript, statement: ast.stmt, loop_node: ast.AST) -> bool:
    """The step runs under an `if` inside the loop (every N iterations)."""
    node = script.parent(statement)
    while node is not None and node is not loop_node:
        if isinstance(node, ast.If):
            return True
        node = script.parent(node)
    return False
