"""TL401-TL402 on real fixture files through the real engine and CLI.

Also holds what the precision and loss rule tests share: the realistic training scripts in
fixtures/scripts with every TL4xx-TL6xx finding, and the fix round-trip check.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES, check, run_json
from test_ast_index import ODD_SOURCES

SCRIPT_RULE_CODES = ["TL401", "TL402", "TL501", "TL502", "TL503", "TL504", "TL505", "TL506",
                     "TL507", "TL601", "TL602", "TL603", "TL604", "TL605"]

# The training scripts in fixtures/scripts: every finding of these rules, in order.
SCRIPTS = {
    "aliased_imports.py": [("TL401", 35, 17, "warning"), ("TL401", 37, 40, "warning"),
                           ("TL401", 38, 17, "warning"), ("TL401", 40, 15, "warning"),
                           ("TL401", 41, 18, "warning"), ("TL603", 47, 31, "error")],
    "espnet_style_asr.py": [("TL601", 70, 16, "warning"), ("TL503", 113, 14, "warning"),
                            ("TL501", 118, 18, "warning"), ("TL503", 118, 18, "warning"),
                            ("TL401", 139, 18, "warning")],
    "evaluate_star_import.py": [("TL401", 10, 13, "warning"), ("TL603", 17, 34, "error")],
    "hf_distill_loop.py": [("TL506", 40, 16, "warning"), ("TL602", 44, 12, "warning"),
                           ("TL401", 74, 17, "warning"), ("TL502", 86, 18, "error"),
                           ("TL504", 90, 13, "warning")],
    "lightning_ctc_module.py": [("TL505", 22, 20, "info"), ("TL401", 24, 34, "warning"),
                                ("TL604", 38, 25, "error"), ("TL504", 58, 15, "warning"),
                                ("TL501", 62, 19, "info")],
    "seed001_train_teacher.py": [("TL501", 70, 14, "warning"), ("TL503", 70, 14, "warning"),
                                 ("TL505", 112, 17, "info"), ("TL503", 118, 14, "warning"),
                                 ("TL402", 135, 28, "warning"), ("TL402", 136, 29, "warning"),
                                 ("TL402", 137, 35, "warning"), ("TL402", 138, 25, "warning"),
                                 ("TL401", 146, 18, "warning")],
    "speechbci_gru_ctc.py": [("TL501", 75, 50, "warning"), ("TL507", 76, 28, "warning"),
                             ("TL501", 89, 31, "warning"), ("TL504", 93, 9, "warning")],
    "clean_image_classifier.py": [],
}


def found(report, codes) -> list[tuple[str, int, int, str]]:
    assert not report.errors, report.errors
    return sorted((d.code, d.span.line, d.span.col, d.severity.value)
                  for d in report.diagnostics if d.code in codes)


def fixture_findings(name: str, table: dict | None = None):
    code = name.split("/")[0]
    return found(check(FIXTURES / name, table, select=[code]), [code])


def assert_fix(tmp_path: Path, name: str, unsafe: bool, table: dict | None = None,
               requirements: str | None = None) -> str:
    """Apply the rule's fixes to a copy of fixtures/<name> and compare with <name>.fixed;
    the result parses and a second run changes nothing. `requirements` is the copy's
    requirements.txt (the torch range the fixes are judged over)."""
    code = name.split("/")[0]
    source = FIXTURES / name
    target = tmp_path / source.name
    shutil.copyfile(source, target)
    if requirements is not None:
        (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    report = check(target, table, select=[code], fix=True, unsafe_fixes=unsafe)
    assert not report.errors, report.errors
    fixed = target.read_text(encoding="utf-8")
    assert fixed == (FIXTURES / f"{name}.fixed").read_text(encoding="utf-8")
    assert report.fixed >= 1
    ast.parse(fixed)
    again = check(target, table, select=[code], fix=True, unsafe_fixes=unsafe)
    assert again.fixed == 0
    assert target.read_text(encoding="utf-8") == fixed
    return fixed


ODD_RULE_SOURCES = [
    *ODD_SOURCES,
    "import torch\ntorch.load(**opts)\ntorch.load(*args)\ntorch.save(*args)\n",
    "import torch\ntorch.save({**base, 'x': 1}, p)\ntorch.save(obj=state, f=p)\ntorch.load(p)\n",
    "import torch\nfrom torch import nn\nnn.CTCLoss(**cfg)(x)\nnn.CrossEntropyLoss()(*a)\n"
    "torch.nn.functional.ctc_loss()\nnn.KLDivLoss(*a)\n",
    "import torch\nwith torch.autocast(**kw):\n    l = f()\nl.backward()\n"
    "with torch.cuda.amp.autocast(*a):\n    pass\ntorch.cuda.amp.GradScaler(**k)\n",
    "import torch\nx = [torch.load(p) for p in ps][0]\nd[k](torch.load)\n"
    "(lambda: torch.load(p))()\n",
    "from torch import nn\nloss = nn.CrossEntropyLoss(reduction='sum')\nout = loss(x, y) / 0\n"
    "out /= len\nz = (loss(x, y)).sum() / bsz\n",
    "import torch\nclass EMA:\n    def __init__(self, m, decay):\n        pass\n"
    "e = EMA(m, decay=x)\nif step % 0 == 0:\n    evaluate()\nif step % n == 0:\n    save()\n",
    "from torch import nn\nclass M(nn.Module):\n    def forward(self, *a, **k):\n        return\n"
    "nn.Sequential(*layers)\nnn.functional.cross_entropy(x)\n",
    "import torch.utils.checkpoint as c\nc.checkpoint()\nc.checkpoint(*a)\n",
    "x = 1\n" * 3 + "def f(\n):\n    pass\n",
]


@pytest.mark.parametrize("source", ODD_RULE_SOURCES)
def test_rules_never_crash_on_odd_code(tmp_path, source):
    path = tmp_path / "odd.py"
    path.write_text(source + "# ctc CTC load save amp softmax oftmax backward Trainer ema EMA "
                    "Averag checkpoint sum KLDiv kl_div autocast TrainingArguments\n",
                    encoding="utf-8")
    report = check(path, select=SCRIPT_RULE_CODES)
    assert not report.errors, report.errors
    check(path, select=SCRIPT_RULE_CODES, fix=True, unsafe_fixes=True)
    ast.parse(path.read_text(encoding="utf-8"))


def test_rule_findings_on_the_training_scripts_match():
    for name, expected in SCRIPTS.items():
        report = check(FIXTURES / "scripts" / name, select=SCRIPT_RULE_CODES)
        assert found(report, SCRIPT_RULE_CODES) == sorted(expected), name


def test_training_scripts_fix_converges_and_still_parses(tmp_path):
    for name in SCRIPTS:
        target = tmp_path / name
        shutil.copyfile(FIXTURES / "scripts" / name, target)
        first = check(target, select=SCRIPT_RULE_CODES, fix=True, unsafe_fixes=True)
        assert not first.errors
        fixed = target.read_text(encoding="utf-8")
        ast.parse(fixed)
        second = check(target, select=SCRIPT_RULE_CODES, fix=True, unsafe_fixes=True)
        assert second.fixed == 0 and target.read_text(encoding="utf-8") == fixed
        assert not any(d.fix is not None for d in second.diagnostics)


# ------------------------------------------------------------------ TL401 / TL402

EXPECTED = {
    "TL401/bad_seed001.py": [("TL401", 8, 18, "warning")],
    "TL401/bad_aliases.py": [("TL401", 11, 19, "warning"), ("TL401", 12, 23, "warning"),
                             ("TL401", 16, 17, "warning"), ("TL401", 17, 17, "warning"),
                             ("TL401", 18, 13, "warning")],
    "TL401/bad_star_import.py": [("TL401", 5, 12, "warning")],
    "TL401/bad_pickle_module.py": [("TL401", 6, 11, "warning"), ("TL401", 7, 13, "warning")],
    "TL401/good_explicit.py": [],
    "TL402/bad_seed001_numpy.py": [("TL402", 28, 21, "warning"), ("TL402", 29, 20, "warning"),
                                   ("TL402", 30, 17, "warning")],
    "TL402/bad_incremental_dict.py": [("TL402", 14, 24, "warning"), ("TL402", 15, 21, "warning")],
    "TL402/good_converted.py": [],
    "TL402/good_trusted_load.py": [],
    "TL402/good_safe_globals.py": [],
}


def test_every_rule_has_bad_and_good_fixtures():
    for code in ("TL401", "TL402"):
        names = [path.name for path in (FIXTURES / code).glob("*.py")]
        assert any(n.startswith("bad_") for n in names) and any(n.startswith("good_") for n in names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rule_fixture(name):
    assert fixture_findings(name) == sorted(EXPECTED[name])


@pytest.mark.parametrize("name", ["TL401/bad_seed001.py", "TL401/bad_aliases.py"])
def test_tl401_safe_fix_on_torch_26_and_later(tmp_path, name):
    assert_fix(tmp_path, name, unsafe=False, requirements="torch>=2.6\n")


def test_tl401_fix_is_unsafe_below_torch_26(tmp_path):
    table = {"target-torch": "2.5"}
    report = check(FIXTURES / "TL401" / "bad_seed001.py", table, select=["TL401"])
    (diagnostic,) = report.diagnostics
    assert diagnostic.fix.applicability.value == "unsafe"
    assert "on torch 2.5 (target-torch in " in diagnostic.message
    assert "it unpickles arbitrary objects" in diagnostic.message
    target = tmp_path / "bad_seed001.py"
    shutil.copyfile(FIXTURES / "TL401" / "bad_seed001.py", target)
    assert check(target, table, select=["TL401"], fix=True).fixed == 0
    assert_fix(tmp_path, "TL401/bad_seed001.py", unsafe=True, table=table)


def test_tl401_pickle_module_and_kwargs():
    report = check(FIXTURES / "TL401" / "bad_pickle_module.py", select=["TL401"])
    pickled, kwargs = report.diagnostics
    assert "pickle_module=" in pickled.message
    assert pickled.fix.applicability.value == "unsafe"
    assert pickled.fix.edits[0].content == ", weights_only=False"
    assert kwargs.fix is None and "**kwargs" in kwargs.message


def test_tl401_json_through_the_cli():
    path = FIXTURES / "TL401" / "bad_seed001.py"
    code, findings, _ = run_json("check", str(path), "--select", "TL401")
    assert code == 1
    (finding,) = findings
    assert finding["location"] == {"row": 8, "column": 18}
    assert finding["end_location"] == {"row": 8, "column": 59}
    assert "torch >=2.1 from pyproject.toml: `weights_only` defaults to False on 2.1-2.5" \
        in finding["message"]
    assert finding["fix"]["applicability"] == "unsafe"  # the project allows torch before 2.6
    assert finding["fix"]["edits"] == [{"content": ", weights_only=True",
                                        "location": {"row": 8, "column": 58},
                                        "end_location": {"row": 8, "column": 58}}]


def test_tl401_is_info_where_every_allowed_version_loads_weights_only(tmp_path):
    """Nothing differs between torch 2.6 and later: the call is worth a note and the safe fix
    that writes the default out, not a warning."""
    path = tmp_path / "evaluate.py"
    shutil.copyfile(FIXTURES / "TL401" / "bad_seed001.py", path)
    (tmp_path / "requirements.txt").write_text("torch>=2.6\n", encoding="utf-8")
    (finding,) = check(path, select=["TL401"]).diagnostics
    assert finding.severity.value == "info" and finding.fix.applicability.value == "safe"


def test_tl402_messages_name_the_object_and_the_load_line():
    report = check(FIXTURES / "TL402" / "bad_seed001_numpy.py", select=["TL402"])
    messages = [d.message for d in report.diagnostics]
    assert "a numpy value (`np.mean(losses)`) under \"val_loss\"" in messages[0]
    assert "a numpy value (`wers.mean()`)" in messages[1]
    assert "argparse.Namespace" in messages[2]
    assert all("line 32" in m for m in messages)


# ------------------------------------------------------------------ TL402 across files

# "val_wer": wers.mean() and "args": args (from get_args(), a parsed Namespace) in train_teacher.py
TEACHER_FINDINGS = [("TL402", 22, 64, "warning"), ("TL402", 22, 85, "warning")]


@pytest.mark.parametrize("checked", ["teacher_student_bad", "teacher_student_bad/train_teacher.py"])
def test_tl402_links_a_save_to_the_load_in_another_script(checked):
    """The folder, or the teacher's script alone (the student's load is then read from the
    project, as in a pre-commit run that stages only train_teacher.py)."""
    report = check(FIXTURES / "TL402" / checked, select=["TL402"])
    assert found(report, ["TL402"]) == TEACHER_FINDINGS
    numpy_value, namespace = report.diagnostics
    assert all(d.path.endswith("train_teacher.py") for d in report.diagnostics)
    assert "distill_student.py:10;" in numpy_value.message
    assert "the default from torch 2.6; torch >=2.6 from pyproject.toml" in numpy_value.message
    assert "an argparse.Namespace" in namespace.message
    assert "add_safe_globals([argparse.Namespace])" in namespace.message


def test_tl402_across_files_through_the_cli():
    teacher = FIXTURES / "TL402" / "teacher_student_bad" / "train_teacher.py"
    code, findings, _ = run_json("check", str(teacher), "--select", "TL402")
    assert code == 1
    assert [(f["code"], f["location"]) for f in findings] == [
        ("TL402", {"row": 22, "column": 64}), ("TL402", {"row": 22, "column": 85})]


@pytest.mark.parametrize("folder", ["teacher_student_good", "other_checkpoint_good"])
def test_tl402_quiet_across_files(folder):
    """Converted values; or the student loads another checkpoint than the one saved."""
    assert check(FIXTURES / "TL402" / folder, select=["TL402"]).diagnostics == []


def test_tl402_load_in_the_student_is_not_reported_when_only_it_is_checked():
    student = FIXTURES / "TL402" / "teacher_student_bad" / "distill_student.py"
    assert check(student, select=["TL402"]).diagnostics == []


def test_tl402_across_files_stops_at_the_project(tmp_path):
    """A load in another project (a folder with its own pyproject.toml) is not linked."""
    source = FIXTURES / "TL402" / "teacher_student_bad"
    shutil.copytree(source, tmp_path / "teacher")
    (tmp_path / "teacher" / "distill_student.py").unlink()
    (tmp_path / "student").mkdir()
    shutil.copy(source / "distill_student.py", tmp_path / "student" / "distill_student.py")
    (tmp_path / "student" / "pyproject.toml").write_text("[project]\nname = 's'\n")
    assert check(tmp_path, select=["TL402"]).diagnostics == []
    (tmp_path / "student" / "pyproject.toml").unlink()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'both'\n")
    (tmp_path / "teacher" / "pyproject.toml").unlink()
    assert found(check(tmp_path, select=["TL402"]), ["TL402"]) == TEACHER_FINDINGS


def test_tl402_across_files_suppression_and_unused_suppression(tmp_path):
    """A `# noqa: TL402` at the save silences the linked finding, and TL009 does not call it
    unused (the per-file check cannot know that another file needs it)."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "TL402" / "teacher_student_bad", project)
    teacher = project / "train_teacher.py"
    lines = teacher.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[21] = lines[21].rstrip("\n") + "  # noqa: TL402\n"
    teacher.write_text("".join(lines), encoding="utf-8")
    report = check(teacher, select=["TL402", "TL009"])
    assert report.diagnostics == []
    assert check(teacher, select=["TL402", "TL009"], fix=True).fixed == 0


