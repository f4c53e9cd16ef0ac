"""Walking, moving and repeating batches: nested dicts, tuples, lists and tensors."""

from __future__ import annotations

import dataclasses

from collections.abc import Callable, Iterator, Mapping
from typing import Any


def is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def iter_tensors(tree: Any, label: str = "batch") -> Iterator[tuple[str, Any]]:
    """(label, tensor) for every tensor in a batch, e.g. ("batch['features']", t)."""
    if is_tensor(tree):
        yield label, tree
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from iter_tensors(value, f"{label}[{key!r}]")
    elif isinstance(tree, (tuple, list)):
        for position, value in enumerate(tree):
            yield from iter_tensors(value, f"{label}[{position}]")
    elif hasattr(tree, "__dataclass_fields__"):
        for name in tree.__dataclass_fields__:
            yield from iter_tensors(getattr(tree, name), f"{label}.{name}")


def map_tensors(tree: Any, fn: Callable[[Any], Any]) -> Any:
    """The same structure with `fn` applied to every tensor."""
    if is_tensor(tree):
        return fn(tree)
    if isinstance(tree, Mapping):
        mapped = {key: map_tensors(value, fn) for key, value in tree.items()}
        try:
            return type(tree)(mapped)
        except TypeError:
            return mapped
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # namedtuple
        return type(tree)(*(map_tensors(value, fn) for value in tree))
    if isinstance(tree, (tuple, list)):
        return type(tree)(map_tensors(value, fn) for value in tree)
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        return dataclasses.replace(tree, **{f.name: map_tensors(getattr(tree, f.name), fn)
                                            for f in dataclasses.fields(tree) if f.init})
    return tree


def to_device(tree: Any, device: Any) -> Any:
    return map_tensors(tree, lambda tensor: tensor.to(device))


def repeat_batch(tree: Any, times: int) -> Any:
    """The batch `times` times over, concatenated along dim 0 of every tensor.

    Concatenating 1-D CTC targets and their lengths stays consistent, so the default
    serves padded and concatenated targets alike. 0-d tensors are kept as they are.
    """
    import torch

    def repeat(tensor: Any) -> Any:
        if tensor.dim() == 0:
            return tensor
        return torch.cat([tensor] * times, dim=0)

    return map_tensors(tree, repeat)


def first_non_finite(tree: Any, label: str = "batch") -> str | None:
    """A description of the first floating tensor holding NaN/Inf, or None."""
    import torch

    for name, tensor in iter_tensors(tree, label):
        if not (tensor.is_floating_point() or tensor.is_complex()) or tensor.device.type == "meta":
            continue
        finite = torch.isfinite(tensor)
        if bool(finite.all()):
            continue
        nan = int(torch.isnan(tensor).sum())
        inf = int((~finite).sum()) - nan
        kinds = " and ".join(part for part in (f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else "")
                             if part)
        return f"{name} holds {kinds} of {tensor.numel()} values"
    return None


def devices_of(tree: Any) -> set[str]:
    return {str(tensor.device) for _, tensor in iter_tensors(tree)}


def finite_flags(tree: Any) -> list[Any]:
    """0-d bool tensors, one per floating tensor, True where it is finite (no device sync)."""
    import torch

    return [torch.isfinite(tensor).all() for _, tensor in iter_tensors(tree, "")
            if tensor.is_floating_point() and tensor.device.type != "meta"]


def flags_finite(flags: list[Any]) -> bool | None:
    """Evaluate `finite_flags` (syncs); None when there was no floating tensor."""
    if not flags:
        return None
    return all(bool(flag) for flag in flags)
