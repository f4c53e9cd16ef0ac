"""TOML configs (torchtitan style) with positions.

`tomllib` reads the values and reports the errors, so a file means to trainlint exactly what
it means to the training code. A second, small pass over the already validated text finds
where each key and value lies (tables, dotted keys, arrays of tables, inline tables and
arrays); it never decides what a value is, it only looks the value up in tomllib's result.

Container spans: an inline array or table spans its brackets. A table made by a header
spans from its header to the last value written into it (sub-tables included); a table made
by dotted keys (`a.b = 1`) from its own key part to its last value. Arrays of tables span all
their `[[...]]` elements; each element is the entry `key.N`, with no key span of its own,
like a list item.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from trainlint.formats.base import ParseError
from trainlint.records import ParsedDocument, Value
from trainlint.text import LineIndex

__all__ = ["MAX_CONTAINER_RAW", "MAX_NESTING", "parse"]

# Same limits as the JSON adapter (see there for why).
MAX_NESTING = 128
MAX_CONTAINER_RAW = 1 << 20

_ERROR_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?")
_SCALAR = re.compile(r"[^\s,\]}#]+")
_HUGE_INTEGER = re.compile(r"\d[\d_]{4000,}")
_QUOTE_OR_BACKSLASH = re.compile(r'["\\]')

KeyPath = tuple  # of str keys and int list positions


def parse(path: str, text: str, index: LineIndex) -> ParsedDocument:
    """Read a TOML document: every key and list item at every depth, in file order."""
    start = 1 if text.startswith("\ufeff") else 0
    data = _load(text, start, index)
    locator = _Locator(text, start, data)
    try:
        locator.walk()
    except ParseError:
        raise
    except RecursionError:
        raise ParseError(f"nesting deeper than {MAX_NESTING} levels") from None
    except Exception as exc:  # a valid file the locator misreads: a trainlint bug
        line, col = index.line_col(min(locator.pos, len(text)))
        raise ParseError(f"trainlint could not locate the values ({exc!r})", line, col) from None
    entries = [_make_value(path, text, index, record) for record in locator.records]
    return ParsedDocument(path=path, text=text, format="toml", entries=entries, index=index)


def _load(text: str, start: int, index: LineIndex) -> dict[str, Any]:
    """tomllib's reading of the text; its errors become ParseError at its line/column."""
    try:
        return tomllib.loads(text[start:])
    except tomllib.TOMLDecodeError as exc:
        raise _decode_error(str(exc), text, start, index) from None
    except RecursionError:
        raise _nesting_error(text, start, index) from None
    except ValueError as exc:  # int() past sys.get_int_max_str_digits()
        huge = _HUGE_INTEGER.search(text)
        line, col = index.line_col(huge.start() if huge else 0)
        raise ParseError(str(exc), line, col) from None


def _decode_error(message: str, text: str, start: int, index: LineIndex) -> ParseError:
    position = _ERROR_POSITION.search(message)
    if position is None:
        return ParseError(message, 1, 1)
    message = message[:position.start()]
    if position.group(1) is None:  # at end of document
        line, col = index.line_col(len(text))
    else:
        offset = start + _lf_offset(text[start:], int(position.group(1)), int(position.group(2)))
        line, col = index.line_col(min(offset, len(text)))
    return ParseError(message, line, col)


def _lf_offset(text: str, line: int, col: int) -> int:
    """The offset of tomllib's line/column, which counts lines at `\\n` only."""
    offset = 0
    for _ in range(line - 1):
        offset = text.find("\n", offset) + 1
        if offset == 0:
            return len(text)
    return offset + col - 1


def _nesting_error(text: str, start: int, index: LineIndex) -> ParseError:
    """Where nesting gets too deep for tomllib's recursive parser."""
    try:
        _Locator(text, start).walk()
    except ParseError as exc:
        return exc
    except Exception:  # noqa: BLE001 - the text is not valid TOML; only the depth matters
        pass
    return ParseError(f"nesting deeper than {MAX_NESTING} levels")


