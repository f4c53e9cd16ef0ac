"""TL010 and TL106-TL111 on real fixture files, through the real engine and CLI."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from helpers import FIXTURES, check, run_json
from test_training_code import ODD_SOURCES
from trainlint.formats.python.ast_index import ParsedScript

MY_CODES = ["TL010", "TL106", "TL107", "TL108", "TL109", "TL110", "TL111"]

# fixture -> [(code, line, column, severity)] for its own rule.
EXPECTED = {
    "TL010/bad_store_true_default_true.py": [("TL010", 5, 63, "warning"),
                                             ("TL010", 7, 70, "warning")],
    "TL010/bad_set_defaults.py": [("TL010", 8, 33, "warning")],
    "TL010/good_flags.py": [],
    "TL106/bad_plateau_branch.py": [("TL106", 13, 9, "error")],
    "TL106/bad_self_scheduler.py": [("TL106", 12, 9, "error")],
    "TL106/good_plateau_metric.py": [],
    "TL107/bad_plateau_verbose.py": [("TL107", 12, 9, "error")],
    "TL107/bad_inline_verbose.py": [("TL107", 5, 52, "error"), ("TL107", 6, 64, "error"),
                                    ("TL107", 8, 36, "error")],
    "TL107/good_other_verbose.py": [],
    "TL108/bad_step_first_epoch.py": [("TL108", 19, 9, "warning")],
    "TL108/bad_step_first_batch.py": [("TL108", 11, 13, "warning")],
    "TL108/good_step_after.py": [],
    "TL109/bad_float_tmult.py": [("TL109", 9, 67, "error"), ("TL109", 10, 57, "error"),
                                 ("TL109", 11, 67, "error")],
    "TL109/bad_argparse_float.py": [("TL109", 12, 90, "error")],
    "TL109/good_int_tmult.py": [],
    "TL110/bad_same_lr.py": [("TL110", 14, 46, "info"), ("TL110", 21, 34, "info")],
    "TL110/good_distinct_peak.py": [],
    "TL111/bad_step_epoch.py": [("TL111", 9, 9, "warning"), ("TL111", 18, 9, "error")],
    "TL111/bad_plateau_branch_metric.py": [("TL111", 9, 9, "warning")],
    "TL111/good_step_calls.py": [],
}

# Realistic scripts: which of these rules fire, and where.
SCRIPTS = {
    "seed004_train.py": [("TL107", 59, 13, "error"), ("TL106", 122, 9, "error")],
    "imagenet_steplr.py": [],
    "hf_no_trainer_clm.py": [],
    "lightning_warmup_cosine.py": [],
    "speech_gru_ctc_onecycle.py": [("TL110", 33, 46, "info")],
    "trainer_class_onecycle.py": [("TL110", 15, 20, "info")],
    "legacy_step_first.py": [("TL010", 13, 60, "warning"), ("TL108", 31, 9, "warning"),
                             ("TL111", 31, 9, "warning")],
}


def found(report) -> list[tuple[str, int, int, str]]:
    return sorted((d.code, d.span.line, d.span.col, d.severity.value)
                  for d in report.diagnostics if d.code in MY_CODES)


def test_every_rule_has_bad_and_good_fixtures():
    for code in MY_CODES:
        names = [path.name for path in (FIXTURES / code).glob("*.py")]
        assert any(name.startswith("bad_") for name in names), code
        assert any(name.startswith("good_") for name in names), code


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rule_fixture(name):
    code = name.split("/")[0]
    report = check(FIXTURES / name, select=[code])
    assert found(report) == sorted(EXPECTED[name])


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_training_scripts(name):
    report = check(FIXTURES / "scripts_schedule" / name, select=MY_CODES)
    assert found(report) == sorted(SCRIPTS[name])


def test_tl107_is_a_warning_below_torch_27():
    report = check(FIXTURES / "TL107" / "bad_plateau_verbose.py", {"target-torch": "2.4"},
                   select=["TL107"])
    (diagnostic,) = report.diagnostics
    assert diagnostic.severity.value == "warning"
    assert "deprecated since torch 2.2" in diagnostic.message
    error = check(FIXTURES / "TL107" / "bad_plateau_verbose.py", {"target-torch": "2.7"},
                  select=["TL107"])
    assert error.diagnostics[0].severity.value == "error"


@pytest.mark.parametrize("name", ["bad_plateau_verbose.py", "bad_inline_verbose.py"])
def test_tl107_fix_keeps_the_rest_byte_identical(tmp_path, name):
    source = FIXTURES / "TL107" / name
    target = tmp_path / name
    shutil.copyfile(source, target)
    report = check(target, select=["TL107"], fix=True)
    expected = (FIXTURES / "TL107" / f"{name}.fixed").read_text(encoding="utf-8")
    assert target.read_text(encoding="utf-8") == expected
    assert report.fixed >= 1
    ast.parse(expected)
    again = check(target, select=["TL107"], fix=True)
    assert again.fixed == 0 and not again.diagnostics


def test_seed004_fix_removes_verbose_and_leaves_the_step_bug(tmp_path):
    target = tmp_path / "train.py"
    original = (FIXTURES / "scripts_schedule" / "seed004_train.py").read_text(encoding="utf-8")
    target.write_text(original, encoding="utf-8")
    check(target, select=MY_CODES, fix=True)
    fixed = target.read_text(encoding="utf-8")
    assert "verbose" not in fixed
    assert fixed == original.replace("            verbose=True\n", "")
    assert [d.code for d in check(target, select=MY_CODES).diagnostics] == ["TL106"]


def test_seed004_json_output_through_the_cli():
    path = FIXTURES / "scripts_schedule" / "seed004_train.py"
    code, findings, _ = run_json("check", str(path), "--select", "TL106,TL107")
    assert code == 1
    by_code = {finding["code"]: finding for finding in findings}
    assert by_code["TL106"]["location"] == {"row": 122, "column": 9}
    assert "val_metrics['val_loss']" in by_code["TL106"]["message"]
    assert by_code["TL106"]["fix"] is None
    fix = by_code["TL107"]["fix"]
    assert fix["applicability"] == "safe"
    assert fix["edits"] == [{"content": "", "location": {"row": 59, "column": 1},
                             "end_location": {"row": 60, "column": 1}}]


def test_tl106_message_names_the_metric_for_mode_max():
    report = check(FIXTURES / "TL106" / "bad_self_scheduler.py", select=["TL106"])
    message = report.diagnostics[0].message
    assert "a validation score" in message and "self.lr_scheduler.step(val_acc)" in message


def test_tl109_message_points_at_the_constant():
    report = check(FIXTURES / "TL109" / "bad_float_tmult.py", select=["TL109"])
    messages = [d.message for d in report.diagnostics]
    assert "`T_mult=1.5` (set on line 4)" in messages[1]


# removal_span: the cases the fixtures do not cover.
REMOVALS = [
    ("f = StepLR(opt, 3,\n    verbose=True,  # loud\n    gamma=0.5)\n",
     "f = StepLR(opt, 3,\n    # loud\n    gamma=0.5)\n"),  # the comment stays (issue 11)
    ("f = StepLR(opt, 3\n    , verbose=True\n)\n", "f = StepLR(opt, 3\n)\n"),
    ("f = StepLR(opt, verbose=True,)\n", "f = StepLR(opt,)\n"),
    ("f = StepLR(verbose = (True) , optimizer=opt)\n", "f = StepLR(optimizer=opt)\n"),
    ("f = StepLR(opt, 3,\n    verbose=True\n    )\n", "f = StepLR(opt, 3,\n    )\n"),
]


@pytest.mark.parametrize("source,expected", REMOVALS)
def test_removal_span(source, expected):
    from trainlint.rules.schedule.tl107_scheduler_verbose_removed import removal_span

    script = ParsedScript.parse("t.py", source)
    call = next(node for node in ast.walk(script.tree) if isinstance(node, ast.Call))
    keyword = next(kw for kw in call.keywords if kw.arg == "verbose")
    span = removal_span(script, call, keyword)
    assert span is not None
    result = source[:span.start] + source[span.end:]
    assert result == expected
    ast.parse(result)


def test_removal_span_refuses_when_a_comment_would_go():
    from trainlint.rules.schedule.tl107_scheduler_verbose_removed import removal_span

    source = "f = StepLR(opt,  # the optimizer\n  verbose=True, gamma=0.5)\n"
    script = ParsedScript.parse("t.py", source)
    call = script.tree.body[0].value
    span = removal_span(script, call, call.keywords[0])
    # Deleting "verbose=True, " before gamma keeps the comment.
    assert source[:span.start] + source[span.end:] == (
        "f = StepLR(opt,  # the optimizer\n  gamma=0.5)\n")


def write(tmp_path, source: str) -> Path:
    path = tmp_path / "train.py"
    path.write_text(source, encoding="utf-8")
    return path


def test_scheduler_returned_by_a_factory_function(tmp_path):
    path = write(tmp_path, (
        "from torch.optim.lr_scheduler import ReduceLROnPlateau\n"
        "def make_scheduler(opt):\n"
        "    s = ReduceLROnPlateau(opt, patience=5)\n"
        "    return s\n"
        "def fit(opt, epochs):\n"
        "    sched = make_scheduler(opt)\n"
        "    for epoch in range(epochs):\n"
        "        sched.step()\n"
    ))
    assert found(check(path, select=["TL106"])) == [("TL106", 8, 9, "error")]


def test_scheduler_parameter_follows_the_call_sites(tmp_path):
    """`scheduler` in train_epoch() receives the StepLR, not the other function's plateau."""
    path = write(tmp_path, (
        "from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR\n"
        "def train_epoch(model, loader, optimizer, scheduler):\n"
        "    for batch in loader:\n"
        "        optimizer.step()\n"
        "    scheduler.step()\n"
        "def main(model, loader, optimizer):\n"
        "    step = StepLR(optimizer, step_size=10)\n"
        "    for epoch in range(30):\n"
        "        train_epoch(model, loader, optimizer, scheduler=step)\n"
        "def finetune(optimizer, evaluate):\n"
        "    scheduler = ReduceLROnPlateau(optimizer)\n"
        "    scheduler.step(evaluate())\n"
    ))
    assert found(check(path, select=MY_CODES)) == []


def test_method_parameter_passed_through_self_call(tmp_path):
    path = write(tmp_path, (
        "from torch.optim.lr_scheduler import ReduceLROnPlateau\n"
        "class Loop:\n"
        "    def run(self, opt):\n"
        "        plateau = ReduceLROnPlateau(opt)\n"
        "        for epoch in range(10):\n"
        "            self.end_epoch(plateau)\n"
        "    def end_epoch(self, sched):\n"
        "        sched.step()\n"
    ))
    assert found(check(path, select=["TL106"])) == [("TL106", 8, 9, "error")]


@pytest.mark.parametrize("source", ODD_SOURCES)
def test_rules_never_crash_on_odd_code(source):
    from trainlint.context import RuleContext
    from trainlint.registry import all_rules

    script = ParsedScript.parse("train.py", source)
    for rule_cls in all_rules():
        if rule_cls.code in MY_CODES:
            for diagnostic in rule_cls(RuleContext()).check_script(script):
                assert diagnostic.code == rule_cls.code
