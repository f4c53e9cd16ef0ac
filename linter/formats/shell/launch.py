"""Launch commands: who runs what, on how many processes, with which arguments.

`recognize(words)` reads one simple command (after variable expansion, see
trainlint.formats.shell.evaluate): wrappers (`srun`, `mpirun`, `nohup`, `uv run`, ...), the
launcher (python, `python -m`, torchrun, `torch.distributed.run`, accelerate, deepspeed,
`bash other.sh`), its world-size flags, and the target script or module with its arguments,
each a Word that keeps its source characters. `pair_arguments` pairs those words into flags
and values the naive way, for a script whose parser trainlint cannot see.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from msgspec import Struct, field

from trainlint.formats.base import Note, SyntaxProblem
from trainlint.records import UNRESOLVED, Value
from trainlint.text import LineIndex, Span

# Script names a launch line runs with a shell (`bash other.sh`, `pwsh run.ps1`).
BASH_SUFFIXES = (".sh", ".bash", ".zsh", ".ksh")
POWERSHELL_SUFFIXES = (".ps1", ".psm1")


# --------------------------------------------------------------------------- shapes


class Word(Struct):
    """One shell word after expansion and quote removal, with its source characters.

    `offsets[i]` is the source offset of `text[i]` (None where the character came from an
    expansion whose source is unknown). `known` is False when part of the word cannot be
    known statically (`$1`, `$(cmd)`, an environment variable). `variadic` marks `"$@"`.
    """

    text: str
    raw: str
    span: Span
    known: bool = True
    offsets: tuple[int | None, ...] = ()
    variadic: bool = False
    quoted: bool = False

    @property
    def looks_like_option(self) -> bool:
        return self.text.startswith("-") and len(self.text) > 1 and not _is_number(self.text)


class LaunchArgument(Struct):
    """A script argument: `--flag value`, `--flag=value`, a bare `--flag`, or a positional."""

    flag: Value | None
    value: Value | None


class Launch(Struct):
    """One launch command: who runs what, on how many processes, with which arguments."""

    path: str
    span: Span
    launcher: str  # python, torchrun, torch.distributed.run/launch, accelerate, deepspeed, bash
    command: Value  # the launcher word as written
    script: Value | None = None  # the target script path (None for a module)
    module: Value | None = None  # python -m pkg.train
    wrappers: tuple[str, ...] = ()  # srun, mpirun, nohup, ...
    world: dict[str, Value] = field(default_factory=dict)  # nproc_per_node, nnodes, ...
    launcher_options: list[LaunchArgument] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)  # the script's arguments
    env: dict[str, Value] = field(default_factory=dict)  # VAR=... before the command
    cwd: tuple[str, ...] = ()  # `cd` targets before the command, in order
    cwd_is_script_dir: bool = False  # `cd "$(dirname "$0")"`
    index: LineIndex | None = None
    world_size: Value | None = None
    world_factors: tuple[Value, ...] = ()
    world_note: str = ""  # why the world size is unknown

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def target(self) -> Value | None:
        return self.script or self.module

    @property
    def arguments(self) -> list[LaunchArgument]:
        """The arguments paired naively: a flag takes the next word unless it looks like a flag."""
        return pair_arguments(self, lambda flag: None)

    def describe(self) -> str:
        target = self.target.value if self.target is not None else "?"
        return f"{self.launcher} {target}"


class LaunchFile(Struct):
    """A launcher's launches, and where it cannot be read (problems, TL001) or was skipped."""

    path: str
    text: str
    index: LineIndex
    format: str  # "shell", "powershell" or "markdown"
    launches: list[Launch] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    problems: list[SyntaxProblem] = field(default_factory=list)
    variables: dict[str, Value] = field(default_factory=dict)
    comments: list[tuple[int, int]] = field(default_factory=list)  # (start, end), in file order



# --------------------------------------------------------------------------- words

_NUMBER_RE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_PYTHON_RE = re.compile(r"(python|pythonw)(\d+(\.\d+)*)?(\.exe)?|py(\.exe)?")


def _is_number(text: str) -> bool:
    return _NUMBER_RE.fullmatch(text) is not None


def to_number(text: str) -> Any:
    """'4' -> 4, '3e-4' -> 0.0003, anything else unchanged."""
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if _is_number(text):
        return float(text)
    return text


