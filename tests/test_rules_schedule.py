"""TL101-TL105 on real fixture files (YAML, JSON, argparse defaults, module constants, scripts):
code, position, severity, and the text after --unsafe-fixes."""

from __future__ import annotations

import shutil

import pytest

from helpers import FIXTURES, check, codes

# (fixture, code, line, column, severity, (old text, new text) after --unsafe-fixes or None)
BAD = [
    ("TL101/bad_linearlr_per_epoch.py", "TL101", 15, 43, "error",
     ("start_factor=0.1,", "start_factor=0.5,")),
    ("TL101/bad_warmup_epochs.yaml", "TL101", 6, 22, "warning",
     ("warmup_start_factor: 0.2", "warmup_start_factor: 0.5")),
    ("TL101/bad_warmup_start_lr.json", "TL101", 6, 22, "error",
     ('"warmup_start_lr": 0.00001', '"warmup_start_lr": 0.0003')),
    ("TL101/bad_argparse_defaults.py", "TL101", 9, 70, "warning",
     ("default=0.1)", "default=0.5)")),
    ("TL102/bad_bert_mlm.json", "TL102", 4, 20, "warning",
     ('"learning_rate": 1e-4', '"learning_rate": 2e-4')),
    ("TL102/bad_espnet_conformer.yaml", "TL102", 8, 9, "warning", ("lr: 0.0002", "lr: 0.001")),
    ("TL102/bad_speechbci_args.py", "TL102", 3, 19, "warning",
     ("args['lrStart'] = 0.02", "args['lrStart'] = 0.001")),
    ("TL102/bad_axolotl_lora.yaml", "TL102", 8, 16, "warning",
     ("learning_rate: 0.003", "learning_rate: 0.0002")),
    ("TL102/bad_module_constants.py", "TL102", 3, 17, "warning",
     ("learning_rate = 1e-5", "learning_rate = 5e-4")),
    ("TL103/bad_bert_ratio.json", "TL103", 7, 30, "warning",
     ('"warmup_steps_proportion": 0.1', '"warmup_steps_proportion": 0.06')),
    ("TL103/bad_iters_per_epoch.yaml", "TL103", 3, 15, "warning",
     ("warmup_steps: 15000", "warmup_steps: 7200")),
    ("TL103/bad_hf_dataset_size.yaml", "TL103", 6, 15, "warning",
     ("warmup_steps: 1000", "warmup_steps: 240")),
    ("TL103/bad_argparse_warmup.py", "TL103", 6, 57, "warning", ("default=4000", "default=1200")),
    # the cosine begins where the warmup ends: no one-number fix
    ("TL103/bad_mmengine_iters.py", "TL103", 5, 75, "warning", None),
    ("TL103/bad_mmengine_epochs.py", "TL103", 5, 74, "info", None),
    ("TL104/bad_cosine_steps.py", "TL104", 6, 24, "warning",
     ("args['cosine_steps'] = 8500", "args['cosine_steps'] = 10500")),
    # decays to min_lr at half the run, then holds it: a recipe as often as a slip
    ("TL104/bad_nanogpt.py", "TL104", 9, 18, "info",
     ("lr_decay_iters = 300000", "lr_decay_iters = 600000")),
    ("TL104/bad_mmengine_tmax_short.py", "TL104", 9, 42, "warning", ("T_max=45", "T_max=95")),
    ("TL104/bad_mmengine_end_holds.py", "TL104", 5, 83, "info", ("end=200", "end=300")),
    ("TL104/bad_lr_decay_steps.yaml", "TL104", 6, 19, "warning",
     ("lr_decay_steps: 20000", "lr_decay_steps: 10000")),
    ("TL104/bad_cosine_tmax.py", "TL104", 6, 48, "warning", ("T_max=50", "T_max=100")),
    ("TL104/bad_onecycle_lightning.yaml", "TL104", 14, 18, "error",
     ("total_steps: 1000", "total_steps: 5000")),
    ("TL105/bad_speechbci_constant.py", "TL105", 4, 17, "warning",
     ("args['lrEnd'] = 0.001", "args['lrEnd'] = 0.00001")),
    ("TL105/bad_hf_constant.yaml", "TL105", 5, 20, "warning", None),
    ("TL105/bad_nanogpt_no_decay.py", "TL105", 5, 12, "warning", None),
]
GOOD = [
    ("TL101/good_hf_linear_warmup.json", "TL101"),
    ("TL101/good_linearlr_per_step.py", "TL101"),
    ("TL101/good_half_start.yaml", "TL101"),
    ("TL102/good_lamb.yaml", "TL102"),
    ("TL102/good_large_eps.yaml", "TL102"),
    ("TL102/good_in_band.yaml", "TL102"),
    ("TL103/good_short_warmup.yaml", "TL103"),
    ("TL103/good_unknown_total.yaml", "TL103"),
    ("TL104/good_run16_5.py", "TL104"),
    ("TL104/good_nanogpt.py", "TL104"),
    ("TL104/good_nanogpt_decay_off.py", "TL104"),
    ("TL104/good_nanogpt_decay_off.py", "TL103"),
    ("TL104/good_mmengine_convert_to_iter.py", "TL104"),
    ("TL104/good_mmengine_convert_to_iter.py", "TL103"),
    ("TL104/good_mmengine_unit_mix.py", "TL104"),
    ("TL104/good_mmengine_unit_mix.py", "TL103"),
    ("TL104/good_mmengine_base_merge.py", "TL104"),
    ("TL103/good_mmengine_loop_in_base.py", "TL103"),
    ("TL103/good_mmengine_runner_of_mmcv.py", "TL103"),
    ("TL103/good_mmengine_runner_of_mmcv.py", "TL104"),
    ("TL105/good_short_constant.py", "TL105"),
    ("TL105/good_decay.json", "TL105"),
]


