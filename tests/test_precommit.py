"""The pre-commit hooks, for real: `pre-commit try-repo` and `pre-commit run` install this checkout
into a fresh virtualenv and run it on a temporary git repository.

No network: pip installs trainlint's dependencies from a local wheel folder that the test builds
by packing the distributions already installed in this environment (PIP_NO_INDEX +
PIP_FIND_LINKS, which pip reads from the environment pre-commit passes on).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from helpers import read_by_pyyaml

ROOT = Path(__file__).resolve().parent.parent
BAD_CONFIG = "learning_rate: 1e-4\nnum_train_epochs: 3\nper_device_train_batch_size: 8\n"
FIXED_CONFIG = "learning_rate: 1.0e-4\nnum_train_epochs: 3\nper_device_train_batch_size: 8\n"
GOOD_CONFIG = "learning_rate: 2.0e-5\nnum_train_epochs: 3\nper_device_train_batch_size: 8\n"

pytest.importorskip("pre_commit")
pytest.importorskip("packaging")
if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)


# ---------------------------------------------------------------- an offline wheel folder

def _requirement_closure(requirements: list[str]) -> list[metadata.Distribution]:
    """The installed distributions that satisfy `requirements` and their dependencies."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, metadata.Distribution] = {}
    pending = list(requirements)
    while pending:
        requirement = Requirement(pending.pop())
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            continue  # pip will say what is missing
        if not requirement.specifier.contains(dist.version, prereleases=True):
            continue  # e.g. a venv's old setuptools: the seed wheels below may do
        found[key] = dist
        pending.extend(dist.requires or [])
    return list(found.values())


def _seed_wheels() -> list[Path]:
    """The pip/setuptools wheels virtualenv (a pre-commit dependency) ships: a new enough
    setuptools for building this project where the environment's own is older."""
    import virtualenv

    return sorted(Path(virtualenv.__file__).parent.glob("seed/wheels/embed/*.whl"))


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _wheel_name(dist: metadata.Distribution) -> str:
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")] or ["py3-none-any"]
    parts = [sorted({tag.split("-")[i] for tag in tags}) for i in range(3)]
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    return f"{name}-{dist.version.replace('-', '_')}-{'-'.join('.'.join(p) for p in parts)}.whl"


