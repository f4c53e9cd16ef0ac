"""TL401 torch-load-weights-only: `torch.load` without an explicit `weights_only=`.

The class docstring is the rule's page (docs/rules/TL401.md).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

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
from trainlint.rules.checkpoint._checkpoints import (
    SavedObject,
    checkpoint_facts,
    checkpoint_name,
    may_read,
    object_saves,
    same_checkpoint,
    text_facts,
)
from trainlint.rules.checkpoint._project_files import CallsTo, calls_save

if TYPE_CHECKING:
    from trainlint.api import VersionRange

DEFAULT_FLIP = "2.6"  # torch.load's weights_only default became True in 2.6
WEIGHTS_ONLY_SINCE = "1.13"  # the argument itself


class TorchLoadWeightsOnly(ScriptRule):
    """## What it does
    Finds `torch.load(...)` calls that do not pass `weights_only=` explicitly, however
    `torch.load` was imported: `import torch as T` / `T.load`, `from torch import load as tl`,
    `from torch import *`, `torch.serialization.load`, or a plain alias (`load_fn = torch.load`).
    A function of your own that happens to be called `load` is not `torch.load`.

    ## Why is this bad?
    PyTorch 2.6 changed the default of `weights_only` from `False` to `True`. A checkpoint that
    holds anything besides tensors and plain containers (numpy arrays, numpy scalars such as
    `np.mean(...)`, an `argparse.Namespace`, a config object, a whole `nn.Module`) then fails to
    load with an `UnpicklingError`, in the middle of a run or at evaluation time. Below 2.6 the
    same call unpickles arbitrary objects, which runs code from the file. Saying
    `weights_only=` makes the behaviour the same on every version.

    A call that passes `pickle_module=` keeps the old default (`False`) on every version; it
    is reported so that the choice is written down. A call with `**kwargs` is reported
    without a fix, since the mapping might already carry the argument.

    ## Example
    ```python
    checkpoint = torch.load(output_dir / "best_model.pth")
    ```

    ## Use instead
    ```python
    checkpoint = torch.load(output_dir / "best_model.pth", weights_only=True)
    # a trusted file that holds other objects:
    torch.serialization.add_safe_globals([argparse.Namespace])  # torch >= 2.4
    ```

    The message names the torch versions the project allows (`target-torch`, else the range
    its requirement and lock files allow: "torch >=2.1,<2.6 from pyproject.toml:
    `weights_only` defaults to False on 2.1-2.5 and True from 2.6"). It is a warning where
    the range includes versions before 2.6 (or no requirement is found), and where the
    checkpoint the call reads is known to hold objects; where every allowed version is 2.6
    or newer and nothing is known about the file, the call behaves the same on all of them
    and the finding is `info` (with the safe fix that writes the default out).

    ## Fix safety
    Adds `weights_only=True`. Safe only where every torch version the project allows is 2.6
    or newer: that is already the default there, the fix only makes it visible. Unsafe where
    the range includes older versions (it changes what the call accepts) and where no torch
    requirement is found; no fix where the range reaches below 1.13, which has no
    `weights_only`.

    Never `True` for a load of a checkpoint that is known to hold other objects: where a
    save in the same project (any file, through the same links as TL402) stores an
    `argparse.Namespace`, a config object, numpy values, an RNG state or an instance of a
    class of the project into a file this load may read (a test module's saves count only for
    its own loads), `weights_only=True` refuses it. The
    fix is then `weights_only=False` (unsafe, with the note that unpickling a file runs its
    code: load only files you trust), and the message names the types to pass to
    `torch.serialization.add_safe_globals([...])` where one type per object does it.

    With `pickle_module=` the suggestion is `weights_only=False` (unsafe: loading an
    untrusted file this way can execute code).

    ## Options
    None. The torch version is the `target-torch` setting, else the project's own range.

    ## Source
    Seed 001: after upgrading to PyTorch 2.6, `torch.load(output_dir / 'best_model.pth')` of
    a checkpoint holding numpy arrays failed to load (`weights_only` now defaults to True).
    PyTorch 2.4 added the FutureWarning, 2.6 flipped the default.
    """

    code = "TL401"
    name = "torch-load-weights-only"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "`torch.load` without an explicit `weights_only=`"
    precision = "100.0% (163 true, 0 false, 7 debatable of 170; dev corpus, 28 repositories)"
    fix_title = "add `weights_only=True`"
    needles = (b"load",)
    # A load asks for the project's saves (one scan of the project per process): `torch.load`,
    # or a load through an alias (`th.load(`, `from torch import load as tl`). `torch` and
    # `load` alone would put most training scripts (load_state_dict) in one process.
    shared_work_needles = ((b"torch.load",), (b"torch", b"load("), (b"torch", b"import load"))
    shared_work_parses = staticmethod(calls_save)  # the files of the project's saves

    bad = (
        Example(
            "train.py",
            "import torch\n\ncheckpoint = torch.load(output_dir / 'best_model.pth')\n",
            fixed="import torch\n\ncheckpoint = torch.load(output_dir / 'best_model.pth', "
                  "weights_only=True)\n",
            settings={"target-torch": "2.6"},
        ),
        Example(
            "evaluate.py",
            "from torch import load as tl\n\nstate = tl(\n    'ckpt.pt',\n"
            "    map_location='cpu',  # on the CPU\n)\n",
            fixed="from torch import load as tl\n\nstate = tl(\n    'ckpt.pt',\n"
                  "    map_location='cpu',  # on the CPU\n    weights_only=True,\n)\n",
            settings={"target-torch": "2.6"},
        ),
        Example(
            "old.py",
            "import torch as T\n\nstate = T.load('ckpt.pt')\n",
            fixed="import torch as T\n\nstate = T.load('ckpt.pt', weights_only=True)\n",
            unsafe=True,
            settings={"target-torch": "2.4"},
        ),
    )
    good = (
        Example("train.py", "import torch\n\nstate = torch.load('ckpt.pt', weights_only=True)\n"),
        Example("train.py", "import json\n\ndef load(path):\n    return json.load(open(path))\n\n"
                            "config = load('config.json')\n"),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        calls = [call for call, _ in script.calls_to(("torch.load",))
                 if script.keyword(call, "weights_only") is None]
        if not calls:
            return
        torch = self.ctx.project.requirement("torch", script.path)
        for call in calls:
            yield self._finding(script, call, torch)

    def _finding(self, script: ParsedScript, call: ast.Call, torch: VersionRange) -> Diagnostic:
        from trainlint.api import insert_keyword

        span = script.span(call)
        if script.argument(call, 2, "pickle_module") is not None:
            message = ("`torch.load` with `pickle_module=` and no `weights_only=`: it unpickles "
                       "arbitrary objects (weights_only=False) on every torch version; say so "
                       "with `weights_only=False`, and load only trusted files")
            fix = None
            if not script.has_kwargs(call):
                edit = insert_keyword(script, call, "weights_only", "False")
                if edit is not None:
                    fix = Fix(Applicability.UNSAFE,
                              "weights_only unset -> weights_only=False (trusted files only: "
                              "unpickling can execute code)", (edit,))
            return self.diagnostic(script.path, span, message, fix)
        message = "`torch.load` without `weights_only=`: " + self._behaviour(torch)
        # Where every allowed version already loads weights only, nothing differs between
        # them: writing the argument out is worth a note, not a warning (unless the
        # checkpoint holds objects, which then fail to load).
        same_everywhere = Severity.INFO if torch.known and not torch.below(DEFAULT_FLIP) else None
        if script.has_kwargs(call):
            return self.diagnostic(script.path, span, message + self._advice(torch)
                                   + " (unless **kwargs already carries it)",
                                   severity=same_everywhere)
        missing = torch.below(WEIGHTS_ONLY_SINCE)
        if missing:
            return self.diagnostic(script.path, span, message + self._advice(torch)
                                   + f" (torch {torch.series(missing)} has no `weights_only` "
                                     "argument: no fix)")
        objects = self._objects_read(script, call)
        if objects:
            return self._holds_objects(script, call, span, message, objects, torch)
        message += self._advice(torch)
        edit = insert_keyword(script, call, "weights_only", "True")
        if edit is None:
            return self.diagnostic(script.path, span, message, severity=same_everywhere)
        older = torch.below(DEFAULT_FLIP)
        safe = torch.known and not older
        note = "" if safe else f" (changes what the load accepts on torch {torch.series(older)})"
        fix = Fix(Applicability.SAFE if safe else Applicability.UNSAFE,
                  f"weights_only unset -> weights_only=True{note}", (edit,))
        return self.diagnostic(script.path, span, message, fix, same_everywhere)

    @staticmethod
    def _behaviour(torch: VersionRange) -> str:
        """What the default does over the range, naming it."""
        old, new = torch.below(DEFAULT_FLIP), torch.at_least(DEFAULT_FLIP)
        if not torch.known:
            return ("no torch requirement found: torch 2.6 and later load it with "
                    "weights_only=True, which rejects checkpoints holding numpy arrays, "
                    "argparse.Namespace or other objects, and older versions unpickle "
                    "arbitrary objects (weights_only=False, which runs code from the file)")
        if old and new:
            return (f"{torch.describe()}: `weights_only` defaults to False on "
                    f"{torch.series(old)} and True from 2.6, so the same call unpickles "
                    "arbitrary objects (running code from the file) on the older versions and "
                    "rejects checkpoints holding numpy arrays, argparse.Namespace or other "
                    "objects on the newer ones")
        if old:
            return (f"on {torch.describe()} it unpickles arbitrary objects "
                    "(weights_only=False, which runs code from the file), and torch 2.6 made "
                    "weights_only=True the default, which rejects numpy arrays and other objects")
        return (f"on {torch.describe()} it loads with weights_only=True, which rejects "
                "checkpoints holding numpy arrays, argparse.Namespace or other objects")

    @staticmethod
    def _advice(torch: VersionRange) -> str:
        if torch.known and not torch.below(DEFAULT_FLIP):
            return ("; pass weights_only=True (allow other types with "
                    "torch.serialization.add_safe_globals) or weights_only=False for a "
                    "trusted file")
        if torch.known and torch.at_least(DEFAULT_FLIP):
            return "; pass it explicitly so that every version loads the same way"
        return "; pass weights_only= explicitly"

    def _objects_read(self, script: ParsedScript, call: ast.Call) -> list[tuple[str, SavedObject]]:
        """The objects of the project's saves this load may read (TL402's link)."""
        saves = script.derived((self.code, "saves"), self._project_saves)
        name = checkpoint_name(script, script.argument(call, 0, "f"))
        return [(path, saved) for path, saved in saves if same_checkpoint(saved.checkpoint, name)]

    def _project_saves(self, script: ParsedScript) -> list[tuple[str, SavedObject]]:
        """Every save of objects in the project of `script`: its own (as the text is now)
        and the other files' (as they are on disk). None where the file allows the types."""
        own = checkpoint_facts(script)
        if own.allows_globals:
            return []
        # Files that call `save(` (torch.save and the wrappers, and the helpers' own bodies),
        # then the files that call one of the helpers found: not every `save_...(` method.
        facts = dict(self.ctx.project_scripts(script.path, calls_save, checkpoint_facts,
                                              text_facts))
        helpers = {helper.name for fact in facts.values() for helper in fact.helpers}
        if helpers:
            facts.update(self.ctx.project_scripts(script.path, CallsTo(helpers), checkpoint_facts))
        here = os.path.abspath(script.path)
        facts = {path: fact for path, fact in facts.items() if os.path.abspath(path) != here}
        facts[script.path] = own
        return [(path, saved) for path, saved, _ in object_saves(facts)
                if may_read(path, script.path)]

    def _holds_objects(self, script: ParsedScript, call: ast.Call, span, message: str,
                       objects: list[tuple[str, SavedObject]], torch: VersionRange) -> Diagnostic:
        """The checkpoint holds objects: weights_only=True would refuse it, so the fix is
        weights_only=False with a trust note, or the types to allow; never True."""
        from trainlint.api import insert_keyword

        path, saved = objects[0]
        where = f" under {saved.key}" if saved.key else ""
        at = "this file" if path == script.path else path
        more = f" (and {len(objects) - 1} more object(s))" if len(objects) > 1 else ""
        fails = torch.at_least(DEFAULT_FLIP)
        message += (f"; it may read the checkpoint saved at {at}:{saved.span.line}, which holds "
                    f"{saved.what}{where}{more}: weights_only=True refuses it"
                    + (f", so this load fails on torch {torch.series(fails)}" if fails else "")
                    + "; pass weights_only=False for a file you trust")
        allowed = sorted({each.allow for _, each in objects if each.allow})
        if allowed and all(each.allow for _, each in objects):
            message += (f", or allow the types with torch.serialization.add_safe_globals("
                        f"[{', '.join(allowed)}]) before loading")
        else:
            message += (", or save plain values instead "
                        f"({'; '.join(dict.fromkeys(each.instead for _, each in objects))})")
        edit = insert_keyword(script, call, "weights_only", "False")
        if edit is None:
            return self.diagnostic(script.path, span, message)
        fix = Fix(Applicability.UNSAFE,
                  "weights_only unset -> weights_only=False: the checkpoint holds objects; "
                  "load only files you trust, unpickling runs code from the file", (edit,))
        return self.diagnostic(script.path, span, message, fix)
