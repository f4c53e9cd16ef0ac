"""TL708 train-loader-not-shuffled."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from trainlint.api import (
    Applicability, Diagnostic, Edit, Example, Fix, FixAvailability, ScriptRule, Severity,
    dotted, insert_keyword, loop_model,
)

if TYPE_CHECKING:
    from trainlint.api import LoopModel, ParsedScript

DATASET_CLASSES = ("torch.utils.data.Dataset", "torch.utils.data.dataset.Dataset")
MAP_STYLE = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.Subset",
                       "torch.utils.data.ConcatDataset", "torch.utils.data.random_split",
                       "torch.utils.data.dataset.TensorDataset"})
# DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, ...)
SHUFFLE, SAMPLER, BATCH_SAMPLER = 2, 3, 4


class TrainLoaderNotShuffled(ScriptRule):
    """## What it does
    Finds the `DataLoader` a training loop iterates (followed from the loop through names,
    `self.x`, local functions and their callers) when it does not shuffle: `shuffle=False`
    or no `shuffle=` at all, and no `sampler=` / `batch_sampler=`. The dataset must be one
    that can be shuffled and whose kind is known here: a map-style `Dataset` class of this
    file, `TensorDataset`, `Subset`, `random_split`, a torchvision dataset, or a Hugging
    Face `load_dataset(...)` without `streaming=True`. An `IterableDataset` (which a
    `DataLoader` cannot shuffle), a dataset built elsewhere, and a `shuffle=` decided at
    run time stay quiet.

    An evaluation loop iterating a loader with `shuffle=True` is reported as info: shuffling
    there changes nothing but the order of saved predictions.

    ## Why is this bad?
    Without shuffling every epoch presents the batches in the same order, and the order of
    the files on disk (often sorted by class, speaker or date) makes consecutive batches
    correlated: the gradient is biased within an epoch, batch norm sees skewed batches, and
    the model drifts toward whatever came last.

    ## Example
    ```python
    train_loader = DataLoader(train_set, batch_size=64)
    for x, y in train_loader:
        ...
    ```

    ## Use instead
    ```python
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    ```

    ## Fix safety
    Unsafe: it changes the order of training (and where the data are sequential on
    purpose, as in truncated back-propagation through time, it is wrong). The fix sets
    `shuffle=True` (or `False` for an evaluation loader).

    ## Options
    None.

    ## Source
    PyTorch data loading docs (`shuffle=True` to have the data reshuffled at every epoch);
    Goodfellow et al., Deep Learning, 8.1.3: minibatches must be selected randomly for an
    unbiased gradient estimate.
    """

    code = "TL708"
    name = "train-loader-not-shuffled"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "the training DataLoader does not shuffle"
    fix_title = "set `shuffle=True`"
    preview = True
    precision = "no judged findings (1 debatable, dev corpus)"
    needles = (b"DataLoader",)

    bad = (
        Example("train.py", (
            "import torch\n"
            "from torch.utils.data import DataLoader, TensorDataset\n"
            "\n"
            "train_set = TensorDataset(features, labels)\n"
            "train_loader = DataLoader(train_set, batch_size=64, num_workers=4)\n"
            "for epoch in range(10):\n"
            "    for x, y in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
        ), fixed=(
            "import torch\n"
            "from torch.utils.data import DataLoader, TensorDataset\n"
            "\n"
            "train_set = TensorDataset(features, labels)\n"
            "train_loader = DataLoader(train_set, batch_size=64, num_workers=4, shuffle=True)\n"
            "for epoch in range(10):\n"
            "    for x, y in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        criterion(model(x), y).backward()\n"
            "        optimizer.step()\n"
        ), unsafe=True),
    )
    good = (
        Example("train.py", (
            "import torch\n"
            "from torch.utils.data import DataLoader, TensorDataset\n"
            "\n"
            "train_loader = DataLoader(TensorDataset(features, labels), batch_size=64,\n"
            "                          shuffle=True)\n"
            "for x, y in train_loader:\n"
            "    optimizer.zero_grad()\n"
            "    criterion(model(x), y).backward()\n"
            "    optimizer.step()\n"
        )),
        Example("train.py", (
            "import torch\n"
            "from torch.utils.data import DataLoader, IterableDataset\n"
            "\n"
            "\n"
            "class Shards(IterableDataset):\n"
            "    def __iter__(self):\n"
            "        yield from read_shards()\n"
            "\n"
            "\n"
            "for x, y in DataLoader(Shards(), batch_size=64):\n"
            "    optimizer.zero_grad()\n"
            "    criterion(model(x), y).backward()\n"
            "    optimizer.step()\n"
        )),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = loop_model(script)
        if not model.uses_torch:
            return
        seen: set[int] = set()
        for loop in model.training_loops():
            if loop.owned:
                continue
            call = model.dataloader_call(model.loop_target(loop))
            if call is None or id(call) in seen:
                continue
            seen.add(id(call))
            if self._unshuffled(script, model, call):
                yield self._finding(script, call, shuffle=True)
        for loop in model.loops:
            if loop.owned or loop.trains or not model.is_evaluation(loop):
                continue
            call = model.dataloader_call(model.loop_target(loop))
            if call is None or id(call) in seen:
                continue
            seen.add(id(call))
            shuffle = script.argument(call, SHUFFLE, "shuffle")
            if shuffle is not None and script.literal(shuffle) is True:
                yield self._finding(script, call, shuffle=False)

    @staticmethod
    def _unshuffled(script: ParsedScript, model: LoopModel, call: ast.Call) -> bool:
        if script.has_kwargs(call) or script.has_starargs(call):
            return False
        if any(script.argument(call, position, name) is not None
               for position, name in ((SAMPLER, "sampler"), (BATCH_SAMPLER, "batch_sampler"))):
            return False
        shuffle = script.argument(call, SHUFFLE, "shuffle")
        if shuffle is not None and script.literal(shuffle) is not False:
            return False
        dataset = script.argument(call, 0, "dataset")
        return dataset is not None and _map_style(script, model, dataset)

    def _finding(self, script: ParsedScript, call: ast.Call, shuffle: bool) -> Diagnostic:
        value = "True" if shuffle else "False"
        if shuffle:
            message = ("the DataLoader this training loop iterates does not shuffle (no "
                       "`shuffle=True`, no sampler): every epoch sees the batches in the same "
                       "order; pass `shuffle=True`")
            severity = None
        else:
            message = ("this DataLoader with `shuffle=True` feeds an evaluation loop: "
                       "shuffling changes nothing there but the order of the outputs")
            severity = Severity.INFO
        fix = None
        keyword = script.keyword(call, "shuffle")
        if keyword is not None:
            edit = Edit(script.span(keyword.value), value)
        elif len(call.args) <= SHUFFLE:
            edit = insert_keyword(script, call, "shuffle", value)
        else:
            edit = None
        if edit is not None:
            fix = Fix(Applicability.UNSAFE, f"set `shuffle={value}`", (edit,))
        return self.diagnostic(script.path, script.span(call), message, fix, severity)


def _map_style(script: ParsedScript, model: LoopModel, dataset: ast.expr) -> bool:
    """A dataset whose kind is known here and that a DataLoader can shuffle."""
    made = script.origin(dataset)
    if isinstance(made, ast.Subscript):
        made = script.origin(made.value)  # load_dataset(...)["train"], random_split(...)[0]
    if not isinstance(made, ast.Call):
        return False
    name = script.qualname(made.func) or ""
    if name in MAP_STYLE or name.startswith("torchvision.datasets."):
        return True
    if name in ("datasets.load_dataset", "datasets.load_from_disk"):
        streaming = script.argument(made, None, "streaming")
        return streaming is None or script.literal(streaming) is False
    if isinstance(made.func, ast.Name):
        for cls in script.classes:
            if cls.name == made.func.id:
                return _map_style_class(script, cls)
    return False


def _map_style_class(script: ParsedScript, cls: ast.ClassDef) -> bool:
    bases = [script.qualname(base) or dotted(base) or "" for base in cls.bases]
    if any("Iterable" in base for base in bases):
        return False
    methods = {item.name for item in cls.body if isinstance(item, ast.FunctionDef)}
    return "__getitem__" in methods and "__iter__" not in methods and (
        any(base in DATASET_CLASSES for base in bases) or not bases)
