"""Real-code precision bench: trainlint on pinned public training repositories, judged by people.

Not a test (it needs the corpus, outside this repository): numbers for issue notes and docs.
See bench/realworld/README.md.

    python bench/realworld.py extract [--mirror /work/.mirror] [--corpus /work/corpus]
    python bench/realworld.py [run] [--trainlint CMD] [--repos a/b,c/d] [--json] [-- --preview]
    python bench/realworld.py judge [--out DIR] [--json]      # re-match saved results, no rerun
    python bench/realworld.py map [--out DIR] > SUMMARY.md    # triage map of saved results

`run` checks each repository as a user would, `cd <root> && trainlint check --output-format
json .`, saves trainlint's JSON per repository under --out, matches warning and error findings
to bench/realworld/verdicts.tsv and prints precision per rule, new unjudged findings, verdicts
that no longer match (findings lost) and time. Python standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "realworld"
REPOS_TSV = BENCH / "REPOS.tsv"
VERDICTS_TSV = BENCH / "verdicts.tsv"
DEFAULT_OUT = BENCH / "out"
DEFAULT_MIRROR = Path("/work/.mirror")
DEFAULT_CORPUS = Path("/work/corpus")
VERDICTS = ("TRUE", "FALSE", "DEBATABLE")
JUDGED_SEVERITIES = ("warning", "error")
PIN_FILE = "trainlint-bench-commit"  # inside the corpus folder's .git: the commit it holds

# What a folder walk of trainlint reads, as README states it ("Using it"): these suffixes,
# minus VCS, virtualenv, node_modules, build and cache folders, `.gitignore`d paths, the
# non-training files named there, and files over max-file-size (1 MiB by default).
READ_SUFFIXES = {".yaml", ".yml", ".json", ".toml", ".py", ".sh", ".bash", ".ps1", ".md"}
SKIPPED_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox",
                ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "build",
                "dist", "site-packages", ".eggs", ".ipynb_checkpoints", "wandb", "mlruns",
                ".devcontainer", ".vscode", ".github"}
NOT_READ_NAMES = {"pyproject.toml", "package.json", "package-lock.json", "tsconfig.json",
                  ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "trainlint.toml",
                  ".devcontainer.json", "devcontainer.json"}
MAX_FILE_SIZE = 1024 * 1024


# ---------------------------------------------------------------- the pinned corpus

@dataclass(frozen=True)
class Repo:
    repo: str
    commit: str
    family: str
    note: str = ""

    @property
    def folder(self) -> str:
        return self.repo.replace("/", "__")


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header; blank lines and `#` lines are skipped."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return [{k: (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)]


def read_repos(path: Path = REPOS_TSV) -> list[Repo]:
    return [Repo(row["repo"], row["commit"], row.get("family", ""), row.get("note", ""))
            for row in read_tsv(path)]


def snapshot_git_dir(mirror: Path, repo: str) -> Path:
    """The git directory of a fetched snapshot: a bare `repo/` or a clone's `repo/.git`."""
    base = mirror / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


@dataclass
class ExtractStats:
    repo: str
    files: int = 0
    bytes: int = 0
    missing_blobs: int = 0
    missing_read: list[str] = field(default_factory=list)  # missing files trainlint would read
    submodules: int = 0
    links_skipped: int = 0
    seconds: float = 0.0
    skipped: str = ""


def _tree_entries(git_dir: Path, commit: str) -> list[tuple[str, str, str, str]]:
    listing = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", "--full-tree",
                              commit], capture_output=True, check=True).stdout
    entries = []
    for record in listing.split(b"\0"):
        if record:
            meta, _, name = record.partition(b"\t")
            mode, kind, sha = meta.decode().split()
            entries.append((mode, kind, sha, os.fsdecode(name)))
    return entries


def _read_blobs(git_dir: Path, shas: list[str]):
    """Yield (sha, bytes or None when the snapshot lacks the blob) via `git cat-file --batch`."""
    process = subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def feed() -> None:
        try:
            for sha in shas:
                process.stdin.write(sha.encode() + b"\n")
        finally:
            process.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    for sha in shas:
        header = process.stdout.readline().split()
        if len(header) == 2 and header[1] == b"missing":
            yield sha, None
            continue
        size = int(header[2])
        data = process.stdout.read(size)
        process.stdout.read(1)  # the newline after each object
        yield sha, data
    writer.join()
    process.wait()


