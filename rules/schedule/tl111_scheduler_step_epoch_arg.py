"""TL111 scheduler-step-epoch-arg."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    PLATEAU,
    WRAPPERS,
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
    StepCall,
    code_index,
    feasible_builds,
)

# CosineAnnealingWarmRestarts documents step(epoch + i / iters) and does not warn.
FRACTIONAL_EPOCH_OK = frozenset({"CosineAnnealingWarmRestarts"})


class SchedulerStepEpochArg(ScriptRule):
    """`scheduler.step(epoch)` on a scheduler that is not ReduceLROnPlateau.

    ## What it does
    Finds `.step(x)` / `.step(epoch=x)` calls on variables that hold a torch LR scheduler
    (or a transformers schedule) other than `ReduceLROnPlateau`, whose `step` takes the
    metric, and `CosineAnnealingWarmRestarts`, whose docs use `step(epoch + i / iters)`.

    ## Why is this bad?
    The `epoch` argument of `LRScheduler.step` is deprecated (a UserWarning on every call):
    with it the scheduler sets `last_epoch` and switches to its closed form where one exists,
    which does not compose with other schedulers and differs from the chained form.
    `SequentialLR.step()` and `ChainedScheduler.step()` take no argument at all (TypeError;
    reported as an error). Where the same variable is a ReduceLROnPlateau in another branch,
    `step(val_loss)` hands the validation loss to the other scheduler as an epoch number.

    ## Example
    ```python
    scheduler = StepLR(optimizer, step_size=30)
    for epoch in range(args.epochs):
        train_one_epoch(model, loader, optimizer)
        scheduler.step(epoch)
    ```

    ## Use instead
    ```python
        scheduler.step()
    ```

    ## Fix safety
    No fix: with the argument gone the LR follows the chained form, which can differ (a
    resumed run that relied on `step(epoch)` must restore the scheduler state instead).

    ## Options
    None.

    ## Source
    PyTorch `LRScheduler.step(epoch)`: "deprecated since 1.4" (EPOCH_DEPRECATION_WARNING,
    still in 2.13); `SequentialLR.step(self)` has no epoch parameter.
    """

    code = "TL111"
    name = "scheduler-step-epoch-arg"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "`scheduler.step(epoch)`: the epoch argument is deprecated"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b".step(",)

    bad = (
        Example("train.py", (
            "from torch.optim.lr_scheduler import StepLR\n"
            "\n"
            "def fit(optimizer, epochs, train_one_epoch):\n"
            "    scheduler = StepLR(optimizer, step_size=30)\n"
            "    for epoch in range(epochs):\n"
            "        train_one_epoch()\n"
            "        scheduler.step(epoch)\n"
        )),
    )
    good = (
        Example("train.py", (
            "from torch.optim.lr_scheduler import StepLR\n"
            "\n"
            "def fit(optimizer, epochs, train_one_epoch):\n"
            "    scheduler = StepLR(optimizer, step_size=30)\n"
            "    for epoch in range(epochs):\n"
            "        train_one_epoch()\n"
            "        scheduler.step()\n"
        )),
        Example("train.py", (
            "from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts\n"
            "\n"
            "def fit(optimizer, epochs, loader, train_step):\n"
            "    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=10)\n"
            "    for epoch in range(epochs):\n"
            "        for i, batch in enumerate(loader):\n"
            "            train_step(batch)\n"
            "            scheduler.step(epoch + i / len(loader))\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        index = code_index(script)
        for step in index.steps:
            argument = _epoch_argument(step)
            if argument is None or index.is_optimizer_step(step):
                continue
            builds = feasible_builds(index, step)
            others = [build for build in builds if build.family == "scheduler"
                      and build.kind != PLATEAU and build.kind not in FRACTIONAL_EPOCH_OK]
            if not others or len(others) != len([b for b in builds if b.kind != PLATEAU]):
                continue
            receiver = step.receiver or "scheduler"
            passed = script.source(argument)
            build = others[0]
            if build.kind in WRAPPERS:
                message = (f"`{receiver}.step({passed})`: `{receiver}` is a {build.kind} (line "
                           f"{build.line}), whose step() takes no argument: TypeError; call "
                           f"`{receiver}.step()`")
                yield self.diagnostic(script.path, script.span(step.call), message,
                                      severity=Severity.ERROR)
                continue
            if len(builds) > len(others):
                message = (f"`{receiver}.step({passed})`: where `{receiver}` is the "
                           f"{build.kind} (line {build.line}) and not the ReduceLROnPlateau, "
                           f"`{passed}` is taken as an epoch number (deprecated, closed-form "
                           f"LR); step it without an argument there (test `isinstance("
                           f"{receiver}, ReduceLROnPlateau)`)")
            else:
                message = (f"`{receiver}.step({passed})` passes an epoch to {build.kind} (line "
                           f"{build.line}): the epoch argument is deprecated and switches to "
                           f"the closed-form LR; call `{receiver}.step()`")
            yield self.diagnostic(script.path, script.span(step.call), message)


def _epoch_argument(step: StepCall) -> ast.expr | None:
    call = step.call
    if call.args and not isinstance(call.args[0], ast.Starred):
        argument = call.args[0]
    else:
        argument = next((kw.value for kw in call.keywords if kw.arg == "epoch"), None)
    if argument is None or (isinstance(argument, ast.Constant) and argument.value is None):
        return None
    return argument