def word_value(word: Word, key: str, path: str, index: LineIndex, origin: str,
               value: Any = None, start: int | None = None, end: int | None = None,
               key_span: Span | None = None) -> Value:
    """A Value for a word, or for the characters [start, end) of its text."""
    start = start or 0
    if start == 0 and (end is None or end >= len(word.text)):
        span = word.span
        text = word.text
    else:
        end = len(word.text) if end is None else end
        span = _sub_span(word, start, end, index)
        text = word.text[start:end]
    if value is None:
        value = text if word.known else UNRESOLVED
    raw = index.text[span.start:span.end]
    return Value(value=value, path=path, span=span, key=key, key_span=key_span, raw=raw,
                 origin=origin)


def _sub_span(word: Word, start: int, end: int, index: LineIndex) -> Span:
    """The source characters of word.text[start:end] inside the word's own span.

    Characters that came from a variable have offsets elsewhere (at its assignment); the
    slice then covers the reference (`$NGPU` of `--nproc_per_node=$NGPU`), as written.
    """
    offsets = word.offsets
    if not offsets or len(offsets) != len(word.text):
        return word.span
    low, high = word.span.start, word.span.end

    def inside(position: int) -> int | None:
        if 0 <= position < len(offsets):
            offset = offsets[position]
            if offset is not None and low <= offset < high:
                return offset
        return None

    first = inside(start)
    if first is None:
        before = inside(start - 1)
        first = before + 1 if before is not None else low
    last = inside(end - 1) if end > start else None
    if last is not None:
        stop = last + 1
    else:
        after = inside(end)
        stop = after if after is not None and end > start else (first if end <= start else high)
    if stop < first:
        return word.span
    return index.span(first, stop)


def _is_option_text(text: str) -> bool:
    return text.startswith("-") and len(text) > 1 and not _is_number(text)


def _basename(text: str) -> str:
    return re.split(r"[\\/]", text)[-1]


def _is_python(name: str) -> bool:
    return _PYTHON_RE.fullmatch(name.lower()) is not None


def option_name(text: str) -> str:
    return text.lstrip("-").replace("-", "_")



# --------------------------------------------------------------------------- launch recognition

_TORCHRUN_FLAGS = frozenset({"standalone", "no_python", "run_path", "module", "m", "use_env",
                             "virtual_local_rank", "help", "h"})
_ACCELERATE_FLAGS = frozenset({
    "cpu", "multi_gpu", "tpu", "ipex", "mps", "use_deepspeed", "use_fsdp", "use_megatron_lm",
    "use_xpu", "module", "m", "no_python", "quiet", "q", "debug", "same_network",
    "tpu_use_cluster", "tpu_use_sudo", "downcast_bf16", "dynamo_use_fullgraph",
    "dynamo_use_dynamic", "enable_cpu_affinity", "help", "h"})
_DEEPSPEED_FLAGS = frozenset({"no_python", "module", "no_local_rank", "no_ssh_check",
                              "force_multi", "elastic_training", "bind_cores_to_rank", "no_ssh",
                              "save_pid", "enable_each_rank_log", "help", "h"})
_SRUN_SHORT_WITH_ARG = frozenset("AbcdDeiJLmnNopqrStTwWxG")
_SRUN_FLAGS = frozenset({"exclusive", "label", "unbuffered", "overcommit", "pty", "no_kill",
                         "quiet", "verbose", "overlap", "exact", "kill_on_bad_exit",
                         "disable_status", "help", "usage", "test_only", "l", "u", "v", "Q",
                         "K", "k", "E", "H", "O", "s", "X", "Z", "immediate"})
_MPI_FLAGS = frozenset({"oversubscribe", "allow_run_as_root", "report_bindings", "tag_output",
                        "display_map", "v", "verbose", "q", "quiet", "timestamp_output",
                        "merge_stderr_to_stdout", "noprefix", "bind_to_core", "bind_to_socket",
                        "byslot", "bynode", "l", "prepend_rank"})
_MPI_TWO_ARGS = frozenset({"mca", "gmca", "genv", "env"})
_PYTHON_OPTIONS_WITH_ARG = frozenset({"-W", "-X", "-Q"})
_SKIP_WRAPPERS = frozenset({"nohup", "time", "exec", "command", "builtin", "sudo", "xvfb-run",
                            "unbuffer", "caffeinate"})
