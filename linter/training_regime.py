"""What a training setup trains and how: the LR band family (model type x training regime) a
config describes, and the model size its model name states.

The regime comes from evidence, never from one key alone: a framework's own method switch
(axolotl `rl`, ms-swift `rlhf_type`, a torchtune loss or recipe component), two keys that only
a preference or online-RL trainer reads (`beta` with `max_prompt_length`; `reward_funcs` with
`num_generations`), the trainer classes a Python script builds (`DPOTrainer`, `GRPOTrainer`),
the adapter switch the framework reads (`adapter: qlora`, `use_peft`, a LoRA model component,
`train_type: lora`, else a LoRA rank), a pretrained speech front-end under a new head. What
cannot be told stays unknown: an unknown method name, an adapter that is not LoRA, evidence
that disagrees, or a setup whose LRs bands do not describe (1.58-bit training, separate
front-end and head LRs) give no band, so the band rules stay quiet.

`regime_of(view)` returns a `Regime` (a band family with the evidence for it), a `NoBand`
(why no band applies), or None (no evidence either way).
"""

from __future__ import annotations

import re
from pathlib import PurePath

from msgspec import Struct

from trainlint.records import ConfigView, Value

PREFERENCE_METHODS = {"dpo", "ipo", "orpo", "kto", "simpo", "cpo", "apo", "rso", "bco", "sppo",
                      "nca", "rpo", "hinge", "dpo_norm"}
ONLINE_RL_METHODS = {"grpo", "gdpo", "ppo", "rloo", "reinforce", "reinforce_pp", "remax",
                     "online_dpo", "gspo", "dapo", "ebft", "xpo", "nash_md", "gae"}
# GKD distils on the student's own generations (on-policy, like online RL) and trains at
# online-RL learning rates (ms-swift GKD recipes); offline KD on fixed data is "distill".
ON_POLICY_DISTILL_METHODS = {"gkd", "on_policy_distill", "on_policy_distillation"}
DISTILL_METHODS = {"kd", "distill", "distillation"}
REWARD_METHODS = {"rm", "reward", "reward_model", "prm"}
SFT_METHODS = {"sft", "", "none", "null"}
METHOD_SWITCHES = ("rl", "rlhf_type", "stage", "training_type", "trainer_type")

# Keys only a preference trainer reads (TRL DPO/ORPO/KTO/CPO configs, open-instruct DPO).
PREFERENCE_KEYS = {"max_prompt_length", "ref_model", "ref_model_name_or_path", "reference_free",
                   "rpo_alpha", "dpo_beta", "dpo_loss_type", "desirable_weight",
                   "undesirable_weight", "simpo_gamma", "cpo_alpha", "precompute_ref_log_probs",
                   "sync_ref_model", "ref_adapter_name", "orpo_alpha", "ref_model_init_kwargs"}
PREFERENCE_ONLY_KEYS = {"dpo_beta", "dpo_loss_type", "reference_free", "rpo_alpha",
                        "desirable_weight", "undesirable_weight", "simpo_gamma", "cpo_alpha",
                        "orpo_alpha"}
PREFERENCE_LOSS_TYPES = {"sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair",
                         "sppo_hard", "aot", "aot_pair", "apo_zero", "apo_down", "discopop",
                         "dpo_norm", "simpo", "dpo", "orpo", "kto", "simpo_norm"}
# Keys only an online-RL trainer reads (TRL GRPO/RLOO/PPO, verl, hatchery), and the sampling
# keys that second them: one of the first with another of either.
ONLINE_RL_KEYS = {"num_generations", "reward_funcs", "reward_weights", "rloo_k",
                  "num_ppo_epochs", "init_kl_coef", "kl_coef", "cliprange_value", "vf_coef",
                  "adv_estimator", "num_samples_per_prompt", "vllm_mode", "use_kl_loss",
                  "kl_loss_coef", "epsilon_high", "mask_truncated_completions"}
SAMPLING_KEYS = {"num_samples", "sample_temperature", "max_completion_length", "use_vllm",
                 "max_sample_tokens", "temperature", "top_p"}
