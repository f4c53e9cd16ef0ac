"""The Python config adapter: argparse, dataclasses, module constants and dict configs,
read from the ast with exact character spans, and never executed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainlint.api import UNRESOLVED
from trainlint.formats.python import declared_config as pyconfig
from trainlint.formats.base import ParseError
from trainlint.formats.python.ast_index import ParsedScript
from trainlint.text import LineIndex
from helpers import by_key, position

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"


def parse(text: str, tree: ast.Module | None = None):
    return pyconfig.parse("train.py", text, LineIndex(text), tree)


def snippet(text: str, span) -> str:
    return text[span.start:span.end]


def fixture(name: str):
    text = (FIXTURES / name).read_text()
    return text, pyconfig.parse(name, text, LineIndex(text))


# -- module constants (nanoGPT config/*.py) ----------------------------------------------

def test_nanogpt_constants_with_folded_arithmetic():
    text, document = fixture("nanogpt_train_gpt2.py")
    assert document.format == "python"
    entries = by_key(document)
    accumulation = entries["gradient_accumulation_steps"]
    assert accumulation.value == 40 and accumulation.raw == "5 * 8"
    assert accumulation.origin == "constant"
    assert position(accumulation.span) == (13, 31, 13, 36)
    assert position(accumulation.key_span) == (13, 1, 13, 28)
    assert entries["weight_decay"].value == 0.1 and entries["weight_decay"].raw == "1e-1"
    run_name = entries["wandb_run_name"]
    assert run_name.raw == "'gpt2-124M'" and position(run_name.span) == (7, 16, 7, 27)
    assert entries["wandb_log"].value is True
    assert [entry.key for entry in document.entries][:3] == [
        "wandb_log", "wandb_project", "wandb_run_name"]
    for entry in document.entries:
        assert snippet(text, entry.span) == entry.raw


def test_constants_bound_more_than_once_or_not_literal_are_left_out():
    text = (
        "import torch\n"
        "lr = 1e-3\n"
        "steps = 100\n"
        "steps = 200\n"
        "accum = 40\n"
        "if ddp:\n"
        "    accum //= 8\n"
        "dtype = 'bf16' if torch.cuda.is_available() else 'fp16'\n"
        "__version__ = '1.0'\n"
        "warm = 10\n"
        "def bump():\n"
        "    global warm\n"
        "    warm = 20\n"
        "tokens = lr * 0 + steps\n"
        "min_lr = lr / 10\n"
        "a, b = 1, 2\n"
    )
    entries = by_key(parse(text))
    assert set(entries) == {"lr", "min_lr"}
    assert entries["min_lr"].value == pytest.approx(1e-4) and entries["min_lr"].raw == "lr / 10"


def test_folding_refuses_huge_or_failing_arithmetic():
    text = "big = 2 ** 10_000_000\nlong = 'x' * 10 ** 9\nzero = 1 / 0\nok = -(2 ** 4) % 5\n"
    entries = by_key(parse(text))
    assert set(entries) == {"ok"}
    assert entries["ok"].value == 4


def test_tuple_and_dict_constants_get_item_entries():
    text = "betas = (0.9, 0.95)\nsizes: list = [1, 2]\n"
    entries = by_key(parse(text))
    assert entries["betas"].value == (0.9, 0.95)
    assert entries["betas.1"].value == 0.95 and position(entries["betas.1"].span) == (1, 15, 1, 19)
    assert entries["betas.1"].key_span is None
    assert entries["sizes"].value == [1, 2] and entries["sizes.0"].origin == "constant"


# -- dict configs (speech-BCI baseline) --------------------------------------------------

def test_speechbci_dict_config():
    text, document = fixture("speechbci_train_model.py")
    entries = by_key(document)
    lr_start = entries["lrStart"]
    assert lr_start.value == 0.02 and lr_start.origin == "dictconfig"
    assert position(lr_start.span) == (10, 19, 10, 23)
    assert snippet(text, lr_start.key_span) == "'lrStart'"  # the key with its quotes
    assert position(lr_start.key_span) == (10, 6, 10, 15)
    assert entries["nBatch"].value == 10000 and entries["nBatch"].raw == "10000"
    assert entries["outputDir"].value == \
        "/oak/stanford/groups/henderj/stfan/logs/speech_logs/speechBaseline4"
    assert entries["bidirectional"].value is True
    assert "args" not in entries  # the dict itself is the config, not a constant
    assert entries["modelName"].origin == "constant"
    assert len([e for e in document.entries if e.origin == "dictconfig"]) == 21


def test_dict_literals_dict_calls_updates_and_repeated_keys():
    text = (
        "cfg = dict(lr=1e-3, sched={'warmup': 10})\n"
        "cfg['lr'] = 2e-3\n"
        "cfg['optim']['eps'] = 1e-8\n"
        "cfg.update(epochs=3)\n"
        "other = {'batch': 32, 'path': os.getcwd()}\n"
        "env = os.environ\n"
        "env['X'] = '1'\n"
    )
    document = parse(text)
    assert [(e.key, e.value) for e in document.entries] == [
        ("lr", 1e-3), ("sched", {"warmup": 10}), ("sched.warmup", 10), ("lr", 2e-3),
        ("optim.eps", 1e-8), ("epochs", 3), ("batch", 32), ("path", UNRESOLVED)]
    entries = by_key(document)
    assert snippet(text, entries["epochs"].key_span) == "epochs"
    assert snippet(text, entries["optim.eps"].key_span) == "'eps'"
    assert entries["path"].raw == "os.getcwd()"


# -- argparse ------------------------------------------------------------------------------

def test_argparse_specs_and_default_entries():
    text, document = fixture("hf_finetune_args.py")
    specs = {spec.dest: spec for spec in document.extra["arguments"]}
    assert list(specs) == ["lr", "wd", "betas", "fp16", "no_shuffle", "eval", "scheduler",
                           "max_steps"]
    lr = specs["lr"]
    assert lr.flags == ("--lr", "--learning-rate") and lr.type_name == "float"
    assert lr.help == "peak LR"
    assert lr.default.value == 1e-4 and lr.default.raw == '"1e-4"'  # argparse applies type
    assert position(lr.default.span) == (25, 72, 25, 78)
    assert position(lr.default.key_span) == (25, 64, 25, 71)
    assert snippet(text, lr.span).startswith('parser.add_argument("--lr"')
    assert snippet(text, lr.span).endswith('help="peak LR")')
    assert specs["wd"].flags == ("-wd", "--weight-decay") and specs["wd"].default.value == 0.01
    assert specs["betas"].nargs == 2 and specs["betas"].default.value == [0.9, 0.999]
    assert specs["scheduler"].choices == ("linear", "cosine")
    assert specs["max_steps"].default.value == 10_000
    assert specs["eval"].action == "store_true" and specs["eval"].default.value is True
    assert specs["eval"].default.origin == "argparse"


def test_store_true_without_default_is_recorded_but_not_an_entry():
    _text, document = fixture("hf_finetune_args.py")
    specs = {spec.dest: spec for spec in document.extra["arguments"]}
    entries = by_key(document)
    assert specs["fp16"].default.value is False
    assert specs["fp16"].default.origin == "argparse-implicit"
    assert specs["no_shuffle"].default.value is True
    assert "fp16" not in entries and "no_shuffle" not in entries
    assert entries["eval"].value is True
    assert entries["betas.1"].value == 0.999
    assert {entries[key].origin for key in ("lr", "wd", "betas", "max_steps")} == {"argparse"}


@pytest.mark.parametrize(("call", "dest"), [
    ('p.add_argument("--foo-bar")', "foo_bar"),
    ('p.add_argument("-f", "--foo-bar", "--other")', "foo_bar"),
    ('p.add_argument("-x")', "x"),
    ('p.add_argument("-x", "-y")', "x"),
    ('p.add_argument("data-dir", nargs="?")', "data-dir"),  # positionals keep their name
    ('p.add_argument("--lr", dest="learning_rate")', "learning_rate"),
    ('parser_group.add_argument("---triple")', "triple"),
])
def test_dest_is_computed_as_argparse_does(call, dest):
    document = parse(f"{call}\n")
    assert [spec.dest for spec in document.extra["arguments"]] == [dest]


def test_argparse_default_values():
    text = (
        "BASE = 3e-4\n"
        "p.add_argument('--a', type=float, default='1e-4')\n"
        "p.add_argument('--b', type=int, default='8')\n"
        "p.add_argument('--c', type=bool, default='False')\n"
        "p.add_argument('--d', default=BASE * 2)\n"
        "p.add_argument('--e', default=os.environ.get('E'))\n"
        "p.add_argument('--f', type=float, default='not a number')\n"
        "p.add_argument('--g', action=argparse.BooleanOptionalAction, default=False)\n"
        "p.set_defaults(a=0.5)\n"
    )
    document = parse(text)
    entries = [(e.key, e.value) for e in document.entries]
    assert entries == [("BASE", 3e-4), ("a", 1e-4), ("b", 8), ("c", True), ("d", 6e-4),
                       ("e", UNRESOLVED), ("f", "not a number"), ("g", False), ("a", 0.5)]
    unresolved = by_key(document)["e"]
    assert unresolved.raw == "os.environ.get('E')" and not unresolved.known
    assert document.extra["arguments"][-1].action == "BooleanOptionalAction"


def test_argparse_inside_functions_groups_and_subparsers():
    text = (
        "def main():\n"
        "    parser = argparse.ArgumentParser()\n"
        "    sub = parser.add_subparsers(dest='cmd')\n"
        "    train = sub.add_parser('train')\n"
        "    group = train.add_mutually_exclusive_group()\n"
        "    group.add_argument('--warmup', type=int, default=500)\n"
    )
    warmup = by_key(parse(text))["warmup"]
    assert warmup.value == 500 and position(warmup.span) == (6, 54, 6, 57)


# -- dataclasses -------------------------------------------------------------------------

def test_hf_style_dataclass_fields():
    text, document = fixture("hf_finetune_args.py")
    entries = by_key(document)
    learning_rate = entries["learning_rate"]
    assert learning_rate.value == 5e-5 and learning_rate.origin == "dataclass"
    assert position(learning_rate.span) == (16, 42, 16, 46)
    assert snippet(text, learning_rate.key_span) == "learning_rate"
    assert entries["warmup_ratio"].value == 0.1
    assert entries["output_dir"].value is None
    assert entries["dropout"].value == 0.1
    assert "model_name_or_path" not in entries  # no default
    assert "lr_scheduler_kwargs" not in entries  # default_factory


def test_dataclass_variants_and_non_dataclasses():
    text = (
        "@dataclasses.dataclass(frozen=True)\n"
        "class A:\n"
        "    steps: int = 10\n"
        "    registry: ClassVar[dict] = {}\n"
        "class Plain:\n"
        "    ignored: int = 5\n"
        "class Settings(BaseModel):\n"
        "    lr: float = Field(1e-3, gt=0)\n"
        "    name: str = Field(...)\n"
    )
    entries = by_key(parse(text))
    assert set(entries) == {"steps", "lr"}
    assert entries["lr"].value == 1e-3 and entries["lr"].raw == "1e-3"


# -- positions -----------------------------------------------------------------------------

def test_columns_count_characters_after_non_ascii_text():
    text = (
        "nom = 'données'\n"
        "args = {}\n"
        "args['clé'] = 0.5  # réglage\n"
        "p.add_argument('--ü', help='ñ', default=7)\n"
        "x = {'日本': 1, 'lr': 2}\n"
    )
    document = parse(text)
    entries = by_key(document)
    assert position(entries["clé"].span) == (3, 15, 3, 18)
    assert position(entries["clé"].key_span) == (3, 6, 3, 11)
    assert position(entries["ü"].span) == (4, 41, 4, 42)
    assert position(entries["ü"].key_span) == (4, 33, 4, 40)
    assert position(entries["lr"].span) == (5, 21, 5, 22)
    assert snippet(text, document.extra["arguments"][0].span) == text.splitlines()[3]


def test_crlf_lines_and_columns():
    text = "lr = 1e-3\r\nargs = {}\r\nargs['nBatch'] = 5000\r\n"
    entries = by_key(parse(text))
    assert position(entries["lr"].span) == (1, 6, 1, 10)
    assert position(entries["nBatch"].span) == (3, 18, 3, 22)
    assert entries["nBatch"].raw == "5000"


def test_a_given_tree_gives_the_same_document():
    text = (FIXTURES / "hf_finetune_args.py").read_text()
    assert parse(text, ast.parse(text)).entries == parse(text).entries


def test_a_parsed_script_or_its_tree_lends_its_call_index():
    text = (FIXTURES / "hf_finetune_args.py").read_text()
    alone = parse(text)
    for lent in (ParsedScript.parse("train.py", text), ParsedScript.parse("train.py", text).tree):
        document = parse(text, lent)
        assert document.entries == alone.entries
        assert document.extra["arguments"] == alone.extra["arguments"]


def test_multi_line_values_span_all_their_lines():
    text = "layers = [\n    64,\n    128,\n]\n"
    entries = by_key(parse(text))
    assert position(entries["layers"].span) == (1, 10, 4, 2)
    assert position(entries["layers.1"].span) == (3, 5, 3, 8)


# -- bad input and no execution ----------------------------------------------------------

BAD_INPUT = [
    ("lr = (1e-3\n", "'(' was never closed", 1, 6),
    ("print 'hello'\n", "Missing parentheses in call to 'print'", 1, 1),
    ("x = 1\n  y = 2\n", "unexpected indent", 2, 3),
    ("é = 1 +\n", "invalid syntax", 1, 8),
    ("a = 1\nb = 'unterminated\n", "unterminated string literal", 2, 5),
    ("a = 1\nb = 2\x00\n", "source code string cannot contain null bytes", 2, 6),
    ("x = " + "(" * 1000 + ")" * 1000, "too many nested parentheses", 1, 205),
    ("\x89PNG\r\n\x1a\n\x00\x00", "source code string cannot contain null bytes", 3, 1),
    ("if x:\n        y = 1\n    z = 2\n", "unindent does not match", 3, 5),
    ("x = 1\n\ty = 2\n", "unexpected indent", 2, 2),
]


@pytest.mark.parametrize(("text", "message", "line", "col"), BAD_INPUT)
def test_bad_input_is_a_parse_error_at_the_problem(text, message, line, col):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)
    assert (caught.value.line, caught.value.col) == (line, col)


def test_expression_too_deep_for_the_parser_is_a_parse_error():
    with pytest.raises(ParseError) as caught:
        parse("x = " + " + ".join(["1"] * 100_000) + "\n")
    assert "nested too deeply" in caught.value.message


def test_long_but_parseable_arithmetic_is_unresolved_not_a_crash():
    text = "x = " + " + ".join(["1"] * 500) + "\ny = 2\n"
    entries = by_key(parse(text))
    assert "x" not in entries and entries["y"].value == 2


def test_nothing_is_executed(tmp_path):
    markers = {name: tmp_path / f"{name}.created" for name in
               ("import", "default", "field", "decorator", "constant", "main")}
    text = (
        "import pathlib\n"
        f"pathlib.Path({str(markers['import'])!r}).write_text('x')\n"
        f"lr = open({str(markers['constant'])!r}, 'w')\n"
        "def mark(cls):\n"
        f"    open({str(markers['decorator'])!r}, 'w')\n"
        "    return cls\n"
        "@mark\n"
        "@dataclass\n"
        "class Args:\n"
        f"    out: str = field(default=open({str(markers['field'])!r}, 'w').name)\n"
        "    steps: int = 3\n"
        f"parser.add_argument('--x', default=open({str(markers['default'])!r}, 'w'))\n"
        "if __name__ == '__main__':\n"
        f"    open({str(markers['main'])!r}, 'w')\n"
    )
    document = parse(text)
    assert not [name for name, marker in markers.items() if marker.exists()]
    entries = by_key(document)
    assert entries["x"].value is UNRESOLVED and entries["out"].value is UNRESOLVED
    assert entries["steps"].value == 3
    assert "lr" not in entries


def test_lone_surrogate_is_a_parse_error():
    with pytest.raises(ParseError) as caught:
        parse("a = 1\nb = '\ud800'\n")
    assert caught.value.line == 2


PYTHON_TOKENS = ["a", "args", "[", "]", "'k'", "=", " ", "\n", "(", ")", "{", "}", ":", ",",
                 "1e-4", "5", "*", "**", "-", "/", "p.add_argument", "default", "dict",
                 "@dataclass", "class C:", "    ", "x: int", "global a", "def f():", "é",
                 "\t", "\x00", "print 'x'", '"""', ":=", "field(default=", "lambda:"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PYTHON_TOKENS), max_size=30))
def test_any_text_parses_or_raises_parse_error(tokens):
    text = "".join(tokens)
    try:
        document = parse(text)
    except ParseError as error:
        assert error.line >= 1 and error.col >= 1
    else:
        for entry in document.entries:
            assert text[entry.span.start:entry.span.end] == entry.raw
