"""Launch commands as links between a config and the code that reads it.

`python scripts/run_sft.py recipes/x/sft.yaml`, `accelerate launch --config_file zero3.yaml
train.py --config cfg.yaml`, `deepspeed train.py --deepspeed ds.json`: the launcher files of a
project (shell scripts and the shell blocks of Markdown) name configs and the scripts that read
them. Each such pair is fed to `ProjectConsumers.link()`, which follows the flag into the
script's loader; a flag no loader of the script reads links nothing. A command's paths are
looked for beside the launcher and in each folder above it up to the project root (where a
command is usually run from).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from trainlint.consumers.project import ProjectConsumers

__all__ = ["LAUNCHER_SUFFIXES", "link_launches"]

LAUNCHER_SUFFIXES = (".sh", ".bash", ".md")
_CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_DEEPSPEED_FLAGS = ("--deepspeed_config", "--deepspeed")
_ACCELERATE_FLAGS = ("--config_file", "--config-file")
# a launcher file that names none of these cannot link a config (a text test before parsing)
_NEEDLES = (".yaml", ".yml", ".json", ".toml")


def link_launches(project: ProjectConsumers, root: str, launchers: Iterable[str],
                  known: set[str], read_text: Callable[[str], str | None]) -> int:
    """`link()` every config a launch command of `launchers` passes to a script or a framework
    CLI; `known` is the project's config and Python files. Returns the links made."""
    from trainlint import parallel

    launchers = list(launchers)
    linked = 0
    for path, launches in zip(launchers, parallel.map_scan(
            lambda path: _launches_in(path, read_text), launchers,
            parallel.file_sizes(launchers))):
        folder = Path(path).parent
        bases = [folder, *[p for p in folder.parents if str(p).startswith(root)]]
        for launch in launches:
            linked += _link_launch(project, launch, path, bases, known)
    return linked


def _launches_in(path: str, read_text: Callable[[str], str | None]) -> list:
    """The launch commands of a launcher file that names a config file (none for the others,
    and for one the lexer rejects: that is reported when the file is checked)."""
    from trainlint.formats import shell  # launcher lexer: only for projects with launchers
    from trainlint.text import LineIndex

    text = read_text(path)
    if not text or not any(needle in text for needle in _NEEDLES):
        return []
    try:
        return shell.parse(path, text, LineIndex.for_file(path, text)).launches
    except Exception:  # noqa: BLE001 - a launcher the lexer rejects is reported when checked
        return []


def _link_launch(project: ProjectConsumers, launch, path: str, bases: list[Path],
                 known: set[str]) -> int:
    linked = 0
    script = None
    if launch.script is not None and launch.script.known:
        script = _find(str(launch.script.value), bases, known)
    elif launch.module is not None and launch.module.known:
        files = project.files_of_module(str(launch.module.value))
        script = files[0] if len(files) == 1 else None
    for option in launch.launcher_options:
        if option.flag is None or option.value is None or not option.value.known:
            continue
        value, flag = str(option.value.value), option.flag.value
        config = _find(value, bases, known) if value.endswith(_CONFIG_SUFFIXES) else None
        if config is None:
            continue
        if launch.launcher == "accelerate" and flag in _ACCELERATE_FLAGS:
            linked += project.link(config, None, flag, loader="accelerate",
                                   site=(path, launch.line)) is not None
        elif flag in _DEEPSPEED_FLAGS:
            linked += project.link(config, None, flag, loader="deepspeed",
                                   site=(path, launch.line)) is not None
    if script is None:
        return linked
    for flag, value in _script_arguments(launch):
        if not value.endswith(_CONFIG_SUFFIXES + (".py",)):
            continue
        config = _find(value, bases, known)
        if config is not None:
            linked += project.link(config, script, flag, site=(path, launch.line)) is not None
    return linked


def _script_arguments(launch) -> Iterable[tuple[str | None, str]]:
    """(flag, value) of the script's arguments: `--config x.yaml`, `--config=x.yaml`, and the
    first positional argument (flag None)."""
    words = [word.text for word in launch.words if word.known]
    position, index = 0, 0
    while index < len(words):
        word = words[index]
        if word.startswith("-") and len(word) > 1:
            if "=" in word:
                flag, value = word.split("=", 1)
                yield flag, value
            elif index + 1 < len(words) and not words[index + 1].startswith("-"):
                yield word, words[index + 1]
                index += 1
        else:
            position += 1
            if position == 1:
                yield None, word
        index += 1


def _find(relative: str, bases: list[Path], known: set[str]) -> str | None:
    for base in bases:
        candidate = os.path.normpath(base / relative)
        if candidate in known:
            return candidate
    return None
