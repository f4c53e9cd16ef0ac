"""TL102 lr-outside-band: peak learning rate outside the band for the model type.

The class docstring is the rule's page (docs/rules/TL102.md).
"""

from trainlint.api import ConfigRule, ConfigView, Example, FixAvailability, Severity, derive, fmt
from trainlint.rules.data_tables import band_for, bands, in_band, suggested_lr
from trainlint.rules.numbers import new_text, spliceable

FAMILY_NAMES = {"adam": "Adam/AdamW", "sgd": "SGD"}
ENABLE_HINT = ("no model type known, so the learning rate is not checked against a band: set "
               "`model-type` in [tool.trainlint] (or pass --model-type) to one of {types}")


class LrOutsideBand(ConfigRule):
    """## What it does
    Compares the peak learning rate with the band for the model type and optimizer family
    (the table in `trainlint/rules/data/lr_bands.toml`): BERT-style MLM 2e-4 .. 5e-4,
    conformer ASR with warmup 1e-3 .. 5e-3, GRU/LSTM + CTC 5e-4 .. 2e-3, other CTC encoders
    3e-4 .. 1e-3, LLM full fine-tuning 1e-5 .. 1e-4, LoRA 5e-5 .. 5e-4, DPO 5e-7 .. 5e-6,
    T5 fine-tuning 1e-4 .. 1e-3 (Adam/AdamW), and CNNs with SGD 0.01 .. 0.4.

    The model type comes from the `model-type` setting, else from evidence in the config
    (`encoder: conformer`, a CTC loss, `model_type: bert` with an MLM objective, a LoRA
    adapter). Without evidence the rule prints one `info` line saying which setting enables it.

    ## Why is this bad?
    A learning rate far below the band makes the run crawl or stall on a plateau; far above it,
    the run diverges or trains unstably. Bands are per optimizer family: with LAMB, Adafactor,
    Lion, Muon, ScaledAdam, Sophia or Adam with a large `eps` (>= 1e-3) the rule stays quiet,
    because those take very different learning rates on purpose.

    ## Example
    ```json
    {"model_type": "ltg_bert", "objective": "mlm", "learning_rate": 1e-4}
    ```

    ## Use instead
    ```json
    {"model_type": "ltg_bert", "objective": "mlm", "learning_rate": 2e-4}
    ```

    ## Fix safety
    Unsafe: it changes the learning rate to the band's suggested value (for SGD CNNs,
    0.1 x effective batch / 256 within the band), written in the style of the old literal.

    ## Options
    None here; the bands themselves are settings: `[tool.trainlint.bands.<model-type>]` with
    `low`, `high`, `suggested` and `optimizers` overrides one model type or adds a new one.

    ## Source
    Seed 002 (`002_6031db6a944e5725.txt`): BabyLM LTG-BERT MLM at 1e-4 plateaued at loss 3.6;
    2e-4 to 5e-4 is the usual band. Seed 003 (`003_a398bf3ca9a9c075.txt`): the GRU + CTC
    baseline's constant 0.02 was unstable; 1e-3 gave the best run. Seeds 001/004: CTC models at
    1e-4 collapsed, 5e-4 passed the overfit test. Seed 000: conformer 1e-3 -> 2e-3.
    """

    code = "TL102"
    name = "lr-outside-band"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "peak learning rate outside the band for the model type"
    fix_title = "use the band's suggested learning rate"

    bad = (
        Example("model.json", '{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                '  "learning_rate": 1e-4,\n  "batch_size": 256\n}\n',
                fixed='{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                      '  "learning_rate": 2e-4,\n  "batch_size": 256\n}\n', unsafe=True),
        Example("asr.yaml", "encoder: conformer\nlr: 0.02\nmax_epoch: 40\n",
                fixed="encoder: conformer\nlr: 0.002\nmax_epoch: 40\n", unsafe=True),
        Example("train.yaml", "lr: 1.0e-4\nepochs: 100\n", settings={"model-type": "ctc"},
                fixed="lr: 5.0e-4\nepochs: 100\n", unsafe=True),
    )
    good = (
        Example("asr.yaml", "encoder: conformer\nlr: 2.0e-3\nmax_epoch: 40\n"),
        Example("lamb.yaml", "encoder: conformer\noptimizer: lamb\nlr: 0.01\nmax_epoch: 40\n"),
        Example("train.yaml", "lr: 1.0e-4\nepochs: 100\n", settings={"model-type": "llm-finetune"}),
    )

    def check_config(self, view: ConfigView):
        lr = view.get("optimizer.lr")
        if lr is None or lr.number is None:
            return
        derived = derive(view, self.ctx.project)
        if derived.model_type is None:
            types = ", ".join(sorted(bands(self.ctx)))
            hint = self.at(lr, ENABLE_HINT.format(types=types), severity=Severity.INFO)
            hint.once_per_run = True
            yield hint
            return
        band = band_for(self.ctx, view, derived)
        if band is None or in_band(band, lr.number):
            return
        suggested = suggested_lr(band, derived)
        direction = "below" if lr.number < band.low else "above"
        family = (FAMILY_NAMES.get(derived.optimizer_family.value, derived.optimizer_family.value)
                  if derived.optimizer_family else "optimizer assumed Adam/AdamW")
        message = (f"learning rate {fmt(lr.number)} is {direction} the {band.model_type} band "
                   f"{band.text} ({family}; model type from {derived.model_type.provenance})"
                   f": {fmt(lr.number)} -> {fmt(suggested)}")
        fix = None
        if spliceable(lr):
            fix = self.replace_value(lr, new_text(lr, suggested),
                                     f"learning rate {fmt(lr.number)} -> {fmt(suggested)}")
        yield self.at(lr, message, fix)
