"""The Trainer callbacks: they probe the first batch and leave the run exactly as it was.

Each test runs only where its framework is installed (neither is a trainlint dependency).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


class _Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

    def forward(self, features, labels=None):
        logits = self.net(features)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        return {"loss": loss, "logits": logits}


def _rows(count: int = 32):
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(count, 8, generator=generator)
    return [{"features": features[i], "labels": torch.tensor(i % 3)} for i in range(count)]


def _hf_train(tmp_path, callbacks):
    from transformers import Trainer, TrainingArguments

    torch.manual_seed(0)
    model = _Classifier()
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=8, max_steps=3,
                             learning_rate=1e-3, report_to=[], save_strategy="no", seed=0,
                             use_cpu=True, logging_strategy="no")
    trainer = Trainer(model=model, args=args, train_dataset=_rows(), callbacks=callbacks)
    trainer.train()
    return model


def test_hf_callback_probes_and_restores(tmp_path, capsys):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")  # the HF Trainer needs it with PyTorch
    from trainlint.probe import HFProbeCallback

    callback = HFProbeCallback(task="classification", steps=5)
    probed = _hf_train(tmp_path / "a", [callback])
    plain = _hf_train(tmp_path / "b", [])
    assert callback.result is not None and callback.result.measurements.steps_run == 5
    assert "initial loss" in capsys.readouterr().out
    for (name, value), (_, reference) in zip(probed.state_dict().items(), plain.state_dict().items()):
        assert torch.allclose(value, reference), name


def test_lightning_callback_probes_and_restores(tmp_path, capsys):
    try:
        import lightning.pytorch as pl
    except ImportError:
        pl = pytest.importorskip("pytorch_lightning")
    from trainlint.probe import LightningProbeCallback

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = _Classifier()

        def training_step(self, batch, batch_idx):
            loss = self.model(**batch)["loss"]
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    def fit(callbacks):
        torch.manual_seed(0)
        module = Module()
        loader = torch.utils.data.DataLoader(_rows(), batch_size=8)
        trainer = pl.Trainer(max_steps=3, accelerator="cpu", devices=1, logger=False,
                             enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, callbacks=callbacks)
        trainer.fit(module, loader)
        return module

    callback = LightningProbeCallback(task="classification", steps=5)
    probed, plain = fit([callback]), fit([])
    assert callback.result is not None and callback.result.measurements.steps_run == 5
    for (name, value), (_, reference) in zip(probed.state_dict().items(), plain.state_dict().items()):
        assert torch.allclose(value, reference), name


def test_callbacks_without_their_framework_say_so():
    import importlib.util

    import trainlint.probe

    if importlib.util.find_spec("transformers") is None:
        with pytest.raises(ImportError):
            trainlint.probe.HFProbeCallback  # noqa: B018
    if importlib.util.find_spec("lightning") is None and importlib.util.find_spec(
            "pytorch_lightning") is None:
        with pytest.raises(ImportError):
            trainlint.probe.LightningProbeCallback  # noqa: B018
