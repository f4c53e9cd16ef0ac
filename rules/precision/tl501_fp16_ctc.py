"""TL501 fp16-ctc: float16 training of a CTC model. Its page: docs/rules/TL501.md."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct

from trainlint.api import (
    Applicability,
    ConfigRule,
    ConfigView,
    Diagnostic,
    Edit,
    Example,
    Fix,
    FixAvailability,
    ParsedScript,
    RuleOptions,
    ScriptRule,
    Severity,
    Value,
)
from trainlint.rules.precision._amp import (
    autocasts,
    ctc_calls,
    dtype_name,
    has_grad_scaler,
    zero_infinity_missing,
)

CTC_MODEL_TYPES = ("ctc", "rnn-ctc")
# precision strings that mean fp16, and their bf16 counterparts
FP16_MODES = {
    "16": "bf16-mixed", "16-mixed": "bf16-mixed", "16-true": "bf16-true", "fp16": "bf16",
    "float16": "bfloat16", "half": "bf16", "fp16-mixed": "bf16-mixed",
}
TRUE_HALF_MODES = frozenset({"16-true", "half"})
# Frameworks whose fp16 puts the whole model, loss included, in half precision.
TRUE_HALF_DIALECTS = frozenset({"deepspeed"})
LIGHTNING_TRAINERS = frozenset({"lightning.Trainer", "lightning.pytorch.Trainer",
                                "pytorch_lightning.Trainer", "lightning.fabric.Fabric",
                                "lightning.Fabric"})
HF_ARGUMENTS = frozenset({"transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments"})
ACCELERATORS = frozenset({"accelerate.Accelerator"})


class Site(Struct):
    node: ast.AST
    what: str
    true_half: bool
    fix: Fix | None
    start: int | None = None  # report from here (a method name) instead of the node start


class Fp16Ctc(ScriptRule, ConfigRule):
    """## What it does
    Finds float16 training of a CTC model. In a script: a CTC loss (`nn.CTCLoss`,
    `F.ctc_loss`) together with `.half()` / `.to(torch.float16)`, float16 autocast, Lightning
    `precision="16-mixed"`, `TrainingArguments(fp16=True)` or `Accelerator(mixed_precision=
    "fp16")`. In a config: `fp16: true` or a 16-bit `precision` where the model is CTC
    (`model-type` ctc / rnn-ctc, an ESPnet encoder with CTC, a CTC weight above 0).

    Warning where the CTC loss itself runs in half precision: a `.half()` model, DeepSpeed
    fp16, Lightning `16-true`, or an fp16 GradScaler with `zero_infinity=False` (an infinite
    CTC loss then makes the scaler skip the step and halve its scale, again and again). Info
    under autocast alone, which runs `log_softmax` and `ctc_loss` in float32, and in the
    frameworks that use it (HF Trainer, Lightning 16-mixed, ESPnet2, fairseq, SpeechBrain,
    NeMo).

    ## Why is this bad?
    CTC sums log-probabilities over every alignment of long sequences: in float16 these
    overflow and underflow, losses go infinite or NaN, and fp16 gradient scaling keeps
    backing off. bfloat16 has float32's exponent range, needs no GradScaler, and was the
    stable choice in practice.

    ## Example
    ```python
    model = GRUEncoder().cuda().half()
    criterion = nn.CTCLoss(blank=0)
    ```

    ## Use instead
    ```python
    model = GRUEncoder().cuda()
    criterion = nn.CTCLoss(blank=0, zero_infinity=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        log_probs = model(x).log_softmax(-1)
    ```

    ## Fix safety
    Unsafe: switches the site to bfloat16 (`.half()` -> `.bfloat16()`, `torch.float16` ->
    `torch.bfloat16`, an autocast gets `dtype=torch.bfloat16`, `16-mixed` -> `bf16-mixed`,
    `fp16: true` -> `bf16: true`). It changes the numerics of the run and needs hardware
    with bfloat16 (NVIDIA Ampere or newer).

    ## Options
    `ctc-model-types`: the `model-type` values that mean a CTC model.

    ## Source
    Seed 003: a GRU + CTC model moved from FP16 to BF16 "for better numerical stability";
    every later run, including the best one, used BF16. PyTorch's autocast op reference lists
    `ctc_loss` and `log_softmax` among the ops that autocast to float32.
    """

    code = "TL501"
    name = "fp16-ctc"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "float16 training of a CTC model"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "use bfloat16"
    needles = (b"ctc", b"CTC")

    class Options(RuleOptions):
        ctc_model_types: tuple[str, ...] = CTC_MODEL_TYPES

    bad = (
        Example(
            "train.py",
            "import torch\nfrom torch import nn\n\nmodel = Encoder().cuda().half()\n"
            "criterion = nn.CTCLoss(blank=0)\n",
            fixed="import torch\nfrom torch import nn\n\nmodel = Encoder().cuda().bfloat16()\n"
                  "criterion = nn.CTCLoss(blank=0)\n",
            unsafe=True,
        ),
        Example(
            "config.yaml",
            "model_type: gru\nlearning_rate: 0.001\nper_device_train_batch_size: 32\n"
            "num_train_epochs: 10\nfp16: true\n",
            fixed="model_type: gru\nlearning_rate: 0.001\nper_device_train_batch_size: 32\n"
                  "num_train_epochs: 10\nbf16: true\n",
            unsafe=True,
            settings={"model-type": "rnn-ctc"},
        ),
    )
    good = (
        Example(
            "train.py",
            "import torch\nfrom torch import nn\n\ncriterion = nn.CTCLoss(blank=0)\n"
            "with torch.autocast('cuda', dtype=torch.bfloat16):\n    loss = step()\n",
        ),
        Example(
            "config.yaml",
            "model_type: gru\nlearning_rate: 0.001\nper_device_train_batch_size: 32\n"
            "num_train_epochs: 10\nbf16: true\n",
            settings={"model-type": "rnn-ctc"},
        ),
    )

    # ------------------------------------------------------------------ scripts
    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        ctc = ctc_calls(script)
        if not ctc:
            return
        ctc_line = ctc[0][0].lineno
        unscaled_infinities = (has_grad_scaler(script)
                               and any(zero_infinity_missing(script, c, n) for c, n in ctc))
        for site in self._sites(script, unscaled_infinities):
            where = f"line {site.node.lineno}: " if hasattr(site.node, "lineno") else ""
            if site.true_half:
                message = (f"{where}{site.what} with a CTC loss (line {ctc_line}): the CTC loss "
                           "runs in float16 and overflows; use bfloat16")
                severity = Severity.WARNING
            else:
                message = (f"{where}{site.what} with a CTC loss (line {ctc_line}): autocast keeps "
                           "ctc_loss in float32, but bfloat16 is the stable choice for CTC")
                severity = Severity.INFO
            span = script.span(site.node)
            if site.start is not None:
                span = script.index.span(site.start, span.end)
            yield self.diagnostic(script.path, span, message, site.fix, severity)

    def _sites(self, script: ParsedScript, unscaled_infinities: bool) -> Iterator[Site]:
        for call in script.method_calls("half"):
            if not call.args and not call.keywords:
                name_start = script.span(call.func).end - len("half")
                yield Site(call, "`.half()`", True, self._rename_method(script, call, "bfloat16"),
                           name_start)
        for call in script.method_calls("to"):
            for arg in (*call.args, *(k.value for k in call.keywords if k.arg == "dtype")):
                if dtype_name(script, arg) == "float16":
                    yield Site(arg, "`.to(torch.float16)`", True, self._bf16_dtype(script, arg))
        for autocast in autocasts(script):
            if autocast.dtype != "float16" or autocast.disabled:
                continue
            if autocast.dtype_arg is not None:
                fix = self._bf16_dtype(script, autocast.dtype_arg)
            else:
                fix = self._add_dtype(script, autocast.call)
            what = "float16 autocast"
            if unscaled_infinities:
                what += (" with a GradScaler and zero_infinity=False (infinite losses keep "
                         "halving the scale)")
            yield Site(autocast.call, what, unscaled_infinities, fix)
        yield from self._framework_sites(script)

    def _framework_sites(self, script: ParsedScript) -> Iterator[Site]:
        for call in script.calls:
            name = script.qualname(call.func)
            if name in LIGHTNING_TRAINERS:
                value = script.argument(call, None, "precision")
                mode = script.literal(value)
                if value is not None and str(mode) in FP16_MODES:
                    yield Site(value, f"Lightning precision={script.source(value)}",
                               str(mode) in TRUE_HALF_MODES, self._mode_fix(script, value, str(mode)))
            elif name in HF_ARGUMENTS:
                keyword = script.keyword(call, "fp16")
                if keyword is not None and script.literal(keyword.value) is True \
                        and script.keyword(call, "bf16") is None:
                    yield Site(keyword, "TrainingArguments(fp16=True)", False,
                               self._rename_keyword(script, keyword))
            elif name in ACCELERATORS:
                value = script.argument(call, None, "mixed_precision")
                if script.literal(value) == "fp16":
                    yield Site(value, 'Accelerator(mixed_precision="fp16")', False,
                               self._mode_fix(script, value, "fp16"))

    # fixes for scripts
    @staticmethod
    def _unsafe(message: str, *edits: Edit | None) -> Fix | None:
        kept = tuple(edit for edit in edits if edit is not None)
        if len(kept) != len(edits) or not kept:
            return None
        return Fix(Applicability.UNSAFE, message, kept)

    def _rename_method(self, script: ParsedScript, call: ast.Call, new: str) -> Fix | None:
        func = call.func
        end = script.span(func).end
        start = end - len(func.attr)
        if script.text[start:end] != func.attr:
            return None
        return self._unsafe(f".{func.attr}() -> .{new}()", Edit(script.index.span(start, end), new))

    def _bf16_dtype(self, script: ParsedScript, expr: ast.expr) -> Fix | None:
        if not isinstance(expr, ast.Attribute) or expr.attr not in ("float16", "half"):
            return None
        end = script.span(expr).end
        start = end - len(expr.attr)
        if script.text[start:end] != expr.attr:
            return None
        return self._unsafe(f"torch.{expr.attr} -> torch.bfloat16",
                            Edit(script.index.span(start, end), "bfloat16"))

    def _add_dtype(self, script: ParsedScript, call: ast.Call) -> Fix | None:
        from trainlint.api import ensure_module_name, insert_keyword  # libcst: only when a fix is built

        if script.has_kwargs(call):
            return None
        torch_name, import_edit = ensure_module_name(script, "torch")
        edit = insert_keyword(script, call, "dtype", f"{torch_name}.bfloat16")
        if import_edit is None:
            return self._unsafe("autocast dtype float16 -> torch.bfloat16", edit)
        return self._unsafe("autocast dtype float16 -> torch.bfloat16", import_edit, edit)

    def _mode_fix(self, script: ParsedScript, value: ast.expr, mode: str) -> Fix | None:
        from trainlint.api import replace_node, string_literal  # libcst: only when a fix is built

        new = FP16_MODES.get(mode)
        if new is None:
            return None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            old_text = script.source(value)
            content = old_text.replace(mode, new) if mode in old_text else None
        elif isinstance(value, ast.Constant) and isinstance(value.value, int):
            content = string_literal(script, new)
        else:
            return None
        if content is None:
            return None
        return self._unsafe(f"precision {mode!r} -> {new!r}", replace_node(script, value, content))

    def _rename_keyword(self, script: ParsedScript, keyword: ast.keyword) -> Fix | None:
        from trainlint.api import rename_keyword  # libcst: only when a fix is built

        return self._unsafe("fp16=True -> bf16=True", rename_keyword(script, keyword, "bf16"))

    # ------------------------------------------------------------------ configs
    def check_config(self, view: ConfigView) -> Iterator[Diagnostic]:
        if view.flag("precision.bf16"):
            return
        setting, mode = self._fp16_setting(view)
        if setting is None:
            return
        evidence = self._ctc_evidence(view)
        if evidence is None:
            return
        true_half = view.dialect in TRUE_HALF_DIALECTS or mode in TRUE_HALF_MODES
        if true_half:
            message = (f"{setting.key}: {setting.raw or setting.value} trains a CTC model "
                       f"({evidence}) with the loss in float16, where it overflows; use bf16")
            severity = Severity.WARNING
        else:
            message = (f"{setting.key}: {setting.raw or setting.value} trains a CTC model "
                       f"({evidence}) in float16 mixed precision: autocast keeps ctc_loss in "
                       "float32, but bf16 is the stable choice for CTC")
            severity = Severity.INFO
        yield self.at(setting, message, self._config_fix(view, setting, mode), severity)

    @staticmethod
    def _fp16_setting(view: ConfigView) -> tuple[Value | None, str | None]:
        if view.flag("precision.fp16"):
            return view.get("precision.fp16"), None
        value = view.get("precision.mode")
        if value is not None and value.known:
            mode = str(value.value).strip().lower()
            if mode in FP16_MODES:
                return value, mode
        return None, None

    def _ctc_evidence(self, view: ConfigView) -> str | None:
        model_type = self.ctx.project.model_type
        if model_type is not None:
            types = getattr(self.options, "ctc_model_types", CTC_MODEL_TYPES)
            return f"model-type {model_type}" if model_type in types else None
        if view.flag("model.ctc"):
            return "model.ctc"
        weight = view.number("model.ctc_weight")
        if weight is not None:
            return f"ctc_weight {weight:g}" if weight > 0 else None
        for name in ("model.objective", "model.type", "model.encoder"):
            value = view.known(name)
            if isinstance(value, str) and "ctc" in value.lower():
                return f"{name} {value}"
        return None

    def _config_fix(self, view: ConfigView, setting: Value, mode: str | None) -> Fix | None:
        text = view.document.text if view.document is not None else None
        if text is None:
            return None
        if mode is None:
            if view.get("precision.bf16") is not None or setting.key_span is None:
                return None
            key_text = text[setting.key_span.start:setting.key_span.end]
            at = key_text.find("fp16")
            if at == -1 or setting.leaf_key not in ("fp16", "--fp16"):
                return None
            start = setting.key_span.start + at
            span = view.document.index.span(start, start + 4)
            return Fix(Applicability.UNSAFE, "fp16: true -> bf16: true", (Edit(span, "bf16"),))
        new = FP16_MODES[mode]
        old_text = text[setting.span.start:setting.span.end]
        if isinstance(setting.value, str) and mode in old_text.lower():
            at = old_text.lower().find(mode)
            content = old_text[:at] + new + old_text[at + len(mode):]
        elif view.document.format == "json":
            content = f'"{new}"'
        else:
            content = new
        return Fix(Applicability.UNSAFE, f"precision {old_text} -> {content}",
                   (Edit(setting.span, content),))
