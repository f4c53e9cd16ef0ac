"""The version-aware rules over the range a project's own files allow (fixtures/versions):
which versions are affected, how the message names the range, and whether a fix keeps the
run's behaviour over every version of it."""

from __future__ import annotations

import ast
import shutil

import pytest

from helpers import FIXTURES, check, run_json

VERSIONS = FIXTURES / "versions"
CODES = ["TL008", "TL107", "TL401", "TL402", "TL503"]


def findings(folder, codes=CODES, **options):
    report = check(folder, select=codes, **options)
    assert not report.errors, report.errors
    return report.diagnostics


def by_code(diagnostics, code):
    return [d for d in diagnostics if d.code == code]


def copied(tmp_path, name):
    target = tmp_path / name
    shutil.copytree(VERSIONS / name, target)
    return target


# ---------------------------------------------------------------- TL401 fix safety

def test_tl401_over_a_range_that_includes_25_is_unsafe_and_names_the_range(tmp_path):
    (load,) = by_code(findings(VERSIONS / "torch_from_21"), "TL401")
    assert "torch >=2.1,<2.8 from pyproject.toml: `weights_only` defaults to False on 2.1-2.5 " \
           "and True from 2.6" in load.message
    assert load.fix.applicability.value == "unsafe"
    assert load.fix.edits[0].content == ", weights_only=True"
    project = copied(tmp_path, "torch_from_21")
    assert check(project / "train.py", select=["TL401"], fix=True).fixed == 0
    check(project / "train.py", select=["TL401"], fix=True, unsafe_fixes=True)
    assert 'torch.load(path, map_location="cpu", weights_only=True)' in (
        project / "train.py").read_text(encoding="utf-8")


def test_tl401_over_a_range_from_26_is_safe(tmp_path):
    (load,) = by_code(findings(VERSIONS / "torch_from_26"), "TL401")
    assert "on torch >=2.6 from requirements.txt it loads with weights_only=True" in load.message
    assert load.fix.applicability.value == "safe"
    project = copied(tmp_path, "torch_from_26")
    assert check(project / "train.py", select=["TL401"], fix=True).fixed == 1
    text = (project / "train.py").read_text(encoding="utf-8")
    assert 'torch.load(path, map_location="cpu", weights_only=True)' in text
    ast.parse(text)


def test_tl401_a_lock_below_26_wins_over_the_declared_range():
    (load,) = by_code(findings(VERSIONS / "torch_locked_25"), "TL401")
    assert "on torch 2.5.1 locked in uv.lock it unpickles arbitrary objects" in load.message
    assert load.fix.applicability.value == "unsafe"


def test_tl401_without_a_requirement_the_fix_is_unsafe(tmp_path):
    path = tmp_path / "evaluate.py"
    path.write_text("import torch\n\nstate = torch.load('model.pt')\n", encoding="utf-8")
    (load,) = findings(path, ["TL401"])
    assert "no torch requirement found" in load.message
    assert load.fix.applicability.value == "unsafe"


def test_tl401_never_adds_weights_only_true_to_a_load_of_a_checkpoint_holding_objects(tmp_path):
    """evaluate.py loads checkpoints/best.pt, which train.py saves (through the project's
    save_checkpoint helper) with an argparse.Namespace: weights_only=True would refuse it."""
    best, pretrained = by_code(findings(VERSIONS / "objects_26"), "TL401")
    assert best.span.line == 6 and pretrained.span.line == 8
    assert "it may read the checkpoint saved at " in best.message
    assert "objects_26/train.py:9, which holds an argparse.Namespace" in best.message
    assert "so this load fails on torch 2.6-2.15" in best.message
    assert "torch.serialization.add_safe_globals([argparse.Namespace])" in best.message
    assert best.fix.applicability.value == "unsafe"
    assert [edit.content for edit in best.fix.edits] == [", weights_only=False"]
    assert "load only files you trust" in best.fix.message
    assert pretrained.fix.applicability.value == "safe"  # another checkpoint, tensors only
    project = copied(tmp_path, "objects_26")
    check(project, select=["TL401"], fix=True, unsafe_fixes=True)
    text = (project / "evaluate.py").read_text(encoding="utf-8")
    assert 'torch.load("checkpoints/best.pt", map_location="cpu", weights_only=False)' in text
    assert 'torch.load("pretrained/encoder.pt", weights_only=True)' in text


def test_tl401_sees_the_objects_when_only_the_loading_script_is_checked():
    (best, _) = by_code(findings(VERSIONS / "objects_26" / "evaluate.py", ["TL401"]), "TL401")
    assert best.fix.edits[0].content == ", weights_only=False"


def test_tl402_at_the_save_through_the_helper():
    (saved,) = by_code(findings(VERSIONS / "objects_26"), "TL402")
    assert saved.path.endswith("train.py") and (saved.span.line, saved.span.col) == (9, 59)
    assert "evaluate.py:6; the default from torch 2.6; torch >=2.6 from requirements.txt" \
        in saved.message


