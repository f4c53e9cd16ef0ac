"""The probe's pure parts: judging measurements, LR bands, the plot, CTC helpers, specs, docs."""

from __future__ import annotations

import math

import pytest

from trainlint.api import Severity, Span
from trainlint.context import RuleContext
from trainlint.probe import render
from trainlint.probe.ctc import greedy_decode
from trainlint.probe.findings import Judgement, judge, probe_rule_classes, selected_rules, table_rows
from trainlint.probe.loader import split_spec
from trainlint.probe.measurements import BadModule, CTCCheck, CTCStats, Measurements, NonFinite
from trainlint.probe.options import ProbeOptions
from trainlint.rules.probe import lr_bands

SPAN = Span(0, 10, 3, 1, 3, 11)


def judged(m: Measurements, **where) -> tuple[list, list[str]]:
    judgement = Judgement("factory.py", SPAN, **where)
    return judge(m, judgement), judgement.notes


def healthy(**changes) -> Measurements:
    m = Measurements(task="classification", initial_loss=2.4, reference_loss=math.log(10),
                     reference_note="ln 10", final_loss=0.5, steps_requested=50, steps_run=50,
                     steps_trained=50, overfit_lr_source="the optimizer's LR; no scheduler",
                     lr_at_start=1e-3, overfit_lr=1e-3, optimizer_name="AdamW", grad_norm=1.5,
                     trainable_params=100, total_params=100, ratio_2x=1.0, ratio_4x=1.0)
    for name, value in changes.items():
        setattr(m, name, value)
    return m


def codes(diagnostics) -> list[str]:
    return [d.code for d in diagnostics]


def test_healthy_measurements_pass_with_one_note_for_the_unknown_band():
    diagnostics, notes = judged(healthy())
    assert diagnostics == []
    assert len(notes) == 1 and notes[0].startswith("TL905 not checked: no model type is known")


@pytest.mark.parametrize("initial,fires", [(1.16, False), (1.15, True), (4.6, False), (4.61, True)])
def test_tl901_band_is_half_to_twice_the_reference(initial, fires):
    diagnostics, _ = judged(healthy(initial_loss=initial, reference_loss=2.303))
    assert ("TL901" in codes(diagnostics)) is fires


def test_tl901_options_come_from_settings():
    ctx = RuleContext(rule_options={"TL901": {"low_factor": 0.1, "high_factor": 10.0}})
    diagnostics, _ = judged(healthy(initial_loss=20.0, reference_loss=2.303), ctx=ctx)
    assert codes(diagnostics) == []


def test_diagnostics_point_at_the_factory_with_the_rules_url():
    diagnostic = judged(healthy(initial_loss=500.0))[0][0]
    assert (diagnostic.path, diagnostic.span, diagnostic.name) == (
        "factory.py", SPAN, "initial-loss-out-of-range")
    assert diagnostic.url.endswith("/TL901.md") and diagnostic.severity is Severity.ERROR


def test_tl902_needs_a_thirty_percent_drop_after_all_steps():
    assert codes(judged(healthy(final_loss=1.6))[0]) == []  # -33%
    diagnostics, _ = judged(healthy(final_loss=1.72))
    assert codes(diagnostics) == ["TL902"]
    assert "cut the loss by 28% (2.4 -> 1.72)" in diagnostics[0].message
    assert "at LR 0.001 (AdamW; the optimizer's LR; no scheduler)" in diagnostics[0].message


def test_tl902_says_the_overfit_steps_ran_at_the_schedules_peak():
    m = healthy(final_loss=2.3, lr_at_start=0.0, overfit_lr=3e-3, lr_peak_step=2000,
                overfit_lr_source="the schedule's peak, at step 2,000")
    diagnostics, _ = judged(m)
    assert "at LR 0.003 (AdamW; the schedule's peak, at step 2,000)" in diagnostics[0].message
    rows = dict((name, (value, note)) for name, value, note in rows_of(m))
    assert rows["LR of the overfit steps"] == ("0.003", "AdamW: the schedule's peak, at step 2,000")
    assert rows["LR at step 0"][0] == "0"


