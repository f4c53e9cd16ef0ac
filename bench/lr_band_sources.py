"""Collect the peak learning rates of published recipes in the development corpus.

Writes the rows behind `rules/data/lr_bands.toml` (repository, path, line, model, size,
regime, optimizer, lr, note) as `rules/data/lr_band_sources.tsv`: paths and numbers only,
never the recipes' text. Each source below reads one framework's recipes the way that
framework reads them (axolotl YAML keys, torchtune recipe + components, TRL argument files,
ms-swift / OpenRLHF / verl command lines, SpeechBrain hparams, mmengine schedules).

    python bench/lr_band_sources.py [--corpus /work/corpus] [--out rules/data/lr_band_sources.tsv]

Regimes: pretrain, full-finetune, lora, preference, lora-preference, online-rl,
lora-online-rl, distill, lora-distill, reward-model, lora-reward-model, adapter (LLaMA-Adapter),
1.58-bit (BitNet), scratch (speech or vision models trained from random init),
frontend-finetune (a pretrained speech front-end under a new head). `note` marks rows the bands treat as outliers (and why) or that use an
optimizer the bands do not cover.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path
from typing import Iterator, NamedTuple

import yaml


class Row(NamedTuple):
    repo: str
    path: str
    line: int
    model: str
    size_b: str  # billions of parameters as stated in the model name, "" when not stated
    regime: str
    optimizer: str
    lr: float
    note: str = ""


COLUMNS = Row._fields


def stated_size(*names: str | None) -> str:
    """The size a model name states ('Qwen2.5-7B' -> 7, 'SmolLM2-135M' -> 0.135), else ''."""
    from trainlint.training_regime import size_from_name

    sizes = {size_from_name(str(name)) for name in names if name}
    sizes.discard(None)
    if len(sizes) != 1:
        return ""
    return f"{sizes.pop():g}"


def _number(value) -> float | None:
    try:
        return float(str(value).strip().strip("'\""))
    except (TypeError, ValueError):
        return None


def _line_of(text: str, pattern: str) -> int:
    match = re.search(pattern, text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _family(name: str | None) -> str:
    from trainlint.derive import optimizer_family_of

    return optimizer_family_of(str(name or "adamw"))


def _yaml(path: Path) -> dict | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


# ---------------------------------------------------------------- LLM fine-tuning frameworks

ONLINE_RL = {"grpo", "gdpo", "ppo", "rloo", "ebft", "online_dpo", "gspo", "dapo", "reinforce"}
PREFERENCE = {"dpo", "ipo", "orpo", "kto", "simpo", "cpo", "apo"}


def axolotl(root: Path) -> Iterator[Row]:
    repo = "axolotl-ai-cloud/axolotl"
    for path in sorted([*root.glob("examples/**/*.y*ml"), *root.glob("src/**/examples/**/*.y*ml")]):
        data = _yaml(path)
        if not data or _number(data.get("learning_rate")) is None:
            continue
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(root))
        adapter = str(data.get("adapter") or "").lower()
        rl = str(data.get("rl") or "").lower()
        hatchery = data.get("hatchery") if isinstance(data.get("hatchery"), dict) else {}
        lora = "lora" in adapter or bool(hatchery.get("lora_rank"))
        if data.get("pretraining_dataset"):
            regime = "pretrain"
        elif rl in ONLINE_RL:
            regime = "lora-online-rl" if lora else "online-rl"
        elif rl in PREFERENCE:
            regime = "lora-preference" if lora else "preference"
        elif data.get("reward_model") or data.get("process_reward_model"):
            regime = "lora-reward-model" if lora else "reward-model"
        else:
            regime = "lora" if lora else "full-finetune"
        note = ""
        if data.get("use_onebitllms"):
            regime, note = "1.58-bit", "1.58-bit (BitNet) training: ~10x LRs by design, no band"
        elif data.get("unfrozen_parameters") and not lora:
            note = "partial fine-tune (unfrozen_parameters)"
        yield Row(repo, rel, _line_of(text, r"^learning_rate\s*:"), "llm",
                  stated_size(data.get("base_model")), regime, _family(data.get("optimizer")),
                  _number(data["learning_rate"]), note)


TORCHTUNE_RECIPES = (("ppo", "online-rl"), ("grpo", "online-rl"), ("lora_dpo", "lora-preference"),
                     ("full_dpo", "preference"), ("knowledge_distillation", "lora-distill"),
                     ("lora", "lora"), ("full", "full-finetune"), ("qat", "full-finetune"))


def torchtune(root: Path) -> Iterator[Row]:
    repo = "pytorch/torchtune"
    for path in sorted(root.glob("recipes/configs/**/*.yaml")):
        data = _yaml(path)
        optimizer = data.get("optimizer") if data else None
        if not isinstance(optimizer, dict) or _number(optimizer.get("lr")) is None:
            continue
        text = path.read_text(encoding="utf-8")
        recipe = re.search(r"tune run (?:--\S+ \S+ )*(\S+)", text)
        recipe_name = recipe.group(1) if recipe else ""
        regime = next((r for key, r in TORCHTUNE_RECIPES if key in recipe_name), "")
        if "KD" in path.name or "distill" in recipe_name:
            regime = "lora-distill" if "lora" in path.name.lower() else "distill"
        if not regime:
            continue
        checkpointer = data.get("checkpointer") or {}
        size = stated_size(path.name.split("_")[0] if path.name[0].isdigit() else None,
                           checkpointer.get("checkpoint_dir") if isinstance(checkpointer, dict) else None)
        if "KD" in path.name:  # "8B_to_1B_KD": the student's size
            size = stated_size(path.name.split("_to_")[1].split("_")[0])
        yield Row(repo, str(path.relative_to(root)), _line_of(text, r"^\s+lr\s*:"), "llm", size,
                  regime, _family(str(optimizer.get("_component_"))), _number(optimizer["lr"]))


def trl_recipes(root: Path, repo: str, pattern: str) -> Iterator[Row]:
    """alignment-handbook / open-r1 / open-instruct argument files (TRL or the project's own
    dataclasses with TRL's field names)."""
    for path in sorted(root.glob(pattern)):
        data = _yaml(path)
        if not data or _number(data.get("learning_rate")) is None:
            continue
        text = path.read_text(encoding="utf-8")
        parts = set(path.parts)
        lora = bool(data.get("use_peft") or data.get("use_lora") or data.get("use_qlora"))
        if "grpo" in parts or "reward_funcs" in data or "num_generations" in data:
            regime = "online-rl"
        elif parts & {"dpo", "orpo", "kto"} or "dpo_beta" in data or data.get("dpo_loss_type"):
            regime = "preference"
        elif parts & {"sft", "olmo2", "tulu3"} or "sft" in path.name:
            regime = "full-finetune"
        else:
            continue
        if regime == "full-finetune" and ("dpo" in path.name or "dpo_beta" in data):
            regime = "preference"
        if lora:
            regime = "lora" if regime == "full-finetune" else "lora-" + regime
        yield Row(repo, str(path.relative_to(root)), _line_of(text, r"^learning_rate\s*:"), "llm",
                  stated_size(data.get("model_name_or_path")), regime,
                  _family(data.get("optim") or data.get("optimizer")), _number(data["learning_rate"]))


SWIFT_COMMAND = re.compile(r"(?:^|\s)(swift|megatron)\s+(sft|rlhf|pt)\b(.*?)(?=\n\s*\n|\Z)", re.S)


def _flag(body: str, *names: str) -> str:
    for name in names:
        match = re.search(r"--" + re.escape(name) + r"[ =]+['\"]?([^\s'\"\\]+)", body)
        if match:
            return match.group(1)
    return ""


def ms_swift(root: Path) -> Iterator[Row]:
    repo = "modelscope/ms-swift"
    for path in sorted(root.glob("examples/**/*.sh")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for command in SWIFT_COMMAND.finditer(text):
            body = command.group(3)
            lr = _number(_flag(body, "learning_rate", "lr"))
            if lr is None:
                continue
            kind = command.group(2)
            rlhf = _flag(body, "rlhf_type").lower()
            tuner = _flag(body, "train_type", "tuner_type").lower() or ("lora" if kind == "sft" and command.group(1) == "swift" else "")
            lora = "lora" in tuner
            if tuner not in ("full", "") and not lora:
                continue  # other tuners (adalora, boft, reft, llamapro...): no band
            note = ""
            if kind == "pt":  # continued pretraining of a pretrained checkpoint
                regime, note = "full-finetune", "continued pretraining (pt)"
            elif rlhf in ONLINE_RL:
                regime = "online-rl"
            elif rlhf in PREFERENCE:
                regime = "preference"
            elif rlhf == "gkd":  # on-policy distillation: the student's own generations
                regime, note = "online-rl", "on-policy distillation (GKD)"
            elif rlhf == "rm":
                regime = "reward-model"
            elif kind == "sft":
                regime = "full-finetune"
            else:
                continue
            if lora:
                regime = "lora" if regime == "full-finetune" else "lora-" + regime
            elif not tuner and command.group(1) == "swift":
                continue  # swift's default tuner is LoRA for sft; unstated for rlhf: skip
            line = text.count("\n", 0, command.start(3) + body.find("learning_rate")) + 1
            yield Row(repo, str(path.relative_to(root)), line, "llm", stated_size(_flag(body, "model")),
                      regime, _family(_flag(body, "optimizer", "optim")), lr, note)


OPENRLHF_ENTRY = (("train_ppo", "online-rl"), ("train_dpo", "preference"), ("train_rm", "reward-model"),
                  ("train_sft", "full-finetune"), ("train_kd", "distill"))


def openrlhf(root: Path) -> Iterator[Row]:
    repo = "OpenRLHF/OpenRLHF"
    for path in sorted(root.glob("examples/scripts/*.sh")):
        text = path.read_text(encoding="utf-8")
        entry = re.search(r"openrlhf\.cli\.(\w+)", text)
        if not entry:
            continue
        regime = next((r for key, r in OPENRLHF_ENTRY if entry.group(1).startswith(key)), "")
        lr_flag = re.search(r"--(?:actor\.)?adam\.lr[ =]+(\S+)", text)
        if not regime or not lr_flag:
            continue
        lora = re.search(r"lora\.rank[ =]+([1-9]\d*)", text) is not None
        if lora:
            regime = "lora" if regime == "full-finetune" else "lora-" + regime
        model = re.search(r"--(?:actor\.)?model\.model_name_or_path[ =]+(\S+)", text)
        yield Row(repo, str(path.relative_to(root)), text.count("\n", 0, lr_flag.start()) + 1, "llm",
                  stated_size(model.group(1) if model else None), regime, "adam",
                  _number(lr_flag.group(1)))


def verl(root: Path) -> Iterator[Row]:
    repo = "volcengine/verl"
    for path in sorted(root.glob("examples/**/*.sh")):
        text = path.read_text(encoding="utf-8", errors="replace")
        actor = re.search(r"actor_rollout_ref\.actor\.optim\.lr=([0-9.eE+-]+)(?=\s|\\|$)", text)
        sft = re.search(r"(?<![\w.])optim\.lr=([0-9.eE+-]+)(?=\s|\\|$)", text)
        found, regime = (actor, "online-rl") if actor else (sft, "full-finetune")
        if found is None or (not actor and "fsdp_sft_trainer" not in text and "sft_trainer" not in text):
            continue
        if re.search(r"lora_rank=([1-9]\d*)", text):
            regime = "lora" if regime == "full-finetune" else "lora-" + regime
        model = re.search(r"model\.path=['\"]?([^\s'\"\\]+)", text)
        yield Row(repo, str(path.relative_to(root)), text.count("\n", 0, found.start()) + 1, "llm",
                  stated_size(model.group(1) if model else None), regime, "adam",
                  float(found.group(1)))


def python_constants(root: Path, repo: str, files: dict[str, tuple[str, str, str]]) -> Iterator[Row]:
    """Module-level `learning_rate = ...` of scripts: path -> (model, regime, size)."""
    for name, (model, regime, size) in files.items():
        path = root / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^learning_rate\s*=\s*([0-9.eE+-]+)", text, re.M)
        if match:
            yield Row(repo, name, text.count("\n", 0, match.start()) + 1, model, size, regime, "adam",
                      float(match.group(1)))


# ---------------------------------------------------------------- speech

SB_ASR_MODELS = ("conformer", "branchformer", "transformer")


def speechbrain(root: Path) -> Iterator[Row]:
    repo = "speechbrain/speechbrain"
    for path in sorted(root.glob("recipes/**/hparams/*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = str(path.relative_to(root))
        front = re.search(r"^lr_(wav2vec|ssl|whisper|hubert|wavlm)\s*:\s*([0-9.eE+-]+)", text, re.M)
        if front and re.search(r"ASR|asr", rel):
            hub = re.search(r"^(?:wav2vec2_hub|ssl_hub|whisper_hub)\s*:\s*(\S+)", text, re.M)
            optimizer = re.search(r"^\w*(?:wav2vec|ssl|whisper)\w*opt\w*\s*:\s*!name:torch\.optim\.(\w+)", text, re.M)
            model = "whisper" if front.group(1) == "whisper" else "speech-ssl"
            yield Row(repo, rel, text.count("\n", 0, front.start()) + 1, model,
                      stated_size(hub.group(1) if hub else None), "frontend-finetune",
                      _family(optimizer.group(1) if optimizer else "adam"), float(front.group(2)))
            continue
        if "/ASR/" not in rel and "/AST/" not in rel and "/ST/" not in rel:
            continue
        encoder = re.search(r"^\s*encoder_module\s*:\s*(\w+)", text, re.M)
        if not encoder or encoder.group(1) not in SB_ASR_MODELS:
            continue
        lr = re.search(r"^(?:lr_adam|lr|lr_model)\s*:\s*([0-9.eE+-]+)", text, re.M)
        noam = "NoamScheduler" in text or "warmup" in text
        if not lr or not noam:
            continue
        optimizer = re.search(r"^(?:Adam|adam_opt_class|opt_class|model_opt_class)\s*:\s*!name:torch\.optim\.(\w+)", text, re.M)
        value = float(lr.group(1))
        if value > 0.1:
            continue  # a Noam scale factor (lr_adam: 2.5), not a peak LR
        yield Row(repo, rel, text.count("\n", 0, lr.start()) + 1, "conformer"
                  if encoder.group(1) != "transformer" else "transformer-asr", "", "scratch",
                  _family(optimizer.group(1) if optimizer else "adam"), value)


def distil_whisper(root: Path) -> Iterator[Row]:
    repo = "huggingface/distil-whisper"
    for path in sorted(root.glob("training/**/*.md")) + sorted(root.glob("training/**/*.sh")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in re.finditer(r"--learning_rate[ =]+([0-9.eE+-]+)", text):
            script = text.rfind("run_", 0, match.start())
            kind = text[script:script + 40]
            regime = "distill" if "distillation" in kind else "frontend-finetune"
            yield Row(repo, str(path.relative_to(root)), text.count("\n", 0, match.start()) + 1,
                      "whisper", "", regime, "adam", float(match.group(1)))


# ---------------------------------------------------------------- vision

MMENGINE_OPTIMIZER = re.compile(r"optimizer\s*=\s*dict\(\s*type\s*=\s*'(\w+)'\s*,\s*lr\s*=\s*([0-9.eE+-]+)\s*,")


def mmpretrain(root: Path) -> Iterator[Row]:
    repo = "open-mmlab/mmpretrain"
    for path in sorted(root.glob("configs/_base_/schedules/*.py")):
        text = path.read_text(encoding="utf-8")
        for match in MMENGINE_OPTIMIZER.finditer(text):
            family = _family(match.group(1))
            batch = re.search(r"_bs(\d+)", path.name)
            note = "" if family == "sgd" else "not SGD"
            yield Row(repo, str(path.relative_to(root)), text.count("\n", 0, match.start()) + 1, "cnn",
                      "", "scratch", family, float(match.group(2)),
                      note or (f"batch {batch.group(1)}" if batch else ""))


def pytorch_examples(root: Path) -> Iterator[Row]:
    repo = "pytorch/examples"
    path = root / "imagenet/main.py"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        match = re.search(r"'--lr'.*?default=([0-9.]+)", text)
        if match:
            yield Row(repo, "imagenet/main.py", text.count("\n", 0, match.start()) + 1, "cnn", "",
                      "scratch", "sgd", float(match.group(1)), "batch 256")


def detectron2(root: Path) -> Iterator[Row]:
    repo = "facebookresearch/detectron2"
    for path in sorted(root.glob("configs/Base-*.yaml")):
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^\s+BASE_LR\s*:\s*([0-9.eE+-]+)", text, re.M)
        if match:
            yield Row(repo, str(path.relative_to(root)), text.count("\n", 0, match.start()) + 1, "cnn",
                      "", "scratch", "sgd", float(match.group(1)), "batch 16")


# Recipes outside their band, with the reason the band does not follow them (the verdicts in
# bench/realworld/verdicts.tsv and /work/wt/triage where a finding was judged).
LORA_AT_FULL_FT_LR = ("LoRA at a full fine-tuning LR: 2.5x-20x below every other LoRA recipe of "
                      "its size (LoRA needs ~10x the full-FT LR; judged TRUE where linted)")
OUTLIERS = (
    ("pytorch/torchtune", r"recipes/configs/(gemma2?|mistral|qwen2|qwen2_5|qwen3|llama4)/.*lora", LORA_AT_FULL_FT_LR),
    ("axolotl-ai-cloud/axolotl", r"examples/(archived/(pythia|replit-3b|starcoder2|xgen-7b)|llama-2/(gptq-lora|qlora-fsdp)|phi/phi-qlora|phi/phi3-ft|llama-3/qlora-fsdp-70b|jamba/qlora(_deepspeed)?\.yaml)", LORA_AT_FULL_FT_LR),
    ("axolotl-ai-cloud/axolotl", r"examples/(llama-3/qlora-fsdp-405b|jamba/qlora_fsdp_large|deepseek-v2/qlora-fsdp-2_5|llama-4/)",
     "QLoRA of a 100B+ model (or MoE) at 1e-5 .. 2e-5: lower than the band on purpose for very large models (DEBATABLE)"),
    ("OpenRLHF/OpenRLHF", r"train_sft_mixtral_lora", LORA_AT_FULL_FT_LR),
    ("modelscope/ms-swift", r"examples/train/(all_to_all|sequence_parallel)/", LORA_AT_FULL_FT_LR),
    ("axolotl-ai-cloud/axolotl", r"examples/archived/(mpt-7b/config|redpajama/config-3b)",
     "full fine-tune at 2e-7: 10x-50x below every other full-FT recipe (judged TRUE)"),
    ("allenai/open-instruct", r"tulu3_70b_preview_mix_v3\.8-noncommercial",
     "2e-7: one preview experiment of the Tulu 3 70B series; v3.9 and the final 70B SFT use 2e-6"),
    ("axolotl-ai-cloud/axolotl", r"examples/(llama-2/fft_optimized|qwen3\.5/(27b-fft|9b-fft-vision))",
     "a LoRA LR (2e-4) in a full fine-tuning config of a 7B+ model (judged TRUE)"),
    ("pytorch/torchtune", r"llama3_1/8B_full_dpo", "full-parameter DPO at 2e-5: 40x the Tulu 3 / Zephyr DPO LR (judged TRUE)"),
    ("axolotl-ai-cloud/axolotl", r"examples/qwen2/dpo\.yaml", "full-parameter DPO at 2e-4 (judged TRUE)"),
    ("axolotl-ai-cloud/axolotl", r"qwen3_30ba3b_ep_lora", "LoRA at 3e-3: 6x above the LoRA band (judged TRUE)"),
    ("axolotl-ai-cloud/axolotl", r"examples/llama-3/qlora-1b-gdpo",
     "full-parameter GDPO (no adapter despite the file name) at a LoRA online-RL LR"),
    ("modelscope/ms-swift", r"qwen3_5_full_grpo_megatron", "full-parameter GRPO at 5e-5: 2.5x above every other full GRPO recipe"),
    ("modelscope/ms-swift", r"examples/megatron/rlhf/gkd/", "GKD without a stated tuner at 5e-5: the other full GKD recipes use 1e-5"),
    ("volcengine/verl", r"_npu\.sh$", "NPU profiling example at 5e-8: 20x below every other GRPO recipe"),
    ("axolotl-ai-cloud/axolotl", r"examples/mistral/(bigstral|mixtral/mixtral_22)",
     "partial fine-tune of a 141B MoE (last layers' experts, embeddings, lm_head) at 1e-4: 2x above the full-FT band"),
)


def _outlier_note(row: Row) -> str:
    from trainlint.rules.data_tables import bands, in_band, outside_factor, recipe_band

    band = recipe_band(bands(), row.model, row.regime, row.optimizer,
                       float(row.size_b) if row.size_b else None)
    if band is None:
        return row.note or "no band for this model type, regime and optimizer"
    if in_band(band, row.lr):
        return row.note
    reason = next((note for repo, pattern, note in OUTLIERS
                   if repo == row.repo and re.search(pattern, row.path)), None)
    factor = outside_factor(band, row.lr)
    if reason is None and factor < 2:
        reason = f"{factor:.2g}x outside the {band.model_type} band: within 2x (info)"
    if reason is not None:
        return f"{row.note}; {reason}" if row.note else reason
    raise SystemExit(f"{row.repo} {row.path}: {row.lr:g} is {factor:.2g}x outside the "
                     f"{band.model_type} band and has no note in OUTLIERS")


def collect(corpus: Path) -> list[Row]:
    def at(name: str) -> Path:
        return corpus / name

    sources = [
        axolotl(at("axolotl-ai-cloud__axolotl")),
        torchtune(at("pytorch__torchtune")),
        trl_recipes(at("huggingface__alignment-handbook"), "huggingface/alignment-handbook", "recipes/**/*.yaml"),
        trl_recipes(at("huggingface__open-r1"), "huggingface/open-r1", "recipes/**/*.yaml"),
        trl_recipes(at("allenai__open-instruct"), "allenai/open-instruct", "configs/train_configs/**/*.yaml"),
        ms_swift(at("modelscope__ms-swift")),
        openrlhf(at("OpenRLHF__OpenRLHF")),
        verl(at("volcengine__verl")),
        python_constants(at("Lightning-AI__lit-llama"), "Lightning-AI/lit-llama", {
            "finetune/full.py": ("llm", "full-finetune", "7"),
            "finetune/lora.py": ("llm", "lora", "7"),
            "finetune/adapter.py": ("llm", "adapter", "7"),
            "finetune/adapter_v2.py": ("llm", "adapter", "7"),
            "pretrain/redpajama.py": ("llm", "pretrain", ""),
            "pretrain/shakespeare.py": ("llm", "pretrain", ""),
        }),
        python_constants(at("karpathy__nanoGPT"), "karpathy/nanoGPT", {
            "train.py": ("llm", "pretrain", "0.124"),
            "config/train_shakespeare_char.py": ("llm", "pretrain", ""),
            "config/finetune_shakespeare.py": ("llm", "full-finetune", "1.5"),
        }),
        speechbrain(at("speechbrain__speechbrain")),
        distil_whisper(at("huggingface__distil-whisper")),
        mmpretrain(at("open-mmlab__mmpretrain")),
        pytorch_examples(at("pytorch__examples")),
        detectron2(at("facebookresearch__detectron2")),
    ]
    rows = [row for source in sources for row in source if row.lr is not None]
    rows = [row._replace(note=_outlier_note(row)) for row in rows]
    return sorted(set(rows), key=lambda r: (r.model, r.regime, r.repo, r.path, r.line))


def _backs_a_band(row: Row) -> bool:
    from trainlint.rules.data_tables import bands, recipe_band

    return recipe_band(bands(), row.model, row.regime, row.optimizer,
                       float(row.size_b) if row.size_b else None) is not None


def band_counts(rows: list[Row]) -> dict[str, int]:
    """Recipes per band; a family's own band counts every recipe of its size classes too."""
    from trainlint.rules.data_tables import bands, recipe_band

    table = bands()
    counts: dict[str, int] = {}
    for row in rows:
        band = recipe_band(table, row.model, row.regime, row.optimizer,
                           float(row.size_b) if row.size_b else None)
        if band is None:
            continue
        for key in {band.model_type, band.family}:
            counts[key] = counts.get(key, 0) + 1
    return counts


def write_counts(toml_path: Path, counts: dict[str, int]) -> None:
    """Rewrite each band's `recipes = N` line in lr_bands.toml (nothing else changes)."""
    lines = toml_path.read_text(encoding="utf-8").splitlines(keepends=True)
    key = None
    for number, line in enumerate(lines):
        header = re.match(r"\[bands\.([\w-]+)\]", line)
        if header:
            key = header.group(1)
        elif key and re.match(r"recipes = \d+$", line.strip()):
            lines[number] = f"recipes = {counts.get(key, 0)}\n"
    toml_path.write_text("".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/work/corpus", type=Path)
    parser.add_argument("--out", default=Path(__file__).resolve().parent.parent
                        / "rules/data/lr_band_sources.tsv", type=Path)
    args = parser.parse_args(argv)
    rows = collect(args.corpus)
    with args.out.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([*row[:7], f"{row.lr:g}", row.note])
    counts = band_counts(rows)
    write_counts(args.out.parent / "lr_bands.toml", counts)
    backed = sum(1 for row in rows if _backs_a_band(row))
    print(f"{len(rows)} recipes -> {args.out}; {backed} back a band (recipes = N in lr_bands.toml)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