DISTILL_KEYS = {"teacher_model_name_or_path", "teacher_model", "teacher_model_path",
                "teacher_checkpointer", "kd_loss", "kd_ratio", "distill_temperature", "lmbda"}
# Keys of a causal-LM SFT config (TRL SFTConfig, alignment-handbook, open-instruct).
LM_TEXT_KEYS = {"max_seq_length", "dataset_text_field", "packing", "chat_template",
                "dataset_mixer", "dataset_mixture", "sequence_len", "max_length"}
TRAINER_CLASSES = (
    (re.compile(r"\b(?:DPO|IPO|ORPO|KTO|CPO|BCO|SimPO)Trainer\b"), "preference"),
    (re.compile(r"\b(?:GRPO|PPO|PPOv2|RLOO|OnlineDPO|XPO|NashMD)Trainer\b"), "online-rl"),
    (re.compile(r"\bGKDTrainer\b"), "online-rl"),
    (re.compile(r"\b(?:Reward|PRM)Trainer\b"), "reward-model"),
    (re.compile(r"\bSFTTrainer\b"), "sft"),
)
_TRAINER_CALLS = tuple((re.compile(pattern.pattern + r"\s*\("), method)
                       for pattern, method in TRAINER_CLASSES)
CODE_LORA = re.compile(r"\b(?:LoraConfig|get_peft_model|prepare_model_for_kbit_training)\s*\(")

ADAPTER_SWITCHES = ("train_type", "tuner_type", "finetuning_type", "peft_type")
LORA_SWITCHES = ("use_peft", "use_lora", "use_qlora", "use_dora", "lora")
RANK_KEYS = ("lora_r", "lora_rank")
LLM_DIALECTS = ("axolotl", "torchtune", "nanogpt")
ONEBIT_KEYS = ("use_onebitllms", "onebit", "bitnet", "use_bitnet")
ONEBIT_NAMES = ("bitnet", "1.58bit", "1_58bit", "1.58-bit", "b1.58")

# Model names: which keys name the model being trained (not its teacher, reward or reference
# model), and the speech front-ends that are pretrained encoders.
NAME_KEYS_ALL = {"base_model", "model_name_or_path", "pretrained_model_name_or_path", "model_name",
                 "teacher_model_name_or_path", "teacher_model", "student_model_name_or_path"}
NAME_KEYS = ("base_model", "model_name_or_path", "pretrained_model_name_or_path", "model_name",
             "model_id", "model_path", "checkpoint_dir", "pretrain", "init_from", "model", "path")
OTHER_MODEL_PARTS = ("reward", "teacher", "critic", "ref", "ref_model", "draft", "tokenizer",
                     "reward_model", "teacher_model", "output", "output_dir", "data", "dataset",
                     "datasets", "rm", "ref_policy_checkpointer", "reward_checkpointer",
                     "value_checkpointer", "teacher_checkpointer")
SPEECH_FRONTENDS = ("wav2vec2", "wav2vec", "hubert", "wavlm", "whisper", "w2v-bert", "w2v_bert",
                    "xls-r", "xlsr", "data2vec-audio", "data2vec_audio", "unispeech", "mms-")
FRONTEND_HUB_KEYS = ("wav2vec2_hub", "ssl_hub", "whisper_hub", "hubert_hub", "wavlm_hub",
                     "w2v_hub", "sslmodel_hub")
# A second LR for the front-end: lr_wav2vec, lr_wav2vec2, lr_ssl, whisper_lr, lr_encoder, ...
FRONTEND_LR_KEY = re.compile(r"^(?:lr_\w*(?:wav2vec|w2v|ssl|whisper|hubert|wavlm|encoder|pretrained)\w*"
                             r"|\w*(?:wav2vec|w2v|ssl|whisper|hubert|wavlm|encoder|pretrained)\w*_lr)$")
ASR_HEAD_KEYS = ("ctc_loss_reduction", "ctc_zero_infinity", "mask_time_prob",
                 "freeze_feature_encoder", "freeze_feature_extractor", "ctc_weight",
                 "predict_with_generate", "generation_max_length", "ctc_lin")
