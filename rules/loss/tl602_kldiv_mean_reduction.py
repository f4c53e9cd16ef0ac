"""TL602 kldiv-mean-reduction: KL divergence with reduction='mean' divides by the number of classes too.

The class docstring is the rule's page (docs/rules/TL602.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    Applicability,
    Diagnostic,
    Example,
    Fix,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
)
from trainlint.rules.loss._losses import REDUCTION_POSITION

KL_MAKERS = ("torch.nn.KLDivLoss", "torch.nn.functional.kl_div")


class KlDivMeanReduction(ScriptRule):
    """## What it does
    Finds `nn.KLDivLoss(...)` and `F.kl_div(...)` whose `reduction` is `"mean"`, written out
    or left at its default.

    ## Why is this bad?
    With `reduction="mean"` PyTorch divides the summed KL divergence by the number of
    elements, that is batch size x number of classes, not by the batch size. The loss (and
    its gradient) is then smaller by a factor of the vocabulary size, which silently scales
    the effective learning rate or the weight of a distillation / label-smoothing term, and
    the value is not the KL divergence. PyTorch warns and documents `"batchmean"`, which
    matches the math definition.

    ## Example
    ```python
    criterion = nn.KLDivLoss()
    loss = F.kl_div(student_log_probs, teacher_probs, reduction="mean")
    ```

    ## Use instead
    ```python
    criterion = nn.KLDivLoss(reduction="batchmean")
    loss = F.kl_div(student_log_probs, teacher_probs, reduction="batchmean")
    ```

    ## Fix safety
    Unsafe: `"batchmean"` multiplies the loss by the number of classes per row, which changes
    the scale of training (retune a loss weight or the learning rate that compensated).
    Calls with `**kwargs`, the legacy `size_average` / `reduce` arguments, or a reduction
    held in a variable are left alone.

    ## Options
    None.

    ## Source
    PyTorch `KLDivLoss` docs: "reduction='mean' doesn't return the true KL divergence value,
    please use reduction='batchmean' which aligns with the mathematical definition".
    Seed 000's label-smoothing loss is a KL divergence whose normalization set the initial
    loss scale.
    """

    code = "TL602"
    name = "kldiv-mean-reduction"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "KL divergence with reduction='mean' divides by the number of classes too"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "use `reduction=\"batchmean\"`"
    needles = (b"KLDiv", b"kl_div")

    bad = (
        Example(
            "distill.py",
            "from torch import nn\n\ncriterion = nn.KLDivLoss()\n",
            fixed="from torch import nn\n\ncriterion = nn.KLDivLoss(reduction=\"batchmean\")\n",
            unsafe=True,
        ),
        Example(
            "distill.py",
            "import torch.nn.functional as F\n\ndef loss(s, t):\n"
            "    return F.kl_div(s.log_softmax(-1), t.softmax(-1), reduction='mean')\n",
            fixed="import torch.nn.functional as F\n\ndef loss(s, t):\n"
                  "    return F.kl_div(s.log_softmax(-1), t.softmax(-1), reduction='batchmean')\n",
            unsafe=True,
        ),
    )
    good = (
        Example("distill.py", "from torch import nn\n\ncriterion = nn.KLDivLoss(reduction='batchmean')\n"),
        Example("distill.py", "from torch import nn\n\ncriterion = nn.KLDivLoss(reduction='none')\n"),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        for call, name in script.calls_to(KL_MAKERS):
            if (script.has_kwargs(call) or script.keyword(call, "size_average") is not None
                    or script.keyword(call, "reduce") is not None):
                continue
            value = script.argument(call, REDUCTION_POSITION[name], "reduction")
            if value is not None and script.literal(value) != "mean":
                continue
            if value is None:
                shown = "reduction='mean' (the default)"
            else:
                shown = f"reduction={script.source(value)}"
            message = (f"{name.rsplit('.', 1)[-1]} with {shown} divides by batch x classes, not "
                       "the batch size: the loss is not the KL divergence; use "
                       "reduction='batchmean'")
            node = call if value is None else value
            yield self.diagnostic(script.path, script.span(node), message,
                                  self._fix(script, call, value))

    @staticmethod
    def _fix(script: ParsedScript, call: ast.Call, value: ast.expr | None) -> Fix | None:
        from trainlint.api import insert_keyword, replace_node, string_literal  # libcst: only when a fix is built

        if value is None:
            edit = insert_keyword(script, call, "reduction", string_literal(script, "batchmean"))
        elif isinstance(value, ast.Constant):
            text = script.source(value)
            edit = replace_node(script, value, text.replace("mean", "batchmean", 1))
        else:
            return None
        if edit is None:
            return None
        return Fix(Applicability.UNSAFE, "reduction 'mean' -> 'batchmean'", (edit,))
