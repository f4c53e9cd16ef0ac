"""Who reads a config: the consumer model on small projects of our own (fixtures/consumers/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import FIXTURES, ROOT

from trainlint.consumers import LOADERS, UNKNOWN_LOADER, ProjectConsumers

PROJECTS = FIXTURES / "consumers"


def scan(name: str) -> tuple[ProjectConsumers, Path]:
    root = PROJECTS / name
    python = sorted(str(p) for p in root.rglob("*.py"))
    return ProjectConsumers.scan(str(root), python, cache=False), root


def consumer(name: str, config: str):
    project, root = scan(name)
    return project.for_config(str(root / config)), project, root


def site_labels(found, root: Path) -> list[str]:
    return [site.label(str(root)) for site in found.sites]


# -- one fixture per loader family -------------------------------------------------------------

def test_pyyaml_config_named_by_the_default_of_the_option_the_loader_reads():
    found, project, root = consumer("pyyaml", "configs/base.yaml")
    assert found.basis == "consumer"
    assert found.loader.name == "pyyaml.safe_load"
    assert found.loader.yaml_version == "1.1" and found.loader.yaml_floats == "1.1"
    assert site_labels(found, root) == ["train.py:11"]
    assert found.via == "default of `--config`"
    assert found.unknown_keys == "kept" and found.converts_strings is False
    assert project.describe(str(root / "configs/base.yaml")) == (
        "read by `train.py:11` via `yaml.safe_load` (default of `--config`)")


def test_a_sibling_of_a_linked_config_gets_the_same_loader_as_project_basis():
    found, _, root = consumer("pyyaml", "configs/long.yaml")
    assert found.basis == "project"
    assert found.loader.name == "pyyaml.safe_load"
    assert "beside it in `configs/`" in found.via


def test_tool_files_at_the_root_and_in_hidden_folders_stay_unknown():
    for config in ("environment.yml", ".github/workflows/ci.yml"):
        found, project, root = consumer("pyyaml", config)
        assert found.basis == "unknown", config
        assert found.loader is UNKNOWN_LOADER
        assert found.loader.yaml_version is None and found.unknown_keys == "unknown"
        assert project.describe(str(root / config)).startswith("no reader found")


def test_omegaconf_load_through_a_local_helper_with_a_structured_schema():
    found, _, root = consumer("omegaconf", "conf/train.yaml")
    assert found.basis == "consumer"
    assert found.loader.name == "omegaconf.load"
    # OmegaConf reads `1e-4` as a float but keeps YAML 1.1 booleans, and a repeated key raises
    assert found.loader.yaml_floats == "1.2" and found.loader.yaml_bools == "1.1"
    assert found.loader.duplicate_keys == "raise"
    assert "interpolation" in found.value_language
    assert site_labels(found, root) == ["project/train.py:15", "project/train.py:10"]
    assert found.schema is not None and found.schema.name == "TrainConfig"
    assert found.schema.closed and found.unknown_keys == "raise" and found.converts_strings


def test_hydra_primary_config_defaults_list_and_group_options():
    project, root = scan("hydra")
    primary = project.for_config(str(root / "app/conf/config.yaml"))
    assert primary.basis == "consumer" and primary.loader.name == "hydra"
    assert site_labels(primary, root) == ["app/train.py:20"]
    # the defaults list names `base_config`, a structured config in the ConfigStore
    assert primary.schema is not None and primary.schema.name == "Config"
    assert primary.unknown_keys == "raise"
    model = project.for_config(str(root / "app/conf/model/resnet.yaml"))
    assert model.basis == "consumer" and model.loader.name == "hydra"
    assert model.via == "defaults list of app/conf/config.yaml (`model: resnet`)"
    assert model.package == "model" and model.schema is None
    optim = project.for_config(str(root / "app/conf/optim/adam.yaml"))
    assert optim.package == "optimizer"  # `optim@optimizer: adam`
    logging = project.for_config(str(root / "app/conf/logging.yaml"))  # `- logging@log`
    assert logging.basis == "consumer" and logging.package == "log"
    other = project.for_config(str(root / "app/conf/model/vit.yaml"))
    assert other.basis == "framework" and other.loader.name == "hydra"
    assert other.via == "in the Hydra config dir of `config`, group `model`"


def test_hyperpyyaml_recipe_folder_beside_its_training_script():
    found, _, root = consumer("hyperpyyaml", "recipes/asr/hparams/train.yaml")
    assert found.basis == "project"
    assert found.loader.name == "hyperpyyaml"
    # parsed by ruamel.yaml (YAML 1.2: `1e-5` is a float) and rebuilt by PyYAML from ruamel's
    # dump (`1.0e-05`): a float either way; booleans are PyYAML's
    assert (found.loader.yaml_floats, found.loader.yaml_bools) == ("1.2", "1.1")
    assert {"ref-tags", "object-tags", "include"} <= set(found.value_language)
    assert site_labels(found, root) == ["recipes/asr/train.py:9"]
    assert "the scripts of `recipes/asr/`" in found.via


def test_a_framework_argument_parser_fed_sys_argv_links_the_first_argument():
    project, root = scan("hyperpyyaml")
    config = str(root / "recipes/asr/hparams/finetune.yaml")
    linked = project.link(config, str(root / "recipes/asr/train.py"), None,
                          site=(str(root / "recipes/asr/README.md"), 5))
    assert linked.basis == "consumer" and linked.loader.name == "hyperpyyaml"
    assert site_labels(linked, root) == ["recipes/asr/README.md:5", "recipes/asr/train.py:9"]
    assert project.config_flags(str(root / "recipes/asr/train.py"))["argv[1]"].name == "hyperpyyaml"


def test_hf_argument_parser_json_from_argv_with_dataclass_schema():
    found, project, root = consumer("hf", "configs/run.json")
    assert found.loader.name == "hf.parse_json_file"
    assert found.basis == "project"
    assert site_labels(found, root) == ["run.py:12"]
    schema = found.schema
    assert schema.name == "ModelArguments + DataArguments + MyTrainingArguments"
    assert schema.closed and found.unknown_keys == "raise" and not found.converts_strings
    assert schema.field("max_seq_length").type.kind == "int"
    assert schema.field("lr_decay_steps").default == 0
    # TrainingArguments is outside the project: its keys come from the framework table
    assert "transformers.TrainingArguments" in schema.external
    assert schema.knows("learning_rate") is True
    assert schema.knows("lr_decay_steps") is True
    assert schema.knows("learning_rte") is False
    assert project.config_flags(str(root / "run.py"))["argv[1]"].name == "hf.parse_json_file"


def test_hf_allow_extra_keys_makes_unknown_keys_ignored_and_deepspeed_key_links_json():
    found, project, root = consumer("hf", "configs/recipe.yaml")
    assert found.basis == "consumer" and found.loader.name == "hf.parse_yaml_file"
    assert found.unknown_keys == "ignored" and not found.schema.closed
    ds = project.for_config(str(root / "ds/zero2.json"))
    assert ds.basis == "consumer" and ds.loader.name == "deepspeed"
    assert ds.via == "`deepspeed:` of configs/recipe.yaml"
    assert "auto" in ds.value_language


def test_deepspeed_json_linked_by_a_launcher_flag():
    project, root = scan("hf")
    config = str(root / "ds/zero3.json")
    assert project.for_config(config).basis == "project"  # beside ds/zero2.json
    linked = project.link(config, str(root / "run.py"), "--deepspeed",
                          site=(str(root / "scripts/launch.sh"), 2))
    assert linked.basis == "consumer" and linked.loader.name == "deepspeed"
    assert site_labels(linked, root) == ["scripts/launch.sh:2"]
    assert project.for_config(config) is linked or project.for_config(config).basis == "consumer"


def test_argparse_set_defaults_keeps_unknown_keys_and_converts_strings():
    found, _, root = consumer("argparse_defaults", "configs/exp.yaml")
    assert found.loader.name == "pyyaml.safe_load"
    # a key with no argument still lands on the namespace (`args.key`): kept, not dropped
    assert found.unknown_keys == "kept"
    assert found.converts_strings  # argparse runs `type=float` on a string default
    schema = found.schema
    assert schema.kind == "argparse" and not schema.closed
    assert schema.field("lr").type.kind == "float"
    assert schema.field("batch_size").default == 32
    assert schema.field("optimizer").choices == ("sgd", "adam")
    assert schema.field("amp").type.kind == "bool"
    assert schema.knows("lr_decay_steps") is False


def test_namespace_update_keeps_unknown_keys_without_conversion():
    found, _, root = consumer("argparse_defaults", "exps/configs/sweep.yaml")
    assert found.basis == "project"
    assert found.unknown_keys == "kept" and not found.converts_strings
    assert found.sites[0].call == "yaml.safe_load -> vars(args).update(cfg)"


def test_yacs_merge_from_file_with_the_defaults_tree_as_closed_schema():
    project, root = scan("yacs")
    config = str(root / "configs/faster_rcnn.yaml")
    # tools/ and configs/ are side by side: nothing but a launcher says which script reads it
    assert project.for_config(config).basis == "unknown"
    found = project.link(config, str(root / "tools/train_net.py"), "--config-file",
                         site=(str(root / "README.md"), 3))
    assert found.loader.name == "yacs" and found.unknown_keys == "raise"
    assert found.converts_strings  # yacs literal_evals strings
    schema = found.schema
    assert schema.kind == "yacs" and schema.closed
    assert schema.field("SOLVER.BASE_LR").type.kind == "float"
    assert schema.field("SOLVER.STEPS").default == (30000,)
    assert schema.knows("SOLVER.MAX_ITER") is True
    assert schema.knows("SOLVER.BASE_LRR") is False
    assert schema.knows("SOLVER.AMP.ENABLED") is None  # a new_allowed node
    assert site_labels(found, root) == ["README.md:3", "tools/train_net.py:8"]


def test_yacs_base_include_of_a_launcher_linked_config():
    project, root = scan("yacs")
    linked = project.link(str(root / "configs/faster_rcnn.yaml"), str(root / "tools/train_net.py"),
                          "--config-file", site=(str(root / "tools/train_net.py"), 17))
    assert linked.basis == "consumer" and linked.loader.name == "yacs"
    base = project.for_config(str(root / "configs/Base-RCNN.yaml"))
    assert base.basis == "consumer" and base.via == "`_BASE_` of configs/faster_rcnn.yaml"
    assert base.schema is not None and base.schema.kind == "yacs"


def test_mmengine_python_configs_and_base_includes():
    project, root = scan("mmengine")
    config = str(root / "configs/resnet/resnet50_8xb32.py")
    assert project.for_config(config).basis == "unknown"  # no launcher names it yet
    found = project.link(config, str(root / "tools/train.py"), None, site=(str(root / "README.md"), 1))
    assert found.loader.name == "mmengine.Config" and found.basis == "consumer"
    assert "base-include" in found.value_language
    assert site_labels(found, root) == ["README.md:1", "tools/train.py:10"]
    base = project.for_config(str(root / "configs/_base_/schedules/sgd.py"))
    assert base.basis == "consumer" and base.loader.name == "mmengine.Config"
    assert base.via == "`_base_` of configs/resnet/resnet50_8xb32.py"
    assert project.for_config(str(root / "tools/train.py")).basis == "unknown"  # code, not config


def test_draccus_wrap_reads_config_path_into_a_strict_dataclass():
    found, project, root = consumer("draccus", "configs/finetune.yaml")
    assert found.loader.name == "draccus"
    assert found.unknown_keys == "raise" and found.converts_strings
    assert found.schema.name == "TrainPipelineConfig"
    assert found.schema.field("optimizer.lr").type.kind == "float"
    assert project.config_flags(str(root / "train.py"))["--config_path"].name == "draccus"


def test_lightning_cli_reads_config_files_with_jsonargparse():
    found, project, root = consumer("lightning", "configs/fit.yaml")
    assert found.basis == "project" and found.loader.name == "jsonargparse"
    assert found.loader.yaml_floats == "1.2" and found.converts_strings
    assert found.unknown_keys == "raise" and "class-path" in found.value_language
    assert site_labels(found, root) == ["main.py:7"]
    assert project.config_flags(str(root / "main.py"))["--config"].name == "jsonargparse"


def test_configargparse_default_config_files_and_the_config_option():
    project, root = scan("configargparse")
    defaults = project.for_config(str(root / "conf/defaults.yaml"))
    assert defaults.basis == "consumer" and defaults.loader.name == "configargparse"
    assert defaults.unknown_keys == "raise" and defaults.converts_strings
    assert site_labels(defaults, root) == ["train.py:3"]
    assert project.config_flags(str(root / "train.py"))["--my-config"].name == "configargparse"
    assert project.for_config(str(root / "conf/long.yaml")).basis == "project"


def test_pydantic_model_validate_with_extra_forbid():
    found, _, root = consumer("pydantic", "settings/default.yaml")
    assert found.basis == "consumer" and found.loader.name == "pyyaml.safe_load"
    assert found.schema.name == "Settings" and found.schema.kind == "pydantic"
    assert found.unknown_keys == "raise" and found.converts_strings
    assert found.schema.field("optim.lr").constraints == {"gt": 0}


def test_project_helper_followed_one_level_with_the_dataclass_the_caller_builds():
    found, _, root = consumer("helper", "configs/run.yaml")
    assert found.basis == "consumer" and found.loader.name == "pyyaml.safe_load"
    assert site_labels(found, root) == ["src/pkg/train.py:13", "src/pkg/utils.py:6"]
    assert found.sites[0].call == "load_config -> yaml.safe_load -> RunConfig(**cfg)"
    assert found.schema.name == "RunConfig" and found.unknown_keys == "raise"
    assert not found.converts_strings  # a dataclass keeps '1e-4' a string


def test_a_glob_of_a_folder_links_every_file_in_it():
    project, root = scan("glob")
    for name in ("RN50.json", "ViT-B-16.json"):
        found = project.for_config(str(root / "pkg/model_configs" / name))
        assert found.basis == "consumer" and found.loader.name == "json"
        assert site_labels(found, root) == ["pkg/factory.py:11"]


def test_two_loader_kinds_for_one_file_type_leave_the_config_unknown():
    found, project, root = consumer("two_loaders", "configs/exp.yaml")
    assert found.basis == "unknown"
    assert "OmegaConf.load, yaml.safe_load" in found.via


def test_no_loader_leaves_the_config_unknown():
    found, project, root = consumer("no_loader", "configs/exp.yaml")
    assert found.basis == "unknown" and found.sites == ()
    assert project.describe(str(root / "configs/exp.yaml")) == "no reader found (no code names it)"


def test_a_launcher_flag_the_script_does_not_read_links_nothing():
    project, root = scan("no_loader")
    assert project.link(str(root / "configs/exp.yaml"), str(root / "train.py"), "--config") is None
    assert project.for_config(str(root / "configs/exp.yaml")).basis == "unknown"


def test_launcher_link_to_a_framework_cli():
    project, root = scan("no_loader")
    linked = project.link(str(root / "configs/exp.yaml"), None, "--config_file", loader="accelerate",
                          site=(str(root / "train.py"), 1))
    assert linked.basis == "consumer" and linked.loader.name == "accelerate"
    assert linked.unknown_keys == "raise"


def test_not_a_config_path():
    project, root = scan("pyyaml")
    assert project.for_config(str(root / "README.md")) is None


# -- the table, the cache, the cost ------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LOADERS))
def test_every_loader_states_its_policies(name):
    spec = LOADERS[name]
    assert spec.unknown_keys in ("raise", "ignored", "kept", "unknown")
    assert spec.yaml_version in (None, "1.1", "1.2")
    if "yaml" in spec.formats:
        assert spec.yaml_version is not None and spec.yaml_floats and spec.yaml_bools
    assert spec.notes


def test_scan_is_cached_per_root_and_reads_only_files_with_loader_needles(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.yaml").write_text("lr: 0.1\n")
    (tmp_path / "model.py").write_text("import torch\n\nclass Net(torch.nn.Module):\n    pass\n")
    (tmp_path / "train.py").write_text("import yaml\ncfg = yaml.safe_load(open('configs/a.yaml'))\n")
    python = [str(tmp_path / "model.py"), str(tmp_path / "train.py")]
    first = ProjectConsumers.scan(str(tmp_path), python)
    try:
        assert ProjectConsumers.scan(str(tmp_path), python) is first
        assert first.read == 2 and first.parsed == 1  # model.py holds no needle
        assert first.for_config(str(tmp_path / "configs/a.yaml")).basis == "consumer"
    finally:
        ProjectConsumers.clear_cache()


def test_read_text_is_injected_and_unreadable_files_are_skipped(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.yaml").write_text("lr: 0.1\n")
    (tmp_path / "train.py").write_text("import yaml\ncfg = yaml.safe_load(open('configs/a.yaml'))\n")
    (tmp_path / "broken.py").write_text("import yaml\ndef (:\n")
    seen = []

    def read_text(path):
        seen.append(os.path.basename(path))
        return None if path.endswith("a.yaml") else Path(path).read_text()

    project = ProjectConsumers.scan(str(tmp_path), [str(tmp_path / "train.py"), str(tmp_path / "broken.py")],
                                    read_text, cache=False)
    assert {"train.py", "broken.py"} <= set(seen)
    assert project.for_config(str(tmp_path / "configs/a.yaml")).basis == "consumer"


def test_scanning_never_imports_the_project_or_pydantic():
    """Static: the fixture's code is never run (its imports would fail), and Pydantic is
    loaded only when a value is validated."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from trainlint.consumers import ProjectConsumers\n"
        f"root = Path({str(PROJECTS / 'omegaconf')!r})\n"
        "project = ProjectConsumers.scan(str(root), [str(p) for p in root.rglob('*.py')])\n"
        "found = project.for_config(str(root / 'conf/train.yaml'))\n"
        "assert found.schema.field('optim.lr').type.kind == 'float'\n"
        "assert 'pydantic' not in sys.modules and 'omegaconf' not in sys.modules\n"
        "assert not any(name.startswith('project') for name in sys.modules)\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "ok", result.stderr


