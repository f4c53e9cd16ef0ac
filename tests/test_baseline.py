"""Baselines through the real CLI: old findings stay hidden across unrelated edits, new ones show,
and a bad baseline file is one clear error."""

from __future__ import annotations

import json

import pytest

from helpers import run_cli, run_json
from trainlint.baseline import FORMAT_KEY, FORMAT_VERSION

CONFIG = "learning_rate: 1e-4\nnum_train_epochs: 3\nper_device_train_batch_size: 8\n"
# Findings of rules other engineers add later must not change these counts.
SETTINGS = '[tool.trainlint]\nselect = ["TL004"]\n'


@pytest.fixture()
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(SETTINGS)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "train.yaml").write_text(CONFIG)
    # the code that reads the config: PyYAML hands `1e-4` on as a string (TL004 is a warning)
    (tmp_path / "train.py").write_text(
        'import yaml\n\nconfig = yaml.safe_load(open("configs/train.yaml"))\n')
    code, out, err = run_cli("check", "--write-baseline", "baseline.json", cwd=tmp_path)
    assert code == 0 and out == ""
    assert "wrote 1 finding to the baseline baseline.json" in err
    return tmp_path


def _found(cwd, *args):
    code, found, _ = run_json("check", "--baseline", "baseline.json", *args, cwd=cwd)
    return code, [(d["code"], d["location"]["row"]) for d in found]


def test_baseline_file_is_readable_json(project):
    data = json.loads((project / "baseline.json").read_text())
    assert data[FORMAT_KEY] == FORMAT_VERSION
    [entry] = data["findings"]
    assert entry == {"code": "TL004", "file": "configs/train.yaml", "content": "learning_rate: 1e-4",
                     "count": 1, "message": entry["message"]}
    assert "1e-4" in entry["message"]


def test_old_findings_stay_hidden_when_lines_move(project):
    assert _found(project) == (0, [])
    path = project / "configs" / "train.yaml"
    path.write_text("# moved down by a comment\nseed: 42\n" + CONFIG.replace("learning_rate:", "learning_rate:  "))
    code, out, err = run_cli("check", "--baseline", "baseline.json", cwd=project)
    assert code == 0 and "All checks passed!" in out
    assert "1 finding in the baseline baseline.json not shown" in err


def test_a_new_finding_shows(project):
    path = project / "configs" / "train.yaml"
    path.write_text(CONFIG + "weight_decay: 1E-2\n")
    assert _found(project) == (1, [("TL004", 4)])


def test_a_second_identical_finding_shows(project):
    (project / "configs" / "train.yaml").write_text(CONFIG + "---\n" + CONFIG)
    code, found = _found(project)
    assert code == 1 and len(found) == 1


def test_an_edited_line_shows_again(project):
    (project / "configs" / "train.yaml").write_text(CONFIG.replace("1e-4", "3e-4"))
    assert _found(project) == (1, [("TL004", 1)])


def test_a_copied_file_is_not_covered(project):
    (project / "configs" / "copy.yaml").write_text(CONFIG)
    code, found, _ = run_json("check", "--baseline", "baseline.json", cwd=project)
    assert code == 1 and [d["filename"] for d in found] == ["configs/copy.yaml"]


def test_paths_are_relative_to_the_baseline_not_the_working_directory(project):
    code, found, _ = run_json("check", "--baseline", "../baseline.json", ".", cwd=project / "configs")
    assert (code, found) == (0, [])


def test_baseline_works_with_every_output_format(project):
    (project / "configs" / "train.yaml").write_text(CONFIG + "weight_decay: 1E-2\n")
    code, out, _ = run_cli("check", "--baseline", "baseline.json", "--output-format", "github", cwd=project)
    assert code == 1 and out.count("::error") == 1 and "line=4" in out


def test_fix_still_fixes_baselined_findings(project):
    code, _, _ = run_cli("check", "--baseline", "baseline.json", "--fix", cwd=project)
    assert code == 0
    assert "1.0e-4" in (project / "configs" / "train.yaml").read_text()


@pytest.mark.parametrize("content,message", [
    (None, "baseline file missing.json does not exist"),
    ("{not json", "is not valid JSON (line 1, column 2)"),
    ('{"findings": []}', "is not a trainlint baseline"),
    (json.dumps({FORMAT_KEY: 99, "trainlint-version": "9.0", "findings": []}),
     "has format 99 (written by trainlint 9.0); this trainlint"),
    (json.dumps({FORMAT_KEY: FORMAT_VERSION, "findings": {}}), "is corrupt: `findings` is not a list"),
    (json.dumps({FORMAT_KEY: FORMAT_VERSION, "findings": [{"code": "TL004"}]}), "is corrupt: finding 1"),
    (json.dumps({FORMAT_KEY: FORMAT_VERSION, "findings": [
        {"code": "TL004", "file": "a", "content": "b", "count": "2"}]}), "is corrupt: finding 1"),
])
def test_bad_baseline_is_one_message_and_exit_2(tmp_path, content, message):
    (tmp_path / "pyproject.toml").write_text(SETTINGS)
    (tmp_path / "a.yaml").write_text(CONFIG)
    if content is not None:
        (tmp_path / "missing.json").write_text(content)
    code, out, err = run_cli("check", "--baseline", "missing.json", ".", cwd=tmp_path)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_write_baseline_to_an_unwritable_place_is_exit_2(tmp_path):
    (tmp_path / "a.yaml").write_text(CONFIG)
    (tmp_path / "blocker").write_text("a file, not a folder")
    code, _, err = run_cli("check", "--write-baseline", "blocker/baseline.json", ".", cwd=tmp_path)
    assert code == 2 and "cannot write baseline" in err
