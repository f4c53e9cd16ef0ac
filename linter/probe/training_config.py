"""Task settings from a training config, read through the same formats and dialects as `check`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlint.probe.errors import ProbeUsageError

OBJECTIVE_TASKS = {"ctc": "ctc", "mlm": "mlm", "masked-lm": "mlm", "clm": "lm", "lm": "lm",
                   "causal-lm": "lm", "causal_lm": "lm"}


def read_training_config(path: Path) -> dict[str, Any]:
    """ProbeTarget field -> value: num_classes (vocab size), task (objective / CTC), model_type."""
    from trainlint.load import Loader, Unreadable, format_of

    if not path.is_file():
        raise ProbeUsageError(f"no such training config: {path}")
    if format_of(path) not in ("yaml", "json", "toml", "python"):
        raise ProbeUsageError(f"{path}: not a config trainlint reads", "use YAML, JSON, TOML or Python")
    try:
        document = Loader().load(str(path))
    except Unreadable as error:
        raise ProbeUsageError(f"{path}: cannot read ({error.reason})") from error
    if document.error is not None:
        span = document.error.span
        raise ProbeUsageError(f"{path}:{span.line}:{span.col}: {document.error.message}")
    found: dict[str, Any] = {}
    for view in document.views:
        vocab = view.number("model.vocab_size")
        if vocab is not None and vocab >= 2:
            found.setdefault("num_classes", int(vocab))
        objective = str(view.known("model.objective") or "").lower()
        if objective in OBJECTIVE_TASKS:
            found.setdefault("task", OBJECTIVE_TASKS[objective])
        elif view.flag("model.ctc"):
            found.setdefault("task", "ctc")
        model_type = view.known("model.type")
        if isinstance(model_type, str) and model_type:
            found.setdefault("model_type", model_type)
    return found
