"""Acceptance: the five training notes, rebuilt as configs and scripts under fixtures/seeds.

Every "before" setup fires the rule for the lesson its note learned, at the value to change;
every "after" setup passes; --unsafe-fixes turns each "before" into a setup that passes.
"""

from __future__ import annotations

import shutil

import pytest

from helpers import FIXTURES, ROOT, check, run_cli

SEEDS = FIXTURES / "seeds"

# before file -> the lessons: (code, line of the value to change)
BEFORE = {
    "000_conformer/mono_optimized.yaml": [("TL103", 20), ("TL303", 21)],
    "001_teacher/before/train_teacher.py": [("TL301", 40)],
    "002_babylm/before/model_babylm_ltg_bert.json": [("TL102", 17), ("TL202", 19), ("TL103", 20)],
    "003_speech_bci/speechBaseline4.py": [("TL102", 10), ("TL105", 11)],
    "004_ctc_student/before/train.py": [("TL102", 76), ("TL301", 82), ("TL302", 82), ("TL101", 97)],
}
AFTER = {
    "000_conformer/mono_optimized_v2.yaml": "000_conformer/mono_optimized.yaml",
    "001_teacher/after/train_teacher.py": "001_teacher/before/train_teacher.py",
    "002_babylm/after/model_babylm_ltg_bert.json": "002_babylm/before/model_babylm_ltg_bert.json",
    "003_speech_bci/run16_5.py": "003_speech_bci/speechBaseline4.py",
    "004_ctc_student/after/train.py": "004_ctc_student/before/train.py",
}
LESSON_FAMILIES = ("TL1", "TL2", "TL3")


def _lessons(report):
    return sorted((d.code, d.span.line) for d in report.diagnostics
                  if d.code.startswith(LESSON_FAMILIES) and d.severity.value != "info"
                  or d.code == "TL303")


@pytest.mark.parametrize("before", sorted(BEFORE))
def test_before_fires_its_lessons_at_the_value(before):
    report = check(SEEDS / before)
    assert _lessons(report) == sorted(BEFORE[before])


@pytest.mark.parametrize("after", sorted(AFTER))
def test_after_passes(after):
    report = check(SEEDS / after)
    loud = [(d.code, d.span.line, d.message) for d in report.diagnostics if d.severity.value != "info"]
    assert loud == []
    lesson_codes = {code for code, _ in BEFORE[AFTER[after]]}
    assert not lesson_codes & {d.code for d in report.diagnostics}


def test_cli_prints_each_lesson_at_its_line():
    code, out, _ = run_cli("check", "fixtures/seeds", cwd=ROOT)
    assert code == 1
    for before, lessons in BEFORE.items():
        for rule, line in lessons:
            assert f"fixtures/seeds/{before}:{line}:" in out and rule in out


def test_unsafe_fixes_turn_every_before_into_a_passing_setup(tmp_path):
    copy = tmp_path / "seeds"
    shutil.copytree(SEEDS, copy)
    code, _, err = run_cli("check", str(copy), "--unsafe-fixes", cwd=tmp_path)
    assert err == "" or "Traceback" not in err
    for before in BEFORE:
        report = check(copy / before)
        loud = [(d.code, d.span.line, d.message) for d in report.diagnostics if d.severity.value != "info"]
        assert loud == [], before
        assert (copy / before).read_text() != (SEEDS / before).read_text()


def test_fixed_values_follow_the_notes(tmp_path):
    copy = tmp_path / "seeds"
    shutil.copytree(SEEDS, copy)
    run_cli("check", str(copy), "--unsafe-fixes", cwd=tmp_path)
    babylm = (copy / "002_babylm/before/model_babylm_ltg_bert.json").read_text()
    assert '"learning_rate": 2e-4' in babylm and '"warmup_steps_proportion": 0.06' in babylm
    student = (copy / "004_ctc_student/before/train.py").read_text()
    assert "default=5e-4" in student and "default=30" in student
    assert "default=15" not in student
    teacher = (copy / "001_teacher/before/train_teacher.py").read_text()
    assert 'parser.add_argument("--patience", type=int, default=30)' in teacher
    baseline = (copy / "003_speech_bci/speechBaseline4.py").read_text()
    assert "args['lrStart'] = 0.001" in baseline and "args['lrEnd'] = 0.00001" in baseline
