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
    exact_share: float = 0.0  # share of sequences whose greedy output is exactly their target
    example: tuple[int, ...] = ()


@dataclass
class CTCCheck:
    """One look at the CTC predictions during the steps: the trajectory TL904 judges."""

    step: int
    loss: float
    blank_share: float


@dataclass
class Measurements:
    task: str
    device: str = "cpu"
    num_classes: int | None = None
    num_classes_source: str = ""
    initial_loss: float | None = None
    reference_loss: float | None = None
    reference_note: str = ""
    losses: list[float] = field(default_factory=list)  # training loss per step, extra steps too
    final_loss: float | None = None
    steps_requested: int = 0
    steps_run: int = 0  # the overfit steps TL902 judges
    steps_trained: int = 0  # with the extra steps a rule asked for (TL904)
    stop_reason: str | None = None
    out_of_time: bool = False  # --max-seconds ended the extra steps while a rule wanted more
    lr_at_start: float | None = None  # from the target's own optimizer (TL905)
    overfit_lr: float | None = None  # the LR of the overfit steps: the schedule's peak (TL902)
    overfit_lr_source: str = ""
    scheduler_interval: str = ""  # "step" or "epoch" when the target brings a scheduler
    steps_per_epoch: int | None = None
    lr_schedule: list[float] = field(default_factory=list)  # LR per step (per-step schedulers)
    lr_peak_step: int | None = None  # where the followed schedule peaks (steps or epochs)
    schedule_end: str = ""  # why the probe stopped following the schedule, when not the peak
    lr_source: str = ""
    optimizer_name: str = ""
    optimizer_eps: float | None = None
    grad_norm: float | None = None
    trainable_params: int = 0
    total_params: int = 0
    loss_has_grad: bool = True
    ratio_2x: float | None = None
    ratio_4x: float | None = None
    ctc: CTCStats | None = None  # the latest look at the CTC predictions
    ctc_steps: int = 0  # the step it was taken at
    ctc_checks: list[CTCCheck] = field(default_factory=list)
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
