"""How a probe run is set up (steps, time, device, seed), apart from the rule thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_STEPS = 50
DEFAULT_MAX_SECONDS = 120.0
DEFAULT_OVERFIT_LR = 1e-3


@dataclass
class ProbeOptions:
    """`steps`: optimizer updates on the fixed batch (TL902's N); `max_seconds` stops the
    steps early (the checks that need all steps then say they were skipped); `device`: None
    keeps the model where it is, "auto" picks CUDA when available, else CPU; `overfit_lr` is
    the LR of the Adam the probe builds when the target brings no optimizer;
    `ctc_thresholds` are TL904's options (the probe trains on while they say "collapsed", up
    to `ctc_extend_factor` x `steps`); `lr_grace_steps` is how far TL905 follows a per-step
    schedule."""

    steps: int = DEFAULT_STEPS
    max_seconds: float = DEFAULT_MAX_SECONDS
    device: str | None = None
    seed: int = 0
    overfit_lr: float = DEFAULT_OVERFIT_LR
    ctc_extend_factor: float = 4.0
    lr_grace_steps: int = 1000
    ctc_thresholds: Any = field(default=None)
