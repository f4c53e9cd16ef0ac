"""TL202 effective-batch-too-small: effective batch below the floor for the model type.

The class docstring is the rule's page (docs/rules/TL202.md).
"""

import math

from msgspec import field

from trainlint.api import (
    Applicability,
    ConfigRule,
    ConfigView,
    Example,
    Fix,
    FixAvailability,
    RuleOptions,
    Severity,
    derive,
    dialect_key_near,
    fmt,
    insert_key_after,
)
from trainlint.rules.numbers import new_text, spliceable


class EffectiveBatchTooSmall(ConfigRule):
    """## What it does
    Compares the effective batch (per-device batch x gradient accumulation x world size, see
    TL201) with the floor for the model type: 256 for BERT-style MLM pre-training by default.
    Model types without a floor are not checked.

    ## Why is this bad?
    Pre-training objectives such as masked language modelling give noisy gradients; a small
    effective batch makes the loss curve noisy and the run plateau early, and the usual LR bands
    assume batches of a few hundred sequences.

    ## Example
    ```json
    {"model_type": "ltg_bert", "objective": "mlm", "batch_size": 24, "grad_accum": 3}
    ```

    ## Use instead
    ```json
    {"model_type": "ltg_bert", "objective": "mlm", "batch_size": 24, "grad_accum": 11}
    ```

    ## Fix safety
    Unsafe: it raises the gradient accumulation (keeping the per-device batch, so memory use does
    not change) to the smallest value that reaches the floor. Where the config has no
    accumulation setting yet, the fix adds one on the line after the per-device batch (same
    indentation, nothing else in the file moves). Where the world size is not known, it is
    taken as 1 and the message says so: set `world-size` if you train on more devices.

    ## Options
    - `min_effective_batch` ({"bert-mlm": 256}): floor per model type.

    ## Source
    Seed 002 (`002_6031db6a944e5725.txt`): BabyLM LTG-BERT with batch 24 x accumulation 3 = 72
    had "noisy gradients"; the fix raised it to 32 x 8 = 256.
    """

    class Options(RuleOptions):
        min_effective_batch: dict[str, int] = field(default_factory=lambda: {"bert-mlm": 256})

    code = "TL202"
    name = "effective-batch-too-small"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "effective batch below the floor for the model type"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "raise gradient accumulation to reach the floor"

    bad = (
        Example("model.json", '{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                '  "learning_rate": 2e-4,\n  "batch_size": 24,\n  "grad_accum": 3\n}\n',
                fixed='{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                      '  "learning_rate": 2e-4,\n  "batch_size": 24,\n  "grad_accum": 11\n}\n',
                unsafe=True),
        Example("run_mlm.yaml",
                "# run_mlm.py arguments\noutput_dir: out/bert-mlm\n"
                "per_device_train_batch_size: 32   # fits a 24 GB card\n"
                "num_train_epochs: 40\nlearning_rate: 2.0e-4\n",
                fixed="# run_mlm.py arguments\noutput_dir: out/bert-mlm\n"
                      "per_device_train_batch_size: 32   # fits a 24 GB card\n"
                      "gradient_accumulation_steps: 8\n"
                      "num_train_epochs: 40\nlearning_rate: 2.0e-4\n",
                unsafe=True, settings={"model-type": "bert-mlm"}),
        Example("run_mlm.json",
                '{\n    "output_dir": "out/bert-mlm",\n    "per_device_train_batch_size": 64,\n'
                '    "num_train_epochs": 40\n}\n',
                fixed='{\n    "output_dir": "out/bert-mlm",\n    "per_device_train_batch_size": 64,\n'
                      '    "gradient_accumulation_steps": 4,\n    "num_train_epochs": 40\n}\n',
                unsafe=True, settings={"model-type": "bert-mlm"}),
    )
    good = (
        Example("model.json", '{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                '  "learning_rate": 2e-4,\n  "batch_size": 32,\n  "grad_accum": 8\n}\n'),
        Example("model.json", '{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                '  "learning_rate": 2e-4,\n  "batch_size": 24,\n  "grad_accum": 3\n}\n',
                settings={"world-size": 4}),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        batch, model_type = derived.effective_batch, derived.model_type
        if batch is None or batch.unit != "samples" or model_type is None:
            return
        floor = self.options.min_effective_batch.get(str(model_type.value))
        if floor is None or batch.value >= floor:
            return
        accum = view.get("batch.grad_accum")
        anchor = accum or view.get("batch.per_device")
        if anchor is None:
            return
        message = (f"effective batch {fmt(batch.value)} = {batch.provenance} is below {floor} for "
                   f"{model_type.value} (model type from {model_type.provenance})")
        fix = None
        if accum is not None and spliceable(accum) and accum.number:
            per_step = batch.value / accum.number
            new_accum = math.ceil(floor / per_step)
            fix = self.replace_value(accum, new_text(accum, new_accum),
                                     f"gradient accumulation {fmt(accum.number)} -> {new_accum} "
                                     f"(effective batch {fmt(batch.value)} -> {fmt(per_step * new_accum)})")
        elif accum is None:
            fix = self._add_accumulation(view, anchor, batch.value, floor)
        if fix is not None:
            message += f": {fix.message}"
        yield self.at(anchor, message, fix)

    def _add_accumulation(self, view: ConfigView, per_device, batch: float, floor: int) -> Fix | None:
        """No accumulation setting yet: add one beside the per-device batch."""
        document = view.document
        key = dialect_key_near(view.dialect, "batch.grad_accum", per_device)
        if document is None or key is None or per_device.path != document.path:
            return None
        new_accum = math.ceil(floor / batch)
        edit = insert_key_after(document, per_device, key, new_accum)
        if edit is None:
            return None
        return Fix(Applicability.UNSAFE,
                   f"add `{key}` = {new_accum} (gradient accumulation 1 -> {new_accum}, effective "
                   f"batch {fmt(batch)} -> {fmt(batch * new_accum)})", (edit,))
