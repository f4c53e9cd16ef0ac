"""What the Trainer callbacks share: probe the first batch of a real run, then hand it back.

The framework classes live in hf_callback.py (transformers) and lightning_callback.py
(lightning / pytorch_lightning), imported only when `trainlint.probe.HFProbeCallback` or
`LightningProbeCallback` is first used.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from trainlint.probe.errors import ProbeFailed, ProbeUsageError


@dataclass
class CallbackSettings:
    """The ProbeTarget fields a callback cannot read from the Trainer, and probe() options."""

    task: str
    num_classes: int | None = None
    blank: int = 0
    loss: Any = None
    forward: Any = None
    ctc_view: Any = None
    ctc_reduction: str = "mean"
    batch_first: bool = True
    model_type: str | None = None
    lr_floor: float | None = None
    steps: int | None = None
    max_seconds: float | None = None
    settings: Any = None
    strict: bool = False
    stream: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # more ProbeTarget fields


def probe_first_batch(config: CallbackSettings, model: Any, batch: Any, optimizer: Any,
                      scheduler: Any, interval: str = "step", max_grad_norm: float | None = None,
                      forward: Any = None, loss: Any = None) -> Any:
    """Run the probe on one batch of the real run; returns the ProbeResult (None on a usage
    problem, which is printed: a callback must not stop the run unless `strict`)."""
    from trainlint.probe.batch import to_device
    from trainlint.probe.library import probe
    from trainlint.probe.measure import innermost_optimizer
    from trainlint.probe.target import ProbeTarget

    parameters = list(model.parameters())
    sharded = _sharding(model, parameters)
    if sharded:
        print(f"trainlint probe: skipped: {sharded} parameters are sharded across ranks; "
              "one rank cannot run the model alone", file=sys.stderr)
        return None
    if parameters:
        batch = to_device(batch, parameters[0].device)
    target = ProbeTarget(
        model=model, batches=batch, task=config.task, num_classes=config.num_classes,
        blank=config.blank, loss=config.loss or loss, forward=config.forward or forward,
        optimizer=innermost_optimizer(optimizer) if optimizer is not None else None,
        scheduler=getattr(scheduler, "scheduler", scheduler), scheduler_interval=interval,
        max_grad_norm=max_grad_norm or None, ctc_view=config.ctc_view,
        ctc_reduction=config.ctc_reduction, batch_first=config.batch_first,
        model_type=config.model_type, lr_floor=config.lr_floor, **config.extra,
    )
    try:
        return probe(target, steps=config.steps, max_seconds=config.max_seconds,
                     settings=config.settings, stream=config.stream, strict=config.strict)
    except ProbeFailed:
        raise
    except ProbeUsageError as error:
        if config.strict:
            raise
        print(f"trainlint probe: skipped: {error}", file=sys.stderr)
        return None


def _sharding(model: Any, parameters: list[Any]) -> str | None:
    """FSDP / DeepSpeed ZeRO-3 / DTensor parameters, which the probe cannot run on one rank."""
    if "FullyShardedDataParallel" in type(model).__name__:
        return "FSDP"
    for parameter in parameters[:50]:
        if hasattr(parameter, "ds_id"):
            return "DeepSpeed ZeRO-3"
        if "DTensor" in (type(parameter).__name__, type(getattr(parameter, "data", None)).__name__):
            return "DTensor (FSDP2)"
    return None


def first_batch(loader: Any) -> Any:
    """One batch from a DataLoader without moving the run's RNG (sampler shuffles use it)."""
    import random

    import torch

    state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        batch = next(iter(loader))
    random.setstate(state)
    return batch


def output_loss(outputs: Any, batch: Any) -> Any:
    """`training_step` / HF outputs -> the loss tensor."""
    if isinstance(outputs, dict) or hasattr(outputs, "keys"):
        return outputs["loss"]
    return getattr(outputs, "loss", outputs)
