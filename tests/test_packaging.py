"""The package layout DESIGN.md asks for: `trainlint` from linter/, `trainlint.rules` from rules/."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest

from helpers import ROOT


def _declared_packages() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["tool"]["setuptools"]["packages"]


def _packages_on_disk() -> list[str]:
    found = []
    for top, name in (("linter", "trainlint"), ("rules", "trainlint.rules")):
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top).parts
            found.append(".".join((name, *relative)))
    return sorted(found)


DISTRIBUTION = "trainlint-ml"  # `trainlint` on the package index is an unrelated project


def test_distribution_name_is_ours_and_the_command_and_package_keep_theirs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"trainlint": "trainlint.cli:run"}
    install_lines = []
    for page in (ROOT / "README.md", ROOT / "docs" / "ci.md", ROOT / "docs" / "probe.md",
                 ROOT / "linter" / "probe" / "errors.py"):
        install_lines += [line for line in page.read_text().splitlines() if "pip install" in line]
    named = [line for line in install_lines if "pip install ." not in line
             and "pip install -e" not in line and "pip install '.[" not in line
             and "-r requirements" not in line]
    assert named, "no install line names the distribution"
    for line in named:
        assert DISTRIBUTION in line, line
        assert not re.search(r"install '?trainlint(\[|'|\s|$)", line), line
    readme = (ROOT / "README.md").read_text()
    assert "Until a release is published, install from a checkout" in readme.replace("\n", " ")


def test_every_package_folder_is_listed_in_pyproject():
    assert sorted(_declared_packages()) == _packages_on_disk()


def test_package_dir_mapping():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["tool"]["setuptools"]["package-dir"] == {"trainlint": "linter", "trainlint.rules": "rules"}
    assert "torch" not in " ".join(data["project"]["dependencies"])
    assert "torch==2.13.0" in data["project"]["optional-dependencies"]["probe"]


def test_nothing_imports_linter_or_rules_as_top_level_names():
    offenders = []
    for folder in ("linter", "rules", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                offenders += [f"{path.relative_to(ROOT)}: {name}" for name in names
                              if name.split(".")[0] in ("linter", "rules")]
    assert not offenders


@pytest.mark.slow
def test_wheel_holds_the_same_modules_as_the_source_tree(tmp_path):
    """A plain (non-editable) build gives every module and data file of the tree."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, timeout=300)
    wheel = next(tmp_path.glob("trainlint_ml-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for top, prefix in (("linter", "trainlint"), ("rules", "trainlint/rules")):
        for path in (ROOT / top).rglob("*"):
            if path.suffix in (".py", ".toml", ".yaml") and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT / top).as_posix()
                if top == "linter" or not relative.startswith("__"):
                    expected.add(f"{prefix}/{relative}")
    missing = sorted(expected - names)
    assert not missing, missing


def test_check_never_imports_torch_or_libcst(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("optim: adam\noptim_conf:\n  lr: 0.002\nmax_epoch: 40\nbatch_bins: 100\n")
    code = ("import sys, trainlint.cli; rc = trainlint.cli.main([sys.argv[1]]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'libcst', 'pydantic', 'rich')))")
    out = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True, text=True,
                         timeout=60, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
