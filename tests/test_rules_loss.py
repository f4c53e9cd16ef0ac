"""TL601-TL605 on real fixture files through the real engine."""

from __future__ import annotations

import pytest
from helpers import FIXTURES, check
from test_rules_checkpoint import assert_fix, fixture_findings

CODES = ["TL601", "TL602", "TL603", "TL604", "TL605"]

EXPECTED = {
    "TL601/bad_label_smoothing_espnet.py": [("TL601", 54, 16, "warning")],
    "TL601/bad_sum_over_batch.py": [("TL601", 10, 12, "warning"), ("TL601", 15, 12, "warning"),
                                    ("TL601", 19, 10, "warning")],
    "TL601/good_token_normalized.py": [],
    "TL601/good_fairseq_criterion.py": [],
    "TL601/good_sum_left_to_caller.py": [],
    "TL602/bad_kldiv_default.py": [("TL602", 8, 19, "warning"), ("TL602", 17, 23, "warning")],
    "TL602/good_batchmean.py": [],
    "TL603/bad_softmax_ce.py": [("TL603", 15, 31, "error"), ("TL603", 20, 28, "error"),
                                ("TL603", 24, 34, "warning")],
    "TL603/good_logits.py": [],
    "TL604/bad_linear_logits.py": [("TL604", 19, 25, "error"), ("TL604", 24, 35, "error"),
                                   ("TL604", 29, 35, "error")],
    "TL604/good_log_probs.py": [],
    "TL605/bad_sequential_softmax.py": [("TL605", 7, 5, "error")],
    "TL605/bad_forward_softmax.py": [("TL605", 12, 16, "warning"), ("TL605", 22, 16, "error")],
    "TL605/good_logits_model.py": [],
    "TL605/good_nll_only.py": [],
}


def test_every_rule_has_bad_and_good_fixtures():
    for code in CODES:
        names = [path.name for path in (FIXTURES / code).glob("*.py")]
        assert any(n.startswith("bad_") for n in names) and any(n.startswith("good_") for n in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rule_fixture(name):
    assert fixture_findings(name) == sorted(EXPECTED[name])


def test_tl602_fix_keeps_quotes_and_layout(tmp_path):
    assert_fix(tmp_path, "TL602/bad_kldiv_default.py", unsafe=True)


def test_tl601_names_the_seed_000_flag_default():
    report = check(FIXTURES / "TL601" / "bad_label_smoothing_espnet.py", select=["TL601"])
    (diagnostic,) = report.diagnostics
    assert "`self.normalize_length` is False by default" in diagnostic.message
    assert "KLDivLoss(reduction='none')" in diagnostic.message


def test_tl601_follows_the_flag_when_it_defaults_to_true(tmp_path):
    source = (FIXTURES / "TL601" / "bad_label_smoothing_espnet.py").read_text(encoding="utf-8")
    path = tmp_path / "loss.py"
    path.write_text(source.replace("normalize_length=False,", "normalize_length=True,"),
                    encoding="utf-8")
    assert check(path, select=["TL601"]).diagnostics == []


def test_tl603_and_tl605_point_at_the_softmax():
    report = check(FIXTURES / "TL605" / "bad_sequential_softmax.py", select=["TL605"])
    assert "nn.Softmax(dim=1)" in report.diagnostics[0].message
    report = check(FIXTURES / "TL603" / "bad_softmax_ce.py", select=["TL603"])
    assert "(line 14)" in report.diagnostics[0].message


def test_tl604_sees_through_self_call_to_forward():
    report = check(FIXTURES / "TL604" / "bad_linear_logits.py", select=["TL604"])
    first = report.diagnostics[0]
    assert "Linear layer (line 15)" in first.message