SIZE_IN_NAME = re.compile(r"(?<![A-Za-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)([bBmM])(?![A-Za-z0-9])")


class Regime(Struct, frozen=True):
    family: str  # a band family of rules/data/lr_bands.toml: llm-lora, llm-dpo, ...
    evidence: tuple[str, ...]  # "adapter: qlora (qlora.yml:17)", ...
    values: tuple[Value, ...] = ()

    @property
    def text(self) -> str:
        return "; ".join(self.evidence)


class NoBand(Struct, frozen=True):
    reason: str


class Size(Struct, frozen=True):
    billions: float
    value: Value


def where(value: Value) -> str:
    return f"{PurePath(value.path).name}:{value.span.line}"


def _leaf(value: Value) -> str:
    return value.key.lstrip("-").rsplit(".", 1)[-1]


def said(value: Value, label: str | None = None) -> str:
    """'adapter: qlora (qlora.yml:17)'; a list or mapping as `key (file:line)`."""
    if isinstance(value.value, (dict, list)):
        return f"{label or value.key.lstrip('-')} ({where(value)})"
    shown = value.value if not isinstance(value.value, str) else value.value.strip()
    return f"{label or value.key.lstrip('-')}: {shown} ({where(value)})"


def _text(value: Value | None) -> str:
    if value is None or not value.known or value.value is None:
        return ""
    return str(value.value).strip().lower()


def _truthy(value: Value) -> bool | None:
    if not value.known:
        return None
    if isinstance(value.value, bool):
        return value.value
    text = _text(value)
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0", "", "none", "null"):
        return False
    return None


class _Keys:
    """The raw keys of a view by leaf name (list items left out; a list or mapping value
    counts for presence only)."""

    def __init__(self, view: ConfigView) -> None:
        self.by_leaf: dict[str, list[Value]] = {}
        for key, value in view.raw.items():
            parts = key.lstrip("-").split(".")
            if any(part.isdigit() for part in parts):
                continue
            self.by_leaf.setdefault(parts[-1].lower().replace("-", "_"), []).append(value)

    def first(self, *leaves: str) -> Value | None:
        for leaf in leaves:
            values = self.by_leaf.get(leaf)
            if values:
                return values[0]
        return None

    def present(self, leaves) -> list[Value]:
        return [values[0] for leaf, values in self.by_leaf.items() if leaf in leaves]


def size_from_name(name: str) -> float | None:
    """The parameter count a model name states, in billions: 'Qwen2.5-7B-Instruct' -> 7,
    'Mixtral-8x7B' -> 56, 'SmolLM2-135M' -> 0.135, 'Qwen3-30B-A3B' -> 30. None when the name
    states none, states two different sizes ('14B_to_8B'), or states it in a form that also
    reads as a version (`qwen2_5_7b`: Qwen 2.5 7B, or Qwen2 5.7B)."""
    sizes = set()
    for match in SIZE_IN_NAME.finditer(name):
        before = name[max(0, match.start() - 2):match.start()]
        if len(before) == 2 and before[1] == "_" and before[0].isdigit():
            return None
        experts, number, unit = match.groups()
        sizes.add(float(number) * (int(experts) if experts else 1) / (1000 if unit in "mM" else 1))
    return sizes.pop() if len(sizes) == 1 else None


def model_size(view: ConfigView) -> Size | None:
    """The size the name of the model being trained states; None when no name states one or
    two names state different sizes."""
    found: dict[float, Value] = {}
    for key, value in view.raw.items():
        parts = [part.lower() for part in key.lstrip("-").split(".")]
        if parts[-1] not in NAME_KEYS or any(part in OTHER_MODEL_PARTS for part in parts[:-1]):
            continue
        if parts[-1] in ("model", "path") and len(parts) > 1 and parts[-2] not in ("model", "actor"):
            continue
        if not isinstance(value.value, str) or not value.known:
            continue
        size = size_from_name(value.value)
        if size is not None:
            found.setdefault(size, value)
    if len(found) != 1:
        return None
    (billions, value), = found.items()
    return Size(billions, value)


# ---------------------------------------------------------------- the LLM regime

