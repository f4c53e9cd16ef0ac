"""JSON configs with positions: the stdlib decoder, hooked to record where each value lies.

The stdlib's pure-Python scanner (`json.scanner.py_make_scanner`) calls back into the
decoder's `parse_object` / `parse_array` and hands them the recursive `scan_once`. Wrapping
those two and the `scan_once` they receive gives the start and end offset of every value;
a key lies between the previous value (or the `{`) and its value, so its quotes are found
with one `find` and re-read with the C `scanstring`. Values and error messages are the
stdlib's own, so trainlint reads a file exactly as `json.load` does, except that NaN and
Infinity (not JSON, though `json` accepts them) are parse errors.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from typing import Any

from trainlint.formats.base import ParseError
from trainlint.records import ParsedDocument, Value
from trainlint.text import LineIndex

__all__ = ["MAX_CONTAINER_RAW", "MAX_NESTING", "parse"]

# Each nesting level costs four Python frames in the pure-Python scanner; deeper input
# would end in RecursionError. No training config comes near this.
MAX_NESTING = 128
# A container's `raw` is its source text, except for containers longer than this, whose
# `raw` stays "" (span still exact): a 10 MB array nested 100 deep would otherwise hold
# a gigabyte of copies. Scalars always keep their text.
MAX_CONTAINER_RAW = 1 << 20

_WHITESPACE = json.decoder.WHITESPACE.match
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
        raise recorder.error(exc.msg, exc.pos) from None  # json counts lines at \n only
    except RecursionError:
        depth, bracket = recorder.deepest
        raise recorder.error(f"nesting too deep ({depth} levels)", bracket) from None
    return ParsedDocument(path=path, text=text, format="json",
                          entries=recorder.entries, index=index)  # type: ignore[arg-type]
