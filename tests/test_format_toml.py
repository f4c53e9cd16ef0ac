"""The TOML adapter: tomllib values and errors, exact positions from the locator."""

from __future__ import annotations

import datetime
import gc
import math
import random
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainlint.formats import toml as toml_format
from trainlint.formats.base import ParseError
from trainlint.text import LineIndex
from helpers import by_key, position

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"


def parse(text: str):
    return toml_format.parse("job.toml", text, LineIndex(text))


def snippet(text: str, span) -> str:
    return text[span.start:span.end]


def test_torchtitan_fixture_positions_and_values():
    text = (FIXTURES / "torchtitan_llama3_8b.toml").read_text()
    document = parse(text)
    assert document.format == "toml"
    entries = by_key(document)
    lr = entries["optimizer.lr"]
    assert lr.value == 3e-4 and lr.raw == "3e-4" and lr.origin == "toml"
    assert position(lr.span) == (13, 6, 13, 10)
    assert position(lr.key_span) == (13, 1, 13, 3)
    warmup = entries["lr_scheduler.warmup_steps"]
    assert warmup.value == 200 and position(warmup.span) == (17, 16, 17, 19)  # comment excluded
    assert entries["job.description"].raw == '"Llama 3 8B training"'
    assert entries["model.converters"].value == [] and entries["model.converters"].raw == "[]"
    assert [entries[f"compile.components.{i}"].value for i in (0, 1)] == ["model", "loss"]
    optimizer = entries["optimizer"]
    assert optimizer.value == {"name": "AdamW", "lr": 3e-4, "eps": 1e-8}
    assert snippet(text, optimizer.key_span) == "optimizer"
    assert optimizer.raw == '[optimizer]\nname = "AdamW"\nlr = 3e-4\neps = 1e-8'
    assert [entry.key for entry in document.entries][:4] == [
        "job", "job.dump_folder", "job.description", "model"]
    for entry in document.entries:
        assert snippet(text, entry.span) == entry.raw


def test_dotted_keys_make_one_implicit_table_spanning_its_lines():
    text = 'name = "run"\nsched.warmup = 200\nsched.decay = "cosine"\n'
    entries = by_key(parse(text))
    sched = entries["sched"]
    assert sched.value == {"warmup": 200, "decay": "cosine"}
    assert sched.raw == 'sched.warmup = 200\nsched.decay = "cosine"'
    assert position(sched.key_span) == (2, 1, 2, 6)
    assert position(entries["sched.decay"].key_span) == (3, 7, 3, 12)
    assert [e.key for e in parse(text).entries] == [
        "name", "sched", "sched.warmup", "sched.decay"]


def test_sub_tables_of_dotted_key_tables_and_late_parent_headers():
    text = ('[fruit]\napple.color = "red"\napple.taste.sweet = true\n\n'
            '[fruit.apple.texture]\nsmooth = true\n\n[x.y.z]\nw = 1\n[x]\nv = 2\n')
    document = parse(text)
    entries = by_key(document)
    assert entries["fruit.apple.taste"].raw == "taste.sweet = true"
    assert position(entries["fruit.apple"].span) == (2, 1, 6, 14)  # grown by the sub-table
    assert entries["fruit.apple.texture"].raw == "[fruit.apple.texture]\nsmooth = true"
    assert entries["x"].raw == "[x.y.z]\nw = 1\n[x]\nv = 2"  # implicit first, declared later
    assert entries["x"].value == {"y": {"z": {"w": 1}}, "v": 2}
    assert [entry.key for entry in document.entries].count("x") == 1


def test_headers_with_dotted_and_quoted_parts():
    text = '[training . "data set"]\nbatch = 8\n\n[training.optim]\nlr = 1e-3\n'
    entries = by_key(parse(text))
    assert entries["training.data set.batch"].value == 8
    assert snippet(text, entries["training.data set"].key_span) == '"data set"'
    assert snippet(text, entries["training"].key_span) == "training"
    assert entries["training"].value == {"data set": {"batch": 8}, "optim": {"lr": 1e-3}}
    assert entries["training"].span.end_line == 5  # reaches the last line written into it
    assert entries["training.optim.lr"].span.line == 5


