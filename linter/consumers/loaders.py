"""The loader table: every way of reading a config that trainlint models, with its semantics.

One `Loader` per way a config reaches training code. Each says how its file is parsed
(`yaml_version`, and where the loader departs from it: `yaml_floats`, `yaml_bools`,
`duplicate_keys`), what happens to a key no code declares (`unknown_keys`), whether a string
is converted to the declared type before the code sees it (`converts_strings`), and which
value language the framework adds on top of the format (`value_language`).

The table is Python, not package data: the entries are made once at import in a few
microseconds (msgspec structs), where reading a TOML table would cost ~6 ms of every start.
Facts were checked against each library's source (see docs/consumers.md, "The loader table").
"""

from __future__ import annotations

from msgspec import Struct

__all__ = ["LOADERS", "Loader", "UNKNOWN_LOADER", "loader"]

# unknown_keys
RAISE = "raise"  # the loader (or the schema it applies) fails at start on a key it does not know
IGNORED = "ignored"  # accepted and dropped: no code ever reads it
KEPT = "kept"  # kept in a dict-like object; whether code reads it is the code's business
UNKNOWN = "unknown"  # not modelled


class Loader(Struct, frozen=True):
    """How one loader reads a config file, and what it does with keys and values."""

    name: str  # stable id, e.g. "pyyaml.safe_load"
    family: str  # pyyaml, ruamel, omegaconf, hydra, hyperpyyaml, hf, trl, jsonargparse, ...
    display: str  # what `describe()` prints: "yaml.safe_load", "@hydra.main"
    formats: tuple[str, ...]  # the file types it reads by convention: yaml, json, toml, python
    yaml_version: str | None = None  # the YAML spec of its parser: "1.1" | "1.2" | None
    yaml_floats: str | None = None  # "1.1": `1e-4` (no dot) is a string; "1.2": a float
    yaml_bools: str | None = None  # "1.1": yes/no/on/off are booleans; "1.2": strings
    duplicate_keys: str = "last-wins"  # "last-wins" | "raise" | "n/a" (a wrapper of a parsed dict)
    unknown_keys: str = KEPT  # raise | ignored | kept | unknown (a schema may tighten it)
    converts_strings: bool = False  # a string is converted to the field's type ('1e-4' -> 1e-4)
    value_language: tuple[str, ...] = ()  # interpolation, ref-tags, time-strings, auto, ...
    schema_from: str = "none"  # none | dataclasses | structured | cfgnode | argparse | model | signature
    notes: str = ""


def _yaml11(**extra) -> dict:
    return {"yaml_version": "1.1", "yaml_floats": "1.1", "yaml_bools": "1.1", **extra}


# PyYAML's SafeLoader with OmegaConf's extra float resolver: `1e-4` is a float, yes/no stay
# YAML 1.1 booleans, timestamps are strings, and a repeated key raises (omegaconf/_utils.py).
_OMEGACONF_YAML = {"yaml_version": "1.1", "yaml_floats": "1.2", "yaml_bools": "1.1",
                   "duplicate_keys": "raise"}

