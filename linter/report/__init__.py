"""Reporters: text (rich code frames in a terminal, plain otherwise), json, github, sarif."""

from __future__ import annotations

import importlib

FORMATS = ("text", "json")


def available_formats() -> tuple[str, ...]:
    from pathlib import Path

    names = [entry.stem for entry in Path(__file__).parent.glob("*.py")
             if not entry.name.startswith("_")]
    return tuple(sorted(names))


def render(report, output_format: str, stream, *, verbose: bool = False, color: bool | None = None,
           show_fixes: bool = True) -> None:
    module = importlib.import_module(f"trainlint.report.{output_format}")
    module.render(report, stream, verbose=verbose, color=color, show_fixes=show_fixes)
