"""TL712 no-seed."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Diagnostic, Example, FixAvailability, RuleOptions, ScriptRule, Severity, loop_model,
)
from trainlint.rules.loop._shared import header_span

if TYPE_CHECKING:
    from trainlint.api import ParsedScript

LIGHTNING_TRAINERS = frozenset({"lightning.Trainer", "lightning.pytorch.Trainer",
                                "pytorch_lightning.Trainer"})


class NoSeed(ScriptRule):
    """## What it does
    Finds a training entry point that seeds nothing: a script with an
    `if __name__ == "__main__":` block that runs its own training loop (a backward pass and
    an optimizer step) or a Lightning `Trainer.fit`, or a training loop at module level, where no call anywhere in
    the file has `seed` in its name (`torch.manual_seed`, `np.random.seed`, `random.seed`,
    `seed_everything`, `set_seed`, a project's own `init_seeds()`, ...) or `setup` (a
    run-setup helper such as detectron2's `default_setup`, which seeds from the config), and
    no function named in `seed-functions` is called. Modules without an entry point (a trainer class a
    launcher imports) and the Hugging Face `Trainer` (which seeds from
    `TrainingArguments.seed`, 42 by default) are left alone.

    ## Why is this bad?
    Weight initialization, data order, dropout masks and augmentations all draw from
    unseeded generators: two runs of the same command give different results, so a change
    cannot be told from noise and a bad run cannot be reproduced to be debugged.

    ## Example
    ```python
    if __name__ == "__main__":
        model = Net()
        train(model, loader)
    ```

    ## Use instead
    ```python
    if __name__ == "__main__":
        torch.manual_seed(args.seed)  # and random / numpy, or lightning's seed_everything
        model = Net()
        train(model, loader)
    ```

    ## Fix safety
    No fix: the seed value and where it comes from (a flag, a config) are the author's.

    ## Options
    `seed-functions`: names of functions (the last part of the called name) that seed
    without `seed` in their name.

    ## Source
    PyTorch "Reproducibility" notes (`torch.manual_seed`, `random.seed`, `numpy.random.seed`
    for every library the run draws from).
    """

    code = "TL712"
    name = "no-seed"
    severity = Severity.INFO
    fix_availability = FixAvailability.NONE
    message = "training entry point without a random seed"
    precision = "no findings on the dev corpus (run with --preview)"
    preview = True
    needles = (b"backward", b".fit(")

    class Options(RuleOptions):
        seed_functions: tuple[str, ...] = ()

    bad = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "\n"
            "def main():\n"
            "    model = Net()\n"
            "    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
            "    for x, y in loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
            "\n"
            "\n"
            "if __name__ == '__main__':\n"
            "    main()\n"
        )),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "\n"
            "\n"
            "def main(seed=0):\n"
            "    torch.manual_seed(seed)\n"
            "    model = Net()\n"
            "    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
            "    for x, y in loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
            "\n"
            "\n"
            "if __name__ == '__main__':\n"
            "    main()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        extra = set(getattr(self.options, "seed_functions", ()) or ())
        if any(_seeds(call, extra) for call in script.calls):
            return
        model = loop_model(script)
        guarded = _has_main_guard(script.tree)
        loops = [loop for loop in model.training_loops()
                 if not loop.owned and (guarded or loop.function is None)]
        if loops:
            message = ("this training script seeds nothing (no `torch.manual_seed`, "
                       "`seed_everything`, `set_seed`, ...): weight initialization, data "
                       "order and dropout differ on every run")
            yield self.diagnostic(script.path, header_span(script, loops[0]), message)
            return
        for call in script.calls if guarded else ():
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "fit" and (
                    script.constructor(func.value) in LIGHTNING_TRAINERS):
                message = ("this Lightning training script seeds nothing: call "
                           "`lightning.seed_everything(seed)` before building the model")
                yield self.diagnostic(script.path, script.span(call), message)
                return


def _seeds(call: ast.Call, extra: set[str]) -> bool:
    """A call that seeds, or may: `seed` in its name, a name from `seed-functions`, or a
    run-setup helper (`default_setup(cfg, args)`, `setup_and_build_model(args)`), where
    training code conventionally seeds and whose body this file does not show."""
    func = call.func
    leaf = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    lowered = leaf.lower()
    return "seed" in lowered or "setup" in lowered or leaf in extra


def _has_main_guard(tree: ast.Module) -> bool:
    for statement in tree.body:
        if isinstance(statement, ast.If) and "__main__" in ast.dump(statement.test):
            return True
    return False