def write_project(root: Path, files: dict[str, str]) -> ProjectConsumers:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ProjectConsumers.scan(str(root), [str(p) for p in root.rglob("*.py")], cache=False)


def test_a_launcher_flag_is_followed_only_into_modules_the_script_imports(tmp_path):
    project = write_project(tmp_path, {
        "configs/exp.yaml": "lr: 0.1\n",
        "train.py": ("import argparse\nfrom pkg.trainer import Trainer\n"
                     "parser = argparse.ArgumentParser()\nparser.add_argument('--config')\n"
                     "Trainer(parser.parse_args()).fit()\n"),
        "pkg/__init__.py": "from .trainer import Trainer\n",
        "pkg/trainer.py": ("import yaml\n\nclass Trainer:\n    def __init__(self, args):\n"
                           "        self.args = args\n\n    def fit(self):\n"
                           "        return yaml.safe_load(open(self.args.config))\n"),
        "tools/export.py": ("import argparse\nfrom omegaconf import OmegaConf\n"
                            "args = argparse.ArgumentParser().parse_args()\nOmegaConf.load(args.config)\n"),
        "launch_remote.py": "import subprocess\nsubprocess.run(['sbatch'])\n",
    })
    config = str(tmp_path / "configs/exp.yaml")
    linked = project.link(config, str(tmp_path / "train.py"), "--config", site=(str(tmp_path / "run.sh"), 1))
    assert linked.loader.name == "pyyaml.safe_load"  # not tools/export.py's OmegaConf.load
    assert site_labels(linked, tmp_path) == ["run.sh:1", "pkg/trainer.py:8"]
    other = str(tmp_path / "configs/other.yaml")
    Path(other).write_text("lr: 0.2\n")
    project = ProjectConsumers.scan(str(tmp_path), [str(p) for p in tmp_path.rglob("*.py")], cache=False)
    assert project.link(other, str(tmp_path / "launch_remote.py"), "--config") is None


