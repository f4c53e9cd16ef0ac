"""The probe's calibration suite (fixtures/probe/calibration.py, issue 15): every healthy
setup comes back clean, every planted bug is caught. Also on CUDA when a GPU is present;
bench/probe_calibration.py prints the same suite as a table with wall times."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from trainlint.probe import probe

CALIBRATION = Path(__file__).resolve().parent.parent / "fixtures" / "probe" / "calibration.py"


def _load_suite():
    spec = importlib.util.spec_from_file_location("probe_calibration_suite", CALIBRATION)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the dataclasses there resolve their module by name
    spec.loader.exec_module(module)
    return module


suite = _load_suite()
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))]
RESULTS: dict[tuple[str, str], object] = {}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and oversubscribed cores make them crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(name: str, device: str = "cpu"):
    """Each setup is probed once per device; the issue-case tests reuse the result."""
    if (name, device) not in RESULTS:
        setup = next(s for s in suite.SETUPS if s.name == name)
        RESULTS[name, device] = probe(setup.build(device), report=False)
    return RESULTS[name, device]


def findings(result) -> str:
    return "\n".join(f"{d.code} {d.message}" for d in result.diagnostics) or "none"


def test_the_suite_covers_what_issue_15_asks_for():
    assert len(suite.HEALTHY) >= 12 and len(suite.PLANTED) >= 12
    families = " ".join(s.family for s in suite.HEALTHY)
    for family in ("MLP", "CNN", "GRU LM", "LSTM LM", "Transformer LM", "MLM", "regression"):
        assert family in families, family
    assert "4x subsampling" in families and "no subsampling" in families  # CTC, both kinds
    optimizers = {s.optimizer for s in suite.HEALTHY}
    assert {"SGD+momentum", "Adam", "AdamW", "Adafactor"} <= optimizers
    schedules = " ".join(s.schedule for s in suite.HEALTHY)
    for schedule in ("constant", "linear warmup from 0", "OneCycle", "cosine with warmup",
                     "StepLR per epoch", "ReduceLROnPlateau"):
        assert schedule in schedules, schedule


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", [s.name for s in suite.HEALTHY])
def test_healthy_setup_comes_back_clean(name, device):
    result = run(name, device)
    assert result.diagnostics == [], findings(result)
    assert not any("undecided" in note for note in result.notes), result.notes


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", [s.name for s in suite.PLANTED])
def test_planted_bug_is_caught(name, device):
    setup = next(s for s in suite.PLANTED if s.name == name)
    result = run(name, device)
    assert set(setup.catches) <= set(result.codes), findings(result)
    assert all(d.severity.value != "info" for d in result.diagnostics if d.code in setup.catches)


def test_linear_warmup_from_zero_is_measured_at_its_target():
    """Issue 15, case 1: AdamW 3e-3 with a 2,000-step warmup from 0 failed TL902 at LR 0."""
    m = run("gru-lm-linear-warmup").measurements
    assert m.lr_at_start == 0.0
    assert m.overfit_lr == pytest.approx(3e-3) and m.lr_peak_step == 2000
    assert m.overfit_lr_source == "the schedule's peak, at step 2,000"
    assert m.loss_drop > 0.3


def test_onecycle_is_measured_at_max_lr():
    """Issue 15, case 2: OneCycleLR starts at max_lr / 25."""
    m = run("mlp-adamw-onecycle").measurements
    assert m.lr_at_start == pytest.approx(3e-3 / 25)
    assert m.overfit_lr == pytest.approx(3e-3)
    assert 250 <= m.lr_peak_step <= 310  # pct_start 0.3 of 1,000 steps


def test_noam_is_measured_at_its_peak_not_at_the_base_lr():
    """Adam(lr=1.0) under the Noam factor: the peak is 32^-0.5 x 4000^-0.5, not 1.0."""
    m = run("transformer-lm-noam").measurements
    assert m.overfit_lr == pytest.approx(32 ** -0.5 * 4000 ** -0.5, rel=1e-6)
    assert m.lr_peak_step == 4000


def test_ctc_all_blank_phase_with_a_falling_loss_is_not_a_collapse():
    """Issue 15, case 3: all blank at step 50 while the loss fell ~70%; the probe trains on
    and sees the model leave the all-blank phase."""
    m = run("ctc-lstm-subsampled").measurements
    assert m.loss_drop > 0.6
    first, last = m.ctc_checks[0], m.ctc_checks[-1]
    assert first.step == 50 and first.blank_share > 0.95
    assert m.steps_trained > m.steps_run and last.blank_share < first.blank_share
    assert [check.loss for check in m.ctc_checks] == sorted(
        (check.loss for check in m.ctc_checks), reverse=True)


def test_ctc_collapse_reports_its_loss_curve():
    result = run("ctc-mask-inverted")
    tl904 = next(d for d in result.diagnostics if d.code == "TL904")
    assert "the loss stopped falling" in tl904.message
    assert "(step 0) -> " in tl904.message and "% blank)" in tl904.message
    assert tl904.message.endswith("over the last 50 steps")
