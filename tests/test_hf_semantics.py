"""Hugging Face Trainer semantics in derived values and TL105: `constant` drops a warmup,
`max_steps <= 0` trains by epochs, -1 sentinels are no values (fixtures/TL105, real CLI)."""

from __future__ import annotations

import shutil

from helpers import FIXTURES, run_cli, run_json
from test_derive import derived_of

TL105 = FIXTURES / "TL105"


def test_constant_schedule_with_warmup_ratio_in_a_config(tmp_path):
    path = tmp_path / "sft.yaml"
    shutil.copy(TL105 / "bad_hf_constant_warmup.yaml", path)
    _, found, _ = run_json("check", "--select", "TL105", str(path))
    assert [(d["code"], d["location"]["row"], d["location"]["column"]) for d in found] == [
        ("TL105", 8, 20)]
    assert "`lr_scheduler_type: constant` ignores `warmup_ratio: 0.1`" in found[0]["message"]
    code, _, _ = run_cli("check", "--select", "TL105", "--unsafe-fixes", str(path))
    text = path.read_text(encoding="utf-8")
    assert 'lr_scheduler_type: "constant_with_warmup"\nwarmup_ratio: 0.1\n' in text
    _, found, _ = run_json("check", "--select", "TL105", str(path))
    assert found == []


def test_constant_schedule_with_warmup_steps_in_a_launcher():
    _, found, _ = run_json("check", "--select", "TL105", str(TL105 / "hf_launch" / "run.sh"))
    assert [(d["filename"].rsplit("/", 1)[1], d["location"]["row"], d["location"]["column"])
            for d in found] == [("run.sh", 9, 25)]
    assert "ignores `warmup_steps: 500`" in found[0]["message"]
    assert found[0]["fix"]["edits"][0]["content"] == "constant_with_warmup"


def test_show_first_lr_follows_the_dropped_warmup():
    code, out, _ = run_cli("show", str(TL105 / "bad_hf_constant_warmup.yaml"))
    first = next(line for line in out.splitlines() if line.startswith("first lr"))
    assert "| 2e-05 " in first
    assert "from the first step (`lr_scheduler_type: constant` ignores `warmup_ratio`)" in first


def test_linear_warmup_starts_at_zero(tmp_path):
    derived = derived_of(tmp_path, "sft.yaml", "output_dir: out\nlearning_rate: 2.0e-5\n"
                         "per_device_train_batch_size: 8\nlr_scheduler_type: constant_with_warmup\n"
                         "warmup_steps: 100\nmax_steps: 1000\n")
    assert derived.first_lr.value == 0.0
    assert derived.warmup_ignored is None
    assert derived.warmup_steps.value == 100


def test_hf_max_steps_zero_or_negative_trains_by_epochs(tmp_path):
    for max_steps in ("0", "-1"):
        derived = derived_of(tmp_path, "hf.yaml", "output_dir: out\nlearning_rate: 2.0e-5\n"
                             "per_device_train_batch_size: 8\nnum_train_epochs: 3\n"
                             f"max_steps: {max_steps}\nwarmup_ratio: 0.1\n",
                             dataset_size=800, world_size=1)
        assert derived.total_steps.value == 300, max_steps  # 3 x ceil(800 / 8)
        assert derived.warmup_steps.value == 30


def test_world_size_sentinel_is_not_a_size(tmp_path):
    derived = derived_of(tmp_path, "run.yaml", "lr: 0.1\nbatch_size: 32\nepochs: 90\n"
                         "world_size: -1\n")
    assert not derived.world_size_known


def test_show_follows_a_config_given_positionally():
    """`train.py configs/sft.yaml` with a script that reads `sys.argv[1]` (no parser)."""
    code, out, _ = run_cli("show", str(FIXTURES / "launch" / "positional" / "run.sh"))
    assert code == 0
    read = out.splitlines()[1].split("read: ", 1)[1]
    assert read.endswith("positional/train.py, " + read.split(", ")[0].replace(
        "train.py", "configs/sft.yaml"))
    lr = next(line for line in out.splitlines() if line.startswith("optimizer.lr"))
    assert "configs/sft.yaml:2:16  learning_rate" in lr
    batch = next(line for line in out.splitlines() if line.startswith("effective batch"))
    assert "| 64 samples |" in batch


def test_show_never_wraps_a_line_of_text_however_long_the_path(tmp_path):
    """Piped output keeps each summary line whole (grep-able), even past 200 columns."""
    deep = tmp_path / ("a_long_folder_name_" * 6) / ("another_long_folder_" * 5)
    shutil.copytree(FIXTURES / "launch" / "positional", deep)
    code, out, _ = run_cli("show", str(deep / "run.sh"))
    assert code == 0
    [summary] = [line for line in out.splitlines() if line.startswith("launcher: ")]
    assert len(summary) > 200 and summary.endswith("configs/sft.yaml")