def test_paths_a_list_gathers_from_globs(tmp_path):
    project = write_project(tmp_path, {
        "pkg/model_configs/a.json": "{}",
        "pkg/model_configs/b.json": "{}",
        "pkg/factory.py": ("import json\nfrom pathlib import Path\n\n"
                           "PATHS = [Path(__file__).parent / 'model_configs/']\n\n"
                           "def rescan():\n    files = []\n    for base in PATHS:\n"
                           "        for ext in ('.json',):\n            files.extend(base.glob(f'*{ext}'))\n"
                           "    for cf in files:\n        with open(cf) as f:\n            json.load(f)\n"),
    })
    found = project.for_config(str(tmp_path / "pkg/model_configs/b.json"))
    assert found.basis == "consumer" and found.via == "path pattern `<here>/model_configs/*.json`"


def test_a_path_made_by_code_that_is_not_followed_is_not_a_run_time_config(tmp_path):
    project = write_project(tmp_path, {
        "configs/model.json": "{}",
        "hub.py": ("import json\nfrom huggingface_hub import hf_hub_download\n\n"
                   "def fetch(repo):\n    config_path = hf_hub_download(repo, 'config.json')\n"
                   "    return json.load(open(config_path))\n"),
    })
    assert project.sites[0].path is None
    assert project.for_config(str(tmp_path / "configs/model.json")).basis == "unknown"