def test_arrays_of_tables_are_indexed_like_list_items():
    text = ('[[callbacks]]\nname = "early_stop"\npatience = 3\n'
            '[callbacks.options]\nverbose = true\n'
            '[[callbacks]]\nname = "ckpt"\n')
    document = parse(text)
    entries = by_key(document)
    assert entries["callbacks"].value == [
        {"name": "early_stop", "patience": 3, "options": {"verbose": True}}, {"name": "ckpt"}]
    assert entries["callbacks.0"].key_span is None
    assert position(entries["callbacks.0"].span) == (1, 1, 5, 15)
    assert entries["callbacks.0.options.verbose"].value is True
    assert position(entries["callbacks.1.name"].span) == (7, 8, 7, 14)
    assert entries["callbacks"].span.end_line == 7
    assert [e.key for e in document.entries] == [
        "callbacks", "callbacks.0", "callbacks.0.name", "callbacks.0.patience",
        "callbacks.0.options", "callbacks.0.options.verbose", "callbacks.1", "callbacks.1.name"]


def test_inline_tables_and_nested_arrays():
    text = 'opt = {name = "adamw", betas = [0.9, 0.95], extra.eps = 1e-8}\n' \
           'grid = [\n  [1, 2], # first\n  [3],\n]\n'
    entries = by_key(parse(text))
    assert entries["opt"].raw == text.splitlines()[0][6:]
    assert entries["opt.betas.1"].value == 0.95 and entries["opt.betas.1"].span.col == 38
    assert entries["opt.extra"].value == {"eps": 1e-8}
    assert entries["opt.extra.eps"].raw == "1e-8"
    assert position(entries["grid"].span) == (2, 8, 5, 2)
    assert position(entries["grid.1.0"].span) == (4, 4, 4, 5)


def test_strings_of_every_kind_span_their_quotes():
    text = ('a = "x\\"y"\nb = \'C:\\path\'\nc = """one\n"two""""\nd = \'\'\'raw\n\'\'\'\n'
            'e = 1979-05-27 07:32:00Z\nf = 07:32:00\ng = -inf\nh = 0x_ff\n')
    text = text.replace("0x_ff", "0xff")
    entries = by_key(parse(text))
    assert entries["a"].raw == '"x\\"y"' and entries["a"].value == 'x"y'
    assert entries["b"].raw == "'C:\\path'"
    assert entries["c"].raw == '"""one\n"two""""' and entries["c"].value == 'one\n"two"'
    assert entries["d"].raw == "'''raw\n'''"
    assert entries["e"].raw == "1979-05-27 07:32:00Z"
    assert entries["e"].value == datetime.datetime(1979, 5, 27, 7, 32, tzinfo=datetime.UTC)
    assert entries["f"].value == datetime.time(7, 32)
    assert entries["g"].value == -math.inf and entries["h"].value == 255


def test_columns_count_characters_after_non_ascii_text():
    text = 'titre = "données"\n"clé" = 1\nlr = 2e-4 # réglé\n["été"]\nx = "ü"\n'
    entries = by_key(parse(text))
    assert position(entries["clé"].key_span) == (2, 1, 2, 6)
    assert position(entries["clé"].span) == (2, 9, 2, 10)
    assert position(entries["titre"].span) == (1, 9, 1, 18)
    assert entries["été.x"].span.col == 5
    assert snippet(text, entries["été"].key_span) == '"été"'


def test_crlf_lines_and_columns():
    text = '[optimizer]\r\nlr = 1e-3\r\nname = """multi\r\nline"""\r\n\r\n[train]\r\nsteps = 5\r\n'
    entries = by_key(parse(text))
    assert position(entries["optimizer.lr"].span) == (2, 6, 2, 10)
    assert entries["optimizer.name"].raw == '"""multi\r\nline"""'
    assert entries["optimizer.name"].value == "multi\nline"  # tomllib's reading
    assert position(entries["train.steps"].span) == (7, 9, 7, 10)
    assert entries["optimizer"].raw.endswith('line"""')


def test_bom_is_not_required_and_tolerated():
    assert by_key(parse("lr = 1"))["lr"].span.col == 6
    assert by_key(parse("\ufefflr = 1"))["lr"].span.start == 6


def test_empty_and_comment_only_documents():
    assert parse("").entries == []
    assert parse("# nothing\n\n   \n").entries == []


