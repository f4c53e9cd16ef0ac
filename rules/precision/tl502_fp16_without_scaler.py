"""TL502 fp16-without-scaler: float16 autocast in a training loop without a GradScaler.

The class docstring is the rule's page (docs/rules/TL502.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    Diagnostic,
    Example,
    FixAvailability,
    Grad,
    ParsedScript,
    ScriptRule,
    Severity,
    loop_model,
)
from trainlint.rules.precision._amp import (
    autocasts,
    backward_calls,
    has_grad_scaler,
    uses_scaling_library,
)

class Fp16WithoutScaler(ScriptRule):
    """## What it does
    Finds float16 autocast (`torch.autocast("cuda")`, `torch.amp.autocast("cuda")`,
    `torch.cuda.amp.autocast()`, or any autocast with `dtype=torch.float16`) in a script that
    runs its own backward pass (`loss.backward()`) and creates no `GradScaler`. Scripts whose
    loss scaling is done by a library (Accelerate, DeepSpeed, Apex, Lightning, the HF
    Trainer, fairseq) are left alone, and so are autocasts that are off (`enabled=False`),
    whose device or dtype is not written in the code, or that run in a function that only
    evaluates (`model.eval()`, `torch.no_grad()`, `torch.inference_mode()`, and no backward).

    ## Why is this bad?
    float16 has a narrow range: small gradients underflow to zero in the backward pass and
    the weights stop changing, silently. A GradScaler multiplies the loss before backward and
    divides the gradients before the optimizer step, which is what makes fp16 training work.
    bfloat16 has float32's range and needs no scaler.

    ## Example
    ```python
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    ```

    ## Use instead
    ```python
    scaler = torch.amp.GradScaler("cuda")
    with torch.autocast("cuda"):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    ```
    or `torch.autocast("cuda", dtype=torch.bfloat16)` on hardware that has bfloat16.

    ## Fix safety
    No fix: adding a scaler touches the backward pass, the optimizer step and the
    checkpoint.

    ## Options
    None.

    ## Source
    PyTorch AMP recipe: "gradient scaling ... should be used with float16 autocast" to keep
    small gradients from flushing to zero.
    """

    code = "TL502"
    name = "fp16-without-scaler"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "float16 autocast in a training loop without a GradScaler"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"autocast",)

    bad = (
        Example(
            "train.py",
            "import torch\n\nfor x, y in loader:\n    with torch.autocast('cuda'):\n"
            "        loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n",
        ),
    )
    good = (
        Example(
            "train.py",
            "import torch\n\nscaler = torch.amp.GradScaler('cuda')\nfor x, y in loader:\n"
            "    with torch.autocast('cuda'):\n        loss = criterion(model(x), y)\n"
            "    scaler.scale(loss).backward()\n    scaler.step(optimizer)\n    scaler.update()\n",
        ),
        Example(
            "train.py",
            "import torch\n\nfor x, y in loader:\n"
            "    with torch.autocast('cuda', dtype=torch.bfloat16):\n"
            "        loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n",
        ),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        half = [a for a in autocasts(script) if a.dtype == "float16" and not a.disabled]
        if not half or has_grad_scaler(script) or uses_scaling_library(script):
            return
        backward = backward_calls(script)
        if not backward:
            return
        for autocast in half:
            function = script.enclosing_function(autocast.call)
            own = [each for each in backward if script.enclosing_function(each) is function]
            if function is not None and not own and self._evaluates(script, function,
                                                                    autocast.call):
                continue
            message = (f"float16 autocast (`{script.source(autocast.call.func)}`) with "
                       f"`.backward()` on line {(own or backward)[0].lineno} and no GradScaler: "
                       "small gradients underflow to zero; use torch.amp.GradScaler('cuda') or "
                       "dtype=torch.bfloat16")
            yield self.diagnostic(script.path, script.span(autocast.call), message)

    @staticmethod
    def _evaluates(script: ParsedScript, function: ast.AST, call: ast.Call) -> bool:
        """The autocast runs where autograd is off (`torch.no_grad()`, `inference_mode()`, as
        the loop model reads them) or in a function that calls `model.eval()`: with no
        backward of its own there, an fp16 forward pass needs no scaler, whatever another
        function of the file trains."""
        if loop_model(script).grad_state(call) == Grad.OFF:
            return True
        return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                   and node.func.attr == "eval" and not node.args for node in ast.walk(function))
