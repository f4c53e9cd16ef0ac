"""Suppressions are real comments, as each format's lexer finds them; TL009's fix never changes
what a file means or what a launcher runs."""

from __future__ import annotations

import textwrap

import pytest

from helpers import check, codes
from trainlint.formats.comments import python_comments, toml_comments, yaml_comments
from trainlint.load import Loader


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# Suppression words that are string data: TL009 must not report them or "fix" them away.
STRING_DATA = {
    "yaml literal block": ("notes.yaml", """\
        learning_rate: 2.0e-5
        notes: |
          run it with
          # trainlint: ignore[TL004]
          and see
        num_train_epochs: 3
        """),
    "yaml folded block": ("notes.yaml", """\
        learning_rate: 2.0e-5
        notes: >
          # trainlint: ignore[TL004]
        num_train_epochs: 3
        """),
    "yaml multi-line quoted": ("notes.yaml", """\
        learning_rate: 2.0e-5
        notes: "first line
          # trainlint: ignore[TL004]
          last line"
        num_train_epochs: 3
        """),
    "toml multi-line string": ("job.toml", '''\
        [optimizer]
        lr = 0.001
        notes = """
        # trainlint: ignore[TL004]
        """
        '''),
    "toml multi-line literal string": ("job.toml", """\
        [optimizer]
        lr = 0.001
        notes = '''
        # trainlint: ignore[TL004]
        '''
        """),
    "shell here-document": ("run.sh", """\
        cat > notes.txt <<EOF
        # trainlint: ignore[TL201]
        EOF
        echo done
        """),
}


@pytest.mark.parametrize("name,source", STRING_DATA.values(), ids=list(STRING_DATA))
def test_suppression_words_in_string_data_are_no_comments(tmp_path, name, source):
    path = write(tmp_path, name, source)
    before = path.read_text(encoding="utf-8")
    report = check(path, select=["TL004", "TL201", "TL009"])
    assert "TL009" not in codes(report)
    check(path, select=["TL004", "TL201", "TL009"], fix=True)
    assert path.read_text(encoding="utf-8") == before


def test_a_yaml_block_scalar_suppresses_nothing(tmp_path):
    path = write(tmp_path, "train.yaml", """\
        notes: |
          # trainlint: ignore[TL004]
        learning_rate: 1e-4
        num_train_epochs: 3
        """)
    assert [(d.code, d.span.line) for d in check(path, select=["TL004"]).diagnostics] \
        == [("TL004", 3)]


def test_a_python_string_suppresses_nothing(tmp_path):
    path = write(tmp_path, "train.py", '''\
        import torch
        usage = """
        # trainlint: ignore[TL401]
        """; state = torch.load("model.pt")
        ''')
    assert [(d.code, d.span.line) for d in check(path, select=["TL401"]).diagnostics] \
        == [("TL401", 4)]


def test_real_comments_still_suppress_in_every_format(tmp_path):
    yaml_path = write(tmp_path, "train.yaml", """\
        notes: "a # b"   # trainlint: ignore[TL004]
        learning_rate: 1e-4  # trainlint: ignore[TL004]
        num_train_epochs: 3
        """)
    assert "TL004" not in codes(check(yaml_path, select=["TL004"]))
    python_path = write(tmp_path, "train.py", """\
        import torch
        state = torch.load("model.pt")  # noqa: TL401
        """)
    assert "TL401" not in codes(check(python_path, select=["TL401"]))


# ---------------------------------------------------------------- TL009 in a shell continuation

CONTINUED = """\
python train.py \\
  --epochs 3 \\
# trainlint: ignore[TL201]
  --lr 0.5
"""


def _launch_words(path) -> list[list[str]]:
    document = Loader().load(str(path))
    return [[word.text for word in launch.words] for launch in document.launch_file.launches]


def test_tl009_fix_never_joins_continued_shell_lines(tmp_path):
    path = tmp_path / "run.sh"
    path.write_text(CONTINUED, encoding="utf-8")
    (tmp_path / "train.py").write_text("import argparse\n", encoding="utf-8")
    before = _launch_words(path)
    assert before == [["--epochs", "3"]]  # the comment ends the command: `--lr 0.5` is not in it
    report = check(path, select=["TL201", "TL009"])
    assert [(d.code, d.span.line) for d in report.diagnostics] == [("TL009", 3)]
    check(path, select=["TL201", "TL009"], fix=True)
    assert path.read_text(encoding="utf-8") == "python train.py \\\n  --epochs 3 \\\n\n  --lr 0.5\n"
    assert _launch_words(path) == before


def test_tl009_fix_removes_a_whole_comment_line_elsewhere(tmp_path):
    path = tmp_path / "run.sh"
    path.write_text("# trainlint: ignore[TL201]\npython train.py --epochs 3\n", encoding="utf-8")
    check(path, select=["TL201", "TL009"], fix=True)
    assert path.read_text(encoding="utf-8") == "python train.py --epochs 3\n"


# ---------------------------------------------------------------- the finders themselves


def test_yaml_comments_skip_scalars():
    text = "a: |\n  x # no\n# yes\nb: 'p # no' # yes\nc: d#e  # yes\n"
    assert [text[start:end] for start, end in yaml_comments(text)] == ["# yes", "# yes", "# yes"]


def test_toml_comments_skip_every_kind_of_string():
    text = ('a = "x # no" # yes\nb = \'y # no\'\nc = """\n# no \\""" still no\n"""  # yes\n'
            "d = '''\n# no\n''' # yes\n")
    assert [text[start:end] for start, end in toml_comments(text)] == ["# yes"] * 3


def test_python_comments_are_tokens():
    text = 'x = "# no"  # yes\n"""\n# no\n"""\r\n# yes\r\n'
    assert [text[start:end] for start, end in python_comments(text)] == ["# yes", "# yes"]


def test_shell_comments_skip_quotes_and_here_documents():
    text = "echo '# no' \"# no\" # yes\ncat <<EOF\n# no\nEOF\n# yes\n"
    found = Loader().from_bytes("run.sh", text.encode()).comments()
    assert [text[start:end] for start, end in found] == ["# yes", "# yes"]