def test_tl402_is_quiet_for_default_loads_where_every_version_is_below_26(tmp_path):
    project = copied(tmp_path, "objects_26")
    (project / "requirements.txt").write_text("torch>=2.1,<2.6\n", encoding="utf-8")
    assert by_code(findings(project), "TL402") == []
    evaluate = project / "evaluate.py"
    evaluate.write_text(evaluate.read_text(encoding="utf-8").replace(
        'map_location="cpu"', 'map_location="cpu", weights_only=True'), encoding="utf-8")
    (saved,) = by_code(findings(project), "TL402")  # written out: refuses on every version
    assert "evaluate.py:6; written out" in saved.message


# ---------------------------------------------------------------- TL503 fix safety

def test_tl503_over_a_range_that_includes_22_has_no_fix():
    scaler, autocast = by_code(findings(VERSIONS / "torch_from_21"), "TL503")
    assert all(d.fix is None for d in (scaler, autocast))
    assert "FutureWarning on 2.4-2.7; no fix: torch >=2.1,<2.8 from pyproject.toml includes " \
           "2.1-2.2, which has no `torch.amp.GradScaler`" in scaler.message


def test_tl503_over_a_range_from_26_rewrites_and_removes_the_unused_import(tmp_path):
    scaler, autocast = by_code(findings(VERSIONS / "torch_from_26"), "TL503")
    assert scaler.fix.applicability.value == "safe" and autocast.fix.applicability.value == "safe"
    assert "remove the import it leaves unused" in scaler.fix.message
    project = copied(tmp_path, "torch_from_26")
    report = check(project / "train.py", select=["TL503"], fix=True)
    text = (project / "train.py").read_text(encoding="utf-8")
    assert report.fixed >= 1 and "torch.cuda.amp" not in text
    assert text.startswith('"""A training loop written against the PyTorch 1.x mixed-precision '
                           'API."""\nimport torch\nfrom torch.optim.lr_scheduler import '
                           'ReduceLROnPlateau\n\nscaler = torch.amp.GradScaler("cuda")\n')
    assert 'with torch.amp.autocast("cuda"):' in text
    assert check(project / "train.py", select=["TL503"], fix=True).fixed == 0


