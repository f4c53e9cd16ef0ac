"""How a probe run is set up (steps, time, device, seed, how far to follow the LR schedule),
apart from the rule thresholds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_STEPS = 50
DEFAULT_MAX_SECONDS = 120.0
DEFAULT_OVERFIT_LR = 1e-3


@dataclass
class ProbeOptions:
    """`steps`: optimizer updates on the fixed batch (TL902's N); `max_seconds` stops the
    steps early (the checks that need all steps then say they were skipped); `device`: None
    keeps the model where it is, "auto" picks CUDA when available, else CPU; `overfit_lr` is
    the LR of the Adam the probe builds when the target brings no optimizer.

    The LR schedule is followed (the scheduler stepped alone, then put back) for at least
    `schedule_steps` steps, then until its LR has not risen for `schedule_patience` steps (its
    peak), and never past `schedule_horizon` steps. `more_steps(measurements)` is asked after
    the overfit steps: while it says yes, the probe trains on in chunks of `extra_chunk` steps
    (within `max_seconds`); the rules that need a longer trajectory (TL904) answer it."""

    steps: int = DEFAULT_STEPS
    max_seconds: float = DEFAULT_MAX_SECONDS
    device: str | None = None
    seed: int = 0
    overfit_lr: float = DEFAULT_OVERFIT_LR
    schedule_steps: int = 0
    schedule_patience: int = 100
    schedule_horizon: int = 100_000
    more_steps: Callable[[Any], bool] | None = None

    @property
    def extra_chunk(self) -> int:
        return max(10, self.steps // 2)
