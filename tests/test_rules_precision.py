"""TL501-TL507 on real fixture files (scripts and configs) through the real engine."""

from __future__ import annotations

import pytest
from helpers import FIXTURES, check, run_json
from test_rules_checkpoint import assert_fix, fixture_findings

CODES = ["TL501", "TL502", "TL503", "TL504", "TL505", "TL506", "TL507"]

EXPECTED = {
    "TL501/bad_half_model.py": [("TL501", 7, 76, "warning"), ("TL501", 13, 25, "warning")],
    "TL501/bad_scaler_without_zero_infinity.py": [("TL501", 9, 10, "warning")],
    "TL501/bad_autocast_info.py": [("TL501", 13, 31, "info")],
    "TL501/bad_espnet_amp.yaml": [("TL501", 16, 10, "info")],
    "TL501/good_bf16.py": [],
    "TL501/good_fp16_without_ctc.py": [],
    "TL502/bad_autocast_no_scaler.py": [("TL502", 8, 14, "error"), ("TL502", 16, 14, "error")],
    "TL502/good_with_scaler.py": [],
    "TL502/good_fp16_inference_beside_training.py": [],
    "TL502/good_accelerate.py": [],
    "TL502/good_inference_only.py": [],
    "TL503/bad_cuda_amp.py": [("TL503", 3, 10, "warning"), ("TL503", 7, 10, "warning"),
                              ("TL503", 14, 2, "warning")],
    "TL503/bad_from_import.py": [("TL503", 4, 10, "warning"), ("TL503", 11, 10, "warning")],
    "TL503/good_torch_amp.py": [],
    "TL504/bad_gru_ctc_loop.py": [("TL504", 15, 5, "warning")],
    "TL504/bad_lightning_trainer.py": [("TL504", 12, 55, "warning")],
    "TL504/bad_config_no_clip.yaml": [("TL504", 11, 12, "warning")],
    "TL504/good_clipped.py": [],
    "TL504/good_resnet.py": [],
    "TL504/good_config_clip.yaml": [],
    "TL505/bad_strided_conv.py": [("TL505", 17, 13, "info"), ("TL505", 18, 12, "info")],
    "TL505/good_zero_infinity.py": [],
    "TL505/good_full_frame_rate.py": [],
    "TL506/bad_checkpoint.py": [("TL506", 12, 22, "warning"), ("TL506", 13, 16, "warning")],
    "TL506/good_explicit.py": [],
    "TL506/good_checkpoint_variable.py": [],
    "TL507/bad_averaged_model.py": [("TL507", 7, 72, "warning")],
    "TL507/bad_own_ema.py": [("TL507", 16, 11, "warning")],
    "TL507/bad_nanogpt_config.yaml": [("TL507", 7, 12, "warning")],
    "TL507/good_warmup.py": [],
    "TL507/good_late_eval.py": [],
}


def test_every_rule_has_bad_and_good_fixtures():
    for code in CODES:
        names = [path.name for path in (FIXTURES / code).iterdir()]
        assert any(n.startswith("bad_") for n in names) and any(n.startswith("good_") for n in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rule_fixture(name):
    assert fixture_findings(name) == sorted(EXPECTED[name])


@pytest.mark.parametrize("name,unsafe", [
    ("TL501/bad_half_model.py", True),
    ("TL503/bad_cuda_amp.py", False),
    ("TL503/bad_from_import.py", False),
    ("TL505/bad_strided_conv.py", True),
    ("TL506/bad_checkpoint.py", True),
])
def test_fixes(tmp_path, name, unsafe):
    # the copy's project allows torch 2.6 and later: the TL503 rewrite is safe there
    assert_fix(tmp_path, name, unsafe, requirements="torch>=2.6\n")


def test_unsafe_fixes_wait_for_unsafe_fixes(tmp_path):
    target = tmp_path / "model.py"
    source = (FIXTURES / "TL506" / "bad_checkpoint.py").read_text(encoding="utf-8")
    target.write_text(source, encoding="utf-8")
    report = check(target, select=["TL506"], fix=True)
    assert report.fixed == 0 and target.read_text(encoding="utf-8") == source


def test_tl501_deepspeed_fp16_is_a_warning_with_model_type():
    path = FIXTURES / "TL501" / "bad_deepspeed.json"
    assert fixture_findings("TL501/bad_deepspeed.json") == []  # no CTC evidence: quiet
    found = fixture_findings("TL501/bad_deepspeed.json", {"model-type": "rnn-ctc"})
    assert found == [("TL501", 5, 23, "warning")]
    code, findings, _ = run_json("check", str(path), "--select", "TL501", "--model-type", "ctc")
    assert code == 1 and "loss in float16" in findings[0]["message"]


def test_tl501_config_fix_renames_the_hf_key(tmp_path):
    path = tmp_path / "args.yaml"
    path.write_text("learning_rate: 0.0005\nper_device_train_batch_size: 8\nnum_train_epochs: 30\n"
                    "fp16: true  # faster\n", encoding="utf-8")
    check(path, {"model-type": "ctc"}, select=["TL501"], fix=True, unsafe_fixes=True)
    assert path.read_text(encoding="utf-8").endswith("bf16: true  # faster\n")


def test_tl501_lightning_precision_fix(tmp_path):
    path = tmp_path / "fit.py"
    path.write_text((FIXTURES / "TL501" / "bad_autocast_info.py").read_text(encoding="utf-8"),
                    encoding="utf-8")
    check(path, select=["TL501"], fix=True, unsafe_fixes=True)
    assert 'L.Trainer(precision="bf16-mixed", max_epochs=50)' in path.read_text(encoding="utf-8")


def test_tl503_is_quiet_where_every_version_predates_the_deprecation():
    report = check(FIXTURES / "TL503" / "bad_cuda_amp.py", {"target-torch": "2.2"}, select=["TL503"])
    assert report.diagnostics == []


def test_tl503_reuses_the_torch_alias(tmp_path):
    path = tmp_path / "amp.py"
    path.write_text("import torch as th\n\nscaler = th.cuda.amp.GradScaler()\n", encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("torch>=2.4\n", encoding="utf-8")
    check(path, select=["TL503"], fix=True)
    assert path.read_text(encoding="utf-8") == (
        'import torch as th\n\nscaler = th.amp.GradScaler("cuda")\n')


def test_tl505_reports_everything_when_subsampling_is_not_required():
    table = {"rules": {"TL505": {"require_subsampling": False}}}
    found = fixture_findings("TL505/good_full_frame_rate.py", table)
    assert found == [("TL505", 4, 13, "info")]


def test_tl507_share_option_moves_the_threshold():
    table = {"rules": {"TL507": {"min_horizon_share": 0.05}}}
    assert fixture_findings("TL507/bad_averaged_model.py", table) == []


def test_tl507_message_gives_the_numbers():
    report = check(FIXTURES / "TL507" / "bad_nanogpt_config.yaml", select=["TL507"])
    message = report.diagnostics[0].message
    assert "0.9995" in message and "every 100 steps" in message and "95%" in message
    assert "~2000 steps" in message