def _method(view: ConfigView, keys: _Keys) -> tuple[str, list[str]] | NoBand | None:
    """(preference | online-rl | distill | reward-model | pretrain, evidence), or NoBand for
    an unknown or contradicted method, or None for plain supervised training."""
    found: list[tuple[str, str]] = []
    for leaf in METHOD_SWITCHES:
        value = keys.first(leaf)
        if value is None or not isinstance(value.value, str):
            continue
        if leaf in ("stage", "training_type", "trainer_type") and _method_of(_text(value)) is None:
            continue
        text = _text(value)
        if text in SFT_METHODS:
            continue
        method = _method_of(text)
        if method is None:
            return NoBand(f"{said(value)} is a training method trainlint has no LR band for")
        found.append((method, said(value)))
    found.extend(_component_methods(view))
    found.extend(_marker_methods(keys))
    found.extend(_code_methods(view))
    if keys.first("pretraining_dataset") is not None:
        found.append(("pretrain", said(keys.first("pretraining_dataset"), "pretraining_dataset")))
    init = keys.first("init_from")
    if view.dialect == "nanogpt" and init is not None and _text(init) == "scratch":
        found.append(("pretrain", said(init)))
    reward = [v for v in keys.present({"reward_model", "process_reward_model"}) if _truthy(v)]
    if reward and view.dialect == "axolotl":
        found.append(("reward-model", said(reward[0])))
    sft = [text for method, text in found if method == "sft"]
    found = [(method, text) for method, text in found if method != "sft"]
    methods = {method for method, _ in found}
    if not methods and sft:
        return "sft", sft
    if len(methods) > 1:
        return NoBand("the evidence disagrees on the training method: "
                      + "; ".join(text for _, text in found))
    if not methods:
        return None
    return methods.pop(), [text for _, text in found]


def _method_of(text: str) -> str | None:
    text = text.rsplit(".", 1)[-1].replace("-", "_")
    for names, method in ((PREFERENCE_METHODS, "preference"), (ONLINE_RL_METHODS, "online-rl"),
                          (ON_POLICY_DISTILL_METHODS, "online-rl"), (DISTILL_METHODS, "distill"),
                          (REWARD_METHODS, "reward-model")):
        if text in names:
            return method
    if text in ("pt", "pretrain", "pretraining"):
        return "pretrain"
    return None


def _component_methods(view: ConfigView) -> list[tuple[str, str]]:
    """torchtune: the loss component (DPOLoss, PPOLoss, GRPO...) and a KD loss."""
    if view.dialect != "torchtune":
        return []
    found = []
    for key in ("loss._component_", "kd_loss._component_"):
        value = view.raw.get(key)
        if value is None or not isinstance(value.value, str):
            continue
        leaf = value.value.rsplit(".", 1)[-1].lower()
        if key.startswith("kd_loss") or "kl" in leaf:
            found.append(("distill", said(value)))
        elif any(name in leaf for name in ("dpo", "simpo", "rso", "ipo")):
            found.append(("preference", said(value)))
        elif "ppo" in leaf or "grpo" in leaf:
            found.append(("online-rl", said(value)))
    return found


def _marker_methods(keys: _Keys) -> list[tuple[str, str]]:
    """Two keys only one kind of trainer reads (one key is never enough). GRPO and PPO configs
    share `beta`, `max_prompt_length`, `loss_type` and a reference model with DPO: where
    online-RL keys are present, only keys no online-RL trainer reads count for preference."""
    found = []
    online = keys.present(ONLINE_RL_KEYS)
    if online and len(online) + len(keys.present(SAMPLING_KEYS)) >= 2:
        shown = online + keys.present(SAMPLING_KEYS)
        found.append(("online-rl", " with ".join(said(v, _leaf(v)) for v in shown[:2])))
    if online:
        preference = keys.present(PREFERENCE_ONLY_KEYS)
        if len(preference) >= 2 or keys.first("dpo_beta") is not None and preference:
            found.append(("preference", " with ".join(said(v) for v in preference[:3])))
    else:
        preference = keys.present(PREFERENCE_KEYS)
        loss = keys.first("loss_type")
        if loss is not None and _text(loss) in PREFERENCE_LOSS_TYPES:
            preference.append(loss)
        beta = keys.first("beta")
        if beta is not None and preference or len(preference) >= 2:
            shown = ([beta] if beta is not None else []) + preference
            found.append(("preference", " with ".join(said(v) for v in shown[:3])))
    distill = keys.present(DISTILL_KEYS)
    if len(distill) >= 2 or (distill and view_has_teacher(distill)):
        method = "online-rl" if keys.first("lmbda") is not None else "distill"
        found.append((method, " with ".join(said(v) for v in distill[:3])))
    return found


