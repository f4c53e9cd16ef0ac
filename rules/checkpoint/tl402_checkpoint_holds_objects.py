"""TL402 checkpoint-holds-objects: checkpoint holds objects that `torch.load(weights_only=True)` refuses.

The class docstring is the rule's page (docs/rules/TL402.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from trainlint.api import Diagnostic, Example, FixAvailability, ScriptRule, Severity
from trainlint.rules.checkpoint._checkpoints import (
    CheckpointFacts,
    RefusingLoad,
    SavedObject,
    checkpoint_facts,
    object_saves,
    refusing_loads,
    may_read,
    same_checkpoint,
)
from trainlint.rules.checkpoint._project_files import REFUSING_LOAD_NEEDLES, files_that_resolve

class CheckpointHoldsObjects(ScriptRule):
    """## What it does
    Finds saves of a checkpoint that holds objects `torch.load(weights_only=True)` refuses,
    where a load in the project reads it with `weights_only=True` or the default:

    - the saves: `torch.save`, `xm.save` (torch_xla), `accelerator.save`, `fabric.save`
      (which stores a module's state_dict, so a whole module is fine there), and a function
      of the project that passes one of its parameters to `torch.save` (`save_on_master`,
      `save_checkpoint`: in the same file, or imported from another file of the project; one
      level, a helper of a helper is not followed);
    - the objects: numpy arrays or scalars (`np.mean(wers)`, `x.numpy()`), numpy RNG states
      (`np.random.get_state()`, a tuple holding an array), an `argparse.Namespace`
      (`'args': args` after `args = parser.parse_args()`, or a parameter named `args`/`opt`
      in a project that parses its arguments with argparse), config objects (OmegaConf,
      EasyDict, mmengine/mmcv `Config`, yacs/detectron2 `CfgNode`, ml_collections,
      `SimpleNamespace`, a parameter annotated `DictConfig` or `Namespace`), `pathlib.Path`,
      `defaultdict`, `datetime`, a whole `nn.Module`, and instances of classes (dataclasses
      included) defined in the project. Dicts built key by key (`checkpoint['wer'] = ...`)
      are followed.

    A save that holds only tensors, state_dicts, numbers, strings and plain containers is
    never reported; `vars(args)`, `random.getstate()` (a tuple of ints),
    `torch.get_rng_state()` and a numpy Generator's `bit_generator.state` load fine.

    ## Why is this bad?
    Since PyTorch 2.6 `torch.load` defaults to `weights_only=True`, which only rebuilds
    tensors, plain containers and Python scalars. The run saves its best checkpoint without
    complaint and fails only when it loads it back, typically at the end of training for the
    test evaluation, or when resuming.

    ## Example
    ```python
    torch.save({"model": model.state_dict(), "wer": np.mean(wers), "args": args}, path)
    checkpoint = torch.load(path)
    ```

    ## Use instead
    ```python
    torch.save({"model": model.state_dict(), "wer": float(np.mean(wers)),
                "args": vars(args)}, path)
    checkpoint = torch.load(path, weights_only=True)
    ```

    ## Fix safety
    No fix: whether to convert the values or to trust the file
    (`torch.serialization.add_safe_globals([...])`, torch >= 2.4) is a decision about the
    data.

    ## Options
    None.

    ## Across files
    A save in one script and a load in another of the same project (the nearest folder above
    both with a `pyproject.toml`, `setup.py`, `setup.cfg`, `trainlint.toml`,
    `requirements.txt` or `.git`) are linked too: the finding is at the save and names the
    load. When the load, a helper or a class is in a file not being checked (pre-commit
    passes only the staged files), the project's other Python files that can hold it are read
    for it: those that name `torch` and `load`, define the helper or class (`def name`,
    `class Name`), or parse arguments; test code only where a checked file is test code, or
    with `include-tests`. Where
    both calls spell out the file name (`run_dir / "best.pt"`, `"ckpt/teacher.pth"`,
    `f"rng_state_{rank}.pth"` as the pattern `rng_state_*.pth`), they are linked only if the
    names match; the message names a load of the same file before the nearest other one. A
    test module (`tests/`, `test_*.py`) is linked to nothing but itself: a test's toy
    checkpoints are its own.

    ## Versions
    A load that leaves `weights_only` unset refuses objects only from torch 2.6 on: it counts
    only where the torch versions the project allows (`target-torch`, else its requirement and
    lock files) reach 2.6, and the message names that range. `weights_only=True` written out
    refuses them on every version.

    ## Source
    Seed 001: the teacher's checkpoint contained numpy arrays, so loading it failed once
    PyTorch 2.6 made `weights_only=True` the default. The teacher's training script saved it;
    the student's loaded it.
    """

    code = "TL402"
    name = "checkpoint-holds-objects"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "checkpoint holds objects that `torch.load(weights_only=True)` refuses"
    precision = "100.0% (4 true, 0 false, 0 debatable of 4; dev corpus, 28 repositories)"
    needles = (b"save",)

    bad = (
        Example(
            "train.py",
            "import numpy as np\nimport torch\n\n"
            "def train(model, wers, path):\n"
            "    torch.save({'model': model.state_dict(), 'wer': np.mean(wers)}, path)\n"
            "    return torch.load(path)\n",
        ),
        Example(
            "train.py",
            "import argparse\nimport torch\n\nparser = argparse.ArgumentParser()\n"
            "args = parser.parse_args()\n\n"
            "def save(model, path):\n"
            "    checkpoint = {'model': model.state_dict()}\n"
            "    checkpoint['args'] = args\n"
            "    torch.save(checkpoint, path)\n\n"
            "def load(path):\n"
            "    return torch.load(path, weights_only=True)\n",
        ),
    )
    good = (
        Example(
            "train.py",
            "import numpy as np\nimport torch\n\n"
            "def train(model, wers, path):\n"
            "    torch.save({'model': model.state_dict(), 'wer': float(np.mean(wers))}, path)\n"
            "    return torch.load(path, weights_only=True)\n",
        ),
        Example(
            "train.py",
            "import numpy as np\nimport torch\n\n"
            "def train(model, wers, path):\n"
            "    torch.save({'model': model.state_dict(), 'wer': np.mean(wers)}, path)\n"
            "    return torch.load(path, weights_only=False)\n",
        ),
    )

    project_needles = ()  # every file: one may only parse the arguments, or define a class

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        facts = checkpoint_facts(script)
        if facts.allows_globals or not facts.saves:
            return
        loads = [load for _, load in refusing_loads(script)]
        for saved in facts.saves:
            if not saved.settled or (saved.if_argparse and not facts.parses_arguments):
                continue  # read in another file, or known only from the project: check_project
            load = next((each for each in loads if same_checkpoint(saved.checkpoint, each.checkpoint)
                         and self._refuses(script.path, each)), None)
            if load is not None:
                yield self._finding(script.path, saved, load, f"line {load.line}", script.path)

    # ----------------------------------------------------------------- across files
    def project_facts(self, script: ParsedScript) -> CheckpointFacts | None:
        facts = checkpoint_facts(script)
        if not (facts.saves or facts.loads or facts.helpers or facts.classes or facts.calls
                or facts.instances or facts.parses_arguments):
            return None
        return facts

    def project_files_wanted(self, facts: dict[str, Any],
                             ) -> tuple[bytes, ...] | Callable[[bytes], bool] | None:
        resolving = files_that_resolve(facts)
        if resolving is not None:
            return resolving  # the helpers, classes or argument parser, and the loads
        unlinked = any(self._linked_load(path, saved, facts) is None
                       for path, saved in self._project_saves(facts))
        return REFUSING_LOAD_NEEDLES if unlinked else None

    def check_project(self, facts: dict[str, Any]) -> Iterator[Diagnostic]:
        for path, saved in self._project_saves(facts):
            linked = self._linked_load(path, saved, facts)
            if linked is not None:
                where = f"{linked[0]}:{linked[1].line}"
                yield self._finding(path, saved, linked[1], where, linked[0])

    def _project_saves(self, facts: dict[str, CheckpointFacts]) -> list[tuple[str, SavedObject]]:
        """The saves check_script leaves to the project: read in another file, through a helper
        or of a class defined elsewhere, or an `args` parameter of a file that does not parse
        arguments itself."""
        chosen = []
        for path, saved, settled in object_saves(facts):
            fact = facts[path]
            decided_here = settled and not (saved.if_argparse and not fact.parses_arguments)
            if not decided_here and not fact.allows_globals:
                chosen.append((path, saved))
        return chosen

    def _linked_load(self, path: str, saved: SavedObject,
                     facts: dict[str, Any]) -> tuple[str, RefusingLoad] | None:
        """The refusing load of the project that most likely reads the save (its own file's
        too: the saves left to the project were not linked there): one that names the same
        file first, then the nearest by folder."""
        candidates = [(other, load) for other, fact in facts.items() for load in fact.loads
                      if same_checkpoint(saved.checkpoint, load.checkpoint)
                      and may_read(path, other) and self._refuses(other, load)]
        if not candidates:
            return None
        here = os.path.dirname(os.path.abspath(path)).split(os.sep)

        def likeness(candidate: tuple[str, RefusingLoad]) -> tuple[bool, int]:
            folder = os.path.dirname(os.path.abspath(candidate[0])).split(os.sep)
            shared = len(os.path.commonprefix([here, folder]))
            named = saved.checkpoint is not None and saved.checkpoint == candidate[1].checkpoint
            return named, shared

        return max(candidates, key=likeness)

    def _refuses(self, path: str, load: RefusingLoad) -> bool:
        """weights_only=True written out, or the default where the project allows torch 2.6+."""
        return load.explicit or bool(self.ctx.project.requirement("torch", path).at_least("2.6"))

    # ----------------------------------------------------------------- messages
    def _finding(self, path: str, saved: SavedObject, load: RefusingLoad, load_at: str,
                 load_path: str) -> Diagnostic:
        where = f" under {saved.key}" if saved.key else ""
        if load.explicit:
            why = "written out"
        else:
            torch = self.ctx.project.requirement("torch", load_path)
            why = "the default from torch 2.6" + (f"; {torch.describe()}" if torch.known else "")
        allow = (f"torch.serialization.add_safe_globals([{saved.allow}])" if saved.allow
                 else "torch.serialization.add_safe_globals (get_unsafe_globals_in_checkpoint "
                      "lists the types)")
        message = (f"`{saved.saver}` stores {saved.what}{where}; `torch.load` with "
                   f"weights_only=True ({load_at}; {why}) refuses it: save {saved.instead} "
                   f"instead, or allow the type with {allow}")
        return self.diagnostic(path, saved.span, message)