def _make_value(path: str, text: str, index: LineIndex, record: list) -> Value:
    key, value, key_start, key_end, start, end = record
    too_long = end - start > MAX_CONTAINER_RAW and isinstance(value, (dict, list))
    raw = "" if too_long else text[start:end]
    return Value(
        value=value, path=path, span=index.span(start, end), key=key,
        key_span=None if key_start is None else index.span(key_start, key_end),
        raw=raw, origin="toml",
    )


class _Locator:
    """Walks valid TOML text; records [key, value, key_start, key_end, start, end] per value.

    Values come from tomllib's result (`data`), looked up along the walk. `records` is in
    file order; tables made by headers or dotted keys are recorded once, when first named,
    and their `end` grows as later lines write into them.
    """

    def __init__(self, text: str, start: int, data: dict | None = None) -> None:
        self.text = text
        self.pos = start
        self.data = data if data is not None else {}
        self.records: list[list] = []
        self.tables: dict[KeyPath, list] = {}  # header- or dotted-key-made tables by path
        self.table_arrays: dict[KeyPath, int] = {}  # [[x]] path -> elements so far
        self.depth = 0

    # -- statements ----------------------------------------------------------------------

    def walk(self) -> None:
        text = self.text
        section: tuple[KeyPath, Any] = ((), self.data)
        while self.pos < len(text):
            self.skip_blanks()
            char = text[self.pos:self.pos + 1]
            if char == "[":
                section = self.header()
            elif char and char not in "#\r\n":
                self.key_value(*section, extend_tables=True)
            newline = text.find("\n", self.pos)
            self.pos = len(text) if newline == -1 else newline + 1

    def header(self) -> tuple[KeyPath, Any]:
        statement_start = self.pos
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        parts = self.key()
        self.skip_blanks()
        self.pos += 2 if is_array else 1
        path: KeyPath = ()
        table: Any = self.data
        for number, (name, key_start, key_end) in enumerate(parts):
            path += (name,)
            table = table.get(name) if isinstance(table, dict) else None
            self.table(path, table, key_start, key_end, statement_start)
            if number == len(parts) - 1 and is_array:
                count = self.table_arrays.get(path, 0)
                self.table_arrays[path] = count + 1
                path += (count,)
                table = _item(table, count)
                self.table(path, table, None, None, statement_start)
            elif path in self.table_arrays:
                count = self.table_arrays[path] - 1
                path += (count,)
                table = _item(table, count)
        self.extend(path, self.pos)
        return path, table

    def key_value(self, path: KeyPath, table: Any, extend_tables: bool) -> None:
        parts = self.key()
        self.skip_blanks()
        self.pos += 1  # "="
        self.skip_blanks()
        for name, key_start, key_end in parts[:-1]:
            path += (name,)
            table = table.get(name) if isinstance(table, dict) else None
            self.table(path, table, key_start, key_end, key_start)
        name, key_start, key_end = parts[-1]
        value = table.get(name) if isinstance(table, dict) else None
        self.value(path + (name,), value, key_start, key_end)
        if extend_tables or len(parts) > 1:
            self.extend(path, self.pos)

    # -- tables --------------------------------------------------------------------------

    def table(self, path: KeyPath, table: Any, key_start: int | None, key_end: int | None,
              start: int) -> None:
        if path not in self.tables:
            record = [_dotted(path), table, key_start, key_end, start, start]
            self.tables[path] = record
            self.records.append(record)

    def extend(self, path: KeyPath, end: int) -> None:
        """`end` is inside the table at `path`: every enclosing table reaches at least there."""
        for length in range(len(path), 0, -1):
            record = self.tables.get(path[:length])
            if record is not None and record[5] < end:
                record[5] = end

    # -- keys and values -----------------------------------------------------------------

    def key(self) -> list[tuple[str, int, int]]:
        """A dotted key: (name, start, end) per part; leaves pos after the last part."""
        parts = []
        while True:
            self.skip_blanks()
            start = self.pos
            char = self.text[start]
            if char == '"':
                end = self.basic_string_end(start)
                name = tomllib.loads(f"k = {self.text[start:end]}")["k"]
            elif char == "'":
                end = self.text.index("'", start + 1) + 1
                name = self.text[start + 1:end - 1]
            else:
                end = _BARE_KEY.match(self.text, start).end()
                name = self.text[start:end]
            parts.append((name, start, end))
            self.pos = end
            self.skip_blanks()
            if not self.text.startswith(".", self.pos):
                return parts
            self.pos += 1

    def value(self, path: KeyPath, value: Any, key_start: int | None, key_end: int | None) -> None:
        start = self.pos
        text = self.text
        char = text[start]
        if char in "[{":
            record = [_dotted(path), value, key_start, key_end, start, start]
            self.records.append(record)
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.error(f"nesting deeper than {MAX_NESTING} levels", start)
            if char == "[":
                self.array(path, value)
            else:
                self.key_value_list(path, value)
            self.depth -= 1
            record[5] = self.pos
            return
        if text.startswith(('"""', "'''"), start):
            end = self.multiline_string_end(start)
        elif char == '"':
            end = self.basic_string_end(start)
        elif char == "'":
            end = text.index("'", start + 1) + 1
        else:
            match = _DATETIME.match(text, start) or _SCALAR.match(text, start)
            end = match.end()
        self.records.append([_dotted(path), value, key_start, key_end, start, end])
        self.pos = end

    def array(self, path: KeyPath, items: Any) -> None:
        text = self.text
        self.pos += 1
        position = 0
        while True:
            self.skip_blanks(newlines=True)
            if text.startswith("]", self.pos):
                self.pos += 1
                return
            self.value(path + (position,), _item(items, position), None, None)
            position += 1
            self.skip_blanks(newlines=True)
            if text.startswith(",", self.pos):
                self.pos += 1

    def key_value_list(self, path: KeyPath, table: Any) -> None:
        """The inside of an inline table."""
        self.pos += 1
        while True:
            self.skip_blanks(newlines=True)
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return
            self.key_value(path, table, extend_tables=False)
            self.skip_blanks(newlines=True)
            if self.text.startswith(",", self.pos):
                self.pos += 1

    # -- lexical helpers -----------------------------------------------------------------

    def skip_blanks(self, newlines: bool = False) -> None:
        """Skip spaces and tabs (and, inside brackets, newlines and comments)."""
        text, pos = self.text, self.pos
        while pos < len(text):
            char = text[pos]
            if char in " \t" or (newlines and char in "\r\n"):
                pos += 1
            elif newlines and char == "#":
                newline = text.find("\n", pos)
                pos = len(text) if newline == -1 else newline
            else:
                break
        self.pos = pos

    def basic_string_end(self, start: int) -> int:
        pos = start + 1
        text = self.text
        while True:
            pos = _QUOTE_OR_BACKSLASH.search(text, pos).start()
            if text[pos] == '"':
                return pos + 1
            pos += 2  # an escape: skip the backslash and the escaped character

    def multiline_string_end(self, start: int) -> int:
        """End of a multi-line string: up to two quotes just before the closing three are
        content, so the string ends after as many as five quotes."""
        quote = self.text[start]
        delimiter = quote * 3
        pos = start + 3
        text = self.text
        while True:
            if quote == '"':
                pos = _QUOTE_OR_BACKSLASH.search(text, pos).start()
                if text[pos] == "\\":
                    pos += 2
                    continue
            else:
                pos = text.index("'", pos)
            if text.startswith(delimiter, pos):
                end = pos + 3
                while end < len(text) and text[end] == quote and end - pos < 5:
                    end += 1
                return end
            pos += 1

    def error(self, message: str, offset: int) -> ParseError:
        line, col = LineIndex(self.text).line_col(offset)
        return ParseError(message, line, col)


def _item(items: Any, position: int) -> Any:
    return items[position] if isinstance(items, list) and position < len(items) else None


def _dotted(path: KeyPath) -> str:
    return ".".join(part if isinstance(part, str) else str(part) for part in path)
