"""Issue 11, the fix-safety property: for generated files with comments, CRLF, lone CR, BOM,
anchors, strings that look like comments, heredocs and continuations, every fix (safe and
unsafe) leaves every unrelated value identical as the consumer's own parser reads it (PyYAML,
tomllib, json, ast, a shell word-splitter), converges, and is idempotent.

Among them: TL009 never removes "suppression comments" that are string data (a YAML block
scalar, a TOML multi-line string, a shell here-document) and never joins a shell
continuation."""

from __future__ import annotations

import ast
import codecs
import json
import re
import shlex
import tempfile
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from trainlint.engine import RunOptions, check_paths
from trainlint.settings import Settings

def run_fix(path: Path):
    return check_paths([str(path)], Settings(), RunOptions(fix=True, unsafe_fixes=True))


def decoded(data: bytes) -> str:
    return data.decode("utf-8-sig")


# ---------------------------------------------------------------- consumers' readings

def yaml_reading(text: str):
    return yaml.safe_load(text)


def toml_reading(text: str):
    return tomllib.loads(text)


def json_reading(text: str):
    pairs: list[str] = []

    def no_duplicates(items):
        keys = [key for key, _ in items]
        pairs.extend(keys)
        assert len(keys) == len(set(keys)), f"duplicate key in {keys}"
        return dict(items)

    return json.loads(text, object_pairs_hook=no_duplicates)


def python_reading(text: str) -> list[str]:
    """Each top-level statement as ast reads it."""
    return [ast.dump(statement) for statement in ast.parse(text).body]


def shell_reading(text: str) -> list[list[str]]:
    """Commands as bash splits them: `\\`-newline joins lines, `#` starts a comment at a word's
    start, and a here-document's lines up to its delimiter are data."""
    lines = text.split("\n")
    commands: list[list[str]] = []
    logical, index = "", 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.endswith("\\"):
            logical += line[:-1]
            continue
        logical += line
        words = shlex.split(logical, comments=True)
        if words:
            commands.append(words)
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)", logical)
        if heredoc:
            body = []
            while index < len(lines) and lines[index].strip() != heredoc.group(1):
                body.append(lines[index])
                index += 1
            index += 1
            commands.append(["<<", *body])
        logical = ""
    return commands


# ---------------------------------------------------------------- generated files

STALE = "# trainlint: ignore[TL002]"  # a suppression that suppresses nothing: TL009 removes it


@st.composite
def yaml_files(draw, string_comment: bool = False):
    lines = ["epochs: 3  # passes", "batch_size: 8", "lr: 1e-4   # peak"]
    noise = [
        'note: "# not a comment"',
        "path: runs/a#b",
        "base: &base {dropout: 0.1, sizes: [1, 2]}\ncopy: *base\nmerged:\n  <<: *base\n  extra: 2",
        "# a comment line",
        "quoted: 'it''s # here'",
        f"{STALE}\nwarmup_steps: 100",
    ]
    lines += draw(st.lists(st.sampled_from(noise), unique=True, max_size=len(noise)))
    if string_comment:
        lines.append(f"description: |\n  keep these lines\n  {STALE}\n  verbatim")
    lines = draw(st.permutations(lines))
    return _encode(draw, "\n".join(lines) + "\n", ("\n", "\r\n", "\r"))


@st.composite
def toml_files(draw, string_comment: bool = False):
    blocks = ['[training]\nlocal_batch_size = 8\nglobal_batch_size = 64\nsteps = 1000',
              '[optimizer]\nname = "AdamW"\nlr = 3e-4  # peak', f"{STALE}\n[metrics]\nlog_freq = 10"]
    noise = ['[job]\nnote = "# trainlint: ignore[TL004]"\nfolder = "out#1"',
             "# a comment line\n[checkpoint]\ninterval = 500"]
    blocks += draw(st.lists(st.sampled_from(noise), unique=True, max_size=len(noise)))
    if string_comment:
        blocks.append(f'[notes]\ntext = """\nkeep these lines\n{STALE}\nverbatim"""')
    blocks = draw(st.permutations(blocks))
    return _encode(draw, "\n\n".join(blocks) + "\n", ("\n", "\r\n"))


@st.composite
def json_files(draw):
    members = ['"learning_rte": 2e-4', '"per_device_train_batch_size": 32',
               '"num_train_epochs": 3', '"evaluation_strategy": "epoch"']
    noise = ['"output_dir": "out # not a comment"', '"logging_dir": "runs//x"',
             '"learning_rate": 1e-4', '"seed": 42', '"report_to": ["none"]']
    members += draw(st.lists(st.sampled_from(noise), unique=True, max_size=len(noise)))
    members = draw(st.permutations(members))
    text = "{\n  " + ",\n  ".join(members) + "\n}\n"
    return _encode(draw, text, ("\n", "\r\n", "\r"))


