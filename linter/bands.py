"""The packaged LR band table (`rules/data/lr_bands.toml`): peak learning-rate bands per model
type and training regime, read once. The settings check `model-type` and `[tool.trainlint.bands]`
against it, `derive` names a model type by it, and TL101/TL102 read their bands from it
(through `trainlint.api`)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def packaged_bands() -> dict[str, dict[str, Any]]:
    text = resources.files("trainlint.rules").joinpath("data/lr_bands.toml").read_text("utf-8")
    return tomllib.loads(text)["bands"]