def _findings(report, code):
    return [d for d in report.diagnostics if d.code == code]


@pytest.mark.parametrize("fixture,code,line,col,severity,edit", BAD, ids=[case[0] for case in BAD])
def test_bad_fixture_fires_at_the_value(tmp_path, fixture, code, line, col, severity, edit):
    source = FIXTURES / fixture
    report = check(source, select=[code])
    found = _findings(report, code)
    assert [(d.span.line, d.span.col, d.severity.value) for d in found] == [(line, col, severity)]
    if edit is None:
        assert found[0].fix is None
        return
    old, new = edit
    assert found[0].fix.applicability.value == "unsafe" and " -> " in found[0].fix.message
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    fixed = check(copy, select=[code], fix=True, unsafe_fixes=True)
    original = source.read_text(encoding="utf-8")
    assert copy.read_text(encoding="utf-8") == original.replace(old, new, 1)
    assert fixed.fixed == 1 and code not in codes(check(copy, select=[code]))


@pytest.mark.parametrize("fixture,code", GOOD, ids=[case[0] for case in GOOD])
def test_good_fixture_is_quiet(fixture, code):
    assert code not in codes(check(FIXTURES / fixture, select=[code]))


def test_safe_fix_alone_leaves_hyper_parameters(tmp_path):
    source = FIXTURES / "TL102/bad_bert_mlm.json"
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    check(copy, select=["TL102"], fix=True)
    assert copy.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")


def test_lr_message_gives_old_and_new_value():
    (finding,) = _findings(check(FIXTURES / "TL102/bad_bert_mlm.json", select=["TL102"]), "TL102")
    assert "0.0001 -> 0.0002" in finding.message
    assert "bert-mlm band 0.0002 .. 0.0005" in finding.message
    assert finding.fix.message == "learning rate 0.0001 -> 0.0002"


def test_no_model_type_gives_one_info_line_naming_the_setting():
    found = _findings(check(FIXTURES / "TL102/good_no_model_type.json", select=["TL102"]), "TL102")
    assert len(found) == 1 and found[0].severity.value == "info"
    assert "`model-type`" in found[0].message and found[0].fix is None


def test_model_type_setting_enables_the_band(tmp_path):
    report = check(FIXTURES / "TL102/good_no_model_type.json", {"model-type": "rnn-ctc"}, select=["TL102"])
    (finding,) = _findings(report, "TL102")
    assert finding.severity.value == "warning" and "0.02 -> 0.001" in finding.message


def test_band_override_in_settings(tmp_path):
    source = FIXTURES / "TL102/bad_module_constants.py"
    table = {"bands": {"ctc": {"low": 1e-6, "high": 1e-3}}}
    assert "TL102" not in codes(check(source, table, select=["TL102"]))
    table = {"bands": {"conformer": {"optimizers": ["lamb"]}}}
    assert "TL102" in codes(check(FIXTURES / "TL102/good_lamb.yaml", table, select=["TL102"]))


def test_invalid_lr_is_tl002_and_band_rule_stays_quiet(tmp_path):
    path = tmp_path / "asr.yaml"
    path.write_text("encoder: conformer\nlr: fast\nepochs: ten\nwarmup_steps: 15000\n", encoding="utf-8")
    report = check(path, select=["TL0", "TL1"])
    assert codes(report).count("TL002") == 2
    assert not [c for c in codes(report) if c.startswith("TL1")]
    assert report.errors == []


