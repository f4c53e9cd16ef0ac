"""TL604 ctc-input-not-log-probs: CTC loss fed with logits or probabilities instead of log-probabilities.

The class docstring is the rule's page (docs/rules/TL604.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import Diagnostic, Example, FixAvailability, ParsedScript, ScriptRule, Severity
from trainlint.rules.loss._losses import CTC, activation, loss_calls


class CtcInputNotLogProbs(ScriptRule):
    """## What it does
    Finds CTC losses (`nn.CTCLoss`, `F.ctc_loss`) fed with something other than
    log-probabilities: `softmax` output, the output of an `nn.Linear` layer, or a tensor
    named like raw logits (`logits`, `outputs.logits`) that never went through
    `log_softmax`. Variables, `self.` attributes and reshapes (`.transpose(0, 1)`,
    `.permute(1, 0, 2)`) are followed within a function or class. Model outputs whose last
    step cannot be seen (`model(x)`) are left alone.

    ## Why is this bad?
    `ctc_loss` reads its first argument as log-probabilities over the vocabulary and does not
    normalize it. Logits or probabilities give a loss that is not a likelihood: it can go
    negative, it can be lowered without learning anything, and the model collapses to
    predicting blanks or one token everywhere.

    ## Example
    ```python
    logits = self.fc(hidden)  # (T, N, C)
    loss = self.ctc(logits, targets, input_lengths, target_lengths)
    ```

    ## Use instead
    ```python
    log_probs = self.fc(hidden).log_softmax(dim=-1)
    loss = self.ctc(log_probs, targets, input_lengths, target_lengths)
    ```

    ## Fix safety
    No fix: the right place for `log_softmax` (in the model or before the loss) depends on
    what else reads the output.

    ## Options
    None.

    ## Source
    PyTorch `CTCLoss` docs: `log_probs` are "the logarithmized probabilities of the outputs
    (e.g. obtained with torch.nn.functional.log_softmax())". Seeds 001 and 004 diagnosed CTC
    collapse by checking that the model's outputs are valid log-probabilities.
    """

    code = "TL604"
    name = "ctc-input-not-log-probs"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "CTC loss fed with logits or probabilities instead of log-probabilities"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"ctc", b"CTC")

    bad = (
        Example(
            "model.py",
            "from torch import nn\n\nclass Recognizer(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(512, 41)\n        self.ctc = nn.CTCLoss(blank=0)\n\n"
            "    def loss(self, hidden, targets, input_lengths, target_lengths):\n"
            "        logits = self.fc(hidden)\n"
            "        return self.ctc(logits.transpose(0, 1), targets, input_lengths, target_lengths)\n",
        ),
        Example(
            "train.py",
            "import torch.nn.functional as F\n\ndef step(model, x, y, xl, yl):\n"
            "    probs = F.softmax(model(x), dim=-1)\n"
            "    return F.ctc_loss(probs.permute(1, 0, 2), y, xl, yl)\n",
        ),
    )
    good = (
        Example(
            "model.py",
            "from torch import nn\n\nclass Recognizer(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(512, 41)\n        self.ctc = nn.CTCLoss(blank=0)\n\n"
            "    def loss(self, hidden, targets, input_lengths, target_lengths):\n"
            "        log_probs = self.fc(hidden).log_softmax(dim=-1)\n"
            "        return self.ctc(log_probs.transpose(0, 1), targets, input_lengths, target_lengths)\n",
        ),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        for loss in loss_calls(script, CTC):
            first = loss.first
            if first is None:
                continue
            what = self._not_log_probs(script, first)
            if what is None:
                continue
            message = (f"CTC loss input `{script.source(first)}` is {what}: ctc_loss expects "
                       "log-probabilities; apply log_softmax(dim=-1) first")
            yield self.diagnostic(script.path, script.span(first), message)

    @staticmethod
    def _not_log_probs(script: ParsedScript, first: ast.expr) -> str | None:
        kind, applied = activation(script, first)
        if kind == "softmax":
            return f"softmax output (line {applied.lineno}), probabilities"
        if kind is not None:
            return None
        made = script.origin(first)
        if isinstance(made, ast.Call):
            func = made.func
            if isinstance(func, (ast.Name, ast.Attribute)):
                if (script.constructor(func) == "torch.nn.Linear"
                        or script.qualname(func) == "torch.nn.functional.linear"):
                    return f"the output of a Linear layer (line {made.lineno}), raw logits"
                label = func.attr if isinstance(func, ast.Attribute) else func.id
                if "logit" in label.lower() and "log_prob" not in label.lower():
                    return f"raw logits (`{script.source(func)}(...)`)"
            return None
        label = made.attr if isinstance(made, ast.Attribute) else getattr(made, "id", "")
        if "logit" in label.lower():
            return f"raw logits (`{script.source(made)}`)"
        return None
