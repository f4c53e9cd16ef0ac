"""The probe's calibration suite as a table (not a test: numbers for docs/probe.md).

Runs every setup of fixtures/probe/calibration.py (healthy setups and planted bugs) through
`trainlint.probe.probe` and prints, per setup, what the probe found against what it should
find, the loss drop of the overfit steps and the LR they ran at, the steps trained, and the
probe's wall time (median of `--runs`, after one warm-up run that pays torch's lazy set-up).

    python bench/probe_calibration.py [--device cpu|cuda|auto] [--runs 3] [--threads 1]
                                      [--format text|markdown] [--only NAME ...]
                                      [--write docs/probe.md]

`--write FILE` puts the markdown table between the `<!-- calibration:start -->` and
`<!-- calibration:end -->` lines of FILE (`calibration-cuda:start` / `calibration-cuda:end`
for a run on a GPU, after the device's type, so that each device keeps its own table).

`--device cuda` builds every model and batch on the GPU (it fails with a message where
there is none). Exit status 1 when a healthy setup was flagged or a planted bug missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "fixtures" / "probe" / "calibration.py"
COLUMNS = ("setup", "family", "optimizer", "schedule", "planted bug", "expected", "found",
           "verdict", "loss drop", "LR of the overfit steps", "steps", "wall s")
VERDICT = COLUMNS.index("verdict")


def load_suite():
    spec = importlib.util.spec_from_file_location("probe_calibration_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_setup(setup, device: str, runs: int):
    from trainlint.probe import probe

    seconds, result = [], None
    for _ in range(runs):
        target = setup.build(device)
        start = time.perf_counter()
        result = probe(target, report=False)
        seconds.append(time.perf_counter() - start)
    return result, statistics.median(seconds)


def row(setup, result, seconds: float) -> tuple[str, ...]:
    m = result.measurements
    found = set(result.codes)
    if setup.healthy:
        ok = not found
        verdict = "clean" if ok else "FLAGGED"
    else:
        ok = set(setup.catches) <= found
        verdict = "caught" if ok else "MISSED"
    drop = f"{m.loss_drop:.0%}" if m.loss_drop is not None else "n/a"
    lr = f"{m.overfit_lr:.3g}" if m.overfit_lr is not None else "n/a"
    return (setup.name, setup.family, setup.optimizer, setup.schedule, setup.bug or "-",
            ", ".join(setup.catches) or "none", ", ".join(result.codes) or "none", verdict,
            drop, lr, str(m.steps_trained), f"{seconds:.2f}")


def render(rows: list[tuple[str, ...]], fmt: str) -> str:
    if fmt == "markdown":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(cells) + " |" for cells in rows]
        return "\n".join(lines)
    table = [COLUMNS, *rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()
                     for cells in table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--runs", type=int, default=1, help="probe runs per setup (median)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: tiny models gain nothing from more)")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument("--only", nargs="*", help="setup names to run")
    parser.add_argument("--write", type=Path, help="put the markdown table into this file")
    args = parser.parse_args()

    import torch

    from trainlint.probe import ProbeUsageError
    from trainlint.probe.measure import resolve_device

    torch.set_num_threads(args.threads)
    try:
        device = str(resolve_device(args.device))
    except ProbeUsageError as error:
        print(f"probe_calibration: {error}", file=sys.stderr)
        return 2
    suite = load_suite()
    setups = [s for s in suite.SETUPS if not args.only or s.name in args.only]
    run_setup(setups[0], device, 1)  # warm-up: torch's lazy initialisation, CUDA context
    rows, started = [], time.perf_counter()
    for setup in setups:
        result, seconds = run_setup(setup, device, args.runs)
        rows.append(row(setup, result, seconds))
        print(f"{setup.name}: {rows[-1][VERDICT]} in {seconds:.2f} s", file=sys.stderr)
    healthy = [r for r, s in zip(rows, setups) if s.healthy]
    planted = [r for r, s in zip(rows, setups) if not s.healthy]
    flagged = sum(r[VERDICT] == "FLAGGED" for r in healthy)
    missed = sum(r[VERDICT] == "MISSED" for r in planted)
    title = (f"probe calibration on {device} (torch {torch.__version__}, {args.threads} thread"
             f"{'s' * (args.threads != 1)}, median of {args.runs}):")
    summary = (f"{len(healthy) - flagged} of {len(healthy)} healthy setups clean, "
               f"{len(planted) - missed} of {len(planted)} planted bugs caught; "
               f"{time.perf_counter() - started:.1f} s in all")
    print(title)
    print(render(rows, args.format))
    print(f"\n{summary}")
    if args.write:
        marker = "calibration" if device == "cpu" else f"calibration-{device.split(':')[0]}"
        write_between_markers(args.write, f"{render(rows, 'markdown')}\n\n{title[:-1]}: {summary}.",
                              marker)
    return 1 if flagged or missed else 0


def write_between_markers(path: Path, text: str, marker: str = "calibration") -> None:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    content = path.read_text(encoding="utf-8")
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