def _pack(dist: metadata.Distribution, folder: Path) -> Path:
    """An installed distribution packed back into a wheel (its RECORD written anew)."""
    target = folder / _wheel_name(dist)
    records = []
    record_name = None
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for file in dist.files or ():
            name = file.as_posix()
            if name.startswith("..") or "__pycache__" in name or name.endswith(".pyc"):
                continue
            if ".dist-info/" in name and name.rsplit("/", 1)[-1] in (
                    "RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                record_name = record_name or name.rsplit("/", 1)[0] + "/RECORD"
                continue
            source = Path(dist.locate_file(file))
            if not source.is_file():
                continue
            data = source.read_bytes()
            wheel.writestr(name, data)
            records.append(_record_line(name, data))
        records.append(f"{record_name},,")
        wheel.writestr(record_name, "\n".join(records) + "\n")
    return target


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = project["project"]["dependencies"] + project["build-system"]["requires"]
    folder = tmp_path_factory.mktemp("wheelhouse")
    for dist in _requirement_closure(requirements):
        _pack(dist, folder)
    for wheel in _seed_wheels():
        if not (folder / wheel.name).exists():
            shutil.copy(wheel, folder / wheel.name)
    return folder


# ---------------------------------------------------------------- repositories

def _git(*args: str, cwd: Path, env: dict) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory, wheelhouse) -> dict:
    home = tmp_path_factory.mktemp("home")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PIP_", "PRE_COMMIT", "VIRTUALENV_", "GIT_", "GITHUB_"))}
    env.update({
        "HOME": str(home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never",
        "PRE_COMMIT_HOME": str(home / "pre-commit-cache"),
        "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_CONFIG_FILE": os.devnull,
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1", "VIRTUALENV_OVERRIDE_APP_DATA": str(home / "venv-data"),
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    })
    return env


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, hook_env) -> Path:
    """This checkout as it is on disk (tracked and untracked, not ignored), in a fresh repository:
    try-repo would otherwise leave out untracked files of a working checkout."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError:
        pytest.skip("this checkout is not a git repository")
    copy = tmp_path_factory.mktemp("hook-repo")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if (ROOT / name.split("/")[0] / "pyvenv.cfg").exists():
            continue  # a virtualenv someone forgot to ignore
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    _git("init", "-q", cwd=copy, env=hook_env)
    _git("add", "-A", cwd=copy, env=hook_env)
    _git("commit", "-q", "-m", "trainlint under test", cwd=copy, env=hook_env)
    return copy


def _project(path: Path, env: dict) -> Path:
    path.mkdir()
    _git("init", "-q", cwd=path, env=env)
    (path / "README.txt").write_text("a training project\n")
    _git("add", "README.txt", cwd=path, env=env)
    _git("commit", "-q", "-m", "start", cwd=path, env=env)
    return path


def _pre_commit(*args: str, cwd: Path, env: dict) -> tuple[int, str]:
    process = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=600)
    return process.returncode, process.stdout + process.stderr


def _hook_result(output: str, name: str) -> str:
    """`Passed`, `Failed` or `Skipped` for the hook line that starts with `name`."""
    for line in output.splitlines():
        match = re.match(rf"^{re.escape(name)}\.+(?:\(no files to check\))?(Passed|Failed|Skipped)$",
                         line.strip())
        if match:
            return match.group(1)
    raise AssertionError(f"no result line for {name!r} in:\n{output}")


# ---------------------------------------------------------------- the tests

def test_manifest_is_valid_and_names_both_hooks():
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"trainlint", "trainlint-fix"}
    assert "--fix" in hooks["trainlint-fix"]["entry"] and "--fix" not in hooks["trainlint"]["entry"]
    for hook in hooks.values():
        assert hook["require_serial"] is True
        assert {"python", "yaml", "json", "shell", "markdown"} <= set(hook["types_or"])


def test_try_repo_catches_a_bad_config_and_the_fix_hook_rewrites_it(tmp_path, hook_repo, hook_env):
    project = _project(tmp_path / "project", hook_env)
    (project / "train.yaml").write_text(BAD_CONFIG)
    read_by_pyyaml(project, "train.yaml")  # the reader that makes TL004 an error
    _git("add", "train.yaml", "load_configs.py", cwd=project, env=hook_env)

    code, output = _pre_commit("try-repo", str(hook_repo), cwd=project, env=hook_env)

    assert code == 1, output
    assert _hook_result(output, "trainlint") == "Failed"
    assert "train.yaml:1:16: TL004" in output
    assert _hook_result(output, "trainlint (fix)") == "Failed"
    assert "files were modified by this hook" in output
    assert (project / "train.yaml").read_text() == FIXED_CONFIG


def test_pre_commit_run_with_the_documented_snippet(tmp_path, hook_repo, hook_env):
    """The `.pre-commit-config.yaml` of docs/ci.md, pointed at this checkout."""
    config = _documented_config()
    [repo] = config["repos"]
    repo["repo"] = str(hook_repo)
    repo["rev"] = _git("rev-parse", "HEAD", cwd=hook_repo, env=hook_env).strip()
    project = _project(tmp_path / "project", hook_env)
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    _git("add", ".pre-commit-config.yaml", cwd=project, env=hook_env)
    _git("commit", "-q", "-m", "hooks", "--no-verify", cwd=project, env=hook_env)
    hook_names = [hook.get("name") or _manifest_name(hook["id"]) for hook in repo["hooks"]]

    # Nothing trainlint reads is staged: the hooks are skipped, nothing crashes.
    (project / "notes.txt").write_text("lr sweep tomorrow\n")
    _git("add", "notes.txt", cwd=project, env=hook_env)
    code, output = _pre_commit("run", cwd=project, env=hook_env)
    assert code == 0, output
    assert all(_hook_result(output, name) == "Skipped" for name in hook_names), output

    # Only files that are not training configs (settings): excluded, the hooks pass.
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1.0"\n')
    _git("add", "pyproject.toml", cwd=project, env=hook_env)
    code, output = _pre_commit("run", cwd=project, env=hook_env)
    assert code == 0, output

    # A good config passes.
    (project / "good.yaml").write_text(GOOD_CONFIG)
    _git("add", "good.yaml", cwd=project, env=hook_env)
    code, output = _pre_commit("run", cwd=project, env=hook_env)
    assert code == 0, output
    assert all(_hook_result(output, name) == "Passed" for name in hook_names), output

    # A bad config fails, is fixed, and then passes.
    (project / "train.yaml").write_text(BAD_CONFIG)
    _git("add", "train.yaml", cwd=project, env=hook_env)
    code, output = _pre_commit("run", cwd=project, env=hook_env)
    assert code == 1, output
    assert "files were modified by this hook" in output
    assert (project / "train.yaml").read_text() == FIXED_CONFIG
    _git("add", "train.yaml", cwd=project, env=hook_env)
    code, output = _pre_commit("run", cwd=project, env=hook_env)
    assert code == 0, output


def _documented_config() -> dict:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    configs = [yaml.safe_load(block) for block in blocks if block.lstrip().startswith(("repos:", "# .pre-commit-config"))]
    assert configs, "docs/ci.md has no .pre-commit-config.yaml snippet"
    return configs[0]


def _manifest_name(hook_id: str) -> str:
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return next(hook["name"] for hook in manifest if hook["id"] == hook_id)
