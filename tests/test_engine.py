"""The engine through the real CLI: fixes, outputs, settings, suppressions, exit codes."""

from __future__ import annotations

import json
import os

from helpers import check, codes, read_by_pyyaml, run_cli, run_json

ESPNET = ("# ESPnet2 conformer\n"
          "encoder: conformer\n"
          "optim: adam\n"
          "optim_conf:\n"
          "    lr: 1e-4      # peak, keep in sync with the paper\n"
          "    weight_decay: 5E-6\n"
          "max_epoch: 40\n"
          "batch_bins: 4000000\n")


def test_fix_repairs_tl004_and_keeps_everything_else(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(ESPNET)
    code, out, _ = run_cli("--fix", "--select", "TL004", str(path))
    assert path.read_text() == ESPNET.replace("1e-4", "1.0e-4").replace("5E-6", "5.0E-6")
    assert code == 0 and "Fixed 2 findings" in out
    before = path.read_bytes()
    code, out, _ = run_cli("--fix", "--select", "TL004", str(path))
    assert path.read_bytes() == before and "All checks passed" in out


def test_fix_keeps_crlf_bom_and_encoding(tmp_path):
    path = tmp_path / "train.yaml"
    text = ESPNET.replace("paper", "papér").replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    run_cli("--fix", "--select", "TL004", str(path))
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == text.replace("1e-4", "1.0e-4").replace("5E-6", "5.0E-6")


def test_diff_prints_and_writes_nothing(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(ESPNET)
    code, out, _ = run_cli("--diff", "--select", "TL004", str(path))
    assert path.read_text() == ESPNET
    assert code == 1
    assert "-    lr: 1e-4      # peak" in out and "+    lr: 1.0e-4      # peak" in out


def test_text_output_has_location_frame_and_summary(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(ESPNET)
    read_by_pyyaml(tmp_path, "train.yaml")
    code, out, _ = run_cli("--select", "TL004", str(path))
    assert code == 1
    assert f"{path}:5:9: TL004 [*] `optim_conf.lr: 1e-4`" in out
    assert " 5 |     lr: 1e-4      # peak" in out
    assert "   |         ^^^^" in out
    assert " - 5 |     lr: 1e-4      # peak" in out and " + 5 |     lr: 1.0e-4      # peak" in out
    assert "Found 2 findings (2 fixable with --fix)." in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_json_output_contract(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(ESPNET)
    read_by_pyyaml(tmp_path, "train.yaml")
    code, findings, _ = run_json("--select", "TL004", str(path), cwd=tmp_path)
    assert code == 1
    first = findings[0]
    assert set(first) >= {"code", "name", "severity", "message", "filename", "location",
                          "end_location", "fix", "url"}
    assert first["code"] == "TL004" and first["name"] == "yaml11-float-string"
    assert first["severity"] == "error"
    assert first["location"] == {"row": 5, "column": 9}
    assert first["end_location"] == {"row": 5, "column": 13}
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["edits"] == [{"content": "1.0e-4", "location": {"row": 5, "column": 9},
                                      "end_location": {"row": 5, "column": 13}}]
    assert first["url"].endswith("/docs/rules/TL004.md")


def test_stdin_filename(tmp_path):
    code, out, _ = run_cli("check", "--stdin-filename", "train.yaml", "--output-format", "json",
                           cwd=tmp_path, stdin=ESPNET)
    assert code == 1
    assert {f["filename"] for f in json.loads(out)} == {"train.yaml"}
    code, out, _ = run_cli("check", "--fix", "--select", "TL004", "--stdin-filename", "train.yaml",
                           cwd=tmp_path, stdin=ESPNET)
    assert out == ESPNET.replace("1e-4", "1.0e-4").replace("5E-6", "5.0E-6")


def test_select_ignore_prefixes(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("lr: 1e-4\nepochs: 10\nbatch_size: 8\nshuffle: yes\n")
    assert sorted(codes(check(path, select=["TL0"]))) == ["TL004", "TL007"]
    assert codes(check(path, select=["TL0"], ignore=["TL007"])) == ["TL004"]
    assert codes(check(path, select=["TL004"], ignore=["TL0"])) == ["TL004"]  # more specific wins


def test_suppression_comments(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("lr: 1e-4  # trainlint: ignore[TL004]\n"
                    "# trainlint: ignore[TL007]\n"
                    "shuffle: yes\n"
                    "wd: 1e-5  # noqa: TL004\n"
                    "epochs: 10\nbatch_size: 8\n")
    assert [c for c in codes(check(path)) if c in ("TL004", "TL007")] == []
    path.write_text("# trainlint: ignore-file[TL004]\nlr: 1e-4\nepochs: 10\nbatch_size: 8\nshuffle: yes\n")
    assert [c for c in codes(check(path)) if c in ("TL004", "TL007")] == ["TL007"]


def test_settings_from_pyproject_and_per_file_ignores(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.trainlint]\nignore = ["TL007"]\nper-file-ignores = { "legacy/*" = ["TL004"] }\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.yaml").write_text("lr: 1e-4\nepochs: 10\nbatch_size: 8\n")
    (tmp_path / "new.yaml").write_text("lr: 1e-4\nepochs: 10\nbatch_size: 8\nshuffle: yes\n")
    code, findings, _ = run_json("check", ".", cwd=tmp_path)
    assert [(f["filename"], f["code"]) for f in findings if f["code"] in ("TL004", "TL007")] == [
        ("new.yaml", "TL004")]


def test_unknown_setting_is_an_error_with_did_you_mean(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.trainlint]\nignor = ["TL007"]\n')
    (tmp_path / "a.yaml").write_text("lr: 0.1\n")
    code, out, err = run_cli("check", ".", cwd=tmp_path)
    assert code == 2
    assert "unknown setting `ignor`" in err and "did you mean `ignore`" in err


def test_invalid_setting_value_is_an_error(tmp_path):
    (tmp_path / "trainlint.toml").write_text('dataset-size = "many"\n')
    code, _, err = run_cli("check", ".", cwd=tmp_path)
    assert code == 2 and "dataset-size" in err


def test_unknown_output_format_exits_2(tmp_path):
    code, _, err = run_cli("check", "--output-format", "xml", str(tmp_path))
    assert code == 2 and "unknown output format" in err


def test_non_training_files_are_quiet(tmp_path):
    workflow = tmp_path / ".github" / "workflows"
    workflow.mkdir(parents=True)
    (workflow / "ci.yml").write_text("on: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
                                     "    steps:\n      - run: echo 1e-4\n")
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: nginx\n    restart: no\n")
    (tmp_path / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    (tmp_path / "vocab.json").write_text('{"<pad>": 0, "lr": 1, "the": 2, "epochs": 3}\n')
    code, out, _ = run_cli("check", str(tmp_path))
    assert code == 0, out


def test_gitignored_and_venv_folders_are_skipped(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("outputs/\n")
    for folder in ("outputs", "node_modules", ".venv"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "train.yaml").write_text("lr: 1e-4\nepochs: 1\nbatch_size: 2\n")
    (tmp_path / "train.yaml").write_text("lr: 1e-4\nepochs: 1\nbatch_size: 2\n")
    report = check(tmp_path, select=["TL0"])
    assert [d.path for d in report.diagnostics] == [str(tmp_path / "train.yaml")]
    explicit = check(tmp_path / "outputs" / "train.yaml", select=["TL0"])
    assert codes(explicit) == ["TL004"]


def test_a_folder_walked_by_the_check_is_not_walked_again_by_a_project_scan(tmp_path,
                                                                            monkeypatch):
    """The consumers' scan and a rule's project scan list the files of the checked folder
    from the check's own walk (a project inside it too), the same files a walk of their own
    lists; a folder the check's walk skipped is walked by itself."""
    import trainlint.discovery as discovery
    from trainlint.settings import load_settings

    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("outputs/\n*.tmp.py\n")
    for name in ("train.py", "cfg/run.yaml", "sub/pyproject.toml", "sub/eval.py",
                 "outputs/ignored.py", "scratch.tmp.py", "build/lib/train.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = 1\n" if name.endswith(".py") else "lr: 1e-4\n")
    settings = load_settings(tmp_path)

    def python(path):
        return path.suffix == ".py"

    fresh = {root: list(discovery.walk_folder(tmp_path / root, settings, python))
             for root in ("", "sub", "build")}
    walks = []
    real_walk = discovery._walk
    monkeypatch.setattr(discovery, "_walk", lambda root, *args: walks.append(root) or
                        real_walk(root, *args))
    files, _ = discovery.discover([str(tmp_path)], settings)
    assert walks == [tmp_path]
    for root in ("", "sub"):
        assert list(discovery.walk_folder(tmp_path / root, settings, python)) == fresh[root]
    assert walks == [tmp_path]
    assert list(discovery.walk_folder(tmp_path / "build", settings, python)) == fresh["build"]
    assert walks == [tmp_path, tmp_path / "build"]  # skipped by the check's walk: walked now
    discovery.discover([str(tmp_path)], settings)
    assert walks[-1] == tmp_path  # a new run walks again


def test_gitignore_matches_a_link_where_it_is_and_a_walk_from_a_linked_root(tmp_path):
    """As git: a link is ignored by its own path in the work tree, not by its target's; and
    a folder reached through a link is matched against the .gitignore above its real place."""
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".gitignore").write_text("generated/\nscratch.yaml\n")
    (project / "generated").mkdir()
    config = "lr: 1e-4\nepochs: 1\nbatch_size: 2\n"
    (project / "generated" / "run.yaml").write_text(config)
    (project / "kept.yaml").write_text(config)
    (project / "scratch.yaml").symlink_to(project / "kept.yaml")
    (project / "alias.yaml").symlink_to(project / "generated" / "run.yaml")
    report = check(project, select=["TL0"])
    assert sorted(os.path.basename(d.path) for d in report.diagnostics) == ["alias.yaml", "kept.yaml"]
    (tmp_path / "via-link").symlink_to(project)
    linked = check(tmp_path / "via-link", select=["TL0"])
    assert sorted(os.path.basename(d.path) for d in linked.diagnostics) == ["alias.yaml", "kept.yaml"]


def test_forked_children_give_the_same_report_as_one_process(tmp_path, monkeypatch):
    import trainlint.engine as engine
    import trainlint.parallel as parallel

    for i in range(10):
        (tmp_path / f"run{i}.yaml").write_text(f"lr: 1e-{i + 1}\nepochs: 10\nbatch_size: 8\nflag: yes\n")
    serial = check(tmp_path, select=["TL0"])
    forks = []
    real_map = parallel.map_forked
    monkeypatch.setattr(engine, "PARALLEL_MIN_WORK", 16)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 3)
    monkeypatch.setattr(parallel, "map_forked",
                        lambda *args: forks.append(args[3]) or real_map(*args))
    forked = check(tmp_path, select=["TL0"])
    assert forks == [3]
    assert [(d.path, d.code, d.span) for d in forked.diagnostics] == \
           [(d.path, d.code, d.span) for d in serial.diagnostics]
    assert len(serial.diagnostics) == 20


def test_suppressions_of_other_files_are_read_once_per_version(tmp_path, monkeypatch):
    import trainlint.engine as engine
    from trainlint.load import Loader

    path = tmp_path / "train.py"
    path.write_text("lr = 1e-4  # noqa: TL102\n", encoding="utf-8")
    reads = []
    loader = Loader()
    real_read = loader.read
    monkeypatch.setattr(loader, "read", lambda name: reads.append(1) or real_read(name))
    engine._SUPPRESSIONS_READ.clear()
    first = engine._suppressions_in(str(path), loader)
    assert engine._suppressions_in(str(path), loader) is first and len(reads) == 1
    assert first[0].codes == frozenset({"TL102"})
    path.write_text("lr = 1e-4  # noqa: TL102, TL104\n", encoding="utf-8")
    assert engine._suppressions_in(str(path), loader)[0].codes == frozenset({"TL102", "TL104"})
    assert engine._suppressions_in(str(tmp_path / "missing.py"), loader) is None
