"""Running the real engine on real files for tests."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from trainlint.engine import RunOptions, check_paths
from trainlint.settings import load_settings, validate_table

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def settings_for(path: Path, table: dict | None = None):
    if table:
        settings = validate_table(table, path)
        settings.root = path.parent if path.is_file() else path
        return settings
    return load_settings(path)


def check(path: Path | str, table: dict | None = None, **options):
    path = Path(path)
    return check_paths([str(path)], settings_for(path, table), RunOptions(**options))


def codes(report) -> list[str]:
    return [d.code for d in report.diagnostics]


def run_cli(*args: str, cwd: Path | None = None, stdin: str | None = None, env: dict | None = None):
    """The real CLI as a subprocess: (exit code, stdout, stderr)."""
    import os

    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None) if not env or "GITHUB_ACTIONS" not in env else None
    process = subprocess.run([sys.executable, "-m", "trainlint", *args], cwd=cwd, input=stdin,
                             capture_output=True, text=True, env=full_env, timeout=120)
    return process.returncode, process.stdout, process.stderr


def run_json(*args: str, cwd: Path | None = None):
    code, out, err = run_cli(*args, "--output-format", "json", cwd=cwd)
    return code, json.loads(out), err


def render_text(report) -> str:
    from trainlint.report import render

    stream = io.StringIO()
    render(report, "text", stream, color=False)
    return stream.getvalue()


def by_key(document) -> dict:
    """A parsed document's entries by dotted key (the last of repeated keys)."""
    return {entry.key: entry for entry in document.entries}


def position(span) -> tuple[int, int, int, int]:
    return span.line, span.col, span.end_line, span.end_col


def read_by_pyyaml(folder: Path, *patterns: str) -> Path:
    """Make `folder` a project whose code reads the configs `patterns` name (paths relative to
    it, or globs in a named folder: `"configs/*.yaml"`) with `yaml.safe_load`: the reader that makes a
    YAML 1.1 finding (TL004) a warning or an error instead of an info (trainlint.consumers).
    Adds an empty `setup.cfg` as the project marker where the folder has none."""
    folder = Path(folder)
    markers = ("pyproject.toml", "setup.py", "setup.cfg", "trainlint.toml", ".git", "requirements.txt")
    if not any((folder / marker).exists() for marker in markers):
        (folder / "setup.cfg").write_text("")
    script = folder / "load_configs.py"
    script.write_text("import glob\n\nimport yaml\n\n" + "".join(
        f"for path in glob.glob({pattern!r}):\n    yaml.safe_load(open(path))\n"
        if any(char in pattern for char in "*?[") else f"yaml.safe_load(open({pattern!r}))\n"
        for pattern in patterns))
    return script
