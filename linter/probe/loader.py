"""`path/to/file.py:factory` or `package.module:factory` -> the factory, its file and `def` line.

This is the one place trainlint imports a user's file: only for `trainlint probe`, which the
user runs to execute their own model.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainlint.probe.errors import ProbeUsageError
from trainlint.probe.target import ProbeTarget
from trainlint.text import LineIndex, Span

DEFAULT_FACTORY = "probe_target"
SPEC_HINT = "give path/to/file.py:factory or package.module:factory"


@dataclass
class Factory:
    func: Callable[..., Any]
    name: str
    path: str  # the file diagnostics point at
    span: Span

    @property
    def takes_device(self) -> bool:
        try:
            parameters = inspect.signature(self.func).parameters
        except (TypeError, ValueError):
            return False
        return "device" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def split_spec(spec: str) -> tuple[str, str]:
    """('path/to/file.py', 'factory'); the factory name defaults to `probe_target`."""
    location, sep, name = spec.rpartition(":")
    if sep and location and all(part.isidentifier() for part in name.split(".")):
        return location, name
    return spec, DEFAULT_FACTORY


def _is_file_spec(location: str) -> bool:
    return location.endswith(".py") or os.sep in location or "/" in location or os.path.exists(location)


def load_factory(spec: str) -> Factory:
    location, name = split_spec(spec)
    module = _load_file(location) if _is_file_spec(location) else _load_module(location)
    func: Any = module
    for part in name.split("."):
        if not hasattr(func, part):
            defined = sorted(n for n, v in vars(module).items()
                             if inspect.isfunction(v) and v.__module__ == module.__name__)
            raise ProbeUsageError(f"{location} has no `{name}`",
                                  "it defines: " + ", ".join(defined) if defined else SPEC_HINT)
        func = getattr(func, part)
    if not callable(func):
        raise ProbeUsageError(f"`{name}` in {location} is a {type(func).__name__}, not a function",
                              "point at a function that returns a ProbeTarget")
    path = location if _is_file_spec(location) else (_source_file(func) or location)
    return Factory(func, name, path, _def_span(func, path))


def _load_file(location: str) -> Any:
    path = Path(location)
    if not path.is_file():
        raise ProbeUsageError(f"no such file: {location}", SPEC_HINT)
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    module_name = f"trainlint_probe_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise ProbeUsageError(f"cannot import {location}", "give a .py file")
    module = importlib.util.module_from_spec(spec)
    folder = str(resolved.parent)
    if folder not in sys.path:  # so the file can import its neighbours, as when run as a script
        sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        del sys.modules[module_name]
        raise _import_error(location, error) from error
    return module


def _load_module(location: str) -> Any:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as error:
        if error.name and (location == error.name or location.startswith(error.name + ".")):
            raise ProbeUsageError(f"no module named {location!r} (and no such file)",
                                  SPEC_HINT) from error
        raise _import_error(location, error) from error
    except BaseException as error:
        raise _import_error(location, error) from error


def _import_error(location: str, error: BaseException) -> ProbeUsageError:
    if isinstance(error, KeyboardInterrupt):
        raise error
    from trainlint.probe.measure import user_frame

    if isinstance(error, SystemExit):
        return ProbeUsageError(f"importing {location} called sys.exit({error.code})",
                               "keep the training run under `if __name__ == '__main__':`")
    if isinstance(error, SyntaxError):
        return ProbeUsageError(f"{error.filename}:{error.lineno}: invalid Python: {error.msg}")
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    where = user_frame(error)
    return ProbeUsageError(f"importing {location} raised {type(error).__name__}"
                           + (f": {message}" if message else "") + (f" (at {where})" if where else ""))


def _source_file(func: Any) -> str | None:
    try:
        return inspect.getsourcefile(func)
    except TypeError:
        return None


def _def_span(func: Any, path: str) -> Span:
    """The span of the factory's `def` line, or 1:1 when it cannot be found."""
    fallback = Span(0, 0, 1, 1, 1, 1)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        first_line = inspect.getsourcelines(func)[1]
    except (OSError, TypeError, UnicodeDecodeError):
        return fallback
    index = LineIndex(text)
    name = getattr(func, "__name__", "")
    pattern = re.compile(rf"\s*(async\s+)?def\s+{re.escape(name)}\b")
    for line in range(max(first_line, 1), len(index.line_starts) + 1):
        line_text = index.line_text(line)
        if pattern.match(line_text):
            column = len(line_text) - len(line_text.lstrip()) + 1
            start = index.offset(line, column)
            return index.span(start, index.offset(line, len(line_text) + 1))
    return fallback


def call_factory(factory: Factory, device: str) -> tuple[ProbeTarget, bool]:
    """The factory's ProbeTarget, and whether it was built on `device` (it takes `device`)."""
    from trainlint.probe.measure import user_frame

    takes_device = factory.takes_device
    try:
        target = factory.func(device=device) if takes_device else factory.func()
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        where = user_frame(error)
        raise ProbeUsageError(f"the factory `{factory.name}` raised {type(error).__name__}"
                              + (f": {message}" if message else "")
                              + (f" (at {where})" if where else "")) from error
    if not isinstance(target, ProbeTarget):
        raise ProbeUsageError(f"the factory `{factory.name}` returned {type(target).__name__}, "
                              "not a ProbeTarget",
                              "return trainlint.probe.ProbeTarget(model=..., batches=..., "
                              "task=..., loss=...)")
    return target, takes_device