_RUNNERS = frozenset({"uv", "poetry", "pipenv", "pdm", "hatch", "rye", "pixi"})
_CONDA = frozenset({"conda", "mamba", "micromamba"})
_WORLD_KEYS = {
    "torchrun": ("nproc_per_node", "nnodes"),
    "accelerate": ("num_processes", "num_machines", "config_file", "mixed_precision",
                   "gradient_accumulation_steps", "gpu_ids"),
    "deepspeed": ("num_gpus", "num_nodes", "include", "hostfile", "num_accelerators"),
    "srun": ("ntasks", "n", "nodes", "N", "ntasks_per_node", "gpus", "gpus_per_node"),
    "mpirun": ("np", "n", "c", "npernode", "N"),
}
_WORLD_ALIASES = {"nproc_per_node": "nproc_per_node", "nnodes": "nnodes",
                  "num_processes": "num_processes", "num_machines": "num_machines",
                  "num_gpus": "num_gpus", "num_accelerators": "num_gpus",
                  "num_nodes": "num_nodes", "n": "ntasks", "ntasks": "ntasks", "N": "nodes",
                  "nodes": "nodes", "ntasks_per_node": "ntasks_per_node", "np": "np",
                  "c": "np", "npernode": "npernode", "include": "include",
                  "hostfile": "hostfile", "config_file": "config_file",
                  "mixed_precision": "mixed_precision",
                  "gradient_accumulation_steps": "gradient_accumulation_steps",
                  "gpu_ids": "gpu_ids", "gpus": "gpus", "gpus_per_node": "gpus_per_node"}


class _Options:
    """Options of a launcher or wrapper, read until the first word that is not an option."""

    def __init__(self, words: list[Word], start: int, flags: frozenset[str],
                 short_with_arg: frozenset[str] = frozenset(),
                 two_args: frozenset[str] = frozenset(), single_dash_long: bool = False) -> None:
        self.found: list[tuple[str, Word, Word | None, int | None]] = []  # name, flag, value, cut
        position = start
        while position < len(words):
            word = words[position]
            text = word.text
            if text == "--":
                position += 1
                break
            if not text.startswith("-") or text == "-":
                break
            if "=" in text and text.startswith("--"):
                cut = text.index("=")
                self.found.append((option_name(text[:cut]), word, word, cut + 1))
                position += 1
                continue
            if not text.startswith("--") and not single_dash_long and len(text) > 2 \
                    and text[1] in short_with_arg:
                self.found.append((text[1], word, word, 2))
                position += 1
                continue
            name = option_name(text)
            if name in flags or (not text.startswith("--") and not single_dash_long
                                 and len(text) == 2 and text[1] not in short_with_arg
                                 and short_with_arg):
                self.found.append((name, word, None, None))
                position += 1
                continue
            if name in two_args and position + 2 < len(words):
                self.found.append((name, word, words[position + 2], None))
                position += 3
                continue
            value = words[position + 1] if position + 1 < len(words) else None
            self.found.append((name, word, value, None))
            position += 2 if value is not None else 1
        self.end = position

    def has(self, *names: str) -> bool:
        return any(found[0] in names for found in self.found)


