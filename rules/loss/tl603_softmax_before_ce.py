"""TL603 softmax-before-ce: softmax output fed to CrossEntropyLoss, which applies log_softmax itself.

The class docstring is the rule's page (docs/rules/TL603.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from trainlint.api import Diagnostic, Example, FixAvailability, ParsedScript, ScriptRule, Severity
from trainlint.rules.loss._losses import CROSS_ENTROPY, activation, loss_calls


class SoftmaxBeforeCrossEntropy(ScriptRule):
    """## What it does
    Finds `softmax` or `log_softmax` output passed to `nn.CrossEntropyLoss` /
    `F.cross_entropy`: directly (`criterion(F.softmax(logits, -1), y)`), through a variable
    (`probs = logits.softmax(-1)` ... `criterion(probs, y)`), through reshapes
    (`probs.view(-1, V)`), or through an `nn.Softmax` module. The loss may be a variable or
    a `self.` attribute set in `__init__`.

    ## Why is this bad?
    `CrossEntropyLoss` applies `log_softmax` to its input itself. Given probabilities, it
    computes the softmax of probabilities: every input lies in [0, 1], the loss can hardly
    go below ~ln(C) - 1, and gradients shrink by orders of magnitude, so training stalls.
    Given log-probabilities the value is unchanged (log_softmax of log-probabilities is the
    identity), so that case is reported as a warning: use `NLLLoss` to say what is meant.

    ## Example
    ```python
    criterion = nn.CrossEntropyLoss()
    loss = criterion(F.softmax(logits, dim=-1), targets)
    ```

    ## Use instead
    ```python
    loss = criterion(logits, targets)
    ```

    ## Fix safety
    No fix: the probabilities are often also used for metrics; which tensor the loss should
    see is for the author to pick.

    ## Options
    None.

    ## Source
    PyTorch `CrossEntropyLoss` docs: "The input is expected to contain the unnormalized
    logits for each class"; it is equivalent to `LogSoftmax` followed by `NLLLoss`.
    """

    code = "TL603"
    name = "softmax-before-ce"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "softmax output fed to CrossEntropyLoss, which applies log_softmax itself"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"softmax", b"Softmax")

    bad = (
        Example(
            "train.py",
            "import torch.nn.functional as F\nfrom torch import nn\n\n"
            "criterion = nn.CrossEntropyLoss()\n\ndef step(model, x, y):\n"
            "    probs = F.softmax(model(x), dim=-1)\n    return criterion(probs, y)\n",
        ),
        Example(
            "train.py",
            "import torch\n\ndef step(logits, y):\n"
            "    return torch.nn.functional.cross_entropy(logits.softmax(-1).view(-1, 10), y)\n",
        ),
    )
    good = (
        Example(
            "train.py",
            "import torch.nn.functional as F\nfrom torch import nn\n\n"
            "criterion = nn.CrossEntropyLoss()\n\ndef step(model, x, y):\n"
            "    logits = model(x)\n    probs = F.softmax(logits, dim=-1)\n"
            "    return criterion(logits, y), probs\n",
        ),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        for loss in loss_calls(script, CROSS_ENTROPY):
            first = loss.first
            kind, applied = activation(script, first)
            if kind == "softmax":
                message = (f"`{script.source(first)}` is softmax output (line {applied.lineno}) "
                           "fed to cross_entropy, which applies log_softmax itself: the loss "
                           "sees probabilities and its gradients vanish; pass the logits")
                yield self.diagnostic(script.path, script.span(first), message)
            elif kind == "log_softmax":
                message = (f"`{script.source(first)}` is log_softmax output (line "
                           f"{applied.lineno}) fed to cross_entropy, which applies log_softmax "
                           "again (a no-op on log-probabilities): pass the logits, or use "
                           "NLLLoss on log-probabilities")
                yield self.diagnostic(script.path, script.span(first), message,
                                      severity=Severity.WARNING)
