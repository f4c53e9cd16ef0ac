"""Effective configs: argparse mapping, config files, overrides, world size, provenance."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from trainlint.engine import RunOptions, check_paths
from trainlint.load import Loader
from trainlint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = ROOT / "fixtures" / "launch"


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def resolve_file(path: Path):
    return Loader().load(path.relative_to(ROOT).as_posix()).launches


def resolve_text(tmp_path: Path, launcher: str, files: dict[str, str], name: str = "run.sh"):
    for file_name, content in files.items():
        target = tmp_path / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content), encoding="utf-8")
    (tmp_path / name).write_text(launcher, encoding="utf-8")
    os.chdir(tmp_path)
    return Loader().load(name).launches


def launch_findings(tmp_path: Path, launcher: str, files: dict[str, str]):
    """What `check` reports for the launcher: the rules' findings on what argparse rejects."""
    resolve_text(tmp_path, launcher, files)
    report = check_paths(["run.sh"], Settings(), RunOptions(select=["TL001", "TL002", "TL003"]))
    return [d for d in report.diagnostics if d.path == "run.sh"]


def where(value) -> tuple[str, int, int]:
    return Path(value.path).name, value.span.line, value.span.col


TRAIN_PY = """
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=str, default=None)
    parser.add_argument("--learning_rate", "--lr", type=float, default=1e-3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--fp16", action="store_true")
    parser.add_argument("--no_ema", dest="ema", action="store_false")
    parser.add_argument("--wandb", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--betas", type=float, nargs=2, default=[0.9, 0.999])
    parser.add_argument("--milestones", type=int, nargs="+", default=[30])
    parser.add_argument("--tags", action="append")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args()
"""


# ---------------------------------------------------------------- seeds


def test_seed001_option1_patience_overrides_the_default():
    (config,) = resolve_file(LAUNCH / "seed001" / "restart_option1.sh")
    assert config.script == "fixtures/launch/seed001/train_teacher.py"
    patience = config.view.get("stopping.patience")
    assert (patience.value, where(patience), patience.raw) == (
        30, ("restart_option1.sh", 14, 14), "30")
    assert (patience.overrode.value, where(patience.overrode)) == (
        15, ("train_teacher.py", 22, 57))
    assert config.view.get("batch.grad_accum").value == 2
    assert config.view.get("optimizer.lr").value == 0.0003  # type=float: a number
    assert config.world_size.value == 1
    assert config.problems == []


def test_seed001_markdown_has_each_launch_of_the_note():
    configs = resolve_file(LAUNCH / "seed001" / "TRAINING_ISSUE_ANALYSIS.md")
    patience = [config.view.get("stopping.patience") for config in configs
                if config.script is not None]
    assert [(p.value, p.span.line) for p in patience] == [(30, 25), (50, 37), (30, 44)]
    missing = configs[0]
    assert missing.script is None and "diagnose_training_issue.py" in missing.notes[0].message


def test_seed004_powershell_launch():
    (config,) = resolve_file(LAUNCH / "seed004" / "quick_fix.ps1")
    view = config.view
    lr = view.get("optimizer.lr")
    assert (lr.value, where(lr), lr.key) == (0.0005, ("quick_fix.ps1", 7, 19), "learning_rate")
    assert (lr.overrode.value, where(lr.overrode)[:2]) == (1e-4, ("train.py", 17))
    patience = view.get("stopping.patience")
    assert (patience.value, where(patience)[:2]) == (30, ("quick_fix.ps1", 9))
    assert patience.overrode.value == 15
    start = view.get("schedule.warmup_start_factor")
    assert (start.value, where(start)[:2]) == (0.1, ("train.py", 32))
    assert view.get("schedule.restart_period").value == 10


def test_seed000_markdown_follows_the_shell_script_and_its_config():
    (config,) = resolve_file(LAUNCH / "seed000" / "TRAINING_NOTES.md")
    assert config.launch.path.endswith("train_mono_v2.sh")
    assert config.sources == ["fixtures/launch/seed000/conf/mono_optimized_v2.yaml"]
    assert config.view.dialect == "espnet"
    lr = config.view.get("optimizer.lr")
    assert (lr.value, lr.raw, where(lr)[:2]) == (0.002, "2e-3", ("mono_optimized_v2.yaml", 20))
    assert config.view.get("precision.fp16").value is True  # --use_amp true on the launcher
    assert any("TRAINING_NOTES.md:13" in note.message for note in config.notes)


def test_seed002_config_path_is_followed():
    (config,) = resolve_file(LAUNCH / "seed002" / "restart.sh")
    assert config.sources[-1] == "fixtures/launch/seed002/model_babylm_ltg_bert.json"
    view = config.view
    assert view.get("optimizer.lr").value == 1e-4
    assert view.get("batch.per_device").value * view.get("batch.grad_accum").value == 72
    assert config.arguments[-1].dest == "resume_training"
    assert config.arguments[-1].value.value is True


