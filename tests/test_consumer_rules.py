"""Rules that ask who reads a config (issue 13): each false-positive class of the development
corpus as a minimal project of our own, run through the real engine and CLI.

fixtures/consumer_rules/<project>/ holds a script that reads its config the way the class
does (a dataclass, argparse `set_defaults`, OmegaConf, HyperPyYAML, nothing at all).
"""

from __future__ import annotations

import shutil

from helpers import FIXTURES, check, run_cli, run_json

PROJECTS = FIXTURES / "consumer_rules"


def _findings(project: str, *codes: str, preview: bool = True):
    report = check(PROJECTS / project, select=list(codes), preview=preview)
    return [(d.path.rsplit("/", 1)[-1], d.code, d.span.line, d.span.col, d.severity.value, d.basis)
            for d in report.diagnostics]


def _copy(tmp_path, project: str):
    target = tmp_path / project
    shutil.copytree(PROJECTS / project, target)
    return target


# -- TL003: keys judged against the schema of the code that reads the file ------------------------

def test_tl003_dataclass_reader_fails_at_start_and_suggests_its_field():
    report = check(PROJECTS / "dataclass_yaml", select=["TL003"])
    [finding] = report.diagnostics
    assert (finding.path.rsplit("/", 1)[-1], finding.span.line, finding.span.col) == ("train.yaml", 2, 1)
    assert finding.severity.value == "error" and finding.basis == "consumer"
    assert "did you mean `warmup_steps`?" in finding.message
    assert "the run fails at start: `TrainConfig` read at `train.py:17`" in finding.message


def test_tl003_unsafe_rename_toward_the_schema_field(tmp_path):
    project = _copy(tmp_path, "dataclass_yaml")
    check(project, select=["TL003"], fix=True)
    assert "warmup_step: 500" in (project / "configs/train.yaml").read_text()  # unsafe: not by --fix
    check(project, select=["TL003"], fix=True, unsafe_fixes=True)
    assert (project / "configs/train.yaml").read_text() == (
        "learning_rate: 3e-4\nwarmup_steps: 500\nmax_steps: 10000\nbatch_size: 32\n")


def test_tl003_set_defaults_keys_land_on_the_namespace_and_are_not_judged():
    """`parser.set_defaults(**cfg)` puts a key no option declares on the namespace all the
    same (`args.num_epoch`): code may read it, so it is not an unknown key."""
    assert _findings("set_defaults", "TL003") == []


def test_tl003_pydantic_default_extra_drops_the_key_silently():
    [finding] = check(PROJECTS / "pydantic_ignore", select=["TL003"]).diagnostics
    assert (finding.span.line, finding.span.col, finding.severity.value) == (2, 1, "warning")
    assert finding.message == ("unknown key `num_epoch`; did you mean `num_epochs`? (silently "
                               "ignored: `Settings` read at `train.py:14` has no field `num_epoch`)")


def test_tl003_hyperpyyaml_recipe_names_and_constructor_arguments_are_not_judged():
    assert _findings("hyperpyyaml", "TL002", "TL003", "TL004", "TL007") == []


def test_tl003_quiet_where_no_code_reads_the_config():
    """A generic config nobody is found reading: `warmup_step` is not judged at all."""
    assert _findings("unknown_reader", "TL003") == []


def test_tl003_guessed_framework_is_info_without_a_rename():
    report = check(FIXTURES / "TL003/bad_typo.json", select=["TL003"])
    [finding] = report.diagnostics
    assert (finding.span.line, finding.span.col) == (3, 3)
    assert finding.severity.value == "info" and finding.basis == "guessed" and finding.fix is None


# -- TL004 / TL007: the loader decides how a scalar is read ----------------------------------------

def test_tl004_pyyaml_into_a_dataclass_is_a_warning_with_the_site():
    report = check(PROJECTS / "dataclass_yaml", select=["TL004"])
    [finding] = report.diagnostics
    assert (finding.span.line, finding.span.col, finding.severity.value, finding.basis) == (
        1, 16, "error", "consumer")
    assert "`yaml.safe_load` at `train.py:17`" in finding.message


def test_tl004_fix_keeps_the_number(tmp_path):
    project = _copy(tmp_path, "dataclass_yaml")
    check(project, select=["TL004"], fix=True)
    assert (project / "configs/train.yaml").read_text().startswith("learning_rate: 3.0e-4\n")


