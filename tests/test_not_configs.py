"""Files that are not training setups: data JSON, editor settings, and test code.

The fixtures in fixtures/not_configs/ each gave findings before (TL001 on JSON Lines, NaN
tables and JSONC; TL002/TL003/TL103 on a vocabulary whose tokens are training keys)."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import FIXTURES, run_cli, run_json
from trainlint.formats.json import data_kind

NOT_CONFIGS = FIXTURES / "not_configs"

DATA_FILES = {
    "vocab.json": "a lookup table of 80 entries, a vocabulary or a label map",
    "tokenizer.json": "a tokenizer definition",
    "samples.json": "a JSON array (records or values)",
    "train_log.json": "JSON Lines records",
    "layer_snr.json": "a table of 20 records",
    "all_results.json": "metric results",
    "golden_values.json": "series and tables of 84 values",
}


@pytest.mark.parametrize("name", sorted(DATA_FILES))
def test_data_file_is_skipped_with_a_note(name):
    code, out, err = run_cli("check", "--verbose", "--include-tests", str(NOT_CONFIGS / name))
    assert code == 0, out + err
    assert f"{name}: skipped ({DATA_FILES[name]}; not a training setup)" in out + err


def test_data_folder_has_no_findings_but_the_test_input():
    code, found, _ = run_json("check", "--include-tests", str(NOT_CONFIGS))
    assert {(d["filename"].split("not_configs/")[1], d["code"]) for d in found} == {
        ("tests/bad_hf_args.yaml", "TL002"), ("tests/bad_hf_args.yaml", "TL201")}
    assert code == 1


@pytest.mark.parametrize("text", [
    '{"learning_rate": 3e-4, "per_device_train_batch_size": 8, "num_train_epochs": 3}',
    '{"train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "AdamW", "params": {"lr": 1e-4}}}',
    '{"lr": 0.1, "epochs": 90}\n',
    '{"lr": 0.1,\n "epochs": 90}\n',
    '{"lr": 0.1, "epochs": 90} trailing',  # not JSON: the full reader reports it
    json.dumps({"args": {"learning_rate": 5e-5, "num_train_epochs": 2},  # a sweep
                "experiment": [{"name": f"r{rank}", "args": {"lora_rank": rank}}
                               for rank in range(1, 25)]}),
])
def test_configs_are_not_data(text):
    assert data_kind(text) is None


def test_config_beside_data_is_still_checked(tmp_path):
    shutil.copy(NOT_CONFIGS / "vocab.json", tmp_path / "vocab.json")
    (tmp_path / "train.json").write_text(
        '{"learning_rate": -3e-4, "per_device_train_batch_size": 8, "num_train_epochs": 3}\n')
    _, found, _ = run_json("check", str(tmp_path))
    assert [(d["filename"].rsplit("/", 1)[1], d["code"], d["location"]["row"],
             d["location"]["column"]) for d in found if d["severity"] == "error"] == [
        ("train.json", "TL002", 1, 19)]


def test_devcontainer_folder_is_skipped_when_walking():
    code, out, err = run_cli("check", "--verbose", str(NOT_CONFIGS))
    assert ".devcontainer: skipped (dev-container settings, JSONC; not a training setup)" in out
    assert "devcontainer.json" not in out.replace(".devcontainer:", "")


def test_repository_automation_folder_is_skipped_when_walking():
    """A link checker's settings (a regex escape JSON rejects) and CI workflows under .github/
    are no training setup: skipped with a note, never a TL001."""
    code, out, err = run_cli("check", "--verbose", str(NOT_CONFIGS))
    assert (".github: skipped (repository automation: CI workflows, templates, bot settings; "
            "not a training setup)") in out
    assert "link_check_config.json" not in out and "smoke.yml" not in out
    code, out, err = run_cli("check", str(NOT_CONFIGS / ".github" / "scripts"))
    assert code == 1 and "link_check_config.json:4:18: TL001" in out  # named, it is checked


def test_findings_in_test_code_are_info_unless_include_tests():
    path = str(NOT_CONFIGS / "tests" / "bad_hf_args.yaml")
    code, found, _ = run_json("check", path)
    tl002 = [d for d in found if d["code"] == "TL002"]
    assert [(d["severity"], d["location"]["row"], d["location"]["column"]) for d in tl002] == [
        ("info", 2, 16)]
    assert code == 0
    code, found, _ = run_json("check", "--include-tests", path)
    assert [d["severity"] for d in found if d["code"] == "TL002"] == ["error"]
    assert code == 1


def test_include_tests_setting(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy(NOT_CONFIGS / "tests" / "bad_hf_args.yaml", tests / "args.yaml")
    (tmp_path / "pyproject.toml").write_text("[tool.trainlint]\ninclude-tests = true\n")
    code, found, _ = run_json("check", str(tmp_path))
    assert [d["severity"] for d in found if d["code"] == "TL002"] == ["error"]
    code, found, _ = run_json("check", "--no-include-tests", str(tmp_path))
    assert [d["severity"] for d in found if d["code"] == "TL002"] == ["info"]


@pytest.mark.parametrize(("path", "expected"), [
    ("tests/conf/a.yaml", True), ("pkg/test/a.json", True), ("pkg/test_train.py", True),
    ("pkg/train_test.py", True), ("configs/testing.yaml", False), ("latest/a.yaml", False),
    ("contest.py", False), ("test_cfg.yaml", False),
])
def test_is_test_path(path, expected):
    from trainlint.discovery import is_test_path

    assert is_test_path(path) is expected
