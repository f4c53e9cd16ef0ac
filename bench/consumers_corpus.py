"""Who reads each config of real repositories: consumer links per basis, and the scan's cost.

Not a test: figures for docs/consumers.md. For every repository folder under CORPUS (a plain
checkout or an extracted snapshot), the files trainlint would read are listed with the
engine's own walker; the Python files are scanned with `ProjectConsumers.scan`; the launch
commands of its shell scripts and Markdown blocks are fed in with `link()` (what the engine
will do once the load path is wired); then every YAML / JSON / TOML config gets a consumer.

    python bench/consumers_corpus.py CORPUS [--repo NAME] [--show BASIS|all] [--sample N] [--seed S]
                                            [--repeat N] [--shared-parse]

`--show` prints each config's one-line description (for reading the links against the
code); `--sample N` prints N configs per basis and repository, spread by a fixed seed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

from trainlint.consumers import ProjectConsumers
from trainlint.discovery import discover
from trainlint.formats import shell
from trainlint.formats.base import ParseError
from trainlint.load import Loader, Unreadable
from trainlint.settings import load_settings
from trainlint.text import LineIndex

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
LAUNCHER_SUFFIXES = (".sh", ".bash", ".md")
BASES = ("consumer", "framework", "project", "unknown")
MAX_BYTES = 1 << 20  # the engine's default max-file-size


def read_text(path: str) -> str | None:
    """The engine's reading (trainlint.load): regular files only, its size limit, its decoding."""
    try:
        return Loader(MAX_BYTES).read(path).text
    except (Unreadable, ParseError):
        return None


def find(relative: str, bases: list[Path], known: set[str]) -> str | None:
    for base in bases:
        candidate = os.path.normpath(base / relative)
        if candidate in known:
            return candidate
    return None


def feed_launches(project: ProjectConsumers, root: Path, launchers: list[str], known: set[str]) -> int:
    """`link()` every config file a launch command passes to a script or framework CLI."""
    linked = 0
    for path in launchers:
        text = read_text(path)
        if text is None:
            continue
        try:
            launch_file = shell.parse(path, text, LineIndex(text))
        except Exception:  # noqa: BLE001 - a launcher the lexer rejects is skipped
            continue
        folder = Path(path).parent
        bases = [folder, *[p for p in folder.parents if str(p).startswith(str(root))]]
        for launch in launch_file.launches:
            script = None
            if launch.script is not None and launch.script.known:
                script = find(str(launch.script.value), bases, known)
            elif launch.module is not None and launch.module.known:
                files = project.files_of_module(str(launch.module.value))
                script = files[0] if len(files) == 1 else None
            for option in launch.launcher_options:
                if option.flag is None or option.value is None or not option.value.known:
                    continue
                value = str(option.value.value)
                config = find(value, bases, known) if value.endswith(CONFIG_SUFFIXES) else None
                if config is not None and launch.launcher == "accelerate" and \
                        option.flag.value in ("--config_file", "--config-file"):
                    linked += project.link(config, None, option.flag.value, loader="accelerate",
                                           site=(path, launch.line)) is not None
                elif config is not None and option.flag.value in ("--deepspeed_config", "--deepspeed"):
                    linked += project.link(config, None, option.flag.value, loader="deepspeed",
                                           site=(path, launch.line)) is not None
            if script is None:
                continue
            words = [w for w in launch.words if w.known]
            position = 0
            index = 0
            while index < len(words):
                word = words[index].text
                flag, value = None, None
                if word.startswith("-") and len(word) > 1:
                    if "=" in word:
                        flag, value = word.split("=", 1)
                    elif index + 1 < len(words) and not words[index + 1].text.startswith("-"):
                        flag, value = word, words[index + 1].text
                        index += 1
                else:
                    position += 1
                    value = word if position == 1 else None
                index += 1
                if value is None or not value.endswith(CONFIG_SUFFIXES + (".py",)):
                    continue
                config = find(value, bases, known)
                if config is None:
                    continue
                linked += project.link(config, script, flag, site=(path, launch.line)) is not None
    return linked


