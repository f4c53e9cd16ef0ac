"""TL301-TL305 on real fixture files, in each framework's patience unit."""

from __future__ import annotations

import shutil

import pytest

from helpers import FIXTURES, check, codes

BAD = [
    ("TL301/bad_argparse.py", "TL301", 6, 53, "warning", ("default=15)", "default=30)")),
    ("TL301/bad_lightning_default.yaml", "TL301", 4, 19, "warning", None),
    ("TL301/bad_hf_eval_steps.json", "TL301", 9, 30, "warning",
     ('"early_stopping_patience": 5', '"early_stopping_patience": 100')),
    ("TL301/bad_script_loop.py", "TL301", 4, 12, "warning", ("PATIENCE = 10", "PATIENCE = 30")),
    ("TL302/bad_yaml.yaml", "TL302", 3, 11, "warning", ("patience: 12", "patience: 21")),
    ("TL302/bad_default_plateau.py", "TL302", 8, 68, "warning", ("default=15)", "default=21)")),
    ("TL303/bad_long_run.yaml", "TL303", 3, 10, "info", None),
    ("TL303/bad_hf.json", "TL303", 5, 23, "info", None),
    ("TL304/bad_plateau.yaml", "TL304", 4, 14, "warning", None),
    ("TL304/bad_early_stop.json", "TL304", 1, 71, "info", None),
    ("TL305/bad_warmup.yaml", "TL305", 4, 11, "warning", ("patience: 12", "patience: 15")),
    ("TL305/bad_restarts.py", "TL305", 8, 53, "warning", ("default=12)", "default=20)")),
]
GOOD = [
    ("TL301/good_overfit_test.yaml", "TL301"),
    ("TL301/good_long_patience.yaml", "TL301"),
    ("TL302/good.yaml", "TL302"),
    ("TL303/good_espnet.yaml", "TL303"),
    ("TL303/good_lightning_checkpoint.yaml", "TL303"),
    ("TL304/good.yaml", "TL304"),
    ("TL305/good.yaml", "TL305"),
]


def _findings(report, code):
    return [d for d in report.diagnostics if d.code == code]


@pytest.mark.parametrize("fixture,code,line,col,severity,edit", BAD, ids=[case[0] for case in BAD])
def test_bad_fixture(tmp_path, fixture, code, line, col, severity, edit):
    source = FIXTURES / fixture
    found = _findings(check(source, select=[code]), code)
    assert [(d.span.line, d.span.col, d.severity.value) for d in found] == [(line, col, severity)]
    if edit is None:
        assert found[0].fix is None
        return
    old, new = edit
    assert found[0].fix.applicability.value == "unsafe"
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    check(copy, select=[code], fix=True, unsafe_fixes=True)
    assert copy.read_text() == source.read_text().replace(old, new, 1)
    assert code not in codes(check(copy, select=[code]))


@pytest.mark.parametrize("fixture,code", GOOD, ids=[case[0] for case in GOOD])
def test_good_fixture_is_quiet(fixture, code):
    assert code not in codes(check(FIXTURES / fixture, select=[code]))


def test_lightning_patience_is_converted_from_validation_checks():
    (finding,) = _findings(check(FIXTURES / "TL301/bad_lightning_default.yaml", select=["TL301"]), "TL301")
    assert "default patience 3 validation checks (every epoch: 3 epochs)" in finding.message
    assert "shorter than 20 epochs" in finding.message


def test_hf_patience_in_evaluations_is_fixed_in_evaluations():
    (finding,) = _findings(check(FIXTURES / "TL301/bad_hf_eval_steps.json", select=["TL301"]), "TL301")
    assert "5 evaluations (every 100 steps: 0.5 epochs)" in finding.message
    assert finding.fix.message == "patience 5 -> 100 evaluations"


def test_tiny_dataset_from_settings_skips_patience_rule():
    source = FIXTURES / "TL301/bad_argparse.py"
    assert "TL301" in codes(check(source, {"dataset-size": 6000}, select=["TL301"]))
    assert "TL301" not in codes(check(source, {"dataset-size": 5}, select=["TL301"]))


def test_tl301_and_tl302_agree_on_one_value(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("lr: 5.0e-4\nepochs: 500\npatience: 15\nlr_patience: 10\n")
    report = check(path, select=["TL301", "TL302"])
    fixes = {d.code: d.fix.edits[0].content for d in report.diagnostics}
    assert fixes == {"TL301": "30", "TL302": "30"}
    check(path, select=["TL301", "TL302"], fix=True, unsafe_fixes=True)
    assert path.read_text() == "lr: 5.0e-4\nepochs: 500\npatience: 30\nlr_patience: 10\n"


def test_null_patience_is_tl002_and_patience_rules_stay_quiet(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("lr: 0.001\nepochs: 100\npatience: null\nlr_patience: 10\n")
    report = check(path, select=["TL0", "TL3"])
    assert codes(report) == ["TL002"]
