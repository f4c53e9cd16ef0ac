"""`trainlint probe`: run the user's model, loss and data for a few steps and check them.

The only part of trainlint that runs user code and imports torch, always inside functions:
importing this package (or trainlint.probe.cli) does not import torch.

    from trainlint.probe import ProbeTarget, probe
    result = probe(ProbeTarget(model=model, batches=[batch], task="classification", loss=...))
"""

from __future__ import annotations

from trainlint.probe.errors import ProbeFailed, ProbeUsageError
from trainlint.probe.library import ProbeResult, probe
from trainlint.probe.measurements import Measurements
from trainlint.probe.options import ProbeOptions
from trainlint.probe.target import TASKS, CTCView, ProbeTarget

__all__ = [
    "CTCView", "Measurements", "ProbeFailed", "ProbeOptions", "ProbeResult", "ProbeTarget",
    "ProbeUsageError", "TASKS", "probe", "HFProbeCallback", "LightningProbeCallback",
]


def __getattr__(name: str):
    """The Trainer callbacks import transformers / lightning, so they load on first use."""
    modules = {"HFProbeCallback": ("hf_callback", "transformers"),
               "LightningProbeCallback": ("lightning_callback", "lightning")}
    if name not in modules:
        raise AttributeError(f"module 'trainlint.probe' has no attribute {name!r}")
    import importlib

    module_name, package = modules[name]
    try:
        module = importlib.import_module(f"trainlint.probe.{module_name}")
    except ImportError as error:
        raise ImportError(f"trainlint.probe.{name} needs {package}, which is not installed: "
                          f"pip install {package}") from error
    return getattr(module, name)