def test_suppression_comment_silences_tl401(tmp_path):
    path = tmp_path / "train.py"
    path.write_text("import torch\nstate = torch.load(p)  # noqa: TL401\n", encoding="utf-8")
    assert check(path, select=["TL401"]).diagnostics == []


def test_a_huge_generated_script_stays_linear(tmp_path):
    """10,000 findings in one generated file: no rule may rescan the file per finding."""
    lines = ["import torch", "from torch import nn", "crit = nn.CrossEntropyLoss(reduction='sum')"]
    lines += [f"state{i} = torch.load(p{i})" for i in range(5000)]
    lines += [f"loss{i} = crit(torch.softmax(a{i}, -1).view(-1, 9), b) / batch_size"
              for i in range(2500)]
    path = tmp_path / "generated.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import time

    start = time.perf_counter()
    report = check(path, select=SCRIPT_RULE_CODES)
    assert time.perf_counter() - start < 60
    assert not report.errors
    codes = [d.code for d in report.diagnostics]
    assert codes.count("TL401") == 5000 and codes.count("TL603") == 2500


# ------------------------------------------------------------------ TL402 recall

RECALL_BAD = [  # (file, line, column, what the message names)
    ("train.py", 25, 58, "`save_on_master` stores an argparse.Namespace"),  # helper in utils.py
    ("train.py", 26, 59, "`accelerator.save` stores an OmegaConf DictConfig"),
    ("train.py", 27, 56, "`fabric.save` stores a numpy RNG state"),  # the module itself is fine
    ("train.py", 28, 53, "`xm.save` stores a TrainConfig instance"),  # dataclass of config.py
    ("train.py", 30, 16, "`torch.save` stores a whole nn.Module (a Net"),  # class of models.py
    ("trainer.py", 11, 63, "an argparse.Namespace (`args`: the project parses its arguments"),
]