# ---------------------------------------------------------------- frameworks


def test_torchrun_world_size_config_and_aliases():
    (config,) = resolve_file(LAUNCH / "torchrun" / "train.sh")
    view = config.view
    world = view.get("batch.world_size")
    assert (world.value, world.raw, where(world)) == (4, "$GPUS", ("train.sh", 4, 40))
    batch = view.get("batch.per_device")
    assert (batch.value, batch.key, where(batch.overrode)[:2]) == (32, "batch_size",
                                                                    ("train.py", 11))
    epochs = view.get("duration.epochs")  # from the YAML, over the argparse default
    assert (epochs.value, where(epochs)[:2], epochs.overrode.value) == (
        100, ("resnet50.yaml", 4), 90)
    assert view.get("optimizer.lr").key == "lr"  # `--lr` is an alias of --learning-rate
    assert view.get("precision.fp16").value is True  # --amp store_true


def test_accelerate_world_size_from_its_config_file():
    (config,) = resolve_file(LAUNCH / "accelerate" / "launch.sh")
    world = config.view.get("batch.world_size")
    assert (world.value, where(world)[:2]) == (8, ("fsdp_8gpu.yaml", 10))
    assert config.view.get("precision.mode").value == "bf16"
    assert config.view.get("batch.grad_accum").value == 8


def test_deepspeed_world_and_ds_config():
    (config,) = resolve_file(LAUNCH / "deepspeed" / "launch.sh")
    view = config.view
    assert view.get("batch.world_size").value == 16
    assert view.get("batch.global").value == 256
    assert view.get("batch.per_device").value * view.get("batch.grad_accum").value * 16 == 256
    assert config.problems == []  # --deepspeed/--deepspeed_config come from add_config_arguments


def test_hf_flags_fill_deepspeed_auto_values():
    (config,) = resolve_file(LAUNCH / "hf" / "run_mlm_ds.sh")
    view = config.view
    assert view.dialect == "hf"
    accum = view.get("batch.grad_accum")
    assert (accum.value, where(accum)[:2], accum.overrode.value) == (4, ("run_mlm_ds.sh", 12),
                                                                     "auto")
    assert view.get("precision.fp16").value is True
    assert view.get("batch.world_size").value == 4
    assert config.problems == []  # HfArgumentParser: flags are not checked against argparse


def test_hydra_overrides():
    (config,) = resolve_file(LAUNCH / "hydra" / "launch.sh")
    view = config.view
    lr = view.get("optimizer.lr")
    assert (lr.value, lr.raw, lr.overrode.value, lr.overrode.raw) == (3e-4, "3e-4", 1e-3, "1e-3")
    assert view.get("duration.epochs").value == 20
    assert view.get("precision.mode").value == "bf16-mixed"
    assert view.get("batch.per_device").value == 32


# ---------------------------------------------------------------- argparse semantics


def test_argparse_actions_and_nargs(tmp_path):
    (config,) = resolve_text(
        tmp_path,
        "python train.py --lr=3e-4 --fp16 --no_ema --no-wandb --betas 0.9 0.95 "
        "--milestones 30 60 --tags a --tags b -vv --batch 16\n",
        {"train.py": TRAIN_PY})
    values = {argument.dest: argument.value.value for argument in config.arguments}
    assert values == {"learning_rate": 3e-4, "fp16": True, "ema": False, "wandb": False,
                      "betas": [0.9, 0.95], "milestones": [30, 60], "tags": ["a", "b"],
                      "verbose": 2, "batch_size": 16}
    assert config.problems == []
    betas = next(a.value for a in config.arguments if a.dest == "betas")
    assert betas.raw == "0.9 0.95"


def test_unknown_flag_is_tl003_with_did_you_mean_and_a_fix(tmp_path):
    launcher = "python train.py --learning-rate 1 --paitence 3 --zzz 1\n"
    (config,) = resolve_text(tmp_path, launcher, {"train.py": TRAIN_PY})
    assert [(p.kind, p.option, p.span.col) for p in config.problems] == [
        ("unknown-option", "--learning-rate", 17), ("unknown-option", "--paitence", 35),
        ("unknown-option", "--zzz", 48)]
    findings = launch_findings(tmp_path, launcher, {"train.py": TRAIN_PY})
    found = [(d.code, d.severity.value, d.span.col, d.message.split("; ")[-1]) for d in findings]
    assert found == [
        ("TL003", "error", 17, "did you mean '--learning_rate'?"),
        ("TL003", "error", 35, "did you mean '--patience'?"),
        ("TL003", "error", 48, "train.py has no option '--zzz' (argparse exits with "
                               "'unrecognized arguments')"),
    ]
    fix = findings[1].fix
    assert fix.applicability.value == "unsafe"
    (edit,) = fix.edits
    assert (edit.span.start, edit.span.end, edit.content) == (34, 44, "--patience")
    # the unknown flags' values are skipped; the known value after them is still read
    assert config.view.get("optimizer.lr").value == 1e-3


