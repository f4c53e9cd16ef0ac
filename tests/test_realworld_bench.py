"""The real-code bench's matching and precision (bench/realworld.py) on synthetic rows: no corpus."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH_SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "realworld.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("realworld_bench", BENCH_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def finding(bench, line, col=1, code="TL004", severity="warning", path="conf/a.yaml"):
    return bench.Finding("o/r", path, line, col, code, severity, "msg")


def verdict(bench, line, value="TRUE", col=None, code="TL004", path="conf/a.yaml"):
    return bench.Verdict("o/r", path, line, code, value, "why", col)


def test_match_pairs_by_path_line_code_and_reports_the_rest(bench):
    found = [finding(bench, 3), finding(bench, 7), finding(bench, 7, code="TL003")]
    verdicts = [verdict(bench, 3, "FALSE"), verdict(bench, 9, "TRUE")]
    result = bench.match(found, verdicts)
    assert [(f.line, v.verdict) for f, v in result.judged] == [(3, "FALSE")]
    assert [(f.line, f.code) for f in result.unjudged] == [(7, "TL003"), (7, "TL004")]
    assert [(v.line, v.verdict) for v in result.lost] == [(9, "TRUE")]


def test_col_disambiguates_and_a_verdict_without_col_covers_the_rest(bench):
    found = [finding(bench, 5, col=3), finding(bench, 5, col=20), finding(bench, 5, col=40)]
    verdicts = [verdict(bench, 5, "FALSE", col=20), verdict(bench, 5, "TRUE")]
    result = bench.match(found, verdicts)
    assert sorted((f.col, v.verdict) for f, v in result.judged) == [
        (3, "TRUE"), (20, "FALSE"), (40, "TRUE")]
    assert result.unjudged == [] and result.lost == []


def test_a_col_that_moved_still_matches_but_a_second_verdict_for_one_finding_is_lost(bench):
    result = bench.match([finding(bench, 5, col=9)], [verdict(bench, 5, col=8)])
    assert [(f.col, v.col) for f, v in result.judged] == [(9, 8)]
    result = bench.match([finding(bench, 5, col=9)],
                         [verdict(bench, 5, col=9), verdict(bench, 5, "FALSE", col=30)])
    assert [v.col for _, v in result.judged] == [9]
    assert [v.col for v in result.lost] == [30]


def test_precision_leaves_debatable_out_and_summary_counts_per_rule(bench):
    assert bench.precision(0, 0) is None
    assert bench.precision(3, 1) == 0.75
    found = [finding(bench, 1), finding(bench, 2), finding(bench, 3), finding(bench, 4),
             finding(bench, 5, code="TL003"), finding(bench, 6, severity="info")]
    verdicts = [verdict(bench, 1, "TRUE"), verdict(bench, 2, "FALSE"), verdict(bench, 3, "DEBATABLE"),
                verdict(bench, 6, "TRUE"), verdict(bench, 8, "TRUE")]
    runs = [bench.RepoRun("o/r", files=10, seconds=2.0, cpu_seconds=3.2, exit_code=1,
                          reported=True)]
    summary = bench.summarize(runs, found, verdicts, [])
    rule = summary["per_rule"]["TL004"]
    assert (rule["findings"], rule["judged"], rule["TRUE"], rule["FALSE"], rule["DEBATABLE"]) == (4, 3, 1, 1, 1)
    assert rule["precision"] == 0.5
    assert summary["per_rule"]["TL003"]["precision"] is None
    assert summary["overall"]["findings"] == 5 and summary["overall"]["info_findings"] == 1
    assert [v["line"] for v in summary["lost"]] == [8]  # line 6 is still there, as info
    assert [pair["verdict"]["line"] for pair in summary["now_info"]] == [6]
    assert [(f["line"], f["code"]) for f in summary["unjudged"]] == [(4, "TL004"), (5, "TL003")]
    assert summary["time"]["files_per_second"] == 5.0
    assert summary["time"]["files_per_second_2_cores_cpu"] == 6.2  # 2 x 10 files / 3.2 s


def test_verdicts_of_a_repository_that_reported_nothing_are_not_lost(bench):
    runs = [bench.RepoRun("o/r", seconds=600.0, timed_out=True, error="timed out")]
    summary = bench.summarize(runs, [], [verdict(bench, 1, "TRUE")], [])
    assert summary["lost"] == [] and summary["overall"]["judged"] == 0


def test_verdicts_and_unjudged_tsv_round_trip(bench, tmp_path):
    unjudged = [bench.asdict(finding(bench, 4, col=2))]
    unjudged[0]["message"] = "tab\there and\nnewline"
    path = tmp_path / "unjudged.tsv"
    bench.write_unjudged(path, unjudged)
    rows = bench.read_tsv(path)
    assert rows[0]["message"] == "tab here and newline" and rows[0]["col"] == "2"
    table = tmp_path / "verdicts.tsv"
    table.write_text("repo\tpath\tline\tcode\tverdict\treason\tcol\n"
                     "o/r\t./conf/a.yaml\t4\tTL004\tfalse\tOmegaConf reads 1e-4 as float\t\n")
    [read] = bench.read_verdicts(table)
    assert (read.path, read.line, read.verdict, read.col) == ("conf/a.yaml", 4, "FALSE", None)
    table.write_text("repo\tpath\tline\tcode\tverdict\treason\no/r\ta.yaml\t4\tTL004\tMAYBE\tx\n")
    with pytest.raises(ValueError, match="MAYBE"):
        bench.read_verdicts(table)
