"""`HFProbeCallback`: a transformers `TrainerCallback` that probes the run's first batch.

    trainer = Trainer(..., callbacks=[HFProbeCallback(task="mlm")])

On `on_train_begin` (rank 0 only) it takes one batch of the train dataloader, the Trainer's
optimizer and scheduler, runs the probe and restores model, optimizer, scheduler and RNG.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from trainlint.probe.callbacks import CallbackSettings, first_batch, output_loss, probe_first_batch


class HFProbeCallback(TrainerCallback):
    def __init__(self, task: str, **options: Any) -> None:
        known = set(CallbackSettings.__dataclass_fields__) - {"task", "extra"}
        extra = {k: v for k, v in options.items() if k not in known}
        self.config = CallbackSettings(task=task, extra=extra,
                                       **{k: v for k, v in options.items() if k in known})
        self.result = None

    def on_train_begin(self, args, state, control, model=None, optimizer=None, lr_scheduler=None,
                       train_dataloader=None, **kwargs):
        if not state.is_world_process_zero or model is None or train_dataloader is None:
            return control
        if state.global_step > 0:  # resumed from a checkpoint: not the first steps any more
            return control
        batch = first_batch(train_dataloader)
        self.result = probe_first_batch(
            self.config, model, batch, optimizer, lr_scheduler, "step",
            getattr(args, "max_grad_norm", None),
            forward=lambda model, batch: model(**batch), loss=output_loss)
        return control