@pytest.mark.parametrize("checked", ["", "train.py"])
def test_tl402_saves_through_wrappers_helpers_and_classes_of_the_project(checked):
    """Each save holds one object; the load is evaluate.py's. Checking train.py alone finds
    the helpers, classes and the load in the project's other files."""
    report = check(FIXTURES / "TL402" / "recall_bad" / checked, select=["TL402"])
    assert not report.errors
    got = [(Path(d.path).name, d.span.line, d.span.col) for d in report.diagnostics]
    expected = [(name, line, col) for name, line, col, _ in RECALL_BAD
                if not checked or name == checked]
    assert got == expected
    for diagnostic in report.diagnostics:
        text = next(what for name, line, _, what in RECALL_BAD if line == diagnostic.span.line)
        assert text in diagnostic.message
        assert "recall_bad/evaluate.py:6; the default from torch 2.6" in diagnostic.message


def test_tl402_keeps_its_precision_on_plain_saves():
    """vars(args), random.getstate(), torch RNG states, a numpy Generator's state dict, a
    module through fabric.save, numbers, strings and lists; `args` in a project that never
    parses arguments."""
    assert check(FIXTURES / "TL402" / "recall_good", select=["TL402"]).diagnostics == []


def _project(root: Path, files: dict[str, str]) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "requirements.txt").write_text("torch>=2.6\n", encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


SAVES_NUMPY = ("import numpy as np\nimport torch\n\n"
               "def save(rank):\n    torch.save({'x': np.zeros(3)}, f'rng_state_{rank}.pth')\n")


@pytest.mark.parametrize("loaded,linked", [("common.pt", False), ("rng_state_0.pth", True)])
def test_tl402_an_f_string_name_is_a_pattern(tmp_path, loaded, linked):
    project = _project(tmp_path, {"train.py": SAVES_NUMPY,
                                  "evaluate.py": f"import torch\nstate = torch.load('{loaded}')\n"})
    assert bool(check(project, select=["TL402"]).diagnostics) is linked


def test_tl402_names_the_nearest_load_and_stops_at_a_folder_with_its_own_requirements(tmp_path):
    load = "import sys\nimport torch\nstate = torch.load(sys.argv[1])\n"
    project = _project(tmp_path, {"dcgan/main.py": load, "sine/generate.py": SAVES_NUMPY,
                                  "sine/train.py": load})
    (finding,) = check(project, select=["TL402"]).diagnostics
    assert f"sine{os.sep}train.py:3;" in finding.message
    (project / "sine" / "train.py").unlink()
    assert "dcgan" in check(project, select=["TL402"]).diagnostics[0].message
    (project / "sine" / "requirements.txt").write_text("torch<2.6\n", encoding="utf-8")
    assert check(project, select=["TL402"]).diagnostics == []  # its own project: no load there


def test_checkpoints_of_test_modules_are_not_linked_to_the_project_and_parameters_are_tensors(
        tmp_path):
    """A test that saves a toy Namespace says nothing about the project's checkpoints; an
    nn.Parameter is a tensor that weights-only loading rebuilds."""
    load = "import sys\nimport torch\nstate = torch.load(sys.argv[1])\n"
    project = _project(tmp_path, {
        "tests/test_io.py": ("import argparse\nimport torch\n\ndef test_save(tmp_path):\n"
                             "    torch.save(argparse.Namespace(a=1), tmp_path / 'x.pt')\n"),
        "export.py": ("import torch\n\ndef export(t, path):\n"
                      "    torch.save({'w': torch.nn.Parameter(t)}, path)\n"),
        "evaluate.py": load})
    (load_finding,) = check(project / "evaluate.py", select=["TL401"]).diagnostics
    assert "may read" not in load_finding.message
    assert load_finding.fix.edits[0].content == ", weights_only=True"
    assert check(project, select=["TL402"]).diagnostics == []


def test_tl402_a_module_moved_with_to_is_still_the_module(tmp_path):
    project = _project(tmp_path, {
        "model.py": "from torch import nn\n\n\nclass Net(nn.Module):\n    pass\n",
        "train.py": ("import torch\nfrom model import Net\n\nmodel = Net().to('cuda')\n"
                     "torch.save(model, 'model.pt')\nx = torch.zeros(2).cpu()\n"
                     "torch.save({'x': x, 'y': x.to('cpu')}, 'x.pt')\n"),
        "evaluate.py": "import torch\n\nmodel = torch.load('model.pt')\nx = torch.load('x.pt')\n"})
    (finding,) = check(project, select=["TL402"]).diagnostics
    assert "a whole nn.Module (a Net" in finding.message and finding.span.line == 5


# ------------------------------------------------------------------ what a project scan reads

BOUNDED_PROJECT = {
    "train.py": ("import argparse\nimport torch\nfrom utils import save_on_master\n\n"
                 "args = argparse.ArgumentParser().parse_args()\n"
                 "save_on_master({'args': args}, 'ckpt.pt')\n"
                 "torch.save({'cfg': argparse.Namespace(lr=1)}, 'ckpt.pt')\n"),
    "utils.py": "import torch\n\n\ndef save_on_master(obj, path):\n    torch.save(obj, path)\n",
    "evaluate.py": "import torch\n\nstate = torch.load('ckpt.pt')\n",
    "model.py": "import torch\n\n\nclass Net(torch.nn.Module):\n    pass\n",
    "data.py": "def save_to_cache(items):\n    return list(items)\n",
    "tests/test_evaluate.py": "import torch\n\n\ndef test_load():\n    torch.load('ckpt.pt')\n",
}


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files parsed in a run (by name): the checked ones and those a project scan reads."""
    from trainlint.load import Loader

    names: list[str] = []
    original = Loader.from_bytes

    def recording(self, path, data, *args, **kwargs):
        names.append(Path(path).as_posix().rsplit("/", 2)[-1] if "/tests/" not in
                     Path(path).as_posix() else "tests/" + Path(path).name)
        return original(self, path, data, *args, **kwargs)

    monkeypatch.setattr(Loader, "from_bytes", recording)
    return names


def test_tl402_a_check_of_one_file_parses_only_the_files_that_can_matter(tmp_path, parsed):
    """train.py alone (a pre-commit run): its helper's file and the load's are read; a model,
    a function named save_... of another kind, and a test's load are not parsed; torch.save
    and argparse.Namespace are no helpers or classes to look for across the project."""
    project = _project(tmp_path, BOUNDED_PROJECT)
    report = check(project / "train.py", select=["TL402"])
    assert [(d.span.line, d.span.col) for d in report.diagnostics] == [(6, 25), (7, 20)]
    assert all("evaluate.py:3;" in d.message for d in report.diagnostics)
    assert sorted(parsed) == ["evaluate.py", "train.py", "utils.py"]


def test_tl402_reads_test_code_for_test_code_or_with_include_tests(tmp_path, parsed):
    project = _project(tmp_path, BOUNDED_PROJECT)
    check(project / "train.py", {"include-tests": True}, select=["TL402"])
    assert sorted(parsed) == ["evaluate.py", "tests/test_evaluate.py", "train.py", "utils.py"]


def test_tl402_reads_nothing_else_where_the_checked_files_settle_every_save(tmp_path, parsed):
    """The save's load is in a checked file: no other file is read, however many there are."""
    project = _project(tmp_path, BOUNDED_PROJECT)
    report = check(project / "train.py", select=["TL402"])
    parsed.clear()
    both = check_paths_of(project, ["train.py", "utils.py", "evaluate.py"], ["TL402"])
    assert [(d.span.line, d.span.col) for d in both.diagnostics] == \
        [(d.span.line, d.span.col) for d in report.diagnostics]
    assert sorted(parsed) == ["evaluate.py", "train.py", "utils.py"]


def test_tl401_project_scan_skips_test_code_for_a_script(tmp_path, parsed):
    """TL401's look for saves of objects (the fix it may offer) reads the files that save;
    a test's saves are its own, so test code is read only for a test."""
    project = _project(tmp_path, {**BOUNDED_PROJECT, "tests/test_io.py": (
        "import argparse\nimport torch\n\n\ndef test_save(tmp_path):\n"
        "    torch.save(argparse.Namespace(a=1), tmp_path / 'x.pt')\n")})
    (finding,) = check(project / "evaluate.py", select=["TL401"]).diagnostics
    assert "train.py:7, which holds an argparse.Namespace" in finding.message
    assert "tests/test_io.py" not in parsed and "tests/test_evaluate.py" not in parsed
    parsed.clear()
    check(project / "tests" / "test_evaluate.py", select=["TL401"])
    assert "tests/test_io.py" in parsed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the scan parses on several cores by fork")
def test_tl401_project_scan_on_several_cores_finds_what_one_process_finds(tmp_path, monkeypatch):
    """A project whose saving files are many bytes is parsed on every core (the scan of a
    one-file check would otherwise hold the other cores idle): the same finding, and the
    files that hold no save are read here and never parsed."""
    import trainlint.parallel as parallel
    import trainlint.project_scan as project_scan

    project = _project(tmp_path, {**BOUNDED_PROJECT, **{
        f"saver{i}.py": f"import torch\n\n\ndef keep{i}(x):\n    torch.save(x, 'other{i}.pt')\n"
        for i in range(6)}})
    serial = check(project / "evaluate.py", select=["TL401"]).diagnostics
    project_scan._ANALYSED.clear()
    maps = []
    real_map = parallel.map_forked

    def counting_map(function, items, *args):
        maps.append(sorted(Path(item).name for item in items))
        return real_map(function, items, *args)

    monkeypatch.setattr(parallel, "SCAN_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "map_forked", counting_map)
    forked = check(project / "evaluate.py", select=["TL401"]).diagnostics
    assert [(d.span.line, d.message) for d in forked] == [(d.span.line, d.message) for d in serial]
    assert "train.py:7, which holds an argparse.Namespace" in forked[0].message
    assert maps[0] == sorted(["train.py", "utils.py", *(f"saver{i}.py" for i in range(6))])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="checks on several cores by fork")
def test_files_with_a_load_are_checked_in_one_process_so_the_project_is_scanned_once(
        tmp_path, monkeypatch):
    """TL401 reads the project's saves for each load (shared_work_needles): a run on several
    cores checks every file of a project with a torch.load in one process, where the scan is
    made once, then the files the scan parses (shared_work_parses: a `save(` call), which
    reuse its parse, and deals the other files to the other processes."""
    import trainlint.engine as engine
    import trainlint.parallel as parallel

    files = {**BOUNDED_PROJECT, **{f"loader{i}.py": f"import torch\n\nm{i} = torch.load('ckpt.pt')\n"
                                   for i in range(3)},
             **{f"model{i}.py": "import torch.nn as nn\n\nlayer = nn.Linear(2, 2)\n" * 40
                for i in range(6)}}
    project = _project(tmp_path, files)
    calls = []
    real_map = parallel.map_forked
    monkeypatch.setattr(engine, "PARALLEL_MIN_WORK", 16)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "map_forked", lambda function, items, weights, processes,
                        groups=(): calls.append((items, groups))
                        or real_map(function, items, weights, processes, groups))
    report = check(project, select=["TL401"])
    items, groups = calls[-1]
    assert len(groups) == 1
    together = [Path(items[i]).name for i in groups[0]]
    assert sorted(together[:5]) == [
        "evaluate.py", "loader0.py", "loader1.py", "loader2.py", "test_evaluate.py"]
    assert sorted(together[5:]) == ["train.py", "utils.py"]
    assert sorted(Path(d.path).name for d in report.diagnostics) == [
        "evaluate.py", "loader0.py", "loader1.py", "loader2.py", "test_evaluate.py"]
    assert all("train.py:7, which holds an argparse.Namespace" in d.message
               for d in report.diagnostics if "test_" not in d.path)