def test_ambiguous_abbreviation_and_unique_prefix(tmp_path):
    script = """
        import argparse
        p = argparse.ArgumentParser()
        p.add_argument("--lr_min", type=float, default=0.0)
        p.add_argument("--lr_max", type=float, default=1.0)
        p.add_argument("--patience", type=int, default=5)
        args = p.parse_args()
    """
    (config,) = resolve_text(tmp_path, "python train.py --lr 1 --pat 20\n", {"train.py": script})
    assert [(p.kind, p.candidates) for p in config.problems] == [
        ("ambiguous-option", ("--lr_max", "--lr_min"))]
    findings = launch_findings(tmp_path, "python train.py --lr 1 --pat 20\n", {"train.py": script})
    assert [d.message.split(" (")[0] for d in findings] == [
        "ambiguous option: --lr could match --lr_max, --lr_min"]
    patience = config.view.get("stopping.patience")
    assert (patience.value, patience.key_span.start) == (20, 23)


def test_invalid_values_are_tl002(tmp_path):
    launcher = "python train.py --lr fast --optimizer adamw --epochs\n"
    (config,) = resolve_text(tmp_path, launcher, {"train.py": TRAIN_PY})
    assert [(p.kind, p.span.col) for p in config.problems] == [
        ("invalid-type", 22), ("invalid-choice", 39), ("missing-argument", 45)]
    findings = launch_findings(tmp_path, launcher, {"train.py": TRAIN_PY})
    assert [(d.code, d.span.col, d.message) for d in findings] == [
        ("TL002", 22, "argument --lr: invalid float value: 'fast' (argparse exits here)"),
        ("TL002", 39, "argument --optimizer: invalid choice: 'adamw' (choose from 'adam', "
                      "'sgd')"),
        ("TL002", 45, "argument --epochs: expected one argument (argparse exits here)")]


def test_open_parsers_do_not_report_unknown_flags(tmp_path):
    script = TRAIN_PY.replace("parser.parse_args()", "parser.parse_known_args()[0]")
    (config,) = resolve_text(tmp_path, "python train.py --deepspeed ds.json --lr 2\n",
                             {"train.py": script})
    assert config.problems == []
    assert config.view.get("optimizer.lr").value == 2.0


def test_a_parser_handed_to_code_of_another_module_has_options_not_known():
    """tokenize_corpus.py hands its parser to a helper of another module, which adds flags
    made from a dataclass: its option set is not known, so no option is reported missing.
    train_local.py adds every option itself (one through a helper of its own file): an
    option it lacks is still an error."""
    folder = "fixtures/launch/delegated_parser"
    report = check_paths([f"{folder}/run.sh"], Settings(), RunOptions(select=["TL003"]))
    assert [(d.code, d.span.line, d.span.col, d.message) for d in report.diagnostics] == [
        ("TL003", 6, 44, f"{folder}/train_local.py has no option '--warmup' (argparse exits "
                         "with 'unrecognized arguments')")]


@pytest.mark.parametrize("handed", [
    "helpers.add_args(parser)", "add_args(parser=parser)", "Factory(Config).build(group, 'x')",
    "parser = register(parser)"])
def test_each_way_of_handing_the_parser_on_opens_its_options(tmp_path, handed):
    script = f"""
        import argparse
        from helpers import add_args, register, Factory, Config
        parser = argparse.ArgumentParser()
        group = parser.add_argument_group("data")
        group.add_argument("--data", default="x")
        {handed}
        args = parser.parse_args()
    """
    (config,) = resolve_text(tmp_path, "python train.py --data y --tokenizer bpe\n",
                             {"train.py": script})
    assert config.problems == []


@pytest.mark.parametrize("call", ["print(parser)", "self.add_args(parser)",
                                  "parser.parse_args(namespace=parser)"])
def test_calls_that_add_no_options_keep_the_parser_closed(tmp_path, call):
    script = f"""
        import argparse
        class Trainer:
            def add_args(self, parser):
                parser.add_argument("--lr", type=float, default=0.1)
            def run(self):
                parser = argparse.ArgumentParser()
                {call}
                return parser.parse_args()
    """
    (config,) = resolve_text(tmp_path, "python train.py --lr 1 --zzz 2\n", {"train.py": script})
    assert [(p.kind, p.option) for p in config.problems] == [("unknown-option", "--zzz")]