def test_tl004_quiet_where_the_loader_reads_a_float_or_the_code_converts():
    assert _findings("omegaconf", "TL004") == []  # OmegaConf's resolver: 1e-4 is a float
    assert _findings("set_defaults", "TL004") == []  # argparse converts the default (type=float)


def test_tl004_unknown_reader_is_info():
    assert _findings("unknown_reader", "TL004") == [
        ("train.yaml", "TL004", 1, 5, "info", "guessed")]


def test_tl007_single_letters_are_strings_to_known_loaders(tmp_path):
    project = _copy(tmp_path, "dataclass_yaml")
    (project / "configs/train.yaml").write_text(
        "learning_rate: 3.0e-4\nwarmup_steps: 500\nmax_steps: 10000\nbatch_size: 32\n")
    (project / "configs/symbols.yaml").write_text("symbols:\n  - Y\n  - N\n  - A\n")
    (project / "train.py").write_text((project / "train.py").read_text().replace(
        'print(config)', 'print(config, yaml.safe_load(open("configs/symbols.yaml")))'))
    assert [d for d in check(project, select=["TL007"]).diagnostics] == []


# -- TL002: the reader's value language -------------------------------------------------------------

def test_tl002_sentinels_interpolations_and_null_in_a_dict_are_not_type_errors():
    assert _findings("omegaconf", "TL002") == []


def test_tl002_still_reports_a_wrong_value_nobody_defines(tmp_path):
    project = _copy(tmp_path, "unknown_reader")
    (project / "configs/train.yaml").write_text("lr: fast\nmax_steps: 1000\nbatch_size: 32\n")
    assert [(d.code, d.span.line, d.span.col) for d in check(project, select=["TL002"]).diagnostics] \
        == [("TL002", 1, 5)]


# -- the JSON output says how each finding knows -----------------------------------------------------

def test_json_output_carries_the_basis():
    code, findings, _ = run_json("check", "--select", "TL003,TL004", ".",
                                 cwd=PROJECTS / "dataclass_yaml")
    assert code == 1
    assert sorted((f["code"], f["basis"]) for f in findings) == [
        ("TL003", "consumer"), ("TL004", "consumer")]


# -- TL006: a key's meaning guessed from its name is not a conflict ----------------------------------

def test_tl006_mmcv_warmup_ratio_is_a_start_factor_not_a_conflict():
    assert _findings("mmcv_warmup", "TL006") == [
        ("schedule.py", "TL006", 3, 82, "info", "guessed")]


# -- show names the reader ---------------------------------------------------------------------------

def test_show_names_the_reader_and_schema():
    code, out, _ = run_cli("show", "configs/train.yaml", cwd=PROJECTS / "dataclass_yaml")
    assert code == 0
    assert ("read by `train.py:17` via `yaml.safe_load` (path `configs/train.yaml`); schema "
            "`TrainConfig` (`train.py:8`)") in out


def test_show_json_reader():
    code, payload, _ = run_json("show", "hparams/train.yaml", cwd=PROJECTS / "hyperpyyaml")
    reader = payload["reader"]
    assert (reader["basis"], reader["loader"], reader["call"]) == (
        "project", "hyperpyyaml", "load_hyperpyyaml")
    assert reader["sites"][0]["file"] == "train.py"
    assert "ref-tags" in reader["value_language"]


def test_show_says_when_no_reader_is_found():
    code, out, _ = run_cli("show", "configs/train.yaml", cwd=PROJECTS / "unknown_reader")
    assert "no reader found (no code names it)" in out


# -- launch commands link a config to the script that reads it ---------------------------------------

def test_a_launcher_links_the_config_to_its_script():
    [finding] = check(PROJECTS / "launch_link", select=["TL003"]).diagnostics
    assert (finding.path.rsplit("/", 1)[-1], finding.span.line, finding.span.col) == ("sft.yaml", 2, 1)
    assert "`Recipe` read at `scripts/train.py:20`" in finding.message
    code, out, _ = run_cli("show", "recipes/sft.yaml", cwd=PROJECTS / "launch_link")
    assert "read by `run.sh:2`, `scripts/train.py:20` via `yaml.safe_load` (--config of run.sh:2)" in out


