"""Derived quantities of a training setup, each with where every factor came from.

`derive(view, project)` computes the effective batch, steps per epoch, total optimizer steps,
warmup, decay horizon, the LR at the first step, patiences in epochs and the model type from a
ConfigView's canonical values and the project context. Each result is a `Quantity` whose
`provenance` reads like "32 (per_device_train_batch_size, hf.json:4) x 8
(gradient_accumulation_steps, hf.json:5) x 1 (world size unknown: per GPU-count N; set
world-size)", so a rule message (and `trainlint show`) can say where every number came
from; an unknown world size is counted as one process and said to be. The result is cached
in `view.derived`.

Unknown is not wrong: a quantity that needs a value trainlint cannot know is None, never a
guess. A computation that would divide by zero or gives a nonsense size becomes a `problem`
(an InvalidValue for TL002) instead of an exception.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Any

from msgspec import Struct, field

from trainlint.bands import packaged_bands
from trainlint.context import ProjectContext
from trainlint.records import ConfigView, Value
from trainlint.schemas import InvalidValue
from trainlint.training_regime import NoBand, Regime, frontend_regime, llm_regime, model_size, said

CACHE_KEY = "__derived__"

# Dialects whose per-step batch is already a total across all GPUs (RULES.md, "Framework
# semantics"): ESPnet's batch_size / batch_bins, and nanoGPT's gradient_accumulation_steps,
# which the script divides by the world size itself.
GLOBAL_BATCH_DIALECTS = {
    "espnet": "ESPnet batch_size/batch_bins is a per-step total across GPUs",
    "nanogpt": "nanoGPT's gradient_accumulation_steps is global (divided by the world size)",
}
# The model a dialect's code base always trains (the dialect is the evidence).
DIALECT_MODEL_TYPES = {"speechbci": ("rnn-ctc", "speechBCI GRU + CTC decoder args")}
# Framework defaults of early-stopping patience when the callback is configured without one.
DEFAULT_STOPPING_PATIENCE = {"lightning": 3, "hf": 1, "axolotl": 1}
PLATEAU_DEFAULT_PATIENCE = 10  # torch.optim.lr_scheduler.ReduceLROnPlateau
PLATEAU_NAMES = ("plateau",)  # reduce_lr_on_plateau, ReduceLROnPlateau, reducelronplateau
CONSTANT_NAMES = {"constant", "constant_with_warmup", "constantlr", "constant_lr", "none",
                  "fixed", "warmup_constant"}
HF_DEFAULT_LOGGING_STEPS = 500
# Where the data-parallel size is not known, figures are counted for one process and say so:
# a global batch, steps per epoch and total steps from epochs are then per GPU-count N.
UNKNOWN_WORLD = "1 (world size unknown: per GPU-count N; set world-size)"
# Dialects run by the Hugging Face Trainer's scheduler (`transformers.get_scheduler`): its
# `constant` schedule takes no warmup (`constant_with_warmup` does), and `max_steps <= 0`
# means "train by epochs".
HF_TRAINER_DIALECTS = ("hf", "axolotl")
# Decay horizons whose schedule holds the minimum LR past them: Megatron's and nanoGPT's
# `lr_decay_iters` (`if it > lr_decay_iters: return min_lr`), Megatron-core's `lr_decay_steps`.
HOLDING_HORIZON_KEYS = ("lr_decay_iters", "lr_decay_steps")

# Optimizer family by name fragment, first match wins (order matters: "lamb" before "adam").
OPTIMIZER_FAMILIES = (
    ("scaledadam", "scaledadam"), ("lamb", "lamb"), ("adafactor", "adafactor"),
    ("lion", "lion"), ("muon", "muon"), ("sophia", "sophia"), ("ademamix", "ademamix"),
    ("schedule_free", "schedule-free"), ("schedulefree", "schedule-free"),
    ("adagrad", "adagrad"), ("adadelta", "adadelta"), ("lomo", "lomo"), ("galore", "galore"),
    ("apollo", "apollo"), ("rmsprop", "rmsprop"), ("novograd", "novograd"),
    ("adam", "adam"), ("sgd", "sgd"), ("noam", "adam"),
)
BERT_NAMES = ("bert",)  # bert, roberta, ltg_bert, deberta, distilbert, modernbert, camembert
MLM_OBJECTIVES = {"mlm", "masked_lm", "masked-lm", "mlm_only", "masked_language_modeling"}


class Quantity(Struct, frozen=True):
    """One derived number (or word) with the story of where it came from."""

    value: Any
    provenance: str
    unit: str = ""
    source: Value | None = None  # the config value this quantity is, when it is exactly one
    inputs: tuple[Value, ...] = ()  # the config values it was computed from

    @property
    def text(self) -> str:
        return f"{fmt(self.value)} {self.unit}".strip()

    def __str__(self) -> str:
        return self.text


class Patience(Struct, frozen=True):
    """An early-stopping or plateau patience, in its own unit and in epochs."""

    rounds: float  # in the framework's own unit
    epochs: float | None  # converted; None when the conversion is unknown
    unit: str  # "epochs", "validation checks", "evaluations"
    per_round: str  # how one round converts: "1 epoch", "every 2 epochs", ...
    source: Value | None  # the config value (None: a framework default)
    anchor: Value | None  # where to report when source is None
    default: bool = False

    @property
    def text(self) -> str:
        rounds = f"{fmt(self.rounds)} {self.unit}"
        if self.unit == "epochs" or self.epochs is None:
            return rounds
        return f"{rounds} ({self.per_round}: {fmt(self.epochs)} epochs)"


class Derived(Struct):
    """Everything `derive` found; a field is None when it cannot be known."""

    model_type: Quantity | None = None  # an LR band family: llm-lora, conformer, ...
    model_size: Quantity | None = None  # billions of parameters, as the model name states
    band_excluded: str | None = None  # why no LR band applies, where the evidence says so
    optimizer_family: Quantity | None = None
    peak_lr: Quantity | None = None
    per_device_batch: Quantity | None = None
    grad_accum: Quantity | None = None
    world_size: Quantity | None = None
    effective_batch: Quantity | None = None
    dataset_size: Quantity | None = None
    steps_per_epoch: Quantity | None = None
    epochs: Quantity | None = None
    total_steps: Quantity | None = None
    warmup_steps: Quantity | None = None
    warmup_epochs: Quantity | None = None
    warmup_share: Quantity | None = None
    decay_horizon: Quantity | None = None
    first_lr: Quantity | None = None
    stopping_patience: Patience | None = None
    plateau_patience: Patience | None = None
    world_size_known: bool = False
    batch_is_global: bool = False
    # The LR stays at its minimum once the decay horizon is reached (it does not climb back
    # as a cosine period does): a horizon shorter than the run is a decay-then-hold recipe.
    decay_holds: bool = False
    # (scheduler name, warmup setting) where the scheduler ignores a configured warmup
    warmup_ignored: tuple[Value, Value] | None = None
    problems: list = field(default_factory=list)  # InvalidValue for TL002

    def rows(self) -> list[tuple[str, str, str]]:
        """(name, value, provenance) for display, in a stable order, known ones only."""
        out = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, Quantity):
                out.append((name.replace("_", " "), value.text, value.provenance))
            elif isinstance(value, Patience):
                where = _where(value.source) if value.source else "framework default"
                out.append((name.replace("_", " "), value.text, where))
        return out


# ---------------------------------------------------------------- formatting

def fmt(value: Any) -> str:
    """A number as a person writes it: 72, 0.0003, 1e-05, 12.5."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _where(value: Value) -> str:
    return f"{PurePath(value.path).name}:{value.span.line}"


