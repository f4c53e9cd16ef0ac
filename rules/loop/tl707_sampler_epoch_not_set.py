"""TL707 sampler-epoch-not-set."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Diagnostic, Example, FixAvailability, ScriptRule, Severity, dotted, has_word, loop_model,
)

if TYPE_CHECKING:
    from trainlint.api import LoopModel, ParsedScript

SAMPLERS = frozenset({"torch.utils.data.DistributedSampler",
                      "torch.utils.data.distributed.DistributedSampler"})
# Libraries whose loops call `set_epoch` on the sampler of the loaders they are given.
EPOCH_SETTING = ("accelerate", "lightning", "pytorch_lightning", "transformers", "composer",
                 "ignite", "fastai", "deepspeed", "mmengine", "detectron2")
EVAL_WORDS = ("val", "valid", "test", "eval", "dev")


class SamplerEpochNotSet(ScriptRule):
    """## What it does
    Finds a `DistributedSampler` (shuffling, the default) in a script whose training loop
    runs over more than one epoch (a loop around the training loop, in this file) and that
    never calls `set_epoch(...)` on any sampler or loader. Samplers with `shuffle=False`,
    samplers of evaluation loaders (named for validation or test), and scripts that hand
    their loaders to a library that sets the epoch itself (Accelerate, Lightning, the
    Hugging Face `Trainer`, Composer, Ignite) stay quiet; so does a script with no training
    loop of its own (a data module whose loop lives in another file).

    ## Why is this bad?
    `DistributedSampler` shuffles with a generator seeded by `seed + epoch`. Without
    `sampler.set_epoch(epoch)` the epoch stays 0, so every epoch visits the data in exactly
    the same order: the shuffling the run relies on happens once, not every epoch.

    ## Example
    ```python
    sampler = DistributedSampler(train_set)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        for x, y in loader:
            ...
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            ...
    ```

    ## Fix safety
    No fix: the epoch variable and the sampler the loop uses cannot always be named from
    the construction site.

    ## Options
    None.

    ## Source
    PyTorch `DistributedSampler` docs: "In distributed mode, calling the `set_epoch()`
    method at the beginning of each epoch before creating the DataLoader iterator is
    necessary to make shuffling work properly across multiple epochs. Otherwise, the same
    ordering will be always used."
    """

    code = "TL707"
    name = "sampler-epoch-not-set"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "`DistributedSampler` without `set_epoch()`: every epoch has the same order"
    preview = True
    precision = "no findings on the dev corpus"
    needles = (b"DistributedSampler",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "from torch.utils.data import DataLoader, DistributedSampler\n"
            "\n"
            "sampler = DistributedSampler(train_set)\n"
            "loader = DataLoader(train_set, batch_size=64, sampler=sampler)\n"
            "for epoch in range(100):\n"
            "    for x, y in loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
        )),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "from torch.utils.data import DataLoader, DistributedSampler\n"
            "\n"
            "sampler = DistributedSampler(train_set)\n"
            "loader = DataLoader(train_set, batch_size=64, sampler=sampler)\n"
            "for epoch in range(100):\n"
            "    sampler.set_epoch(epoch)\n"
            "    for x, y in loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        if "set_epoch" in script.text:
            return
        model = loop_model(script)
        if model.uses_framework(*EPOCH_SETTING) or not self._several_epochs(model):
            return
        for call, _ in script.calls_to(SAMPLERS):
            shuffle = script.argument(call, 3, "shuffle")
            if shuffle is not None and script.literal(shuffle) is not True:
                continue  # shuffle=False, or decided at run time
            if script.has_kwargs(call) or _for_evaluation(script, call):
                continue
            message = ("`DistributedSampler` shuffles with seed + epoch, and nothing in this "
                       "script calls `set_epoch()`: every epoch sees the same order; call "
                       "`sampler.set_epoch(epoch)` at the start of each epoch")
            yield self.diagnostic(script.path, script.span(call), message)

    @staticmethod
    def _several_epochs(model: LoopModel) -> bool:
        """A training loop of this file runs inside another loop."""
        training = model.training_loops()
        return any(model._contains(outer, inner) for inner in training for outer in model.loops
                   if outer is not inner)


def _for_evaluation(script: ParsedScript, call: ast.Call) -> bool:
    """The sampler (or the loader it goes to) is named for validation or testing, or its
    dataset is."""
    node: ast.AST | None = call
    texts = [script.source(call.args[0])] if call.args else []
    for _ in range(4):
        parent = script.parent(node) if node is not None else None
        if parent is None:
            break
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            texts += [dotted(target) or "" for target in targets]
            break
        if isinstance(parent, ast.keyword) and parent.arg:
            texts.append(parent.arg)
        node = parent
    return any(has_word(text, EVAL_WORDS) for text in texts)
