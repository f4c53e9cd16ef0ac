"""`--since REF` on real temporary git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import read_by_pyyaml, run_cli, run_json
from trainlint.changed import select_changed
from trainlint.discovery import discover
from trainlint.settings import load_settings

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

BAD = "learning_rate: 1e-4\nnum_train_epochs: 3\n"
SETTINGS = '[tool.trainlint]\nselect = ["TL004"]\n'


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture()
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    write(root, {
        "pyproject.toml": SETTINGS,
        ".gitignore": "runs/\n",
        "configs/a.yaml": BAD,
        "configs/b.yaml": BAD,
        "configs/c.yaml": BAD,
        "configs/ds_zero2.json": '{"train_micro_batch_size_per_gpu": 4, "optimizer": {"params": {"lr": 1e-4}}}\n',
        "configs/hf.yaml": BAD + "deepspeed: configs/ds_zero2.json\n",
        "launch/train.sh": "#!/bin/bash\ntorchrun --nproc_per_node 8 train.py --config configs/a.yaml\n",
        "launch/deepspeed.sh": "deepspeed train.py --deepspeed ../configs/ds_zero2.json\n",
        "launch/hf.sh": "accelerate launch train.py configs/hf.yaml\n",
        "train.py": "import argparse\nparser = argparse.ArgumentParser()\n"
                    "parser.add_argument('--lr', type=float, default=0.001)\n",
    })
    read_by_pyyaml(root, "configs/*.yaml")  # the reader that makes TL004 an error
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "start", cwd=root)
    return root


def selected(root: Path, ref: str, paths=(".",)) -> list[str]:
    old = Path.cwd()
    os.chdir(root)
    try:
        candidates, _ = discover(list(paths), load_settings(root))
        return sorted(Path(name).as_posix() for name in select_changed(candidates, ref, root))
    finally:
        os.chdir(old)


def test_only_changed_untracked_files_are_checked(repo):
    write(repo, {"configs/a.yaml": BAD + "seed: 1\n", "configs/new.yaml": BAD, "runs/x.yaml": BAD})
    (repo / "configs" / "c.yaml").unlink()
    code, found, _ = run_json("check", "--since", "HEAD", cwd=repo)
    assert code == 1
    assert sorted({d["filename"] for d in found}) == ["configs/a.yaml", "configs/new.yaml"]


def test_nothing_changed_checks_nothing(repo):
    code, out, err = run_cli("check", "--since", "main", cwd=repo)
    assert (code, err) == (0, "") and "All checks passed!" in out


def test_commits_of_the_branch_count_and_commits_on_the_base_do_not(repo):
    git("checkout", "-q", "-b", "feature", cwd=repo)
    write(repo, {"configs/b.yaml": BAD + "seed: 2\n"})
    git("commit", "-q", "-am", "feature", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    write(repo, {"configs/c.yaml": BAD + "seed: 3\n"})
    git("commit", "-q", "-am", "meanwhile on main", cwd=repo)
    git("checkout", "-q", "feature", cwd=repo)
    code, found, _ = run_json("check", "--since", "main", cwd=repo)
    assert code == 1 and {d["filename"] for d in found} == {"configs/b.yaml"}


def test_paths_limit_the_changed_files(repo):
    write(repo, {"configs/a.yaml": BAD + "seed: 1\n", "other/x.yaml": BAD})
    code, found, _ = run_json("check", "--since", "HEAD", "other", cwd=repo)
    assert {d["filename"] for d in found} == {"other/x.yaml"}


def test_a_path_outside_the_working_directory(repo, tmp_path):
    write(repo, {"configs/a.yaml": BAD + "seed: 1\n"})
    code, found, _ = run_json("check", "--since", "HEAD", str(repo), cwd=tmp_path)
    assert code == 1 and [Path(d["filename"]).name for d in found] == ["a.yaml"]


def test_a_changed_launcher_pulls_in_its_config_and_script(repo):
    write(repo, {"launch/train.sh": "#!/bin/bash\ntorchrun --nproc_per_node 4 train.py "
                                    "--config configs/a.yaml\n"})
    assert selected(repo, "HEAD") == ["configs/a.yaml", "launch/train.sh", "train.py"]


def test_pulled_in_files_are_followed_transitively(repo):
    write(repo, {"launch/hf.sh": "accelerate launch --num_processes 2 train.py configs/hf.yaml\n"})
    assert selected(repo, "HEAD") == ["configs/ds_zero2.json", "configs/hf.yaml", "launch/hf.sh",
                                      "train.py"]


def test_a_launcher_that_names_a_changed_file_is_checked(repo):
    write(repo, {"configs/ds_zero2.json": '{"train_micro_batch_size_per_gpu": 8}\n'})
    assert selected(repo, "HEAD") == ["configs/ds_zero2.json", "launch/deepspeed.sh"]


def test_the_launch_resolver_finds_what_names_do_not(repo):
    """`python -m pkg.train` names no file; the resolver knows it runs pkg/train.py."""
    write(repo, {"pkg/__init__.py": "", "pkg/train.py": "import argparse\n"})
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "package", cwd=repo)
    write(repo, {"launch/module.sh": "python -m pkg.train --lr 0.1\n"})
    assert selected(repo, "HEAD") == ["launch/module.sh", "pkg/train.py"]


def test_max_file_size_bounds_what_since_reads_for_references(repo):
    """A changed launcher over `max-file-size` is not read, for its findings or its names."""
    write(repo, {"pyproject.toml": '[tool.trainlint]\nselect = ["TL004"]\nmax-file-size = 200\n',
                 "launch/train.sh": "#!/bin/bash\ntorchrun --nproc_per_node 8 train.py --config "
                                    "configs/b.yaml  # " + "x" * 200 + "\n"})
    git("commit", "-q", "-am", "limit", cwd=repo)
    write(repo, {"launch/train.sh": (repo / "launch/train.sh").read_text() + "# changed\n"})
    code, found, _ = run_json("check", "--since", "HEAD", cwd=repo)
    assert (code, found) == (0, [])  # configs/b.yaml (a TL004) is not pulled in


def test_pulled_in_files_stay_within_the_paths(repo):
    write(repo, {"launch/train.sh": "torchrun train.py --config configs/a.yaml --lr 0.1\n"})
    assert selected(repo, "HEAD", ["configs"]) == ["configs/a.yaml"]


def test_outside_a_git_repository_is_exit_2(tmp_path):
    (tmp_path / "a.yaml").write_text(BAD)
    code, out, err = run_cli("check", "--since", "main", str(tmp_path), cwd=tmp_path)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert "needs a git repository" in line


def test_an_unknown_ref_is_exit_2(repo):
    code, out, err = run_cli("check", "--since", "no-such-branch", cwd=repo)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert "unknown git ref `no-such-branch`" in line
    code, _, err = run_cli("check", "--since=--output=x", cwd=repo)
    assert code == 2 and "unknown git ref" in err


def test_since_with_stdin_is_a_usage_error(repo):
    code, _, err = run_cli("check", "--since", "HEAD", "--stdin-filename", "a.yaml", cwd=repo, stdin=BAD)
    assert code == 2 and "cannot be used together" in err