def test_horizon_rounding_tolerance_for_derived_totals(tmp_path):
    path = tmp_path / "hf.yaml"
    path.write_text("output_dir: out\nper_device_train_batch_size: 16\nnum_train_epochs: 3\n"
                    "learning_rate: 2.0e-5\nlr_decay_iters: 1880\n", encoding="utf-8")
    # 30000 / 16 = 1875 steps per epoch, x 3 = 5625: a decay of 1880 steps is a real mismatch
    assert "TL104" in codes(check(path, {"dataset-size": 30000}, select=["TL104"]))
    path.write_text(path.read_text().replace("1880", "5630"), encoding="utf-8")
    assert "TL104" not in codes(check(path, {"dataset-size": 30000}, select=["TL104"]))


def test_warmup_share_of_a_launch_whose_script_is_missing_is_info():
    """The flags' meaning is only guessed from their names: info, basis 'guessed'."""
    report = check(FIXTURES / "TL103" / "launch_of_missing_script" / "run.sh", select=["TL103"])
    [finding] = _findings(report, "TL103")
    assert (finding.span.line, finding.span.col) == (5, 18)
    assert finding.severity.value == "info" and finding.basis == "guessed"
    assert "was not found" in finding.message


def test_mmengine_horizon_counts_from_the_warmup_in_the_loop_unit():
    (finding,) = _findings(check(FIXTURES / "TL104/bad_mmengine_tmax_short.py", select=["TL104"]),
                           "TL104")
    assert finding.message.startswith(
        "warmup + decay = 5 (param_scheduler.0.end, bad_mmengine_tmax_short.py:7) warmup + 45 "
        "(param_scheduler.1.T_max, bad_mmengine_tmax_short.py:9) decay = 50 epochs, but the run "
        "has 100 (train_cfg.max_epochs, bad_mmengine_tmax_short.py:12) epochs")
    assert finding.fix.message == "decay epochs 45 -> 95"


def test_mmengine_end_beside_tmax_moves_with_it(tmp_path):
    source = FIXTURES / "TL104/bad_mmengine_iters_past_run.py"
    (finding,) = _findings(check(source, select=["TL104"]), "TL104")
    assert (finding.span.line, finding.span.col, finding.severity.value) == (6, 42, "warning")
    assert "= 120000 steps, but the run has 90000 (train_cfg.max_iters" in finding.message
    assert finding.fix.message == "decay steps 119000 -> 89000, end 120000 -> 90000"
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    check(copy, select=["TL104"], fix=True, unsafe_fixes=True)
    expected = source.read_text(encoding="utf-8").replace("T_max=119000", "T_max=89000").replace(
        "end=120000", "end=90000")
    assert copy.read_text(encoding="utf-8") == expected
    assert "TL104" not in codes(check(copy, select=["TL104"]))


def test_mmengine_epoch_warmup_is_info_without_a_fix():
    (finding,) = _findings(check(FIXTURES / "TL103/bad_mmengine_epochs.py", select=["TL103"]), "TL103")
    assert finding.message.startswith(
        "warmup is 13.3% of training (40 (param_scheduler.0.end, bad_mmengine_epochs.py:5) / 300 "
        "(train_cfg.max_epochs, bad_mmengine_epochs.py:11)), more than 10%; warmups counted in epochs")
    assert finding.fix is None


def test_megatron_flags_give_the_horizon_and_the_warmup():
    report = check(FIXTURES / "TL104/megatron_launch/train_gpt.sh", select=["TL104"])
    (finding,) = _findings(report, "TL104")
    assert (finding.span.line, finding.span.col, finding.severity.value) == (10, 22, "warning")
    assert finding.message == (
        "the LR decays over 300000 (lr_decay_iters, train_gpt.sh:10) steps, but the run lasts "
        "200000 (train_iters, train_gpt.sh:9) steps: decay horizon 300000 -> 200000")
    report = check(FIXTURES / "TL103/megatron_launch/train_gpt.sh", select=["TL103"])
    (finding,) = _findings(report, "TL103")
    assert (finding.span.line, finding.span.col, finding.severity.value) == (11, 23, "warning")
    assert finding.message.startswith("warmup is 30.0% of training (30000 (lr_warmup_iters, "
                                      "train_gpt.sh:11) / 100000 (train_iters, train_gpt.sh:9))")
    assert finding.fix.message == "warmup steps 30000 -> 6000 (6%)"