def test_a_file_the_project_scan_parsed_is_checked_without_parsing_it_again(
        tmp_path, monkeypatch):
    """The check of evaluate.py scans the project for saves, parsing train.py and utils.py;
    checked later in the same process, they reuse that tree and index. The findings are those
    of a run that parses every file for itself."""
    import trainlint.load as load
    import trainlint.parallel as parallel
    import trainlint.project_scan as project_scan
    from trainlint.formats.python.ast_index import ParsedScript

    project = _project(tmp_path, BOUNDED_PROJECT)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 1)
    parses: list[str] = []
    original = ParsedScript.parse.__func__

    def counting(cls, path, *args, **kwargs):
        parses.append(Path(path).name)
        return original(cls, path, *args, **kwargs)

    monkeypatch.setattr(ParsedScript, "parse", classmethod(counting))
    reused = check(project, select=["TL401", "TL402"]).diagnostics
    assert sorted(parses) == sorted(set(parses))  # no file parsed twice
    assert {"train.py", "utils.py", "evaluate.py"} <= set(parses)
    assert not load._KEPT_SCRIPTS  # each kept tree was taken by its file's check

    monkeypatch.setattr(load, "KEPT_SCRIPT_CHARACTERS", 0)  # keep nothing: parse again
    monkeypatch.setattr(project_scan, "_ANALYSED", {})  # the scan's answers, kept for a run
    parses.clear()
    again = check(project, select=["TL401", "TL402"]).diagnostics
    assert parses.count("train.py") >= 2  # the scans (saves, then the helper's callers), the check
    assert [(d.path, d.code, d.span, d.message) for d in reused] == \
        [(d.path, d.code, d.span, d.message) for d in again]
    assert any("train.py:7, which holds an argparse.Namespace" in d.message for d in reused)


