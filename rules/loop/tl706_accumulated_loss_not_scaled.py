"""TL706 accumulated-loss-not-scaled."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Diagnostic, Example, FixAvailability, Kind, RuleOptions, ScriptRule, Severity, dotted,
    loop_model,
)

if TYPE_CHECKING:
    from trainlint.api import Loop, LoopModel, ParsedScript

SCALING_BACKWARD = ("accelerator", "fabric", "engine", "model_engine", "deepspeed")


class AccumulatedLossNotScaled(ScriptRule):
    """## What it does
    Finds gradient accumulation in a hand-written loop where the loss is not divided by the
    number of accumulated batches: `backward()` runs every iteration and the optimizer
    steps only under `if (i + 1) % N == 0:` (or after an inner `for _ in range(N):` of
    backward passes), and no division or multiplication of the loss (`loss / N`,
    `loss = loss / N`, `loss /= N`, `scaler.scale(loss / N)`) comes before `backward()`.

    Reported only where it changes the update: for the optimizers listed in
    `optimizers` (plain SGD by default), whose step is proportional to the gradient. Adam
    and the other adaptive optimizers divide the gradient by its own running scale, so a
    sum instead of a mean changes their steps very little; they are not reported.
    Accelerate (`accelerator.backward` divides by `gradient_accumulation_steps` itself),
    DeepSpeed engines and Lightning's own loops are not reported; a loss built by a
    function whose body cannot be read stays quiet.

    ## Why is this bad?
    The gradients of the N micro-batches are summed, not averaged, so each update is N
    times the update of one batch of the same total size: the effective learning rate is N
    times the configured one, and changing N (to fit another GPU) silently changes the
    learning rate too.

    ## Example
    ```python
    for i, (x, y) in enumerate(train_loader):
        loss = criterion(model(x), y)
        loss.backward()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
    ```

    ## Use instead
    ```python
        loss = criterion(model(x), y) / accumulation_steps
    ```

    ## Fix safety
    No fix: where to divide (the loss, or the learning rate instead) is the author's call,
    and a loss already normalized over the whole accumulated batch must not be divided
    again.

    ## Options
    `optimizers`: the `torch.optim` classes whose step scales with the gradient.

    ## Source
    PyTorch AMP examples, "Gradient accumulation": `loss = loss / iters_to_accumulate`;
    Hugging Face Accelerate, "Gradient accumulation" guide (the loss is divided by the
    number of accumulation steps).
    """

    code = "TL706"
    name = "accumulated-loss-not-scaled"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "gradient accumulation without dividing the loss by the number of steps"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b"backward",)

    class Options(RuleOptions):
        optimizers: tuple[str, ...] = ("SGD", "ASGD")

    bad = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
            "criterion = torch.nn.CrossEntropyLoss()\n"
            "for i, (x, y) in enumerate(train_loader):\n"
            "    loss = criterion(model(x), y)\n"
            "    loss.backward()\n"
            "    if (i + 1) % 4 == 0:\n"
            "        optimizer.step()\n"
            "        optimizer.zero_grad()\n"
        )),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
            "for i, (x, y) in enumerate(train_loader):\n"
            "    loss = criterion(model(x), y) / 4\n"
            "    loss.backward()\n"
            "    if (i + 1) % 4 == 0:\n"
            "        optimizer.step()\n"
            "        optimizer.zero_grad()\n"
        )),
        Example("train.py", (
            "import torch\n"
            "\n"
            "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
            "for i, (x, y) in enumerate(train_loader):\n"
            "    loss = criterion(model(x), y)\n"
            "    loss.backward()\n"
            "    if (i + 1) % 4 == 0:\n"
            "        optimizer.step()\n"
            "        optimizer.zero_grad()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        if not model.uses_torch:
            return
        wanted = set(getattr(self.options, "optimizers", ("SGD", "ASGD")))
        for loop in model.training_loops():
            backward = loop.of(Kind.BACKWARD, depth=0)
            steps = loop.of(Kind.STEP, depth=0)
            if loop.owned or len(backward) != 1 or not steps:
                continue
            call = backward[0].node
            loss = _loss_expression(call)
            if loss is None:
                continue
            every = _accumulation(script, model, loop, call, [e.node for e in steps])
            if every is None or _scaled(script, model, loss, call, 0) is not False:
                continue
            kinds = _optimizer_kinds(model, [e.node for e in steps])
            if not kinds or not kinds <= wanted:
                continue
            shown = script.source(every)
            kind = "/".join(sorted(kinds))
            message = (f"the optimizer steps once every `{shown}` backward passes and the loss "
                       f"is not divided by `{shown}`: the gradients are summed, so with {kind} "
                       f"the effective learning rate is `{shown}` times the configured one; "
                       f"divide the loss by `{shown}` before `backward()`")
            yield self.diagnostic(script.path, script.span(call), message)


def _loss_expression(call: ast.AST) -> ast.expr | None:
    """What `backward()` starts from, or None where a library scales it
    (`accelerator.backward(loss)`, `engine.backward(loss)`)."""
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return None
    if call.func.attr != "backward":
        return None
    receiver = call.func.value
    text = (dotted(receiver) or "").rsplit(".", 1)[-1].lower()
    if call.args or any(word in text for word in SCALING_BACKWARD):
        return None
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and (
            receiver.func.attr == "scale" and len(receiver.args) == 1):
        return receiver.args[0]
    return receiver


def _accumulation(script: ParsedScript, model: LoopModel, loop: Loop, backward: ast.AST,
                  steps: list[ast.AST]) -> ast.expr | None:
    """N where the loop steps every N backward passes, else None (also for N = 1)."""
    every = None
    for step in steps:
        node = script.parent(step)
        found = None
        while node is not None and node is not loop.node:
            if isinstance(node, ast.If) and not _inside(backward, node):
                found = _modulus(node.test)
                if found is not None:
                    break
            node = script.parent(node)
        if found is None:
            found = _inner_range(script, model, loop, backward, step)
        if found is None:
            return None
        every = found
    if every is None or script.literal(every) == 1:
        return None
    if any(_inside(backward, node) for node in ast.walk(loop.node)
           if isinstance(node, (ast.With, ast.AsyncWith)) and "accumulate" in script.source(node.items[0].context_expr)):
        return None  # accelerator.accumulate(model)
    return every


def _modulus(test: ast.expr) -> ast.expr | None:
    for node in ast.walk(test):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return node.right
    return None


def _inner_range(script: ParsedScript, model: LoopModel, loop: Loop, backward: ast.AST,
                 step: ast.AST) -> ast.expr | None:
    """`for _ in range(N): ... backward()` with the step after it, in the same loop."""
    for inner in model.loops_containing(backward):
        if inner is loop or inner.node is loop.node:
            return None
        if not _inside(inner.node, loop.node) or _inside(step, inner.node):
            continue
        iterator = getattr(inner.node, "iter", None)
        if isinstance(iterator, ast.Call) and dotted(iterator.func) == "range" and len(
                iterator.args) == 1:
            return iterator.args[0]
        return None
    return None


def _scaled(script: ParsedScript, model: LoopModel, expr: ast.AST, at: ast.AST,
            depth: int) -> bool | None:
    """True where the loss is divided or multiplied before `backward()`, False where it is
    known not to be (a loss module, a model's output), None when it cannot be told."""
    if depth > 4:
        return None
    if isinstance(expr, ast.BinOp):
        return True if isinstance(expr.op, (ast.Div, ast.Mult, ast.FloorDiv)) else None
    if isinstance(expr, ast.Name):
        if _divided_in_place(script, expr.id, at):
            return True
        value = script.value_of(expr, defaults=False)
        if value is None or value is expr:
            return None
        return _scaled(script, model, value, at, depth + 1)
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in ("mean", "sum", "float", "squeeze"):
            return _scaled(script, model, func.value, at, depth + 1)
        if model.callee(expr) is not None:
            return None
        text = (dotted(func) or "").rsplit(".", 1)[-1].lower()
        name = script.qualname(func) or ""
        if dotted(func) in model.module_texts or "crit" in text or "loss" in text or (
                name.startswith("torch.nn.functional.")):
            return False
        return None
    if isinstance(expr, (ast.Attribute, ast.Subscript)):
        base = expr.value
        if isinstance(base, ast.Name):
            value = script.value_of(base, defaults=False)
            if isinstance(value, ast.Call) and dotted(value.func) in model.module_texts:
                return False
        if isinstance(base, ast.Call) and dotted(base.func) in model.module_texts:
            return False
    return None


def _divided_in_place(script: ParsedScript, name: str, at: ast.AST) -> bool:
    """`loss /= n` (or `*=`) in the same function before `at`."""
    function = script.enclosing_function(at)
    for node in script.nodes(ast.AugAssign):
        if isinstance(node.op, (ast.Div, ast.Mult)) and dotted(node.target) == name and (
                node.lineno, node.col_offset) < (at.lineno, at.col_offset) and (
                script.enclosing_function(node) is function):
            return True
    return False


def _optimizer_kinds(model: LoopModel, steps: list[ast.AST]) -> set[str]:
    kinds: set[str] = set()
    index = model.index
    for call in steps:
        receiver = call.func.value  # type: ignore[attr-defined]
        if call.args and "scaler" in (dotted(receiver) or "").lower():  # type: ignore[attr-defined]
            receiver = call.args[0]  # type: ignore[attr-defined]
        builds = [b for b in index.builds_of(receiver, call) if b.family == "optimizer"]
        if not builds:
            return set()
        kinds.update(build.kind for build in builds)
    return kinds


def _inside(node: ast.AST, container: ast.AST) -> bool:
    start = (container.lineno, container.col_offset)
    end = (container.end_lineno or container.lineno, container.end_col_offset or 0)
    return start <= (node.lineno, node.col_offset) and (
        node.end_lineno or node.lineno, node.end_col_offset or 0) <= end