def described(quantity: Quantity) -> str:
    """'60 (nepochs, a.yaml:3)', or '120000 steps = 60 (...) x 2000 (...)' for a computed one."""
    provenance = quantity.provenance
    if provenance.startswith(fmt(quantity.value) + " ("):
        return provenance
    return f"{quantity.text} = {provenance}"


def label_of(value: Value) -> str:
    return value.key.lstrip("-") or value.key


def term(number: Any, value: Value | None, label: str | None = None, note: str = "default") -> str:
    """'32 (per_device_train_batch_size, hf.json:4)', or '4 (setting `world-size`)'."""
    if value is not None and value.raw:
        return f"{fmt(number)} ({label or label_of(value)}, {_where(value)})"
    if value is not None:
        return f"{fmt(number)} ({label or label_of(value)}: {note}, {_where(value)})"
    return f"{fmt(number)} ({label}: {note})"


# ---------------------------------------------------------------- entry point

def derive(view: ConfigView, project: ProjectContext | None = None) -> Derived:
    """The derived quantities of one view (cached in `view.derived`)."""
    project = project or ProjectContext()
    cached = view.derived.get(CACHE_KEY)
    if cached is not None and cached[0] is project:
        return cached[1]
    derived = _Deriver(view, project).run()
    view.derived[CACHE_KEY] = (project, derived)
    for name, text, provenance in derived.rows():
        view.derived[name] = (text, provenance)
    return derived


