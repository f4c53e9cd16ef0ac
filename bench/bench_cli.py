"""Whole-process timings of the trainlint CLI (not a test: numbers for README and docs).

Runs each command several times, interleaved so that machine noise hits all of them alike,
and prints the median wall time and its ratio to `python -c pass`.

    python bench/bench_cli.py [--runs 15] [--python PATH]

`--python` picks the interpreter of an environment where trainlint is installed; a plain
`pip install .` starts ~10 ms faster than an editable install (whose import hook runs first).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLEAN_CONFIG = """\
# ESPnet2 conformer recipe with nothing to report
encoder: conformer
optim: adam
optim_conf:
  lr: 0.002
scheduler: warmuplr
scheduler_conf:
  warmup_steps: 25000
max_epoch: 40
batch_bins: 6000000
grad_clip: 5.0
patience: 10
keep_nbest_models: 10
"""


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", default=sys.executable, help="interpreter to time")
    args = parser.parse_args()
    python = args.python
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "one_config.yaml"
        config.write_text(CLEAN_CONFIG)
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "trainlint check one_config.yaml": [python, "-m", "trainlint", "check", str(config)],
            "trainlint check fixtures/": [python, "-m", "trainlint", "check", str(ROOT / "fixtures")],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for name, command in commands.items():
            _time(command)  # warm the file cache
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(_time(command))
    baseline = statistics.median(samples["python -c pass"])
    files = sum(1 for p in (ROOT / "fixtures").rglob("*") if p.is_file())
    print(f"{args.runs} interleaved runs each; fixtures/ holds {files} files")
    print(f"{'command':<36} {'median':>9} {'x python -c pass':>17}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<36} {median * 1000:>7.0f}ms {median / baseline:>16.1f}x")


if __name__ == "__main__":
    main()
