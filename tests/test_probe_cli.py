"""`trainlint probe` from the command line: output, exit codes, bad input, settings."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch


from trainlint.probe import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "probe"
BAD = FIXTURES / "bad_factories.py"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def probe_cli(*argv: str, settings=None) -> int:
    parser = argparse.ArgumentParser(prog="trainlint probe")
    cli.add_arguments(parser)
    return cli.run(parser.parse_args(list(argv)), settings)


def test_documented_example_reports_every_measured_value(capsys):
    code = probe_cli(f"{FIXTURES}/example_classifier.py:probe_target", "--device", "cpu")
    out = capsys.readouterr().out
    assert code == 0
    for label in ("initial loss", "1.386 = ln 4", "loss after 50 steps", "LR at step 0",
                  "0.0015", "gradient norm at init", "loss on batch x2 / x4", "loss per step",
                  "All checks passed!"):
        assert label in out, label


def test_findings_exit_1_in_the_path_line_col_format(capsys):
    code = probe_cli(f"{FIXTURES}/label_smoothing_sum.py:buggy", "--no-plot")
    out = capsys.readouterr().out
    assert code == 1
    assert ("label_smoothing_sum.py:56:1: TL901 initial loss 178.6 is 51.5x its reference 3.466"
            in out)
    assert "TL907 the loss grows with the batch" in out
    assert "loss per step" not in out


def test_ctc_table_shows_the_blank_share(capsys):
    probe_cli(f"{FIXTURES}/gru_ctc_warmup.py:fixed", "--no-plot", "--steps", "5")
    out = capsys.readouterr().out
    assert "blank share at step" in out and "frame entropy / ln C" in out
    assert "CTC loss of uniform log-probs" in out


def test_json_output_is_the_shared_contract(capsys):
    code = probe_cli(f"{FIXTURES}/label_smoothing_sum.py:buggy", "--output-format", "json")
    findings = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [f["code"] for f in findings] == ["TL901", "TL907"]
    first = findings[0]
    assert set(first) >= {"code", "name", "severity", "message", "filename", "location",
                          "end_location", "fix", "url"}
    assert first["name"] == "initial-loss-out-of-range" and first["fix"] is None
    assert first["location"] == {"row": 56, "column": 1}
    assert first["filename"].endswith("label_smoothing_sum.py")


def test_steps_and_select_override(capsys):
    code = probe_cli(f"{FIXTURES}/label_smoothing_sum.py:buggy", "--steps", "3",
                     "--select", "TL907", "--output-format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(capsys.readouterr().out)] == ["TL907"]


def test_module_factory_spec(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    code = probe_cli("frozen_model:buggy", "--output-format", "json")
    findings = json.loads(capsys.readouterr().out)
    assert code == 1 and [f["code"] for f in findings] == ["TL902"]
    assert findings[0]["filename"].endswith("frozen_model.py")
    assert findings[0]["location"]["row"] == 38


@pytest.mark.parametrize("spec,expected", [
    ("fixtures/probe/no_such_file.py:factory", "no such file: fixtures/probe/no_such_file.py"),
    ("no_such_module_anywhere:factory", "no module named 'no_such_module_anywhere'"),
    (f"{BAD}:missing", "has no `missing` (it defines: "),
    (f"{BAD}:NOT_A_FUNCTION", "is a int, not a function"),
    (f"{BAD}:raises", "the factory `raises` raised KeyError: 'optimizer' (at "),
    (f"{BAD}:wrong_type", "the factory `wrong_type` returned dict, not a ProbeTarget"),
    (f"{BAD}:different_devices", "the model is on meta but batch[0] is on cpu"),
    (f"{BAD}:non_scalar_loss", "the loss returned a tensor of shape (8,), not a scalar"),
    (f"{BAD}:forward_raises", "the forward function raised RuntimeError: mat1 and mat2"),
    (f"{BAD}:no_task", "the task is not set"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, spec, expected):
    assert probe_cli(spec) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trainlint probe: error: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err


def test_verbose_shows_the_users_traceback(capsys):
    assert probe_cli(f"{BAD}:raises", "--verbose") == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and 'return {"model": nn.Linear(4, 2)}["optimizer"]' in err


def test_torch_missing_says_how_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    assert probe_cli(f"{FIXTURES}/example_classifier.py") == 2
    err = capsys.readouterr().err
    assert err.strip() == ("trainlint probe: error: the probe needs PyTorch, which is not "
                           "installed: pip install 'trainlint-ml[probe]'")


def test_unknown_device_and_bad_numbers_exit_2(capsys):
    assert probe_cli(f"{FIXTURES}/example_classifier.py", "--device", "tpu9") == 2
    assert "unknown device 'tpu9'" in capsys.readouterr().err
    assert probe_cli(f"{FIXTURES}/example_classifier.py", "--max-seconds", "0") == 2
    if not torch.cuda.is_available():
        assert probe_cli(f"{FIXTURES}/example_classifier.py", "--device", "cuda") == 2
        assert "no CUDA device is available" in capsys.readouterr().err


def test_checkpoint_is_loaded_with_weights_only(tmp_path, capsys):
    sys.path.insert(0, str(FIXTURES))
    try:
        import frozen_model
    finally:
        sys.path.remove(str(FIXTURES))
    model = frozen_model.Model()
    torch.nn.init.zeros_(model.head.weight)
    torch.nn.init.zeros_(model.head.bias)
    good = tmp_path / "model.pt"
    torch.save({"model_state_dict": model.state_dict(), "epoch": 3}, good)
    code = probe_cli(f"{FIXTURES}/frozen_model.py:fixed", "--checkpoint", str(good),
                     "--steps", "0", "--no-plot")
    out = capsys.readouterr().out
    assert code == 0
    assert "1.609 = ln 5" in out
    assert re.search(r"initial loss\s+1\.609\s", out)  # a zero head predicts uniformly

    unsafe = tmp_path / "objects.pt"
    torch.save({"model": model.state_dict(), "args": argparse.Namespace(lr=1)}, unsafe)
    assert probe_cli(f"{FIXTURES}/frozen_model.py:fixed", "--checkpoint", str(unsafe)) == 2
    err = capsys.readouterr().err
    assert "cannot load" in err and "weights_only=True" in err and "add_safe_globals" in err


def test_training_config_gives_the_vocabulary_size(tmp_path, capsys):
    config = tmp_path / "train.yaml"
    config.write_text("lr: 0.001\nbatch_size: 8\nepochs: 10\nnum_classes: 4\n", encoding="utf-8")
    factory = tmp_path / "factory.py"
    factory.write_text(
        "import torch\nfrom trainlint.probe import ProbeTarget\n\n"
        "def probe_target():\n"
        "    torch.manual_seed(0)\n"
        "    model = torch.nn.Linear(3, 4)\n"
        "    batch = (torch.randn(8, 3), torch.arange(8) % 4)\n"
        "    return ProbeTarget(model=model, batches=batch, task='classification',\n"
        "                       forward=lambda m, b: m(b[0])[:, :2],\n"
        "                       loss=lambda out, b: torch.nn.functional.cross_entropy(out, b[1] % 2))\n",
        encoding="utf-8")
    probe_cli(str(factory), "--steps", "0", "--no-plot", "--training-config", str(config))
    out = capsys.readouterr().out
    assert "ln 4" in out  # from the config, not the logits' 2 columns
    probe_cli(str(factory), "--steps", "0", "--no-plot")
    assert "ln 2" in capsys.readouterr().out


def test_settings_file_thresholds(tmp_path, capsys):
    shutil.copy(FIXTURES / "label_smoothing_sum.py", tmp_path / "factory.py")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.trainlint.rules.TL901]\nhigh_factor = 100.0\n", encoding="utf-8")
    code = probe_cli(f"{tmp_path}/factory.py:buggy", "--output-format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(capsys.readouterr().out)] == ["TL907"]


def test_importing_the_probe_does_not_import_torch():
    script = ("import sys, trainlint.probe, trainlint.probe.cli, trainlint.probe.library, "
              "trainlint.probe.findings; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_python_m_trainlint_probe_runs_the_documented_example():
    result = subprocess.run(
        [sys.executable, "-m", "trainlint", "probe",
         "fixtures/probe/example_classifier.py:probe_target", "--no-plot"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "NO_COLOR": "1", "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "initial loss" in result.stdout and "All checks passed!" in result.stdout
    assert result.stderr == ""


def test_invalid_rule_option_in_settings_is_a_usage_error(tmp_path, capsys):
    shutil.copy(FIXTURES / "frozen_model.py", tmp_path / "factory.py")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.trainlint.rules.TL902]\nmin_drop = \"a lot\"\n", encoding="utf-8")
    assert probe_cli(f"{tmp_path}/factory.py:fixed") == 2
    err = capsys.readouterr().err
    assert err.startswith("trainlint probe: error: ") and "TL902" in err and "min_drop" in err
