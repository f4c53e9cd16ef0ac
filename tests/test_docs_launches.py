"""Markdown shell blocks are launches only when they are runnable commands: usage synopses,
placeholders, tracebacks and command output are documentation (fixtures/launch/docs_synopsis,
whose README gave 16 TL002/TL003 findings before)."""

from __future__ import annotations

import pytest

from helpers import FIXTURES, check, run_cli, run_json
from trainlint.formats.shell import parse

DOCS = FIXTURES / "launch" / "docs_synopsis"


def test_only_runnable_commands_are_judged():
    _, found, _ = run_json("check", str(DOCS / "README.md"))
    in_readme = [(d["code"], d["location"]["row"], d["location"]["column"])
                 for d in found if d["filename"].endswith("README.md")]
    assert in_readme == [
        ("TL003", 15, 71),  # `--seed`: the flags around `<path-to-model>` are still checked
        ("TL002", 39, 28),  # `--lr fast`, before a `# [sic]` comment
    ]


def test_skipped_commands_say_why_with_verbose():
    _, out, _ = run_cli("check", "--verbose", str(DOCS / "README.md"))
    readme = str(DOCS / "README.md")
    for line, word in ((6, "[--lr"), (14, "[imagenet-folder"), (16, "...")):
        assert (f"{readme}:{line}:1: not read as a launch: a usage synopsis or placeholder "
                f"(`{word}`)") in out
    assert f"{readme}:30:1: block skipped: it shows a Python traceback (output)" in out


def test_dollar_prompts_in_a_bash_block_mark_the_other_lines_as_output():
    path = DOCS / "README.md"
    result = parse(str(path), path.read_text(encoding="utf-8"))
    assert [(launch.span.line, launch.span.col) for launch in result.launches] == [
        (15, 1), (22, 3), (39, 1)]
    assert result.problems == []  # line 23, `didn't`, is output: no quote left open


@pytest.mark.parametrize("command", [
    "python train.py data/ --lr 0.1 > log.txt 2>&1",
    "python train.py data/ --lr 0.1 <input.txt >out.txt",
    "python train.py data/ --model-path '<s>' --lr 0.1",
    'python train.py data/ --model-path "[1, 2]"',
    "[ -f data/x ] && python train.py data/",
    "python train.py data/  # see [the docs]",
])
def test_runnable_commands_are_still_launches(command):
    text = f"```bash\n{command}\n```\n"
    (launch,) = parse("README.md", text).launches
    assert launch.script.value == "train.py"


@pytest.mark.parametrize("command", [
    "python train.py [options]",
    "python train.py data/ --lr 0.1 …",
    "python train.py DATA [--lr LR] [--epochs N]",
])
def test_synopses_are_not_launches(command):
    assert parse("README.md", f"```sh\n{command}\n```\n").launches == []


@pytest.mark.parametrize(("command", "flag"), [
    ("python train.py data/ --model-path <PATH/TO/MODEL> --lr 0.1", "--model-path"),
    ("python train.py data/ --rank <different from 0, say 1> --lr 0.1", "--rank"),
])
def test_values_to_fill_in_are_unknown(command, flag):
    (launch,) = parse("README.md", f"```sh\n{command}\n```\n").launches
    value = next(argument.value for argument in launch.arguments
                 if argument.flag is not None and argument.flag.value == flag)
    assert not value.known
    assert [argument.value.value for argument in launch.arguments
            if argument.flag is not None and argument.flag.value == "--lr"] == ["0.1"]


def test_a_shell_template_s_fill_in_lines_are_notes_and_the_rest_is_still_read():
    """`DATA_PATH=<PATH_OF_DATA> \\ ` marks a template: the shell's view of that line and the
    one it continues onto is no finding; a broken continuation elsewhere still is."""
    path = FIXTURES / "launch" / "fill_in_template" / "finetune.sh"
    report = check(path, select=["TL001"])
    assert [(d.code, d.span.line, d.span.col) for d in report.diagnostics] == [("TL001", 8, 37)]
    assert any(":4:39: not read: a value to fill in" in note for note in report.notes)


def test_help_request_is_argparse_s_own_option():
    """`train.py -h` prints the usage (argparse adds -h/--help): no unknown option; the next
    launch's misspelt flag is still one."""
    _, found, _ = run_json("check", str(FIXTURES / "launch" / "help_request" / "run.sh"))
    assert [(d["code"], d["location"]["row"], d["location"]["column"]) for d in found
            if d["code"] == "TL003"] == [("TL003", 4, 27)]
