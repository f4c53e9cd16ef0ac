"""The Trainer callbacks in real Trainers: a Hugging Face `transformers.Trainer` and a
`lightning` Trainer, on tiny models built here (no downloads). Each comes back clean on a
healthy setup with a warmup from 0, catches a planted bug, and leaves the run as it was.

transformers and lightning come with the `dev` extra, so none of these tests skips.
"""

from __future__ import annotations

import sys

import lightning.pytorch as pl
import pytest
import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

from trainlint.probe import HFProbeCallback, LightningProbeCallback

VOCAB = 64


@pytest.fixture(autouse=True, scope="module")
def quiet_and_one_thread():
    threads, verbosity = torch.get_num_threads(), transformers.logging.get_verbosity()
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    yield
    torch.set_num_threads(threads)
    transformers.logging.set_verbosity(verbosity)


def _sequences(count: int = 32) -> list[dict]:
    """Token sequences that count up by a per-sequence stride: learnable, seeded."""
    generator = torch.Generator().manual_seed(0)
    start = torch.randint(0, VOCAB, (count, 1), generator=generator)
    stride = torch.randint(1, 4, (count, 1), generator=generator)
    ids = (start + stride * torch.arange(16)) % VOCAB
    return [{"input_ids": row, "labels": row} for row in ids]


class _StopAfter(TrainerCallback):
    """The probe only needs the run's start: two real steps, then stop."""

    def on_step_end(self, args, state, control, **kwargs):
        control.should_training_stop = state.global_step >= 2
        return control


def _hf_train(tmp_path, callbacks, initializer_range: float = 0.02) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=64, n_layer=2, n_head=4,
                        bos_token_id=0, eos_token_id=0, initializer_range=initializer_range)
    model = GPT2LMHeadModel(config)
    # The default scheduler (lr_scheduler_type="linear") with warmup_steps: transformers'
    # linear warmup from 0, then linear decay; the run is 1,000 steps long.
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8,
                             max_steps=1000, learning_rate=1e-3, warmup_steps=100,
                             report_to=[], save_strategy="no", seed=0, use_cpu=True,
                             logging_strategy="no", disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=_sequences(),
                      callbacks=[*callbacks, _StopAfter()])
    trainer.train()
    return model


def _same_weights(probed: torch.nn.Module, plain: torch.nn.Module) -> None:
    for (name, value), (_, reference) in zip(probed.state_dict().items(),
                                             plain.state_dict().items()):
        assert torch.allclose(value, reference), name


def test_hf_callback_default_warmup_from_zero_comes_back_clean_and_restores(tmp_path, capsys):
    callback = HFProbeCallback(task="lm")
    probed = _hf_train(tmp_path / "probed", [callback])
    plain = _hf_train(tmp_path / "plain", [])
    result = callback.result
    assert result is not None and result.codes == [], result.diagnostics
    m = result.measurements
    assert m.lr_at_start == 0.0  # the Trainer's scheduler starts the warmup at 0
    assert m.overfit_lr == pytest.approx(1e-3) and m.lr_peak_step == 100  # TL902 ran at its peak
    assert m.loss_drop > 0.3 and m.steps_run == 50
    out = capsys.readouterr().out
    assert "LR of the overfit steps" in out and "the schedule's peak, at step 100" in out
    _same_weights(probed, plain)


def test_hf_callback_catches_a_wrong_initializer_range(tmp_path, capsys):
    callback = HFProbeCallback(task="lm", steps=10)
    _hf_train(tmp_path, [callback], initializer_range=1.0)  # a config typo for 0.01
    assert "TL901" in callback.result.codes
    m = callback.result.measurements
    assert m.initial_loss > 2 * m.reference_loss
    assert "TL901 initial loss" in capsys.readouterr().out


class _Classifier(torch.nn.Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(),
                                       torch.nn.Linear(32, 3))

    def forward(self, features, labels):
        logits = self.net(features)
        return torch.nn.functional.cross_entropy(logits, labels, reduction=self.reduction)


def _rows(count: int = 32) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(count) % 3
    centers = torch.randn(3, 8, generator=generator)
    features = centers[labels] + 0.5 * torch.randn(count, 8, generator=generator)
    return [{"features": features[i], "labels": labels[i]} for i in range(count)]


class _Module(pl.LightningModule):
    """AdamW with a linear warmup from 0 over 500 steps, stepped every optimizer step."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.model = _Classifier(reduction)

    def training_step(self, batch, batch_idx):
        loss = self.model(**batch)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=3e-3)
        warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / 500))
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": warmup, "interval": "step"}}


def _fit(callbacks, reduction: str = "mean") -> _Module:
    torch.manual_seed(0)
    module = _Module(reduction)
    loader = torch.utils.data.DataLoader(_rows(), batch_size=8)
    trainer = pl.Trainer(max_steps=3, accelerator="cpu", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=callbacks)
    trainer.fit(module, loader)
    return module


def test_lightning_callback_warmup_from_zero_comes_back_clean_and_restores(capsys):
    callback = LightningProbeCallback(task="classification", num_classes=3)
    probed, plain = _fit([callback]), _fit([])
    result = callback.result
    assert result is not None and result.codes == [], result.diagnostics
    m = result.measurements
    assert m.lr_at_start == 0.0 and m.overfit_lr == pytest.approx(3e-3)
    assert m.lr_peak_step == 500 and m.scheduler_interval == "step"
    assert "initial loss" in capsys.readouterr().out
    _same_weights(probed, plain)


def test_lightning_callback_catches_a_summed_loss(capsys):
    callback = LightningProbeCallback(task="classification", num_classes=3, steps=10)
    _fit([callback], reduction="sum")
    assert {"TL901", "TL907"} <= set(callback.result.codes)
    assert "TL907 the loss grows with the batch" in capsys.readouterr().out


@pytest.mark.parametrize("name,package,module", [
    ("HFProbeCallback", "transformers", "hf_callback"),
    ("LightningProbeCallback", "lightning", "lightning_callback"),
])
def test_callbacks_without_their_framework_say_so(monkeypatch, name, package, module):
    import trainlint.probe

    monkeypatch.delitem(sys.modules, f"trainlint.probe.{module}", raising=False)
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, f"{package}.pytorch", None)
    monkeypatch.setitem(sys.modules, "pytorch_lightning", None)
    with pytest.raises(ImportError, match=f"needs {package}, which is not installed"):
        getattr(trainlint.probe, name)


def test_transformers_adafactor_with_its_own_step_size_is_probed(capsys):
    """lr=None (relative_step=True, the T5 recipe): nothing to schedule or compare; the
    overfit steps run with the optimizer's own step size and TL905 says why it is quiet."""
    from transformers.optimization import Adafactor

    from trainlint.probe import ProbeTarget, probe

    torch.manual_seed(0)
    model = _Classifier()
    batch = {key: torch.stack([row[key] for row in _rows()]) for key in ("features", "labels")}
    target = ProbeTarget(
        model=model, batches=batch, task="classification", num_classes=3,
        forward=lambda model, batch: model(**batch), loss=lambda loss, batch: loss,
        optimizer=lambda model: Adafactor(model.parameters(), lr=None, relative_step=True,
                                          scale_parameter=True, warmup_init=False),
        model_type="bert-mlm")
    result = probe(target)
    assert result.codes == [], result.diagnostics
    m = result.measurements
    assert m.lr_at_start is None and m.overfit_lr is None and m.loss_drop > 0.3
    assert "TL905 skipped: Adafactor sets its own step size (lr=None)" in result.notes
    assert "LR of the overfit steps  n/a" in capsys.readouterr().out
