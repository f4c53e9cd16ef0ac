"""The dialect tables a run reads (tables.json) are the TOML sources, compiled."""

import json

from trainlint.dialects import COMPILED_TABLES, dialects, read_toml_tables


def test_compiled_tables_match_the_toml_sources():
    assert json.loads(COMPILED_TABLES.read_text(encoding="utf-8")) == read_toml_tables(), (
        "linter/dialects/*.toml changed: run `python -m trainlint.dialects` to rewrite tables.json")


def test_every_toml_table_is_a_dialect():
    names = {table["name"] for table in read_toml_tables()}
    assert set(dialects()) == names and "generic" in names