def test_tl902_is_skipped_when_the_time_limit_cut_the_steps():
    diagnostics, notes = judged(healthy(final_loss=2.3, steps_run=7, stop_reason="stopped early"))
    assert "TL902" not in codes(diagnostics)
    assert "TL902 skipped: stopped early" in notes


def test_tl902_names_a_loss_detached_from_the_parameters():
    diagnostics, _ = judged(healthy(loss_has_grad=False, final_loss=None, steps_run=0))
    assert codes(diagnostics) == ["TL902"]
    assert ".detach()" in diagnostics[0].message


def test_tl903_and_tl908_report_where():
    m = healthy(non_finite=NonFinite("loss", 7, "the loss at step 7 is nan"),
                first_bad_module=BadModule("decoder.attn", "MultiheadAttention", "forward", 7, True))
    diagnostics, notes = judged(m)
    assert codes(diagnostics) == ["TL903", "TL908"]
    assert diagnostics[0].message == "non-finite loss: the loss at step 7 is nan"
    assert diagnostics[1].message == ("first non-finite output: decoder.attn (MultiheadAttention) "
                                      "at step 7, forward; its input was finite: the module "
                                      "produced it")


def rows_of(m: Measurements, **where) -> list[tuple[str, str, str]]:
    judgement = Judgement("factory.py", SPAN, **where)
    return table_rows(m, judgement, selected_rules(judgement.ctx, [], []))


def ctc_stats(**changes) -> CTCStats:
    stats = CTCStats(frames=100, blank_share=0.6, emitted_share=0.4, needed_share=0.3,
                     entropy_share=0.3, same_output=False, single_token=None,
                     distinct_target_tokens=8, distinct_targets=4)
    for name, value in changes.items():
        setattr(stats, name, value)
    return stats


def flat_losses(steps: int = 50, start: float = 6.9, fall_per_step: float = 0.0) -> list[float]:
    return [start - fall_per_step * step for step in range(steps)]


def ctc_run(stats: CTCStats, losses: list[float], steps: int = 50, **changes) -> Measurements:
    checks = [CTCCheck(steps, losses[-1], stats.blank_share)]
    return healthy(task="ctc", ctc=stats, ctc_steps=steps, steps_trained=steps, losses=losses,
                   ctc_checks=checks, **changes)


@pytest.mark.parametrize("changes,reason", [
    ({"blank_share": 0.97, "emitted_share": 0.03}, "97% of frames predict blank"),
    ({"same_output": True, "example": (7, 3)}, "every input decodes to the same output [7, 3]"),
    ({"single_token": 5}, "token 5 is the only non-blank prediction"),
    ({"entropy_share": 0.99}, "still near uniform (mean frame entropy 99% of ln(C))"),
])
def test_tl904_collapse_signs_with_a_flat_loss(changes, reason):
    diagnostics, _ = judged(ctc_run(ctc_stats(**changes), flat_losses()))
    assert codes(diagnostics) == ["TL904"]
    message = diagnostics[0].message
    assert reason in message and "the loss stopped falling" in message
    assert "loss 6.9 (step 0) -> 6.9 (step 50" in message and "+0.0% over the last 50 steps" in message


def test_tl904_needs_the_loss_to_have_stopped_falling():
    """Issue 15: 95% blank while the loss still falls is the all-blank phase of a healthy model."""
    stats = ctc_stats(blank_share=0.95, emitted_share=0.05)
    falling = ctc_run(stats, flat_losses(fall_per_step=0.02), steps=1000)  # -14% over 50 steps
    diagnostics, notes = judged(falling)
    assert codes(diagnostics) == []
    assert notes[0].startswith("TL904 undecided: after 1000 steps the CTC predictions still look "
                               "collapsed (95% of frames predict blank")
    assert "the loss still falls (-14.2% over the last 50 steps)" in notes[0]
    assert "the probe trains at most 20 x --steps" in notes[0]
    slow = ctc_run(stats, flat_losses(fall_per_step=0.002))  # -1.4% over 50 steps
    assert codes(judged(slow)[0]) == ["TL904"]


