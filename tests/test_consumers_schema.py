"""Schemas read from a project's own code: dataclasses, pydantic, attrs, argparse, yacs."""

from __future__ import annotations

from pathlib import Path

from helpers import FIXTURES

from trainlint.api import UNRESOLVED
from trainlint.consumers import ProjectConsumers


def schema_of(tmp_path: Path, files: dict[str, str], config: str = "configs/run.yaml"):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    config_path = tmp_path / config
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        config_path.write_text("lr: 0.1\n")
    python = [str(p) for p in tmp_path.rglob("*.py")]
    project = ProjectConsumers.scan(str(tmp_path), python, cache=False)
    return project.for_config(str(config_path))


def test_dataclass_fields_types_defaults_and_nesting():
    root = FIXTURES / "consumers" / "omegaconf"
    project = ProjectConsumers.scan(str(root), [str(p) for p in root.rglob("*.py")], cache=False)
    schema = project.for_config(str(root / "conf/train.yaml")).schema
    epochs = schema.field("epochs")
    assert (epochs.type.kind, epochs.default, epochs.has_default) == ("int", 10, True)
    assert epochs.line == 25 and epochs.path.endswith("project/config.py")
    assert schema.field("seed").default == 0  # from the base class BaseConfig
    warmup = schema.field("warmup_steps")
    assert warmup.type.optional and warmup.type.text == "Optional[int]" and warmup.default is None
    assert schema.field("precision").choices == ("fp32", "bf16")  # an Enum of the project
    optim = schema.field("optim")
    assert optim.default_factory == "OptimConfig" and optim.nested.name == "OptimConfig"
    assert schema.field("optim.lr").default == 1e-3
    assert schema.field("optim.name").choices == ("adamw", "sgd")
    assert schema.field("optim.betas").type.kind == "list"
    assert schema.field("tags").default_factory == "list"
    assert schema.knows("optim.momentum") is False and schema.knows("epochs") is True
    assert schema.complete and schema.closed


def test_plain_python_checks_follow_the_consumers_conversion():
    root = FIXTURES / "consumers" / "omegaconf"
    project = ProjectConsumers.scan(str(root), [str(p) for p in root.rglob("*.py")], cache=False)
    schema = project.for_config(str(root / "conf/train.yaml")).schema
    assert schema.check("epochs", 20) is None
    assert schema.check("epochs", "twenty") == "expected int, got str 'twenty'"
    assert schema.check("optim.lr", "1e-4") == "expected float, got str '1e-4'"
    assert schema.check("optim.lr", "1e-4", converts_strings=True) is None
    assert schema.check("optim.name", "lamb") == "must be one of 'adamw', 'sgd'"
    assert schema.check("unknown.key", 1) is None


def test_pydantic_validation_is_lazy_and_uses_the_project_types():
    root = FIXTURES / "consumers" / "pydantic"
    project = ProjectConsumers.scan(str(root), [str(p) for p in root.rglob("*.py")], cache=False)
    schema = project.for_config(str(root / "settings/default.yaml")).schema
    assert schema._model is None
    assert schema.validate({"epochs": 5, "optim": {"lr": 1e-4}}) == []
    errors = schema.validate({"epochs": 0, "optim": {"lr": -1}, "epochz": 3})
    assert ("epochs", "Input should be greater than or equal to 1") in errors
    assert ("optim.lr", "Input should be greater than 0") in errors
    assert ("epochz", "Extra inputs are not permitted") in errors
    # a consumer that does not convert strings validates strictly
    assert schema.validate({"epochs": "5"}, strict=True) == [("epochs", "Input should be a valid integer")]
    assert schema.validate({"epochs": "5"}) == []


