"""`--output-format sarif` validates against the official SARIF 2.1.0 schema and says what a
code-scanning tool needs: rules, locations, fixes that apply, stable fingerprints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from helpers import run_cli
from trainlint.registry import all_rules

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

FILES = {
    "configs/train.yaml": "# schedule: ünïcode before the value\noptim_conf:\n  lr: 1e-4  # ½ of default\n"
                          "  weight_decay: 1E-2\nmax_epoch: 5\n",
    "configs/flags.yaml": "lr: 0.001\nepochs: 10\nshuffle: On\n",
    "configs/broken.json": '{"learning_rate": 1e-4,}\n',
    "configs/stale.yaml": "learning_rate: 2.0e-5  # trainlint: ignore[TL004]\nnum_train_epochs: 3\n",
}


@pytest.fixture()
def project(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _sarif(cwd: Path, *args: str) -> dict:
    code, out, err = run_cli("check", "--output-format", "sarif", *args, cwd=cwd)
    assert code in (0, 1), err
    return json.loads(out)


def test_output_validates_against_the_sarif_schema(project):
    log = _sarif(project, ".")
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    results = log["runs"][0]["results"]
    codes = {result["ruleId"] for result in results}
    assert {"TL001", "TL004", "TL007", "TL009"} <= codes
    assert {result["level"] for result in results} >= {"error", "warning"}


def test_an_empty_run_validates_too(tmp_path):
    (tmp_path / "ok.yaml").write_text("learning_rate: 2.0e-5\n")
    log = _sarif(tmp_path, ".")
    jsonschema.validate(log, SCHEMA, cls=jsonschema.Draft4Validator)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True}]


def test_rules_carry_their_docs_and_results_point_at_them(project):
    run = _sarif(project, ".")["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [rule.code for rule in all_rules()]
    for descriptor, rule in zip(rules, all_rules()):
        assert descriptor["name"] == rule.name
        assert descriptor["helpUri"] == rule.url()
        assert descriptor["help"]["markdown"].startswith(f"# {rule.code} {rule.name}")
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_locations_are_relative_uris_with_code_point_columns(project):
    run = _sarif(project, ".")["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    [lr] = [r for r in run["results"] if r["ruleId"] == "TL004"
            and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "configs/train.yaml"
            and r["locations"][0]["physicalLocation"]["region"]["startLine"] == 3]
    location = lr["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert location["region"] == {"startLine": 3, "startColumn": 7, "endLine": 3, "endColumn": 11}


def test_fix_replacements_give_the_same_text_as_fix(project):
    path = project / "configs" / "train.yaml"
    run = _sarif(project, "configs/train.yaml")["runs"][0]
    lines = path.read_text(encoding="utf-8").split("\n")
    edits = [replacement for result in run["results"] for fix in result.get("fixes", [])
             for change in fix["artifactChanges"] for replacement in change["replacements"]]
    assert edits
    for edit in sorted(edits, key=lambda e: (e["deletedRegion"]["startLine"],
                                             e["deletedRegion"]["startColumn"]), reverse=True):
        region = edit["deletedRegion"]
        assert region["startLine"] == region["endLine"]
        line = lines[region["startLine"] - 1]
        lines[region["startLine"] - 1] = (line[:region["startColumn"] - 1] + edit["insertedContent"]["text"]
                                          + line[region["endColumn"] - 1:])
    run_cli("check", "--fix", "configs/train.yaml", cwd=project)
    assert "\n".join(lines) == path.read_text(encoding="utf-8")


def test_fingerprints_survive_unrelated_edits(project):
    before = _sarif(project, "configs/train.yaml")["runs"][0]["results"]
    path = project / "configs" / "train.yaml"
    path.write_text("# a new comment line\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    after = _sarif(project, "configs/train.yaml")["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after] == \
        [r["locations"][0]["physicalLocation"]["region"]["startLine"] + 1 for r in before]
    assert [r["partialFingerprints"] for r in after] == [r["partialFingerprints"] for r in before]


def test_files_outside_the_working_directory_get_file_uris(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    shutil.copy(project / "configs" / "flags.yaml", elsewhere / "flags.yaml")
    run = _sarif(project, str(elsewhere / "flags.yaml"))["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and Path(unquote(uri[7:])) == (elsewhere / "flags.yaml").resolve()
