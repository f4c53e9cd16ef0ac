"""TL704 loss-accumulated-as-tensor."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Applicability, Diagnostic, Edit, Example, Fix, FixAvailability, Grad, Kind, ScriptRule,
    Severity, dotted, loop_model,
)

if TYPE_CHECKING:
    from trainlint.api import Loop, LoopModel, ParsedScript


class LossAccumulatedAsTensor(ScriptRule):
    """## What it does
    Finds a running total of the loss kept across the iterations of a training loop
    (`running_loss += loss`, also `+= loss * batch_size`, or `losses.append(loss)`) where
    `loss` is the tensor the loop calls `backward()` on, not `loss.item()` or
    `loss.detach()`. The total must be set up outside the loop (a total reset inside the
    loop and back-propagated, `total = 0; total += l1; total += l2; total.backward()`, is how
    several losses are combined, and is left alone), and the sum must run with autograd on.

    ## Why is this bad?
    `loss` carries its autograd history. Adding it to a total makes the total part of the
    graph too, so every step's graph stays reachable until the total is dropped at the end
    of the epoch: memory grows with every step, and the code that reads the total (logging,
    `total / len(loader)`) also pays for graph bookkeeping. The PyTorch FAQ names exactly
    this pattern as a cause of running out of memory.

    ## Example
    ```python
    running_loss = 0.0
    for x, y in train_loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss
    ```

    ## Use instead
    ```python
        running_loss += loss.item()
    ```

    ## Fix safety
    Unsafe: the total becomes a Python float (`loss.item()`, which also waits for the GPU
    each step), or, where the code later uses the total as a tensor (`total.item()`,
    `dist.all_reduce(total)`), a tensor without history (`loss.detach()`). Offered for
    `+=`; a list of losses is reported without a fix.

    ## Options
    None.

    ## Source
    PyTorch FAQ, "My model reports cuda runtime error(2): out of memory": `total_loss += loss`
    accumulates history across the training loop; use `total_loss += float(loss)`.
    """

    code = "TL704"
    name = "loss-accumulated-as-tensor"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "loss added to a running total with its autograd history"
    fix_title = "add `loss.item()` instead"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b"backward",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "running_loss = 0.0\n"
            "for x, y in train_loader:\n"
            "    optimizer.zero_grad()\n"
            "    loss = criterion(model(x), y)\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    running_loss += loss * x.size(0)  # summed per sample\n"
            "print(running_loss / len(train_loader.dataset))\n"
        ), fixed=(
            "import torch\n"
            "\n"
            "running_loss = 0.0\n"
            "for x, y in train_loader:\n"
            "    optimizer.zero_grad()\n"
            "    loss = criterion(model(x), y)\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    running_loss += loss.item() * x.size(0)  # summed per sample\n"
            "print(running_loss / len(train_loader.dataset))\n"
        ), unsafe=True),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "running_loss = 0.0\n"
            "for x, y in train_loader:\n"
            "    optimizer.zero_grad()\n"
            "    loss = criterion(model(x), y)\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    running_loss += loss.item()\n"
        )),
        Example("train.py", (
            "import torch\n"
            "\n"
            "for x, y in train_loader:\n"
            "    optimizer.zero_grad()\n"
            "    total = 0\n"
            "    for head in heads:\n"
            "        loss = criterion(head(x), y)\n"
            "        total += loss\n"
            "    total.backward()\n"
            "    optimizer.step()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        if not model.uses_torch:
            return
        seen: set[int] = set()
        for loop in model.loops:
            if loop.owned:
                continue
            losses = [loss for event in loop.of(Kind.BACKWARD, depth=0)
                      if (loss := backward_target(event.node)) is not None]
            if not losses:
                continue
            nodes = list(_nodes_in(script, loop))
            for loss in losses:
                for node, total in self._totals(script, model, loop, loss, nodes):
                    if id(node) in seen:
                        continue
                    seen.add(id(node))
                    yield self._finding(script, model, loop, node, total, loss.id)

    def _totals(self, script: ParsedScript, model: LoopModel, loop: Loop, loss: ast.Name,
                nodes: list[ast.AST]) -> Iterator[tuple[ast.AST, str]]:
        """Running totals in the loop that add `loss` (the same binding `backward()` uses)."""
        binding = script.binding_of(loss)
        if binding is None or binding.kind not in ("assign", "target"):
            return
        backward_names = _backward_names(model, loop.function)
        for node in nodes:
            if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
                total = dotted(node.target)
                used = _added_name(node.value, loss.id)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "append" and len(node.args) == 1 and not node.keywords):
                total = dotted(node.func.value)
                used = _added_name(node.args[0], loss.id)
            else:
                continue
            if total is None or used is None or total.split(".", 1)[0] in backward_names:
                continue
            other = script.binding_of(used)
            if other is None or other.node is not binding.node:
                continue
            if _set_inside(script, loop, total) or model.grad_state(node) == Grad.OFF:
                continue
            if _reset_with_the_step(script, model, loop, total):
                continue
            yield node, total

    def _finding(self, script: ParsedScript, model: LoopModel, loop: Loop, node: ast.AST,
                 total: str, loss: str) -> Diagnostic:
        if isinstance(node, ast.AugAssign):
            value = node.value
            message = (f"`{total} += ...` adds `{loss}` with its autograd history: the total "
                       f"keeps every step's graph alive until it is dropped; add "
                       f"`{loss}.item()` (or `{loss}.detach()`)")
            fix = self._fix(script, loop, value, total, loss)
        else:
            value = node
            message = (f"`{total}.append({loss})` keeps every step's autograd graph alive "
                       f"until the list is dropped; append `{loss}.item()` or "
                       f"`{loss}.detach()`")
            fix = None
        return self.diagnostic(script.path, script.span(value), message, fix)

    @staticmethod
    def _fix(script: ParsedScript, loop: Loop, value: ast.expr, total: str, loss: str) -> Fix | None:
        name = _added_name(value, loss)
        if name is None:
            return None
        method = "detach" if _used_as_tensor(script, loop, total) else "item"
        span = script.span(name)
        edit = Edit(script.index.span(span.end, span.end), f".{method}()")
        return Fix(Applicability.UNSAFE, f"add `{loss}.{method}()` instead of `{loss}`", (edit,))


def backward_target(call: ast.AST) -> ast.Name | None:
    """`loss` in `loss.backward()`, `(loss / n).backward()`, `scaler.scale(loss).backward()`,
    `accelerator.backward(loss)`: the scalar the backward pass starts from."""
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return None
    if call.func.attr != "backward":
        return None
    receiver = call.func.value
    if isinstance(receiver, ast.Name) and receiver.id not in ("accelerator", "fabric"):
        return None if call.args else receiver
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and (
            receiver.func.attr == "scale" and len(receiver.args) == 1):
        receiver = receiver.args[0]
    elif call.args and len(call.args) == 1:
        receiver = call.args[0]  # accelerator.backward(loss), engine.backward(loss)
    while isinstance(receiver, ast.BinOp) and isinstance(receiver.op, (ast.Div, ast.Mult)):
        receiver = receiver.left
    return receiver if isinstance(receiver, ast.Name) else None


def _added_name(value: ast.expr, loss: str) -> ast.Name | None:
    """The Name `loss` where a sum adds it as a tensor (`loss`, `loss * n`, `n * loss`)."""
    if isinstance(value, ast.Name):
        return value if value.id == loss else None
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Mult, ast.Div, ast.Add, ast.Sub)):
        return _added_name(value.left, loss) or _added_name(value.right, loss)
    return None


def _nodes_in(script: ParsedScript, loop: Loop) -> Iterator[ast.AST]:
    """The augmented assignments and calls of the loop's own function inside the loop."""
    node = loop.node
    start, end = (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
    function = loop.function
    for found in (*script.nodes(ast.AugAssign), *script.method_calls("append")):
        if start <= (found.lineno, found.col_offset) <= end and (
                script.enclosing_function(found) is function):
            yield found


def _backward_names(model: LoopModel, function: ast.AST | None) -> set[str]:
    """Names that take part in a backward pass of the function (a total that is
    back-propagated is a combined loss, not a log)."""
    names = set()
    for event in model.function_events(function, depth=0):
        if event.kind == Kind.BACKWARD:
            names.update(n.id for n in ast.walk(event.node) if isinstance(n, ast.Name))
    return names


def _set_inside(script: ParsedScript, loop: Loop, total: str) -> bool:
    """The total is reset at the top level of the loop body, every iteration: it does not
    outlive one iteration (a reset under a condition, every 100 steps, does not count)."""
    for node in loop.node.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(dotted(target) == total for target in targets):
                return True
    return False


def _reset_with_the_step(script: ParsedScript, model: LoopModel, loop: Loop, total: str) -> bool:
    """The total is reset in the block that steps the optimizer (every N accumulated
    batches): it spans one optimizer step's micro-batches, whose graphs the backward passes
    have already freed."""
    steps = loop.of(Kind.STEP, depth=0)
    for node in ast.walk(loop.node):
        if not isinstance(node, ast.If):
            continue
        resets = any(isinstance(child, ast.Assign) and any(dotted(t) == total for t in child.targets)
                     for child in ast.walk(node))
        if resets and any(_within(step.node, node) for step in steps):
            return True
    return False


def _within(node: ast.AST, container: ast.AST) -> bool:
    return (container.lineno, container.col_offset) <= (node.lineno, node.col_offset) and (
        node.end_lineno or node.lineno, node.end_col_offset or 0) <= (
        container.end_lineno or container.lineno, container.end_col_offset or 0)


def _used_as_tensor(script: ParsedScript, loop: Loop, total: str) -> bool:
    """The function reads the total as a tensor: `total.item()`, `dist.all_reduce(total)`."""
    function = loop.function or script.tree
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and dotted(node.value) == total and isinstance(
                node.ctx, ast.Load):
            return True
        if isinstance(node, ast.Call) and any(dotted(arg) == total for arg in node.args):
            name = script.qualname(node.func) or ""
            if name.startswith("torch"):
                return True
    return False
