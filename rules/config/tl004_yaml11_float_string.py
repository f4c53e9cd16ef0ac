"""TL004 yaml11-float-string: YAML 1.1 loaders read this number as a string.

The class docstring is the rule's page (docs/rules/TL004.md).
"""

import re

from trainlint.api import (
    Applicability,
    DocumentRule,
    Example,
    Fix,
    FixAvailability,
    Severity,
    dialects,
)

# YAML 1.1's float: needs a dot, and an exponent needs a sign (PyYAML's implicit resolver).
_YAML11_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?$|^[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?$")
_NUMBER = re.compile(r"^(?P<sign>[-+]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?P<e>[eE])(?P<esign>[-+]?)(?P<exp>[0-9]+)$")


def yaml11_float_text(raw: str) -> str | None:
    """`1e-4` -> `1.0e-4`, `5E5` -> `5.0E+5`: the same float, read as a float by YAML 1.1 too."""
    match = _NUMBER.match(raw)
    if match is None:
        return None
    whole = match["int"] or "0"
    fraction = match["frac"] or "0"
    return f"{match['sign']}{whole}.{fraction}{match['e']}{match['esign'] or '+'}{match['exp']}"


class Yaml11FloatString(DocumentRule):
    """## What it does
    Finds plain YAML scalars such as `1e-4` or `5E-5` (an exponent without a dot, or without a
    sign) that YAML 1.2 loaders read as a float but YAML 1.1 loaders read as the STRING `'1e-4'`.

    The finding follows the code that reads the file (docs/consumers.md): it is a warning only
    where a YAML 1.1 loader (PyYAML's `safe_load` / `load`, HyperPyYAML, yacs, mmengine) hands
    the value to code that does not convert it. Loaders that read `1e-4` as a float
    (OmegaConf, Hydra, torchtune, ruamel.yaml) and code that converts the string (argparse
    `type=float`, HfArgumentParser through TrlParser, pydantic models, configargparse, draccus,
    yacs) are quiet. Where no code of the project is found reading the file, it is an info.

    ## Why is this bad?
    PyYAML's `yaml.safe_load`, which most training code uses, follows YAML 1.1: the learning
    rate arrives as a string. Depending on the code that is a `TypeError` deep in the optimizer
    (`'<' not supported between str and float`), or a silent fallback to a default. ruamel.yaml
    and OmegaConf follow YAML 1.2 and read a float, so the bug hides in one code path only.

    ## Example
    ```yaml
    optim_conf:
      lr: 1e-4    # a string to yaml.safe_load
    ```

    ## Use instead
    ```yaml
    optim_conf:
      lr: 1.0e-4  # a float to every loader
    ```

    ## Fix safety
    Safe: `1.0e-4` is the same number, now read as a float by both YAML versions.

    ## Options
    None.

    ## Source
    YAML 1.1 float regex (yaml.org/type/float.html) as implemented by PyYAML's resolver;
    RULES.md TL004.
    """

    code = "TL004"
    name = "yaml11-float-string"
    severity = Severity.ERROR
    fix_availability = FixAvailability.ALWAYS
    message = "YAML 1.1 loaders read this number as a string"
    precision = "no warning or error findings (99 info; dev corpus, 28 repositories)"
    fix_title = "write the number with a dot and a signed exponent"
    formats = frozenset({"yaml"})

    bad = (
        Example("train.yaml",
                "# ESPnet-style config\noptim: adam\noptim_conf:\n  lr: 1e-4   # peak LR\n"
                "  weight_decay: 5E-5\nmax_epoch: 40\nbatch_bins: 4000000\n",
                fixed="# ESPnet-style config\noptim: adam\noptim_conf:\n  lr: 1.0e-4   # peak LR\n"
                      "  weight_decay: 5.0E-5\nmax_epoch: 40\nbatch_bins: 4000000\n"),
        Example("config.yaml", "lr: 3e4\nepochs: 10\nbatch_size: 8\n",
                fixed="lr: 3.0e+4\nepochs: 10\nbatch_size: 8\n"),
    )
    good = (
        Example("train.yaml", "optim: adam\noptim_conf:\n  lr: 1.0e-4\n  eps: '1e-8'\nmax_epoch: 40\n"
                              "batch_bins: 4000000\n"),
    )

    def check_document(self, doc):
        dialect = dialects().get(doc.dialect)
        if dialect is not None and dialect.yaml_loader != "pyyaml":
            return  # OmegaConf's loader reads `1e-4` as a float
        asked, consumer = False, None
        for entry in doc.entries:
            if entry.style != "plain" or not isinstance(entry.value, float) or entry.tag:
                continue
            raw = entry.raw
            if _YAML11_FLOAT.match(raw.replace("_", "")):
                continue
            fixed = yaml11_float_text(raw)
            if fixed is None:
                continue
            if not asked:
                consumer, asked = doc.consumer, True
            fix = Fix.replace(entry.span, fixed, f"write `{raw}` as `{fixed}`", Applicability.SAFE)
            if consumer is None or not consumer.known:
                yield self.at(entry, f"`{entry.key}: {raw}` is the string '{raw}' to YAML 1.1 "
                                     f"loaders (PyYAML safe_load); no code of this project was "
                                     f"found reading the file; `{fixed}` is a float to every "
                                     "loader", fix, severity=Severity.INFO, basis="guessed")
                continue
            if consumer.loader.yaml_floats != "1.1" or consumer.converts_strings:
                continue  # the loader reads a float, or the code converts the string
            site = consumer.script_site() or (consumer.sites[0] if consumer.sites else None)
            where = f" at `{site.label_beside(doc.path)}`" if site else ""
            yield self.at(entry, f"`{entry.key}: {raw}` reaches the code as the string '{raw}' "
                                 f"(`{consumer.loader.display}`{where} reads YAML 1.1 and nothing "
                                 f"converts it); write `{fixed}`", fix, basis="consumer")

