"""Derived quantities and their provenance, on views the real parsers build."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainlint.context import ProjectContext
from trainlint.derive import derive, run_epochs
from trainlint.load import Loader
from trainlint.schemas import sanitize


def view_of(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    parsed = Loader().load(str(path))
    assert parsed.views, f"{name} was not read as a training config"
    view = parsed.views[0]
    view.invalid = sanitize(view)
    return view


def derived_of(tmp_path, name, text, **project):
    return derive(view_of(tmp_path, name, text), ProjectContext(**project))


HF = """{
  "output_dir": "out",
  "num_train_epochs": 3,
  "per_device_train_batch_size": 32,
  "gradient_accumulation_steps": 8,
  "learning_rate": 5e-5,
  "warmup_ratio": 0.1
}
"""


def test_effective_batch_provenance_names_every_factor(tmp_path):
    derived = derived_of(tmp_path, "hf.json", HF)
    assert derived.effective_batch.value == 256
    assert derived.effective_batch.provenance == (
        "32 (per_device_train_batch_size, hf.json:4) x 8 (gradient_accumulation_steps, hf.json:5)"
        " x 1 (world size unknown: per GPU-count N; set world-size)")
    assert not derived.world_size_known


def test_world_size_setting_multiplies_and_is_named(tmp_path):
    derived = derived_of(tmp_path, "hf.json", HF, world_size=4)
    assert derived.effective_batch.value == 1024
    assert derived.effective_batch.provenance.endswith("x 4 (setting `world-size`)")
    assert derived.world_size_known


def test_steps_per_epoch_and_total_from_dataset_size(tmp_path):
    derived = derived_of(tmp_path, "hf.json", HF, dataset_size=10_000)
    assert derived.steps_per_epoch.value == 40  # ceil(10000 / 256)
    assert derived.steps_per_epoch.provenance.startswith("ceil(10000 (setting `dataset-size`)")
    assert derived.total_steps.value == 120
    assert derived.warmup_steps.value == 12  # ceil(0.1 x 120), as the HF Trainer rounds
    assert derived.warmup_share.value == pytest.approx(0.1)


def test_unknown_dataset_size_leaves_steps_unknown(tmp_path):
    derived = derived_of(tmp_path, "hf.json", HF)
    assert derived.steps_per_epoch is None and derived.total_steps is None
    assert derived.warmup_share.value == pytest.approx(0.1)  # a ratio needs no total


def test_hf_max_steps_overrides_epochs(tmp_path):
    text = HF.replace('"num_train_epochs": 3,', '"num_train_epochs": 3, "max_steps": 500,')
    derived = derived_of(tmp_path, "hf.json", text, dataset_size=10_000)
    assert derived.total_steps.value == 500
    assert derived.total_steps.source.key == "max_steps"


def test_hf_max_steps_minus_one_is_unset(tmp_path):
    text = HF.replace('"num_train_epochs": 3,', '"num_train_epochs": 3, "max_steps": -1,')
    derived = derived_of(tmp_path, "hf.json", text, dataset_size=10_000)
    assert derived.total_steps.value == 120


def test_config_steps_per_epoch_wins_over_dataset_size(tmp_path):
    text = "lr: 2.0e-3\nwarmup_steps: 15000\nnepochs: 60\nnum_iters_per_epoch: 2000\n"
    derived = derived_of(tmp_path, "asr.yaml", text, dataset_size=1_000_000)
    assert derived.steps_per_epoch.value == 2000
    assert derived.total_steps.value == 120_000
    assert derived.total_steps.provenance == (
        "60 (nepochs, asr.yaml:3) x 2000 (num_iters_per_epoch, asr.yaml:4)")
    assert derived.warmup_share.value == pytest.approx(0.125)


def test_espnet_batch_is_a_total_across_gpus(tmp_path):
    text = ("encoder: conformer\ndecoder: transformer\nbatch_type: folded\nbatch_size: 64\n"
            "accum_grad: 2\nngpu: 8\nmax_epoch: 50\n")
    derived = derived_of(tmp_path, "espnet.yaml", text, world_size=8)
    assert derived.effective_batch.value == 128
    assert "total across GPUs" in derived.effective_batch.provenance
    assert derived.world_size is None


def test_espnet_batch_bins_are_bins_not_samples(tmp_path):
    text = "encoder: conformer\ndecoder: transformer\nbatch_type: numel\nbatch_bins: 4000000\nmax_epoch: 50\n"
    derived = derived_of(tmp_path, "espnet.yaml", text, dataset_size=1000)
    assert derived.effective_batch.unit == "bins"
    assert derived.steps_per_epoch is None  # bins cannot divide a sample count


def test_nanogpt_accumulation_is_global(tmp_path):
    text = "batch_size = 12\nblock_size = 1024\ngradient_accumulation_steps = 40\nmax_iters = 600000\n" \
           "lr_decay_iters = 600000\nlearning_rate = 6e-4\n"
    derived = derived_of(tmp_path, "train_gpt2.py", text, world_size=8)
    assert derived.effective_batch.value == 480


def test_lightning_devices_times_nodes(tmp_path):
    text = ("trainer:\n  devices: 4\n  num_nodes: 2\n  accumulate_grad_batches: 2\n  max_epochs: 10\n"
            "data:\n  class_path: dm.Data\n  init_args:\n    batch_size: 64\n")
    derived = derived_of(tmp_path, "config.yaml", text)
    assert derived.effective_batch.value == 64 * 2 * 8
    assert derived.world_size_known


def test_lightning_devices_auto_is_unknown_not_an_error(tmp_path):
    text = "trainer:\n  devices: auto\n  max_epochs: 10\ndata:\n  init_args:\n    batch_size: 64\n"
    view = view_of(tmp_path, "config.yaml", text)
    assert view.invalid == []
    derived = derive(view, ProjectContext())
    assert derived.effective_batch.value == 64 and not derived.world_size_known


def test_tensor_parallel_that_does_not_divide_world_is_a_problem(tmp_path):
    text = ('[job]\ndump_folder = "out"\n[training]\nlocal_batch_size = 8\nsteps = 1000\n'
            "[parallelism]\ntensor_parallel_degree = 3\n")
    derived = derived_of(tmp_path, "job.toml", text, world_size=4)
    assert derived.effective_batch is None
    assert [p.name for p in derived.problems] == ["batch.tensor_parallel"]
    assert "does not divide the world size 4" in derived.problems[0].reason


def test_tensor_parallel_shrinks_data_parallel_size(tmp_path):
    text = ('[job]\ndump_folder = "out"\n[training]\nlocal_batch_size = 8\nsteps = 1000\n'
            "[parallelism]\ntensor_parallel_degree = 2\n")
    derived = derived_of(tmp_path, "job.toml", text, world_size=8)
    assert derived.effective_batch.value == 32


def test_decay_horizon_is_warmup_plus_cosine(tmp_path):
    text = ("args = {}\nargs['batchSize'] = 32\nargs['peak_lr'] = 0.001\nargs['warmup_steps'] = 1500\n"
            "args['cosine_steps'] = 18500\nargs['nBatch'] = 20000\n")
    derived = derived_of(tmp_path, "run16_5.py", text)
    assert derived.decay_horizon.value == 20000
    assert derived.total_steps.value == 20000


def test_first_lr_is_peak_times_start_factor(tmp_path):
    text = "lr: 5.0e-4\nepochs: 100\nwarmup_epochs: 5\nwarmup_start_factor: 0.1\n"
    derived = derived_of(tmp_path, "train.yaml", text)
    assert derived.first_lr.value == pytest.approx(5e-5)
    assert "0.1 (start factor, train.yaml:4)" in derived.first_lr.provenance
    assert derived.warmup_epochs.value == 5


@pytest.mark.parametrize("name,text,project,expected", [
    ("a.yaml", "lr: 0.001\nepochs: 3\n", {"model_type": "llm-lora"}, "llm-lora"),
    ("a.yaml", "encoder: conformer\nlr: 0.001\nepochs: 3\n", {}, "conformer"),
    ("a.json", '{"model_type": "ltg_bert", "objective": "mlm", "learning_rate": 1e-4, "batch_size": 8}', {},
     "bert-mlm"),
    ("a.json", '{"model_type": "bert", "mlm_probability": 0.15, "learning_rate": 1e-4, "batch_size": 8}', {},
     "bert-mlm"),
    ("a.yaml", "base_model: x\nadapter: qlora\nmicro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 0.0002\n",
     {}, "llm-lora"),
    ("a.yaml", "base_model: x\nmicro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 0.00002\nsequence_len: 512\n",
     {}, "llm-finetune"),
    ("a.py", "args = {}\nargs['lrStart'] = 0.02\nargs['lrEnd'] = 0.02\nargs['nBatch'] = 10000\n", {}, "rnn-ctc"),
    # setting wins over evidence
    ("a.yaml", "encoder: conformer\nlr: 0.001\nepochs: 3\n", {"model_type": "ctc"}, "ctc"),
])
def test_model_type_evidence(tmp_path, name, text, project, expected):
    assert derived_of(tmp_path, name, text, **project).model_type.value == expected


@pytest.mark.parametrize("text", [
    '{"model_type": "bert", "learning_rate": 2e-5, "batch_size": 8}',  # fine-tuning: no MLM evidence
    '{"learning_rate": 2e-5, "batch_size": 8}',
])
def test_no_evidence_no_model_type(tmp_path, text):
    assert derived_of(tmp_path, "a.json", text).model_type is None


@pytest.mark.parametrize("name,family", [
    ("torch.optim.AdamW", "adam"), ("paged_adamw_8bit", "adam"), ("FusedLamb", "lamb"),
    ("adafactor", "adafactor"), ("lion_8bit", "lion"), ("ScaledAdam", "scaledadam"), ("sgd", "sgd"),
])
def test_optimizer_family(tmp_path, name, family):
    text = f"optimizer: {name}\nlr: 0.001\nepochs: 3\n"
    assert derived_of(tmp_path, "a.yaml", text).optimizer_family.value == family


def test_lightning_patience_counts_validation_checks(tmp_path):
    text = ("trainer:\n  max_epochs: 100\n  check_val_every_n_epoch: 2\n  callbacks:\n"
            "    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
            "      init_args:\n        monitor: val_loss\n        patience: 5\n")
    patience = derived_of(tmp_path, "config.yaml", text).stopping_patience
    assert (patience.rounds, patience.epochs, patience.unit) == (5, 10, "validation checks")


def test_lightning_default_patience_is_three(tmp_path):
    text = ("trainer:\n  max_epochs: 100\n  callbacks:\n"
            "    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
            "      init_args:\n        monitor: val_loss\n")
    patience = derived_of(tmp_path, "config.yaml", text).stopping_patience
    assert patience.default and patience.rounds == 3 and patience.source is None


def test_hf_patience_counts_evaluations(tmp_path):
    text = ('{"output_dir": "o", "per_device_train_batch_size": 16, "num_train_epochs": 50,\n'
            ' "eval_strategy": "steps", "eval_steps": 500, "early_stopping_patience": 4}\n')
    patience = derived_of(tmp_path, "a.json", text, dataset_size=16000).stopping_patience
    assert patience.unit == "evaluations"
    assert patience.epochs == pytest.approx(4 * 500 / 1000)


def test_plateau_default_patience_is_ten(tmp_path):
    text = "lr: 0.001\nepochs: 50\nscheduler: reduce_lr_on_plateau\n"
    plateau = derived_of(tmp_path, "a.yaml", text).plateau_patience
    assert plateau.default and plateau.epochs == 10


def test_run_epochs_from_steps(tmp_path):
    text = "lr: 0.001\nmax_steps: 5000\nsteps_per_epoch: 500\n"
    assert run_epochs(derived_of(tmp_path, "a.yaml", text)).value == 10


def test_derive_is_cached_and_rows_are_displayable(tmp_path):
    view = view_of(tmp_path, "hf.json", HF)
    project = ProjectContext(dataset_size=10_000)
    first = derive(view, project)
    assert derive(view, project) is first
    rows = dict((name, (value, provenance)) for name, value, provenance in first.rows())
    assert rows["effective batch"][0] == "256 samples"
    assert rows["total steps"] == ("120 steps", "3 (num_train_epochs, hf.json:3) x 40 steps = "
                                   "ceil(10000 (setting `dataset-size`) / 256 (effective batch))")
    assert view.derived["effective batch"][0] == "256 samples"
