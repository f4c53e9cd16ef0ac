"""Bad input: each gets a TL001 at file:line:col or a skip note, never a traceback."""

from __future__ import annotations

import json
import os
import sys

import pytest

from helpers import check, codes, run_cli


def _only(report, code="TL001"):
    return [d for d in report.diagnostics if d.code == code]


def test_malformed_yaml_points_at_the_problem(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("optim_conf:\n  lr: 0.001\n weight_decay: 0.01\n")
    [finding] = _only(check(path))
    assert (finding.span.line, finding.span.col) == (3, 2)
    assert "YAML" in finding.message


def test_malformed_json_points_at_the_problem(tmp_path):
    path = tmp_path / "args.json"
    path.write_text('{\n  "learning_rate": 1e-4,\n}\n')
    [finding] = _only(check(path))
    assert finding.span.line == 3


def test_python_syntax_error_and_python2(tmp_path):
    broken = tmp_path / "train.py"
    broken.write_text("import torch\ndef f(:\n    pass\n")
    legacy = tmp_path / "old.py"
    legacy.write_text("print 'hello'\n")
    report = check(tmp_path)
    found = {(os.path.basename(d.path), d.span.line) for d in _only(report)}
    assert found == {("train.py", 2), ("old.py", 1)}


def test_binary_junk_and_invalid_utf8(tmp_path):
    (tmp_path / "junk.yaml").write_bytes(b"lr: 0.1\n\x00\x01\x02\xff\xfe")
    (tmp_path / "latin.yaml").write_bytes(b"lr: 0.1\nname: caf\xe9\n")
    report = check(tmp_path)
    by_file = {os.path.basename(d.path): d for d in _only(report)}
    assert set(by_file) == {"junk.yaml", "latin.yaml"}
    assert (by_file["latin.yaml"].span.line, by_file["latin.yaml"].span.col) == (2, 10)


def test_empty_files_are_fine(tmp_path):
    for name in ("a.yaml", "b.json", "c.py", "d.toml"):
        (tmp_path / name).write_text("")
    report = check(tmp_path)
    assert codes(report) == ["TL001"]  # an empty JSON file is not JSON
    assert report.diagnostics[0].path.endswith("b.json")


def test_big_file_is_skipped_with_a_note(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("lr: 0.1\n" + "x: 1\n" * 2_000_000)  # ~10 MB
    report = check(tmp_path)
    assert report.diagnostics == []
    assert any("max-file-size" in note for note in report.notes)
    code, out, _ = run_cli("check", str(tmp_path), "--verbose")
    assert code == 0 and "skipped" in out


def test_deep_yaml_nesting(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("lr: " + "[" * 10_000 + "]" * 10_000 + "\n")
    [finding] = _only(check(path))
    # The depth guard (ours, or libyaml's own in newer PyYAML) words it; the contract is one
    # TL001 at the document's first line, and the run exits 1.
    assert finding.code == "TL001" and finding.severity.value == "error"
    assert finding.span.line == 1
    assert run_cli("check", str(path))[0] == 1


def test_yaml_alias_bomb(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, previous in zip("bcdefghi", "abcdefgh"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    [finding] = _only(check(path))
    assert "alias bomb" in finding.message


def test_python_object_tag_is_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"lr: !!python/object/apply:os.system ['touch {marker}']\nepochs: 3\nbatch_size: 2\n")
    check(path)
    assert not marker.exists()


def test_symlink_loop_is_not_followed(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "train.yaml").write_text("lr: 1e-4\nepochs: 3\nbatch_size: 4\n")
    os.symlink(tmp_path, tmp_path / "configs" / "loop")
    report = check(tmp_path, select=["TL0"])
    assert codes(report) == ["TL004"]


def test_scripts_are_never_executed(tmp_path):
    marker = tmp_path / "created"
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse, pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        "p = argparse.ArgumentParser()\n"
        f"p.add_argument('--lr', type=float, default=pathlib.Path({str(marker)!r}).touch())\n"
    )
    check(script)
    run_cli("check", str(script))
    assert not marker.exists()


def test_other_files_are_still_checked(tmp_path):
    (tmp_path / "a.yaml").write_text("lr: [\n")
    (tmp_path / "b.yaml").write_text("lr: 1e-4\nepochs: 3\nbatch_size: 4\n")
    assert sorted(codes(check(tmp_path, select=["TL0"]))) == ["TL001", "TL004"]


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\xff\xfe", b"#!\x00"])
def test_odd_bytes_never_crash(tmp_path, content):
    path = tmp_path / "x.yaml"
    path.write_bytes(content)
    report = check(path)
    assert not report.errors


def test_python_of_a_newer_grammar_is_not_checked_and_says_so():
    """PEP 695 code is valid Python 3.12: unreadable by this interpreter's parser, not wrong."""
    from helpers import FIXTURES

    path = FIXTURES / "python312" / "pep695_types.py"
    report = check(path)
    assert report.diagnostics == []
    if sys.version_info < (3, 12):  # a 3.12 interpreter reads it and checks it
        assert any("not checked: Python syntax newer" in note for note in report.notes)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="a 3.12 interpreter reads PEP 695")
def test_a_pep695_statement_is_known_newer_without_a_second_parser():
    """The statement where Python's parser stopped is PEP 695: no libcst import (0.3 s)."""
    import subprocess

    from helpers import FIXTURES

    path = FIXTURES / "python312" / "pep695_types.py"
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "trainlint", "check", str(path),
                           "--output-format", "json"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout) == []
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]
    assert "trainlint.load" in imported and "libcst" not in imported


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="a 3.12 interpreter reads PEP 701")
def test_a_newer_fstring_is_decided_by_the_newer_grammar(tmp_path):
    path = tmp_path / "train.py"
    path.write_text('names = ["a"]\nprint(f"{", ".join(names)}")\n')
    report = check(path)
    assert report.diagnostics == []
    assert any("not checked: Python syntax newer" in note for note in report.notes)


def test_python_no_grammar_accepts_is_still_tl001(tmp_path):
    path = tmp_path / "train.py"
    path.write_text("def broken(:\n    pass\n")
    [finding] = _only(check(path))
    assert (finding.span.line, finding.span.col) == (1, 12)
