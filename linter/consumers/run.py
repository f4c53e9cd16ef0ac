"""The consumers of one run: `RunConsumers(settings)(path)` is the Consumer of a config file.

The load path (`trainlint.load.Loader`) hands this lookup to every config it parses
(`ParsedDocument.consumer`), and a rule asks it only when it has something to say about a key
or a value; so a run whose configs give no rule a reason to ask never scans a project. A
project (the nearest folder with a project marker, as for the rules that link files) is
scanned once per process, with the run's own file walk and reader (its size limit); the
engine scans the projects of its files before it forks (`prepare`), so that the children
share the scan instead of each repeating it.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from trainlint.discovery import walk_folder
from trainlint.formats.base import ParseError
from trainlint.load import Loader, Unreadable
from trainlint.project_scan import PROJECT_MARKERS, ProjectRoots

if TYPE_CHECKING:
    from trainlint.consumers.project import Consumer, ProjectConsumers
    from trainlint.settings import Settings

__all__ = ["RunConsumers"]

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
LAUNCHER_SUFFIXES = (".sh", ".bash", ".md")  # as consumers.launches (not imported at start)


class RunConsumers:
    """path -> Consumer (None for a file that is no config, or a lookup that failed)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.roots = ProjectRoots()
        self.loader = Loader(settings.max_file_size)
        self._projects: dict[str, ProjectConsumers | None] = {}

    def __call__(self, path: str) -> Consumer | None:
        project = self.project_of(path)
        if project is None:
            return None
        try:
            consumer = project.for_config(path)
        except (RecursionError, ValueError, OSError):  # a lookup never costs the file its check
            return None
        return None if consumer is None else _the_run(consumer, project.root)

    def describe(self, path: str) -> str | None:
        """The reader in one line, as rules see it (a file only tests read has none)."""
        project = self.project_of(path)
        if project is None:
            return None
        consumer = self(path)
        if consumer is not None and not consumer.known and consumer.alternatives:
            return f"no reader found ({consumer.via})"
        return project.describe(path)

    def project_of(self, path: str) -> ProjectConsumers | None:
        """The scanned project of `path`; None for a file in no project (no marker up to the
        file system root: a lone file has no code that reads it, and /tmp is not scanned)."""
        root = self.roots.of(path)
        if root not in self._projects:
            marked = any(os.path.exists(os.path.join(root, marker)) for marker in PROJECT_MARKERS)
            self._projects[root] = self._scan(root) if marked else None
        return self._projects[root]

    def prepare(self, files: Iterable[str]) -> None:
        """Scan the projects of the config files among `files` now (before a fork)."""
        for path in files:
            if path.endswith(CONFIG_SUFFIXES):
                self.project_of(path)

    def _scan(self, root: str) -> ProjectConsumers | None:
        # the Python readers: only once a rule asks who reads a config (start-up)
        from trainlint.consumers.launches import link_launches
        from trainlint.consumers.project import ProjectConsumers

        python: list[str] = []
        configs: list[str] = []
        launchers: list[str] = []
        for each in walk_folder(Path(root), self.settings):  # the run's walk of the folder
            if not each.endswith(_SUFFIXES) or self.roots.of(each) != root:
                continue  # a project of its own inside this one
            if each.endswith(".py"):
                python.append(each)
            elif each.endswith(LAUNCHER_SUFFIXES):
                launchers.append(each)
            else:
                configs.append(each)
        try:
            project = ProjectConsumers.scan(root, python, self.read_text, config_files=configs,
                                            cache=False)
            link_launches(project, root, launchers, {*python, *configs}, self.read_text)
        except (RecursionError, ValueError, OSError):
            return None
        return project

    def read_text(self, path: str) -> str | None:
        try:
            return self.loader.read(path).text
        except (Unreadable, ParseError, ValueError):  # not a file it reads, or no text
            return None


def _the_run(consumer: Consumer, root: str) -> Consumer:
    """The reader that matters to the run: a test that reads a training config (to check it,
    or to start a smoke run) says nothing about how the training code reads it. The first
    reader outside tests is the consumer; where only tests read the file, the run's reader is
    not known."""
    import msgspec.structs

    from trainlint.consumers.loaders import UNKNOWN_LOADER
    from trainlint.consumers.project import Consumer, _is_test_path

    readers = (consumer, *consumer.alternatives)
    for reader in readers:
        if reader.sites and not all(_is_test_path(posixpath.relpath(site.path, root))
                                    for site in reader.sites):
            if reader is consumer:
                return consumer
            others = tuple(r for r in readers if r is not reader)
            return msgspec.structs.replace(reader, alternatives=others)
    if not consumer.known or not consumer.sites:
        return consumer
    tests = ", ".join(site.label(root) for site in consumer.sites[:2])
    return Consumer(consumer.config, "unknown", UNKNOWN_LOADER,
                    via=f"read only by tests ({tests}): the training code's reader is not known",
                    alternatives=readers)


_SUFFIXES = (".py", *CONFIG_SUFFIXES, *LAUNCHER_SUFFIXES)