def test_tl003_tl004_quiet_where_the_parser_fills_classes_outside_the_project():
    """TrlParser: TRL's own config classes (their fields are not read) and a parser that
    converts `2e-5` with the field's type."""
    assert _findings("trl_external", "TL003", "TL004") == []
    code, out, _ = run_cli("show", "recipes/sft.yaml", cwd=PROJECTS / "trl_external")
    assert "via `TrlParser --config` (--config of run.sh:2)" in out


def test_tl002_a_word_under_a_guessed_flag_names_something_else():
    """mmcv's `save_best="mIoU"` is a metric name, not a broken boolean."""
    assert _findings("mmcv_warmup", "TL002") == []


# -- TL008: a field of the project's own class is not a TrainingArguments argument -----------------

def test_tl008_own_dataclass_field_is_not_a_removed_trainingarguments_argument(tmp_path):
    assert _findings("own_dataclass_hf", "TL008") == []
    lone = tmp_path / "sft.yaml"  # the same file with no reader: it looks like TrainingArguments
    lone.write_text((PROJECTS / "own_dataclass_hf/configs/sft.yaml").read_text())
    assert [(d.code, d.span.line) for d in check(lone, select=["TL008"]).diagnostics] == [("TL008", 6)]


def test_tl008_a_field_the_projects_own_class_declares_is_info_where_no_reader_is_found():
    """A config the project's own command takes (`mytool sft examples/sft.yaml`): nothing
    names its reader, but `TrainArgumentsMixin` declares `warmup_ratio` as its own field."""
    findings = _findings("own_cli_mixin", "TL008")
    assert findings == [("sft.yaml", "TL008", 6, 1, "info", "guessed"),
                        ("sft.yaml", "TL008", 7, 1, "error", "guessed")]
    report = check(PROJECTS / "own_cli_mixin", select=["TL008"])
    ratio = report.diagnostics[0].message
    assert ("no code of this project was found reading this file, and `TrainArgumentsMixin` "
            "(fixtures/consumer_rules/own_cli_mixin/mytool/arguments.py:8) declares "
            "`warmup_ratio` as its own field") in ratio


def test_tl008_a_reader_found_decides_not_a_class_that_declares_the_field(tmp_path):
    """Code that pours the file into TrainingArguments itself: the mixin's field does not
    make the finding an info."""
    project = _copy(tmp_path, "own_cli_mixin")
    (project / "train.py").write_text(
        "import yaml\nfrom transformers import TrainingArguments\n\n"
        "with open('examples/sft.yaml') as handle:\n"
        "    args = TrainingArguments(**yaml.safe_load(handle))\n")
    report = check(project, select=["TL008"])
    assert [(d.span.line, d.severity.value, d.basis) for d in report.diagnostics] == [
        (6, "error", "consumer"), (7, "error", "consumer")]
    assert "declares" not in report.diagnostics[0].message


# -- TL001: JSON with comments is an error only for a plain JSON reader ---------------------------

def test_tl001_json_with_comments_follows_its_reader():
    """`configs/train.json` is read by `json.load`: its comment fails the run. Nothing reads
    `serve/server.json` as plain JSON: comment-tolerant readers read it, so it is an info."""
    assert _findings("json_comments", "TL001") == [
        ("train.json", "TL001", 2, 31, "error", "consumer"),
        ("server.json", "TL001", 2, 35, "info", "guessed")]
    report = check(PROJECTS / "json_comments", select=["TL001"])
    train, server = report.diagnostics
    assert train.message.endswith("a comment, which JSON does not allow, and `json.load` at "
                                  "`train.py:7` reads the file as plain JSON")
    assert "no code of this project was found reading it as plain JSON" in server.message


def test_show_says_a_json_file_with_comments_is_read_by_lenient_readers():
    code, _, err = run_cli("show", str(PROJECTS / "json_comments/serve/server.json"))
    assert code == 1
    assert "server.json:2:35: cannot parse: Expecting property name enclosed in double quotes " \
           "(a comment: readers of JSON with comments" in err
    assert "`json.load` does not)" in err


def test_tl001_json_broken_besides_its_comments_stays_an_error(tmp_path):
    """Only comments make a JSON file readable elsewhere: a trailing comma too is an error."""
    config = tmp_path / "server.json"
    config.write_text('{\n  "port": 5002,  // the port\n  "debug": true,\n}\n')
    [finding] = check(config, select=["TL001"]).diagnostics
    assert (finding.span.line, finding.severity.value, finding.basis) == (2, "error", None)


