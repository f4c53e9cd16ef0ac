"""The canonical names of a training setup, their types and ranges.

Dialects map framework keys onto these names; rules read them. The pydantic-core validators
in `trainlint.schemas.models` are built from this table, so the shape lives in one place, and
the engine can pre-check values in plain Python and only hand the values that fail to the
validators for Pydantic's message.
"""

from __future__ import annotations

import math

from msgspec import Struct


class Setting(Struct, frozen=True):
    name: str
    kind: type  # float, int, bool or str
    doc: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    nullable: bool = True  # False: `key: null` is an error, not "unset"

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def field(self) -> str:
        return self.name.split(".", 1)[1]


_SETTINGS = (
    # optimizer
    Setting("optimizer.name", str, "optimizer family (adam, adamw, sgd, lamb, adafactor, ...)"),
    Setting("optimizer.lr", float, "peak learning rate", gt=0, nullable=False),
    Setting("optimizer.weight_decay", float, "weight decay", ge=0),
    Setting("optimizer.eps", float, "Adam epsilon", gt=0),
    Setting("optimizer.momentum", float, "SGD momentum", ge=0, lt=1.0 + 1e-12),
    # schedule
    Setting("schedule.name", str, "scheduler type (linear, cosine, constant, onecycle, noam, ...)"),
    # float: transformers 5 reads a warmup_steps below 1 as a ratio of the total steps
    Setting("schedule.warmup_steps", float, "warmup length in optimizer steps (HF: < 1 is a ratio)", ge=0),
    Setting("schedule.warmup_ratio", float, "warmup as a share of total steps", ge=0, le=1),
    Setting("schedule.warmup_epochs", float, "warmup length in epochs", ge=0),
    Setting("schedule.warmup_start_factor", float, "LR at warmup start / peak LR", ge=0, le=1),
    Setting("schedule.warmup_start_lr", float, "LR at the first warmup step", ge=0),
    Setting("schedule.warmup_unit", str, "what one warmup iteration is: step or epoch"),
    Setting("schedule.decay_steps", int, "length of the decay phase after warmup (in decay_unit)", ge=0),
    Setting("schedule.decay_horizon", int, "steps or epochs over which the LR decays", gt=0),
    Setting("schedule.decay_unit", str, "unit of decay_horizon and decay_steps: step or epoch"),
    Setting("schedule.decay_begin", int, "step or epoch where the decay phase begins, after the "
            "warmup (mmengine `begin`)", ge=0),
    Setting("schedule.decay_end", int, "step or epoch where the decay's scheduler stops, as "
            "configured beside its horizon (mmengine `end` with `T_max`)", gt=0),
    Setting("schedule.decay", bool, "the LR decays at all (nanoGPT decay_lr)"),
    Setting("schedule.min_lr", float, "final / minimum learning rate", ge=0),
    Setting("schedule.end_lr", float, "learning rate at the end of the run", ge=0),
    Setting("schedule.start_lr", float, "learning rate at the start of the run", ge=0),
    Setting("schedule.total_steps", int, "steps the scheduler is built for (OneCycleLR)", gt=0),
    Setting("schedule.restart_period", int, "first warm-restart period T_0 (epochs)", gt=0),
    Setting("schedule.restart_mult", float, "warm-restart period multiplier T_mult", ge=1),
    # batch
    Setting("batch.per_device", int, "micro batch per device and step", ge=1, nullable=False),
    Setting("batch.grad_accum", int, "gradient accumulation steps", ge=1, nullable=False),
    Setting("batch.global", int, "stated global batch (DeepSpeed train_batch_size)", ge=1),
    Setting("batch.world_size", int, "data-parallel processes", ge=1),
    Setting("batch.bins", float, "ESPnet batch_bins: a per-step total across GPUs", gt=0),
    Setting("batch.tensor_parallel", int, "tensor-parallel degree", ge=1),
    Setting("batch.pipeline_parallel", int, "pipeline-parallel degree", ge=1),
    Setting("batch.devices", str, "devices per node as the framework takes it (2, \"auto\", -1)"),
    Setting("batch.num_nodes", int, "nodes (Lightning num_nodes)", ge=1),
    # duration
    Setting("duration.epochs", float, "training epochs", gt=0),
    Setting("duration.max_steps", int, "training length in optimizer steps", gt=0),
    Setting("duration.steps_per_epoch", int, "optimizer steps per epoch, as configured", gt=0),
    Setting("duration.max_steps_per_epoch", int, "cap on optimizer steps per epoch (torchtune)", gt=0),
    # data
    Setting("data.dataset_size", int, "training samples", gt=0),
    # early stopping
    Setting("stopping.patience", float, "early-stopping patience (evaluation rounds)", ge=0, nullable=False),
    Setting("stopping.min_delta", float, "minimum improvement", ge=0),
    Setting("stopping.enabled", bool, "early stopping is configured"),
    Setting("stopping.monitor", str, "monitored metric"),
    Setting("stopping.kind", str, "early-stopping callback class (framework default patience applies)"),
    # evaluation and checkpoint selection
    Setting("eval.every_epochs", float, "validation every N epochs", gt=0),
    Setting("eval.every_steps", float, "evaluation every N steps (HF: < 1 is a ratio of the run)", gt=0),
    Setting("eval.strategy", str, "evaluation strategy (epoch, steps, no)"),
    Setting("eval.interval", float, "Lightning val_check_interval: a share of an epoch (float) or batches (int)", gt=0),
    Setting("eval.logging_steps", float, "HF logging_steps (eval_steps defaults to it)", gt=0),
    Setting("checkpoint.keep_best", bool, "a best-on-validation checkpoint is kept"),
    Setting("checkpoint.keep_nbest", int, "best checkpoints kept by a validation criterion", ge=0),
    Setting("checkpoint.best_metric", str, "metric that selects the best checkpoint"),
    # plateau
    Setting("plateau.patience", float, "ReduceLROnPlateau patience", ge=0, nullable=False),
    Setting("plateau.factor", float, "ReduceLROnPlateau factor", gt=0, lt=1),
    # precision
    Setting("precision.fp16", bool, "fp16 mixed precision"),
    Setting("precision.bf16", bool, "bf16 mixed precision"),
    Setting("precision.mode", str, "precision as one string (16-mixed, bf16, fp32, ...)"),
    # regularization
    Setting("regularization.dropout", float, "dropout", ge=0, lt=1),
    Setting("regularization.grad_clip", float, "gradient clipping max norm", ge=0),
    Setting("regularization.label_smoothing", float, "label smoothing", ge=0, lt=1),
    Setting("regularization.ema_decay", float, "EMA decay of the weights", ge=0, lt=1),
    Setting("regularization.ema_warmup", bool, "the EMA decay warms up"),
    # model
    Setting("model.type", str, "model type (bert, conformer, gru, ...)"),
    Setting("model.encoder", str, "encoder type"),
    Setting("model.ctc", bool, "the model is trained with a CTC loss"),
    Setting("model.ctc_weight", float, "CTC weight in a hybrid loss", ge=0, le=1),
    Setting("model.objective", str, "training objective (mlm, clm, ctc, ...)"),
    Setting("model.vocab_size", int, "vocabulary / output classes", ge=1),
    Setting("model.lora", bool, "LoRA / adapter fine-tuning"),
    Setting("model.adapter", str, "adapter kind (lora, qlora, ...)"),
    Setting("model.name", str, "pretrained model name or path"),
    Setting("model.mlm_probability", float, "masking probability of an MLM objective", ge=0, le=1),
)

SETTINGS: dict[str, Setting] = {setting.name: setting for setting in _SETTINGS}


_PYDANTIC_BOOLS = ("true", "false", "0", "1", "yes", "no", "on", "off", "y", "n", "t", "f")


def violates(setting: Setting, value: object) -> bool:
    """Cheap pre-check: True when Pydantic would reject this value for the setting."""
    if value is None:
        return not setting.nullable
    kind = setting.kind
    if kind is bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return value not in (0, 1)
        return str(value).strip().lower() not in _PYDANTIC_BOOLS
    if kind is str:
        return isinstance(value, (dict, list)) or (isinstance(value, float)
                                                   and not math.isfinite(value))
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return True
    if not isinstance(value, (int, float)):
        return True
    if not math.isfinite(value):  # NaN, .inf, 1e309: never a setting's value
        return True
    if kind is int and value != int(value):
        return True
    return (
        (setting.gt is not None and not value > setting.gt)
        or (setting.ge is not None and not value >= setting.ge)
        or (setting.lt is not None and not value < setting.lt)
        or (setting.le is not None and not value <= setting.le)
    )