def recognize(words: list[Word], path: str, index: LineIndex, origin: str) -> Launch | None:
    position = 0
    wrappers: list[str] = []
    world: dict[str, Value] = {}
    options: list[LaunchArgument] = []
    env_assignments: dict[str, Value] = {}
    while position < len(words):
        name = _basename(words[position].text).lower()
        if name in _SKIP_WRAPPERS:
            wrappers.append(name)
            position += 1
            if name == "time" and position < len(words) and words[position].text == "-p":
                position += 1
            continue
        if name == "env":
            wrappers.append(name)
            position += 1
            while position < len(words) and (words[position].text.startswith("-")
                                             or re.match(r"[A-Za-z_]\w*=", words[position].text)):
                position += 2 if words[position].text in ("-u", "-C", "-S") else 1
            continue
        if name in ("nice", "ionice", "stdbuf", "timeout", "taskset", "numactl", "chrt"):
            wrappers.append(name)
            position += 1
            while position < len(words) and words[position].text.startswith("-"):
                takes = words[position].text in ("-n", "-c", "-s", "-k", "-N", "-m", "-C", "-p",
                                                  "--signal", "--kill-after")
                position += 2 if takes else 1
            if name in ("timeout", "taskset", "chrt") and position < len(words):
                position += 1
            continue
        if name in _RUNNERS and position + 1 < len(words) and words[position + 1].text == "run":
            wrappers.append(f"{name} run")
            position += 2
            while position < len(words) and words[position].text.startswith("-"):
                text = words[position].text
                takes = "=" not in text and text in ("--with", "--project", "--python", "-p",
                                                     "--directory", "--env-file", "--extra",
                                                     "--group", "--index-url", "--package",
                                                     "-e", "--environment", "--env")
                position += 2 if takes else 1
            continue
        if name in _CONDA and position + 1 < len(words) and words[position + 1].text == "run":
            wrappers.append(f"{name} run")
            position += 2
            while position < len(words) and words[position].text.startswith("-"):
                takes = words[position].text in ("-n", "--name", "-p", "--prefix", "--cwd")
                position += 2 if takes else 1
            continue
        if name in ("srun", "mpirun", "mpiexec", "orterun"):
            kind = "srun" if name == "srun" else "mpirun"
            wrappers.append(name)
            if kind == "srun":
                parsed = _Options(words, position + 1, _SRUN_FLAGS, _SRUN_SHORT_WITH_ARG)
            else:
                parsed = _Options(words, position + 1, _MPI_FLAGS, two_args=_MPI_TWO_ARGS,
                                  single_dash_long=True)
            _collect(parsed, kind, world, options, path, index, origin)
            position = parsed.end
            continue
        break
    if position >= len(words):
        return None
    command = words[position]
    name = _basename(command.text)
    lower = name.lower()
    command_value = word_value(command, "launcher", path, index, origin)
    launch = Launch(path, index.span(words[0].span.start, words[-1].span.end), "python",
                    command_value, wrappers=tuple(wrappers), world=world,
                    launcher_options=options, index=index)
    launch.env = env_assignments
    rest = position + 1
    if _is_python(lower) or (lower.endswith(".py") and command.known):
        if lower.endswith(".py"):
            launch.script = word_value(command, "script", path, index, origin)
            launch.words = words[rest:]
        elif not _python_target(launch, words, rest, path, index, origin):
            return None
    elif lower in ("torchrun", "torchrun.exe"):
        launch.launcher = "torchrun"
        if not _launcher_target(launch, words, rest, "torchrun", path, index, origin):
            return None
    elif lower in ("accelerate", "accelerate.exe") and rest < len(words) \
            and words[rest].text == "launch":
        launch.launcher = "accelerate"
        if not _launcher_target(launch, words, rest + 1, "accelerate", path, index, origin):
            return None
    elif lower in ("accelerate-launch",):
        launch.launcher = "accelerate"
        if not _launcher_target(launch, words, rest, "accelerate", path, index, origin):
            return None
    elif lower in ("deepspeed", "deepspeed.exe"):
        launch.launcher = "deepspeed"
        if not _launcher_target(launch, words, rest, "deepspeed", path, index, origin):
            return None
    elif lower in ("bash", "sh", "zsh", "source", ".", "pwsh", "powershell", "pwsh.exe",
                   "powershell.exe") or lower.endswith(BASH_SUFFIXES + POWERSHELL_SUFFIXES):
        if not _shell_target(launch, words, position, path, index, origin):
            return None
    else:
        return None
    _world_size(launch, path, index)
    return launch


def _collect(parsed: _Options, kind: str, world: dict[str, Value],
             options: list[LaunchArgument], path: str, index: LineIndex, origin: str) -> None:
    for name, flag_word, value_word, cut in parsed.found:
        flag_end = (cut - 1) if cut is not None and flag_word.text[cut - 1:cut] == "=" else cut
        flag = word_value(flag_word, name, path, index, origin, value=flag_word.text[:flag_end]
                          if flag_end else flag_word.text, start=0 if cut is None else 0,
                          end=flag_end)
        value = None
        if value_word is not None:
            value = word_value(value_word, name, path, index, origin, start=cut or 0,
                               key_span=flag.span)
            if value.known and isinstance(value.value, str):
                value = _replace_value(value, to_number(value.value))
        options.append(LaunchArgument(flag, value))
        canonical = _WORLD_ALIASES.get(name)
        if canonical and name in _WORLD_KEYS.get(kind, ()) and value is not None:
            world[canonical] = _rekey(value, canonical)


def _replace_value(value: Value, new: Any) -> Value:
    return Value(new, value.path, value.span, value.key, value.key_span, value.raw, value.style,
                 value.tag, value.document, value.origin, value.overrode)