def view_has_teacher(values: list[Value]) -> bool:
    return any("teacher" in value.key.lower() and isinstance(value.value, str) and value.value
               for value in values)


def _code_methods(view: ConfigView) -> list[tuple[str, str]]:
    """The trainer classes a Python script builds (its own code, not an import list)."""
    text = _code(view)
    if "Trainer" not in text:  # every class of TRAINER_CLASSES is a ...Trainer
        return []
    found = []
    for pattern, method in _TRAINER_CALLS:
        match = pattern.search(text)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            name = match.group(0).rstrip("( ")
            found.append((method, f"{name}(...) ({PurePath(view.path).name}:{line})"))
    return found


def _code(view: ConfigView) -> str:
    document = view.document
    if document is None or document.format != "python":
        return ""
    return document.text


def _adapter(view: ConfigView, keys: _Keys) -> tuple[str, str] | NoBand | None:
    """('lora' | 'full', evidence) from the switch the framework reads, else a LoRA rank."""
    if view.dialect == "axolotl":
        adapter = view.raw.get("adapter")
        if adapter is not None:
            text = _text(adapter)
            if "lora" in text:
                return "lora", said(adapter)
            if text in ("", "none", "null"):
                return "full", f"adapter: none ({where(adapter)})"
            return NoBand(f"{said(adapter)}: an adapter trainlint has no LR band for")
    if view.dialect == "torchtune":
        component = view.raw.get("model._component_")
        if component is not None and isinstance(component.value, str):
            leaf = component.value.rsplit(".", 1)[-1].lower()
            kind = "lora" if leaf.startswith(("lora_", "qlora_")) else "full"
            return kind, said(component)
    for leaf in ADAPTER_SWITCHES:
        value = keys.first(leaf)
        if value is None or not _text(value):
            continue
        text = _text(value)
        if "lora" in text:
            return "lora", said(value)
        if text in ("full", "none"):
            return "full", said(value)
        return NoBand(f"{said(value)}: an adapter trainlint has no LR band for")
    for leaf in LORA_SWITCHES:
        value = keys.first(leaf)
        if value is not None and _truthy(value) is not None:
            return ("lora" if _truthy(value) else "full"), said(value)
    code = _code(view)
    match = CODE_LORA.search(code) if code else None
    if match:
        line = code.count("\n", 0, match.start()) + 1
        return "lora", f"{match.group(0).rstrip('( ')}(...) ({PurePath(view.path).name}:{line})"
    rank = _lora_rank(view, keys)
    if rank is not None:
        return ("lora" if (rank.number or 0) > 0 else "full"), said(rank)
    init = keys.first("init_from")
    if view.dialect == "nanogpt" and init is not None and _text(init).startswith("gpt2"):
        return "full", f"{said(init)}: nanoGPT fine-tunes every weight"
    model = keys.first("base_model")
    if view.dialect == "axolotl" and model is not None:
        return "full", "no `adapter` key (axolotl trains every weight)"
    return None


def _lora_rank(view: ConfigView, keys: _Keys) -> Value | None:
    value = keys.first(*RANK_KEYS)
    if value is not None and value.number is not None:
        return value
    for key, value in view.raw.items():
        parts = key.lower().split(".")
        if len(parts) >= 2 and parts[-1] in ("rank", "r") and parts[-2] in ("lora", "peft",
                                                                             "lora_config"):
            if value.number is not None:
                return value
    return None