def test_tl503_keeps_an_import_that_other_code_still_uses(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch>=2.4\n", encoding="utf-8")
    path = tmp_path / "amp.py"
    path.write_text("from torch.cuda.amp import GradScaler, autocast  # amp\n\n"
                    "scaler = GradScaler()\nassert isinstance(scaler, GradScaler)\n\n\n"
                    "def f(model, x):\n    with autocast():\n        return model(x)\n",
                    encoding="utf-8")
    check(path, select=["TL503"], fix=True)
    assert path.read_text(encoding="utf-8") == (
        "import torch\nfrom torch.cuda.amp import GradScaler  # amp\n\n"
        'scaler = torch.amp.GradScaler("cuda")\nassert isinstance(scaler, GradScaler)\n\n\n'
        'def f(model, x):\n    with torch.amp.autocast("cuda"):\n        return model(x)\n')


def test_tl503_leaves_an_import_that_is_the_only_statement_of_its_block(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch>=2.4\n", encoding="utf-8")
    path = tmp_path / "amp.py"
    source = ("import torch\ntry:\n    from torch.cuda.amp import autocast\nexcept ImportError:\n"
              "    autocast = None\n\nwith autocast():\n    pass\n")
    path.write_text(source, encoding="utf-8")
    check(path, select=["TL503"], fix=True)
    fixed = path.read_text(encoding="utf-8")
    ast.parse(fixed)
    assert "    from torch.cuda.amp import autocast\n" in fixed


def test_tl503_is_quiet_where_the_lock_predates_the_deprecation(tmp_path):
    project = copied(tmp_path, "torch_locked_25")
    lock = project / "uv.lock"
    lock.write_text(lock.read_text(encoding="utf-8").replace("2.5.1", "2.3.1"), encoding="utf-8")
    assert by_code(findings(project), "TL503") == []


def test_tl503_without_a_requirement_offers_the_rewrite_as_unsafe(tmp_path):
    path = tmp_path / "amp.py"
    path.write_text("import torch\n\nscaler = torch.cuda.amp.GradScaler()\n", encoding="utf-8")
    (finding,) = findings(path, ["TL503"])
    assert "no torch requirement found" in finding.message
    assert finding.fix.applicability.value == "unsafe"


# ---------------------------------------------------------------- TL107 wording

def test_tl107_with_a_pin_names_the_range():
    (verbose,) = by_code(findings(VERSIONS / "torch_from_21"), "TL107")
    assert verbose.severity.value == "error"
    assert verbose.message.startswith("`ReduceLROnPlateau(verbose=...)`: torch >=2.1,<2.8 from "
                                      "pyproject.toml allows 2.7, where it raises TypeError")
    (locked,) = by_code(findings(VERSIONS / "torch_locked_25"), "TL107")
    assert locked.severity.value == "warning"
    assert "torch 2.5.1 locked in uv.lock allows only older versions" in locked.message


def test_tl107_without_a_pin_says_if_you_upgrade(tmp_path):
    path = tmp_path / "train.py"
    path.write_text("from torch.optim.lr_scheduler import StepLR\n\n"
                    "def make(opt):\n    return StepLR(opt, 30, verbose=True)\n", encoding="utf-8")
    (verbose,) = findings(path, ["TL107"])
    assert verbose.severity.value == "warning"
    assert verbose.message.startswith("`StepLR(verbose=...)`: if you upgrade to torch 2.7, this "
                                      "raises TypeError")
    assert verbose.fix.applicability.value == "safe"  # it only printed: every version agrees


# ---------------------------------------------------------------- TL008 wording and fixes

def test_tl008_is_quiet_where_every_allowed_version_is_4x():
    assert findings(VERSIONS / "transformers_4", ["TL008"]) == []


def test_tl008_with_a_range_that_reaches_5_is_an_error_naming_it():
    strategy, batch = findings(VERSIONS / "transformers_from_438", ["TL008"])
    assert strategy.severity.value == "error"
    assert strategy.message.startswith("transformers >=4.38 from pyproject.toml allows 5.0-5.25, "
                                       "which rejects `evaluation_strategy`")
    # eval_strategy exists from 4.41 on: renaming changes the run on 4.38-4.40
    assert strategy.fix.applicability.value == "unsafe"
    assert "transformers 4.38-4.40 does not know `eval_strategy`" in strategy.fix.message
    assert batch.fix.applicability.value == "safe"


def test_tl008_with_a_lock_on_5(tmp_path):
    strategy, batch = findings(VERSIONS / "transformers_5", ["TL008"])
    assert strategy.message.startswith("transformers 5.2.0 locked in uv.lock rejects "
                                       "`evaluation_strategy`")
    assert strategy.fix.applicability.value == "safe"
    project = copied(tmp_path, "transformers_5")
    check(project, select=["TL008"], fix=True)
    assert '"eval_strategy": "epoch"' in (project / "args.json").read_text(encoding="utf-8")


def test_tl008_without_a_pin_is_a_warning_saying_if_you_upgrade(tmp_path):
    path = tmp_path / "args.json"
    shutil.copy(VERSIONS / "transformers_5" / "args.json", path)
    strategy, batch = findings(path, ["TL008"])
    assert strategy.severity.value == "warning"
    assert strategy.message.startswith("if you upgrade to transformers 5, it rejects "
                                       "`evaluation_strategy` (TypeError at start; no "
                                       "transformers requirement found)")
    assert strategy.fix.applicability.value == "unsafe"
    assert batch.fix.applicability.value == "safe"  # per_device_* exists in every release


@pytest.mark.parametrize("setting,expected", [("4.46", []), ("5.0", ["error", "error"])])
def test_target_transformers_means_exactly_that_version(setting, expected):
    report = check(VERSIONS / "transformers_4" / "args.json", {"target-transformers": setting},
                   select=["TL008"])
    assert [d.severity.value for d in report.diagnostics] == expected


def test_the_cli_setting_beats_the_project_range():
    code, found, _ = run_json("check", str(VERSIONS / "torch_from_21" / "train.py"),
                              "--select", "TL401", "--target-torch", "2.6")
    (load,) = found
    assert "on torch 2.6 (--target-torch)" in load["message"]
    assert load["fix"]["applicability"] == "safe"


def test_tl008_warmup_ratio_is_accepted_until_5_14(tmp_path):
    """transformers 5.0-5.14 still accept (and warn about) warmup_ratio and logging_dir;
    5.15 dropped them."""
    (tmp_path / "args.yaml").write_text("output_dir: out\nper_device_train_batch_size: 8\n"
                                        "num_train_epochs: 3\nwarmup_ratio: 0.1\n",
                                        encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["transformers==5.4.0"]\n',
                                             encoding="utf-8")
    assert findings(tmp_path / "args.yaml", ["TL008"]) == []
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["transformers>=5"]\n',
                                             encoding="utf-8")
    (ratio,) = findings(tmp_path / "args.yaml", ["TL008"])
    assert ratio.message.startswith("transformers >=5 from pyproject.toml allows 5.15-5.25, "
                                    "which rejects `warmup_ratio`")
    assert "as a share of the training steps" in ratio.message and ratio.fix is None
    (tmp_path / "pyproject.toml").unlink()
    (ratio,) = findings(tmp_path / "args.yaml", ["TL008"])
    assert ratio.message.startswith("if you upgrade to transformers 5.15, it rejects "
                                    "`warmup_ratio`")
