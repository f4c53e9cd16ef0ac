"""Issue 11, data loss: one line model for positions and edits, links and owners kept by
`--fix`, no fix that adds an error, comments kept, no temporary files left by a killed run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import check, codes, run_cli

SCHEDULER = "from torch.optim.lr_scheduler import StepLR\n"


def test_python_lone_cr_in_a_docstring_keeps_positions_and_the_fix_on_its_line(tmp_path):
    path = tmp_path / "train.py"
    source = (SCHEDULER + '"""Schedules.\rOne per run."""\n\ndef make(opt):\n'
              "    return StepLR(opt, 20, gamma=0.5, verbose=True)\n")
    path.write_text(source, newline="")
    [finding] = check(path, select=["TL107"]).diagnostics
    # Python's tokenizer ends a line at the lone CR: the call is on line 6
    assert (finding.span.line, finding.span.col) == (6, 39)
    check(path, select=["TL107"], fix=True)
    assert path.read_bytes().decode() == source.replace(", verbose=True", "")


def test_python_cr_cr_lf_endings_keep_positions_and_fixes(tmp_path):
    path = tmp_path / "train.py"
    lines = [SCHEDULER.strip(), "import torch", "def make(opt):",
             "    return StepLR(opt, 20, gamma=0.5, verbose=True)", 'state = torch.load("a.pt")']
    path.write_bytes("\r\r\n".join(lines).encode() + b"\r\r\n")
    report = check(path, select=["TL107", "TL401"])
    assert {(d.code, d.span.line, d.span.col) for d in report.diagnostics} == {
        ("TL107", 7, 39), ("TL401", 9, 9)}
    # No torch requirement: every release is allowed, so TL401's fix is unsafe (issue 14).
    check(path, select=["TL107", "TL401"], fix=True, unsafe_fixes=True)
    assert path.read_bytes().split(b"\r\r\n")[3:5] == [
        b"    return StepLR(opt, 20, gamma=0.5)", b'state = torch.load("a.pt", weights_only=True)']


def test_text_report_shows_the_line_of_the_finding_after_a_lone_cr(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCHEDULER + "# a\rx = StepLR(o, 3, verbose=True)\n", newline="")
    code, out, _ = run_cli("check", str(path), "--select", "TL107")
    assert code == 1
    assert " 3 | x = StepLR(o, 3, verbose=True)" in out


@pytest.mark.parametrize("name, text, line", [
    ("train.yaml", "epochs: 3\rbatch_size: 8\rlr: 1e-4\r", 3),
    ("args.json", '{"num_train_epochs": 3,\r"per_device_train_batch_size": 32,\r'
                   '"output_dir": "out",\r"learning_rte": 2e-4}\r', 4),
])
def test_config_positions_count_lone_cr_as_a_line_break(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text, newline="")
    [finding] = [d for d in check(path, select=["TL003", "TL004"]).diagnostics]
    assert finding.span.line == line


def test_parse_errors_after_lone_cr_point_at_the_right_line(tmp_path):
    (tmp_path / "a.json").write_text('{"lr": 1,\r"epochs": 3,\r}\r', newline="")
    (tmp_path / "b.yaml").write_text("lr: 1\repochs: [3\r", newline="")
    found = {os.path.basename(d.path): d.span.line for d in check(tmp_path).diagnostics
             if d.code == "TL001"}
    assert found == {"a.json": 3, "b.yaml": 3}


def test_fix_writes_the_target_of_a_symlink_and_keeps_the_link(tmp_path):
    real = tmp_path / "real.py"
    real.write_text(SCHEDULER + "x = StepLR(o, 2, verbose=True)\n")
    link = tmp_path / "link.py"
    link.symlink_to(real.name)
    check(link, fix=True, select=["TL107"])
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_text() == SCHEDULER + "x = StepLR(o, 2)\n"


def test_fix_keeps_mode_owner_and_group(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCHEDULER + "x = StepLR(o, 2, verbose=True)\n")
    os.chmod(path, 0o640)
    owner = (os.getuid() + 1234, os.getgid() + 4321) if os.getuid() == 0 else None
    if owner:
        os.chown(path, *owner)
    check(path, fix=True, select=["TL107"])
    status = path.stat()
    assert "verbose" not in path.read_text()
    assert status.st_mode & 0o7777 == 0o640
    if owner:
        assert (status.st_uid, status.st_gid) == owner


KILLED_WRITE = """
import os, signal, sys
from pathlib import Path
import trainlint.fix.apply as apply
def die(*_):
    os.kill(os.getpid(), signal.SIGKILL)