def test_a_kept_tree_of_other_text_is_not_reused(tmp_path):
    """A file that changed between the scan and its check (a fix written meanwhile) is
    parsed again: the kept tree is used only for the very same text."""
    from trainlint.load import Loader, keep_for_check

    path = tmp_path / "train.py"
    path.write_text("import torch\n\ntorch.save({}, 'a.pt')\n", encoding="utf-8")
    loader = Loader()
    kept = loader.load(str(path), views=False).script
    keep_for_check(kept)
    path.write_text("import torch\n\ntorch.save({}, 'b.pt')\n", encoding="utf-8")
    script = loader.load(str(path)).script
    assert script.tree is not kept.tree
    assert "b.pt" in script.source(script.calls[0])

    keep_for_check(script)
    again = loader.load(str(path)).script
    assert again.tree is script.tree and again is not script  # the same text: reused
    assert again.path == str(path) and again.calls == script.calls


def check_paths_of(root: Path, names: list[str], select: list[str]):
    from trainlint.engine import RunOptions, check_paths
    from trainlint.settings import load_settings

    return check_paths([str(root / name) for name in names], load_settings(root),
                       RunOptions(select=select))


WORD_EDGE_CASES = ["save(x)", "xsave(x)", "_save (x)", "torch.save  (x)", "é_load(x)", "éload(x)",
                   "save_on_master(obj)", "reload(m)", "loads(s)", "load\n(p)",
                   "class A:\nclass B(nn.Module):\n  class C:", "  class D:", "xclass E:"]


def test_the_fast_text_tests_agree_with_their_word_boundary_patterns():
    """saves_or_loads, calls_save and text_facts find literals first and check the word
    boundary by hand: the same answers as `\\b...` / `^...` patterns (on the edge cases and
    every Python fixture), at memchr speed."""
    import re

    from trainlint.rules.checkpoint._checkpoints import saves_or_loads, text_facts
    from trainlint.rules.checkpoint._project_files import calls_save

    texts = WORD_EDGE_CASES + [path.read_text(encoding="utf-8", errors="replace")
                               for path in sorted(FIXTURES.rglob("*.py"))]
    for text in texts:
        assert saves_or_loads(text) == bool(re.search(r"\b(?:load|save\w*)\s*\(", text)), text
        data = text.encode()
        assert calls_save(data) == bool(re.search(rb"\bsave\s*\(", data)), text
        classes = {m.group(1): "Module" in (m.group(2) or "") for m in re.finditer(
            r"^class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?[ \t]*:", text, re.MULTILINE)}
        assert text_facts(text).classes == classes, text