def _one_bit(view: ConfigView, keys: _Keys) -> NoBand | None:
    for value in keys.present(set(ONEBIT_KEYS)):
        if _truthy(value):
            return NoBand(f"{said(value)}: 1.58-bit (BitNet) training uses ~10x the usual "
                          "learning rates; no band describes it")
    name = keys.first("base_model", "model_name_or_path", "pretrained_model_name_or_path")
    if name is not None and any(part in _text(name) for part in ONEBIT_NAMES):
        return NoBand(f"{said(name)}: a 1.58-bit (BitNet) model; no band describes its LRs")
    return None


def _is_language_model(view: ConfigView, keys: _Keys, method: str | None) -> bool:
    """An LLM framework's config, or a training method of language models, and no model name
    of a speech model (Whisper is distilled and fine-tuned with the same trainer keys)."""
    names = [_text(v) for v in keys.present(NAME_KEYS_ALL)]
    if any(_is_speech_name(name) for name in names):
        return False
    return view.dialect in LLM_DIALECTS or method is not None


def llm_regime(view: ConfigView) -> Regime | NoBand | None:
    keys = _Keys(view)
    one_bit = _one_bit(view, keys)
    if one_bit is not None:
        return one_bit
    method = _method(view, keys)
    if isinstance(method, NoBand):
        return method
    kind, method_evidence = method if method is not None else (None, [])
    if not _is_language_model(view, keys, kind):
        return None
    adapter = _adapter(view, keys)
    if isinstance(adapter, NoBand):
        return adapter
    lora = adapter is not None and adapter[0] == "lora"
    if kind is None and (adapter is None or view.dialect not in LLM_DIALECTS):
        return None  # a supervised run is told apart from a preference one only by its consumer
    if kind == "distill" and not lora:
        return NoBand("offline distillation with full parameters: no published recipes give a band")
    evidence = tuple(method_evidence) + ((adapter[1],) if adapter is not None else ())
    return Regime(_llm_family(kind, lora), evidence)


def _llm_family(kind: str | None, lora: bool) -> str:
    if kind == "pretrain":
        return "llm-pretrain"
    if kind in ("reward-model", "distill"):  # LoRA reward models and KD train at LoRA SFT rates
        return "llm-lora" if lora else "llm-reward-model"
    if kind in ("preference", "online-rl"):
        base = "dpo" if kind == "preference" else "online-rl"
        return f"llm-lora-{base}" if lora else f"llm-{base}"
    return "llm-lora" if lora else "llm-finetune"


# ---------------------------------------------------------------- speech front-ends

def _is_speech_name(text: str) -> bool:
    return any(name in text for name in SPEECH_FRONTENDS)


def frontend_regime(view: ConfigView) -> Regime | NoBand | None:
    """A pretrained speech front-end (wav2vec2, HuBERT, WavLM, Whisper) under a new head."""
    keys = _Keys(view)
    evidence: list[Value] = []
    hub = keys.present(set(FRONTEND_HUB_KEYS))
    evidence.extend(hub)
    frontend = keys.first("frontend")
    upstream = keys.first("upstream")
    if frontend is not None and _text(frontend) in ("s3prl", "hf_frontend", "whisper"):
        evidence.append(frontend)
        if upstream is not None:
            evidence.append(upstream)
    name = keys.first("model_name_or_path", "pretrained_model_name_or_path", "model_name")
    asr = keys.present(set(ASR_HEAD_KEYS))
    ctc = view.get("model.ctc")
    if name is not None and _is_speech_name(_text(name)) and (asr or (ctc is not None and ctc.value is True)):
        evidence.append(name)
        evidence.extend(asr[:1])
    if not evidence:
        return None
    separate = [values[0] for leaf, values in keys.by_leaf.items() if FRONTEND_LR_KEY.match(leaf)]
    teacher = keys.present(DISTILL_KEYS)
    if teacher:
        return NoBand(f"{said(teacher[0])}: distillation of a speech model; no band describes it")
    if separate:
        return NoBand(f"{said(separate[0])}: the pretrained front-end and the new head train "
                      "at separate learning rates; one band cannot judge them")
    return Regime("asr-frontend-finetune", tuple(said(value) for value in evidence[:2]))
