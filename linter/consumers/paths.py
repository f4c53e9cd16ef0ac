"""Path expressions of Python code, read from the `ast`, and matched against a project's files.

`open(os.path.join(os.path.dirname(__file__), "configs", f"{name}.yaml"))` becomes a PathRef:
an anchor (the calling file's folder, the working directory, or an absolute root) and a
sequence of literal text and holes. A hole is what the code fills in at run time: a function
parameter (filled at the helper's call sites), an argparse dest (filled by a launcher flag or
the argument's default), `sys.argv[i]`, a named variable, or a wildcard (`*` of a glob, an
unknown f-string part).
"""

from __future__ import annotations

import posixpath
import re

from msgspec import Struct

__all__ = ["Hole", "PathRef"]

# Names (argparse dests, parameters, variables) that hold the path of a config file.
CONFIG_NAME = re.compile(
    r"(^|_)(config|configs|cfg|cfgs|conf|yaml|yml|hparams|hyperparams|hparam|recipe|"
    r"deepspeed|ds|settings|opts?|params|spec|experiment|exp)(_|$)|^c$|config|cfg", re.I)


class Hole(Struct, frozen=True):
    """A part of a path that the code fills in at run time."""

    kind: str  # param | arg | argv | name | wild
    name: str = ""  # parameter / dest / variable name, argv index
    config: bool = False  # the option's help or default says it is a config file

    @property
    def config_named(self) -> bool:
        """Whether the hole holds a config file: `sys.argv[i]`, a name that says so
        (`args.config`, `hparams_file`), or an option whose help / default says so."""
        if self.kind == "argv" or self.config:
            return True
        return self.kind in ("param", "arg", "name") and bool(CONFIG_NAME.search(self.name))


class PathRef(Struct, frozen=True):
    """A path as the code builds it: an anchor and literal/hole parts.

    anchor: "file" (relative to the folder of the file holding the code), "cwd" (relative to
    the working directory the run starts in), "abs" (an absolute path)."""

    anchor: str
    parts: tuple[str | Hole, ...] = ()

    # -- building ------------------------------------------------------------------------
    def join(self, other: PathRef) -> PathRef:
        """`os.path.join(self, other)` / `self / other`."""
        if other.anchor in ("abs", "file"):
            return other
        if not self.parts:
            return PathRef(self.anchor, other.parts)
        return PathRef(self.anchor, _merge((*self.parts, "/", *other.parts)))

    def concat(self, other: PathRef) -> PathRef:
        """`self + other` (string concatenation)."""
        return PathRef(self.anchor, _merge((*self.parts, *other.parts)))

    def parent(self) -> PathRef:
        """`os.path.dirname(self)` / `self.parent`."""
        if self.parts and isinstance(self.parts[-1], str):
            text = self.parts[-1]
            head = text.rstrip("/").rpartition("/")[0]
            if "/" in text.rstrip("/"):
                return PathRef(self.anchor, (*self.parts[:-1], head) if head else self.parts[:-1])
        if self.anchor == "file" and not self.parts:
            return PathRef("file", ("..",))
        return PathRef(self.anchor, _merge((*self.parts, "/..")))

    # -- reading -------------------------------------------------------------------------
    @property
    def holes(self) -> list[Hole]:
        return [part for part in self.parts if isinstance(part, Hole)]

    @property
    def literal(self) -> str | None:
        """The whole path when it has no hole."""
        if any(isinstance(part, Hole) for part in self.parts):
            return None
        return "".join(self.parts)  # type: ignore[arg-type]

    @property
    def suffix(self) -> str | None:
        """The file suffix the path ends with, when its end is literal (`.yaml`)."""
        if not self.parts or not isinstance(self.parts[-1], str):
            return None
        name = self.parts[-1].rpartition("/")[2]
        dot = name.rfind(".")
        return name[dot:].lower() if dot > 0 or (dot == 0 and len(self.parts) > 1) else None

    @property
    def open_hole(self) -> Hole | None:
        """The hole when the path is one run-time value (`args.config`, `args.name + '.yaml'`,
        `sys.argv[1]`): no literal folder names where the file is."""
        holes = self.holes
        if len(holes) != 1:
            return None
        if any(isinstance(part, str) and "/" in part for part in self.parts):
            return None
        return holes[0]

    def substitute(self, values: dict[str, PathRef]) -> PathRef:
        """The path with `param` holes replaced by the caller's arguments."""
        if not any(isinstance(p, Hole) and p.kind == "param" for p in self.parts):
            return self
        anchor = self.anchor
        parts: list[str | Hole] = []
        for index, part in enumerate(self.parts):
            if isinstance(part, Hole) and part.kind == "param":
                value = values.get(part.name)
                if value is None:
                    parts.append(Hole("wild"))
                    continue
                if index == 0:
                    anchor = value.anchor
                parts.extend(value.parts)
            else:
                parts.append(part)
        return PathRef(anchor, _merge(tuple(parts)))

    def regex(self) -> re.Pattern | None:
        """A pattern over '/'-separated paths for a path with holes (None without literal
        text to anchor it)."""
        pieces = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(re.escape(part))
            elif part.kind == "wild" and part.name == "*":  # a glob's `*`
                pieces.append("[^/]*")
            elif part.kind == "wild" and part.name == "**":
                pieces.append("(?:.*/)?")
            else:  # a run-time value: may hold a sub-folder (`f"configs/{name}.yaml"`)
                pieces.append(".+")
        return re.compile("".join(pieces))

    def describe(self) -> str:
        text = "".join(part if isinstance(part, str) else _hole_text(part) for part in self.parts)
        if self.anchor != "file":
            return text
        text = text.replace("<self>", "").lstrip("/")
        return f"<here>/{text}" if text else "<here>"


def _hole_text(hole: Hole) -> str:
    if hole.kind == "wild":
        return hole.name or "*"
    if hole.kind == "argv":
        return f"{{sys.argv[{hole.name}]}}"
    if hole.kind == "arg":
        return f"{{args.{hole.name}}}"
    return f"{{{hole.name}}}"


def _merge(parts: tuple[str | Hole, ...]) -> tuple[str | Hole, ...]:
    """Adjacent literal parts joined; '//' collapsed."""
    merged: list[str | Hole] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + part
                continue
        merged.append(part)
    return tuple(re.sub(r"/{2,}", "/", p) if isinstance(p, str) else p for p in merged)


def normalize(path: str) -> str:
    """A '/'-separated path with `.` and `..` resolved (textually)."""
    return posixpath.normpath(path.replace("\\", "/"))
