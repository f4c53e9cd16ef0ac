"""One path from a file to what rules see.

`Loader.load(path)` reads a file, decodes it, picks its format from its suffix and parses it
into a `Document`: the config's entries, the Python script, the launches of a launcher, and the
ConfigViews the config rules see. `check`, `show`, `--since`, the project scan, launch
resolution (for the scripts and configs a launch names) and the probe's `--training-config`
all read files through it, so a limit or a fix to decoding holds for every file, however it
was reached.

Reading: only regular files are read (a FIFO or `/dev/zero` is refused before a byte is read),
and at most `max-file-size` bytes. Decoding: UTF-8, or UTF-8 / UTF-16 with a BOM; bytes that
are no text and NUL bytes are a parse error (TL001) at the first bad byte. The same bytes on
standard input go through the same decode.
"""

from __future__ import annotations

import codecs
import importlib
import os
import re
import stat
import sys
from collections.abc import Iterable
from typing import Any

from msgspec import Struct, field, structs

from trainlint.dialects import build_views, dialects
from trainlint.formats.base import FORMAT_BY_SUFFIX, ParseError, SyntaxProblem, format_of
from trainlint.records import ConfigView, ParsedDocument, Value
from trainlint.text import LineIndex, Span

__all__ = ["DEFAULT_MAX_FILE_SIZE", "FORMAT_BY_SUFFIX", "Document", "Loader", "Source",
           "Unreadable", "decode", "format_of"]

CONFIG_FORMATS = frozenset({"yaml", "json", "toml"})
LAUNCHER_FORMATS = frozenset({"shell", "markdown"})
DEFAULT_MAX_FILE_SIZE = 1024 * 1024
# The format modules each format needs (imported on first use: a YAML-only run never loads
# the Python readers or the shell lexer).
FORMAT_MODULES = {
    "yaml": ("trainlint.formats.yaml",), "json": ("trainlint.formats.json",),
    "toml": ("trainlint.formats.toml",),
    "python": ("trainlint.formats.python.declared_config", "trainlint.formats.python.training_facts",
               "trainlint.formats.python.mmengine_schedule"),
    "shell": ("trainlint.formats.shell", "trainlint.resolve"),
    "markdown": ("trainlint.formats.shell", "trainlint.resolve"),
}


class Unreadable(Exception):
    """A file trainlint does not read: not a regular file, over the size limit, or an OS error.
    `str(error)` completes a skip note (`f"{path}: {error}"`); `reason` says why alone."""

    def __init__(self, reason: str, skipped: bool = True) -> None:
        super().__init__(f"skipped ({reason})" if skipped else f"cannot read ({reason})")
        self.reason = reason


class Source(Struct):
    """A file's decoded text, with the BOM and codec to write a fix back in."""

    text: str
    bom: bytes = b""
    codec: str = "utf-8"


