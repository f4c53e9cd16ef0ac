"""Which of a project's other files the checkpoint rules read: predicates on a file's bytes
(trainlint.project_scan.Needles) that pick the few files worth parsing, so that a check of a
few files of a large project does not parse the project.

TL401 reads the files that call `save(` (`calls_save`) and those that call a helper found
there (`CallsTo`); TL402, where a checked file's save depends on a file not checked, the
files that can answer it (`files_that_resolve`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from trainlint.rules.checkpoint._checkpoints import (
    NAMESPACE_MAKERS,
    CheckpointFacts,
    ModuleIndex,
    starts_word,
)

_DIRECT_SAVE = re.compile(rb"save\s*\(")


def calls_save(data: bytes) -> bool:
    """A call of `save(` in a file's bytes: torch.save(, xm.save(, a helper's own body."""
    return b"save" in data and any(starts_word(data, match.start())
                                   for match in _DIRECT_SAVE.finditer(data))


class CallsTo:
    """A predicate on a file's bytes (project_scan.Needles): a call of one of `names`
    (`name(`); equal for equal names, so that a run's scan for them is made once."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(sorted({name.encode() for name in names}))
        self.call = re.compile(rb"\b(?:" + b"|".join(re.escape(name) for name in self.names)
                               + rb")\s*\(")

    def __call__(self, data: bytes) -> bool:
        return any(name in data for name in self.names) and self.call.search(data) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CallsTo) and self.names == other.names

    def __hash__(self) -> int:
        return hash(self.names)


def unresolved_imports(facts: dict[str, CheckpointFacts]) -> set[str]:
    """The names of the helpers and classes that saves import from a file not among `facts`."""
    modules = ModuleIndex.of(facts)
    return {each.name for path, fact in facts.items() for each in (*fact.calls, *fact.instances)
            if modules.file_of(path, each.module, each.level) is None}


def arguments_unresolved(facts: dict[str, CheckpointFacts]) -> bool:
    """Whether a save of an `args` parameter waits for a file that parses arguments."""
    return (not any(fact.parses_arguments for fact in facts.values())
            and any(saved.if_argparse for fact in facts.values() for saved in fact.saves))


REFUSING_LOAD_NEEDLES = (b"torch", b"load")  # every file with a torch.load holds both
ARGUMENT_PARSING = tuple(name.encode() for name in sorted(NAMESPACE_MAKERS))


class FilesThatResolve:
    """Which of a project's other files may tell what its saves left open (a predicate on a
    file's bytes, project_scan.Needles): a refusing load (`torch` and `load`), the `def` or
    `class` of a name imported from a file not seen, and, where `arguments`, a call that
    parses arguments. Only those are parsed."""

    def __init__(self, names: Iterable[str], arguments: bool) -> None:
        self.names = tuple(sorted(name.encode() for name in names))
        self.arguments = arguments
        # a pattern that starts with a literal is searched at memchr speed, an alternation not
        either = b"|".join(re.escape(name) for name in self.names)
        self.definitions = tuple(re.compile(keyword + rb"\s+(?:" + either + rb")\b")
                                 for keyword in (b"def", b"class")) if self.names else ()

    def __call__(self, data: bytes) -> bool:
        if all(needle in data for needle in REFUSING_LOAD_NEEDLES):
            return True
        if self.arguments and any(name in data for name in ARGUMENT_PARSING):
            return True
        return any(name in data for name in self.names) and any(
            definition.search(data) is not None for definition in self.definitions)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FilesThatResolve)
                and (self.names, self.arguments) == (other.names, other.arguments))

    def __hash__(self) -> int:
        return hash((self.names, self.arguments))


def files_that_resolve(facts: dict[str, CheckpointFacts]) -> FilesThatResolve | None:
    """The files to read where a save depends on one not among `facts` (a helper or class
    imported from elsewhere, or an `args` parameter where no file seen parses arguments);
    None where nothing does."""
    names = unresolved_imports(facts)
    arguments = arguments_unresolved(facts)
    return FilesThatResolve(names, arguments) if names or arguments else None