def _rekey(value: Value, key: str) -> Value:
    return Value(value.value, value.path, value.span, key, value.key_span, value.raw,
                 value.style, value.tag, value.document, value.origin, value.overrode)


def _python_target(launch: Launch, words: list[Word], position: int, path: str,
                   index: LineIndex, origin: str) -> bool:
    while position < len(words):
        text = words[position].text
        if text == "-m" or (text.startswith("-m") and len(text) > 2 and not text.startswith("--")):
            if text == "-m":
                if position + 1 >= len(words):
                    return False
                module = words[position + 1]
                launch.module = word_value(module, "module", path, index, origin)
                after = position + 2
            else:
                module = words[position]
                launch.module = word_value(module, "module", path, index, origin, start=2)
                after = position + 1
            if launch.module.value in ("torch.distributed.run", "torch.distributed.launch"):
                launch.launcher = str(launch.module.value)
                launch.module = None
                return _launcher_target(launch, words, after, "torchrun", path, index, origin)
            if launch.module.value in ("accelerate.commands.launch",):
                launch.launcher = "accelerate"
                launch.module = None
                return _launcher_target(launch, words, after, "accelerate", path, index, origin)
            if launch.module.value in ("deepspeed.launcher.runner",):
                launch.launcher = "deepspeed"
                launch.module = None
                return _launcher_target(launch, words, after, "deepspeed", path, index, origin)
            launch.words = words[after:]
            return True
        if text == "-" or text == "-c" or text.startswith("-c") and not text.startswith("--"):
            return False  # python - (stdin) and python -c are not launches of a script
        if text in _PYTHON_OPTIONS_WITH_ARG:
            position += 2
            continue
        if text.startswith("-") and text != "-":
            position += 1
            continue
        launch.script = word_value(words[position], "script", path, index, origin)
        launch.words = words[position + 1:]
        return True
    return False


def _launcher_target(launch: Launch, words: list[Word], position: int, kind: str, path: str,
                     index: LineIndex, origin: str) -> bool:
    flags = {"torchrun": _TORCHRUN_FLAGS, "accelerate": _ACCELERATE_FLAGS,
             "deepspeed": _DEEPSPEED_FLAGS}[kind]
    parsed = _Options(words, position, flags)
    _collect(parsed, kind, launch.world, launch.launcher_options, path, index, origin)
    if parsed.end >= len(words):
        return False
    target = words[parsed.end]
    if parsed.has("module", "m"):
        launch.module = word_value(target, "module", path, index, origin)
    elif parsed.has("no_python"):
        launch.script = word_value(target, "script", path, index, origin)
        if not target.text.endswith(".py"):
            return False
    else:
        launch.script = word_value(target, "script", path, index, origin)
    launch.words = words[parsed.end + 1:]
    return True


def _shell_target(launch: Launch, words: list[Word], position: int, path: str,
                  index: LineIndex, origin: str) -> bool:
    command = words[position]
    lower = _basename(command.text).lower()
    if lower.endswith(BASH_SUFFIXES + POWERSHELL_SUFFIXES):
        target_at = position
    else:
        target_at = position + 1
        while target_at < len(words) and words[target_at].text.startswith("-"):
            option = words[target_at].text.lower()
            if option in ("-c", "-command", "-encodedcommand"):
                return False
            target_at += 1
    if target_at >= len(words):
        return False
    target = words[target_at]
    if not target.text.lower().endswith(BASH_SUFFIXES + POWERSHELL_SUFFIXES):
        return False
    launch.launcher = "powershell" if target.text.lower().endswith(POWERSHELL_SUFFIXES) else "bash"
    launch.script = word_value(target, "script", path, index, origin)
    launch.words = words[target_at + 1:]
    return True


