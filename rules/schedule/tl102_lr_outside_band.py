"""TL102 lr-outside-band: peak learning rate outside the band for the model type.

The class docstring is the rule's page (docs/rules/TL102.md).
"""

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Derived,
    Example,
    FixAvailability,
    Severity,
    derive,
    fmt,
)
from trainlint.rules.data_tables import (
    Band,
    band_for,
    bands,
    fix_target,
    in_band,
    is_far_outside,
    outside_factor,
    typical_text,
)
from trainlint.rules.numbers import new_text, spliceable

FAMILY_NAMES = {"adam": "Adam/AdamW", "sgd": "SGD"}
ENABLE_HINT = ("no model type known, so the learning rate is not checked against a band: set "
               "`model-type` in [tool.trainlint] (or pass --model-type) to one of {types}")


class LrOutsideBand(ConfigRule):
    """## What it does
    Compares the peak learning rate with the band for what is trained and how: the model type
    x training regime (from scratch, full fine-tuning, LoRA, preference optimisation, online
    RL, a pretrained speech front-end) x optimizer family, and the model size where it matters.
    Each band is built from the published recipes of the development corpus
    (`trainlint/rules/data/lr_band_sources.tsv`: repository, path, model, regime, optimizer,
    LR) and from papers, and the message says where its band came from
    (`trainlint/rules/data/lr_bands.toml`):

    | band | model size | Adam/AdamW band | typical | recipes |
    |---|---|---|---|---|
    | `llm-finetune` | any / not stated | 2e-06 .. 0.001 | 2e-05 | 285 |
    | `llm-finetune-under-1b` | < 1B | 5e-06 .. 0.001 | 5e-05 | 14 |
    | `llm-finetune-1b-6b` | 1B-6B | 3e-06 .. 0.0002 | 2e-05 | 49 |
    | `llm-finetune-6b-up` | >= 6B | 2e-06 .. 5e-05 | 1e-05 | 202 |
    | `llm-lora` | any / not stated | 5e-05 .. 0.002 | 0.0002 | 398 |
    | `llm-lora-under-2b` | < 2B | 5e-05 .. 0.002 | 0.0002 | 48 |
    | `llm-lora-2b-up` | >= 2B | 5e-05 .. 0.0005 | 0.0002 | 295 |
    | `llm-dpo` (DPO, IPO, ORPO, KTO, SimPO) | any / not stated | 2e-07 .. 1e-05 | 5e-07 | 47 |
    | `llm-lora-dpo` | any / not stated | 5e-06 .. 0.0005 | 0.0001 | 20 |
    | `llm-online-rl` (PPO, GRPO, RLOO, GKD) | any / not stated | 5e-07 .. 2e-05 | 1e-06 | 174 |
    | `llm-lora-online-rl` | any / not stated | 1e-06 .. 5e-05 | 1e-05 | 42 |
    | `llm-reward-model` | any / not stated | 5e-06 .. 0.0002 | 1e-05 | 6 |
    | `llm-pretrain` | any / not stated | 6e-05 .. 0.001 | 0.0003 | 8 |
    | `bert-mlm` | any / not stated | 0.0002 .. 0.0005 | 0.0002 | 0 |
    | `seq2seq-finetune` | any / not stated | 0.0001 .. 0.001 | 0.0003 | 0 |
    | `conformer` | any / not stated | 0.0005 .. 0.005 | 0.001 | 26 |
    | `rnn-ctc` | any / not stated | 0.0005 .. 0.002 | 0.001 | 0 |
    | `ctc` | any / not stated | 0.0003 .. 0.001 | 0.0005 | 0 |
    | `asr-frontend-finetune` | any / not stated | 1e-05 .. 0.0003 | 0.0001 | 33 |
    | `cnn-sgd` (SGD + momentum) | any / not stated | 0.01 .. 0.8 | 0.1 x batch / 256 | 20 |

    A band with a size class applies when the model name states the size (`Qwen2.5-7B`,
    `SmolLM2-135M`, `Mixtral-8x7B`); without one, the size-independent band (the outer edges of
    its classes) applies. Bands backed by 0 recipes come from the seeds and papers only.

    The regime is read from evidence, never from one key alone, and the message names it: the
    framework's own method switch (axolotl `rl: dpo` / `rl: grpo`, ms-swift `rlhf_type`, a
    torchtune loss such as `DPOLoss` or `PPOLoss`), two keys only one kind of trainer reads
    (`beta` with `max_prompt_length`; `reward_funcs` with `num_generations`), the trainer a
    Python script builds (`DPOTrainer(`, `GRPOTrainer(`, `SFTTrainer(`), the adapter switch the
    framework reads (`adapter: qlora`, `use_peft`, a `lora_*` torchtune component,
    `train_type: lora`, else a LoRA rank), a pretrained speech front-end (`frontend: s3prl`, a
    `wav2vec2_hub`, a wav2vec2 / HuBERT / WavLM / Whisper checkpoint with a CTC or ASR head).
    When unsure, there is no band and no finding: an unknown method, an adapter that is not
    LoRA, evidence that disagrees, 1.58-bit (BitNet) training, a front-end and a head with
    separate learning rates, or an LR whose key names another optimizer (`muon.lr`). With no
    evidence at all the rule prints one `info` line saying which setting enables it.

    A value outside the band by 2x or more is a warning; closer than 2x it is `info`.

    ## Why is this bad?
    A learning rate far below the band makes the run crawl or stall on a plateau (a LoRA
    adapter at a full fine-tuning LR barely moves); far above it, the run diverges or trains
    unstably (a LoRA LR in a full fine-tuning config, a DPO run at an SFT LR). Bands are per
    optimizer family: with LAMB, Adafactor, Lion, Muon, ScaledAdam, Sophia, Adadelta or Adam
    with a large `eps` (>= 1e-3) the rule stays quiet, because those take very different
    learning rates on purpose.

    ## Example
    ```yaml
    base_model: NousResearch/Llama-2-7b-hf
    adapter: qlora
    learning_rate: 0.00001   # a full fine-tuning LR for a QLoRA adapter
    ```

    ## Use instead
    ```yaml
    base_model: NousResearch/Llama-2-7b-hf
    adapter: qlora
    learning_rate: 0.00005   # into the band (the QLoRA paper used 2e-4 at 7B)
    ```

    ## Fix safety
    Unsafe: it changes the learning rate, and never past the band's middle (on a log scale):
    to the band's typical value when that lies between the nearest band edge and the middle,
    else to the nearest band edge. The new value is written in the style of the old literal.

    ## Options
    None here; the bands themselves are settings: `[tool.trainlint.bands.<band>]` with `low`,
    `high`, `typical` and `optimizers` overrides one band or adds a new one (an overridden
    band is used without its size classes).

    ## Source
    The 1,059 published recipes of `lr_band_sources.tsv` (axolotl, torchtune, open-instruct,
    alignment-handbook, open-r1, ms-swift, OpenRLHF, verl, lit-llama, nanoGPT, SpeechBrain,
    distil-whisper, mmpretrain, detectron2, pytorch/examples); QLoRA (Dettmers et al. 2023),
    DPO (Rafailov et al. 2023), ORPO (Hong et al. 2024), InstructGPT (Ouyang et al. 2022),
    GPT-3 (Brown et al. 2020), wav2vec 2.0 (Baevski et al. 2020). Seed 002
    (`002_6031db6a944e5725.txt`): BabyLM LTG-BERT MLM at 1e-4 plateaued at loss 3.6. Seed 003
    (`003_a398bf3ca9a9c075.txt`): the GRU + CTC baseline's constant 0.02 was unstable; 1e-3
    gave the best run. Seeds 001/004: CTC models at 1e-4 collapsed, 5e-4 passed the overfit
    test. Seed 000: conformer 1e-3 -> 2e-3.
    """

    code = "TL102"
    name = "lr-outside-band"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "peak learning rate outside the band for the model type and training regime"
    precision = "100.0% (40 true, 0 false, 7 debatable of 47; dev corpus, 28 repositories)"
    fix_title = "move the learning rate into the band"

    bad = (
        Example("model.json", '{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                '  "learning_rate": 1e-4,\n  "batch_size": 256\n}\n',
                fixed='{\n  "model_type": "ltg_bert",\n  "objective": "mlm",\n'
                      '  "learning_rate": 2e-4,\n  "batch_size": 256\n}\n', unsafe=True),
        Example("asr.yaml", "encoder: conformer\nlr: 0.02\nmax_epoch: 40\n",
                fixed="encoder: conformer\nlr: 0.005\nmax_epoch: 40\n", unsafe=True),
        Example("qlora.yml", "base_model: NousResearch/Llama-2-7b-hf\nadapter: qlora\n"
                "micro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 0.00001\n",
                fixed="base_model: NousResearch/Llama-2-7b-hf\nadapter: qlora\n"
                      "micro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 0.00005\n", unsafe=True),
        Example("train.yaml", "lr: 1.0e-4\nepochs: 100\n", settings={"model-type": "ctc"},
                fixed="lr: 5.0e-4\nepochs: 100\n", unsafe=True),
    )
    good = (
        Example("asr.yaml", "encoder: conformer\nlr: 2.0e-3\nmax_epoch: 40\n"),
        Example("lamb.yaml", "encoder: conformer\noptimizer: lamb\nlr: 0.01\nmax_epoch: 40\n"),
        Example("train.yaml", "lr: 1.0e-4\nepochs: 100\n", settings={"model-type": "llm-finetune"}),
        Example("dpo.yml", "base_model: Qwen/Qwen2.5-7B\nrl: dpo\nadapter: lora\n"
                "micro_batch_size: 2\nnum_epochs: 1\nlearning_rate: 5.0e-6\n"),
    )

    def check_config(self, view: ConfigView):
        lr = view.get("optimizer.lr")
        if lr is None or lr.number is None:
            return
        derived = derive(view, self.ctx.project)
        if derived.model_type is None:
            if derived.band_excluded is None:
                types = ", ".join(sorted(bands(self.ctx)))
                hint = self.at(lr, ENABLE_HINT.format(types=types), severity=Severity.INFO)
                hint.once_per_run = True
                yield hint
            return
        band = band_for(self.ctx, view, derived)
        if band is None or in_band(band, lr.number):
            return
        target = fix_target(band, lr.number, derived)
        severity = Severity.WARNING if is_far_outside(band, lr.number) else Severity.INFO
        message = (f"{_outside(band, lr.number)}: {fmt(lr.number)} -> {fmt(target)} "
                   f"({_evidence(band, derived)})")
        fix = None
        if spliceable(lr):
            fix = self.replace_value(lr, new_text(lr, target),
                                     f"learning rate {fmt(lr.number)} -> {fmt(target)}")
        yield self.at(lr, message, fix, severity)


def _outside(band: Band, lr: float) -> str:
    factor = outside_factor(band, lr)
    direction = "below" if lr < band.low else "above"
    return (f"learning rate {fmt(lr)} is {factor:.2g}x {direction} the {band.model_type} band "
            f"{band.text} for {band.label} (typical {typical_text(band)})")


def _evidence(band: Band, derived: Derived) -> str:
    family = (FAMILY_NAMES.get(derived.optimizer_family.value, derived.optimizer_family.value)
              if derived.optimizer_family else "optimizer assumed Adam/AdamW")
    parts = [family, f"regime from {derived.model_type.provenance}"]
    if band.sized and derived.model_size is not None:
        parts.append(f"size {derived.model_size.provenance}")
    parts.append(band.origin)
    return "; ".join(parts)
