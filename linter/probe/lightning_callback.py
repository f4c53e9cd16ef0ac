"""`LightningProbeCallback`: a Lightning `Callback` that probes the run's first batch.

    trainer = L.Trainer(..., callbacks=[LightningProbeCallback(task="ctc")])

On the first `on_train_batch_start` (global rank 0 only) it runs the probe on that batch with
`training_step` as forward and loss (or the callback's own), the Trainer's first optimizer and
LR scheduler, and restores model, optimizer, scheduler and RNG before the real step runs.
"""

from __future__ import annotations

from typing import Any

try:
    from lightning.pytorch import Callback
except ImportError:  # the older package name
    from pytorch_lightning import Callback

from trainlint.probe.callbacks import CallbackSettings, output_loss, probe_first_batch


class LightningProbeCallback(Callback):
    def __init__(self, task: str, **options: Any) -> None:
        known = set(CallbackSettings.__dataclass_fields__) - {"task", "extra"}
        extra = {k: v for k, v in options.items() if k not in known}
        self.config = CallbackSettings(task=task, extra=extra,
                                       **{k: v for k, v in options.items() if k in known})
        self.result = None
        self._done = False

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self._done:
            return
        self._done = True
        if trainer.global_rank != 0 or trainer.global_step > 0:
            return
        optimizer = trainer.optimizers[0] if trainer.optimizers else None
        configs = getattr(trainer, "lr_scheduler_configs", None) or []
        scheduler = configs[0].scheduler if configs else None
        interval = configs[0].interval if configs else "step"
        silenced = _silence_logging(pl_module)
        try:
            self.result = probe_first_batch(
                self.config, pl_module, batch, optimizer, scheduler, interval,
                getattr(trainer, "gradient_clip_val", None),
                forward=lambda model, batch: model.training_step(batch, 0), loss=output_loss)
        finally:
            for name in silenced:
                delattr(pl_module, name)


def _silence_logging(module: Any) -> list[str]:
    """`training_step` calls self.log; the probe's extra steps must not land in the run's logs."""
    names = []
    for name in ("log", "log_dict"):
        if name not in vars(module):
            object.__setattr__(module, name, lambda *args, **kwargs: None)
            names.append(name)
    return names