LOADERS: dict[str, Loader] = {spec.name: spec for spec in (
    Loader("pyyaml.safe_load", "pyyaml", "yaml.safe_load", ("yaml",), **_yaml11(),
           notes="PyYAML SafeLoader: YAML 1.1 (`1e-4` is the string '1e-4', yes/no are booleans)"),
    Loader("pyyaml.load", "pyyaml", "yaml.load", ("yaml",), **_yaml11(),
           value_language=("python-tags",),
           notes="PyYAML Loader/FullLoader/UnsafeLoader: YAML 1.1, `!!python/...` tags built"),
    Loader("ruamel.yaml", "ruamel", "ruamel.yaml", ("yaml",), yaml_version="1.2",
           yaml_floats="1.2", yaml_bools="1.2", duplicate_keys="raise",
           notes="ruamel.yaml: YAML 1.2 (`1e-4` is a float, yes/no are strings)"),
    Loader("omegaconf.load", "omegaconf", "OmegaConf.load", ("yaml",), **_OMEGACONF_YAML,
           value_language=("interpolation", "missing-value"),
           notes="OmegaConf: `1e-4` is a float, `${...}` interpolation, `???` marks a missing "
                 "value; unknown keys raise only when a structured (dataclass) schema is merged"),
    Loader("hydra", "hydra", "@hydra.main", ("yaml",), **_OMEGACONF_YAML,
           value_language=("interpolation", "missing-value", "defaults-list", "instantiate"),
           notes="Hydra composes the config dir through defaults lists (OmegaConf YAML); "
                 "`_target_` nodes are instantiated; a structured config in the ConfigStore "
                 "makes unknown keys fail"),
    Loader("composer", "composer", "OmegaConf.load (Composer)", ("yaml",), **_OMEGACONF_YAML,
           value_language=("interpolation", "time-strings"),
           notes="Composer recipes through OmegaConf: durations are time strings (`500ba`, `1ep`)"),
    Loader("torchtune.config", "torchtune", "torchtune config.parse", ("yaml",), **_OMEGACONF_YAML,
           value_language=("interpolation", "instantiate"),
           notes="torchtune: OmegaConf YAML, `_component_` nodes instantiated, key=value overrides"),
    # load_hyperpyyaml parses with ruamel.yaml (YAML 1.2), resolves `!ref`, dumps the result and
    # builds the values from that dump with PyYAML's Loader: `1e-5` is a float to ruamel, dumped
    # as `1.0e-05`, which PyYAML reads as a float too (checked with HyperPyYAML 1.2.3 on
    # speechbrain recipes, bench/realworld/verdicts.tsv).
    Loader("hyperpyyaml", "hyperpyyaml", "load_hyperpyyaml", ("yaml",), **_yaml11(
        duplicate_keys="raise", yaml_floats="1.2"),
           value_language=("ref-tags", "object-tags", "include", "tuples"),
           notes="HyperPyYAML: parsed and `!ref`-resolved with ruamel.yaml (YAML 1.2: `1e-4` is "
                 "a float), values then built by PyYAML's Loader from ruamel's dump; `!ref <key>`, "
                 "`!new:`, `!name:`, `!apply:`, `!include:`"),
    Loader("hf.parse_yaml_file", "hf", "HfArgumentParser.parse_yaml_file", ("yaml",), **_yaml11(),
           unknown_keys=RAISE, schema_from="dataclasses",
           notes="yaml.safe_load then `Dataclass(**values)`: no type conversion; a key no "
                 "dataclass declares raises unless allow_extra_keys=True"),
    Loader("hf.parse_json_file", "hf", "HfArgumentParser.parse_json_file", ("json",),
           duplicate_keys="last-wins", unknown_keys=RAISE, schema_from="dataclasses",
           notes="json then `Dataclass(**values)`; a key no dataclass declares raises unless "
                 "allow_extra_keys=True"),
    Loader("trl.TrlParser", "trl", "TrlParser --config", ("yaml",), **_yaml11(),
           unknown_keys=RAISE, converts_strings=True, schema_from="dataclasses",
           value_language=("env-table",),
           notes="yaml.safe_load, values set as argparse defaults (argparse converts string "
                 "defaults with each field's type); unknown keys raise (fail_with_unknown_args)"),
    Loader("jsonargparse", "jsonargparse", "jsonargparse / LightningCLI --config", ("yaml",),
           yaml_version="1.1", yaml_floats="1.2", yaml_bools="1.1", unknown_keys=RAISE,
           converts_strings=True, value_language=("class-path",), schema_from="signature",
           notes="jsonargparse: values checked and converted against signatures; "
                 "`class_path`/`init_args` select classes; unknown keys fail"),
    Loader("configargparse", "configargparse", "configargparse config file", ("yaml",),
           **_yaml11(), unknown_keys=RAISE, converts_strings=True, schema_from="argparse",
           notes="values become command-line strings converted by each argument's type; an "
                 "unknown key fails unless ignore_unknown_config_file_keys=True"),
    Loader("argparse.set_defaults", "argparse", "parser.set_defaults(**cfg)", (),
           duplicate_keys="n/a", unknown_keys=KEPT, converts_strings=True, schema_from="argparse",
           notes="argparse defaults: string defaults are converted by the argument's type; a "
                 "key with no argument still lands on the namespace (`parse_known_args` sets "
                 "every default), where code may read it as `args.key`"),
    Loader("argparse.namespace", "argparse", "vars(args).update(cfg)", (),
           duplicate_keys="n/a", unknown_keys=KEPT, schema_from="argparse",
           notes="values written onto the argparse namespace as they are (no conversion); a key "
                 "with no argument is an attribute like any other, read as `args.key`"),
    Loader("yacs", "yacs", "CfgNode.merge_from_file", ("yaml",), **_yaml11(),
           unknown_keys=RAISE, converts_strings=True, value_language=("base-include",),
           schema_from="cfgnode",
           notes="yacs: yaml.safe_load, strings literal_eval'd, types must match the defaults "
                 "tree; a key not in the tree raises (except under new_allowed nodes)"),
    Loader("mmengine.Config", "mmengine", "Config.fromfile", ("python",), **_yaml11(),
           value_language=("base-include", "base-reference", "delete-key"),
           notes="mmengine/mmcv: Python configs executed, `_base_` files merged first, "
                 "`{{_base_.x}}` references, `_delete_=True` replaces a dict"),
    Loader("detectron2.LazyConfig", "detectron2", "LazyConfig.load", ("python",), **_yaml11(),
           value_language=("instantiate",),
           notes="detectron2 LazyConfig: Python configs executed, LazyCall `_target_` nodes"),
    Loader("draccus", "draccus", "draccus.parse", ("yaml",), **_yaml11(), unknown_keys=RAISE,
           converts_strings=True, value_language=("include", "choice-type"),
           schema_from="dataclasses",
           notes="draccus: PyYAML then decoded into the dataclass (`float('1e-4')`); unknown "
                 "fields fail; `type:` selects a ChoiceRegistry subclass"),
    Loader("pyrallis", "pyrallis", "pyrallis.parse", ("yaml",), **_yaml11(), unknown_keys=RAISE,
           converts_strings=True, schema_from="dataclasses",
           notes="pyrallis: PyYAML then decoded into the dataclass; unknown fields fail"),
    Loader("dacite", "dacite", "dacite.from_dict", (), duplicate_keys="n/a", unknown_keys=IGNORED,
           schema_from="dataclasses",
           notes="dacite: types checked, not converted; extra keys dropped unless "
                 "Config(strict=True)"),
    Loader("dataclass", "dataclass", "Class(**cfg)", (), duplicate_keys="n/a", unknown_keys=RAISE,
           schema_from="dataclasses",
           notes="a dataclass built from the dict: an unknown key is a TypeError, no conversion"),
    Loader("pydantic", "pydantic", "Model.model_validate", (), duplicate_keys="n/a",
           unknown_keys=IGNORED,
           converts_strings=True, schema_from="model",
           notes="pydantic (lax mode converts numeric strings); extra keys follow the model's "
                 "`extra` setting: ignored by default, raise with extra='forbid'"),
    Loader("json", "json", "json.load", ("json",), duplicate_keys="last-wins",
           notes="the standard json module: a plain dict"),
    Loader("toml", "toml", "tomllib.load", ("toml",), duplicate_keys="raise",
           notes="tomllib / tomli / toml: a plain dict"),
    Loader("deepspeed", "deepspeed", "DeepSpeed config", ("json",), unknown_keys=UNKNOWN,
           value_language=("auto",),
           notes="DeepSpeed JSON: `\"auto\"` values are filled by the HF Trainer / Accelerate"),
    Loader("accelerate", "accelerate", "accelerate launch --config_file", ("yaml",), **_yaml11(),
           unknown_keys=RAISE,
           notes="Accelerate's config file: yaml.safe_load into its config dataclass"),
    Loader("python.exec", "python", "exec(open(path).read())", ("python",),
           notes="nanoGPT-style configurator: the file is run and its globals override "
                 "the script's"),
)}

UNKNOWN_LOADER = Loader("unknown", "unknown", "an unknown loader", (), unknown_keys=UNKNOWN,
                        duplicate_keys="n/a", notes="no code that reads this file was found")


def loader(name: str) -> Loader:
    """The table entry named `name` (KeyError for a name not in the table)."""
    return LOADERS[name]
