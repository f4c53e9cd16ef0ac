"""TL106 plateau-step-without-metric."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    Build,
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
    walk_local,
)


class PlateauStepWithoutMetric(ScriptRule):
    """`ReduceLROnPlateau.step()` called without the value it monitors.

    ## What it does
    Finds `.step()` calls without arguments on a variable (or attribute such as
    `self.scheduler`) that holds a `torch.optim.lr_scheduler.ReduceLROnPlateau`, also where
    the plateau scheduler is one branch of an `if` that picks the scheduler.

    ## Why is this bad?
    `ReduceLROnPlateau.step(metrics)` needs the monitored value: without it the call raises
    `TypeError: step() missing 1 required positional argument: 'metrics'`, usually after the
    first full epoch of training. Switching an epoch-based scheduler to ReduceLROnPlateau
    without changing its `.step()` call is the common way to get there.

    ## Example
    ```python
    scheduler = ReduceLROnPlateau(optimizer, mode="min", patience=10)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        val_loss = evaluate(model)
        scheduler.step()
    ```

    ## Use instead
    ```python
        scheduler.step(val_loss)
    ```

    ## Fix safety
    No fix: trainlint cannot know which value the scheduler should monitor. The message names
    a candidate (a validation loss for `mode="min"`) when the surrounding code has one.

    ## Options
    None.

    ## Source
    Seed 004 (`004_9d53dcec9b7b0ae7.txt`): the suggested ReduceLROnPlateau replacement only
    works together with changing `scheduler.step()` to `scheduler.step(val_metrics['val_loss'])`.
    PyTorch: `ReduceLROnPlateau.step(metrics, epoch=None)` (torch 2.13).
    """

    code = "TL106"
    name = "plateau-step-without-metric"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "`ReduceLROnPlateau.step()` is called without the monitored metric"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"ReduceLROnPlateau",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "from torch.optim.lr_scheduler import ReduceLROnPlateau\n"
            "\n"
            "def fit(model, optimizer, epochs, evaluate):\n"
            "    scheduler = ReduceLROnPlateau(optimizer, mode='min', patience=10)\n"
            "    for epoch in range(epochs):\n"
            "        val_loss = evaluate(model)\n"
            "        scheduler.step()\n"
        )),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "from torch.optim.lr_scheduler import ReduceLROnPlateau\n"
            "\n"
            "def fit(model, optimizer, epochs, evaluate):\n"
            "    scheduler = ReduceLROnPlateau(optimizer, mode='min', patience=10)\n"
            "    for epoch in range(epochs):\n"
            "        val_loss = evaluate(model)\n"
            "        scheduler.step(val_loss)\n"
        )),
        Example("train.py", (
            "import torch\n"
            "from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR\n"
            "\n"
            "def fit(model, optimizer, epochs, evaluate, use_plateau):\n"
            "    if use_plateau:\n"
            "        scheduler = ReduceLROnPlateau(optimizer)\n"
            "    else:\n"
            "        scheduler = StepLR(optimizer, step_size=30)\n"
            "    for epoch in range(epochs):\n"
            "        val_loss = evaluate(model)\n"
            "        if isinstance(scheduler, ReduceLROnPlateau):\n"
            "            scheduler.step(val_loss)\n"
            "        else:\n"
            "            scheduler.step()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        index = code_index(script)
        for step in index.steps:
            if step.has_arguments:
                continue
            plateaus = [build for build in feasible_builds(index, step) if build.is_plateau]
            if plateaus:
                yield self.diagnostic(script.path, script.span(step.call),
                                      self._message(index, step, plateaus[0]))

    def _message(self, index: CodeIndex, step: StepCall, plateau: Build) -> str:
        receiver = step.receiver or "scheduler"
        metric = metric_hint(index, step.call, plateau)
        wanted = "a validation score" if _mode(plateau) == "max" else "a validation loss"
        example = f"`{receiver}.step({metric})`" if metric else f"`{receiver}.step(val_loss)`"
        return (f"`{receiver}.step()` has no metric but `{receiver}` is a ReduceLROnPlateau "
                f"(line {plateau.line}): it raises TypeError (missing 'metrics'); pass "
                f"{wanted}, e.g. {example}")


def _mode(plateau: Build) -> str:
    mode = plateau.args.get("mode")
    return mode.value if isinstance(mode, ast.Constant) else "min"


def metric_hint(index: CodeIndex, node: ast.AST, plateau: Build) -> str | None:
    """A validation value computed near the step call (`val_loss`, `val_metrics['val_loss']`)."""
    scope = index.function_of(node) or index.script.tree
    words = ("acc", "score", "f1", "bleu", "map") if _mode(plateau) == "max" else ("loss",)
    # (line, preference, column): on one line a name bound there beats a subscript read.
    candidates: list[tuple[tuple[int, int, int], str]] = []
    for child in walk_local(scope):
        texts = [_validation_text(index, child), _returned_entry(index, child, words)]
        for text in texts:
            if text and any(word in text.lower() for word in words):
                preference = 1 if isinstance(child, ast.Name) else 0
                candidates.append(((child.lineno, preference, child.col_offset), text))
    before = [item for item in candidates if item[0][0] < node.lineno]
    chosen = max(before) if before else (min(candidates) if candidates else None)
    return chosen[1] if chosen else None


def _validation_text(index: CodeIndex, node: ast.AST) -> str | None:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and "val" in node.id.lower():
        return node.id
    if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str) and "val" in node.slice.value.lower()
            and isinstance(node.value, ast.Name)):
        return index.script.source(node)
    return None


def _returned_entry(index: CodeIndex, node: ast.AST, words: tuple[str, ...]) -> str | None:
    """`metrics = validate(...)` where validate returns {"val_loss": ...}: "metrics['val_loss']"."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)):
        return None
    callee = index.local_function(node.value)
    if callee is None:
        return None
    for child in walk_local(callee):
        if isinstance(child, ast.Return) and isinstance(child.value, ast.Dict):
            for key in child.value.keys:
                if (isinstance(key, ast.Constant) and isinstance(key.value, str)
                        and any(word in key.value.lower() for word in words)):
                    return f"{node.targets[0].id}[{key.value!r}]"
    return None
