"""TL711 eval-on-train-data."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Diagnostic, Example, FixAvailability, ScriptRule, Severity, argument_for, dotted, has_word,
    loop_model,
)

if TYPE_CHECKING:
    from trainlint.api import Loop, LoopModel, ParsedScript

HELD_OUT = ("val", "valid", "validation", "test", "dev", "holdout", "heldout")
SPLIT = "sklearn.model_selection.train_test_split"
SCORING = ("score", "evaluate")


class EvalOnTrainData(ScriptRule):
    """## What it does
    Finds validation or test results computed on the training data:

    - an evaluation loop (see TL702/TL703 for what counts as one) that iterates the same
      `DataLoader` the training loop iterates (the same construction in this file, followed
      through names, arguments and local functions), where the result is labelled as
      validation or test: assigned to `val_*` / `test_*` names, or the evaluating function
      is named `validate` / `test`;
    - a scikit-learn metric or `.score(...)` called with the training part of a
      `train_test_split` (its first, third, ... results) and assigned to a `val_*` /
      `test_*` name.

    Computing training metrics on the training loader under a neutral name
    (`train_acc = evaluate(model, train_loader)`) is common and fine, and is not reported.

    ## Why is this bad?
    The model has seen these samples: the "validation" score measures memorisation, not
    generalisation, so early stopping, checkpoint selection and the reported result all
    look better than the model is, and overfitting goes unnoticed.

    ## Example
    ```python
    val_loss, val_acc = validate(model, train_loader)
    ```

    ## Use instead
    ```python
    val_loss, val_acc = validate(model, val_loader)
    ```

    ## Fix safety
    No fix: which loader holds the held-out data is for the author to say.

    ## Options
    None.

    ## Source
    A common copy-paste slip in training scripts; Kapoor & Narayanan, "Leakage and the
    reproducibility crisis in ML-based science" (2023), list evaluation on training data as
    the first kind of leakage.
    """

    code = "TL711"
    name = "eval-on-train-data"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "validation or test metrics computed on the training data"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b"train_test_split", b"DataLoader")

    bad = (
        Example("train.py", (
            "import torch\n"
            "from torch.utils.data import DataLoader\n"
            "\n"
            "\n"
            "@torch.no_grad()\n"
            "def evaluate(model, loader):\n"
            "    model.eval()\n"
            "    total = 0.0\n"
            "    for x, y in loader:\n"
            "        total += criterion(model(x), y).item()\n"
            "    return total\n"
            "\n"
            "\n"
            "train_loader = DataLoader(train_set, batch_size=64, shuffle=True)\n"
            "val_loader = DataLoader(val_set, batch_size=64)\n"
            "for epoch in range(10):\n"
            "    model.train()\n"
            "    for x, y in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
            "    val_loss = evaluate(model, train_loader)\n"
        )),
        Example("fit.py", (
            "from sklearn.metrics import f1_score\n"
            "from sklearn.model_selection import train_test_split\n"
            "\n"
            "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)\n"
            "clf.fit(X_train, y_train)\n"
            "test_f1 = f1_score(y_train, clf.predict(X_train))\n"
        )),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "from torch.utils.data import DataLoader\n"
            "\n"
            "\n"
            "@torch.no_grad()\n"
            "def evaluate(model, loader):\n"
            "    model.eval()\n"
            "    total = 0.0\n"
            "    for x, y in loader:\n"
            "        total += criterion(model(x), y).item()\n"
            "    return total\n"
            "\n"
            "\n"
            "train_loader = DataLoader(train_set, batch_size=64, shuffle=True)\n"
            "for epoch in range(10):\n"
            "    model.train()\n"
            "    for x, y in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
            "    train_loss = evaluate(model, train_loader)\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        if "train_test_split" in script.text:
            yield from self._sklearn(script)
        if "DataLoader" in script.text:
            yield from self._loaders(script)

    # ---------------------------------------------------------------- torch loops
    def _loaders(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        training = {id(call) for loop in model.training_loops()
                    if (call := model.dataloader_call(model.loop_target(loop))) is not None}
        if not training:
            return
        seen: set[int] = set()
        for loop in model.loops:
            if loop.owned or loop.trains or not model.is_evaluation(loop):
                continue
            target = model.loop_target(loop)
            if target is None:
                continue
            for argument, label in self._passed_loaders(script, model, loop, target):
                call = model.dataloader_call(argument)
                if call is None or id(call) not in training or id(argument) in seen:
                    continue
                seen.add(id(argument))
                message = (f"{label} is computed on `{script.source(argument)}`, the loader the "
                           "training loop iterates: the model has seen these samples, so the "
                           "score measures memorisation; evaluate on the held-out loader")
                yield self.diagnostic(script.path, script.span(argument), message)

    @staticmethod
    def _passed_loaders(script: ParsedScript, model: LoopModel, loop: Loop,
                        target: ast.expr) -> Iterator[tuple[ast.expr, str]]:
        """(loader expression, label) where the evaluation is labelled held-out."""
        function = loop.function
        root = dotted(target)
        params = set()
        if function is not None:
            params = {a.arg for a in (*function.args.posonlyargs, *function.args.args,
                                      *function.args.kwonlyargs)}
        if function is None or root not in params:
            label = _held_out_total(script, loop)
            if label:
                yield target, label
            return
        named = has_word(function.name, ("validate", "validation", "val", "test"))
        for site in model.call_sites(function):
            if not isinstance(site, ast.Call):
                continue
            argument = argument_for(site, function, root)
            if argument is None:
                continue
            label = _assigned_label(script, site)
            if label is None and named:
                label = f"`{function.name}()`"
            if label is not None:
                yield argument, label

    # ---------------------------------------------------------------- scikit-learn
    def _sklearn(self, script: ParsedScript) -> Iterator[Diagnostic]:
        train_parts: set[str] = set()
        for call, _ in script.calls_to((SPLIT,)):
            statement = script.parent(call)
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(
                    statement.targets[0], (ast.Tuple, ast.List)):
                for number, element in enumerate(statement.targets[0].elts):
                    if number % 2 == 0 and isinstance(element, ast.Name):
                        train_parts.add(element.id)
        if not train_parts:
            return
        for call in script.calls:
            name = script.qualname(call.func) or ""
            leaf = (dotted(call.func) or "").rsplit(".", 1)[-1]
            if not (name.startswith("sklearn.metrics.") or leaf in SCORING):
                continue
            data = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
            used = [arg for arg in data if _uses(arg, train_parts)]
            if not used or any(not _uses(arg, train_parts) and _named_held_out(arg) for arg in data):
                continue
            label = _assigned_label(script, call)
            if label is None:
                continue
            message = (f"{label} is computed on `{script.source(used[0])}`, the training part of "
                       "`train_test_split`: the model was fitted on these rows, so the score "
                       "measures memorisation; use the test part")
            yield self.diagnostic(script.path, script.span(call), message)


def _uses(expr: ast.AST, names: set[str]) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, ast.Call):  # clf.predict(X_train)
        return any(_uses(arg, names) for arg in expr.args)
    if isinstance(expr, (ast.Subscript, ast.Attribute)):
        return _uses(expr.value, names)
    return False


def _named_held_out(expr: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and has_word(n.id, HELD_OUT) for n in ast.walk(expr))


def _assigned_label(script: ParsedScript, call: ast.AST) -> str | None:
    """`val_loss` for `val_loss = ...(call)...` (also a tuple of targets, or a dict key
    `metrics["val_acc"] = ...`)."""
    node: ast.AST | None = call
    while node is not None and not isinstance(node, ast.stmt):
        node = script.parent(node)
    if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return None
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    for target in targets:
        for part in ast.walk(target):
            text = dotted(part) if isinstance(part, (ast.Name, ast.Attribute)) else (
                part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else None)
            if text and has_word(text, HELD_OUT) and not has_word(text, ("train",)):
                return f"`{text}`"
    return None


def _held_out_total(script: ParsedScript, loop: Loop) -> str | None:
    """A running total in the loop named for validation (`val_correct += ...`)."""
    for node in ast.walk(loop.node):
        if isinstance(node, ast.AugAssign):
            text = dotted(node.target)
            if text and has_word(text, HELD_OUT) and not has_word(text, ("train",)):
                return f"`{text}`"
    return None
