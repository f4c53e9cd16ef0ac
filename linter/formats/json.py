"""JSON configs with positions: the stdlib decoder, hooked to record where each value lies.

The stdlib's pure-Python scanner (`json.scanner.py_make_scanner`) calls back into the
decoder's `parse_object` / `parse_array` and hands them the recursive `scan_once`. Wrapping
those two and the `scan_once` they receive gives the start and end offset of every value;
a key lies between the previous value (or the `{`) and its value, so its quotes are found
with one `find` and re-read with the C `scanstring`. Values and error messages are the
stdlib's own, so trainlint reads a file exactly as `json.load` does, except that NaN and
Infinity (not JSON, though `json` accepts them) are parse errors.

Files that hold data rather than a training setup (a tokenizer, a vocabulary, records, JSON
Lines, metric results) are told apart first, from their structure as the C decoder reads it
(milliseconds where the position-recording scanner takes seconds on a 1 MB vocabulary):
`data_kind(text)`, which the loader asks before `parse`.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from typing import Any

from trainlint.formats.base import ParseError
from trainlint.records import ParsedDocument, Value
from trainlint.text import LineIndex

__all__ = ["MAX_CONTAINER_RAW", "MAX_NESTING", "data_kind", "parse"]

# Each nesting level costs four Python frames in the pure-Python scanner; deeper input
# would end in RecursionError. No training config comes near this.
MAX_NESTING = 128
# A container's `raw` is its source text, except for containers longer than this, whose
# `raw` stays "" (span still exact): a 10 MB array nested 100 deep would otherwise hold
# a gigabyte of copies. Scalars always keep their text.
MAX_CONTAINER_RAW = 1 << 20

_WHITESPACE = json.decoder.WHITESPACE.match
# A string (kept as it is), a `//` line comment or a `/* */` block comment (blanked); compiled
# for a file that fails to parse only.
_STRING_OR_COMMENT = r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/'
COMMENT_READERS = "readers of JSON with comments (commentjson, json5, JSONC, or code that strips them)"
_scanstring = json.decoder.scanstring


class _NonFiniteConstant(Exception):
    """NaN / Infinity / -Infinity met by the scanner (position added by the caller)."""


def _reject_constant(name: str) -> Any:
    raise _NonFiniteConstant(name)


class _PositionRecorder(json.JSONDecoder):
    """A JSONDecoder that appends one Value per key or list item to `entries`."""

    def __init__(self, path: str, text: str, index: LineIndex) -> None:
        super().__init__(parse_constant=_reject_constant)
        self.source_path = path
        self.text = text
        self.index = index
        self.entries: list[Value | None] = []
        self.prefixes: list[str] = [""]
        self.depth = 0
        self.deepest = (0, 0)  # (depth, offset of its opening bracket)
        self.parse_object = self._parse_object
        self.parse_array = self._parse_array
        self.scan_once = self._guarded(json.scanner.py_make_scanner(self))

    # -- hooks called by the pure-Python scanner ---------------------------------------

    def _parse_object(self, s_and_end, strict, scan_once, object_hook, pairs_hook, memo=None):
        prefix = self.prefixes[-1]
        cursor = s_and_end[1]
        guarded = self._guarded(scan_once)

        def scan_member(string: str, idx: int):
            nonlocal cursor
            key_start = string.find('"', cursor, idx)
            key, key_end = _scanstring(string, key_start + 1, strict)
            value, cursor = self._record(f"{prefix}{key}", key_start, key_end, idx, guarded)
            return value, cursor

        self._enter(s_and_end[1] - 1)
        try:
            return json.decoder.JSONObject(
                s_and_end, strict, scan_member, object_hook, pairs_hook, memo)
        finally:
            self.depth -= 1

    def _parse_array(self, s_and_end, scan_once):
        prefix = self.prefixes[-1]
        position = 0
        guarded = self._guarded(scan_once)

        def scan_item(string: str, idx: int):
            nonlocal position
            result = self._record(f"{prefix}{position}", None, None, idx, guarded)
            position += 1
            return result

        self._enter(s_and_end[1] - 1)
        try:
            return json.decoder.JSONArray(s_and_end, scan_item)
        finally:
            self.depth -= 1

    # -- bookkeeping -------------------------------------------------------------------

    def _record(self, key: str, key_start: int | None, key_end: int | None, idx: int,
                scan_once) -> tuple[Any, int]:
        """Scan the value at `idx` under `key`; keep file order (containers before children)."""
        is_container = self.text.startswith(("{", "["), idx)
        slot = len(self.entries)
        if is_container:
            self.entries.append(None)
            self.prefixes.append(key + ".")
            value, end = scan_once(self.text, idx)
            self.prefixes.pop()
        else:
            value, end = scan_once(self.text, idx)
        entry = Value(
            value=value, path=self.source_path, span=self.index.span(idx, end), key=key,
            key_span=None if key_start is None else self.index.span(key_start, key_end),
            raw="" if is_container and end - idx > MAX_CONTAINER_RAW else self.text[idx:end],
            origin="json",
        )
        if is_container:
            self.entries[slot] = entry
        else:
            self.entries.append(entry)
        return value, end

    def _guarded(self, scan_once):
        """`scan_once` with NaN/Infinity and oversized integers turned into ParseError."""

        def scan(string: str, idx: int):
            try:
                return scan_once(string, idx)
            except _NonFiniteConstant as exc:
                raise self.error(f"{exc.args[0]} is not valid JSON", idx) from None
            except json.JSONDecodeError:
                raise
            except ValueError as exc:  # int() past sys.get_int_max_str_digits()
                raise self.error(str(exc), idx) from None

        return scan

    def _enter(self, bracket: int) -> None:
        self.depth += 1
        if self.depth > self.deepest[0]:
            self.deepest = (self.depth, bracket)
        if self.depth > MAX_NESTING:
            self.depth -= 1
            raise self.error(f"nesting deeper than {MAX_NESTING} levels", bracket)

    def error(self, message: str, offset: int) -> ParseError:
        line, col = self.index.line_col(offset)
        return ParseError(message, line, col)


def parse(path: str, text: str, index: LineIndex) -> ParsedDocument:
    """Read a JSON document: every key and list item at every depth, in file order."""
    recorder = _PositionRecorder(path, text, index)
    start = 1 if text.startswith("\ufeff") else 0
    try:
        start = _WHITESPACE(text, start).end()
        _value, end = recorder.raw_decode(text, start)
        end = _WHITESPACE(text, end).end()
        if end != len(text):
            raise json.JSONDecodeError("Extra data", text, end)
    except json.JSONDecodeError as exc:
        problem = recorder.error(exc.msg, exc.pos)  # json counts lines at \n only
        if _reads_without_comments(text):
            problem.read_by = COMMENT_READERS
        raise problem from None
    except RecursionError:
        depth, bracket = recorder.deepest
        raise recorder.error(f"nesting too deep ({depth} levels)", bracket) from None
    return ParsedDocument(path=path, text=text, format="json",
                          entries=recorder.entries, index=index)  # type: ignore[arg-type]


def _reads_without_comments(text: str) -> bool:
    """Whether the text is JSON once its `//` and `/* */` comments are removed (JSONC)."""
    if "//" not in text and "/*" not in text:
        return False
    blanked = re.sub(_STRING_OR_COMMENT, lambda m: m[0] if m[0][0] == '"' else "", text,
                     flags=re.DOTALL)
    try:
        json.loads(blanked.lstrip("\ufeff"))
    except (ValueError, RecursionError):
        return False
    return True


# -- data files ---------------------------------------------------------------------------

# A mapping this long whose values are all scalars of one type is a lookup table (a tokenizer
# vocabulary `token -> id`, a label map); one this long of records with the same fields is a
# table keyed by name. No training config has 64 settings of one type, or 16 sections alike.
LOOKUP_TABLE_MIN = 64
RECORD_TABLE_MIN = 16
# A document whose values lie mostly (TABULAR_SHARE) in series keyed by step numbers (at
# least SERIES_MIN of them), long lists of numbers or records, or lookup tables is data
# (golden loss curves, benchmark dumps), even where its top-level keys are names.
SERIES_MIN = 8
TABULAR_SHARE = 0.8
_METRIC_KEY = re.compile(r"^(?:eval|test|predict|train|val|validation)_|_per_second$|_runtime$")


def data_kind(text: str) -> str | None:
    """What a JSON file holds when it is data, not a training setup; None for anything else
    (a config, or text that does not parse, which the full reader reports). Read with the C
    decoder as the programs that load data read it (NaN and Infinity accepted)."""
    try:
        value = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        return "JSON Lines records" if exc.msg == "Extra data" and _is_json_lines(text) else None
    except (ValueError, RecursionError):
        return None
    if isinstance(value, list):
        return "a JSON array (records or values)"
    if not isinstance(value, dict):
        return "a single JSON value"
    return _mapping_kind(value)


def _mapping_kind(value: dict) -> str | None:
    model = value.get("model")
    if (isinstance(model, dict) and ("vocab" in model or "merges" in model)) \
            or "added_tokens_decoder" in value or "tokenizer_class" in value:
        return "a tokenizer definition"
    if isinstance(value.get("log_history"), list) and "global_step" in value:
        return "a trainer state (metrics log)"
    values = list(value.values())
    if len(values) >= LOOKUP_TABLE_MIN and _all_scalars_of_one_type(values):
        return f"a lookup table of {len(values)} entries, a vocabulary or a label map"
    if len(values) >= RECORD_TABLE_MIN and all(isinstance(v, dict) for v in values) \
            and len({tuple(v) for v in values}) == 1:
        return f"a table of {len(values)} records"
    if values and all(_is_number(v) for v in values) \
            and sum(1 for key in value if _METRIC_KEY.search(key)) * 2 >= len(values):
        return "metric results"
    leaves, tabular = _leaf_counts(value)
    if leaves >= LOOKUP_TABLE_MIN and tabular >= TABULAR_SHARE * leaves:
        return f"series and tables of {leaves} values"
    return None


def _leaf_counts(value: Any) -> tuple[int, int]:
    """(leaves, leaves inside series or tables): a mapping keyed by step numbers
    (`{"1": 6.7, "2": 6.8}`), a list of numbers or of flat records, a lookup table. A list of
    nested records (a sweep's experiments, each with its `args`) is no table."""
    if isinstance(value, dict):
        children = list(value.values())
        series = len(children) >= SERIES_MIN and all(key.isdigit() for key in value)
        lookup = len(children) >= LOOKUP_TABLE_MIN and _all_scalars_of_one_type(children)
    elif isinstance(value, list):
        children = value
        series = len(children) >= SERIES_MIN * 2 and (
            all(_is_number(item) for item in children)
            or all(isinstance(item, dict) and _is_flat(item) for item in children))
        lookup = False
    else:
        return 1, 0
    leaves = tabular = 0
    for child in children:
        child_leaves, child_tabular = _leaf_counts(child)
        leaves += child_leaves
        tabular += child_tabular
    return leaves, leaves if series or lookup else tabular


def _is_flat(record: dict) -> bool:
    return not any(isinstance(value, (dict, list)) for value in record.values())


def _all_scalars_of_one_type(values: list) -> bool:
    kinds = {type(v) for v in values}
    return len(kinds) == 1 and kinds <= {int, float, str, bool}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_json_lines(text: str) -> bool:
    """One JSON object or array per line, at least two lines (what `.jsonl` files hold)."""
    lines = [line for line in text.splitlines()[:3] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(line), (dict, list)) for line in lines)
    except ValueError:
        return False
