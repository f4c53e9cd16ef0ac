"""Package data the config rules read: the LR band table (rules/data/lr_bands.toml), merged
with `[tool.trainlint.bands.<model-type>]` from settings."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from msgspec import Struct

from trainlint.api import ConfigView, Derived, RuleContext

LARGE_EPS = 1e-3  # Adam with eps this large damps its steps: bands do not apply
BAND_FIELDS = ("low", "high", "suggested", "suggested_per_256", "optimizers", "source")


class Band(Struct, frozen=True):
    model_type: str
    low: float
    high: float
    suggested: float | None
    suggested_per_256: float | None
    optimizers: tuple[str, ...]
    source: str
    overridden: bool = False

    @property
    def text(self) -> str:
        return f"{self.low:g} .. {self.high:g}"


@cache
def packaged_bands() -> dict[str, dict]:
    text = (Path(__file__).parent / "data" / "lr_bands.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["bands"]


def bands(ctx: RuleContext) -> dict[str, Band]:
    overrides = _overrides(ctx)
    table = {}
    for model_type in {*packaged_bands(), *overrides}:
        band = _band(model_type, overrides)
        if band is not None:
            table[model_type] = band
    return table


def _overrides(ctx: RuleContext) -> dict[str, dict]:
    return ctx.tables.get("bands", {}) or {}


def _band(model_type: str, overrides: dict[str, dict]) -> Band | None:
    """One model type's band: the packaged row with the settings' keys over it."""
    merged = {**packaged_bands().get(model_type, {}), **overrides.get(model_type, {})}
    if "low" not in merged or "high" not in merged:
        return None
    return Band(
        model_type=model_type, low=float(merged["low"]), high=float(merged["high"]),
        suggested=_float(merged.get("suggested")),
        suggested_per_256=_float(merged.get("suggested_per_256")),
        optimizers=tuple(str(o).lower() for o in merged.get("optimizers", ("adam",))),
        source=str(merged.get("source", "settings")), overridden=model_type in overrides,
    )


def _float(value) -> float | None:
    return None if value is None else float(value)


def band_for(ctx: RuleContext, view: ConfigView, derived: Derived) -> Band | None:
    """The band for this setup's model type and optimizer family, or None (rules stay quiet)."""
    if derived.model_type is None:
        return None
    band = _band(str(derived.model_type.value), _overrides(ctx))
    if band is None:
        return None
    family = derived.optimizer_family.value if derived.optimizer_family else "adam"
    if family not in band.optimizers:
        return None
    eps = view.number("optimizer.eps")
    if family == "adam" and eps is not None and eps >= LARGE_EPS and not band.overridden:
        return None
    return band


def suggested_lr(band: Band, derived: Derived) -> float:
    if band.suggested_per_256 is not None:
        batch = derived.effective_batch
        if batch is not None and batch.unit == "samples":
            return min(max(band.suggested_per_256 * batch.value / 256, band.low), band.high)
        return min(max(band.suggested_per_256, band.low), band.high)
    if band.suggested is not None:
        return band.suggested
    return (band.low + band.high) / 2


def in_band(band: Band, lr: float) -> bool:
    return band.low * (1 - 1e-9) <= lr <= band.high * (1 + 1e-9)


def target_peak(band: Band | None, derived: Derived) -> float | None:
    """The peak LR once TL102's fix is applied: the configured one when in band."""
    if derived.peak_lr is None:
        return None
    peak = derived.peak_lr.value
    if band is None or in_band(band, peak):
        return peak
    return suggested_lr(band, derived)
