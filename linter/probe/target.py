"""What a factory hands to the probe: the model, a batch, the loss and the task.

Nothing here imports torch; fields hold torch objects but are typed loosely so that
`import trainlint.probe` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

TASKS = ("classification", "ctc", "lm", "mlm", "regression")
TASK_ALIASES = {"clm": "lm", "causal-lm": "lm", "masked-lm": "mlm", "asr-ctc": "ctc"}
CTC_REDUCTIONS = ("mean", "sum", "batchmean")
SCHEDULER_INTERVALS = ("step", "epoch")


@dataclass
class CTCView:
    """The four inputs of `torch.nn.functional.ctc_loss` for one batch.

    `log_probs` is (T, N, C), log-softmaxed or raw logits (the probe applies log_softmax).
    `targets` is (N, S) padded or 1-D concatenated, as `ctc_loss` accepts them.
    """

    log_probs: Any
    targets: Any
    input_lengths: Any
    target_lengths: Any


@dataclass
class ProbeTarget:
    """The model, data and loss a probe factory returns.

    Required: `model` (a `torch.nn.Module`), `batches` (one batch, or a list of batches whose
    first is the fixed batch the overfit test trains on) and `task` (classification, ctc, lm,
    mlm or regression; the CLI's --task or a training config can give it instead). Everything
    else has a default that is documented in docs/probe.md.

    - `forward(model, batch) -> outputs`: default `model(**batch)` for a dict batch,
      `model(batch[0])` for a tuple/list batch, `model(batch)` for a tensor.
    - `loss(outputs, batch) -> scalar tensor`: default `outputs.loss` / `outputs["loss"]`
      (Hugging Face models given `labels`).
    - `optimizer`: an Optimizer built on `model.parameters()`, or a callable
      `(model) -> Optimizer`, exactly as the training script builds it. Default: Adam at
      the probe's `overfit_lr`.
    - `scheduler`: an LR scheduler on that optimizer, or a callable `(optimizer) -> scheduler`.
      `scheduler_interval` says whether the script steps it per optimizer step or per epoch.
      The probe follows the schedule in that unit (the scheduler stepped alone, then put
      back): TL905 judges its start, the overfit steps run at its peak (TL902).
      `steps_per_epoch`, when known, is named in TL905's message for a per-epoch schedule.
    - `ctc_view(outputs, batch) -> CTCView`: where the CTC inputs are; the default reads a
      (N, T, C) tensor (or `(tensor, output_lengths)`; `batch_first=False` for (T, N, C))
      and `targets`/`input_lengths`/`target_lengths` from a dict batch or
      `(features, targets, input_lengths, target_lengths)` from a tuple batch.
    """

    model: Any
    batches: Any
    task: str | None = None
    loss: Callable[[Any, Any], Any] | None = None
    forward: Callable[[Any, Any], Any] | None = None
    num_classes: int | None = None
    blank: int = 0
    optimizer: Any = None
    scheduler: Any = None
    scheduler_interval: str = "step"
    steps_per_epoch: int | None = None
    max_grad_norm: float | None = None
    ctc_view: Callable[[Any, Any], CTCView] | None = None
    ctc_reduction: str = "mean"
    batch_first: bool = True
    model_type: str | None = None
    lr_floor: float | None = None
    reference_loss: float | None = None
    repeat_batch: Callable[[Any, int], Any] | None = None

    @property
    def batch_list(self) -> list[Any]:
        """The batches as a list (a single batch, a tuple batch and a dict are one batch)."""
        batches = self.batches
        if isinstance(batches, list) and batches and _looks_like_batch_list(batches):
            return batches
        return [batches]


def _looks_like_batch_list(batches: Sequence[Any]) -> bool:
    """A list of batches holds dicts, tuples or lists; a tuple batch is never a list of them."""
    return all(isinstance(item, (dict, tuple, list)) or hasattr(item, "keys") for item in batches)


def normalize_task(task: str | None) -> str | None:
    """The canonical task name, or None when the name is unknown."""
    if task is None:
        return None
    name = str(task).strip().lower()
    name = TASK_ALIASES.get(name, name)
    return name if name in TASKS else None