BAD_INPUT = [
    ("lr = ", "Invalid value", 1, 6),
    ("lr = 1\nlr = 2\n", "Cannot overwrite a value", 2, 7),
    ("[a]\nx = 1\n[a]\n", "Cannot declare ('a',) twice", 3, 3),
    ("x = [1, 2\n", "Unclosed array", 2, 1),
    ('s = "abc\n', "Illegal character '\\n'", 1, 9),
    ('s = "\\q"\n', "Unescaped '\\' in a string", 1, 8),
    ("x = nan\ny = 1e\n", "Expected newline or end of document after a statement", 2, 6),
    ("lr: 1\n", "Expected '=' after a key in a key/value pair", 1, 3),
    ("x = 1 y = 2\n", "Expected newline or end of document after a statement", 1, 7),
    ("\x00\x01\xff binary", "Invalid statement", 1, 1),
    ("é = 1\n", "Invalid statement", 1, 1),
    ("a = 1\n\ufeffb = 2\n", "Invalid statement", 2, 1),
    ("a = {b = 1,}\n", "Invalid initial character for a key part", 1, 12),
]


@pytest.mark.parametrize(("text", "message", "line", "col"), BAD_INPUT)
def test_bad_input_is_a_parse_error_at_the_problem(text, message, line, col):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)
    assert "(at line" not in caught.value.message
    assert (caught.value.line, caught.value.col) == (line, col)


def test_error_columns_count_the_bom():
    with pytest.raises(ParseError) as caught:
        parse("\ufeffx = @\n")
    assert (caught.value.line, caught.value.col) == (1, 6)


def test_error_at_end_of_document():
    with pytest.raises(ParseError) as caught:
        parse('a = 1\ns = """never closed')
    assert (caught.value.line, caught.value.col) == (2, 20)


@pytest.mark.parametrize("opener", ["[", "{a = "])
def test_deep_nesting_is_a_parse_error_not_a_recursion_error(opener):
    closer = "]" if opener == "[" else "}"
    text = "x = " + opener * 10_000 + closer * 10_000
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert "nesting" in caught.value.message
    assert caught.value.line == 1


def test_nesting_within_the_limit_is_read():
    depth = toml_format.MAX_NESTING
    document = parse("x = " + "[" * depth + "1" + "]" * depth)
    assert document.entries[-1].value == 1 and document.entries[-1].key.count(".") == depth


def test_integer_beyond_the_digit_limit_is_a_parse_error():
    with pytest.raises(ParseError) as caught:
        parse("a = 1\nn = " + "9" * 5000)
    assert (caught.value.line, caught.value.col) == (2, 5)


def _parse_seconds(sections: int) -> float:
    """CPU time of the best of two parses, the garbage collector paused (the check is for
    the algorithm, not for a busy machine)."""
    text = "".join(f'[s{i}]\nlr = 0.1\nname = "x"\nlist = [1, {{a = 2}}]\nsub.k = {i}\n'
                   for i in range(sections))
    index = LineIndex(text)
    gc.collect()
    gc.disable()
    try:
        best = float("inf")
        for _ in range(2):
            start = time.process_time()
            toml_format.parse("big.toml", text, index)
            best = min(best, time.process_time() - start)
        return best
    finally:
        gc.enable()


def test_time_grows_linearly_with_size():
    small, large = _parse_seconds(200), _parse_seconds(800)
    assert large < small * 10  # linear is ~4x; quadratic would be ~16x


# -- generated documents: every entry must read back to tomllib's value -----------------

SCALARS = ['1', '-17', '1_000', '0o17', '3.5', '1e-4', '5E-5', '+inf', 'true', 'false',
           '"plain"', '"esc\\"aped\\\\"', '"\\u00e9t\\U0001F600"', "'lit\\eral'", '""',
           '"""ml\n  basic "q" ""\nend"""', '"""\\\n  folded"""', "'''ml\nlit'''",
           "'''quote''''", '1979-05-27T07:32:00-08:00', '1979-05-27 07:32:00.5',
           '1979-05-27', '07:32:00', '"ünï"']
KEY_PARTS = ["k", "lr", "warmup-steps", "_x1", '"quoted key{}"', "'lit.key{}'", '"é{}"', "42"]