def test_tl001_a_url_in_a_string_is_not_a_comment(tmp_path):
    config = tmp_path / "server.json"
    config.write_text('{\n  "url": "http://example.com/a//b",\n  "port": 5002,\n}\n')
    [finding] = check(config, select=["TL001"]).diagnostics
    assert finding.severity.value == "error" and "comment" not in finding.message


# -- show composes a Hydra primary config through its defaults list ---------------------------------

def test_show_composes_the_hydra_defaults_list_with_provenance():
    code, payload, _ = run_json("show", "conf/config.yaml", cwd=PROJECTS / "hydra_app")
    composed = payload["composed"]
    assert composed["files"] == ["conf/config.yaml", "conf/model/resnet.yaml",
                                 "conf/optim/adam.yaml", "conf/optim/sgd.yaml"]
    assert {row["key"]: (row["value"], row["file"], row["line"]) for row in composed["values"]} == {
        "model.depth": (50, "conf/model/resnet.yaml", 1),
        "model.layers": ([3, 4, 6, 3], "conf/model/resnet.yaml", 2),
        "optim.name": ("adam", "conf/optim/adam.yaml", 1),
        "optim.lr": (0.0003, "conf/config.yaml", 8),  # `_self_` last: the primary wins
        "optim.betas": ([0.9, 0.999], "conf/optim/adam.yaml", 3),
        "trainer.optimizer.name": ("sgd", "conf/optim/sgd.yaml", 1),  # optim@trainer.optimizer
        "trainer.optimizer.lr": (0.1, "conf/optim/sgd.yaml", 2),
        "trainer.optimizer.momentum": (0.9, "conf/optim/sgd.yaml", 3),
        "trainer.max_epochs": (10, "conf/config.yaml", 10),
        "trainer.batch_size": ("${data.batch_size}", "conf/config.yaml", 11),
        "data.batch_size": (64, "conf/config.yaml", 13),
    }
    code, out, _ = run_cli("show", "conf/config.yaml", cwd=PROJECTS / "hydra_app")
    assert "composed by Hydra from 4 file(s) of its defaults list" in out
    assert "conf/optim/sgd.yaml:2" in out


def test_self_first_lets_the_defaults_win(tmp_path):
    project = _copy(tmp_path, "hydra_app")
    config = project / "conf/config.yaml"
    config.write_text(config.read_text().replace("  - model: resnet\n", "  - _self_\n  - model: resnet\n")
                      .replace("  - optim@trainer.optimizer: sgd\n  - _self_\n",
                               "  - optim@trainer.optimizer: sgd\n"))
    code, payload, _ = run_json("show", "conf/config.yaml", cwd=project)
    values = {row["key"]: (row["value"], row["file"]) for row in payload["composed"]["values"]}
    assert values["optim.lr"] == (0.001, "conf/optim/adam.yaml")


# -- launch flags: a parser whose options are made in a loop is not closed ------------------------

def test_launch_flags_of_a_parser_built_in_a_loop_are_not_judged():
    found = [(d.code, d.span.line, d.span.col) for d in check(PROJECTS / "loop_flags").diagnostics
             if d.code == "TL003"]
    assert found == [("TL003", 3, 31)]  # only train_sft.py, whose options are all spelled out


# -- TL002: a script's own defaults speak its value language --------------------------------------

def test_tl002_declared_defaults_none_and_off_values_are_not_errors():
    found = [(d.code, d.span.line, d.span.col) for d in
             check(PROJECTS / "declared_defaults/train.py", select=["TL002"]).diagnostics]
    assert found == [("TL002", 17, 58)]  # only `--dropout default=1.5`, out of [0, 1)


# -- TL006: TrainingArguments' rule only for TrainingArguments' own keys ---------------------------

def test_tl006_a_scripts_own_num_epochs_is_not_trainingarguments(tmp_path):
    assert _findings("own_args_launch", "TL006") == []
    project = _copy(tmp_path, "own_args_launch")  # the same launch with TrainingArguments' names
    script = project / "grpo.py"
    script.write_text(script.read_text().replace("num_epochs", "num_train_epochs"))
    launcher = project / "run.sh"
    launcher.write_text(launcher.read_text().replace("--num_epochs", "--num_train_epochs"))
    found = {(d.path.rsplit("/", 1)[-1], d.span.line, d.basis)
             for d in check(project, select=["TL006"]).diagnostics}
    assert ("grpo.py", 10, "schema") in found