def test_tl904_asks_for_more_steps_while_the_loss_falls():
    rule = next(r for r in selected_rules(RuleContext(), ["TL904"], []))
    stats = ctc_stats(blank_share=0.97, emitted_share=0.03)
    assert rule.wants_more_steps(ctc_run(stats, flat_losses(fall_per_step=0.02)))
    assert not rule.wants_more_steps(ctc_run(stats, flat_losses()))  # stopped falling: decided
    assert not rule.wants_more_steps(ctc_run(ctc_stats(), flat_losses(fall_per_step=0.02)))
    assert not rule.wants_more_steps(ctc_run(stats, flat_losses(1000, fall_per_step=0.002),
                                             steps=1000))  # 20 x 50 steps: the cap
    assert rule.wants_more_steps(ctc_run(stats, flat_losses(3), steps=3))  # too few to tell
    options = ProbeOptions()
    from trainlint.probe.findings import prepare

    prepare([rule], options)
    assert options.more_steps is not None and options.steps == 50


def test_tl904_loss_fall_reads_a_line_through_noisy_steps():
    rule = next(r for r in selected_rules(RuleContext(), ["TL904"], []))
    noisy = [5.0 + (0.3 if step % 2 else -0.3) for step in range(50)]
    assert abs(rule.loss_fall(noisy)) < 0.01
    assert rule.loss_fall([2.0, 1.0]) is None  # too few steps to judge


def test_tl904_accepts_a_mostly_blank_model_whose_targets_are_short():
    """Word-level CTC: 4 target words over 100 frames; 95% blank is a fitted model."""
    stats = ctc_stats(blank_share=0.95, emitted_share=0.05, needed_share=0.04)
    assert codes(judged(ctc_run(stats, flat_losses()))[0]) == []


def test_tl904_accepts_predictions_that_decode_the_targets():
    stats = ctc_stats(blank_share=0.97, emitted_share=0.03, exact_share=0.75)
    assert codes(judged(ctc_run(stats, flat_losses()))[0]) == []


def test_tl904_out_of_time_is_a_note():
    m = ctc_run(ctc_stats(entropy_share=0.99), flat_losses(fall_per_step=0.02), steps=80,
                out_of_time=True)
    diagnostics, notes = judged(m)
    assert "TL904" not in codes(diagnostics)
    assert any(note.startswith("TL904 undecided") and "--max-seconds ran out" in note
               for note in notes)


def test_tl905_uses_the_explicit_floor_and_is_an_error_for_ctc():
    diagnostics, _ = judged(healthy(task="ctc", lr_at_start=1e-5), lr_floor=5e-4)
    assert codes(diagnostics) == ["TL905"]
    assert diagnostics[0].severity is Severity.ERROR
    assert "below 5e-05 (lr_floor 0.0005 / 10)" in diagnostics[0].message
    diagnostics, _ = judged(healthy(lr_at_start=1e-5), lr_floor=5e-4)
    assert diagnostics[0].severity is Severity.WARNING


def test_tl905_reads_the_band_of_the_model_type(monkeypatch):
    monkeypatch.setattr(lr_bands, "package_bands", lambda: {"rnn-ctc": {"low": 5e-4, "high": 2e-3}})
    diagnostics, _ = judged(healthy(task="ctc", lr_at_start=1e-5, optimizer_name="Adam"),
                            model_type="rnn-ctc")
    assert codes(diagnostics) == ["TL905"]
    assert "the rnn-ctc band floor (lr_bands.toml) 0.0005 / 10" in diagnostics[0].message
    quiet, notes = judged(healthy(lr_at_start=1e-5, optimizer_name="Lion"), model_type="rnn-ctc")
    assert codes(quiet) == [] and "does not hold for Lion" in notes[0]
    quiet, _ = judged(healthy(lr_at_start=1e-5, optimizer_eps=1e-2), model_type="rnn-ctc")
    assert codes(quiet) == []


def test_settings_bands_win_over_the_package_table(monkeypatch):
    monkeypatch.setattr(lr_bands, "package_bands", lambda: {"ctc": [3e-4, 1e-3]})
    ctx = RuleContext(tables={"bands": {"ctc": {"band": [1e-2, 5e-2]}}})
    diagnostics, _ = judged(healthy(lr_at_start=5e-4), model_type="ctc", ctx=ctx)
    assert "below 0.001 (the ctc band floor ([tool.trainlint.bands]) 0.01 / 10)" in (
        diagnostics[0].message)


