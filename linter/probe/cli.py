"""`trainlint probe FILE.py:FACTORY`: the arguments and the run (exit 0 clean, 1 findings, 2 usage).

Importing this module does not import torch; `run` does, after the arguments are checked.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Any

from trainlint.probe.errors import ProbeUsageError, require_torch
from trainlint.probe.options import DEFAULT_MAX_SECONDS
from trainlint.probe.target import TASK_ALIASES, TASKS, ProbeTarget, normalize_task


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.split(",") if code.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="FILE.py:FACTORY",
                        help="a function returning a trainlint.probe.ProbeTarget: "
                             "path/to/file.py:factory or package.module:factory "
                             "(factory defaults to probe_target)")
    parser.add_argument("--steps", type=int, help="optimizer steps on the fixed batch (default 50)")
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS,
                        help=f"stop the steps after this long (default {DEFAULT_MAX_SECONDS:g})")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    parser.add_argument("--seed", type=int, default=0, help="seed for torch and random (default 0)")
    parser.add_argument("--overfit-lr", type=float,
                        help="LR of the probe's Adam when the target brings no optimizer (1e-3)")
    parser.add_argument("--task", choices=[*TASKS, *TASK_ALIASES], help="overrides ProbeTarget.task")
    parser.add_argument("--num-classes", type=int, help="classes / vocabulary size for TL901")
    parser.add_argument("--blank", type=int, help="CTC blank index")
    parser.add_argument("--model-type", help="LR band for TL905, e.g. rnn-ctc, ctc, bert-mlm")
    parser.add_argument("--lr-floor", type=float, help="TL905's band floor, instead of the model type's")
    parser.add_argument("--training-config", type=Path, metavar="FILE",
                        help="a training config to read the vocabulary size, model type and "
                             "objective from (values the target does not set)")
    parser.add_argument("--checkpoint", type=Path,
                        help="load this state dict into the model first (weights_only=True)")
    parser.add_argument("--select", type=_codes, default=None, help="codes or prefixes, e.g. TL901,TL907")
    parser.add_argument("--ignore", type=_codes, default=None)
    parser.add_argument("--output-format", default="text", choices=["text", "json"])
    parser.add_argument("--config", type=Path, help="settings file (default: nearest pyproject.toml)")
    parser.add_argument("--no-plot", action="store_true", help="no loss plot")
    parser.add_argument("--no-color", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="tracebacks for errors raised by the user's code")


def run(args: argparse.Namespace, settings: Any = None) -> int:
    from trainlint.settings import SettingsError

    try:
        return _run(args, settings)
    except SettingsError as error:  # e.g. a probe rule option of the wrong type
        print(f"trainlint probe: error: {error}", file=sys.stderr)
        return 2
    except ProbeUsageError as error:
        if getattr(args, "verbose", False):
            traceback.print_exception(error.__cause__ or error, file=sys.stderr)
        print(f"trainlint probe: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a probe bug: one line, the traceback with --verbose
        if getattr(args, "verbose", False):
            traceback.print_exc(file=sys.stderr)
        print(f"trainlint probe: internal error: {type(error).__name__}: {error} "
              "(--verbose shows the traceback)", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Any) -> int:
    from trainlint.probe import library, loader
    from trainlint.probe.measure import resolve_device

    _check_numbers(args)
    require_torch()
    factory = loader.load_factory(args.target)
    if settings is None:
        settings = _load_settings(Path(factory.path), getattr(args, "config", None))
    device = resolve_device(args.device)
    target, built_on_device = loader.call_factory(factory, str(device))
    _apply_overrides(target, args)
    if not built_on_device:
        _move(target, device)
    if args.checkpoint is not None:
        load_checkpoint(target.model, args.checkpoint, device)
    context = library.context_for(target, settings, args.select, args.ignore,
                                  path=factory.path, span=factory.span)
    context.title = f"trainlint probe {args.target}"
    if args.model_type:
        context.model_type = args.model_type
    options = library.probe_options(context, args.steps, args.max_seconds, args.seed,
                                    str(device), args.overfit_lr)
    result = library.run(target, options, context)
    library.write_report(result, context, args.output_format, sys.stdout, plot=not args.no_plot,
                         color=False if args.no_color else None)
    return result.exit_code


def _check_numbers(args: argparse.Namespace) -> None:
    if args.steps is not None and args.steps < 0:
        raise ProbeUsageError(f"--steps {args.steps} is negative")
    if args.max_seconds <= 0:
        raise ProbeUsageError(f"--max-seconds {args.max_seconds:g} must be positive")
    if args.num_classes is not None and args.num_classes < 2:
        raise ProbeUsageError(f"--num-classes {args.num_classes} must be 2 or more")


def _load_settings(start: Path, explicit: Path | None) -> Any:
    from trainlint.settings import load_settings

    return load_settings(start.resolve(), explicit)


def _apply_overrides(target: ProbeTarget, args: argparse.Namespace) -> None:
    """Command line beats the target; the training config fills what neither sets."""
    if args.training_config is not None:
        from trainlint.probe.training_config import read_training_config

        found = read_training_config(args.training_config)
        for name, value in found.items():
            if getattr(target, name) is None:
                setattr(target, name, value)
    for name in ("task", "num_classes", "blank", "model_type", "lr_floor"):
        value = getattr(args, name)
        if value is not None:
            setattr(target, name, normalize_task(value) if name == "task" else value)


def _move(target: ProbeTarget, device: Any) -> None:
    """Model and batches onto the probe's device (the factory did not take `device`)."""
    from trainlint.probe.batch import to_device

    parameters = list(target.model.parameters()) if hasattr(target.model, "parameters") else []
    if any(p.device.type == "meta" for p in parameters):
        return  # nothing to copy from; the device check names the problem
    if any(p.device != device for p in parameters):
        target.model.to(device)
    target.batches = to_device(target.batches, device)


def load_checkpoint(model: Any, path: Path, device: Any) -> None:
    """A state dict into the model, loaded with weights_only=True (never arbitrary pickles)."""
    torch = require_torch()
    if not path.is_file():
        raise ProbeUsageError(f"no such checkpoint: {path}")
    try:
        loaded = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ProbeUsageError(
            f"cannot load {path} with weights_only=True: {first}",
            "the probe never unpickles arbitrary objects: save model.state_dict() alone, or "
            "register the types with torch.serialization.add_safe_globals") from error
    state = loaded
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), dict):
                state = loaded[key]
                break
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as error:
        first = str(error).strip().splitlines()
        raise ProbeUsageError(f"{path} does not fit the model: "
                              + (" ".join(line.strip() for line in first[:2]) or type(error).__name__)
                              ) from error