class _Deriver:
    def __init__(self, view: ConfigView, project: ProjectContext) -> None:
        self.view = view
        self.project = project
        self.out = Derived()

    def run(self) -> Derived:
        out = self.out
        out.model_type = self.model_type()
        out.model_size = self.model_size()
        out.optimizer_family = self.optimizer_family()
        out.peak_lr = self.single("optimizer.lr", "peak LR")
        out.dataset_size = self.dataset_size()
        self.batch()
        out.epochs = self.single("duration.epochs", "epochs", "epochs")
        out.steps_per_epoch = self.steps_per_epoch()
        out.total_steps = self.total_steps()
        if self.view.flag("schedule.decay") is not False:
            self.warmup()
            out.decay_horizon = self.decay_horizon()
            out.decay_holds = self.decay_holds()
        # else the LR schedule is switched off (nanoGPT `decay_lr = False`: the LR is the
        # constant peak), and its warmup and decay lengths are never used
        out.first_lr = self.first_lr()
        out.stopping_patience = self.stopping_patience()
        out.plateau_patience = self.plateau_patience()
        return out

    # ------------------------------------------------------------ helpers

    def value(self, name: str) -> Value | None:
        value = self.view.get(name)
        return value if value is not None and value.known else None

    def number(self, name: str) -> tuple[float, Value] | None:
        value = self.value(name)
        if value is None or value.number is None:
            return None
        return value.number, value

    def single(self, name: str, label: str, unit: str = "") -> Quantity | None:
        found = self.number(name)
        if found is None:
            return None
        number, value = found
        return Quantity(number, term(number, value), unit, value, (value,))

    def problem(self, name: str, value: Value | None, reason: str) -> None:
        if value is None:
            return
        self.out.problems.append(InvalidValue(name, value, reason))

    def text(self, name: str) -> str:
        value = self.value(name)
        return str(value.value).strip().lower() if value is not None and value.value is not None else ""

    # ------------------------------------------------------------ model and optimizer

    def model_type(self) -> Quantity | None:
        """The LR band family (model type x training regime) with the evidence for it."""
        if self.project.model_type:
            return Quantity(self.project.model_type, "setting `model-type`")
        view = self.view
        type_value = self.value("model.type")
        type_text = self.text("model.type")
        name_text = self.text("model.name")
        ctc = self.value("model.ctc")
        named = self._named_type(type_value, type_text)
        if named is not None:
            return named
        frontend = self._regime(frontend_regime(view))
        if frontend is not None or self.out.band_excluded:
            return frontend
        for candidate in (self._mlm_type(type_value or self.value("model.name"), type_text or name_text),
                          self._encoder_type(), self._ctc_type(ctc, type_text),
                          self._regime(llm_regime(view))):
            if candidate is not None or self.out.band_excluded:
                return candidate
        if view.dialect in DIALECT_MODEL_TYPES:
            model_type, why = DIALECT_MODEL_TYPES[view.dialect]
            return Quantity(model_type, f"{why} ({view.dialect} dialect)")
        return None

    def _regime(self, found: Regime | NoBand | None) -> Quantity | None:
        if isinstance(found, NoBand):
            self.out.band_excluded = found.reason
            return None
        if found is None:
            return None
        return Quantity(found.family, found.text, "", None, found.values)

    def model_size(self) -> Quantity | None:
        size = model_size(self.view)
        if size is None:
            return None
        return Quantity(size.billions, f"{fmt(size.billions)}B ({said(size.value)})", "B",
                        size.value, (size.value,))

    def _named_type(self, value: Value | None, text: str) -> Quantity | None:
        if value is not None and text in packaged_bands():
            return Quantity(text, f"{label_of(value)}: {value.value} ({_where(value)})", "", value, (value,))
        return None

    def _mlm_type(self, value: Value | None, text: str) -> Quantity | None:
        if value is None or not any(name in text for name in BERT_NAMES):
            return None
        objective = self.value("model.objective")
        mlm = self.value("model.mlm_probability")
        evidence = None
        if objective is not None and self.text("model.objective") in MLM_OBJECTIVES:
            evidence = objective
        elif mlm is not None and (mlm.number or 0) > 0:
            evidence = mlm
        if evidence is None:
            return None
        return Quantity("bert-mlm", f"{label_of(value)}: {value.value} ({_where(value)}) with "
                        f"{label_of(evidence)}: {evidence.value} ({_where(evidence)})",
                        "", None, (value, evidence))

    def _encoder_type(self) -> Quantity | None:
        encoder = self.value("model.encoder")
        type_value = self.value("model.type")
        for value in (encoder, type_value):
            if value is None:
                continue
            text = str(value.value).lower()
            asr_transformer = (value is encoder and self.view.dialect == "espnet"
                               and "transformer" in text)
            if "conformer" in text or "branchformer" in text or asr_transformer:
                return Quantity("conformer", f"{label_of(value)}: {value.value} ({_where(value)})",
                                "", None, (value,))
        return None

    def _ctc_type(self, ctc: Value | None, type_text: str) -> Quantity | None:
        if ctc is None or ctc.value is not True:
            return None
        if type_text in ("rnn-ctc", "ctc"):
            return None  # _named_type already took it
        rnn = any(name in type_text for name in ("gru", "lstm", "rnn"))
        return Quantity("rnn-ctc" if rnn else "ctc", f"CTC loss ({_where(ctc)})", "", None, (ctc,))

    def optimizer_family(self) -> Quantity | None:
        value = self.value("optimizer.name")
        if value is None:
            if self.view.dialect in ("hf", "axolotl"):
                return Quantity("adam", "framework default optimizer (AdamW)")
            return None
        return Quantity(optimizer_family_of(str(value.value)),
                        f"{label_of(value)}: {value.value} ({_where(value)})", "", value, (value,))

    # ------------------------------------------------------------ batch

    def dataset_size(self) -> Quantity | None:
        if self.project.dataset_size:
            size = self.project.dataset_size
            return Quantity(size, f"{size} (setting `dataset-size`)", "samples")
        found = self.number("data.dataset_size")
        if found is None:
            return None
        number, value = found
        return Quantity(int(number), term(int(number), value), "samples", value, (value,))

    def world(self) -> tuple[int, str, tuple[Value, ...], bool] | None:
        """(data-parallel size, its term, inputs, known) or None on a problem."""
        project = self.project
        inputs: tuple[Value, ...] = ()
        if project.world_size:
            size, text, known = project.world_size, f"{project.world_size} (setting `world-size`)", True
        else:
            stated = self.number("batch.world_size")
            if stated is not None and stated[0] <= 0:
                stated = None  # -1: "from the environment" (torch.distributed's init)
            devices = self.devices()
            if stated is not None:
                size, known, inputs = int(stated[0]), True, (stated[1],)
                text = term(size, stated[1], "world size")
            elif devices is not None:
                size, text, inputs = devices
                known = True
            else:
                size, text, known = 1, UNKNOWN_WORLD, False
        parallel = 1
        parts = []
        for name, label in (("batch.tensor_parallel", "tensor parallel"),
                            ("batch.pipeline_parallel", "pipeline parallel")):
            found = self.number(name)
            if found is not None and found[0] > 1:
                parallel *= int(found[0])
                parts.append(term(int(found[0]), found[1], label))
                inputs += (found[1],)
        if parallel > 1:
            if known and (size < parallel or size % parallel):
                anchor = self.value("batch.tensor_parallel") or self.value("batch.pipeline_parallel")
                self.problem("batch.tensor_parallel", anchor,
                             f"tensor x pipeline parallel {parallel} does not divide the world size {size}")
                return None
            if not known:
                return None
            size //= parallel
            text = f"{fmt(size)} (data-parallel: {text} / {' x '.join(parts)})"
        return size, text, inputs, known

    def devices(self) -> tuple[int, str, tuple[Value, ...]] | None:
        value = self.value("batch.devices")
        if value is None:
            return None
        raw = value.value
        try:
            count = int(str(raw).strip())
        except ValueError:
            items = [item for item in str(raw).split(",") if item.strip()]
            count = len(items) if str(raw).strip() not in ("auto", "") and items and all(
                item.strip().isdigit() for item in items) else 0
        if count < 1:
            return None  # "auto" or -1: the launcher decides
        text = term(count, value, "devices")
        inputs: tuple[Value, ...] = (value,)
        nodes = self.number("batch.num_nodes")
        if nodes is not None and nodes[0] > 1:
            count *= int(nodes[0])
            text = f"{fmt(count)} ({text} x {term(int(nodes[0]), nodes[1], 'nodes')})"
            inputs += (nodes[1],)
        return count, text, inputs

    def batch(self) -> None:
        out = self.out
        view = self.view
        per_device = self.number("batch.per_device")
        bins = self.number("batch.bins")
        accum = self.number("batch.grad_accum")
        out.batch_is_global = view.dialect in GLOBAL_BATCH_DIALECTS
        if per_device is not None:
            out.per_device_batch = Quantity(int(per_device[0]), term(int(per_device[0]), per_device[1]),
                                            "samples", per_device[1], (per_device[1],))
        if accum is not None:
            out.grad_accum = Quantity(int(accum[0]), term(int(accum[0]), accum[1]), "", accum[1], (accum[1],))
        accum_number = int(accum[0]) if accum else 1
        accum_term = term(accum_number, accum[1]) if accum else "1 (gradient accumulation: default)"
        base = per_device if per_device is not None else bins
        if base is None:
            return
        unit = "samples" if per_device is not None else "bins"
        base_number = int(base[0]) if per_device is not None else base[0]
        parts = [term(base_number, base[1]), accum_term]
        inputs = [base[1], *( [accum[1]] if accum else [])]
        world_factor = 1
        if out.batch_is_global:
            parts.append(f"1 ({GLOBAL_BATCH_DIALECTS[view.dialect]})")
            out.world_size_known = True
        else:
            world = self.world()
            if world is None:
                return
            world_factor, world_text, world_inputs, out.world_size_known = world
            out.world_size = Quantity(world_factor, world_text)
            parts.append(world_text)
            inputs.extend(world_inputs)
        total = base_number * accum_number * world_factor
        if total <= 0:
            self.problem("batch.per_device", base[1], "the effective batch would be 0")
            return
        out.effective_batch = Quantity(total, " x ".join(parts), unit, None, tuple(inputs))

    # ------------------------------------------------------------ duration

    def steps_per_epoch(self) -> Quantity | None:
        out = self.out
        stated = self.number("duration.steps_per_epoch")
        if stated is not None:
            number, value = stated
            return Quantity(int(number), term(int(number), value), "steps", value, (value,))
        dataset, batch = out.dataset_size, out.effective_batch
        if dataset is None or batch is None or batch.unit != "samples":
            return None
        if batch.value <= 0 or dataset.value <= 0:
            self.problem("data.dataset_size", dataset.source, "steps per epoch would divide by zero")
            return None
        steps = math.ceil(dataset.value / batch.value)
        text = f"ceil({described(dataset)} / {fmt(batch.value)} (effective batch))"
        cap = self.number("duration.max_steps_per_epoch")
        if cap is not None and cap[0] < steps:
            steps = int(cap[0])
            text = f"{fmt(steps)} (capped by {term(int(cap[0]), cap[1])}; uncapped {text})"
        return Quantity(steps, text, "steps", None, batch.inputs + dataset.inputs)

    def total_steps(self) -> Quantity | None:
        out = self.out
        stated = self.number("duration.max_steps")
        by_epochs = None
        if out.epochs is not None and out.steps_per_epoch is not None:
            steps = math.ceil(out.epochs.value * out.steps_per_epoch.value)
            by_epochs = Quantity(steps, f"{described(out.epochs)} x {described(out.steps_per_epoch)}",
                                 "steps", None,
                                 out.epochs.inputs + out.steps_per_epoch.inputs)
        if stated is not None and (stated[0] < 0 or (
                stated[0] == 0 and self.view.dialect in HF_TRAINER_DIALECTS)):
            stated = None  # -1 (HF, Lightning) and HF's 0: no step limit, train by epochs
        if stated is not None:
            number, value = stated
            quantity = Quantity(int(number), term(int(number), value), "steps", value, (value,))
            if (self.view.dialect == "lightning" and by_epochs is not None
                    and by_epochs.value < quantity.value):
                return by_epochs  # Lightning stops at whichever limit comes first
            return quantity
        return by_epochs

    # ------------------------------------------------------------ schedule

    def warmup(self) -> None:
        out = self.out
        steps = self.number("schedule.warmup_steps")
        ratio = self.number("schedule.warmup_ratio")
        epochs = self.number("schedule.warmup_epochs")
        unit = self.text("schedule.warmup_unit")
        total = out.total_steps
        per_epoch = out.steps_per_epoch
        if steps is not None and self.view.dialect == "hf" and 0 < steps[0] < 1:
            ratio, steps = steps, None  # transformers 5: a float below 1 is a ratio
        ignored = self.warmup_ignored_by(steps if steps is not None and steps[0] > 0 else
                                         ratio if ratio is not None and ratio[0] > 0 else None)
        if ignored is not None:
            out.warmup_ignored = ignored
            return  # the run has no warmup
        if steps is not None and steps[0] > 0:
            number, value = steps
            if unit == "epoch":  # a scheduler stepped per epoch counts epochs
                out.warmup_epochs = Quantity(number, term(number, value), "epochs", value, (value,))
            else:
                out.warmup_steps = Quantity(int(number), term(int(number), value), "steps", value, (value,))
        elif ratio is not None and ratio[0] > 0:
            number, value = ratio
            out.warmup_share = Quantity(number, term(number, value), "", value, (value,))
            if total is not None:
                warm = math.ceil(number * total.value)
                out.warmup_steps = Quantity(warm, f"ceil({term(number, value)} x {described(total)})",
                                            "steps", None,
                                            (value, *total.inputs))
        elif epochs is not None and epochs[0] > 0:
            number, value = epochs
            out.warmup_epochs = Quantity(number, term(number, value), "epochs", value, (value,))
        if out.warmup_epochs is not None and out.warmup_steps is None and per_epoch is not None:
            warm = math.ceil(out.warmup_epochs.value * per_epoch.value)
            out.warmup_steps = Quantity(warm, f"{described(out.warmup_epochs)} x {described(per_epoch)}",
                                        "steps", None,
                                        out.warmup_epochs.inputs + per_epoch.inputs)
        if out.warmup_steps is not None and out.warmup_epochs is None and per_epoch is not None:
            out.warmup_epochs = Quantity(out.warmup_steps.value / per_epoch.value,
                                         f"{described(out.warmup_steps)} / {described(per_epoch)}",
                                         "epochs", None, out.warmup_steps.inputs + per_epoch.inputs)
        if out.warmup_share is None and out.warmup_steps is not None and total is not None:
            out.warmup_share = Quantity(out.warmup_steps.value / total.value,
                                        f"{described(out.warmup_steps)} / {described(total)}", "",
                                        None, out.warmup_steps.inputs + total.inputs)
        elif (out.warmup_share is None and out.warmup_epochs is not None and out.epochs is not None
              and unit == "epoch"):
            out.warmup_share = Quantity(out.warmup_epochs.value / out.epochs.value,
                                        f"{described(out.warmup_epochs)} / {described(out.epochs)}", "", None,
                                        out.warmup_epochs.inputs + out.epochs.inputs)

    def warmup_ignored_by(self, warmup: tuple[float, Value] | None) -> tuple[Value, Value] | None:
        """(scheduler name, warmup) where the Trainer's `constant` schedule drops a warmup."""
        name = self.value("schedule.name")
        if (warmup is None or name is None or not name.known
                or self.view.dialect not in HF_TRAINER_DIALECTS
                or str(name.value).strip().lower().rsplit(".", 1)[-1] != "constant"):
            return None
        return name, warmup[1]

    def decay_horizon(self) -> Quantity | None:
        horizon = self.number("schedule.decay_horizon")
        unit_text = self.text("schedule.decay_unit")
        if horizon is not None:
            number, value = horizon
            # LightningCLI steps a configured lr_scheduler once per epoch by default.
            by_epoch = unit_text == "epoch" or (not unit_text and self.view.dialect == "lightning")
            unit = "epochs" if by_epoch else "steps"
            return Quantity(int(number), term(int(number), value), unit, value, (value,))
        decay = self.number("schedule.decay_steps")
        if decay is None:
            return None
        number, value = decay
        unit, warm = ("epochs", self.out.warmup_epochs) if unit_text == "epoch" else (
            "steps", self.out.warmup_steps)
        if warm is None:
            return Quantity(int(number), term(int(number), value), unit, value, (value,))
        return Quantity(int(number) + warm.value, f"{described(warm)} warmup + "
                        f"{term(int(number), value)} decay", unit, value, (value, *warm.inputs))

    def decay_holds(self) -> bool:
        """Whether the schedule stops at its horizon: a scheduler's configured end (mmengine
        `end`: the runner stops stepping it), or a key whose schedule clamps to the minimum."""
        horizon = self.out.decay_horizon
        if horizon is None:
            return False
        if self.value("schedule.decay_end") is not None:
            return True
        source = horizon.source
        return source is not None and source.leaf_key.lstrip("-").replace("-", "_") in HOLDING_HORIZON_KEYS

    def first_lr(self) -> Quantity | None:
        peak = self.out.peak_lr
        factor = self.number("schedule.warmup_start_factor")
        start = self.number("schedule.warmup_start_lr")
        if peak is not None and factor is not None:
            number, value = factor
            return Quantity(peak.value * number, f"{described(peak)} x {term(number, value, 'start factor')}",
                            "", None, (*peak.inputs, value))
        if start is not None:
            number, value = start
            return Quantity(number, term(number, value), "", value, (value,))
        if peak is not None and self.out.warmup_ignored is not None:
            name, warmup = self.out.warmup_ignored
            return Quantity(peak.value, f"{described(peak)} from the first step (`{name.key}: "
                            f"{name.value}` ignores `{warmup.key}`)", "", None,
                            (*peak.inputs, name, warmup))
        if peak is not None and self.out.warmup_steps is not None and self.view.dialect in HF_TRAINER_DIALECTS:
            return Quantity(0.0, "linear warmup from 0 (Hugging Face Trainer)")
        return None

    # ------------------------------------------------------------ patience

    def stopping_patience(self) -> Patience | None:
        view = self.view
        value = self.value("stopping.patience")
        anchor = value or self.value("stopping.kind") or self.value("stopping.enabled")
        if anchor is None:
            return None
        if value is not None:
            if value.number is None:
                return None
            rounds, default = value.number, False
        elif view.dialect in DEFAULT_STOPPING_PATIENCE and (
                self.value("stopping.kind") is not None or self.value("stopping.enabled") is not None):
            rounds, default = DEFAULT_STOPPING_PATIENCE[view.dialect], True
        else:
            return None
        unit, per_round, epochs_per_round = self.stopping_unit()
        epochs = rounds * epochs_per_round if epochs_per_round is not None else None
        return Patience(rounds, epochs, unit, per_round, value, anchor, default)

    def stopping_unit(self) -> tuple[str, str, float | None]:
        """(unit name, how a round converts, epochs per round or None)."""
        dialect = self.view.dialect
        if dialect == "lightning":
            interval = self.number("eval.interval")
            every = self.number("eval.every_epochs")
            every_epochs = every[0] if every else 1
            if interval is not None:
                number, value = interval
                if isinstance(value.value, float) and number <= 1:
                    per = number * every_epochs
                    return "validation checks", f"every {fmt(per)} epochs", per
                batches_per_epoch = self.batches_per_epoch()
                if batches_per_epoch is None:
                    return "validation checks", f"every {fmt(number)} batches", None
                per = number / batches_per_epoch
                return "validation checks", f"every {fmt(number)} batches", per
            text = "every epoch" if every_epochs == 1 else f"every {fmt(every_epochs)} epochs"
            return "validation checks", text, every_epochs
        if dialect in ("hf", "axolotl"):
            strategy = self.text("eval.strategy")
            if strategy in ("epoch", "intervalstrategy.epoch"):
                return "evaluations", "every epoch", 1.0
            if strategy in ("steps", "intervalstrategy.steps") or self.value("eval.every_steps"):
                steps = self.number("eval.every_steps") or self.number("eval.logging_steps")
                eval_steps = steps[0] if steps else HF_DEFAULT_LOGGING_STEPS
                total = self.out.total_steps
                if 0 < eval_steps < 1 and total is not None:
                    eval_steps = math.ceil(eval_steps * total.value)
                per_epoch = self.out.steps_per_epoch
                if per_epoch is None:
                    return "evaluations", f"every {fmt(eval_steps)} steps", None
                return "evaluations", f"every {fmt(eval_steps)} steps", eval_steps / per_epoch.value
            return "evaluations", "evaluation strategy unknown", None
        every = self.number("eval.every_epochs")
        if every is not None and every[0] != 1:
            return "validation rounds", f"every {fmt(every[0])} epochs", every[0]
        return "epochs", "1 epoch", 1.0

    def batches_per_epoch(self) -> float | None:
        per_epoch = self.out.steps_per_epoch
        if per_epoch is None:
            return None
        accum = self.out.grad_accum.value if self.out.grad_accum else 1
        return per_epoch.value * accum

    def plateau_patience(self) -> Patience | None:
        value = self.value("plateau.patience")
        name = self.value("schedule.name")
        if value is not None and value.number is not None:
            return Patience(value.number, value.number, "epochs", "1 epoch", value if value.raw else None,
                            value, default=not value.raw)
        if name is not None and any(part in self.text("schedule.name").replace("_", "")
                                    for part in ("plateau",)):
            return Patience(PLATEAU_DEFAULT_PATIENCE, PLATEAU_DEFAULT_PATIENCE, "epochs", "1 epoch",
                            None, name, default=True)
        return None


