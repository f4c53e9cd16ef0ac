"""The README's examples work as written."""

from __future__ import annotations

import re

import pytest

from helpers import ROOT, run_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_commands_are_the_ci_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[dev]" && python -m pytest' in README
    assert 'python -m pip install -e ".[dev]" && python -m pytest' in ci
    assert "python -m pip install . && trainlint check fixtures/" in README


def test_probe_example_runs(tmp_path):
    pytest.importorskip("torch")
    section = README.split("## The probe", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    factory = tmp_path / "probe_example.py"
    factory.write_text(code)
    status, out, err = run_cli("probe", f"{factory}:probe_target", "--max-seconds", "60")
    assert status == 0, out + err
    assert "initial loss" in out and "All checks passed!" in out


def test_settings_example_is_valid(tmp_path):
    block = re.search(r"```toml\n(\[tool\.trainlint\].*?)```", README, re.S).group(1)
    (tmp_path / "pyproject.toml").write_text(block)
    (tmp_path / "train.yaml").write_text("lr: 0.001\nepochs: 10\nbatch_size: 8\n")
    status, out, err = run_cli("check", ".", cwd=tmp_path)
    assert status in (0, 1), err
    assert "error:" not in err