def decode(data: bytes) -> Source:
    """Text, BOM and codec of a file's bytes. Raises ParseError for bytes that are no text."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            data, found_bom = data[len(bom):], bom
            break
    else:
        found_bom, codec = b"", "utf-8"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        before = data[:exc.start].decode(codec, errors="replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise ParseError(f"invalid {codec.upper()} byte 0x{data[exc.start]:02x}: not a text file?",
                         line, col) from None
    nul = text.find("\x00")
    if nul != -1:
        line = text.count("\n", 0, nul) + 1
        raise ParseError("file contains NUL bytes: binary, not a text file", line,
                         nul - (text.rfind("\n", 0, nul) + 1) + 1)
    return Source(text, found_bom, codec)


class Document(Struct):
    """A file as rules see it.

    `error` is set when the file cannot be parsed at all (TL001; nothing else is filled in).
    `problems` are the places a launcher cannot be read, in its own text or in a launcher it
    runs, and what argparse would reject in its launches; rules turn them into findings.
    `views` are the training setups config rules check: one per YAML document or per launch.
    """

    path: str
    format: str
    text: str
    index: LineIndex
    bom: bytes = b""
    codec: str = "utf-8"
    error: SyntaxProblem | None = None
    config: ParsedDocument | None = None  # the entries of a config (or a script's defaults)
    script: Any = None  # trainlint.formats.python.ast_index.ParsedScript
    launch_file: Any = None  # trainlint.formats.shell.LaunchFile
    launches: list[Any] = field(default_factory=list)  # trainlint.resolve.EffectiveConfig
    views: list[ConfigView] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)  # SyntaxProblem, resolve.ArgumentProblem
    notes: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)  # files launch resolution asked for
    _comments: list[tuple[int, int]] | None = None

    @property
    def parsed(self) -> bool:
        return self.error is None

    def comments(self) -> list[tuple[int, int]]:
        """(start, end) of the file's comments, as its format's lexer finds them: a `#` inside
        a string, a YAML block scalar or a shell here-document is no comment. Found on the
        first call (only files that mention a suppression ask)."""
        if self._comments is None:
            if self.launch_file is not None:
                self._comments = self.launch_file.comments
            else:
                from trainlint.formats.comments import find_comments  # tokenize: on first use

                self._comments = find_comments(self.format, self.text, self.path)
        return self._comments

    def own_settings(self) -> tuple[dict[str, Value], str]:
        """A script's or config's first training setup on its own (no launcher): its canonical
        settings and its dialect ("generic" where no framework claims the file)."""
        values = dict(self.views[0].values) if self.views else {}
        dialect = self.config.dialect if self.config is not None else None
        return values, dialect or "generic"


class DocumentSource:
    """What launch resolution reads the files a launch names with: `source(path, formats,
    views)` is the path's Document, or None for a file that cannot be read or parsed or is of
    none of `formats`. Documents are kept for the resolution of one launcher file, or for the
    whole run where the loader shares them (`Loader.documents`): a script that many launchers
    run is parsed once per process. A file changed since (a fix written) is read again. Every
    path asked for is recorded in `asked`."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.asked: list[str] = []
        self._cache: dict[tuple, Document | None] = \
            loader.documents if loader.documents is not None else {}

    def __call__(self, path: str, formats: Iterable[str] = (*CONFIG_FORMATS, "python"),
                 views: bool = True) -> Document | None:
        self.asked.append(path)
        if format_of(path) not in formats:
            return None
        key = (path, views, _identity(path))
        if key not in self._cache:
            try:
                loaded = self.loader.load(path, views)
            except Unreadable:
                loaded = None
            self._cache[key] = loaded if loaded is not None and loaded.parsed else None
        return self._cache[key]


class Loader:
    """Reads files for one run: regular files only, at most `max_file_size` bytes each."""

    def __init__(self, max_file_size: int = DEFAULT_MAX_FILE_SIZE, consumers: Any = None,
                 share_documents: bool = False) -> None:
        self.max_file_size = max_file_size
        # path -> Consumer (trainlint.consumers.run.RunConsumers): who reads each config
        self.consumers = consumers
        # The documents launch resolution read, for the whole run (see DocumentSource).
        self.documents: dict[tuple, Document | None] | None = {} if share_documents else None

    # ---- reading
    def read_bytes(self, path: str) -> bytes:
        """The file's bytes. Raises Unreadable for a file that is not a regular file (a FIFO
        would block, `/dev/zero` never ends), is over the size limit, or cannot be opened."""
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            descriptor = os.open(path, flags)  # a FIFO opened non-blocking does not wait
        except OSError as exc:
            raise Unreadable(exc.strerror or str(exc), skipped=False) from None
        try:  # the descriptor itself: a file object around it cost 5% of a run of small files
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise Unreadable("not a regular file")
            if status.st_size > self.max_file_size:
                raise Unreadable(f"{status.st_size} bytes is over max-file-size "
                                 f"{self.max_file_size}")
            data = _read_at_most(descriptor, status.st_size, self.max_file_size + 1)
        except OSError as exc:
            raise Unreadable(exc.strerror or str(exc), skipped=False) from None
        finally:
            os.close(descriptor)
        if len(data) > self.max_file_size:  # it grew since fstat
            raise Unreadable(f"more than max-file-size {self.max_file_size} bytes")
        return data

    def read(self, path: str) -> Source:
        """The file's decoded text. Raises Unreadable, or ParseError for bytes that are no text."""
        return decode(self.read_bytes(path))

    # ---- parsing
    def load(self, path: str, views: bool = True) -> Document:
        """Read and parse a file. Raises Unreadable; a file that cannot be decoded or parsed is
        a Document with `error` set. Without `views`, a Python file is parsed for the script
        rules only and a launcher's launches are not resolved."""
        return self.from_bytes(path, self.read_bytes(path), views)

    def from_bytes(self, path: str, data: bytes, views: bool = True) -> Document:
        """Parse bytes read elsewhere (standard input) exactly as a file's."""
        try:
            source = decode(data)
        except ParseError as exc:
            span = Span(0, 0, exc.line, exc.col, exc.line, exc.col)  # no text to index: bytes only
            return Document(path, format_of(path) or "", "", LineIndex(""),
                            error=SyntaxProblem(path, span, exc.message))
        return self.from_source(path, source, views)

    def from_source(self, path: str, source: Source, views: bool = True) -> Document:
        """Parse a decoded text (also a fix's candidate text) as the file `path`."""
        fmt = format_of(path) or ""
        index = LineIndex.for_file(path, source.text)  # the line model of the format's reader
        document = Document(path, fmt, source.text, index, source.bom, source.codec)
        try:
            if fmt in CONFIG_FORMATS:
                _parse_config(document, self.consumers)
            elif fmt == "python":
                _parse_python(document, views)
            elif fmt in LAUNCHER_FORMATS:
                self._parse_launcher(document, views)
        except ParseError as exc:
            offset = index.offset(exc.line, exc.col)
            document.error = SyntaxProblem(path, index.span(offset, offset), exc.message, exc.read_by)
        except RecursionError:
            document.error = SyntaxProblem(path, index.span(0, 0), "nested too deeply to parse")
        return document

    def _parse_launcher(self, document: Document, views: bool) -> None:
        from trainlint import resolve  # launchers only (FORMAT_MODULES)
        from trainlint.formats import shell

        launch_file = shell.parse(document.path, document.text, document.index)
        document.launch_file = launch_file
        if not views:
            document.problems = list(launch_file.problems)
            document.notes = list(dict.fromkeys(str(note) for note in launch_file.notes))
            return
        documents = DocumentSource(self)
        configs = resolve.effective_views(launch_file, documents)
        document.launches = configs
        document.views = [config.view for config in configs]
        document.loaded = list(documents.asked)
        document.problems = [*launch_file.problems, *(p for c in configs for p in c.problems)]
        notes = [*launch_file.notes, *(n for c in configs for n in c.notes)]
        document.notes = list(dict.fromkeys(str(note) for note in notes))


