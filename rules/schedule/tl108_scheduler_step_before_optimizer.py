"""TL108 scheduler-step-before-optimizer."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    CodeIndex,
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
    StepCall,
    code_index,
    feasible_builds,
    position,
    walk_breadth_first,
    walk_local,
)


class SchedulerStepBeforeOptimizer(ScriptRule):
    """`scheduler.step()` runs before the first `optimizer.step()` of a training loop.

    ## What it does
    Finds LR scheduler `.step()` calls that come, in a training loop's body, before any
    `optimizer.step()` (or `scaler.step(optimizer)`) of that loop, also where the optimizer
    step happens in a function of the same file that the loop calls (`train_one_epoch(...)`).

    ## Why is this bad?
    Since PyTorch 1.1 a scheduler is meant to be stepped after the optimizer. Stepping it
    first makes PyTorch warn (`Detected call of lr_scheduler.step() before optimizer.step()`)
    and skips the first value of the schedule: a warmup starts one step (or epoch) late, a
    step decay comes one epoch early.

    ## Example
    ```python
    for epoch in range(args.epochs):
        scheduler.step()
        train_one_epoch(model, loader, optimizer)
    ```

    ## Use instead
    ```python
    for epoch in range(args.epochs):
        train_one_epoch(model, loader, optimizer)
        scheduler.step()
    ```

    ## Fix safety
    No fix: moving the call changes which LR each epoch gets.

    ## Options
    None.

    ## Source
    PyTorch "How to adjust learning rate" (optim docs) and the warning in
    `LRScheduler.step` (torch 1.1 changed the order; still warns in 2.13).
    `ReduceLROnPlateau` is not checked: it has no such warning.
    """

    code = "TL108"
    name = "scheduler-step-before-optimizer"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "`scheduler.step()` runs before the first `optimizer.step()`"
    precision = "100.0% (1 true, 0 false, 0 debatable of 1; dev corpus, 28 repositories)"
    needles = (b".step(",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "def train_one_epoch(model, loader, optimizer):\n"
            "    for batch in loader:\n"
            "        optimizer.zero_grad()\n"
            "        model(batch).backward()\n"
            "        optimizer.step()\n"
            "\n"
            "def fit(model, loader, epochs):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)\n"
            "    for epoch in range(epochs):\n"
            "        scheduler.step()\n"
            "        train_one_epoch(model, loader, optimizer)\n"
        )),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "def fit(model, loader, epochs):\n"
            "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)\n"
            "    for epoch in range(epochs):\n"
            "        for batch in loader:\n"
            "            optimizer.zero_grad()\n"
            "            model(batch).backward()\n"
            "            optimizer.step()\n"
            "        scheduler.step()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        index = code_index(script)
        for step in index.steps:
            if not _is_scheduler_step(index, step):
                continue
            first = first_optimizer_step(index, step)
            if first is not None and position(first) > position(step.call):
                receiver = step.receiver or "scheduler"
                what = _describe(index, first)
                message = (f"`{receiver}.step()` runs before {what} (line {first.lineno}) in "
                           f"the same loop: PyTorch warns and skips the schedule's first LR "
                           f"value; step the scheduler after the optimizer")
                yield self.diagnostic(script.path, script.span(step.call), message)


def _describe(index: CodeIndex, node: ast.AST) -> str:
    callee = index.local_function(node) if isinstance(node, ast.Call) else None
    if callee is not None:
        return f"the optimizer step in `{callee.name}()`"
    return f"`{index.script.source(node)}`"


def _is_scheduler_step(index: CodeIndex, step: StepCall) -> bool:
    if index.is_optimizer_step(step):
        return False
    if step.builds:
        builds = feasible_builds(index, step)
        return bool(builds) and all(build.family == "scheduler" and not build.is_plateau
                                    for build in builds)
    leaf = (step.receiver or "").rsplit(".", 1)[-1].lower()
    return "sched" in leaf and "plateau" not in leaf and not step.has_arguments


def first_optimizer_step(index: CodeIndex, step: StepCall) -> ast.AST | None:
    """The first node of the innermost loop around the step that runs an optimizer step.

    None where no loop around it steps the optimizer, or where the scheduler step is guarded
    by a test on the loop variable (`if epoch > 0: scheduler.step()`).
    """
    optimizer_calls = index.optimizer_step_calls()
    for loop in index.loops_around(step.call):
        if _guarded_by_loop_variable(index, step.call, loop):
            return None
        found = [node for statement in loop.body
                 for node in (statement, *walk_local(statement))
                 if _runs_optimizer_step(index, node, optimizer_calls)]
        if found:
            return min(found, key=position)
    return None


def _runs_optimizer_step(index: CodeIndex, node: ast.AST, optimizer_calls: set) -> bool:
    if node in optimizer_calls:
        return True
    if isinstance(node, ast.Call):
        callee = index.local_function(node)
        return callee is not None and index.runs_optimizer_step(callee)
    return False


def _guarded_by_loop_variable(index: CodeIndex, node: ast.AST, loop: ast.AST) -> bool:
    header = loop.test if isinstance(loop, ast.While) else loop.target
    names = {child.id for child in walk_breadth_first(header) if isinstance(child, ast.Name)}
    for ancestor in index.ancestors(node):
        if ancestor is loop:
            return False
        if isinstance(ancestor, ast.If):
            used = {child.id for child in walk_breadth_first(ancestor.test)
                    if isinstance(child, ast.Name)}
            if used & names:
                return True
    return False