apply.os.replace = die
apply.write_atomically(Path(sys.argv[1]), b"half\\n")
"""


def test_temporary_file_of_a_killed_fix_is_removed_by_the_next_fix(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCHEDULER + "x = StepLR(o, 2, verbose=True)\n")
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(path)])
    assert killed.returncode == -9
    left = [name for name in os.listdir(tmp_path) if name.startswith(".")]
    assert len(left) == 1 and left[0].endswith(".trainlint")  # what kill -9 leaves
    assert run_cli("--fix", str(path), "--select", "TL107")[0] == 0
    assert os.listdir(tmp_path) == ["train.py"]
    assert "verbose" not in path.read_text()


def test_rename_onto_an_existing_key_is_never_offered(tmp_path):
    path = tmp_path / "args.json"
    text = ('{\n  "learning_rte": 2e-4,\n  "learning_rate": 1e-4,\n'
            '  "per_device_train_batch_size": 32,\n  "num_train_epochs": 3\n}\n')
    path.write_text(text)
    (tmp_path / "setup.cfg").write_text("")  # a project whose code reads args.json strictly
    (tmp_path / "train.py").write_text(
        "import json\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Args:\n"
        "    learning_rate: float = 1e-3\n    per_device_train_batch_size: int = 8\n"
        "    num_train_epochs: int = 1\n\n\nargs = Args(**json.load(open('args.json')))\n")
    report = check(path, unsafe_fixes=True, fix=True)
    assert path.read_text() == text
    [typo] = [d for d in report.diagnostics if d.code == "TL003"]
    assert typo.fix is None and "`learning_rate` is set too" in typo.message
    assert "TL005" not in codes(report)


def test_fix_loop_refuses_a_fix_that_adds_an_error(tmp_path, monkeypatch):
    import trainlint.engine as engine
    from trainlint.api import Applicability, DocumentRule, Fix, FixAvailability, Severity
    from trainlint.engine import RunOptions, check_paths
    from trainlint.registry import all_rules
    from trainlint.settings import Settings

    class RenamesOntoASibling(DocumentRule):
        code = "TL997"
        name = "renames-onto-a-sibling"
        severity = Severity.WARNING
        fix_availability = FixAvailability.ALWAYS
        message = "test rule"
        formats = frozenset({"yaml"})

        def check_document(self, doc):
            for entry in doc.entries:
                if entry.key in ("lr_typo", "epochs_typo"):
                    new = "lr" if entry.key == "lr_typo" else "num_epochs"
                    yield self.at(entry, fix=Fix.replace(entry.key_span, new, "rename",
                                                         Applicability.SAFE))

    shipped = [rule for rule in all_rules() if rule.code == "TL005"]
    monkeypatch.setattr(engine, "all_rules", lambda kinds=None: (RenamesOntoASibling, *shipped))
    path = tmp_path / "train.yaml"
    path.write_text("lr: 0.1\nlr_typo: 0.2\nepochs_typo: 3\nbatch_size: 8\n")
    report = check_paths([str(path)], Settings(), RunOptions(fix=True))
    # the harmless rename is applied, the one that would repeat `lr` is refused
    assert path.read_text() == "lr: 0.1\nlr_typo: 0.2\nnum_epochs: 3\nbatch_size: 8\n"
    assert report.fixed == 1
    assert any("fix refused (TL997): it would add TL005 error findings" in n for n in report.notes)
    assert codes(report) == ["TL997"]


def test_removing_an_argument_keeps_the_comment_on_its_line(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCHEDULER + "s = StepLR(\n    opt,\n    30,\n"
                    "    verbose=True,  # print the LR each epoch\n    gamma=0.5,\n)\n")
    check(path, fix=True, select=["TL107"])
    assert path.read_text() == (SCHEDULER + "s = StepLR(\n    opt,\n    30,\n"
                                "    # print the LR each epoch\n    gamma=0.5,\n)\n")
