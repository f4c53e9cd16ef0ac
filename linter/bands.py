"""The packaged LR band table (`rules/data/lr_bands.toml`): peak learning-rate bands per model
type and training regime, read once. The settings check `model-type` and `[tool.trainlint.bands]`
against it, `derive` names a model type by it, and TL101/TL102 read their bands from it
(through `trainlint.api`)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import trainlint.rules

# The rules package's data folder, beside its modules (package data of the distribution);
# read with pathlib: importlib.resources costs ~4 ms of imports a run does not otherwise make.
BAND_TABLE = Path(trainlint.rules.__file__).parent / "data" / "lr_bands.toml"


@cache
def packaged_bands() -> dict[str, dict[str, Any]]:
    return tomllib.loads(BAND_TABLE.read_text(encoding="utf-8"))["bands"]
