"""`trainlint show PATH`: the effective settings table and its JSON form."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from helpers import run_cli

from trainlint.settings import Settings
from trainlint.show import show

ROOT = Path(__file__).resolve().parent.parent
SEED004 = "fixtures/launch/seed004/quick_fix.ps1"
TORCHRUN = "fixtures/launch/torchrun/train.sh"


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def shown(path: str, output_format: str = "text") -> tuple[int, str]:
    stream = io.StringIO()
    code = show(path, Settings(), output_format, stream)
    return code, stream.getvalue()


def row(text: str, setting: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(setting + " ")]
    return line


def test_seed004_prints_lr_patience_and_scheduler_with_file_and_line():
    code, text = shown(SEED004)
    assert code == 0
    assert "\x1b[" not in text  # plain text when not a terminal
    lr = row(text, "optimizer.lr")
    assert "0.0005" in lr and f"{SEED004}:7:19" in lr and "--learning_rate" in lr
    assert "0.0001 (fixtures/launch/seed004/src/training/train.py:17)" in lr
    patience = row(text, "stopping.patience")
    assert " 30 " in patience and f"{SEED004}:9:29" in patience
    assert "15 (fixtures/launch/seed004/src/training/train.py:21)" in patience
    start = row(text, "schedule.warmup_start_factor")
    assert "0.1" in start and "train.py:32:57" in start
    assert "train.py:33:65" in row(text, "schedule.restart_period")
    assert "cosine_with_restarts" in row(text, "schedule.name")
    first_lr = row(text, "first lr")
    assert "5e-05" in first_lr and "quick_fix.ps1:7" in first_lr


def test_torchrun_json_has_world_size_and_effective_batch():
    code, out = shown(TORCHRUN, "json")
    assert code == 0
    payload = json.loads(out)
    (config,) = payload["configs"]
    assert config["launch"]["launcher"] == "torchrun"
    world = config["launch"]["world_size"]
    assert (world["value"], world["file"], world["line"], world["raw"]) == (
        4, TORCHRUN, 4, "$GPUS")
    settings = {item["name"]: item for item in config["settings"]}
    batch = settings["batch.per_device"]
    assert (batch["value"], batch["line"], batch["column"]) == (32, 6, 18)
    assert batch["overrode"][0]["value"] == 64
    assert batch["overrode"][0]["file"] == "fixtures/launch/torchrun/train.py"
    derived = {item["name"]: item for item in config["derived"]}
    assert derived["effective batch"]["value"].startswith("256")
    assert "x 4 (world size, train.sh:4)" in derived["effective batch"]["factors"]


def test_launcher_problems_and_notes_are_printed():
    code, text = shown("fixtures/launch/bad/broken.sh")
    assert code == 0
    assert "TL003 error: fixtures/launch/bad/broken.sh:21:17:" in text
    assert "did you mean '--learning_rate'?" in text
    assert "note: fixtures/launch/bad/broken.sh:13:1: `for` loop skipped" in text
    assert "TL001 error: fixtures/launch/bad/broken.sh:24:24:" in text


def test_show_a_script_and_a_config():
    code, text = shown("fixtures/launch/seed001/train_teacher.py")
    assert code == 0
    assert "learning_rate (argparse default)" in row(text, "optimizer.lr")
    code, out = shown("fixtures/launch/seed000/conf/mono_optimized_v2.yaml", "json")
    (config,) = json.loads(out)["configs"]
    lr = {item["name"]: item for item in config["settings"]}["optimizer.lr"]
    assert (config["dialect"], lr["value"], lr["raw"], lr["line"]) == ("espnet", 0.002, "2e-3", 20)


def test_missing_and_unreadable_paths(tmp_path, capsys):
    assert shown(str(tmp_path / "nope.sh"))[0] == 2
    assert "no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"lr": 1,', encoding="utf-8")
    assert shown(str(broken))[0] == 1
    empty = tmp_path / "empty.sh"
    empty.write_text("echo hello\n", encoding="utf-8")
    assert shown(str(empty))[0] == 0
    assert "no launch command found" in capsys.readouterr().err


def test_cli_show_json():
    code, out, err = run_cli("show", SEED004, "--output-format", "json", cwd=ROOT)
    assert code == 0, err
    (config,) = json.loads(out)["configs"]
    names = {item["name"]: item for item in config["settings"]}
    assert (names["optimizer.lr"]["value"], names["optimizer.lr"]["line"]) == (0.0005, 7)
    assert names["stopping.patience"]["overrode"][0]["value"] == 15


def test_cli_show_text_is_plain():
    code, out, err = run_cli("show", TORCHRUN, cwd=ROOT)
    assert code == 0, err
    assert not re.search(r"\x1b\[", out)
    assert "world size: 4 (fixtures/launch/torchrun/train.sh:4)" in out


def test_mmengine_schedule_and_megatron_flags_give_warmup_share_and_horizon():
    code, text = shown("fixtures/TL104/bad_mmengine_tmax_short.py")
    assert code == 0
    assert "bad_mmengine_tmax_short.py:9:42" in row(text, "schedule.decay_steps")
    assert "param_scheduler.1.T_max" in row(text, "schedule.decay_steps")
    assert "param_scheduler.0.end" in row(text, "schedule.warmup_epochs")
    assert "train_cfg.max_epochs" in row(text, "duration.epochs")
    share = row(text, "warmup share")
    assert " 0.05 " in share and "5 (param_scheduler.0.end, bad_mmengine_tmax_short.py:7) / 100" in share
    assert " 50 epochs " in row(text, "decay horizon")
    code, text = shown("fixtures/TL104/megatron_launch/train_gpt.sh")
    assert code == 0
    assert "200000 (train_iters, train_gpt.sh:9)" in row(text, "total steps")
    assert "300000 steps" in row(text, "decay horizon")
    assert "2000 (lr_warmup_iters, train_gpt.sh:11) / 200000" in row(text, "warmup share")