@pytest.mark.parametrize("entry,floor", [
    ([5e-4, 2e-3], 5e-4), ({"band": [1e-3, 5e-3]}, 1e-3), ({"min": 2e-4, "max": 5e-4}, 2e-4),
    ({"range": {"low": 3e-4}}, 3e-4), ({"suggested": 1e-3}, None), ("fast", None),
])
def test_band_floor_shapes(monkeypatch, entry, floor):
    monkeypatch.setattr(lr_bands, "package_bands", lambda: {"m": entry})
    found = lr_bands.find_floor("m")
    assert (found.value if found else None) == floor


def test_tl906_and_tl907_thresholds():
    assert codes(judged(healthy(grad_norm=5e-8))[0]) == ["TL906"]
    assert codes(judged(healthy(grad_norm=2e3))[0]) == ["TL906"]
    assert codes(judged(healthy(ratio_2x=1.4, ratio_4x=3.5))[0]) == []
    assert codes(judged(healthy(ratio_2x=2.0, ratio_4x=4.0))[0]) == ["TL907"]


def test_select_and_ignore_prefixes():
    m = healthy(initial_loss=500.0, ratio_2x=2.0, ratio_4x=4.0)
    assert codes(judged(m)[0]) == ["TL901", "TL907"]
    assert codes(judged(m, select=["TL907"])[0]) == ["TL907"]
    assert codes(judged(m, ignore=["TL9"])[0]) == []


def test_loss_plot_draws_columns_and_labels():
    chart = render.loss_plot([4.0, 3.0, 2.0, 1.0], height=4)
    lines = chart.splitlines()
    assert len(lines) == 5 and lines[0].startswith("  4 |") and lines[3].startswith("  1 |")
    assert lines[0] == "  4 |█   " and lines[3] == "  1 |███▁"  # the lowest stays visible
    assert "step 0 .. 3 (linear scale)" in lines[4]
    assert "log scale" in render.loss_plot([500.0, 50.0, 5.0])
    assert render.loss_plot([3.0, 1.0], ascii_only=True).isascii()
    assert render.loss_plot([1.0]) == ""


def test_loss_plot_buckets_long_runs():
    chart = render.loss_plot([float(200 - i) for i in range(200)], width=40)
    assert len(chart.splitlines()[0].split("|", 1)[1]) == 40


def test_greedy_decode_collapses_repeats_then_drops_blanks():
    assert greedy_decode([0, 3, 3, 0, 3, 5, 5, 0], 0) == (3, 3, 5)


@pytest.mark.parametrize("spec,expected", [
    ("train.py:make", ("train.py", "make")),
    ("pkg.mod:factory", ("pkg.mod", "factory")),
    ("train.py", ("train.py", "probe_target")),
    (r"C:\work\train.py", (r"C:\work\train.py", "probe_target")),
    (r"C:\work\train.py:make", (r"C:\work\train.py", "make")),
])
def test_split_spec(spec, expected):
    assert split_spec(spec) == expected


def test_every_probe_rule_is_found_by_the_registry():
    assert [rule.code for rule in probe_rule_classes()] == [f"TL90{n}" for n in range(1, 9)]


@pytest.mark.parametrize("rule", probe_rule_classes(), ids=lambda rule: rule.code)
def test_probe_rule_docs_follow_the_template(rule):
    doc = rule.__doc__ or ""
    sections = ["## What it does", "## Why is this bad?", "## Example", "## Use instead",
                "## Fix safety", "## Options", "## Source"]
    assert [doc.index(section) for section in sections] == sorted(doc.index(s) for s in sections)
    assert rule.code.startswith("TL90") and rule.fix_availability.value == "none"
    if rule.Options is not None:
        for name in rule.Options.__struct_fields__:
            assert f"`{name}`" in doc, f"{rule.code} does not document option {name}"
    assert "seed" in doc.split("## Source", 1)[1].lower()


def test_the_documented_example_is_the_fixture_file():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "probe.md").read_text(encoding="utf-8")
    section = doc.split("## A complete example", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert block == (root / "fixtures" / "probe" / "example_classifier.py").read_text(encoding="utf-8")
