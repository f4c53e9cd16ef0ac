"""The Python fix helpers: splices at ast spans and the libcst rewriter, as text edits."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from trainlint.fix import cst as fix
from trainlint.formats.python.ast_index import ParsedScript


def apply(text: str, *edits) -> str:
    for edit in sorted((e for e in edits if e is not None), key=lambda e: e.span.start,
                       reverse=True):
        text = text[:edit.span.start] + edit.content + text[edit.span.end:]
    return text


def first_call(text: str) -> tuple[ParsedScript, ast.Call]:
    script = ParsedScript.parse("x.py", text)
    return script, script.calls[0]


@pytest.mark.parametrize("before,after", [
    ("torch.load(p)\n", "torch.load(p, weights_only=True)\n"),
    ("torch.load()\n", "torch.load(weights_only=True)\n"),
    ("torch.load(p,)\n", "torch.load(p, weights_only=True,)\n"),
    ("torch.load(p  # the file\n)\n", "torch.load(p, weights_only=True  # the file\n)\n"),
    ("torch.load(\n    p,\n    map_location='cpu',  # c\n)\n",
     "torch.load(\n    p,\n    map_location='cpu',  # c\n    weights_only=True,\n)\n"),
    ("torch.load(\n    p, map_location='cpu',\n)\n",
     "torch.load(\n    p, map_location='cpu',\n    weights_only=True,\n)\n"),
    ("x = torch.load(p, map_location='cpu',\n)\n",
     "x = torch.load(p, map_location='cpu',\n    weights_only=True,\n)\n"),
    ("torch.load(\r\n    p,\r\n)\r\n", "torch.load(\r\n    p,\r\n    weights_only=True,\r\n)\r\n"),
    ("torch.load(f'{run}/é.pt')\n", "torch.load(f'{run}/é.pt', weights_only=True)\n"),
])
def test_insert_keyword_keeps_the_call_layout(before, after):
    script, call = first_call(before)
    edit = fix.insert_keyword(script, call, "weights_only", "True")
    assert apply(before, edit) == after
    ast.parse(after)


def test_insert_keyword_refuses_a_bare_generator_argument():
    script, call = first_call("total(x for x in xs)\n")
    assert fix.insert_keyword(script, call, "start", "0") is None


@pytest.mark.parametrize("before,after", [
    ("s = R(opt, patience=10, verbose=True)\n", "s = R(opt, patience=10)\n"),
    ("s = R(opt, verbose=True, patience=10)\n", "s = R(opt, patience=10)\n"),
    ("s = R(verbose=True)\n", "s = R()\n"),
    ("s = R(\n    opt,\n    verbose=True,\n)\n", "s = R(\n    opt,\n)\n"),
    ("s = R(\n    opt,\n    verbose=True)\n", "s = R(\n    opt)\n"),
    # with comments: libcst keeps the ones that do not belong to the argument
    ("s = R(\n    opt,\n    patience=10,  # wait\n    # own line\n    verbose=True,  # noisy\n)\n",
     "s = R(\n    opt,\n    patience=10,  # wait\n    # own line\n)\n"),
    ("def f():\n    s = R(\n        opt,\n        verbose=True,  # noisy\n"
     "        # about patience\n        patience=10,\n    )\n",
     "def f():\n    s = R(\n        opt,\n        # about patience\n        patience=10,\n    )\n"),
    ("s = R(\n    opt,  # first\n    verbose=True)\n", "s = R(\n    opt,  # first\n)\n"),
])
def test_remove_keyword_takes_its_comma_and_keeps_other_comments(before, after):
    script, call = first_call(before)
    edit = fix.remove_keyword(script, call, "verbose")
    assert apply(before, edit) == after
    ast.parse(after)


@pytest.mark.parametrize("before,after", [
    ("torch.cuda.amp.autocast()\n", 'torch.amp.autocast("cuda")\n'),
    ("torch.cuda.amp.autocast(True)\n", 'torch.amp.autocast("cuda", enabled=True)\n'),
    ("autocast(True, torch.bfloat16)\n",
     'torch.amp.autocast("cuda", enabled=True, dtype=torch.bfloat16)\n'),
    ("autocast(enabled=flag)  # amp\n", 'torch.amp.autocast("cuda", enabled=flag)  # amp\n'),
    ("autocast(\n    enabled=flag,\n)\n", 'torch.amp.autocast(\n    "cuda",\n    enabled=flag,\n)\n'),
])
def test_rewrite_call_text(before, after):
    script, call = first_call(before)
    edit = fix.rewrite_call_text(script, call, "torch.amp.autocast", '"cuda"',
                                 ("enabled", "dtype", "cache_enabled"))
    assert apply(before, edit) == after


def test_rewrite_call_text_refuses_star_arguments():
    script, call = first_call("autocast(*flags)\n")
    assert fix.rewrite_call_text(script, call, "torch.amp.autocast", '"cuda"', ("enabled",)) is None


def test_rewrite_call_with_libcst_changes_only_the_call():
    before = "x = 1  # keep\nscaler = GradScaler(\n    init_scale=1024,  # start low\n)\ny = 2\n"
    script = ParsedScript.parse("x.py", before)
    call = script.calls[0]
    edit = fix.rewrite_call(script, call, lambda node: fix.replace_func(
        fix.prepend_argument(node, '"cuda"'), "torch.amp.GradScaler"))
    after = apply(before, edit)
    assert after == ('x = 1  # keep\nscaler = torch.amp.GradScaler(\n    "cuda",\n'
                     '    init_scale=1024,  # start low\n)\ny = 2\n')
    assert edit.span.start > before.index("scaler")


def test_minimal_edit_is_minimal():
    script = ParsedScript.parse("x.py", "f(a, b)\n")
    edit = fix.minimal_edit(script, 0, "f(a, b)", "f(a, c)")
    assert (edit.span.start, edit.span.end, edit.content) == (5, 6, "c")
    assert fix.minimal_edit(script, 0, "same", "same") is None


@pytest.mark.parametrize("before,expected_line", [
    ('"""Doc."""\nfrom __future__ import annotations\n\nimport os\n', 4),
    ("#!/usr/bin/env python\n# comment\nimport os\n", 3),
    ('"""Only a docstring."""\n', 2),
    ("x = 1\n", 1),
])
def test_add_import_goes_before_the_first_import_after_docstring_and_future(before, expected_line):
    script = ParsedScript.parse("x.py", before)
    name, edit = fix.ensure_module_name(script, "torch")
    assert name == "torch"
    after = apply(before, edit)
    assert after.splitlines()[expected_line - 1] == "import torch"
    ast.parse(after)


def test_existing_alias_is_reused():
    script = ParsedScript.parse("x.py", "import torch as T\n")
    assert fix.ensure_module_name(script, "torch") == ("T", None)


def test_check_does_not_import_libcst_for_the_common_fixes(tmp_path):
    """`trainlint check` reports fixes; the common rewrites must not pay libcst's import."""
    path = tmp_path / "train.py"
    path.write_text(
        "import torch\nfrom torch.cuda.amp import GradScaler, autocast\n\n"
        "scaler = GradScaler()\nwith autocast(True):\n    pass\n"
        "state = torch.load('x.pt')\n"
        "sched = torch.optim.lr_scheduler.StepLR(opt, 10, verbose=True)\n",
        encoding="utf-8")
    code = ("import sys\nfrom trainlint.engine import check_paths\n"
            f"report = check_paths([{str(path)!r}])\n"
            "assert any(d.fix for d in report.diagnostics), report.diagnostics\n"
            "print('libcst' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


ARGUMENTS = st.lists(st.sampled_from(["a", "b=1", "c=[1, 2]", "*rest", "**extra", "d='x'"]),
                     max_size=4, unique=True)


@settings(max_examples=150, deadline=None)
@given(ARGUMENTS, st.booleans(), st.booleans())
def test_insert_keyword_always_gives_python(arguments, multiline, trailing):
    ordered = ([a for a in arguments if "=" not in a and not a.startswith("**")]
               + [a for a in arguments if "=" in a and not a.startswith("**")]
               + [a for a in arguments if a.startswith("**")])
    separator = ",\n    " if multiline else ", "
    inner = separator.join(ordered)
    if multiline and ordered:
        inner = "\n    " + inner + ("," if trailing else "") + "\n"
    elif trailing and ordered:
        inner += ","
    text = f"value = call({inner})\n"
    script, call = first_call(text)
    edit = fix.insert_keyword(script, call, "weights_only", "True")
    after = apply(text, edit)
    tree = ast.parse(after)
    new_call = tree.body[0].value
    assert any(k.arg == "weights_only" for k in new_call.keywords)
    assert len(new_call.args) == len(call.args)
