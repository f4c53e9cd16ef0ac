"""Issue 11: every bad input and setting gets one clear answer (exit 2 and one line for what
the user must fix, the other files still checked), and honest input is not mistaken for an
attack."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import check, codes, read_by_pyyaml, run_cli


def test_a_long_plain_list_is_not_an_alias_bomb(tmp_path):
    path = tmp_path / "vocab.yaml"
    path.write_text("tokens:\n" + "".join(f"  - w{i}\n" for i in range(60_000)))
    report = check(path)
    assert codes(report) == [] and not report.errors



GOOD = "lr: 1e-4\nepochs: 3\nbatch_size: 8\n"  # one TL004 (and info findings)


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if "error:" in line]


def _no_traceback(*outputs: str) -> None:
    assert not any("Traceback" in output for output in outputs)


# ---------------------------------------------------------------- paths that are not there

def test_missing_paths_dangling_links_and_link_loops_are_errors(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "dangling.yaml").symlink_to("nowhere.yaml")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    code, out, err = run_cli("check", "nope.yaml", "dangling.yaml", "loop1", "good.yaml",
                             "--select", "TL004", cwd=tmp_path)
    _no_traceback(out, err)
    assert code == 2
    assert _errors(out) == ["error: nope.yaml: No such file or directory",
                            "error: dangling.yaml: dangling symbolic link (to nowhere.yaml)",
                            "error: loop1: symbolic link loop"]
    assert "good.yaml:1:5: TL004" in out  # the other files are still checked


def test_a_typo_in_a_ci_path_fails_in_every_output_format(tmp_path):
    for output_format in ("json", "sarif", "github", "junit"):
        code, out, err = run_cli("check", "configz/", "--output-format", output_format, cwd=tmp_path)
        assert code == 2, output_format
        assert err.strip() == "trainlint: error: configz/: No such file or directory"
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    code, out, err = run_cli("check", "--since", "HEAD", "configz/", cwd=tmp_path)
    assert code == 2 and err.strip() == "trainlint: error: configz/: No such file or directory"


# ---------------------------------------------------------------- crashes become one line

def test_bad_gitignore_pattern_is_one_line_and_the_rest_still_applies(tmp_path):
    (tmp_path / ".gitignore").write_text("skipped/\n[z-a]\n")
    (tmp_path / "skipped").mkdir()
    (tmp_path / "skipped" / "x.yaml").write_text(GOOD)
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", ".", "--select", "TL004", cwd=tmp_path)
    _no_traceback(out, err)
    assert code == 2
    [error] = _errors(out)
    assert ".gitignore:2: pattern `[z-a]` cannot be read (bad character range z-a)" in error
    assert "good.yaml:1:5: TL004" in out and "skipped" not in out.replace(error, "")


def test_bad_exclude_pattern_is_a_settings_error(tmp_path):
    (tmp_path / "trainlint.toml").write_text('exclude = ["[z-a]"]\n')
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", ".", cwd=tmp_path)
    _no_traceback(out, err)
    assert code == 2
    assert err.strip().endswith("trainlint.toml:1:1: `exclude`: pattern `[z-a]` cannot be read "
                                "(bad character range z-a)")


@pytest.mark.parametrize("name, text, message", [
    ("trainlint.toml", 'tool = "x"\n', "unknown setting `tool` in [tool.trainlint]"),
    ("pyproject.toml", '# [tool.trainlint] below\ntool = "x"\n',
     "`tool` must be a table ([tool.trainlint]), not str 'x'"),
    ("trainlint.toml", "[tool]\ntrainlint = 5\n", "[tool.trainlint] must be a table, not int 5"),
])
def test_settings_file_of_the_wrong_shape_is_one_line(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", cwd=tmp_path)
    _no_traceback(out, err)
    assert code == 2
    assert err.count("\n") == 1 and message in err and name in err


@pytest.mark.parametrize("project", ['[project]\nname = "x"\ndependencies = [1, "torch>=2.4"]\n',
                                     'project = 5\n# torch\n'])
def test_unreadable_pins_never_crash_and_every_file_is_checked(tmp_path, project):
    # The project's requirements are read only by the version-aware rules that need them
    # (trainlint.versions); what cannot be read there is no requirement, never a traceback.
    (tmp_path / "pyproject.toml").write_text(project)
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "train.py").write_text('import torch\nstate = torch.load("a.pt")\n')
    code, out, err = run_cli("check", ".", "--select", "TL004,TL401", cwd=tmp_path)
    _no_traceback(out, err)
    assert code == 1
    assert "good.yaml:1:5: TL004" in out and "train.py:2:9: TL401" in out


def test_non_utf8_file_name_in_sarif_json_and_text(tmp_path):
    folder = os.fsencode(tmp_path / "d")
    os.mkdir(folder)
    with open(os.path.join(folder, b"caf\xe9.yaml"), "wb") as stream:
        stream.write(GOOD.encode())
    read_by_pyyaml(tmp_path, "d/*.yaml")  # the reader that makes TL004 an error
    for output_format in ("sarif", "json", "text", "github", "junit"):
        process = subprocess.run([sys.executable, "-m", "trainlint", "check", "d", "--select",
                                  "TL004", "--output-format", output_format], cwd=tmp_path,
                                 capture_output=True, env={**os.environ, "NO_COLOR": "1"})
        assert process.returncode == 1, (output_format, process.stderr)
        out = process.stdout.decode("utf-8")  # valid UTF-8 whatever the name's bytes
        if output_format == "sarif":
            [result] = json.loads(out)["runs"][0]["results"]
            location = result["locations"][0]["physicalLocation"]["artifactLocation"]
            assert location["uri"] == "d/caf%E9.yaml"  # the name's own bytes
        elif output_format == "json":
            assert json.loads(out)[0]["filename"] == "d/caf\ufffd.yaml"


@pytest.fixture
def deep_tree(tmp_path):
    """tmp_path with `d/d/.../d/deep.yaml` 1,100 folders down, removed bottom-up afterwards
    (Python 3.11's shutil.rmtree, which pytest uses, recurses and would fail on it)."""
    folders = [tmp_path]
    for _ in range(1100):
        folders.append(folders[-1] / "d")
        folders[-1].mkdir()
    (folders[-1] / "deep.yaml").write_text(GOOD)
    yield tmp_path
    (folders[-1] / "deep.yaml").unlink()
    for folder in reversed(folders[1:]):
        folder.rmdir()


def test_a_folder_tree_1100_levels_deep(deep_tree):
    (deep_tree / "top.yaml").write_text(GOOD)
    (deep_tree / ".gitignore").write_text("*.tmp\n")  # the ignore rules are read too
    code, out, err = run_cli("check", ".", "--select", "TL004", "--output-format", "json",
                             cwd=deep_tree)
    _no_traceback(out, err)
    assert code == 0  # no code reads them (no project around): TL004 is an info
    found = sorted(os.path.basename(f["filename"]) for f in json.loads(out))
    assert found == ["deep.yaml", "top.yaml"]


@pytest.mark.parametrize("name, text, key", [
    ("hf.yaml", "learning_rate: 2e-5\nper_device_train_batch_size: .inf\nnum_train_epochs: 3\n"
                "lr: 1e-4\n", "per_device_train_batch_size"),
    ("args.json", '{"learning_rate": 2e-5, "per_device_train_batch_size": 8, '
                  '"num_train_epochs": 1e309, "warmup_steps": "1e-4"}', "num_train_epochs"),
    ("train.py", "import argparse\np = argparse.ArgumentParser()\n"
                 "p.add_argument('--batch_size', type=int, default=1e309)\n"
                 "p.add_argument('--epochs', type=int, default=float('inf'))\n", "batch_size"),
])
def test_infinity_where_an_integer_is_expected_is_a_tl002_and_other_findings_stay(
        tmp_path, name, text, key):
    path = tmp_path / name
    path.write_text(text)
    report = check(path)
    assert not report.errors
    invalid = [d for d in report.diagnostics if d.code == "TL002"]
    assert invalid and f"`{key}`" in invalid[0].message
    assert "finite" in invalid[0].message
    if name == "hf.yaml":
        assert "TL004" in codes(report)  # the file's other findings are not lost


# ---------------------------------------------------------------- rule selectors

@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_rule_selector_on_the_command_line(tmp_path, option):
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", option, "TL1,TL0O4", cwd=tmp_path)
    assert code == 2 and out == ""
    assert err == f"trainlint: error: {option}: unknown rule selector `TL0O4`; did you mean `TL004`?\n"


@pytest.mark.parametrize("table, message", [
    ('select = ["TL1", "TL999"]\n', "trainlint.toml:1:1: `select`: unknown rule selector `TL999`"),
    ('extend-select = ["TLX"]\n', "trainlint.toml:1:1: `extend-select`: unknown rule selector `TLX`"),
    ('ignore = ["T"]\n', "`ignore`: unknown rule selector `T`; did you mean `TL`?"),
    ('[per-file-ignores]\n"x/*.yaml" = ["TL00O"]\n',
     "`per-file-ignores`: unknown rule selector `TL00O`; did you mean `TL001`?"),
    ('[rules.TL999]\nseverity = "error"\n', "trainlint.toml:1:2: [tool.trainlint.rules.TL999]: unknown rule code `TL999`"),
    ('[rules.TL1]\nseverity = "error"\n', "[tool.trainlint.rules.TL1]: unknown rule code `TL1`"),
])
def test_unknown_rule_selector_in_settings(tmp_path, table, message):
    (tmp_path / "trainlint.toml").write_text(table)
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", cwd=tmp_path)
    assert code == 2 and out == ""
    assert err.startswith("trainlint: error: ") and message in err and err.count("\n") == 1


def test_family_prefixes_and_all_stay_valid(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    read_by_pyyaml(tmp_path, "good.yaml")
    code, out, _ = run_cli("check", "good.yaml", "--select", "TL0,TL00,tl004", "--ignore", "TL1",
                           cwd=tmp_path)
    assert code == 1 and "TL004" in out
    (tmp_path / "trainlint.toml").write_text('select = ["ALL"]\nignore = ["TL0"]\n')
    code, out, _ = run_cli("check", "good.yaml", "--output-format", "json", cwd=tmp_path)
    found = json.loads(out)
    assert code == 0 and found and {f["severity"] for f in found} == {"info"}
    assert not any(f["code"].startswith("TL0") for f in found)


# ---------------------------------------------------------------- settings and overrides

@pytest.mark.parametrize("table, message", [
    ('target-torch = "banana"\n', "trainlint.toml:1:1: `target-torch`: `banana` is not a version (e.g. 2.6)"),
    ('model-type = "banana"\n', "trainlint.toml:1:1: `model-type`: unknown model type `banana`"),
    ('model-type = "ctcc"\n', "unknown model type `ctcc`; did you mean `ctc`?"),
    ('[bands.ctc]\nlow = "abc"\n', "trainlint.toml:2:1: `bands.ctc.low`: Input should be a valid number"),
    ('[bands.ctc]\nlowest = 1e-4\n', "`bands.ctc.lowest`: Extra inputs are not permitted"),
    ('[bands.ctc]\nlow = 1e-2\n', "trainlint.toml:1:2: [tool.trainlint.bands.ctc]: `low` 0.01 is above `high` 0.001"),
    ('[bands.ctc]\nlow = 1e-3\nhigh = 1e-4\n', "`low` 0.001 is above `high` 0.0001"),
    ('[bands.mine]\nlow = 1e-3\n', "[tool.trainlint.bands.mine]: a new model type's band needs `low` and `high`"),
    ("world-size = 0\n", "trainlint.toml:1:1: `world-size`: must be a whole number of at least 1, not 0"),
    ("dataset-size = -100\n", "`dataset-size`: must be a whole number of at least 1, not -100"),
])
def test_settings_are_validated_with_the_file_named(tmp_path, table, message):
    (tmp_path / "trainlint.toml").write_text(table)
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", cwd=tmp_path)
    _no_traceback(out, err)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "internal error" not in err


@pytest.mark.parametrize("name, text, message", [
    ("pyproject.toml", '[tool.trainlint]\nselect = ["TL003"]\n\n[tool.trainlint.rules.TL003]\n'
     'max-distanse = 2\n',
     "pyproject.toml:5:1: [tool.trainlint.rules.TL003] unknown option `max-distanse`; did you "
     "mean `max-distance`?"),
    ("pyproject.toml", '[tool.trainlint.rules.TL003]\nmax-distance = "two"\n',
     "pyproject.toml:2:1: [tool.trainlint.rules.TL003] `max-distance`: Input should be a valid "
     "integer"),
    ("trainlint.toml", 'select = ["TL003"]\nrules.TL003.max_distance = "two"\n',
     "trainlint.toml:2:1: [tool.trainlint.rules.TL003] `max_distance`: Input should be a valid "
     "integer"),
    # inside an inline table the key has no line of its own: the nearest one written out
    ("trainlint.toml", 'rules = { TL003 = { max-distance = "two" } }\n',
     "trainlint.toml:1:1: [tool.trainlint.rules.TL003] `max-distance`"),
])
def test_rule_option_errors_say_where_the_option_is_written(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", cwd=tmp_path)
    _no_traceback(out, err)
    assert code == 2 and out == ""
    assert err.startswith("trainlint: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize("text, keys, position", [
    ('[tool.trainlint]\nselect = ["TL1"]\n', ("select",), "2:1"),
    ('[tool.trainlint]\n  "select" = ["TL1"]  # quoted\n', ("select",), "2:3"),
    ('[tool.other]\nselect = 1\n[tool.trainlint]\nignore = []\nselect = 2\n', ("select",), "5:1"),
    ('[ tool . trainlint . rules . TL003 ]\nmax-distance = 1\n', ("rules", "TL003", "max-distance"),
     "2:1"),
    ('[tool.trainlint]\nrules.TL003.severity = "info"\n', ("rules", "TL003", "severity"), "2:1"),
    ('[tool.trainlint.rules.TL003]\nseverity = "info"\n', ("rules", "TL003", "max-distance"),
     "1:2"),
    ('[tool.trainlint]\nselect = []\n', ("bands", "ctc"), "1:2"),
])
def test_a_setting_is_located_at_its_key_or_nearest_table(tmp_path, text, keys, position):
    from trainlint.settings_positions import located

    source = tmp_path / "pyproject.toml"
    source.write_text(text)
    assert located(source, *keys) == f"{source}:{position}"
    assert located(tmp_path / "missing.toml", "select") == str(tmp_path / "missing.toml")


def test_pyproject_settings_errors_name_the_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.trainlint]\nmodel-type = "banana"\n')
    (tmp_path / "good.yaml").write_text(GOOD)
    code, _, err = run_cli("check", "good.yaml", cwd=tmp_path)
    assert code == 2
    assert "pyproject.toml:2:1: [tool.trainlint] `model-type`: unknown model type `banana`" in err


@pytest.mark.parametrize("args, message", [
    (("--world-size", "0"), "--world-size: must be a whole number of at least 1, not 0"),
    (("--world-size", "-8"), "--world-size: must be a whole number of at least 1, not -8"),
    (("--dataset-size", "0"), "--dataset-size: must be a whole number of at least 1, not 0"),
    (("--dataset-size", "-100"), "--dataset-size: must be a whole number of at least 1, not -100"),
    (("--model-type", "banana"), "--model-type: unknown model type `banana`"),
    (("--target-torch", "banana"), "--target-torch: `banana` is not a version (e.g. 2.6)"),
])
def test_command_line_context_gets_the_same_validation(tmp_path, args, message):
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", *args, cwd=tmp_path)
    assert code == 2 and out == ""
    assert err == f"trainlint: error: {message}" + err[len(f"trainlint: error: {message}"):]
    assert err.count("\n") == 1


def test_a_model_type_defined_by_a_band_is_valid_on_the_command_line(tmp_path):
    (tmp_path / "trainlint.toml").write_text("[bands.my-asr]\nlow = 1e-4\nhigh = 1e-3\n")
    (tmp_path / "good.yaml").write_text(GOOD)
    read_by_pyyaml(tmp_path, "good.yaml")
    code, _, err = run_cli("check", "good.yaml", "--model-type", "my-asr", cwd=tmp_path)
    assert code == 1 and err == ""


# ---------------------------------------------------------------- smaller

def test_junit_is_well_formed_with_control_characters(tmp_path):
    from xml.etree import ElementTree

    name = "run\x1b[31m\x01.yaml"
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / name).write_text('"learning_rte\\u0007": 2e-4\nlr: 1e-4\nepochs: 3\nbatch_size: 8\n')
    read_by_pyyaml(tmp_path, "cfg/*.yaml")  # the reader that makes TL004 an error
    code, out, _ = run_cli("check", ".", "--output-format", "junit", cwd=tmp_path)
    assert code == 1
    tree = ElementTree.fromstring(out.encode())  # raises on what is not well-formed XML
    names = [case.get("classname") for case in tree.iter("testcase")]
    assert "cfg/run\\x1b[31m\\x01.yaml" in names


