"""TL201-TL203 on real fixture files."""

from __future__ import annotations

import shutil

import pytest

from helpers import FIXTURES, check, codes, run_json


def _findings(report, code):
    return [d for d in report.diagnostics if d.code == code]


@pytest.mark.parametrize("fixture,line,col,value,provenance", [
    ("TL201/bad_hf_args.json", 3, 34, "256 samples",
     "32 (per_device_train_batch_size, bad_hf_args.json:3) x 8 (gradient_accumulation_steps, "
     "bad_hf_args.json:4) x 1 (world size unknown: per GPU-count N; set world-size)"),
    ("TL201/bad_lightning_devices.yaml", 10, 17, "1024 samples",
     "64 (data.init_args.batch_size, bad_lightning_devices.yaml:10) x 2 (trainer.accumulate_grad_batches, "
     "bad_lightning_devices.yaml:5) x 8 (4 (devices, bad_lightning_devices.yaml:3) x 2 (nodes, "
     "bad_lightning_devices.yaml:4))"),
    ("TL201/bad_espnet_bins.yaml", 4, 13, "64000000 batch bins",
     "16000000 (batch_bins, bad_espnet_bins.yaml:4) x 4 (accum_grad, bad_espnet_bins.yaml:5) x 1 "
     "(ESPnet batch_size/batch_bins is a per-step total across GPUs)"),
    ("TL201/bad_nanogpt.py", 1, 14, "480 samples",
     "12 (batch_size, bad_nanogpt.py:1) x 40 (gradient_accumulation_steps, bad_nanogpt.py:3) x 1 "
     "(nanoGPT's gradient_accumulation_steps is global (divided by the world size))"),
])
def test_effective_batch_info(fixture, line, col, value, provenance):
    (finding,) = _findings(check(FIXTURES / fixture, select=["TL201"]), "TL201")
    assert (finding.span.line, finding.span.col, finding.severity.value) == (line, col, "info")
    assert finding.message == f"effective batch {value} per optimizer step = {provenance}"


def test_effective_batch_quiet_without_a_batch():
    assert "TL201" not in codes(check(FIXTURES / "TL201/good_no_batch.yaml", select=["TL201"]))


def test_world_size_from_cli_reaches_the_message():
    code, found, _ = run_json("check", str(FIXTURES / "TL201/bad_hf_args.json"), "--world-size", "4",
                              "--select", "TL201")
    assert code == 0  # info only
    assert found[0]["message"].startswith("effective batch 1024 samples")
    assert found[0]["message"].endswith("x 4 (setting `world-size`)")


def test_too_small_for_mlm_raises_accumulation(tmp_path):
    source = FIXTURES / "TL202/bad_babylm.json"
    (finding,) = _findings(check(source, select=["TL202"]), "TL202")
    assert (finding.span.line, finding.span.col, finding.severity.value) == (6, 17, "warning")
    assert "72 = 24 (batch_size, bad_babylm.json:5) x 3 (grad_accum, bad_babylm.json:6)" in finding.message
    assert finding.fix.message == "gradient accumulation 3 -> 11 (effective batch 72 -> 264)"
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    check(copy, select=["TL202"], fix=True, unsafe_fixes=True)
    assert copy.read_text() == source.read_text().replace('"grad_accum": 3', '"grad_accum": 11')


def test_too_small_without_accumulation_key_adds_one(tmp_path):
    (finding,) = _findings(check(FIXTURES / "TL202/bad_run_mlm.yaml", select=["TL202"]), "TL202")
    assert (finding.span.line, finding.span.col) == (4, 30)
    assert finding.fix.applicability.value == "unsafe"
    assert "add `gradient_accumulation_steps` = 16" in finding.fix.message
    copy = tmp_path / "run_mlm.yaml"
    original = (FIXTURES / "TL202/bad_run_mlm.yaml").read_text()
    copy.write_text(original)
    check(copy, select=["TL202"], fix=True, unsafe_fixes=True)
    lines = original.splitlines(keepends=True)
    assert copy.read_text() == "".join([*lines[:4], "gradient_accumulation_steps: 16\n", *lines[4:]])


@pytest.mark.parametrize("fixture", ["TL202/good_world_size.json", "TL202/good_finetune.yaml"])
def test_batch_floor_quiet(fixture):
    assert "TL202" not in codes(check(FIXTURES / fixture, select=["TL202"]))


def test_world_size_setting_lifts_the_batch_over_the_floor():
    report = check(FIXTURES / "TL202/bad_babylm.json", {"world-size": 4}, select=["TL202"])
    assert "TL202" not in codes(report)


@pytest.mark.parametrize("fixture,line,col,needle", [
    ("TL203/bad_not_multiple.json", 2, 23, "is not a multiple of 12"),
    ("TL203/bad_torchtitan.toml", 6, 21, "global batch 64 (training.global_batch_size) is not a multiple of 6"),
])
def test_inconsistent_global_batch(fixture, line, col, needle):
    (finding,) = _findings(check(FIXTURES / fixture, select=["TL203"]), "TL203")
    assert (finding.span.line, finding.span.col, finding.severity.value) == (line, col, "error")
    assert needle in finding.message and finding.fix is None


def test_inconsistent_with_known_world_size():
    report = check(FIXTURES / "TL203/good_consistent.json", {"world-size": 4}, select=["TL203"])
    (finding,) = _findings(report, "TL203")
    assert "global batch 512 (train_batch_size) != 8" in finding.message and finding.message.endswith("= 256")
    assert "TL203" not in codes(check(FIXTURES / "TL203/good_consistent.json", {"world-size": 8},
                                      select=["TL203"]))


@pytest.mark.parametrize("fixture", ["TL203/good_auto.json", "TL203/good_consistent.json"])
def test_consistent_or_auto_is_quiet(fixture):
    report = check(FIXTURES / fixture)
    assert not [d for d in report.diagnostics if d.code in ("TL002", "TL203")]


def test_zero_batch_is_tl002_not_a_crash(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("lr: 0.001\nepochs: 10\nbatch_size: 0\ndataset_size: 0\ngrad_accum: 0\n")
    report = check(path)
    assert codes(report).count("TL002") == 3
    assert "TL201" not in codes(report) and report.errors == []