def _world_size(launch: Launch, path: str, index: LineIndex) -> None:
    """The number of data-parallel processes the launcher starts, when the flags say it."""
    world = launch.world
    command = launch.command
    if launch.launcher in ("torchrun", "torch.distributed.run", "torch.distributed.launch"):
        nproc = world.get("nproc_per_node")
        nodes = world.get("nnodes")
        if nodes is not None and isinstance(nodes.value, str) and ":" in nodes.value:
            low, _, high = nodes.value.partition(":")
            nodes = _replace_value(nodes, int(low) if low == high and low.isdigit()
                                   else UNRESOLVED)
        factors = [f for f in (nproc, nodes) if f is not None]
        if nproc is None:
            nproc = _replace_value(_rekey(command, "nproc_per_node"), 1)
        _set_world(launch, [nproc] + ([nodes] if nodes is not None else []),
                   factors or [nproc])
    elif launch.launcher == "accelerate":
        processes = world.get("num_processes")
        if processes is not None:
            _set_world(launch, [processes], [processes])
        else:
            launch.world_note = ("accelerate launch without --num_processes: the world size "
                                 "comes from its config file")
    elif launch.launcher == "deepspeed":
        gpus = world.get("num_gpus")
        nodes = world.get("num_nodes")
        include = world.get("include")
        if include is not None and include.known:
            count = sum(len(host.split(":", 1)[1].split(",")) if ":" in host else 0
                        for host in str(include.value).split("@"))
            if count:
                _set_world(launch, [_replace_value(include, count)], [include])
                return
        if gpus is not None:
            factors = [gpus] + ([nodes] if nodes is not None else [])
            _set_world(launch, factors, factors)
        else:
            launch.world_note = ("deepspeed without --num_gpus uses every GPU of the "
                                 "machine: the world size is not known statically")
    elif launch.launcher == "python":
        tasks = world.get("ntasks") or world.get("np")
        if tasks is not None:
            _set_world(launch, [tasks], [tasks])
        elif world.get("ntasks_per_node") is not None:
            factors = [world["ntasks_per_node"]] + (
                [world["nodes"]] if world.get("nodes") is not None else [])
            _set_world(launch, factors, factors)
        elif not launch.wrappers or not ({"srun", "mpirun", "mpiexec", "orterun"}
                                         & set(launch.wrappers)):
            _set_world(launch, [_replace_value(_rekey(command, "processes"), 1)], [])
        else:
            launch.world_note = f"{launch.wrappers[-1]} without a task count"


def _set_world(launch: Launch, factors: list[Value], shown: list[Value]) -> None:
    product: Any = 1
    for factor in factors:
        number = factor.value
        if isinstance(number, str) and re.fullmatch(r"\d+", number):
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            product = UNRESOLVED
            break
        product *= number
    anchor = shown[0] if shown else factors[0]
    launch.world_size = Value(product, anchor.path, anchor.span, "batch.world_size",
                              anchor.key_span, anchor.raw, origin=anchor.origin)
    launch.world_factors = tuple(shown)
    if product is UNRESOLVED:
        launch.world_note = "a world-size flag is not a number trainlint can read"


# --------------------------------------------------------------------------- argument pairing


def pair_arguments(launch: Launch,
                   takes_value: Callable[[str], bool | None]) -> list[LaunchArgument]:
    """Pair the script's words into (flag, value) arguments.

    `takes_value(flag)` says whether an option consumes the next word (None: guess from the
    next word: it is the value unless it looks like an option).
    """
    path, index = launch.path, launch.index or LineIndex("")
    origin = launch.command.origin
    pairs: list[LaunchArgument] = []
    words = launch.words
    position = 0
    only_positional = False
    while position < len(words):
        word = words[position]
        if word.variadic:
            position += 1
            continue
        if only_positional or not word.looks_like_option:
            if word.text == "--" and not only_positional:
                only_positional = True
                position += 1
                continue
            pairs.append(LaunchArgument(None, word_value(word, "", path, index, origin)))
            position += 1
            continue
        if "=" in word.text and _is_option_text(word.text.split("=", 1)[0]):
            cut = word.text.index("=")
            flag = word_value(word, word.text[:cut], path, index, origin, value=word.text[:cut],
                              end=cut)
            value = word_value(word, word.text[:cut], path, index, origin, start=cut + 1,
                               key_span=flag.span)
            pairs.append(LaunchArgument(flag, value))
            position += 1
            continue
        flag = word_value(word, word.text, path, index, origin, value=word.text)
        following = words[position + 1] if position + 1 < len(words) else None
        wants = takes_value(word.text)
        if wants is None:
            wants = following is not None and not following.looks_like_option \
                and not following.variadic
        if wants and following is not None:
            value = word_value(following, word.text, path, index, origin, key_span=flag.span)
            pairs.append(LaunchArgument(flag, value))
            position += 2
        else:
            pairs.append(LaunchArgument(flag, None))
            position += 1
    return pairs