def _key(rng: random.Random, used: set[str], dotted: bool) -> str:
    while True:
        part = rng.choice(KEY_PARTS)
        suffix = str(rng.randrange(3))
        parts = [part.format(suffix) if "{}" in part else part + suffix]
        if dotted and rng.random() < 0.4:
            parts.insert(0, rng.choice(["p", "'q r'"]))
        key = rng.choice([".", " . ", "."]).join(parts)
        if key not in used and parts[-1] not in used:
            used.add(key)
            used.add(parts[-1])
            return key


def _value(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth < 3 and roll < 0.15:
        items = [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
        separator = rng.choice([", ", ",", ",\n  ", " , # note\n"])
        trailing = rng.choice(["", ",", ",\n"]) if items else ""
        return "[" + separator.join(items) + trailing + "]"
    if depth < 3 and roll < 0.25:
        used: set[str] = set()
        pairs = [f"{_key(rng, used, True)} = {_value(rng, depth + 1)}"
                 for _ in range(rng.randrange(3))]
        pairs = [pair for pair in pairs if "\n" not in pair]
        return "{" + ", ".join(pairs) + "}" if pairs else "{}"
    return rng.choice(SCALARS)


def _document(rng: random.Random) -> str:
    lines: list[str] = []
    used: set[str] = set()

    def body() -> None:
        prefixes_used: set[str] = set()
        for _ in range(rng.randrange(4)):
            key = _key(rng, used, dotted=True)
            prefixes_used.add(key)
            spacing = rng.choice([" = ", "=", "  =\t"])
            comment = rng.choice(["", "  # c", " #é"])
            lines.append(f"{key}{spacing}{_value(rng)}{comment}")
            if rng.random() < 0.2:
                lines.append(rng.choice(["", "# standalone", "   "]))

    body()
    for number in range(rng.randrange(4)):
        kind = rng.random()
        if kind < 0.3:
            for _ in range(rng.randrange(1, 3)):
                lines.append(f"[[aot{number}]]")
                used.clear()
                body()
                if rng.random() < 0.5:
                    lines.append(f"[aot{number}.sub]")
                    used.clear()
                    body()
        else:
            header = rng.choice([f"t{number}", f't{number}."sub x"', f" t{number} . y "])
            lines.append(f"[{header}]")
            used.clear()
            body()
    text = "\n".join(lines) + rng.choice(["", "\n"])
    return text.replace("\n", "\r\n") if rng.random() < 0.25 else text


def _flatten(value, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for name, item in items:
        key = f"{prefix}{name}"
        keys.add(key)
        if isinstance(item, (dict, list)):
            keys |= _flatten(item, key + ".")
    return keys


def _same(left, right) -> bool:
    if isinstance(left, float) and math.isnan(left):
        return isinstance(right, float) and math.isnan(right)
    return left == right


def _is_table(entry) -> bool:
    if isinstance(entry.value, dict):
        return not entry.raw.startswith("{")
    return (isinstance(entry.value, list) and entry.raw.startswith("[[") and bool(entry.value)
            and all(isinstance(item, dict) for item in entry.value))


def _check_document(text: str) -> bool:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False  # the generator made something invalid; nothing to compare
    document = parse(text)
    assert {entry.key for entry in document.entries} == _flatten(data)
    assert len(document.entries) == len(_flatten(data))  # TOML has no repeated keys
    starts = [entry.span.start for entry in document.entries]
    assert starts == sorted(starts)
    for entry in document.entries:
        assert snippet(text, entry.span) == entry.raw
        if _is_table(entry):  # made by a header or by dotted keys: spans lines
            assert entry.raw.startswith("[") or entry.key_span.start == entry.span.start
        else:
            assert _same(tomllib.loads(f"x = {entry.raw}")["x"], entry.value), entry
        if entry.key_span is not None:
            name = next(iter(tomllib.loads(f"{snippet(text, entry.key_span)} = 0")))
            assert entry.key.endswith(name)
    return True


def test_generated_documents_read_back_exactly():
    rng = random.Random(20240501)
    checked = sum(_check_document(_document(rng)) for _ in range(150))
    assert checked > 120


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('[]{}"\'=.,#\\ \n\r\tabk019-+:TZe\x00é'), max_size=40))
def test_any_text_parses_or_raises_parse_error(text):
    try:
        parse(text)
    except ParseError as error:
        assert error.line >= 1 and error.col >= 1