def extract(repo: Repo, mirror: Path, corpus: Path, force: bool = False) -> ExtractStats:
    """Materialise the pinned commit as a plain checkout at corpus/<owner>__<name>, with an
    empty `.git` (as a user's clone has one: trainlint's walk and project root stop there)."""
    stats = ExtractStats(repo.repo)
    start = time.perf_counter()
    git_dir = snapshot_git_dir(mirror, repo.repo)
    dest = corpus / repo.folder
    pin = dest / ".git" / PIN_FILE
    if not git_dir.is_dir():
        stats.skipped = f"no snapshot at {git_dir}"
        return stats
    if not force and pin.is_file() and pin.read_text().strip() == repo.commit:
        stats.skipped = "already extracted at this commit"
        return stats
    if dest.exists():
        if not pin.is_file():
            stats.skipped = f"{dest} exists and was not made by this bench; remove it first"
            return stats
        shutil.rmtree(dest)
    try:
        entries = _tree_entries(git_dir, repo.commit)
    except subprocess.CalledProcessError as exc:
        stats.skipped = f"cannot list {repo.commit}: {exc.stderr.decode(errors='replace').strip()}"
        return stats
    dest.mkdir(parents=True)
    blobs = [(mode, sha, name) for mode, kind, sha, name in entries if kind == "blob"]
    stats.submodules = sum(1 for _, kind, _, _ in entries if kind == "commit")
    by_sha: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for mode, sha, name in blobs:
        by_sha[sha].append((mode, name))
    for sha, data in _read_blobs(git_dir, list(by_sha)):
        for mode, name in by_sha[sha]:
            if data is None:
                stats.missing_blobs += 1
                if Path(name).suffix.lower() in READ_SUFFIXES:
                    stats.missing_read.append(name)
            elif _write_entry(dest, mode, name, data):
                stats.files += 1
                stats.bytes += len(data)
            else:
                stats.links_skipped += 1
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    pin.write_text(repo.commit + "\n")
    stats.seconds = time.perf_counter() - start
    return stats


def _write_entry(dest: Path, mode: str, name: str, data: bytes) -> bool:
    """Write one tree entry; a symlink is made only when it stays inside the checkout."""
    target = dest / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "120000":
        link = os.fsdecode(data)
        resolved = (target.parent / link).resolve()
        if os.path.isabs(link) or not resolved.is_relative_to(dest.resolve()):
            return False
        target.symlink_to(link)
        return True
    target.write_bytes(data)
    if mode == "100755":
        target.chmod(0o755)
    return True


# ---------------------------------------------------------------- running trainlint

@dataclass(frozen=True)
class Finding:
    repo: str
    path: str
    line: int
    col: int
    code: str
    severity: str
    message: str


@dataclass
class RepoRun:
    repo: str
    commit: str = ""
    files: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # user + system time of trainlint and the children it forked
    exit_code: int | None = None
    timed_out: bool = False
    reported: bool = False  # trainlint printed its JSON (also after an internal error, exit 2)
    error: str = ""
    stderr_tail: str = ""


def findings_from_json(repo: str, payload: list[dict]) -> list[Finding]:
    return [Finding(repo, _clean_path(item["filename"]), item["location"]["row"],
                    item["location"]["column"], item["code"], item["severity"], item["message"])
            for item in payload]


