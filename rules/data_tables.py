"""Package data the config rules read: the LR band table (rules/data/lr_bands.toml), merged
with `[tool.trainlint.bands.<band>]` from settings.

A band belongs to a family (a model type x training regime, e.g. `llm-lora`); a family may
have size classes (`llm-lora-under-2b`, `llm-lora-2b-up`) chosen by the model size its name
states. `derive` decides the family from the config's evidence; `band_for` picks the band.
"""

from __future__ import annotations

import math

from msgspec import Struct

from trainlint.api import (
    ConfigView,
    Derived,
    RuleContext,
    Value,
    fmt,
    optimizer_family_of,
    packaged_bands,
)

LARGE_EPS = 1e-3  # Adam with eps this large damps its steps: bands do not apply
WARNING_FACTOR = 2.0  # outside the band by this factor or more: a warning; less: info
BAND_FIELDS = ("low", "high", "typical", "suggested", "suggested_per_256", "optimizers", "source",
               "label", "family", "model", "regime", "min_size_b", "max_size_b", "recipes")
OPTIMIZER_ALIASES = {"adamw": "adam"}  # a table may name AdamW; the family is "adam"


class Band(Struct, frozen=True):
    model_type: str  # the band's key in the table (also what `model-type` may name)
    low: float
    high: float
    suggested: float | None  # the typical peak LR of the band's recipes
    suggested_per_256: float | None
    optimizers: tuple[str, ...]
    source: str
    overridden: bool = False
    family: str = ""
    label: str = ""
    models: tuple[str, ...] = ()
    regimes: tuple[str, ...] = ()
    min_size_b: float | None = None
    max_size_b: float | None = None
    recipes: int = 0

    @property
    def text(self) -> str:
        return f"{self.low:g} .. {self.high:g}"

    @property
    def sized(self) -> bool:
        return self.min_size_b is not None or self.max_size_b is not None

    def holds_size(self, size: float) -> bool:
        return ((self.min_size_b is None or size >= self.min_size_b)
                and (self.max_size_b is None or size < self.max_size_b))

    def holds_optimizer(self, family: str) -> bool:
        return OPTIMIZER_ALIASES.get(family, family) in self.optimizers

    @property
    def middle(self) -> float:
        """The band's middle on a log scale (LRs are compared by ratio)."""
        return math.sqrt(self.low * self.high)

    @property
    def origin(self) -> str:
        """Where the band came from, for a message."""
        if self.overridden:
            return "band from settings [tool.trainlint.bands]"
        if self.recipes:
            return f"band from {self.recipes} published recipes: {self.source}"
        return f"band from {self.source}"


def bands(ctx: RuleContext | None = None) -> dict[str, Band]:
    """The bands by key (packaged, with the settings' rows over them), made once per run's
    settings (a config view asks for them: 2,000 bands made for 300 scripts before). Read
    only: the table is shared."""
    overrides = _overrides(ctx)
    key = id(overrides) if overrides else None
    made = _BANDS.get(key)
    if made is None or made[0] is not (overrides or None):
        made = _BANDS[key] = (overrides or None, _table(overrides))
    return made[1]


# id(overrides) -> (the overrides, kept alive so that the id is not reused; their table);
# the packaged table alone under None
_BANDS: dict[int | None, tuple[dict | None, dict[str, Band]]] = {}


def _table(overrides: dict[str, dict]) -> dict[str, Band]:
    table = {}
    for key in {*packaged_bands(), *overrides}:
        band = _band(key, overrides)
        if band is not None:
            table[key] = band
    return table


def _overrides(ctx: RuleContext | None) -> dict[str, dict]:
    if ctx is None:
        return {}
    return ctx.tables.get("bands", {}) or {}


def _band(key: str, overrides: dict[str, dict]) -> Band | None:
    """One band: the packaged row with the settings' keys over it."""
    merged = {**packaged_bands().get(key, {}), **overrides.get(key, {})}
    if "low" not in merged or "high" not in merged:
        return None
    typical = merged.get("suggested", merged.get("typical"))
    optimizers = []
    for name in merged.get("optimizers", ("adam",)):
        family = OPTIMIZER_ALIASES.get(str(name).lower(), str(name).lower())
        if family not in optimizers:
            optimizers.append(family)
    return Band(
        model_type=key, low=float(merged["low"]), high=float(merged["high"]),
        suggested=_float(typical), suggested_per_256=_float(merged.get("suggested_per_256")),
        optimizers=tuple(optimizers), source=str(merged.get("source", "settings")),
        overridden=key in overrides, family=str(merged.get("family", key)),
        label=str(merged.get("label", key)), models=_names(merged.get("model")),
        regimes=_names(merged.get("regime")), min_size_b=_float(merged.get("min_size_b")),
        max_size_b=_float(merged.get("max_size_b")), recipes=int(merged.get("recipes", 0)),
    )