def test_flag_beats_config_beats_default(tmp_path):
    (config,) = resolve_text(
        tmp_path, "python train.py --config conf/c.yaml --epochs 5\n",
        {"train.py": TRAIN_PY, "conf/c.yaml": "epochs: 40\nbatch_size: 64\nlr: 0.01\n"})
    view = config.view
    epochs = view.get("duration.epochs")
    assert (epochs.value, epochs.overrode.value, epochs.overrode.overrode.value) == (5, 40, 50)
    batch = view.get("batch.per_device")
    assert (batch.value, Path(batch.path).name, batch.overrode.value) == (64, "c.yaml", 32)


def test_default_config_path_is_followed(tmp_path):
    script = TRAIN_PY.replace('"--config", type=str, default=None',
                              '"--config", type=str, default="configs/base.json"')
    (config,) = resolve_text(tmp_path, "python train.py\n", {
        "train.py": script, "configs/base.json": '{"batch_size": 8, "epochs": 3}'})
    assert config.view.get("batch.per_device").value == 8


def test_missing_files_are_notes_at_the_flag(tmp_path):
    configs = resolve_text(tmp_path, "python train.py --config nope.yaml\npython gone.py\n"
                                     "python -m not_here.train --lr 1\n",
                           {"train.py": TRAIN_PY})
    notes = [(note.span.line, note.span.col, note.message.split(" ")[:2]) for config in configs
             for note in config.notes]
    assert notes == [(1, 26, ["config", "file"]), (2, 8, ["script", "'gone.py'"]),
                     (3, 11, ["module", "'not_here.train'"])]
    assert configs[2].view.get("optimizer.lr").value == 1  # flags still read without argparse


def test_module_launch_finds_the_package_file(tmp_path):
    (config,) = resolve_text(tmp_path, "torchrun --nproc_per_node 2 -m pkg.train --lr 5\n",
                             {"src/pkg/train.py": TRAIN_PY, "src/pkg/__init__.py": ""})
    assert config.script == "src/pkg/train.py"
    assert config.view.get("optimizer.lr").value == 5.0
    assert config.world_size.value == 2


def test_one_default_is_the_same_value_in_every_launch(tmp_path):
    configs = resolve_text(tmp_path, "python train.py --lr 1\npython train.py --lr 2\n"
                                     "python train.py --lr 3\n", {"train.py": TRAIN_PY})
    patience = {(p.path, p.span.start) for p in (c.view.get("stopping.patience")
                                                 for c in configs)}
    assert len(patience) == 1  # one place, so the engine reports it once


def test_a_launcher_document_holds_its_problems_notes_and_launches():
    document = Loader().load("fixtures/launch/bad/broken.sh")
    assert [(type(p).__name__, p.span.line, p.span.col) for p in document.problems] == [
        ("SyntaxProblem", 24, 24), ("ArgumentProblem", 21, 17), ("ArgumentProblem", 22, 59)]
    report = check_paths(["fixtures/launch/bad/broken.sh"], Settings(),
                         RunOptions(select=["TL001", "TL002", "TL003"]))
    assert [(d.code, d.span.line, d.span.col) for d in report.diagnostics] == [
        ("TL003", 21, 17), ("TL002", 22, 59), ("TL001", 24, 24)]
    assert [note.split(":")[1] for note in document.notes] == ["5", "9", "13", "17", "22", "23"]
    assert len(document.views) == 4  # the launch with the broken quote is not read
    last = document.launches[-1].view
    assert (last.get("optimizer.lr").value, last.get("stopping.patience").value) == (2e-4, 30)


# ---------------------------------------------------------------- through the engine


def test_check_reports_effective_batch_with_the_launcher_world_size():
    from helpers import check

    report = check(LAUNCH / "torchrun" / "train.sh")
    (batch,) = [d for d in report.diagnostics if d.code == "TL201"]
    assert (Path(batch.path).name, batch.span.line, batch.span.col) == ("train.sh", 6, 18)
    assert "effective batch 256" in batch.message
    assert "x 4 (world size, train.sh:4)" in batch.message


def test_findings_land_where_the_value_is_written_and_a_shared_default_once():
    from helpers import check

    report = check(LAUNCH / "sweep" / "sweep.sh", {"model-type": "ctc"})
    band = [(Path(d.path).name, d.span.line, d.span.col) for d in report.diagnostics
            if d.code == "TL102"]
    assert band == [("sweep.sh", 6, 31), ("train.py", 10, 53)]  # three launches, one default
    (launcher_fix,) = [d.fix for d in report.diagnostics
                       if d.code == "TL102" and d.path.endswith("sweep.sh")]
    (edit,) = launcher_fix.edits
    assert (edit.span.line, edit.span.col, edit.content) == (6, 31, "5e-4")