def optimizer_family_of(name: str) -> str:
    """'adamw_bnb_8bit' -> 'adam', 'torch.optim.SGD' -> 'sgd', 'Lamb' -> 'lamb', else 'other'."""
    text = name.lower().replace("-", "_").rsplit(".", 1)[-1]
    return next((family for fragment, family in OPTIMIZER_FAMILIES if fragment in text), "other")


def run_epochs(derived: Derived) -> Quantity | None:
    """The run's length in epochs: configured, or total steps / steps per epoch."""
    if derived.epochs is not None:
        return derived.epochs
    total, per_epoch = derived.total_steps, derived.steps_per_epoch
    if total is None or per_epoch is None:
        return None
    return Quantity(total.value / per_epoch.value, f"{described(total)} / {described(per_epoch)} per epoch",
                    "epochs", None, total.inputs + per_epoch.inputs)


def is_ctc(view: ConfigView, derived: Derived) -> bool:
    model_type = derived.model_type.value if derived.model_type else ""
    ctc = view.get("model.ctc")
    return "ctc" in str(model_type) or (ctc is not None and ctc.value is True)


def is_constant_schedule(view: ConfigView) -> Value | None:
    """The value that says the LR never decays, or None."""
    name = view.get("schedule.name")
    if name is not None and name.known:
        if str(name.value).strip().lower().rsplit(".", 1)[-1] in CONSTANT_NAMES:
            return name
    decay = view.get("schedule.decay")
    if decay is not None and decay.known and view.flag("schedule.decay") is False:
        return decay
    return None