def test_a_python_config_run_by_a_configurator_the_script_execs(tmp_path):
    project = write_project(tmp_path, {
        "config/train_small.py": "batch_size = 12\nlearning_rate = 6e-4\n",
        "configurator.py": ("import sys\nfor arg in sys.argv[1:]:\n    if '=' not in arg:\n"
                            "        config_file = arg\n        exec(open(config_file).read())\n"),
        "train.py": "batch_size = 64\nexec(open('configurator.py').read())\n",
    })
    config = str(tmp_path / "config/train_small.py")
    before = project.for_config(config)  # the root's scripts exec a run-time path; config/ holds it
    assert before.basis == "project" and before.loader.name == "python.exec"
    linked = project.link(config, str(tmp_path / "train.py"), None, site=(str(tmp_path / "README.md"), 9))
    assert linked.loader.name == "python.exec" and linked.loader.unknown_keys == "kept"
    assert site_labels(linked, tmp_path) == ["README.md:9", "configurator.py:5"]


def test_every_loader_of_the_table_is_documented():
    text = (ROOT / "docs" / "consumers.md").read_text(encoding="utf-8")
    missing = [name for name in LOADERS if f"| `{name}` (" not in text]
    assert not missing


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the scan reads on several cores by fork")
def test_the_scan_reads_on_several_cores_with_the_same_result(monkeypatch):
    """A large project's files are read by forked children (the scan runs before the check
    forks); what they find is what one process finds: sites, helpers followed, consumers."""
    import trainlint.parallel as parallel

    serial, root = scan("helper")
    forked = []
    real_map = parallel.map_forked

    def counting_map(*args, **kwargs):
        forked.append(len(args[1]))
        return real_map(*args, **kwargs)

    monkeypatch.setattr(parallel, "SCAN_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "map_forked", counting_map)
    parallel_scan, _ = scan("helper")
    assert len(forked) == 2  # the files with loader calls, then the callers of helpers
    assert parallel_scan.sites == serial.sites and parallel_scan.helpers == serial.helpers
    assert sorted(parallel_scan.facts) == sorted(serial.facts)
    config = str(root / "configs/run.yaml")
    assert site_labels(parallel_scan.for_config(config), root) == [
        "src/pkg/train.py:13", "src/pkg/utils.py:6"]
