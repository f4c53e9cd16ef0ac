"""TL504 no-grad-clipping: RNN / CTC / transformer training without gradient clipping.

The class docstring is the rule's page (docs/rules/TL504.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    RuleOptions,
    ScriptRule,
    Severity,
)

# model-type settings that are RNN / CTC / transformer training
MODEL_TYPES = ("rnn-ctc", "ctc", "conformer", "bert-mlm", "llm-finetune", "llm-lora", "llm-dpo",
               "seq2seq-finetune", "transformer", "rnn")
# words in a config's model type / encoder name that mean the same
MODEL_WORDS = ("gru", "lstm", "rnn", "ctc", "conformer", "transformer", "bert", "gpt", "llama",
               "t5", "whisper", "wav2vec", "hubert", "mistral", "qwen", "branchformer",
               "e_branchformer", "zipformer", "roberta", "bart", "mamba")
LAYERS = {
    "torch.nn.GRU": "GRU", "torch.nn.LSTM": "LSTM", "torch.nn.RNN": "RNN",
    "torch.nn.CTCLoss": "CTC loss", "torch.nn.functional.ctc_loss": "CTC loss",
    "torch.nn.Transformer": "Transformer", "torch.nn.TransformerEncoder": "Transformer",
    "torch.nn.TransformerEncoderLayer": "Transformer", "torch.nn.TransformerDecoder": "Transformer",
    "torch.nn.TransformerDecoderLayer": "Transformer", "torch.nn.MultiheadAttention": "attention",
}
LIGHTNING_TRAINERS = frozenset({"lightning.Trainer", "lightning.pytorch.Trainer",
                                "pytorch_lightning.Trainer"})
HF_ARGUMENTS = frozenset({"transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments"})
# libraries that clip from their own config
CLIPPING_LIBRARIES = ("deepspeed", "colossalai", "fairseq")


class NoGradClipping(ScriptRule, ConfigRule):
    """## What it does
    Finds RNN, CTC and transformer training that never clips gradients. In a script: a
    hand-written loop (`.backward()`) with a GRU/LSTM/RNN, a CTC loss, a Transformer layer or
    a Hugging Face model, and no `clip_grad_norm_` / `clip_grad_value_` /
    `accelerator.clip_grad_norm_` / `fabric.clip_gradients` anywhere; a Lightning `Trainer`
    without `gradient_clip_val`; `TrainingArguments(max_grad_norm=0)`. In a config: a clipping
    value of 0 or null (`grad_clip`, `max_grad_norm`, `gradient_clip_val`, ...) for such a
    model. A config that does not mention clipping is left alone: the defaults differ
    (HF clips at 1.0, ESPnet at 5.0, Lightning and fairseq do not clip).

    ## Why is this bad?
    Recurrent networks and long CTC alignments produce rare, huge gradients; one such step
    throws the weights far off and the loss spikes or turns NaN. Clipping the global norm
    (1.0 is the usual value) bounds each step and costs almost nothing.

    ## Example
    ```python
    loss = ctc_loss(log_probs, targets, input_lengths, target_lengths)
    loss.backward()
    optimizer.step()
    ```

    ## Use instead
    ```python
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    ```

    ## Fix safety
    No fix: the clipping call has to go between the backward pass and the optimizer step
    (after `scaler.unscale_(optimizer)` with a GradScaler), which a rewrite cannot place
    reliably.

    ## Options
    `model-types`: the `model-type` values this rule applies to.

    ## Source
    Seed 003: gradient clipping at max_norm 1.0 was added to stabilize a GRU + CTC model and
    kept in every later run ("tight gradient clipping (1.0) prevents gradient explosions");
    seed 002 watches `max_grad_norm` for a BERT model.
    """

    code = "TL504"
    name = "no-grad-clipping"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "RNN / CTC / transformer training without gradient clipping"
    precision = "100.0% (2 true, 0 false, 1 debatable of 3; dev corpus, 28 repositories)"
    needles = (b"backward", b"Trainer", b"TrainingArguments")

    class Options(RuleOptions):
        model_types: tuple[str, ...] = MODEL_TYPES

    bad = (
        Example(
            "train.py",
            "import torch\nfrom torch import nn\n\nencoder = nn.GRU(256, 512, num_layers=5)\n"
            "criterion = nn.CTCLoss(blank=0)\n\n"
            "for x, y, xl, yl in loader:\n"
            "    loss = criterion(encoder(x)[0].log_softmax(-1), y, xl, yl)\n"
            "    loss.backward()\n    optimizer.step()\n",
        ),
        Example(
            "config.yaml",
            "trainer:\n  max_epochs: 50\n  gradient_clip_val: 0\n"
            "model:\n  class_path: asr.Conformer\n",
            settings={"model-type": "conformer"},
        ),
    )
    good = (
        Example(
            "train.py",
            "import torch\nfrom torch import nn\n\nencoder = nn.GRU(256, 512, num_layers=5)\n"
            "for x, y in loader:\n    loss = step(encoder, x, y)\n    loss.backward()\n"
            "    torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)\n"
            "    optimizer.step()\n",
        ),
        Example(
            "train.py",
            "import torch\nfrom torch import nn\n\nnet = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n"
            "for x, y in loader:\n    loss = step(net, x, y)\n    loss.backward()\n"
            "    optimizer.step()\n",
        ),
    )

    # ------------------------------------------------------------------ scripts
    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        model = self._model_evidence(script)
        if model is None or self._clips(script):
            return
        backward = list(script.method_calls("backward"))
        if backward:
            message = (f"{model} trained without gradient clipping: add "
                       "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0) between "
                       "backward() and optimizer.step()")
            yield self.diagnostic(script.path, script.span(backward[0]), message)
            return
        for call in script.calls:
            name = script.qualname(call.func)
            if name in LIGHTNING_TRAINERS and not script.has_kwargs(call):
                value = script.argument(call, None, "gradient_clip_val")
                if value is None or script.literal(value) in (None, 0, 0.0):
                    where = call if value is None else value
                    yield self.diagnostic(script.path, script.span(where),
                                          f"{model} trained by a Lightning Trainer without "
                                          "gradient clipping: pass gradient_clip_val=1.0")
            elif name in HF_ARGUMENTS:
                value = script.argument(call, None, "max_grad_norm")
                if value is not None and script.literal(value) in (None, 0, 0.0):
                    yield self.diagnostic(script.path, script.span(value),
                                          f"{model} trained with max_grad_norm="
                                          f"{script.source(value)}: gradients are never clipped; "
                                          "keep the default 1.0")

    def _model_evidence(self, script: ParsedScript) -> str | None:
        for call in script.calls:
            name = script.qualname(call.func)
            if name is None:
                continue
            if name in LAYERS:
                return LAYERS[name]
            if name.startswith("transformers.") and name.endswith(".from_pretrained"):
                return "a Hugging Face model"
        model_type = self.ctx.project.model_type
        if model_type and model_type in getattr(self.options, "model_types", MODEL_TYPES):
            return f"a {model_type} model"
        return None

    @staticmethod
    def _clips(script: ParsedScript) -> bool:
        if any(target.split(".", 1)[0] in CLIPPING_LIBRARIES for target in script.aliases.values()):
            return True
        for call in script.calls:
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if "clip_grad" in name or name == "clip_gradients":
                return True
        return "def configure_gradient_clipping" in script.text

    # ------------------------------------------------------------------ configs
    def check_config(self, view: ConfigView) -> Iterator[Diagnostic]:
        clip = view.get("regularization.grad_clip")
        if clip is None or not clip.known:
            return
        if clip.value is not None and (clip.number is None or clip.number > 0):
            return
        model = self._config_model(view)
        if model is None:
            return
        shown = clip.raw or ("null" if clip.value is None else str(clip.value))
        message = (f"{clip.key}: {shown} turns gradient clipping off for {model}; use 1.0 "
                   "(clip the global norm)")
        yield self.at(clip, message)

    def _config_model(self, view: ConfigView) -> str | None:
        model_type = self.ctx.project.model_type
        if model_type is not None:
            types = getattr(self.options, "model_types", MODEL_TYPES)
            return f"a {model_type} model" if model_type in types else None
        if view.flag("model.ctc") or (view.number("model.ctc_weight") or 0) > 0:
            return "a CTC model"
        for name in ("model.type", "model.encoder", "model.objective"):
            value = view.known(name)
            if isinstance(value, str):
                lowered = value.lower()
                for word in MODEL_WORDS:
                    if word in lowered:
                        return f"a {value} model"
        return None
