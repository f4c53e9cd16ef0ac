"""Adding a key: the new pair lands on the line after its sibling, nothing else moves."""

from __future__ import annotations

import importlib

from trainlint.fix.insert import dialect_key_near, insert_key_after
from trainlint.text import LineIndex


def _apply(fmt, text, sibling_key, key, value):
    module = importlib.import_module(f"trainlint.formats.{fmt}")
    doc = module.parse("c." + fmt, text, LineIndex(text))
    sibling = next(e for e in doc.entries if e.key == sibling_key)
    edit = insert_key_after(doc, sibling, key, value)
    if edit is None:
        return None
    new = text[:edit.span.start] + edit.content + text[edit.span.end:]
    module.parse("c." + fmt, new, LineIndex(new))  # still parses
    return new


def test_yaml_nested_mapping_keeps_comments_and_indent():
    text = "trainer:\n    max_epochs: 10  # short run\n    devices: 4\nmodel: {}\n"
    assert _apply("yaml", text, "trainer.max_epochs", "accumulate_grad_batches", 4) == (
        "trainer:\n    max_epochs: 10  # short run\n    accumulate_grad_batches: 4\n    devices: 4\nmodel: {}\n")


def test_yaml_quotes_strings_that_need_it():
    text = "lr: 0.1\n"
    assert _apply("yaml", text, "lr", "eval_strategy", "no") == "lr: 0.1\neval_strategy: 'no'\n"


def test_yaml_crlf_and_flow_mappings():
    assert _apply("yaml", "a: 1\r\nb: 2\r\n", "a", "c", 3) == "a: 1\r\nc: 3\r\nb: 2\r\n"
    assert _apply("yaml", "opt: {lr: 0.1, wd: 0}\n", "opt.lr", "eps", 1e-8) is None


def test_json_last_and_middle_keys():
    text = '{\n  "a": 1,\n  "b": 2\n}\n'
    assert _apply("json", text, "b", "c", 3) == '{\n  "a": 1,\n  "b": 2,\n  "c": 3\n}\n'
    assert _apply("json", text, "a", "c", "x") == '{\n  "a": 1,\n  "c": "x",\n  "b": 2\n}\n'


def test_toml_table():
    text = "[training]\nlocal_batch_size = 8\nsteps = 1000\n"
    assert _apply("toml", text, "training.local_batch_size", "accum", 4) == (
        "[training]\nlocal_batch_size = 8\naccum = 4\nsteps = 1000\n")


def test_dialect_key_near_uses_the_siblings_parent():
    class Sibling:
        key = "optim_conf.lr"
    assert dialect_key_near("espnet", "optimizer.weight_decay", Sibling()) == "weight_decay"
    Sibling.key = "per_device_train_batch_size"
    assert dialect_key_near("hf", "batch.grad_accum", Sibling()) == "gradient_accumulation_steps"
