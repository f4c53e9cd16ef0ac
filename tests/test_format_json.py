"""The JSON adapter: stdlib values, exact positions, and only ParseError for bad input."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainlint.formats import json as json_format
from trainlint.formats.base import ParseError
from trainlint.text import LineIndex
from helpers import by_key, position

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"


def parse(text: str):
    return json_format.parse("config.json", text, LineIndex(text))


def test_keys_values_and_spans_are_exact():
    text = '{\n  "optim_conf": {"lr": 1e-4, "name": "adam"},\n  "epochs": 30\n}\n'
    document = parse(text)
    assert document.format == "json"
    assert [entry.key for entry in document.entries] == [
        "optim_conf", "optim_conf.lr", "optim_conf.name", "epochs"]
    entries = by_key(document)
    lr = entries["optim_conf.lr"]
    assert lr.value == 1e-4 and lr.raw == "1e-4" and lr.origin == "json"
    assert position(lr.span) == (2, 24, 2, 28)
    assert position(lr.key_span) == (2, 18, 2, 22)
    assert text[lr.key_span.start:lr.key_span.end] == '"lr"'
    name = entries["optim_conf.name"]
    assert name.raw == '"adam"' and name.value == "adam"  # strings keep their quotes in raw
    assert position(name.span) == (2, 38, 2, 44)
    epochs = entries["epochs"]
    assert position(epochs.key_span) == (3, 3, 3, 11) and position(epochs.span) == (3, 13, 3, 15)
    for entry in document.entries:
        assert entry.path == "config.json"
        assert text[entry.span.start:entry.span.end] == entry.raw


def test_containers_get_entries_with_the_plain_value_and_whole_span():
    text = '{"callbacks": [{"patience": 3}, [1, 2]], "empty": {}}'
    entries = by_key(parse(text))
    callbacks = entries["callbacks"]
    assert callbacks.value == [{"patience": 3}, [1, 2]]
    assert callbacks.raw == '[{"patience": 3}, [1, 2]]'
    assert entries["callbacks.0"].value == {"patience": 3}
    assert entries["callbacks.0"].key_span is None  # list items have no key
    assert entries["callbacks.0.patience"].value == 3
    assert entries["callbacks.0.patience"].span.col == 29
    assert [entries[f"callbacks.1.{i}"].value for i in (0, 1)] == [1, 2]
    assert entries["empty"].value == {} and entries["empty"].raw == "{}"


def test_file_order_puts_each_container_before_its_children():
    keys = [entry.key for entry in parse('{"a": {"b": [{"c": 1}]}, "d": 2}').entries]
    assert keys == ["a", "a.b", "a.b.0", "a.b.0.c", "d"]


def test_repeated_keys_are_kept_and_the_container_holds_the_last():
    text = '{"optim": {"lr": 0.1, "lr": 0.2}}'
    document = parse(text)
    repeated = [entry for entry in document.entries if entry.key == "optim.lr"]
    assert [entry.value for entry in repeated] == [0.1, 0.2]
    assert [entry.span.col for entry in repeated] == [18, 29]
    assert [entry.key_span.col for entry in repeated] == [12, 23]
    assert by_key(document)["optim"].value == {"lr": 0.2}  # as json.load reads it


def test_top_level_list_items_are_keyed_by_index():
    assert [(e.key, e.value) for e in parse("[10, 20]").entries] == [("0", 10), ("1", 20)]


def test_scalar_document_has_no_entries():
    assert parse("  42 \n").entries == []


def test_columns_count_characters_after_non_ascii_text():
    text = '{"名前": "日本語テキスト", "lr": 0.5}'
    lr = by_key(parse(text))["lr"]
    assert lr.span.col == text.index("0.5") + 1 == 25
    assert lr.key_span.col == 19
    assert by_key(parse(text))["名前"].value == "日本語テキスト"


def test_escapes_in_keys_and_values():
    text = r'{"a\"b": "x\u00e9\n", "\u006cr": 1}'
    entries = by_key(parse(text))
    assert entries['a"b'].value == "xé\n" and entries['a"b'].raw == r'"x\u00e9\n"'
    assert entries["lr"].key_span.col == 23  # the escaped key found and spanned as written


def test_crlf_lines_and_columns():
    text = '{\r\n  "lr": 0.001,\r\n  "steps": 10\r\n}\r\n'
    entries = by_key(parse(text))
    assert position(entries["lr"].span) == (2, 9, 2, 14)
    assert position(entries["steps"].span) == (3, 12, 3, 14)
    assert entries["steps"].raw == "10"


def test_bom_is_not_required_and_tolerated():
    assert by_key(parse('{"lr": 1}'))["lr"].span.col == 8
    with_bom = by_key(parse('\ufeff{"lr": 1}'))["lr"]
    assert with_bom.value == 1 and with_bom.span.start == 8


def test_fixture_deepspeed_config():
    text = (FIXTURES / "deepspeed_zero2.json").read_text()
    entries = by_key(parse(text))
    assert entries["optimizer.params.lr"].value == 2e-5
    assert position(entries["optimizer.params.lr"].span) == (8, 13, 8, 17)
    assert entries["optimizer.params.betas.1"].value == 0.999
    assert entries["zero_optimization.stage"].value == 2
    assert entries["bf16"].value == {"enabled": True}
    assert entries["train_batch_size"].key_span.line == 2


BAD_INPUT = [
    ("", "Expecting value", 1, 1),
    ("   \n  ", "Expecting value", 2, 3),
    ('{"a": 1', "Expecting ',' delimiter", 1, 8),
    ('{"a": 1,}', "Expecting property name enclosed in double quotes", 1, 9),
    ('{\n  "a": [1, 2,]\n}', "Expecting value", 2, 14),
    ('{"a": NaN}', "NaN is not valid JSON", 1, 7),
    ('{"a":\n  [1, Infinity]}', "Infinity is not valid JSON", 2, 7),
    ("-Infinity", "-Infinity is not valid JSON", 1, 1),
    ('{"a": "\\q"}', "Invalid \\escape", 1, 8),
    ('{"a": "\\ud8"}', "Invalid \\uXXXX escape", 1, 9),
    ('{"a": "x\ny"}', "Invalid control character at", 1, 9),
    ('{"a": 1} {"b": 2}', "Extra data", 1, 10),
    ("{'a': 1}", "Expecting property name enclosed in double quotes", 1, 2),
    ('{"a": 1 // comment\n}', "Expecting ',' delimiter", 1, 9),
    ('\x00\x01\xff\xfe binary', "Expecting value", 1, 1),
    ('{"é": tru}', "Expecting value", 1, 7),
]


@pytest.mark.parametrize(("text", "message", "line", "col"), BAD_INPUT)
def test_bad_input_is_a_parse_error_at_the_problem(text, message, line, col):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)
    assert (caught.value.line, caught.value.col) == (line, col)


def test_deep_nesting_is_a_parse_error_not_a_recursion_error():
    text = "[" * 10_000 + "]" * 10_000
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert "nesting" in caught.value.message
    assert (caught.value.line, caught.value.col) == (1, json_format.MAX_NESTING + 1)
    ok = "[" * json_format.MAX_NESTING + "]" * json_format.MAX_NESTING
    assert len(parse(ok).entries) == json_format.MAX_NESTING - 1


def test_integer_beyond_the_digit_limit_is_a_parse_error():
    with pytest.raises(ParseError) as caught:
        parse('{"n": ' + "9" * 5000 + "}")
    assert (caught.value.line, caught.value.col) == (1, 7)


def test_big_containers_keep_exact_spans_but_no_copied_raw(monkeypatch):
    monkeypatch.setattr(json_format, "MAX_CONTAINER_RAW", 10)
    text = '{"outer": {"inner": "a long string value"}}'
    entries = by_key(parse(text))
    assert entries["outer"].raw == ""
    assert text[entries["outer"].span.start:entries["outer"].span.end] == \
        '{"inner": "a long string value"}'
    assert entries["outer.inner"].raw == '"a long string value"'  # scalars always keep raw


def _parse_seconds(items: int) -> float:
    """CPU time of the best of two parses, the garbage collector paused (the check is for
    the algorithm, not for a busy machine)."""
    text = json.dumps({"data": [{"lr": 0.1, "tags": ["a", i]} for i in range(items)]})
    index = LineIndex(text)
    return _best_cpu_seconds(lambda: json_format.parse("big.json", text, index))


def _best_cpu_seconds(run) -> float:
    gc.collect()
    gc.disable()
    try:
        best = float("inf")
        for _ in range(2):
            start = time.process_time()
            run()
            best = min(best, time.process_time() - start)
        return best
    finally:
        gc.enable()


def test_time_grows_linearly_with_size():
    small, large = _parse_seconds(800), _parse_seconds(3_200)
    assert large < small * 10  # linear is ~4x; quadratic would be ~16x


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.sampled_from([None, 0, 2]), st.booleans())
def test_every_entry_reads_back_to_its_value(value, indent, ensure_ascii):
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    document = parse(text)
    for entry in document.entries:
        assert text[entry.span.start:entry.span.end] == entry.raw
        assert json.loads(entry.raw) == entry.value
        if entry.key_span is not None:
            key = json.loads(text[entry.key_span.start:entry.key_span.end])
            assert entry.key.endswith(key)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('{}[]",:\\ \n\r\tuetrfalsnNI0123456789.-+eEé\x00'),
               max_size=40))
def test_any_text_parses_or_raises_parse_error(text):
    try:
        parse(text)
    except ParseError as error:
        assert error.line >= 1 and error.col >= 1