@st.composite
def python_files(draw):
    statements = [
        '"""Training schedules.\rOne per run."""' if draw(st.booleans()) else '"""Schedules."""',
        "import torch\nfrom torch.optim.lr_scheduler import StepLR",
        "def make(opt):\n    return StepLR(opt, 20, gamma=0.5, verbose=True)",
        'def restore():\n    return torch.load("ckpt.pt")',
    ]
    noise = ['NOTE = "# trainlint: ignore[TL107]"', "total = (1 +  # one\n         2)",
             f"{STALE.replace('TL002', 'TL107')}\nanswer = 42",
             "def loud(opt):\n    return StepLR(\n        opt,\n        30,\n"
             "        verbose=True,  # print the LR\n        gamma=0.1,\n    )",
             f'DOC = """\nkeep these lines\n{STALE}\nverbatim\n"""']
    statements += draw(st.lists(st.sampled_from(noise), unique=True, max_size=len(noise)))
    statements = statements[:2] + draw(st.permutations(statements[2:]))
    return _encode(draw, "\n\n".join(statements) + "\n", ("\n", "\r\n", "\r", "\r\r\n"), bom=False)


@st.composite
def shell_files(draw, heredoc: bool = False, continuation: bool = False):
    blocks = ["#!/usr/bin/env bash", "set -euo pipefail", f"{STALE}\nexport RUN=1"]
    noise = ["python train.py \\\n  --lr 0.1 \\\n  --epochs 3", 'echo "# trainlint: ignore[TL004]"',
             "# a comment line\nLR=0.1  # peak"]
    blocks += draw(st.lists(st.sampled_from(noise), unique=True, max_size=len(noise)))
    if heredoc:
        blocks.append(f"cat > notes.txt <<'EOF'\nkeep these lines\n{STALE}\nEOF")
    if continuation:
        blocks.append(f"python train.py \\\n  --epochs 3 \\\n  {STALE}\n  --lr 0.5")
    return _encode(draw, "\n".join(blocks) + "\n", ("\n",), bom=False)


def _encode(draw, text: str, newlines: tuple[str, ...], bom: bool = True) -> bytes:
    newline = draw(st.sampled_from(newlines))
    data = text.replace("\n", newline).encode("utf-8")
    if bom and draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    return data


# ---------------------------------------------------------------- the property

def assert_fix_is_safe(name: str, data: bytes, reading, related: set[str]) -> None:
    """Fix the file twice; what the consumer reads outside `related` is unchanged, the second
    fix changes nothing, and the file keeps its BOM and line breaks."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        before = reading(decoded(data))
        report = run_fix(path)
        assert not report.errors, report.errors
        assert report.fixed, "every generated file has something to fix"
        fixed = path.read_bytes()
        after = reading(decoded(fixed))
        _same_outside(before, after, related)
        assert fixed.startswith(codecs.BOM_UTF8) == data.startswith(codecs.BOM_UTF8)
        assert _breaks(decoded(fixed)) <= _breaks(decoded(data))  # no new kind of line break
        again = run_fix(path)
        assert again.fixed == 0 and path.read_bytes() == fixed  # converged and idempotent


def _breaks(text: str) -> set[str]:
    return set(re.findall(r"\r\n|\r|\n", text))


def _same_outside(before, after, related: set[str]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            if key not in related:
                assert key in after, f"`{key}` lost"
                _same_outside(value, after[key], related)
    else:
        assert before == after


PROPERTY = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(data=yaml_files())
def test_yaml_fixes_keep_every_unrelated_value(data):
    assert_fix_is_safe("train.yaml", data, yaml_reading, {"lr"})


@PROPERTY
@given(data=toml_files())
def test_toml_fixes_keep_every_unrelated_value(data):
    assert_fix_is_safe("job.toml", data, toml_reading, set())


@PROPERTY
@given(data=json_files())
def test_json_fixes_keep_every_unrelated_value(data):
    assert_fix_is_safe("args.json", data, json_reading,
                       {"learning_rte", "learning_rate", "evaluation_strategy", "eval_strategy"})


def unrelated_statements(text: str) -> list[str]:
    """The statements no fix targets: all but the scheduler and torch.load calls."""
    return [dump for dump in python_reading(text)
            if "StepLR'" not in dump and "attr='load'" not in dump]


@PROPERTY
@given(data=python_files())
def test_python_fixes_keep_every_unrelated_statement(data):
    assert_fix_is_safe("train.py", data, unrelated_statements, set())


@PROPERTY
@given(data=shell_files())
def test_shell_fixes_keep_every_command(data):
    assert_fix_is_safe("launch.sh", data, shell_reading, set())


@pytest.mark.parametrize("name, files, reading", [
    ("train.yaml", yaml_files(string_comment=True), yaml_reading),
    ("job.toml", toml_files(string_comment=True), toml_reading),
    ("launch.sh", shell_files(heredoc=True), shell_reading),
    ("launch2.sh", shell_files(continuation=True), shell_reading),
], ids=["yaml-block-scalar", "toml-multiline-string", "shell-heredoc",
        "shell-continuation"])
def test_suppression_look_alikes_in_strings_and_continuations_are_kept(name, files, reading):
    @settings(max_examples=5, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=files)
    def fix_is_safe(data):
        assert_fix_is_safe(name, data, reading, {"lr"} if name.endswith(".yaml") else set())

    fix_is_safe()
