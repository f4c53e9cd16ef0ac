#!/usr/bin/env python
"""Compare trainlint's TL401 with TorchFix's TOR102, and time trainlint, TorchFix and ruff.

TorchFix (PyPI torchfix==0.7.0) and ruff are installed into a temporary virtualenv made by
this script; they are never dependencies of trainlint. PyPI must be reachable when the
script runs (bench time only; the test suite never runs it).

    python bench/torchfix_compare.py                      # every .py under fixtures/, 15 rounds
    python bench/torchfix_compare.py --rounds 25 --write docs/torchfix-comparison.md
    python bench/torchfix_compare.py --venv /tmp/tf-venv  # reuse an existing venv

Findings: every TOR102 position (file, line, column) must also be a TL401 position; TL401
positions TorchFix does not report are listed (alias cases). Timing: whole processes on the
same files, every tool started fresh each time, interleaved rounds (tool A, B, C, A, B, C,
...) after warm-up runs, median and min-max of the wall times, and the median CPU time (user
and system, the workers included: steadier than wall time on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ROOT / "fixtures"
TORCHFIX = "torchfix==0.7.0"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TORCHFIX_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>TOR\d+)")
# a line on which the user silenced TL401 (trainlint's JSON then leaves the finding out)
SUPPRESSED = re.compile(r"#\s*(noqa|trainlint:\s*ignore)\b(?![:\[])|#\s*noqa:[^#]*TL401|"
                        r"#\s*trainlint:\s*ignore\[[^\]]*TL401")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def make_venv(where: Path) -> Path:
    if not (where / "bin" / "torchfix").exists():
        print(f"creating {where} and installing {TORCHFIX} and ruff ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
        subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", TORCHFIX, "ruff"], check=True)
    return where / "bin"


def tool_version(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    return (result.stdout or result.stderr).strip().splitlines()[-1] if (result.stdout or result.stderr) else "?"


def torchfix_findings(bin_dir: Path, files: list[str]) -> set[tuple[str, int, int]]:
    result = subprocess.run([str(bin_dir / "torchfix"), "--select", "TOR102", *files],
                            capture_output=True, text=True)
    found = set()
    for line in ANSI.sub("", result.stdout).splitlines():
        match = TORCHFIX_LINE.match(line)
        if match and match["code"] == "TOR102":
            found.add((os.path.normpath(match["path"]), int(match["line"]), int(match["col"])))
    return found


def trainlint_findings(files: list[str]) -> set[tuple[str, int, int]]:
    result = subprocess.run([sys.executable, "-m", "trainlint", "check", *files, "--select",
                             "TL401", "--output-format", "json"], capture_output=True, text=True)
    if result.returncode == 2:
        raise SystemExit(f"trainlint failed: {result.stderr}")
    return {(os.path.normpath(d["filename"]), d["location"]["row"], d["location"]["column"])
            for d in json.loads(result.stdout) if d["code"] == "TL401"}


# Installed tools run from compiled bytecode; a PYTHONDONTWRITEBYTECODE inherited from a
# sandbox would make trainlint (an editable install) recompile itself on every run.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run: user and system time of the process and of
    the workers it waited for (trainlint's forked children, ruff's and TorchFix's threads
    and processes). CPU time is the steadier figure on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(commands: dict[str, list[str]], rounds: int,
            warmup: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each command, per round."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(warmup):
        for command in commands.values():
            timed(command)
    for _ in range(rounds):
        for name, command in commands.items():
            wall, cpu = timed(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return walls, cpus


def report(files: list[str], bin_dir: Path, rounds: int, warmup: int) -> str:
    tor102 = torchfix_findings(bin_dir, files)
    tl401 = trainlint_findings(files)
    missing, suppressed = [], []
    for path, line, col in sorted(tor102 - tl401):
        text = Path(path).read_text(encoding="utf-8").splitlines()[line - 1]
        (suppressed if SUPPRESSED.search(text) else missing).append((path, line, col))
    extra = sorted(tl401 - tor102)

    trainlint = [sys.executable, "-m", "trainlint", "check", *files]
    commands = {
        "trainlint (all rules)": trainlint,
        "trainlint --select TL401": [*trainlint, "--select", "TL401"],
        "torchfix (default rules)": [str(bin_dir / "torchfix"), *files],
        "torchfix --select TOR102": [str(bin_dir / "torchfix"), "--select", "TOR102", *files],
        "ruff check (default rules)": [str(bin_dir / "ruff"), "check", "--no-cache", "--isolated",
                                       *files],
    }
    times, cpus = measure(commands, rounds, warmup)
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpus.items()}

    lines = []
    size = sum(Path(f).stat().st_size for f in files)
    line_count = sum(Path(f).read_text(encoding="utf-8").count("\n") for f in files)
    lines.append(f"Files: {len(files)} Python files ({line_count} lines, {size / 1024:.1f} KiB). "
                 f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
                 f"{platform.python_version()}. TorchFix {tool_version([str(bin_dir / 'torchfix'), '--version'])}, "
                 f"{tool_version([str(bin_dir / 'ruff'), '--version'])}.")
    lines.append("")
    lines.append("### Findings")
    lines.append("")
    lines.append("| | count |")
    lines.append("|---|---|")
    lines.append(f"| TorchFix TOR102 | {len(tor102)} |")
    lines.append(f"| trainlint TL401 | {len(tl401)} |")
    lines.append(f"| TOR102 on a line where TL401 is suppressed (`# noqa: TL401`) | "
                 f"{len(suppressed)} |")
    lines.append(f"| TOR102 without a TL401 at the same file:line:col | {len(missing)} |")
    lines.append(f"| TL401 that TorchFix misses | {len(extra)} |")
    lines.append("")
    for path, line, col in extra:
        text = Path(path).read_text(encoding="utf-8").splitlines()[line - 1].strip()
        lines.append(f"- TL401 only: `{Path(path).name}:{line}:{col}` `{text}`")
    for path, line, col in missing:
        text = Path(path).read_text(encoding="utf-8").splitlines()[line - 1].strip()
        lines.append(f"- TOR102 only (check by hand): `{Path(path).name}:{line}:{col}` `{text}`")
    lines.append("")
    lines.append(f"### Wall time (whole processes, median of {rounds} interleaved rounds after "
                 f"{warmup} warm-up rounds)")
    lines.append("")
    lines.append("| command | median ms | min-max ms | CPU ms (median) |")
    lines.append("|---|---|---|---|")
    for name, values in times.items():
        lines.append(f"| {name} | {1000 * medians[name]:.0f} | "
                     f"{1000 * min(values):.0f}-{1000 * max(values):.0f} | "
                     f"{1000 * cpu_medians[name]:.0f} |")
    lines.append("")
    ours = medians["trainlint (all rules)"]
    ruff = medians["ruff check (default rules)"]
    cpu_ratio = cpu_medians["trainlint (all rules)"] / cpu_medians["ruff check (default rules)"]
    lines.append(f"- TorchFix (default rules) / trainlint (all rules): "
                 f"**{medians['torchfix (default rules)'] / ours:.1f}x** (target: >= 30x)")
    lines.append(f"- TorchFix TOR102 / trainlint TL401: "
                 f"**{medians['torchfix --select TOR102'] / medians['trainlint --select TL401']:.1f}x**")
    lines.append(f"- trainlint (all rules) / ruff: **{ours / ruff:.1f}x** wall time (target: "
                 f"<= 10x); {cpu_ratio:.1f}x CPU time")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT_FILES)])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--venv", type=Path, help="reuse (or create) this virtualenv")
    parser.add_argument("--write", type=Path, help="replace the bench block of this Markdown file")
    args = parser.parse_args()

    files = []
    for given in args.paths:
        path = Path(given)
        files.extend(sorted(str(p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p)
                            for p in (path.rglob("*.py") if path.is_dir() else [path])))
    temporary = None
    if args.venv is None:
        temporary = Path(tempfile.mkdtemp(prefix="trainlint-bench-"))
        args.venv = temporary / "venv"
    try:
        bin_dir = make_venv(args.venv)
        text = report(files, bin_dir, args.rounds, args.warmup)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    print(text)
    if args.write:
        document = args.write.read_text(encoding="utf-8")
        before, rest = document.split(START, 1)
        _, after = rest.split(END, 1)
        args.write.write_text(f"{before}{START}\n{text}\n{END}{after}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
