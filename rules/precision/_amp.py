"""Facts about mixed precision in a script, shared by the TL5xx rules."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct

from trainlint.api import ParsedScript

# autocast entry points -> the device they imply (None: the first argument says)
AUTOCAST = {
    "torch.autocast": None,
    "torch.amp.autocast": None,
    "torch.cuda.amp.autocast": "cuda",
    "torch.cpu.amp.autocast": "cpu",
}
# default autocast dtype per device
DEVICE_DTYPE = {"cuda": "float16", "cpu": "bfloat16", "mps": "float16", "xpu": "bfloat16"}
DTYPES = {
    "torch.float16": "float16", "torch.half": "float16",
    "torch.bfloat16": "bfloat16",
    "torch.float32": "float32", "torch.float": "float32",
}
GRAD_SCALERS = frozenset({
    "torch.cuda.amp.GradScaler", "torch.amp.GradScaler", "torch.GradScaler",
    "torch.cpu.amp.GradScaler", "torch.distributed.fsdp.sharded_grad_scaler.ShardedGradScaler",
})
CTC_LOSSES = frozenset({"torch.nn.CTCLoss", "torch.nn.functional.ctc_loss", "torch.ctc_loss"})
# Loss scaling done by a library instead of a GradScaler in the script: what the script
# calls to hand the backward pass over.
SCALING_CALLS = frozenset({
    "accelerate.Accelerator", "deepspeed.initialize", "apex.amp.initialize",
    "lightning.Trainer", "lightning.pytorch.Trainer", "pytorch_lightning.Trainer",
    "lightning.Fabric", "lightning.fabric.Fabric", "transformers.Trainer",
    "transformers.Seq2SeqTrainer", "colossalai.initialize",
})
SCALING_PREFIXES = ("fairseq.", "trl.", "deepspeed.")


class Autocast(Struct):
    call: ast.Call
    qualname: str
    dtype: str | None  # float16, bfloat16, float32, or None when unknown
    dtype_arg: ast.expr | None  # the dtype expression when given
    disabled: bool  # enabled=False literally


def autocasts(script: ParsedScript) -> Iterator[Autocast]:
    for call, name in script.calls_to(AUTOCAST):
        yield describe_autocast(script, call, name)


def describe_autocast(script: ParsedScript, call: ast.Call, name: str) -> Autocast:
    implied = AUTOCAST[name]
    if implied is None:
        dtype_arg = script.argument(call, 1, "dtype")
        enabled = script.argument(call, 2, "enabled")
        device = script.literal(script.argument(call, 0, "device_type"))
        device = device.split(":", 1)[0] if isinstance(device, str) else None
    else:
        dtype_arg = script.argument(call, 1, "dtype")
        enabled = script.argument(call, 0, "enabled")
        device = implied
    if dtype_arg is not None:
        dtype = DTYPES.get(script.qualname(dtype_arg) or "")
    else:
        dtype = DEVICE_DTYPE.get(device) if device else None
    disabled = script.literal(enabled) is False if enabled is not None else False
    return Autocast(call, name, dtype, dtype_arg, disabled)


def has_grad_scaler(script: ParsedScript) -> bool:
    for call in script.calls:
        name = script.qualname(call.func)
        if name in GRAD_SCALERS:
            return True
        func = call.func
        tail = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if tail.endswith("GradScaler"):
            return True
    return False


def uses_scaling_library(script: ParsedScript) -> bool:
    """The script hands its backward pass to a library that scales the loss itself."""
    for call in script.calls:
        name = script.qualname(call.func)
        if name is not None and (name in SCALING_CALLS or name.startswith(SCALING_PREFIXES)):
            return True
        func = call.func
        if (isinstance(func, ast.Attribute) and func.attr == "backward"
                and isinstance(func.value, ast.Name) and func.value.id in ("accelerator", "fabric")):
            return True
    return False


def backward_calls(script: ParsedScript) -> list[ast.Call]:
    return list(script.method_calls("backward"))


def ctc_calls(script: ParsedScript) -> list[tuple[ast.Call, str]]:
    return list(script.calls_to(CTC_LOSSES))


def zero_infinity_missing(script: ParsedScript, call: ast.Call, name: str) -> bool:
    """The CTC loss at `call` keeps the default zero_infinity=False (or says False)."""
    position = 2 if name == "torch.nn.CTCLoss" else 6
    value = script.argument(call, position, "zero_infinity")
    if value is None:
        return not script.has_kwargs(call)
    return script.literal(value) is False


def dtype_name(script: ParsedScript, expr: ast.expr | None) -> str | None:
    if expr is None:
        return None
    return DTYPES.get(script.qualname(expr) or "")