def measure(repo: Path, show: str | None, sample: int, seed: int = 13, repeat: int = 1,
            shared: bool = False) -> dict:
    settings = load_settings(repo)
    files, _ = discover([str(repo)], settings)
    files = [os.path.normpath(f) for f in files]
    python = [f for f in files if f.endswith(".py")]
    configs = [f for f in files if f.endswith(CONFIG_SUFFIXES) and os.path.basename(f) != "pyproject.toml"]
    launchers = [f for f in files if f.endswith(LAUNCHER_SUFFIXES)]
    parse = None
    parse_ms = 0.0
    if shared:  # the engine hands over the scripts it parsed: only the consumer work is timed
        from trainlint.formats.python.ast_index import ParsedScript

        parsed: dict[str, str] = {path: text for path in python
                                  if (text := read_text(path)) is not None}

        def parse(path: str, text: str):
            return ParsedScript.parse(path, text) if path not in trees else trees[path]

        trees = {}
        parse_start = time.perf_counter()
        for path, text in parsed.items():
            try:
                trees[path] = ParsedScript.parse(path, text)
            except (SyntaxError, ValueError, RecursionError):
                pass
        parse_ms = (time.perf_counter() - parse_start) * 1000
    best = None
    for _ in range(repeat):
        ProjectConsumers.clear_cache()
        if shared:
            trees = {path: ParsedScript(path, tree.text, tree.index, tree.tree) for path, tree in trees.items()}
        start = time.perf_counter()
        project = ProjectConsumers.scan(str(repo), python, read_text, config_files=configs, parse=parse)
        scanned = time.perf_counter()
        best = scanned - start if best is None else min(best, scanned - start)
    links = feed_launches(project, repo, launchers, set(configs) | set(python))
    fed = time.perf_counter()
    consumers = {path: project.for_config(path) for path in configs}
    done = time.perf_counter()
    scanned = best
    # Python configs (mmengine, LazyConfig, nanoGPT): files under a config folder that only
    # assign values; counted apart from the YAML / JSON / TOML figures
    python_configs = {path: project.for_config(path) for path in python
                      if "config" in os.path.relpath(path, repo).lower().rsplit("/", 1)[0]
                      and project._looks_like_config(path)}
    families_py = Counter(c.loader.family for c in python_configs.values() if c.known)
    counts = Counter(consumer.basis for consumer in consumers.values())
    families = Counter(consumer.loader.family for consumer in consumers.values() if consumer.known)
    if show or sample:
        rng = random.Random(seed)
        by_basis: dict[str, list[str]] = {}
        for path, consumer in sorted(consumers.items()):
            by_basis.setdefault(consumer.basis, []).append(path)
        for basis in BASES:
            paths = by_basis.get(basis, [])
            if sample:
                paths = sorted(rng.sample(paths, min(sample, len(paths))))
            elif show not in ("all", basis):
                continue
            for path in paths:
                print(f"  {basis:9} {os.path.relpath(path, repo)}: {project.describe(path)}")
    return {"repo": repo.name, "python": len(python), "parsed": project.parsed, "configs": len(configs),
            "sites": len(project.sites), "links": links, "counts": counts, "families": families,
            "scan_ms": scanned * 1000, "link_ms": (done - fed) * 1000,
            "files": len(files), "parse_ms": parse_ms,
            "py_configs": len(python_configs), "py_linked": sum(c.known for c in python_configs.values()),
            "py_families": families_py}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--repo", action="append", default=[])
    parser.add_argument("--show", choices=("all", *BASES))
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=1, help="scan N times, keep the fastest")
    parser.add_argument("--shared-parse", action="store_true",
                        help="time the scan on scripts parsed beforehand (as the engine will pass them)")
    args = parser.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    repos = sorted(p for p in args.corpus.iterdir() if p.is_dir())
    if args.repo:
        repos = [p for p in repos if p.name in args.repo]
    header = f"{'repository':42} {'py':>5} {'parsed':>6} {'cfg':>5} " + " ".join(
        f"{b[:9]:>9}" for b in BASES) + f" {'scan ms':>8} {'link ms':>8} {'files/s':>8}  loaders"
    print(header)
    total = Counter()
    for repo in repos:
        row = measure(repo, args.show, args.sample, args.seed, args.repeat, args.shared_parse)
        rate = row["files"] / max((row["scan_ms"] + row["link_ms"]) / 1000, 1e-9)
        families = ", ".join(f"{name} {count}" for name, count in row["families"].most_common())
        if args.shared_parse:  # what the engine pays anyway: ast.parse of every Python file
            families = f"[parse all: {row['parse_ms']:.0f} ms] " + families
            total["parse_ms"] += row["parse_ms"]
        if row["py_configs"]:
            families += f" | Python configs {row['py_linked']}/{row['py_configs']}: " + ", ".join(
                f"{name} {count}" for name, count in row["py_families"].most_common())
        print(f"{row['repo']:42} {row['python']:5} {row['parsed']:6} {row['configs']:5} "
              + " ".join(f"{row['counts'].get(b, 0):9}" for b in BASES)
              + f" {row['scan_ms']:8.0f} {row['link_ms']:8.0f} {rate:8.0f}  {families}")
        for key in ("python", "parsed", "configs", "files"):
            total[key] += row[key]
        for basis in BASES:
            total[basis] += row["counts"].get(basis, 0)
        total["ms"] += row["scan_ms"] + row["link_ms"]
    rate = total["files"] / max(total["ms"] / 1000, 1e-9)
    print(f"{'total':42} {total['python']:5} {total['parsed']:6} {total['configs']:5} "
          + " ".join(f"{total[b]:9}" for b in BASES) + f" {total['ms']:17.0f} {rate:8.0f}"
          + f"  ({total['files']} files trainlint reads)"
          + (f"; parsing every Python file took {total['parse_ms']:.0f} ms" if args.shared_parse else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