def test_argument_errors_are_one_line_with_a_pointer_to_help(tmp_path):
    for args in (("check", "--bogus"), ("--world-size", "many"), ("rules", "--output-format", "xml"),
                 ("show",), ("frobnicate-everything", "--nope")):
        code, out, err = run_cli(*args, cwd=tmp_path)
        assert code == 2 and out == "", args
        assert err.count("\n") == 1 and "usage:" not in err, (args, err)
        assert err.startswith("trainlint") and "--help`)" in err, err


def test_empty_output_format_is_rejected(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", "--output-format", "", cwd=tmp_path)
    assert code == 2 and out == ""
    assert err.startswith("trainlint: error: unknown output format ``")


def test_syntax_warnings_of_user_code_do_not_leak(tmp_path):
    path = tmp_path / "train.py"
    path.write_text('import re\nx = 1if True else 2\ny = 0x1for z in []\npattern = re.compile("\\d+")\n')
    code, out, err = run_cli("check", str(path), env={"PYTHONWARNINGS": "default"})
    assert err == ""
    assert code == 0, out


def test_diff_says_would_fix(tmp_path):
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out, err = run_cli("check", "good.yaml", "--diff", "--select", "TL004", cwd=tmp_path)
    assert code == 1 and "+lr: 1.0e-4" in out
    assert "Would fix 1 finding" in err and "Fixed" not in err
    assert (tmp_path / "good.yaml").read_text() == GOOD
