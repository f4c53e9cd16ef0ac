"""What the probe measured, as plain Python values (no torch objects)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NonFinite:
    """The first NaN/Inf the probe saw: in the inputs, the loss or the gradients."""

    where: str  # "inputs", "loss", "gradients"
    step: int
    detail: str


@dataclass
class BadModule:
    """The first module whose forward output (or parameter gradient) was not finite."""

    name: str
    kind: str
    phase: str  # "forward" or "backward"
    step: int
    input_finite: bool | None = None


@dataclass
class CTCStats:
    """Greedy CTC predictions over the valid frames of the probe's batches."""

    frames: int
    blank_share: float
    emitted_share: float  # share of frames whose argmax is not blank
    needed_share: float  # target tokens / frames: the non-blank share a perfect fit needs
    entropy_share: float  # mean per-frame entropy / ln(C)
    same_output: bool  # every sequence decodes to the same non-empty output
    single_token: int | None  # the only non-blank token predicted anywhere, if just one
    distinct_target_tokens: int
    distinct_targets: int
    example: tuple[int, ...] = ()


@dataclass
class Measurements:
    task: str
    device: str = "cpu"
    num_classes: int | None = None
    num_classes_source: str = ""
    initial_loss: float | None = None
    reference_loss: float | None = None
    reference_note: str = ""
    losses: list[float] = field(default_factory=list)
    final_loss: float | None = None
    steps_requested: int = 0
    steps_run: int = 0
    stop_reason: str | None = None
    lr_at_start: float | None = None  # from the target's own optimizer (TL905)
    train_lr: float | None = None  # the LR of the overfit steps' first update, whoever set it
    scheduler_interval: str = ""  # "step" or "epoch" when the target brings a scheduler
    lr_schedule: list[float] = field(default_factory=list)  # LR per step (per-step schedulers)
    lr_source: str = ""
    optimizer_name: str = ""
    optimizer_eps: float | None = None
    lr_floor: float | None = None
    lr_floor_source: str = ""
    grad_norm: float | None = None
    trainable_params: int = 0
    total_params: int = 0
    loss_has_grad: bool = True
    ratio_2x: float | None = None
    ratio_4x: float | None = None
    ctc: CTCStats | None = None
    ctc_steps: int = 0  # the step the CTC predictions were judged at
    ctc_undecided: bool = False  # they still looked collapsed when --max-seconds ran out
    non_finite: NonFinite | None = None
    first_bad_module: BadModule | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def loss_drop(self) -> float | None:
        """(initial - final) / |initial|: the share of the loss the overfit steps removed."""
        if self.initial_loss is None or self.final_loss is None or self.initial_loss == 0:
            return None
        return (self.initial_loss - self.final_loss) / abs(self.initial_loss)
