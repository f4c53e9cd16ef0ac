"""Task settings from a training config, read through the same formats and dialects as `check`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlint.probe.errors import ProbeUsageError

OBJECTIVE_TASKS = {"ctc": "ctc", "mlm": "mlm", "masked-lm": "mlm", "clm": "lm", "lm": "lm",
                   "causal-lm": "lm", "causal_lm": "lm"}


def read_training_config(path: Path) -> dict[str, Any]:
    """ProbeTarget field -> value: num_classes (vocab size), task (objective / CTC), model_type."""
    from trainlint.engine import FORMAT_BY_SUFFIX, decode, parse_file
    from trainlint.formats.base import ParseError
    from trainlint.text import LineIndex

    if not path.is_file():
        raise ProbeUsageError(f"no such training config: {path}")
    fmt = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt not in ("yaml", "json", "toml", "python"):
        raise ProbeUsageError(f"{path}: not a config trainlint reads", "use YAML, JSON, TOML or Python")
    text = decode(path.read_bytes())[0]
    try:
        parsed = parse_file(str(path), text, LineIndex(text), fmt)
    except ParseError as error:
        raise ProbeUsageError(f"{path}:{error.line}:{error.col}: {error.message}") from error
    found: dict[str, Any] = {}
    for view in parsed.views:
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
