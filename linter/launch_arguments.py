"""A launch's words read as the target script's argparse reads them, without running it.

`ArgparseReader(launch_file, origin, script, problems).read(words)` assigns each word to an
argument exactly as `parse_args` would (`--flag=value`, store_true/false, nargs, counts,
appends, unique-prefix abbreviations, combined short flags), converts values with the
argument's `type=` and checks its `choices=`. What argparse would reject (and exit on) is an
ArgumentProblem: data the launch rules (TL002, TL003) word as findings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from msgspec.structs import replace

from trainlint.formats import shell
from trainlint.formats.base import ArgumentSpec
from trainlint.formats.shell import LaunchFile, Word
from trainlint.records import UNRESOLVED, Value

if TYPE_CHECKING:
    from trainlint.resolve import Script

__all__ = ["ARGUMENT_PROBLEMS", "ArgparseReader", "ArgumentProblem", "ResolvedArgument",
           "is_override"]

_FLAG_ACTIONS = {"store_true": True, "store_false": False}
_ZERO_ARG_ACTIONS = frozenset({"store_true", "store_false", "store_const", "append_const",
                               "count", "help", "version", "BooleanOptionalAction"})
_DEEPSPEED_FLAGS = ("--deepspeed", "--deepspeed_config", "--deepscale", "--deepscale_config")


# What argparse does with a launch's arguments that ends the run, by kind. TL002 reports the
# values it rejects, TL003 the options and arguments the script does not take.
ARGUMENT_PROBLEMS = {
    "explicit-argument": "a flag that takes no value was given one (`--fp16=yes`)",
    "missing-argument": "an option without the value(s) it needs",
    "invalid-type": "a value its `type=` cannot convert (`--lr fast` for a float)",
    "invalid-choice": "a value outside its `choices=`",
    "unknown-option": "an option the script's parser does not define",
    "ambiguous-option": "an abbreviation that matches several options",
    "unexpected-argument": "a positional argument the script does not take",
}


class ArgumentProblem(Struct, frozen=True):
    """A launch argument argparse would reject (it exits before training): data for the rules
    that report it (TL002, TL003), which word it."""

    kind: str  # a key of ARGUMENT_PROBLEMS
    at: Value  # the flag or value the finding points at
    option: str = ""  # the option as written (`--lr`, `-v`)
    text: str = ""  # the offending text: an explicit value, a value, a positional word
    script: str = ""  # the target script's path
    expected: int = 0  # missing-argument: how many values the option takes
    type_name: str = ""  # invalid-type: the `type=` name
    candidates: tuple[Any, ...] = ()  # the choices, the matching options, or every known flag

    @property
    def path(self) -> str:
        return self.at.path

    @property
    def span(self):
        return self.at.span


class ResolvedArgument(Struct):
    """One script argument as argparse reads it: its dest, its spec, and the Value it gets."""

    dest: str
    value: Value
    flag: Value | None = None
    spec: ArgumentSpec | None = None


def is_override(text: str) -> bool:
    """`key=value`, `+key=value`, `~key`: a Hydra-style override word."""
    return re.match(r"[+~]{0,2}[A-Za-z_][\w.\-/@]*=", text) is not None


class ArgparseReader:
    """Assign launch words to a script's argparse arguments as `parse_args` would."""

    def __init__(self, launch_file: LaunchFile, origin: str, script: Script,
                 problems: list[ArgumentProblem]) -> None:
        self.script = script
        self.file = launch_file
        self.origin = origin
        self.problems = problems
        self.by_flag: dict[str, ArgumentSpec] = {}
        self.positionals: list[ArgumentSpec] = []
        for spec in script.specs:
            if spec.flags and spec.flags[0][:1] == "-":
                for flag in spec.flags:
                    self.by_flag.setdefault(flag, spec)
                    if spec.action == "BooleanOptionalAction" and flag.startswith("--"):
                        self.by_flag.setdefault("--no-" + flag[2:], spec)
            else:
                self.positionals.append(spec)
        if "add_config_arguments" in script.text:  # deepspeed.add_config_arguments(parser)
            for flag in _DEEPSPEED_FLAGS:
                action = None if flag.endswith("_config") else "store_true"
                self.by_flag.setdefault(flag, ArgumentSpec((flag,), flag[2:], action=action,
                                                           type_name="str"))
        self.negative_like = any(re.fullmatch(r"-\d+|-\d*\.\d+", flag) for flag in self.by_flag)

    def _problem(self, kind: str, at: Value, **facts: Any) -> None:
        self.problems.append(ArgumentProblem(kind, at, **facts))

    def read(self, words: list[Word]) -> tuple[list[ResolvedArgument], list[Word]]:
        if self._asks_for_help(words):
            return [], []  # argparse prints the usage and exits: nothing else is read
        resolved: list[ResolvedArgument] = []
        extras: list[Word] = []
        positional_words: list[Word] = []
        position = 0
        variadic = any(word.variadic or not word.known and word.text.startswith("$")
                       for word in words)
        only_positional = False
        while position < len(words):
            word = words[position]
            if word.variadic:
                position += 1
                continue
            if not only_positional and word.text == "--":
                only_positional = True
                position += 1
                continue
            if only_positional or not self._is_option(word.text):
                positional_words.append(word)
                position += 1
                continue
            position = self._option(words, position, resolved)
        self._positionals(positional_words, resolved, extras, variadic)
        return resolved, extras

    def _asks_for_help(self, words: list[Word]) -> bool:
        """`script.py -h`: argparse's own help option, unless the parser defines the flag or
        was made with add_help=False."""
        for word in words:
            if word.text == "--":
                return False
            if word.text in ("-h", "--help"):
                return self.script.add_help and word.text not in self.by_flag
        return False

    def _is_option(self, text: str) -> bool:
        if not text.startswith("-") or text == "-":
            return False
        if re.fullmatch(r"-\d+|-\d*\.\d+([eE][-+]?\d+)?", text) and not self.negative_like:
            return False
        return True

    def _lookup(self, text: str) -> tuple[ArgumentSpec | None, str, str | None, list[str]]:
        """(spec, option string, explicit value, ambiguous matches) for an option word."""
        if text in self.by_flag:
            return self.by_flag[text], text, None, []
        if "=" in text:
            option, _, explicit = text.partition("=")
            if option in self.by_flag:
                return self.by_flag[option], option, explicit, []
        else:
            option, explicit = text, None
        if self.script.allow_abbrev:
            prefix = option
            matches = sorted({flag for flag in self.by_flag
                              if flag.startswith(prefix) and len(prefix) > 1
                              and (flag.startswith("--") == prefix.startswith("--"))})
            specs = {id(self.by_flag[flag]) for flag in matches}
            if len(specs) == 1:
                return self.by_flag[matches[0]], option, explicit, []
            if len(matches) > 1:
                return None, option, explicit, matches
        if not text.startswith("--") and len(text) > 2:
            short = text[:2]
            spec = self.by_flag.get(short)
            if spec is not None and not _takes_no_value(spec):
                return spec, short, text[2:], []
        return None, option, explicit, []

    def _combined_flags(self, word: Word, resolved: list[ResolvedArgument]) -> bool:
        """`-vv` / `-ab`: single-dash short flags that take no value, written together."""
        text = word.text
        if text.startswith("--") or len(text) < 3 or "=" in text:
            return False
        specs = [self.by_flag.get("-" + letter) for letter in text[1:]]
        if any(spec is None or not _takes_no_value(spec) for spec in specs):
            return False
        for offset, spec in enumerate(specs, start=1):
            flag = shell.word_value(word, "-" + text[offset], self.file.path, self.file.index,
                                    self.origin, value="-" + text[offset], start=offset,
                                    end=offset + 1)
            value = self._flag_value(spec, "-" + text[offset], flag, word, resolved)
            resolved.append(ResolvedArgument(spec.dest, value, flag, spec))
        return True

    def _option(self, words: list[Word], position: int, resolved: list[ResolvedArgument]) -> int:
        word = words[position]
        spec, option, explicit, ambiguous = self._lookup(word.text)
        if spec is None and not ambiguous and self._combined_flags(word, resolved):
            return position + 1
        flag_end = len(option)
        flag = shell.word_value(word, option, self.file.path, self.file.index, self.origin,
                                value=option, end=flag_end)
        if spec is None:
            self._unknown(flag, option, ambiguous)
            following = words[position + 1] if position + 1 < len(words) else None
            if explicit is None and following is not None and not self._is_option(following.text):
                return position + 2
            return position + 1
        dest = spec.dest
        has_equals = explicit is not None and word.text[flag_end:flag_end + 1] == "="
        explicit_start = flag_end + (1 if has_equals else 0)
        if _takes_no_value(spec):
            if explicit is not None:
                self._problem("explicit-argument", flag, option=option, text=explicit)
            value = self._flag_value(spec, option, flag, word, resolved)
            resolved.append(ResolvedArgument(dest, value, flag, spec))
            return position + 1
        count = _value_count(spec)
        taken: list[tuple[Word, int]] = []
        if explicit is not None:
            taken.append((word, explicit_start))
            next_position = position + 1
        else:
            next_position = position + 1
            limit = count if isinstance(count, int) else None
            while next_position < len(words) and (limit is None or len(taken) < limit):
                following = words[next_position]
                if following.variadic or self._is_option(following.text):
                    break
                taken.append((following, 0))
                next_position += 1
                if count == "?":
                    break
        needed = 1 if count in (None, "+") else (count if isinstance(count, int) else 0)
        if len(taken) < needed:
            if not (next_position < len(words) and words[next_position].variadic):
                self._problem("missing-argument", flag, option=option, expected=needed)
            return next_position
        value = self._value(spec, option, flag, taken, resolved)
        resolved.append(ResolvedArgument(dest, value, flag, spec))
        return next_position

    def _flag_value(self, spec: ArgumentSpec, option: str, flag: Value, word: Word,
                    resolved: list[ResolvedArgument]) -> Value:
        action = spec.action or ""
        if action in _FLAG_ACTIONS:
            new = _FLAG_ACTIONS[action]
        elif action == "BooleanOptionalAction":
            new = not option.startswith("--no-")
        elif action == "count":
            previous = [a for a in resolved if a.dest == spec.dest]
            new = (previous[-1].value.value if previous and isinstance(previous[-1].value.value,
                                                                        int) else 0) + 1
        else:
            new = UNRESOLVED
        return replace(flag, value=new, key=spec.dest, key_span=flag.span, overrode=spec.default)

    def _value(self, spec: ArgumentSpec, option: str, flag: Value | None,
               taken: list[tuple[Word, int]], resolved: list[ResolvedArgument]) -> Value:
        pieces = [shell.word_value(word, spec.dest, self.file.path, self.file.index,
                                   self.origin, start=start,
                                   key_span=flag.span if flag else None)
                  for word, start in taken]
        converted = [self._convert(spec, option, piece) for piece in pieces]
        many = spec.nargs not in (None, "?") or spec.action in ("append", "extend")
        if many:
            value: Any = converted if all(item is not UNRESOLVED for item in converted) \
                else UNRESOLVED
            if spec.action in ("append", "extend"):
                previous = [a for a in resolved if a.dest == spec.dest]
                earlier = previous[-1].value.value if previous else None
                if isinstance(earlier, list) and value is not UNRESOLVED:
                    value = earlier + value
        else:
            value = converted[0]
        first, last = pieces[0], pieces[-1]
        span = first.span
        if len(pieces) > 1 and last.path == first.path and last.span.end >= first.span.start:
            span = self.file.index.span(first.span.start, last.span.end)
        raw = self.file.index.text[span.start:span.end]
        return Value(value, first.path, span, spec.dest, flag.span if flag else None, raw,
                     origin=self.origin, overrode=spec.default)

    def _convert(self, spec: ArgumentSpec, option: str, piece: Value) -> Any:
        if not piece.known:
            return UNRESOLVED
        text = str(piece.value)
        type_name = (spec.type_name or "").rsplit(".", 1)[-1]
        value: Any = text
        try:
            if type_name == "float":
                value = float(text)
            elif type_name == "int":
                value = int(text)
            elif type_name == "bool":
                value = bool(text)  # what argparse does: any non-empty string is True
            elif "bool" in type_name.lower():
                lowered = text.lower()
                if lowered in ("1", "true", "yes", "y", "t", "on"):
                    value = True
                elif lowered in ("0", "false", "no", "n", "f", "off"):
                    value = False
            elif type_name and type_name != "str":
                value = shell.to_number(text)
        except ValueError:
            self._problem("invalid-type", piece, option=option, text=text,
                                   type_name=type_name)
            return text
        if spec.choices and value not in spec.choices and text not in map(str, spec.choices):
            self._problem("invalid-choice", piece, option=option, text=text,
                                   candidates=tuple(spec.choices))
        return value

    def _positionals(self, words: list[Word], resolved: list[ResolvedArgument],
                     extras: list[Word], variadic: bool) -> None:
        remaining = list(words)
        for spec in self.positionals:
            if not remaining:
                break
            count = _value_count(spec)
            if count in ("*", "+", "..."):
                chunk, remaining = remaining, []
            elif count == "?" or count is None:
                chunk, remaining = remaining[:1], remaining[1:]
            else:
                chunk, remaining = remaining[:count], remaining[count:]
            if chunk:
                resolved.append(ResolvedArgument(
                    spec.dest, self._value(spec, spec.dest, None, [(w, 0) for w in chunk],
                                           resolved), None, spec))
        for word in remaining:
            if is_override(word.text) and not self.script.closed:
                extras.append(word)
                continue
            if is_override(word.text) and self.script.hydra is not None:
                extras.append(word)
                continue
            if self.script.closed and not variadic:
                value = shell.word_value(word, "", self.file.path, self.file.index, self.origin)
                self._problem("unexpected-argument", value, text=word.text,
                                       script=self.script.path)
            elif is_override(word.text):
                extras.append(word)

    def _unknown(self, flag: Value, option: str, ambiguous: list[str]) -> None:
        script = self.script
        if ambiguous:
            self._problem("ambiguous-option", flag, option=option,
                                   candidates=tuple(ambiguous))
            return
        if not script.closed:
            return
        known = sorted(flag_ for flag_ in self.by_flag if flag_.startswith("-"))
        self._problem("unknown-option", flag, option=option, script=script.path,
                               candidates=tuple(known))


def _takes_no_value(spec: ArgumentSpec) -> bool:
    return (spec.action or "") in _ZERO_ARG_ACTIONS or spec.nargs == 0


def _value_count(spec: ArgumentSpec) -> int | str | None:
    nargs = spec.nargs
    if nargs in (None, "?", "*", "+", "..."):
        return nargs
    if isinstance(nargs, int):
        return nargs
    return None
