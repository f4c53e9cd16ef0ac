"""The command line as a user runs it: subcommands, flags, bad input, TL009 on its fixtures, and the
GitHub Actions workflow that docs/ci.md documents."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import FIXTURES, ROOT, read_by_pyyaml, run_cli, run_json

from trainlint.registry import all_rules

BAD = "learning_rate: 1e-4\nnum_train_epochs: 3\n"
# Exit codes below must not change when other engineers add rules that fire on these configs.
SETTINGS = '[tool.trainlint]\nselect = ["TL004"]\n'


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- check and its flags

def test_check_is_the_default_command_and_exit_codes(tmp_path):
    (tmp_path / "pyproject.toml").write_text(SETTINGS)
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "good.yaml").write_text("learning_rate: 1.0e-4\n")
    read_by_pyyaml(tmp_path, "bad.yaml", "good.yaml")
    assert run_cli("check", str(tmp_path / "good.yaml"))[0] == 0
    code, out, _ = run_cli(str(tmp_path))
    assert code == 1 and "bad.yaml:1:16: TL004" in out
    assert run_cli(str(tmp_path), "--exit-zero")[0] == 0


def test_fix_diff_select_ignore_and_stdin(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.trainlint]\nselect = ["TL004", "TL1"]\n')
    path = tmp_path / "train.yaml"
    path.write_text(BAD)
    read_by_pyyaml(tmp_path, "train.yaml")
    code, out, _ = run_cli("--diff", str(path))
    assert code == 1 and "+learning_rate: 1.0e-4" in out and path.read_text() == BAD
    assert run_cli("--ignore", "TL004", str(path))[0] == 0
    assert run_cli("--select", "TL1", str(path))[0] == 0
    assert run_cli("--select", "TL1", "--extend-select", "TL00", str(path))[0] == 1
    code, out, _ = run_cli("check", "--stdin-filename", str(tmp_path / "train.yaml"), "--fix", stdin=BAD)
    assert out == BAD.replace("1e-4", "1.0e-4")
    code, _, _ = run_cli("--fix", str(path))
    assert code == 0 and path.read_text() == BAD.replace("1e-4", "1.0e-4")


def test_unknown_output_format_is_one_message_and_exit_2(tmp_path):
    (tmp_path / "a.yaml").write_text(BAD)
    code, out, err = run_cli("--output-format", "xml", str(tmp_path))
    assert code == 2 and out == ""
    [line] = _lines(err)
    assert "unknown output format `xml`" in line
    for name in ("github", "json", "junit", "sarif", "text"):
        assert name in line


def test_github_format_is_chosen_on_github_actions(tmp_path):
    (tmp_path / "pyproject.toml").write_text(SETTINGS)
    (tmp_path / "a.yaml").write_text(BAD)
    read_by_pyyaml(tmp_path, "a.yaml")
    code, out, _ = run_cli(str(tmp_path / "a.yaml"), env={"GITHUB_ACTIONS": "true"})
    assert code == 1 and out.startswith("::error file=")
    code, out, _ = run_cli(str(tmp_path / "a.yaml"), "--output-format", "text",
                           env={"GITHUB_ACTIONS": "true"})
    assert out.startswith(str(tmp_path / "a.yaml") + ":1:16: TL004")


def test_force_exclude_skips_named_files_that_a_walk_would_skip(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.trainlint]\nselect = ["TL004"]\nexclude = ["legacy/"]\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.yaml").write_text(BAD)
    (tmp_path / "notes.txt").write_text("x\n")
    read_by_pyyaml(tmp_path, "legacy/*.yaml", "new.yaml")
    files = [str(tmp_path / "pyproject.toml"), str(tmp_path / "legacy" / "old.yaml"),
             str(tmp_path / "notes.txt")]
    assert "old.yaml:1:16: TL004" in run_cli("check", *files)[1]  # named: checked all the same
    code, out, err = run_cli("check", "--force-exclude", *files, cwd=tmp_path)
    assert (code, err) == (0, "") and "All checks passed!" in out
    (tmp_path / "new.yaml").write_text(BAD)
    code, out, _ = run_cli("check", "--force-exclude", *files, str(tmp_path / "new.yaml"), cwd=tmp_path)
    assert code == 1 and "new.yaml" in out and "old.yaml" not in out


def test_verbose_and_version():
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("trainlint ")


# ---------------------------------------------------------------- rule / rules

def test_rule_prints_its_page_as_plain_markdown_when_piped():
    from trainlint.docs import rule_markdown
    from trainlint.registry import rule_by_code

    code, out, _ = run_cli("rule", "TL004")
    assert code == 0 and out == rule_markdown(rule_by_code("TL004"))
    assert out.startswith("# TL004 yaml11-float-string") and "## Why is this bad?" in out
    assert run_cli("rule", "yaml11-float-string")[1] == out
    code, out, err = run_cli("rule", "TL999")
    assert code == 2 and "no rule `TL999`" in err


def test_rules_lists_every_registered_rule_in_text_and_json():
    code, out, _ = run_cli("rules")
    assert code == 0
    rows = _lines(out)[1:]
    assert [row.split()[0] for row in rows] == [rule.code for rule in all_rules()]
    code, out, _ = run_cli("rules", "--output-format", "json")
    listed = json.loads(out)
    assert [row["code"] for row in listed] == [rule.code for rule in all_rules()]
    for row, rule in zip(listed, all_rules()):
        status = "preview" if getattr(rule, "preview", False) else "default"
        assert row == {"code": rule.code, "name": rule.name, "severity": rule.severity.value,
                       "fix": rule.fix_availability.value, "fix_title": rule.fix_title,
                       "status": status, "precision": getattr(rule, "precision", None),
                       "message": rule.message, "url": rule.url()}
    assert run_cli("rules", "--output-format", "sarif")[0] == 2


# ---------------------------------------------------------------- TL009 on its fixtures

@pytest.mark.parametrize("name,expected", [
    ("bad_stale_ignores.yaml", [(5, 23), (7, 1)]),
    ("bad_noqa.py", [(6, 69), (10, 69)]),
])
def test_unused_suppressions_are_reported_and_removed(tmp_path, name, expected):
    path = tmp_path / name
    shutil.copy(FIXTURES / "TL009" / name, path)
    code, found, _ = run_json(str(path))
    assert [(d["location"]["row"], d["location"]["column"]) for d in found if d["code"] == "TL009"] \
        == expected
    assert all(d["fix"]["applicability"] == "safe" for d in found if d["code"] == "TL009")
    run_cli("--fix", str(path))
    assert path.read_text() == (FIXTURES / "TL009" / f"{name}.fixed").read_text()
    assert [d for d in run_json(str(path))[1] if d["code"] == "TL009"] == []


@pytest.mark.parametrize("name", ["good_used.py", "good_used.yaml"])
def test_used_and_foreign_suppressions_are_kept(name):
    code, found, _ = run_json(str(FIXTURES / "TL009" / name))
    assert [d for d in found if d["code"] == "TL009"] == []


def test_suppressions_of_unselected_rules_are_not_reported(tmp_path):
    path = tmp_path / "bad_stale_ignores.yaml"
    shutil.copy(FIXTURES / "TL009" / "bad_stale_ignores.yaml", path)
    code, found, _ = run_json("--select", "TL009", str(path))
    assert (code, found) == (0, [])
    code, found, _ = run_json("--ignore", "TL004", str(path))
    assert [d for d in found if d["code"] == "TL009"] == []


# ---------------------------------------------------------------- the documented workflow

def _workflow() -> dict:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "jobs" in data:
            return data
    raise AssertionError("docs/ci.md has no GitHub Actions workflow")


def _git(*args, cwd):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _run_step(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, "NO_COLOR": "1", **env}, timeout=120)


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None,
                    reason="needs git and bash")
def test_documented_workflow_gates_only_new_findings_of_the_pull_request(tmp_path):
    workflow = _workflow()
    [job] = workflow["jobs"].values()
    steps = {step.get("name", ""): step for step in job["steps"]}
    assert any(step.get("uses", "").startswith("actions/checkout") and
               step.get("with", {}).get("fetch-depth") == 0 for step in job["steps"])
    pr_step = next(s for s in job["steps"] if s.get("if") == "github.event_name == 'pull_request'")
    push_step = next(s for s in job["steps"] if s.get("if") == "github.event_name != 'pull_request'")
    sarif_step = next(s for n, s in steps.items() if "--output-format sarif" in s.get("run", ""))
    assert pr_step["env"]["BASE_REF"] == "${{ github.base_ref }}"

    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(SETTINGS)
    (repo / "configs" / "old.yaml").write_text(BAD)
    (repo / "configs" / "other.yaml").write_text("learning_rate: 5e-5\nnum_train_epochs: 2\n")
    read_by_pyyaml(repo, "configs/*.yaml")
    _git("init", "-q", "-b", "main", cwd=repo)
    baseline = run_cli("check", "--write-baseline", ".trainlint-baseline.json", cwd=repo)
    assert baseline[0] == 0
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "main", cwd=repo)
    _git("update-ref", "refs/remotes/origin/main", "HEAD", cwd=repo)
    _git("checkout", "-q", "-b", "feature", cwd=repo)
    # The pull request: unrelated lines above the old finding, and one new finding.
    (repo / "configs" / "old.yaml").write_text("# tuned\nseed: 1\n" + BAD)
    (repo / "configs" / "new.yaml").write_text("learning_rate: 3e-4\nnum_train_epochs: 1\n")
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "feature", cwd=repo)

    env = {"GITHUB_ACTIONS": "true", "BASE_REF": "main"}
    gate = _run_step(pr_step["run"], repo, env)
    assert gate.returncode == 1, gate.stderr
    [annotation] = _lines(gate.stdout)
    assert annotation.startswith("::error file=configs/new.yaml,line=1,col=16,")
    assert "TL004" in annotation

    whole = _run_step(push_step["run"], repo, env)
    assert whole.returncode == 1 and _lines(whole.stdout) == [annotation]

    sarif = _run_step(sarif_step["run"], repo, env)
    assert sarif.returncode == 0, sarif.stderr
    results = json.loads((repo / "trainlint.sarif").read_text())["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] \
        == ["configs/new.yaml"]

    (repo / "configs" / "new.yaml").write_text("learning_rate: 3.0e-4\nnum_train_epochs: 1\n")
    assert _run_step(pr_step["run"], repo, env).returncode == 0
