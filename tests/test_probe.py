"""`trainlint probe` on tiny models with planted bugs: each check catches its bug and passes
the fixed version. Every planted-bug test also runs on CUDA when a GPU is present."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch


from trainlint.probe import ProbeFailed, ProbeTarget, probe
from trainlint.probe import library, loader

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "probe"
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and oversubscribed cores make them crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_fixture(spec: str, device: str = "cpu", **options):
    """Load FILE:FACTORY from fixtures/probe as the CLI does, probe it, return the result."""
    factory = loader.load_factory(str(FIXTURES / spec))
    target, _ = loader.call_factory(factory, device)
    context = library.context_for(target, None, options.get("select"), options.get("ignore"),
                                  factory.path, factory.span)
    probe_options = library.probe_options(context, options.get("steps"),
                                          options.get("max_seconds"), 0, device)
    return library.run(target, probe_options, context)


def messages(result, code: str) -> list[str]:
    return [d.message for d in result.diagnostics if d.code == code]


@pytest.mark.parametrize("device", DEVICES)
def test_label_smoothing_summed_over_tokens_fires_tl901_and_tl907(device):
    result = run_fixture("label_smoothing_sum.py:buggy", device)
    assert {"TL901", "TL907"} <= set(result.codes)
    m = result.measurements
    assert m.reference_loss == pytest.approx(math.log(32))
    assert m.initial_loss > 30 * m.reference_loss  # summed over 64 tokens
    assert m.ratio_2x == pytest.approx(2.0, rel=1e-3) and m.ratio_4x == pytest.approx(4.0, rel=1e-3)
    assert "its reference 3.466" in messages(result, "TL901")[0]
    diagnostic = result.diagnostics[0]
    assert diagnostic.path.endswith("label_smoothing_sum.py")
    assert (diagnostic.span.line, diagnostic.span.col) == (56, 1)  # `def buggy`


@pytest.mark.parametrize("device", DEVICES)
def test_label_smoothing_averaged_per_token_passes(device):
    result = run_fixture("label_smoothing_sum.py:fixed", device)
    assert result.codes == []
    m = result.measurements
    assert 0.5 < m.initial_loss / m.reference_loss < 2
    assert m.ratio_2x == pytest.approx(1.0, abs=1e-4)
    assert m.loss_drop > 0.3


@pytest.mark.parametrize("device", DEVICES)
def test_ctc_warmup_from_1e5_fires_tl905_and_tl902_at_its_peak(device):
    # TL904's long trajectory on this model (475 steps) is left to the calibration suite.
    result = run_fixture("gru_ctc_warmup.py:buggy", device, ignore=["TL904"])
    assert result.codes == ["TL902", "TL905"]
    m = result.measurements
    assert m.lr_at_start == pytest.approx(1e-5)  # LinearLR's constructor already stepped once
    assert m.overfit_lr == pytest.approx(1e-4)  # the warmup's target, reached at epoch 5
    assert m.lr_peak_step == 5 and m.lr_schedule == []  # a per-epoch schedule
    tl902, tl905 = result.diagnostics
    assert "at LR 0.0001 (Adam; the schedule's peak, at epoch 5)" in tl902.message
    assert tl905.severity.value == "error"  # CTC task
    assert "1e-05" in tl905.message and "5e-05" in tl905.message


@pytest.mark.parametrize("device", DEVICES)
def test_ctc_at_the_validated_lr_passes(device):
    result = run_fixture("gru_ctc_warmup.py:fixed", device)
    assert result.codes == []
    m = result.measurements
    assert m.lr_at_start == m.overfit_lr == pytest.approx(2e-3)
    assert m.ctc is not None and m.ctc.entropy_share < 0.95
    assert m.steps_trained > m.steps_run  # all blank at step 50, loss falling: it trained on
    assert m.ctc_checks[0].blank_share == 1.0 and m.ctc_checks[-1].blank_share < 0.9
    assert 0.5 < m.initial_loss / m.reference_loss < 2


@pytest.mark.parametrize("device", DEVICES)
def test_nan_features_fire_tl903_and_name_the_first_module(device):
    result = run_fixture("nan_features.py:buggy", device)
    assert {"TL903", "TL908"} <= set(result.codes)
    assert "batch[0] holds 2 NaN of 192 values" in messages(result, "TL903")[0]
    tl908 = messages(result, "TL908")[0]
    assert tl908.startswith("first non-finite output: proj (Linear) at step 0")
    assert "input was already non-finite" in tl908
    assert "TL906" not in result.codes and "TL902" not in result.codes


@pytest.mark.parametrize("device", DEVICES)
def test_clean_features_pass(device):
    assert run_fixture("nan_features.py:fixed", device).codes == []


@pytest.mark.parametrize("device", DEVICES)
def test_frozen_model_fires_tl902(device):
    result = run_fixture("frozen_model.py:buggy", device)
    assert result.codes == ["TL902"]
    assert "no parameter requires grad" in messages(result, "TL902")[0]


@pytest.mark.parametrize("device", DEVICES)
def test_model_with_trainable_head_passes(device):
    result = run_fixture("frozen_model.py:fixed", device)
    assert result.codes == []
    assert result.measurements.loss_drop > 0.3


@pytest.mark.parametrize("device", DEVICES)
def test_documented_example_passes_and_measures_everything(device):
    result = run_fixture("example_classifier.py:probe_target", device)
    assert result.codes == []
    m = result.measurements
    assert m.reference_loss == pytest.approx(math.log(4))
    assert m.final_loss < m.initial_loss
    assert m.lr_at_start == pytest.approx(1.5e-3)  # AdamW 3e-3 x LinearLR start_factor 0.5
    assert m.overfit_lr == pytest.approx(3e-3) and m.lr_peak_step == 10  # the warmup's target
    assert m.grad_norm is not None and 1e-3 < m.grad_norm < 100
    assert m.steps_run == 50 and len(m.losses) == 50


def _tiny_target(**fields) -> ProbeTarget:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    batch = (torch.randn(12, 6), torch.arange(12) % 3)
    defaults = dict(model=model, batches=batch, task="classification",
                    loss=lambda logits, batch: torch.nn.functional.cross_entropy(logits, batch[1]))
    return ProbeTarget(**{**defaults, **fields})


def test_uniform_output_scores_exactly_the_reference_even_with_label_smoothing():
    target = _tiny_target(loss=lambda logits, batch: torch.nn.functional.cross_entropy(
        logits, batch[1], label_smoothing=0.2))
    torch.nn.init.zeros_(target.model[2].weight)
    torch.nn.init.zeros_(target.model[2].bias)
    m = probe(target, steps=0, report=False).measurements
    assert m.initial_loss == pytest.approx(m.reference_loss, rel=1e-6)
    assert m.reference_loss == pytest.approx(math.log(3))


def _fixture_target(spec: str, device: str = "cpu") -> ProbeTarget:
    return loader.call_factory(loader.load_factory(str(FIXTURES / spec)), device)[0]


def test_ctc_reference_is_the_loss_of_uniform_log_probs_on_the_batch():
    target = _fixture_target("gru_ctc_warmup.py:fixed")
    torch.nn.init.zeros_(target.model.out.weight)
    torch.nn.init.zeros_(target.model.out.bias)
    m = probe(target, steps=0, report=False).measurements
    assert m.initial_loss == pytest.approx(m.reference_loss, rel=1e-5)
    assert "CTC loss of uniform log-probs" in m.reference_note


def test_ctc_reference_follows_the_declared_reduction():
    target = _fixture_target("gru_ctc_warmup.py:fixed")
    mean = probe(target, steps=0, report=False).measurements.reference_loss
    target.ctc_reduction = "sum"
    summed = probe(target, steps=0, report=False).measurements.reference_loss
    assert summed == pytest.approx(mean * 4 * 4, rel=1e-6)  # 4 samples, 4 target tokens each


def test_probe_restores_model_optimizer_scheduler_and_rng():
    target = _tiny_target()
    model = target.model
    model.eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.25, total_iters=4)
    target.optimizer, target.scheduler = optimizer, scheduler
    state = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer_state = optimizer.state_dict()
    rng = torch.get_rng_state()
    result = probe(target, report=False)
    assert result.measurements.steps_run == 50
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert not model.training and not any(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert optimizer.state_dict()["state"] == {}
    assert optimizer.param_groups[0]["lr"] == optimizer_state["param_groups"][0]["lr"] == 2.5e-4
    assert scheduler.last_epoch == 0
    assert torch.equal(torch.get_rng_state(), rng)
    optimizer.step()  # the run goes on as if nothing happened
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(4.375e-4)


def test_exploding_gradients_fire_tl906():
    torch.manual_seed(0)
    target = _tiny_target(model=torch.nn.Linear(6, 3),
                          batches=(torch.randn(12, 6) * 1e6, torch.arange(12) % 3))
    result = probe(target, steps=1, report=False)
    assert "TL906" in result.codes
    assert "explode" in messages(result, "TL906")[0]


def test_vanishing_gradients_fire_tl906():
    target = _tiny_target(loss=lambda logits, batch: 1e-12 * torch.nn.functional.cross_entropy(
        logits, batch[1]), reference_loss=1e-12 * math.log(3))
    result = probe(target, steps=1, report=False)
    assert "vanish" in messages(result, "TL906")[0]


class _Sqrt(torch.nn.Module):
    def forward(self, x):
        return torch.sqrt(x.abs())


def test_gradient_that_goes_non_finite_in_backward_is_located():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), _Sqrt(), torch.nn.Linear(4, 2))
    torch.nn.init.zeros_(model[0].weight)
    torch.nn.init.zeros_(model[0].bias)  # sqrt'(0) is infinite
    target = ProbeTarget(model=model, batches=(torch.randn(8, 4), torch.arange(8) % 2),
                         task="classification",
                         loss=lambda out, batch: torch.nn.functional.cross_entropy(out, batch[1]))
    result = probe(target, report=False)
    assert {"TL903", "TL908"} <= set(result.codes)
    assert "non-finite gradients" in messages(result, "TL903")[0]
    assert messages(result, "TL908")[0].startswith(
        "first non-finite parameter gradient: 0 (Linear) at step 0, backward")


def test_nan_loss_from_the_loss_function_is_reported_without_a_module():
    target = _tiny_target(loss=lambda logits, batch: torch.log(logits.sum() * 0 - 1))
    result = probe(target, report=False)
    assert "TL903" in result.codes and "TL908" not in result.codes
    assert any("arose in the loss function" in note for note in result.notes)


def test_time_limit_stops_the_steps_and_skips_tl902():
    target = _tiny_target()
    result = probe(target, steps=10_000, max_seconds=0.2, report=False)
    m = result.measurements
    assert 0 < m.steps_run < 10_000
    assert "TL902" not in result.codes
    assert any("TL902 skipped" in note and "--max-seconds" in note for note in result.notes)


def test_strict_raises_on_findings():
    target = _tiny_target(loss=lambda logits, batch: torch.nn.functional.cross_entropy(
        logits, batch[1], reduction="sum"))
    with pytest.raises(ProbeFailed) as raised:
        probe(target, steps=5, report=False, strict=True)
    assert "TL907" in raised.value.result.codes


def test_other_ranks_skip(monkeypatch):
    monkeypatch.setattr(library, "_distributed_rank", lambda: 3)
    result = probe(_tiny_target(), report=True)
    assert result.skipped == "rank 3: only rank 0 probes" and result.measurements is None


def test_library_report_prints_table_plot_and_findings(capsys):
    target = _tiny_target(loss=lambda logits, batch: torch.nn.functional.cross_entropy(
        logits, batch[1], reduction="sum"))
    probe(target, steps=20)
    out = capsys.readouterr().out
    for label in ("initial loss", "loss after 20 steps", "LR at step 0", "gradient norm at init",
                  "loss on batch x2 / x4", "loss per step", "TL907", "Found"):
        assert label in out, label
    assert "test_probe.py" not in out.splitlines()[0]


def test_select_and_ignore_apply():
    target = _tiny_target(loss=lambda logits, batch: torch.nn.functional.cross_entropy(
        logits, batch[1], reduction="sum"))
    assert probe(target, steps=5, report=False, select=["TL907"]).codes == ["TL907"]
    assert "TL907" not in probe(target, steps=5, report=False, ignore=["TL907"]).codes


def test_settings_thresholds_and_severities_apply():
    from trainlint.settings import Settings

    target = _tiny_target(loss=lambda logits, batch: torch.nn.functional.cross_entropy(
        logits, batch[1], reduction="sum"))
    settings = Settings(rules={"TL907": {"min_ratio_2x": 2.5, "min_ratio_4x": 5.0},
                               "TL901": {"severity": "info"}})
    result = probe(target, steps=5, report=False, settings=settings)
    assert "TL907" not in result.codes
    assert [d.severity.value for d in result.diagnostics if d.code == "TL901"] == ["info"]


def test_hf_style_model_with_loss_in_outputs():
    class HFLike(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(20, 8)
            self.head = torch.nn.Linear(8, 20)

        def forward(self, input_ids, labels=None):
            logits = self.head(self.embed(input_ids))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 20), labels.reshape(-1),
                                                     ignore_index=-100)
            return {"loss": loss, "logits": logits}

    torch.manual_seed(0)
    ids = torch.randint(0, 20, (4, 10))
    labels = torch.full_like(ids, -100)
    labels[:, ::3] = ids[:, ::3]  # MLM: only some tokens are predicted
    result = probe(ProbeTarget(model=HFLike(), batches={"input_ids": ids, "labels": labels},
                               task="mlm", optimizer=lambda model: torch.optim.Adam(
                                   model.parameters(), lr=1e-2)), report=False)
    m = result.measurements
    assert m.num_classes == 20 and "last dimension" in m.num_classes_source
    assert result.codes == []


@pytest.mark.parametrize("warmup,fires", [(500, False), (50_000, True)])
def test_tl905_follows_a_per_step_warmup_from_zero(warmup, fires):
    def linear_warmup(optimizer):  # Hugging Face's get_linear_schedule_with_warmup, warmup part
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / warmup))

    target = _tiny_target(optimizer=lambda model: torch.optim.AdamW(model.parameters(), lr=1e-3),
                          scheduler=linear_warmup, lr_floor=5e-4)
    result = probe(target, steps=2, report=False, select=["TL905"])
    assert result.measurements.lr_at_start == 0.0
    assert (result.codes == ["TL905"]) is fires
    if fires:
        assert "stays below it for 2,500 steps" in result.diagnostics[0].message
    assert result.measurements.lr_schedule[:3] == pytest.approx([0.0, 1e-3 / warmup, 2e-3 / warmup])
