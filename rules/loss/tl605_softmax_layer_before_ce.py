"""TL605 softmax-layer-before-ce: model ends in a softmax layer and is trained with CrossEntropyLoss.

The class docstring is the rule's page (docs/rules/TL605.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
    walk_breadth_first,
)
from trainlint.rules.loss._losses import ACTIVATION_MODULES, CROSS_ENTROPY, activation

SEQUENTIAL = "torch.nn.Sequential"


class SoftmaxLayerBeforeCrossEntropy(ScriptRule):
    """## What it does
    Finds a model whose last layer is `nn.Softmax` / `nn.LogSoftmax` (the last entry of an
    `nn.Sequential`, or what `forward` returns: `F.softmax(x)`, `x.softmax(-1)`,
    `self.softmax(x)`) in a file that trains with `nn.CrossEntropyLoss` /
    `F.cross_entropy`. A softmax returned only when not training
    (`if not self.training: return x.softmax(-1)`) is fine.

    ## Why is this bad?
    `CrossEntropyLoss` applies `log_softmax` itself. A softmax layer in front of it makes
    the loss see probabilities: the loss cannot fall much below ~ln(C) - 1 and its gradients
    vanish. With `nn.LogSoftmax` the result is the same as without it (log_softmax of
    log-probabilities is the identity); that case is a warning: drop the layer or train
    with `NLLLoss`.

    ## Example
    ```python
    model = nn.Sequential(nn.Linear(512, 10), nn.Softmax(dim=-1))
    criterion = nn.CrossEntropyLoss()
    ```

    ## Use instead
    ```python
    model = nn.Sequential(nn.Linear(512, 10))
    criterion = nn.CrossEntropyLoss()
    probs = model(x).softmax(-1)  # where probabilities are needed
    ```

    ## Fix safety
    No fix: removing the layer changes what the model returns at inference.

    ## Options
    None.

    ## Source
    PyTorch `CrossEntropyLoss` docs: the input is "unnormalized logits"; the loss combines
    `LogSoftmax` and `NLLLoss`.
    """

    code = "TL605"
    name = "softmax-layer-before-ce"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "model ends in a softmax layer and is trained with CrossEntropyLoss"
    precision = "no true or false findings (1 debatable of 1; dev corpus, 28 repositories)"
    needles = (b"oftmax",)

    bad = (
        Example(
            "train.py",
            "from torch import nn\n\nmodel = nn.Sequential(nn.Linear(512, 10), nn.Softmax(dim=-1))\n"
            "criterion = nn.CrossEntropyLoss()\n",
        ),
        Example(
            "model.py",
            "import torch.nn.functional as F\nfrom torch import nn\n\n"
            "class Classifier(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(512, 10)\n\n    def forward(self, x):\n"
            "        return F.softmax(self.fc(x), dim=-1)\n\n"
            "def loss(model, x, y):\n    return F.cross_entropy(model(x), y)\n",
        ),
    )
    good = (
        Example(
            "model.py",
            "import torch.nn.functional as F\nfrom torch import nn\n\n"
            "class Classifier(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(512, 10)\n\n    def forward(self, x):\n"
            "        logits = self.fc(x)\n        if not self.training:\n"
            "            return logits.softmax(-1)\n        return logits\n\n"
            "def loss(model, x, y):\n    return F.cross_entropy(model(x), y)\n",
        ),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        ce = next(script.calls_to(CROSS_ENTROPY), None)
        if ce is None:
            return
        ce_line = ce[0].lineno
        for node, kind in self._last_layers(script):
            if kind == "softmax":
                message = (f"the model's last layer `{script.source(node)}` is a softmax and "
                           f"CrossEntropyLoss (line {ce_line}) applies log_softmax again: the "
                           "loss sees probabilities and its gradients vanish; return logits")
                yield self.diagnostic(script.path, script.span(node), message)
            else:
                message = (f"the model's last layer `{script.source(node)}` is a log_softmax and "
                           f"CrossEntropyLoss (line {ce_line}) applies it again (a no-op): "
                           "return logits, or train with NLLLoss")
                yield self.diagnostic(script.path, script.span(node), message,
                                      severity=Severity.WARNING)

    def _last_layers(self, script: ParsedScript) -> Iterator[tuple[ast.AST, str]]:
        for call, _ in script.calls_to((SEQUENTIAL,)):
            if not call.args or isinstance(call.args[-1], ast.Starred):
                continue
            last = call.args[-1]
            if isinstance(last, ast.Call):
                kind = ACTIVATION_MODULES.get(script.qualname(last.func) or "")
                if kind:
                    yield last, kind
        for node in script.classes:
            yield from self._forward_returns(script, node)

    def _forward_returns(self, script: ParsedScript, cls: ast.ClassDef) -> Iterator[tuple[ast.AST, str]]:
        forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward"),
                       None)
        if forward is None:
            return
        for node in walk_breadth_first(forward):
            if not isinstance(node, ast.Return) or node.value is None:
                continue
            if script.enclosing_function(node) is not forward or self._inference_only(script, node):
                continue
            kind, _ = activation(script, node.value)
            if kind in ("softmax", "log_softmax"):
                yield node.value, kind

    @staticmethod
    def _inference_only(script: ParsedScript, node: ast.AST) -> bool:
        for ancestor in script.ancestors(node):
            if isinstance(ancestor, ast.If) and "training" in script.source(ancestor.test):
                return True
            if isinstance(ancestor, ast.FunctionDef):
                return False
        return False