def test_pydantic_extra_setting_decides_the_policy(tmp_path):
    found = schema_of(tmp_path, {
        "model.py": "from pydantic import BaseModel\n\nclass Run(BaseModel):\n    lr: float = 0.1\n",
        "train.py": "import json\nfrom model import Run\nrun = Run(**json.load(open('configs/run.json')))\n",
    }, "configs/run.json")
    assert found.schema.kind == "pydantic" and not found.schema.closed
    assert found.unknown_keys == "ignored"  # pydantic's default extra="ignore"


def test_attrs_classes_string_annotations_and_union_syntax(tmp_path):
    found = schema_of(tmp_path, {
        "cfg.py": (
            "from __future__ import annotations\n"
            "import attr\n"
            "from typing import Union\n\n"
            "@attr.s(auto_attribs=True)\n"
            "class Cfg:\n"
            "    lr: 'float' = 0.1\n"
            "    steps: int | None = None\n"
            "    mode: Union[str, int] = 'a'\n"
            "    seed = attr.ib(default=3, type=int)\n"),
        "train.py": "import yaml\nfrom cfg import Cfg\ncfg = Cfg(**yaml.safe_load(open('configs/run.yaml')))\n",
    })
    schema = found.schema
    assert schema.kind == "attrs"
    assert schema.field("lr").type.kind == "float"
    assert schema.field("steps").type.optional
    assert [a.kind for a in schema.field("mode").type.args] == ["str", "int"]
    assert schema.field("seed").default == 3 and schema.field("seed").type.kind == "int"


def test_a_non_literal_default_is_unresolved_not_guessed(tmp_path):
    found = schema_of(tmp_path, {
        "train.py": (
            "import os\nimport yaml\nfrom dataclasses import dataclass\n\n"
            "@dataclass\nclass Cfg:\n    out: str = os.environ.get('OUT', 'x')\n    lr: float = -1e-3\n\n"
            "cfg = Cfg(**yaml.safe_load(open('configs/run.yaml')))\n"),
    })
    assert found.schema.field("out").default is UNRESOLVED
    assert found.schema.field("out").has_default
    assert found.schema.field("lr").default == -1e-3


def test_a_class_from_outside_the_project_is_an_incomplete_schema(tmp_path):
    found = schema_of(tmp_path, {
        "train.py": ("import yaml\nfrom somelib import Config\n"
                     "cfg = Config(**yaml.safe_load(open('configs/run.yaml')))\n"),
    })
    schema = found.schema
    assert schema.kind == "external" and not schema.complete
    assert schema.knows("anything") is None  # cannot tell: never a guess


def test_dacite_without_strict_drops_unknown_keys(tmp_path):
    found = schema_of(tmp_path, {
        "train.py": (
            "import dacite\nimport yaml\nfrom dataclasses import dataclass\n\n"
            "@dataclass\nclass Cfg:\n    lr: float = 0.1\n\n"
            "data = yaml.safe_load(open('configs/run.yaml'))\n"
            "cfg = dacite.from_dict(data_class=Cfg, data=data)\n"),
    })
    assert found.schema.name == "Cfg" and not found.schema.closed
    assert found.unknown_keys == "ignored" and not found.converts_strings


def test_yacs_tree_extended_before_the_merge_is_incomplete(tmp_path):
    defaults = ("from yacs.config import CfgNode as CN\n_C = CN()\n_C.SOLVER = CN()\n"
                "_C.SOLVER.BASE_LR = 0.1\n_C.SOLVER.MAX_ITER = 10\n_C.SEED = 1\n")
    found = schema_of(tmp_path, {
        "lib/defaults.py": defaults,
        "train.py": ("from lib.defaults import _C\n\ndef add_extra_config(cfg):\n    cfg.EXTRA = 1\n\n"
                     "def setup(args):\n    cfg = _C.clone()\n    add_extra_config(cfg)\n"
                     "    cfg.merge_from_file('configs/run.yaml')\n"),
    })
    assert found.schema.kind == "yacs" and not found.schema.complete
    assert found.schema.knows("EXTRA") is None and found.schema.knows("SOLVER.BASE_LR") is True