def _identity(path: str) -> tuple[int, int, int] | None:
    """What tells one version of a file from another within a run."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def _read_at_most(descriptor: int, size: int, limit: int) -> bytes:
    """The file's bytes, at most `limit`: one read for a file of the `size` fstat gave."""
    data = os.read(descriptor, min(size + 1, limit))
    if len(data) <= size:
        return data
    chunks = [data]
    left = limit - len(data)
    while left > 0:  # it grew since fstat
        chunk = os.read(descriptor, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _format_module(name: str):
    return importlib.import_module(name)


def _parse_config(document: Document, consumers: Any = None) -> None:
    module = _format_module(f"trainlint.formats.{document.format}")
    data_kind = getattr(module, "data_kind", None)  # a format may tell data from configs
    kind = data_kind(document.text) if data_kind is not None else None
    if kind is not None:  # a vocabulary, records, metrics: never read as a config
        document.config = ParsedDocument(document.path, document.text, document.format, [],
                                         document.index, extra={"not_a_config": kind})
        document.notes.append(f"{document.path}: skipped ({kind}; not a training setup)")
        return
    config = module.parse(document.path, document.text, document.index)
    config.consumer_lookup = consumers
    document.config = config
    document.views = build_views(config)


# Scripts a project scan parsed in this process, by absolute path, kept for the check of the
# same file later in the run (`keep_for_check`): one parse and index instead of two. At most
# KEPT_SCRIPT_CHARACTERS of source are kept (a tree takes some 20 times its text).
KEPT_SCRIPT_CHARACTERS = 2 << 20
_KEPT_SCRIPTS: dict[str, Any] = {}
_KEPT_CHARACTERS = [0]


def keep_for_check(script) -> None:
    """Keep a script parsed for a scan of the project, in case this process checks it later."""
    if _KEPT_CHARACTERS[0] + len(script.text) > KEPT_SCRIPT_CHARACTERS:
        return
    key = os.path.abspath(script.path)
    if key not in _KEPT_SCRIPTS:
        _KEPT_SCRIPTS[key] = script
        _KEPT_CHARACTERS[0] += len(script.text)


def forget_kept_scripts() -> None:
    """Drop what the scans kept: a run's trees are not another run's."""
    _KEPT_SCRIPTS.clear()
    _KEPT_CHARACTERS[0] = 0


def _kept_script(document: Document):
    """The script a scan parsed from the same text as `document`, as this path names it (taken
    once); None where there is none. Its tree and index are reused; the analyses that rules
    derived from it are not (they may name the file as the scan did)."""
    if not _KEPT_SCRIPTS:
        return None
    kept = _KEPT_SCRIPTS.pop(os.path.abspath(document.path), None)
    if kept is None:
        return None
    _KEPT_CHARACTERS[0] -= len(kept.text)
    script = None
    if kept.text == document.text:
        script = structs.replace(kept, path=document.path, index=document.index, _derived={})
    kept.release()  # the scan's analyses, which may refer back to it (a cycle), go now
    return script


def _parse_python(document: Document, views: bool) -> None:
    from trainlint.formats.python.ast_index import ParsedScript  # Python files only

    try:
        script = _kept_script(document) or ParsedScript.parse(document.path, document.text,
                                                              document.index)
    except SyntaxError as exc:
        if _newer_python(document.text, exc.lineno):
            document.notes.append(f"{document.path}: not checked: Python syntax newer than this "
                                  f"interpreter's {sys.version_info[0]}.{sys.version_info[1]}")
            return
        raise ParseError(f"invalid Python: {exc.msg}", exc.lineno or 1, exc.offset or 1) from None
    except (ValueError, MemoryError) as exc:
        raise ParseError(f"invalid Python: {exc}") from None
    document.script = script
    if not views:
        return
    from trainlint.formats.python import declared_config  # see FORMAT_MODULES

    config = declared_config.parse(document.path, document.text, document.index, script)
    document.config = config
    document.views = _python_views(config, script)


# A statement only Python 3.12's grammar reads (PEP 695): `type X = ...`, `def f[T](...)`,
# `class C[T]:`. Never valid before 3.12, so no second parser is needed to say so.
_PEP695_STATEMENT = re.compile(r"\s*(?:type\s+[A-Za-z_]\w*\s*[\[=]|(?:async\s+)?def\s+[A-Za-z_]\w*\s*\[|"
                               r"class\s+[A-Za-z_]\w*\s*\[)")


def _newer_python(text: str, line: int | None) -> bool:
    """Whether code this interpreter cannot parse is valid in a newer Python grammar (PEP 695
    `type X = ...`, PEP 701 f-strings): a PEP 695 statement where the parser stopped says so
    at once; otherwise libcst's parser, which knows the newer grammars, decides (its import
    costs 0.3 s). Such a file is not wrong, only unreadable here."""
    lines = text.splitlines()
    if line is not None and 0 < line <= len(lines) and _PEP695_STATEMENT.match(lines[line - 1]):
        return True
    import libcst  # only for a file Python's own parser refused

    try:
        libcst.parse_module(text)
    except Exception:  # libcst's syntax error, or one it cannot report: not newer Python
        return False
    return True


def _python_views(config: ParsedDocument, script) -> list[ConfigView]:
    """The script's training setup: its declared defaults through the dialects, and what its
    code does (the schedulers it builds, its epoch loop, ...), which beats a mapped default."""
    from trainlint.formats.python import mmengine_schedule, training_facts  # see FORMAT_MODULES

    views = build_views(config)
    facts: dict[str, Value | None] = {}  # None: not known after all (drop a mapped value)
    if training_facts.might_have_facts(script.text):
        facts = {fact.key: fact for fact in
                 training_facts.training_facts(script, config.extra.get("arguments", []))}
    if mmengine_schedule.NEEDLE in script.text:  # an mmengine config's `param_scheduler`
        facts.update(mmengine_schedule.schedule_facts(script.tree, config))
    if not views and any(fact is not None for fact in facts.values()):
        raw = {entry.key: entry for entry in config.entries}
        views = [ConfigView(config.path, "argparse", {}, raw, config)]
    for view in views:
        for name, fact in facts.items():
            if fact is None:
                view.values.pop(name, None)
            else:
                view.values[name] = fact
    return views


def preload(formats: Iterable[str]) -> None:
    """Import what reading these formats needs (before forking, so that every child has it)."""
    for fmt in set(formats):
        for name in FORMAT_MODULES.get(fmt, ()):
            _format_module(name)
    importlib.import_module("trainlint.schemas")
    importlib.import_module("trainlint.formats.python.ast_index")
    dialects()
