"""The early-stopping patience a run needs, shared by TL301, TL302 and TL305."""

from __future__ import annotations

import math

from msgspec import Struct

from trainlint.api import Derived, Patience, fmt, run_epochs

TINY_DATASET = 100  # samples: an overfit test, where short patience is fine


class Need(Struct, frozen=True):
    epochs: float  # the minimum patience in epochs
    reason: str


def minimum_patience(derived: Derived, plateau_factor: float = 2.0, share: float = 0.2,
                     cap: float = 30.0) -> Need | None:
    """max(2 x plateau + 1, min(0.2 x max epochs, 30)) in epochs, with the reason; None when
    neither term is known."""
    terms: list[tuple[float, str]] = []
    plateau = derived.plateau_patience
    if plateau is not None and plateau.epochs is not None:
        need = plateau_factor * plateau.epochs + 1
        origin = "default" if plateau.default else "setting"
        terms.append((need, f"{fmt(plateau_factor)} x plateau patience {fmt(plateau.epochs)} "
                            f"({origin}) + 1 = {fmt(need)}"))
    epochs = run_epochs(derived)
    if epochs is not None:
        need = min(share * epochs.value, cap)
        terms.append((need, f"min({fmt(share)} x {fmt(epochs.value)} epochs, {fmt(cap)}) = {fmt(need)}"))
    if not terms:
        return None
    need, reason = max(terms, key=lambda item: item[0])
    return Need(need, reason)


def tiny_dataset(derived: Derived) -> bool:
    size = derived.dataset_size
    return size is not None and size.value < TINY_DATASET


def rounds_for(patience: Patience, epochs: float) -> int | None:
    """The patience, in its own unit, that covers `epochs` epochs."""
    if patience.epochs is None or patience.rounds <= 0:
        return None
    per_round = patience.epochs / patience.rounds
    return max(1, math.ceil(epochs / per_round - 1e-9))
