"""YAML adapter: positions, semantics, tags, anchors, duplicates, multi-document files."""

from __future__ import annotations

import pytest

from trainlint.formats import yaml as yaml_format
from trainlint.formats.base import ParseError
from trainlint.text import LineIndex
from helpers import by_key


def parse(text):
    return yaml_format.parse("c.yaml", text, LineIndex(text))


def test_positions_of_keys_and_values_count_characters():
    doc = parse("# é comment\nname: café\noptim_conf:\n  lr: 1e-4   # peak\n")
    entries = by_key(doc)
    lr = entries["optim_conf.lr"]
    assert (lr.span.line, lr.span.col, lr.raw, lr.value) == (4, 7, "1e-4", 1e-4)
    assert (lr.key_span.line, lr.key_span.col) == (4, 3)
    assert entries["name"].span.col == 7 and entries["name"].value == "café"


def test_yaml12_semantics_and_styles():
    entries = by_key(parse("a: 1e-4\nb: '1e-4'\nc: yes\nd: ~\ne: 0x1F\nf: .inf\ng: !!str 3\nh: 1_000\n"))
    assert entries["a"].value == 1e-4 and entries["a"].style == "plain"
    assert entries["b"].value == "1e-4" and entries["b"].style == "single"
    assert entries["c"].value == "yes"
    assert entries["d"].value is None
    assert entries["e"].value == 31
    assert entries["f"].value == float("inf")
    assert entries["g"].value == "3"
    assert entries["h"].value == 1000


def test_flow_style_lists_and_nested_mappings():
    entries = by_key(parse("callbacks: [{patience: 3}, {patience: 10}]\n"))
    assert entries["callbacks.1.patience"].value == 10
    assert entries["callbacks.1.patience"].span.col == 39
    assert entries["callbacks"].value == [{"patience": 3}, {"patience": 10}]


def test_custom_tags_are_values_not_errors():
    doc = parse("model: !new:speechbrain.nnet.RNN\n  hidden: 512\nlr: !ref <base_lr>\n"
                "sched: !PiecewiseDecay\n  gamma: 0.1\n")
    entries = by_key(doc)
    assert entries["model"].tag == "!new:speechbrain.nnet.RNN"
    assert entries["model.hidden"].value == 512
    assert entries["lr"].tag == "!ref" and entries["lr"].value == "<base_lr>"


def test_interpolations_are_kept_as_references():
    entry = by_key(parse("lr: ${optim.lr}\n"))["lr"]
    assert entry.tag == "interpolation" and not entry.known


def test_anchors_aliases_and_merge_keys():
    entries = parse("base: &b\n  lr: 0.1\nrun:\n  <<: *b\n  epochs: 3\nsame: *b\n").entries
    keys = [(e.key, e.origin) for e in entries]
    assert ("run.lr", "yaml-merge") in keys and ("same.lr", "yaml") in keys
    merged = next(e for e in entries if e.key == "run.lr")
    assert merged.span.line == 2  # the anchor's value: the place to edit


def test_duplicate_keys_are_kept():
    lrs = [e for e in parse("lr: 1\nlr: 2\n").entries if e.key == "lr"]
    assert [e.value for e in lrs] == [1, 2]


def test_multi_document_files():
    doc = parse("lr: 1\n---\nlr: 2\n")
    assert doc.documents == 2
    assert [(e.document, e.value) for e in doc.entries] == [(0, 1), (1, 2)]


def test_crlf_positions():
    entry = by_key(parse("a: 1\r\nlr: 1e-4\r\n"))["lr"]
    assert (entry.span.line, entry.span.col, entry.raw) == (2, 5, "1e-4")


@pytest.mark.parametrize("text,line,col", [
    ("a: [1, 2\n", 2, 1),
    ("a:\n  b: 1\n c: 2\n", 3, 2),
    ("a: 'unterminated\n", 2, 1),
])
def test_errors_have_positions(text, line, col):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert (info.value.line, info.value.col) == (line, col)