def _clean_path(path: str) -> str:
    path = path.replace(os.sep, "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def count_read_files(root: Path) -> int:
    """Files a `trainlint check .` at root reads, by README's rules (see READ_SUFFIXES). The
    files not `.gitignore`d are asked of git itself (`ls-files --others --exclude-standard` in
    the checkout's empty repository), not re-implemented."""
    venvs: dict[Path, bool] = {}

    def in_skipped_folder(relative: str) -> bool:
        folder = root
        for part in relative.split("/")[:-1]:
            folder = folder / part
            if part in SKIPPED_DIRS or part.endswith(".egg-info"):
                return True
            if folder not in venvs:
                venvs[folder] = (folder / "pyvenv.cfg").exists()
            if venvs[folder]:
                return True
        return False

    count = 0
    for relative in _files_not_ignored(root):
        name = relative.rsplit("/", 1)[-1]
        path = root / relative
        if (Path(name).suffix.lower() in READ_SUFFIXES and name not in NOT_READ_NAMES
                and not in_skipped_folder(relative) and path.is_file()
                and path.stat().st_size <= MAX_FILE_SIZE):
            count += 1
    return count


def _files_not_ignored(root: Path) -> list[str]:
    if not (root / ".git").exists():
        return [(Path(folder) / name).relative_to(root).as_posix()
                for folder, _, names in os.walk(root) for name in names]
    listing = subprocess.run(["git", "-C", str(root), "ls-files", "--others", "--exclude-standard",
                              "-z"], capture_output=True, check=True).stdout
    return [os.fsdecode(name) for name in listing.split(b"\0") if name]


def run_repo(repo: Repo, root: Path, trainlint: list[str], extra: list[str], timeout: float,
             out: Path) -> tuple[RepoRun, list[Finding]]:
    run = RepoRun(repo.repo, repo.commit)
    pin = root / ".git" / PIN_FILE
    if not root.is_dir():
        run.error = f"not extracted: {root} (run `extract` first)"
        return run, []
    if not pin.is_file() or pin.read_text().strip() != repo.commit:
        run.error = f"{root} does not hold the pinned commit {repo.commit[:12]}; rerun `extract`"
        return run, []
    run.files = count_read_files(root)
    command = [*trainlint, "check", "--output-format", "json", *extra, "."]
    start = time.perf_counter()
    before = _children_cpu()
    try:
        done = subprocess.run(command, cwd=root, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        run.seconds = time.perf_counter() - start
        run.timed_out = True
        run.error = f"timed out after {timeout:.0f} s"
        run.stderr_tail = _tail(exc.stderr)
        return run, []
    run.seconds = time.perf_counter() - start
    run.cpu_seconds = _children_cpu() - before
    run.exit_code = done.returncode
    run.stderr_tail = _tail(done.stderr)
    (out / f"{repo.folder}.json").write_bytes(done.stdout)
    try:
        payload = json.loads(done.stdout)
    except json.JSONDecodeError:
        run.error = f"trainlint exit {done.returncode}, output is not JSON"
        return run, []
    run.reported = True
    if done.returncode not in (0, 1):
        run.error = f"trainlint exit {done.returncode}"
    return run, findings_from_json(repo.repo, payload)


def _children_cpu() -> float:
    """CPU seconds (user + system) of the waited-for child processes so far: steadier than
    wall time on a machine shared with other work."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tail(data: bytes | None, limit: int = 2000) -> str:
    text = (data or b"").decode("utf-8", errors="replace").strip()
    return text[-limit:]


# ---------------------------------------------------------------- verdicts and matching

@dataclass(frozen=True)
class Verdict:
    repo: str
    path: str
    line: int
    code: str
    verdict: str
    reason: str
    col: int | None = None

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.repo, self.path, self.line, self.code)


def read_verdicts(path: Path = VERDICTS_TSV) -> list[Verdict]:
    if not path.is_file():
        return []
    verdicts = []
    for number, row in enumerate(read_tsv(path), start=2):
        verdict = row["verdict"].upper()
        if verdict not in VERDICTS:
            raise ValueError(f"{path}: row {number}: verdict `{row['verdict']}` is not one of "
                             f"{', '.join(VERDICTS)}")
        col = row.get("col") or ""
        verdicts.append(Verdict(row["repo"], _clean_path(row["path"]), int(row["line"]),
                                row["code"], verdict, row.get("reason", ""),
                                int(col) if col else None))
    return verdicts


def finding_key(finding: Finding) -> tuple[str, str, int, str]:
    return (finding.repo, finding.path, finding.line, finding.code)


@dataclass
class Matching:
    judged: list[tuple[Finding, Verdict]] = field(default_factory=list)
    unjudged: list[Finding] = field(default_factory=list)
    lost: list[Verdict] = field(default_factory=list)


def match(findings: list[Finding], verdicts: list[Verdict]) -> Matching:
    """Pair findings with verdicts by (repo, path, line, code); the third-party code is pinned,
    so that key is stable across trainlint versions. Within one key: a verdict with `col`
    takes the finding at that column; verdicts without `col` take the findings left in column
    order, the last of them covering all the rest; a `col` verdict whose column moved takes a
    remaining finding in column order. A verdict left over is a finding lost."""
    result = Matching()
    findings_by_key: dict[tuple, list[Finding]] = defaultdict(list)
    for finding in sorted(findings, key=lambda f: (finding_key(f), f.col)):
        findings_by_key[finding_key(finding)].append(finding)
    verdicts_by_key: dict[tuple, list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        verdicts_by_key[verdict.key].append(verdict)
    for key in findings_by_key.keys() | verdicts_by_key.keys():
        left = list(findings_by_key.get(key, []))
        with_col = [v for v in verdicts_by_key.get(key, []) if v.col is not None]
        without_col = [v for v in verdicts_by_key.get(key, []) if v.col is None]
        moved = []
        for verdict in with_col:
            same = next((f for f in left if f.col == verdict.col), None)
            if same is None:
                moved.append(verdict)
            else:
                left.remove(same)
                result.judged.append((same, verdict))
        for index, verdict in enumerate(without_col):
            if not left:
                result.lost.append(verdict)
            elif index == len(without_col) - 1:  # the last one covers the rest of the key
                result.judged.extend((f, verdict) for f in left)
                left = []
            else:
                result.judged.append((left.pop(0), verdict))
        for verdict in moved:
            if left:
                result.judged.append((left.pop(0), verdict))
            else:
                result.lost.append(verdict)
        result.unjudged.extend(left)
    result.judged.sort(key=lambda pair: (finding_key(pair[0]), pair[0].col))
    result.unjudged.sort(key=lambda f: (finding_key(f), f.col))
    result.lost.sort(key=lambda v: (v.key, v.col or 0))
    return result


def precision(true: int, false: int) -> float | None:
    """TRUE / (TRUE + FALSE); DEBATABLE is left out. None when nothing is judged."""
    return true / (true + false) if true + false else None


def tally(judged: list[tuple[Finding, Verdict]], findings: list[Finding], group) -> dict[str, dict]:
    """Per group (e.g. code or repo): findings, judged, TRUE, FALSE, DEBATABLE, precision."""
    table: dict[str, dict] = defaultdict(lambda: {"findings": 0, "judged": 0, **dict.fromkeys(VERDICTS, 0)})
    for finding in findings:
        table[group(finding)]["findings"] += 1
    for finding, verdict in judged:
        row = table[group(finding)]
        row["judged"] += 1
        row[verdict.verdict] += 1
    for row in table.values():
        row["precision"] = precision(row["TRUE"], row["FALSE"])
    return dict(sorted(table.items()))


def summarize(runs: list[RepoRun], findings: list[Finding], verdicts: list[Verdict],
              extra: list[str]) -> dict:
    """Everything the bench prints, as one JSON-ready dict."""
    ran = {run.repo for run in runs if run.reported}  # verdicts elsewhere are not "lost"
    judged_findings = [f for f in findings if f.severity in JUDGED_SEVERITIES]
    info = [f for f in findings if f.severity not in JUDGED_SEVERITIES]
    scoped = [v for v in verdicts if v.repo in ran]
    main = match(judged_findings, scoped)
    # a verdict whose finding is now info is not lost from the output, but it left the judged set
    demoted = match(info, main.lost)
    counts = Counter(v.verdict for _, v in main.judged)
    files = sum(run.files for run in runs)
    seconds = sum(run.seconds for run in runs)
    cpu = sum(run.cpu_seconds for run in runs)
    return {
        "extra_args": extra,
        "overall": {"findings": len(judged_findings), "judged": len(main.judged),
                    **{v: counts[v] for v in VERDICTS},
                    "precision": precision(counts["TRUE"], counts["FALSE"]),
                    "info_findings": len(info)},
        "per_rule": tally(main.judged, judged_findings, lambda f: f.code),
        "per_repo": tally(main.judged, judged_findings, lambda f: f.repo),
        "info_per_rule": dict(sorted(Counter(f.code for f in info).items())),
        "unjudged": [asdict(f) for f in main.unjudged],
        "lost": [asdict(v) for v in demoted.lost],
        "now_info": [{"verdict": asdict(v), "finding": asdict(f)} for f, v in demoted.judged],
        "runs": [asdict(run) for run in runs],
        "time": {"files": files, "seconds": round(seconds, 3),
                 "files_per_second": round(files / seconds, 1) if seconds else None,
                 "cpu_seconds": round(cpu, 3),
                 # what 2 idle cores would give if the CPU time spread over both
                 "files_per_second_2_cores_cpu": round(2 * files / cpu, 1) if cpu else None},
    }


# ---------------------------------------------------------------- output

UNJUDGED_COLUMNS = ("repo", "path", "line", "col", "code", "severity", "message")


def write_unjudged(path: Path, unjudged: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("\t".join(UNJUDGED_COLUMNS) + "\n")
        for item in unjudged:
            handle.write("\t".join(_cell(item[column]) for column in UNJUDGED_COLUMNS) + "\n")


def _cell(value) -> str:
    return " ".join(str(value).split())  # one line, no tabs


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _table(title: str, rows: dict[str, dict], name: str) -> list[str]:
    width = max([len(name), *map(len, rows)])
    head = f"{name:<{width}}  findings  judged   TRUE  FALSE  DEBAT  precision"
    lines = [title, head, "-" * len(head)]
    for key, row in rows.items():
        lines.append(f"{key:<{width}}  {row['findings']:>8}  {row['judged']:>6}  {row['TRUE']:>5}  "
                     f"{row['FALSE']:>5}  {row['DEBATABLE']:>5}  {_pct(row['precision']):>9}")
    return lines


def render_text(summary: dict, unjudged_path: Path | None, limit: int) -> str:
    overall = summary["overall"]
    lines = []
    if summary["extra_args"]:
        lines.append(f"trainlint extra arguments: {' '.join(summary['extra_args'])} "
                     "(verdicts of codes they hide show as lost)")
    lines += _table("Warning and error findings per rule", summary["per_rule"], "code")
    lines.append(f"{'overall':<8}  {overall['findings']:>8}  {overall['judged']:>6}  "
                 f"{overall['TRUE']:>5}  {overall['FALSE']:>5}  {overall['DEBATABLE']:>5}  "
                 f"{_pct(overall['precision']):>9}")
    lines.append("")
    info = summary["info_per_rule"]
    lines.append(f"Info findings (not judged): {overall['info_findings']}"
                 + (": " + ", ".join(f"{code} {n}" for code, n in info.items()) if info else ""))
    lines.append("")
    lines += _table("Per repository", summary["per_repo"], "repo")
    lines.append("")
    lost = summary["lost"]
    lost_true = [v for v in lost if v["verdict"] == "TRUE"]
    lines.append(f"Findings lost (verdicts that match no finding): {len(lost)}, "
                 f"of them judged TRUE: {len(lost_true)}")
    for verdict in sorted(lost, key=lambda v: v["verdict"] != "TRUE"):
        mark = "!! TRUE LOST" if verdict["verdict"] == "TRUE" else f"   {verdict['verdict']}"
        lines.append(f"  {mark}  {verdict['repo']} {verdict['path']}:{verdict['line']} "
                     f"{verdict['code']}  ({verdict['reason']})")
    for pair in summary["now_info"]:
        verdict = pair["verdict"]
        lines.append(f"  now info ({verdict['verdict']}): {verdict['repo']} {verdict['path']}:"
                     f"{verdict['line']} {verdict['code']}")
    lines.append("")
    unjudged = summary["unjudged"]
    lines.append(f"Unjudged findings: {len(unjudged)}"
                 + (f" (all written to {unjudged_path})" if unjudged_path and unjudged else ""))
    for item in unjudged[:limit]:
        lines.append(f"  {item['repo']} {item['path']}:{item['line']}:{item['col']} {item['code']} "
                     f"[{item['severity']}] {_cell(item['message'])[:160]}")
    if 0 < limit < len(unjudged):
        lines.append(f"  ... {len(unjudged) - limit} more")
    lines.append("")
    lines.append("Time per repository")
    for run in summary["runs"]:
        status = run["error"] or f"exit {run['exit_code']}"
        if run["error"] and run["stderr_tail"]:
            status += f": {run['stderr_tail'].splitlines()[-1][:200]}"
        rate = f"{run['files'] / run['seconds']:.0f} files/s" if run["seconds"] else "-"
        lines.append(f"  {run['repo']:<40} {run['files']:>6} files  {run['seconds']:>7.2f} s  "
                     f"{rate:>12}  {status}")
    total = summary["time"]
    lines.append(f"Total: {total['files']} files in {total['seconds']:.1f} s "
                 f"({total['files_per_second']} files/s; trainlint wall time, files counted by "
                 "README's suffix and folder rules, .gitignore via git ls-files)")
    if total.get("cpu_seconds"):
        lines.append(f"CPU: {total['cpu_seconds']:.1f} s (user + system, forked children "
                     f"included): {total['files_per_second_2_cores_cpu']} files/s on 2 idle "
                     "cores")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- triage map

_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")
_QUOTED = re.compile(r"`[^`]*`|'[^']*'")


def message_pattern(message: str) -> str:
    """A finding's message with its numbers as N: keys and names stay, so `unknown key `type`;
    did you mean `dtype`?` is one pattern wherever it occurs."""
    return _NUMBER.sub("N", " ".join(message.split()))


def message_shape(message: str) -> str:
    """Coarser: quoted names as X too (`unknown key X; did you mean X?`)."""
    return message_pattern(_QUOTED.sub("X", message))


def triage_map(findings: list[Finding], verdicts: list[Verdict], groups: int) -> str:
    """Markdown: warning/error counts per repository, code and severity; the largest message
    shapes; the largest (code, pattern) groups with examples and the verdicts they have."""
    judged = [f for f in findings if f.severity in JUDGED_SEVERITIES]
    verdict_of = {id(f): v.verdict for f, v in match(judged, verdicts).judged}
    lines = ["# Triage map", "",
             f"{len(judged)} warning/error findings, "
             f"{len(findings) - len(judged)} info findings, {len(verdict_of)} judged.", "",
             "## Per repository (warning and error findings; info counted apart)", "",
             "| repository | findings | by code and severity | info |", "|---|---:|---|---|"]
    for repo in sorted({f.repo for f in findings}, key=str.lower):
        mine = [f for f in judged if f.repo == repo]
        counts = Counter(f"{f.code} {f.severity[0]}" for f in mine)
        info = Counter(f.code for f in findings if f.repo == repo and f not in mine)
        lines.append(f"| {repo} | {len(mine)} | "
                     + ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))
                     + " | " + ", ".join(f"{code} {n}" for code, n in sorted(info.items())) + " |")
    lines += ["", "(`e` error, `w` warning)", "", "## Largest message shapes (names as X)", "",
              "| code | shape | findings | repositories |", "|---|---|---:|---|"]
    by_shape = defaultdict(list)
    for finding in judged:
        by_shape[(finding.code, message_shape(finding.message))].append(finding)
    for (code, shape), members in sorted(by_shape.items(), key=lambda kv: -len(kv[1]))[:groups]:
        repos = Counter(f.repo for f in members)
        lines.append(f"| {code} | {_md(shape)[:200]} | {len(members)} | "
                     + ", ".join(f"{r} {n}" for r, n in repos.most_common(4)) + " |")
    lines += ["", "## Largest (code, pattern) groups (numbers as N)", ""]
    by_pattern = defaultdict(list)
    for finding in judged:
        by_pattern[(finding.code, message_pattern(finding.message))].append(finding)
    ranked = sorted(by_pattern.items(), key=lambda kv: -len(kv[1]))[:groups]
    for rank, ((code, pattern), members) in enumerate(ranked, start=1):
        repos = Counter(f.repo for f in members)
        verdict_counts = Counter(verdict_of[id(f)] for f in members if id(f) in verdict_of)
        lines.append(f"{rank}. **{code}** x {len(members)} ({members[0].severity}): "
                     f"{_md(pattern)[:300]}")
        lines.append("   - repositories: " + ", ".join(f"{r} {n}" for r, n in repos.most_common(5)))
        examples = sorted({(f.repo, f.path, f.line) for f in members})[:: max(1, len(members) // 3)][:3]
        lines.append("   - e.g. " + "; ".join(f"{r} `{p}:{n}`" for r, p, n in examples))
        if verdict_counts:
            lines.append("   - judged: " + ", ".join(f"{v} {n}" for v, n in sorted(verdict_counts.items())))
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


# ---------------------------------------------------------------- commands

def _selected(repos: list[Repo], names: str | None) -> list[Repo]:
    if not names:
        return repos
    wanted = {name.strip() for name in names.split(",") if name.strip()}
    unknown = wanted - {repo.repo for repo in repos}
    if unknown:
        raise SystemExit(f"not in {REPOS_TSV.name}: {', '.join(sorted(unknown))}")
    return [repo for repo in repos if repo.repo in wanted]


def command_extract(args: argparse.Namespace) -> int:
    for repo in _selected(read_repos(args.repos_tsv), args.repos):
        stats = extract(repo, args.mirror, args.corpus, args.force)
        if stats.skipped:
            print(f"{repo.repo}: skipped: {stats.skipped}")
        else:
            print(f"{repo.repo}: {stats.files} files ({stats.bytes / 1e6:.1f} MB) in "
                  f"{stats.seconds:.1f} s; missing blobs {stats.missing_blobs}, submodules "
                  f"{stats.submodules}, links left out {stats.links_skipped}")
            for name in stats.missing_read:
                print(f"  missing from the snapshot, a file trainlint would read: {name}")
    return 0


def command_run(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    trainlint = shlex.split(args.trainlint)
    runs, findings = [], []
    for repo in _selected(read_repos(args.repos_tsv), args.repos):
        run, found = run_repo(repo, args.corpus / repo.folder, trainlint, args.extra, args.timeout,
                              args.out)
        print(f"{repo.repo}: {len(found)} findings, {run.files} files, {run.seconds:.1f} s"
              + (f" ({run.error})" if run.error else ""), file=sys.stderr)
        runs.append(run)
        findings.extend(found)
    (args.out / "runs.json").write_text(json.dumps(
        {"trainlint": args.trainlint, "extra_args": args.extra, "runs": [asdict(r) for r in runs]},
        indent=1) + "\n")
    return _report(args, runs, findings)


def _load_saved(args: argparse.Namespace) -> tuple[list[RepoRun], list[Finding]]:
    saved = json.loads((args.out / "runs.json").read_text())
    wanted = {repo.repo for repo in _selected(read_repos(args.repos_tsv), args.repos)}
    runs = [RepoRun(**run) for run in saved["runs"] if run["repo"] in wanted]
    findings = []
    for run in runs:
        raw = args.out / f"{run.repo.replace('/', '__')}.json"
        if raw.is_file() and not run.timed_out:
            try:
                findings.extend(findings_from_json(run.repo, json.loads(raw.read_bytes())))
            except json.JSONDecodeError:
                pass
    args.extra = saved.get("extra_args", [])
    return runs, findings


def command_judge(args: argparse.Namespace) -> int:
    return _report(args, *_load_saved(args))


def command_map(args: argparse.Namespace) -> int:
    runs, findings = _load_saved(args)
    sys.stdout.write(triage_map(findings, read_verdicts(args.verdicts), args.groups))
    return 0


def _report(args: argparse.Namespace, runs: list[RepoRun], findings: list[Finding]) -> int:
    summary = summarize(runs, findings, read_verdicts(args.verdicts), args.extra)
    unjudged_path = args.unjudged or args.out / "unjudged.tsv"
    write_unjudged(unjudged_path, summary["unjudged"])
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(summary, unjudged_path, args.limit))
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    if not argv or argv[0] not in ("run", "extract", "judge", "map"):
        argv = ["run", *argv]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repos-tsv", type=Path, default=REPOS_TSV)
    common.add_argument("--repos", help="comma-separated owner/name subset (default: all)")
    common.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help=f"where checkouts live (default {DEFAULT_CORPUS})")
    report = argparse.ArgumentParser(add_help=False)
    report.add_argument("--verdicts", type=Path, default=VERDICTS_TSV)
    report.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="raw JSON per repository and runs.json (default bench/realworld/out)")
    report.add_argument("--unjudged", type=Path, help="TSV of unjudged findings (default OUT/unjudged.tsv)")
    report.add_argument("--json", action="store_true", help="machine-readable summary")
    report.add_argument("--limit", type=int, default=40, help="unjudged findings to print")
    ext = commands.add_parser("extract", parents=[common], help="check out the pinned commits")
    ext.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    ext.add_argument("--force", action="store_true", help="extract again even when up to date")
    run = commands.add_parser("run", parents=[common, report],
                              help="run trainlint and report (extra trainlint args after --)")
    run.add_argument("--trainlint", default="trainlint", help="the command (e.g. a venv's trainlint)")
    run.add_argument("--timeout", type=float, default=600, help="seconds per repository")
    commands.add_parser("judge", parents=[common, report], help="re-match saved results")
    triage = commands.add_parser("map", parents=[common, report],
                                 help="Markdown triage map of saved results: counts, message groups")
    triage.add_argument("--groups", type=int, default=40, help="message groups to list")
    args = parser.parse_args(argv)
    args.extra = extra
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    handler = {"extract": command_extract, "run": command_run, "judge": command_judge,
               "map": command_map}
    return handler[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
