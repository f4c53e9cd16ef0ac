"""TL001-TL008 on the fixture files: code, position and fixed text through the real engine."""

from __future__ import annotations

import shutil

import pytest

from helpers import FIXTURES, check


def _found(report, prefix="TL00"):
    return [(d.path.rsplit("/", 1)[-1], d.code, d.span.line, d.span.col)
            for d in report.diagnostics if d.code.startswith(prefix)]


@pytest.mark.parametrize("name,expected", [
    ("TL001/bad_indentation.yaml", [("bad_indentation.yaml", "TL001", 6, 2)]),
    ("TL001/bad_trailing_comma.json", [("bad_trailing_comma.json", "TL001", 5, 1)]),
    ("TL002/bad_types.yaml", [("bad_types.yaml", "TL002", 2, 5), ("bad_types.yaml", "TL002", 3, 9),
                              ("bad_types.yaml", "TL002", 4, 11)]),
    ("TL002/bad_ranges.json", [("bad_ranges.json", "TL002", 3, 20), ("bad_ranges.json", "TL002", 4, 34),
                               ("bad_ranges.json", "TL002", 6, 19)]),
    ("TL003/bad_typo.json", [("bad_typo.json", "TL003", 3, 3)]),
    ("TL004/bad_espnet.yaml", [("bad_espnet.yaml", "TL004", 5, 9), ("bad_espnet.yaml", "TL004", 6, 19)]),
    ("TL005/bad_repeated_lr.yaml", [("bad_repeated_lr.yaml", "TL005", 5, 1)]),
    ("TL006/bad_hf_args.json", [("bad_hf_args.json", "TL006", 6, 23), ("bad_hf_args.json", "TL006", 9, 19),
                                ("bad_hf_args.json", "TL006", 11, 11)]),
    ("TL006/bad_capped_run.yaml", [("bad_capped_run.yaml", "TL006", 5, 19)]),
    ("TL007/bad_flags.yaml", [("bad_flags.yaml", "TL007", 6, 7), ("bad_flags.yaml", "TL007", 7, 16),
                              ("bad_flags.yaml", "TL007", 8, 14)]),
    ("TL008/bad_v4_args.json", [("bad_v4_args.json", "TL008", 3, 3), ("bad_v4_args.json", "TL008", 4, 3),
                                ("bad_v4_args.json", "TL008", 7, 3)]),
])
def test_bad_fixture_positions(name, expected):
    code = name.split("/")[0]
    assert _found(check(FIXTURES / name, select=[code])) == expected


@pytest.mark.parametrize("code", ["TL001", "TL002", "TL003", "TL004", "TL005", "TL006", "TL007", "TL008"])
def test_good_fixtures_are_quiet(code):
    for path in sorted((FIXTURES / code).glob("good_*")):
        assert _found(check(path)) == [], path


def _fixed(tmp_path, name, requirements=None, **options):
    path = tmp_path / name.split("/")[1]
    shutil.copy(FIXTURES / name, path)
    if requirements is not None:
        (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    check(path, select=[name.split("/")[0]], fix=True, **options)
    return path.read_text()


def test_tl004_fix_keeps_comments_and_indentation(tmp_path):
    original = (FIXTURES / "TL004/bad_espnet.yaml").read_text()
    assert _fixed(tmp_path, "TL004/bad_espnet.yaml") == original.replace(
        "lr: 1e-3          # peak", "lr: 1.0e-3          # peak").replace("1E-6", "1.0E-6")


def test_tl007_fix_quotes_strings_and_writes_booleans(tmp_path):
    fixed = _fixed(tmp_path, "TL007/bad_flags.yaml")
    assert "fp16: true\n" in fixed and 'eval_strategy: "no"\n' in fixed
    assert "push_to_hub: Off\n" in fixed  # unknown type: only with --unsafe-fixes
    assert "push_to_hub: false\n" in _fixed(tmp_path, "TL007/bad_flags.yaml", unsafe_fixes=True)


def test_tl008_fix_renames_exact_replacements_only(tmp_path):
    fixed = _fixed(tmp_path, "TL008/bad_v4_args.json", requirements="transformers>=4.46\n")
    assert '"eval_strategy": "epoch"' in fixed
    assert '"per_device_train_batch_size": 8' in fixed
    assert '"logging_dir": "runs/t5"' in fixed


def test_tl008_respects_target_transformers(tmp_path):
    report = check(FIXTURES / "TL008/bad_v4_args.json", {"target-transformers": "4.46"}, select=["TL008"])
    assert report.diagnostics == []


def test_tl003_no_rename_toward_a_guessed_framework(tmp_path):
    """No code is found reading the file: its framework is guessed from key names, so the
    finding is an info and nothing is renamed (the rename with a known reader:
    tests/test_consumer_rules.py)."""
    assert '"learning_rte"' in _fixed(tmp_path, "TL003/bad_typo.json", unsafe_fixes=True)


# -- TL006: `max_steps` next to an epoch count ------------------------------------------------------

_CAPPED = ("output_dir: out\nper_device_train_batch_size: 8\nnum_train_epochs: 3\n"
           "max_steps: {steps}\n{size}")


@pytest.mark.parametrize("steps,size,expected", [
    (1000, "", ("info", "the steps per epoch are not known")),
    (1000, "dataset_size: 8000\n", ("warning", "1000 steps are 1 epoch of 1000 steps")),
    (4500, "dataset_size: 8000\n", ("warning", "4500 steps are 4.5 epochs of 1000 steps")),
    (3000, "dataset_size: 8000\n", None),  # the same length: nothing is ignored
])
def test_tl006_max_steps_and_epochs_judged_by_the_steps_per_epoch(tmp_path, steps, size, expected):
    config = tmp_path / "args.yaml"
    config.write_text(_CAPPED.format(steps=steps, size=size), encoding="utf-8")
    found = check(config, select=["TL006"]).diagnostics
    if expected is None:
        assert found == []
        return
    [finding] = found
    assert (finding.span.line, finding.span.col, finding.basis) == (3, 19, "schema")
    assert finding.severity.value == expected[0] and expected[1] in finding.message
    assert finding.message.startswith("both `max_steps` and `num_train_epochs` are set; "
                                      "`max_steps` wins")


def test_tl006_capped_run_fixture_says_how_many_epochs_run():
    [finding] = check(FIXTURES / "TL006/bad_capped_run.yaml", select=["TL006"]).diagnostics
    assert finding.severity.value == "warning"
    assert "1000 steps are 1 epoch of 1000 steps" in finding.message
    assert finding.message.endswith("not the 3 asked")


def test_tl006_fixture_epoch_conflict_is_info_without_the_steps_per_epoch():
    report = check(FIXTURES / "TL006/bad_hf_args.json", select=["TL006"])
    assert [(d.span.line, d.severity.value) for d in report.diagnostics] == [
        (6, "info"), (9, "warning"), (11, "warning")]
