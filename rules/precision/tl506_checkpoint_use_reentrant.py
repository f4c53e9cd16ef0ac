"""TL506 checkpoint-use-reentrant: activation checkpointing without `use_reentrant=`.

The class docstring is the rule's page (docs/rules/TL506.md).
"""

from __future__ import annotations

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

CHECKPOINT_FUNCTIONS = ("torch.utils.checkpoint.checkpoint",
                        "torch.utils.checkpoint.checkpoint_sequential")


class CheckpointUseReentrant(ScriptRule):
    """## What it does
    Finds `torch.utils.checkpoint.checkpoint(...)` and `checkpoint_sequential(...)` calls
    (also imported as `from torch.utils.checkpoint import checkpoint`) that do not pass
    `use_reentrant=`. A local variable called `checkpoint` (a loaded state dict) is not
    the function.

    ## Why is this bad?
    Without the argument PyTorch warns on every call and uses the reentrant implementation,
    which PyTorch itself no longer recommends: it does not support `torch.autograd.grad`,
    keyword arguments to the checkpointed function, or inputs that do not require grad (the
    checkpointed block then silently gets no gradients). PyTorch has announced that calling
    without `use_reentrant` will become an error.

    ## Example
    ```python
    from torch.utils.checkpoint import checkpoint

    hidden = checkpoint(block, hidden)
    ```

    ## Use instead
    ```python
    hidden = checkpoint(block, hidden, use_reentrant=False)
    ```

    ## Fix safety
    Unsafe: adds `use_reentrant=False`, the recommended variant, which behaves differently
    (for example with inputs that do not require grad). Pass `use_reentrant=True` yourself
    to keep today's behaviour and only silence the warning.

    ## Options
    None.

    ## Source
    PyTorch `torch.utils.checkpoint` (2.1 and later): "the use_reentrant parameter should be
    passed explicitly ... use_reentrant=False is recommended"; torch 2.13 still warns and
    defaults to True.
    """

    code = "TL506"
    name = "checkpoint-use-reentrant"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "activation checkpointing without `use_reentrant=`"
    precision = "100.0% (58 true, 0 false, 5 debatable of 63; dev corpus, 28 repositories)"
    fix_title = "add `use_reentrant=False`"
    needles = (b"checkpoint",)

    bad = (
        Example(
            "model.py",
            "from torch.utils.checkpoint import checkpoint\n\n"
            "def forward(blocks, hidden):\n    for block in blocks:\n"
            "        hidden = checkpoint(block, hidden)\n    return hidden\n",
            fixed="from torch.utils.checkpoint import checkpoint\n\n"
                  "def forward(blocks, hidden):\n    for block in blocks:\n"
                  "        hidden = checkpoint(block, hidden, use_reentrant=False)\n"
                  "    return hidden\n",
            unsafe=True,
        ),
    )
    good = (
        Example(
            "model.py",
            "import torch.utils.checkpoint\n\n"
            "def forward(block, hidden):\n"
            "    return torch.utils.checkpoint.checkpoint(block, hidden, use_reentrant=False)\n",
        ),
        Example(
            "train.py",
            "import torch\n\ncheckpoint = torch.load('last.pt', weights_only=True)\n"
            "model.load_state_dict(checkpoint('model'))\n",
        ),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        for call, name in script.calls_to(CHECKPOINT_FUNCTIONS):
            if script.keyword(call, "use_reentrant") is not None or script.has_kwargs(call):
                continue
            from trainlint.api import insert_keyword  # libcst: only when a fix is built

            short = name.rsplit(".", 1)[-1]
            message = (f"`{short}(...)` without use_reentrant=: PyTorch warns on every call and "
                       "uses the reentrant variant; pass use_reentrant=False (recommended)")
            edit = insert_keyword(script, call, "use_reentrant", "False")
            fix = None if edit is None else Fix(
                Applicability.UNSAFE, "use_reentrant unset -> use_reentrant=False", (edit,))
            yield self.diagnostic(script.path, script.span(call), message, fix)