def _names(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _float(value) -> float | None:
    return None if value is None else float(value)


def band_of(table: dict[str, Band], key: str, size_b: float | None) -> Band | None:
    """The band for a family (or an exact band key) and a stated model size.

    A size class of the family applies when the size is stated and in its range; otherwise the
    family's own band. A family the settings override is used as it is, without size classes.
    """
    band = table.get(key)
    if band is None:
        return None
    if size_b is None or band.sized or band.overridden:
        return band
    classes = [b for b in table.values() if b.family == key and b.model_type != key and b.sized]
    return next((b for b in sorted(classes, key=lambda b: b.model_type) if b.holds_size(size_b)), band)


def band_for(ctx: RuleContext, view: ConfigView, derived: Derived) -> Band | None:
    """The band for this setup's model type, regime, size and optimizer, or None (rules stay
    quiet)."""
    if derived.model_type is None:
        return None
    size = derived.model_size.value if derived.model_size is not None else None
    band = band_of(bands(ctx), str(derived.model_type.value), size)
    if band is None:
        return None
    family = derived.optimizer_family.value if derived.optimizer_family else "adam"
    if not band.holds_optimizer(family):
        return None
    named = _family_named_by_key(view.get("optimizer.lr"))
    if named is not None and not band.holds_optimizer(named):
        return None  # `muon.lr`, `lr_sgd`: the LR of another optimizer than the band's
    eps = view.number("optimizer.eps")
    if family == "adam" and eps is not None and eps >= LARGE_EPS and not band.overridden:
        return None
    return band


def _family_named_by_key(lr: Value | None) -> str | None:
    """The optimizer family an LR's own key names (`adam.lr`, `muon.lr`, `lr_adam`), or None."""
    if lr is None:
        return None
    parts = lr.key.lstrip("-").lower().split(".")
    for part in parts[:-1] + [parts[-1].replace("lr", "", 1)]:
        family = optimizer_family_of(part)
        if family != "other":
            return family
    return None


def suggested_lr(band: Band, derived: Derived) -> float:
    """The typical peak LR of the band (for SGD CNNs, 0.1 x effective batch / 256 in the band)."""
    if band.suggested_per_256 is not None:
        batch = derived.effective_batch
        if batch is not None and batch.unit == "samples":
            return min(max(band.suggested_per_256 * batch.value / 256, band.low), band.high)
        return min(max(band.suggested_per_256, band.low), band.high)
    if band.suggested is not None:
        return band.suggested
    return band.middle


def typical_text(band: Band) -> str:
    if band.suggested_per_256 is not None:
        return f"{fmt(band.suggested_per_256)} x batch / 256"
    return fmt(band.suggested if band.suggested is not None else band.middle)


def in_band(band: Band, lr: float) -> bool:
    return band.low * (1 - 1e-9) <= lr <= band.high * (1 + 1e-9)


def outside_factor(band: Band, lr: float) -> float:
    """How many times below the floor or above the top the LR is (1 inside the band)."""
    if lr <= 0 or in_band(band, lr):
        return 1.0
    return band.low / lr if lr < band.low else lr / band.high


def is_far_outside(band: Band, lr: float) -> bool:
    """Outside by 2x or more (a warning); closer than that is info."""
    return outside_factor(band, lr) >= WARNING_FACTOR * (1 - 1e-9)


def fix_target(band: Band, lr: float, derived: Derived | None = None) -> float:
    """Where TL102's fix moves an LR outside the band: never past the band's middle (on a log
    scale). The band's typical value when it lies between the nearest edge and the middle,
    else the nearest edge."""
    edge = band.low if lr < band.low else band.high
    typical = suggested_lr(band, derived) if derived is not None else band.suggested
    if typical is None:
        return edge
    near_half = sorted((edge, band.middle))
    if near_half[0] * (1 - 1e-9) <= typical <= near_half[1] * (1 + 1e-9):
        return typical
    return edge


def target_peak(band: Band | None, derived: Derived) -> float | None:
    """The peak LR once TL102's fix is applied: the configured one when in band."""
    if derived.peak_lr is None:
        return None
    peak = derived.peak_lr.value
    if band is None or in_band(band, peak):
        return peak
    return fix_target(band, peak, derived)


def recipe_band(table: dict[str, Band], model: str, regime: str, optimizer: str,
                size_b: float | None) -> Band | None:
    """The band a published recipe (a row of lr_band_sources.tsv) belongs to, or None."""
    families = [b for b in table.values() if not b.sized and model in b.models and regime in b.regimes]
    if len(families) != 1:
        return None
    band = band_of(table, families[0].model_type, size_b)
    return band if band is not None and band.holds_optimizer(optimizer) else None
