"""The probe's two failure kinds: bad input (exit 2) and findings a caller asked to raise on."""

from __future__ import annotations

import warnings
from typing import Any

TORCH_MISSING = "the probe needs PyTorch, which is not installed: pip install 'trainlint-ml[probe]'"


class ProbeUsageError(Exception):
    """Something the user must fix before the probe can run: one line that says what."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ProbeFailed(Exception):
    """Raised by `probe(..., strict=True)` when a finding is at warning or error level."""

    def __init__(self, result: Any) -> None:
        codes = ", ".join(sorted({d.code for d in result.failing}))
        super().__init__(f"trainlint probe found {codes}")
        self.result = result


def require_torch() -> Any:
    """Import torch, or raise the one-line install hint."""
    try:
        with warnings.catch_warnings():
            # torch warns at import when numpy is missing; the probe does not need numpy.
            warnings.filterwarnings("ignore", message=".*Failed to initialize NumPy.*")
            import torch
    except ImportError as error:
        raise ProbeUsageError(TORCH_MISSING) from error
    return torch
