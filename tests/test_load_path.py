"""One load path (trainlint.load): what every command reads, and how.

Regular files only, at most `max-file-size` bytes, however a file was reached (walked, named,
followed from a launcher, pulled in by `--since`, shown); the same bytes on standard input
and in a file give the same findings.
"""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import read_by_pyyaml, run_cli
from trainlint.load import FORMAT_BY_SUFFIX, Loader, Unreadable, format_of

BAD = "learning_rate: 1e-4\nnum_train_epochs: 3\n"  # TL004 at 1:16
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")


def cli(*args: str, cwd: Path | None = None, stdin: bytes | None = None, timeout: float = 30):
    """The CLI with a short timeout: a FIFO or /dev/zero that is read makes it hang."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GITHUB_ACTIONS", None)
    process = subprocess.run([sys.executable, "-m", "trainlint", *args], cwd=cwd, input=stdin,
                             capture_output=True, env=env, timeout=timeout)
    return process.returncode, process.stdout.decode(), process.stderr.decode()


def findings(out: str) -> list[tuple[str, int, int]]:
    return [(d["code"], d["location"]["row"], d["location"]["column"]) for d in json.loads(out)]


# ---------------------------------------------------------------- only regular files


@needs_fifo
def test_a_fifo_in_a_walked_folder_is_skipped_with_a_note(tmp_path):
    os.mkfifo(tmp_path / "cfg.yaml")
    (tmp_path / "train.yaml").write_text(BAD, encoding="utf-8")
    read_by_pyyaml(tmp_path, "train.yaml", "cfg.yaml")  # the project scan must not block either
    code, out, _ = cli("check", "--verbose", "--select", "TL004", str(tmp_path))
    assert code == 1
    assert "train.yaml:1:16: TL004" in out
    assert f"{tmp_path / 'cfg.yaml'}: skipped (not a regular file)" in out


@needs_dev_zero
def test_a_link_to_dev_zero_in_a_walked_folder_is_not_read(tmp_path):
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "train.yaml").write_text(BAD, encoding="utf-8")
    read_by_pyyaml(tmp_path, "train.yaml", "zero.yaml")
    code, out, _ = cli("check", "--verbose", "--select", "TL004", str(tmp_path))
    assert code == 1 and "zero.yaml: skipped (not a regular file)" in out


@needs_fifo
def test_a_named_fifo_is_an_error_and_the_other_files_are_checked(tmp_path):
    os.mkfifo(tmp_path / "cfg.yaml")
    (tmp_path / "train.yaml").write_text(BAD, encoding="utf-8")
    read_by_pyyaml(tmp_path, "train.yaml", "cfg.yaml")  # the project scan must not block either
    code, out, err = cli("check", "--output-format", "json", "--select", "TL004",
                         str(tmp_path / "cfg.yaml"), str(tmp_path / "train.yaml"))
    assert code == 2
    assert findings(out) == [("TL004", 1, 16)]
    (line,) = err.strip().splitlines()
    assert line == (f"trainlint: error: {tmp_path / 'cfg.yaml'}: not a regular file or folder; "
                    "trainlint reads neither FIFOs nor devices")


@needs_dev_zero
def test_a_named_link_to_a_device_is_an_error(tmp_path):
    (tmp_path / "random.yaml").symlink_to("/dev/urandom")
    code, out, err = cli("check", "--output-format", "json", str(tmp_path / "random.yaml"))
    assert code == 2 and json.loads(out) == []
    assert len(err.strip().splitlines()) == 1 and "not a regular file" in err


@needs_dev_zero
def test_the_loader_refuses_devices_before_reading(tmp_path):
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(Unreadable, match="not a regular file"):
        Loader().load(str(tmp_path / "zero.yaml"))


@needs_fifo
def test_show_on_a_fifo_is_one_error_line(tmp_path):
    os.mkfifo(tmp_path / "cfg.yaml")
    code, out, err = cli("show", str(tmp_path / "cfg.yaml"))
    assert code == 2 and out == ""
    assert err.strip() == f"trainlint: error: {tmp_path / 'cfg.yaml'}: cannot read (not a regular file)"


# ---------------------------------------------------------------- max-file-size everywhere

LIMIT = '[tool.trainlint]\nmax-file-size = 400\n'
TRAIN_PY = ("import argparse\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--config', type=str, default=None)\n"
            "parser.add_argument('--lr', type=float, default=0.001)\n"
            "args = parser.parse_args()\n")
BIG_CONFIG = "learning_rate: -0.5\nnum_train_epochs: 3\n" + "".join(
    f"note_{n}: padding the file past the size limit\n" for n in range(20))


def _launch_project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(LIMIT, encoding="utf-8")
    (tmp_path / "train.py").write_text(TRAIN_PY, encoding="utf-8")
    (tmp_path / "big.yaml").write_text(BIG_CONFIG, encoding="utf-8")
    launcher = tmp_path / "run.sh"
    launcher.write_text("python train.py --config big.yaml\n", encoding="utf-8")
    assert len(BIG_CONFIG) > 400
    return launcher


def test_max_file_size_applies_to_a_config_a_launcher_names(tmp_path):
    launcher = _launch_project(tmp_path)
    code, out, _ = cli("check", "--verbose", "run.sh", cwd=tmp_path)
    assert "big.yaml" not in out.split("note:")[0]  # no finding from the big config's values
    assert "config file 'big.yaml' could not be parsed" in out
    (tmp_path / "pyproject.toml").write_text("[tool.trainlint]\n", encoding="utf-8")
    code, out, _ = cli("check", "--output-format", "json", "run.sh", cwd=tmp_path)
    assert ("big.yaml", "TL002") in {(d["filename"], d["code"]) for d in json.loads(out)}
    assert launcher.exists()


def test_max_file_size_applies_to_show(tmp_path):
    _launch_project(tmp_path)
    code, out, err = cli("show", "big.yaml", cwd=tmp_path)
    assert code == 2 and out == ""
    assert err.strip() == ("trainlint: error: big.yaml: cannot read "
                           f"({len(BIG_CONFIG)} bytes is over max-file-size 400)")


def test_max_file_size_applies_to_show_of_a_launcher(tmp_path):
    _launch_project(tmp_path)
    code, out, _ = cli("show", "run.sh", cwd=tmp_path)
    assert code == 0
    assert "config file 'big.yaml' could not be parsed" in out
    assert "-0.5" not in out


def test_max_file_size_applies_to_since_reference_reading(tmp_path):
    from trainlint.changed import referenced_files

    launcher = _launch_project(tmp_path)
    launcher.write_text("python train.py --config big.yaml  # " + "x" * 500 + "\n",
                        encoding="utf-8")
    assert referenced_files(launcher, tmp_path, Loader(400)) == set()
    assert tmp_path / "big.yaml" in referenced_files(launcher, tmp_path, Loader(4000))


# ---------------------------------------------------------------- stdin reads as a file reads

ENCODED = {
    "utf-8 with BOM": codecs.BOM_UTF8 + BAD.encode("utf-8"),
    "utf-16-le with BOM": codecs.BOM_UTF16_LE + BAD.encode("utf-16-le"),
    "utf-16-be with BOM": codecs.BOM_UTF16_BE + BAD.encode("utf-16-be"),
    "latin-1 (not UTF-8)": "learning_rate: 1e-4  # \u00e9t\u00e9\nnum_train_epochs: 3\n".encode("latin-1"),
    "NUL byte": b"learning_rate: 1e-4\x00\n",
}


@pytest.mark.parametrize("data", ENCODED.values(), ids=list(ENCODED))
def test_stdin_and_a_file_with_the_same_bytes_agree(tmp_path, data):
    (tmp_path / "train.yaml").write_bytes(data)
    code_file, out_file, _ = cli("check", "--output-format", "json", "train.yaml", cwd=tmp_path)
    code_stdin, out_stdin, _ = cli("check", "--output-format", "json", "--stdin-filename",
                                   "train.yaml", cwd=tmp_path, stdin=data)
    assert (code_stdin, findings(out_stdin)) == (code_file, findings(out_file))
    assert findings(out_file)  # TL004 for the text, TL001 for the bytes that are no text


def test_stdin_fix_keeps_the_bom(tmp_path):
    data = codecs.BOM_UTF8 + BAD.encode("utf-8")
    code, out, _ = cli("check", "--fix", "--select", "TL004", "--stdin-filename", "train.yaml",
                       cwd=tmp_path, stdin=data)
    assert out.encode("utf-8") == codecs.BOM_UTF8 + BAD.replace("1e-4", "1.0e-4").encode("utf-8")


# ---------------------------------------------------------------- show: one clear line


def test_show_on_a_yaml_with_a_nul_byte_prints_one_line(tmp_path):
    (tmp_path / "cfg.yaml").write_bytes(b"lr: 0.1\nx: a\x00b\n")
    code, out, err = run_cli("show", "cfg.yaml", cwd=tmp_path)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "trainlint: error: cfg.yaml:2:5: cannot parse: file contains NUL bytes: binary, not a "
        "text file"]


# ---------------------------------------------------------------- the one table


def test_every_command_reads_the_formats_of_one_table():
    assert format_of("a/B.YML") == "yaml" and format_of("run.ps1") == "shell"
    assert format_of("notes.txt") is None
    assert set(FORMAT_BY_SUFFIX.values()) == {"yaml", "json", "toml", "python", "shell",
                                              "markdown"}


def test_a_script_launch_resolution_reads_is_the_document_check_reads(tmp_path):
    """Launch resolution asks the load path for the target script: its defaults and code facts
    are the script's own view, as `check` builds it."""
    (tmp_path / "train.py").write_text("import torch\n" + TRAIN_PY + "opt = torch.optim.SGD("
                                       "model.parameters(), lr=args.lr)\n", encoding="utf-8")
    (tmp_path / "run.sh").write_text("python train.py --lr 0.5\n", encoding="utf-8")
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        launcher = Loader().load("run.sh")
        script = Loader().load("train.py")
    finally:
        os.chdir(old)
    (launch,) = launcher.launches
    assert launch.sources == ["train.py"]
    assert launch.view.get("optimizer.lr").value == 0.5
    assert launch.view.get("optimizer.lr").overrode.span == script.views[0].get("optimizer.lr").span
    assert "train.py" in launcher.loaded
