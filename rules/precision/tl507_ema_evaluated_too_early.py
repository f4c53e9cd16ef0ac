"""TL507 ema-evaluated-too-early: EMA with a fixed decay evaluated long before it has warmed up.

The class docstring is the rule's page (docs/rules/TL507.md).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator

from msgspec import Struct

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
    walk_breadth_first,
)

EMA_FACTORIES = {  # qualified name -> (decay position, decay keyword, default decay)
    "torch.optim.swa_utils.get_ema_multi_avg_fn": (0, "decay", 0.999),
    "torch.optim.swa_utils.get_ema_avg_fn": (0, "decay", 0.999),
    "timm.utils.ModelEma": (1, "decay", 0.9998),
    "timm.utils.ModelEmaV2": (1, "decay", 0.9999),
    "timm.utils.ModelEmaV3": (1, "decay", 0.9999),
    "timm.utils.model_ema.ModelEma": (1, "decay", 0.9998),
    "timm.utils.model_ema.ModelEmaV2": (1, "decay", 0.9999),
    "timm.utils.model_ema.ModelEmaV3": (1, "decay", 0.9999),
    "torch_ema.ExponentialMovingAverage": (1, "decay", None),
}
# keyword -> value that turns a library's decay warm-up on
WARMUP_SWITCHES = {"use_warmup": True, "use_num_updates": True}
WARMED_BY_DEFAULT = frozenset({"torch_ema.ExponentialMovingAverage"})
DECAY_NAMES = ("decay", "ema_decay", "beta", "momentum")
EMA_CLASS = re.compile(r"ema|movingaverage|averag", re.IGNORECASE)
WARMUP_WORDS = re.compile(r"warm|num_updates|n_updates|updates|step", re.IGNORECASE)
EVAL_WORDS = re.compile(r"eval|valid|test|save|checkpoint|best", re.IGNORECASE)


class FixedEma(Struct):
    node: ast.AST  # where to report: the decay value or the construction
    decay: float


class EmaEvaluatedTooEarly(ScriptRule, ConfigRule):
    """## What it does
    Finds an exponential moving average of the weights with a fixed decay `d` (no warm-up of
    the decay) whose first evaluation or "best" checkpoint comes long before ~1/(1-d)
    steps. Config: `ema_decay` with `eval_steps` / `eval_interval` (or `eval_every_epochs` x
    steps per epoch). Script: `AveragedModel(..., multi_avg_fn=get_ema_multi_avg_fn(d))`,
    timm `ModelEmaV2(model, decay=d)`, or an EMA class of the script's own without a
    step-dependent decay, together with `if step % N == 0:` blocks that evaluate or save.

    ## Why is this bad?
    After `t` updates an EMA started from the initial weights still holds a share `d**t` of
    them: at step 100 with d = 0.9995 that is 95%. Evaluations before ~1/(1-d) steps measure
    a model that is mostly the random initialization, so early stopping and best-checkpoint
    selection act on meaningless scores. Warm the decay up (`min(d, (1 + t) / (10 + t))`, timm
    `ModelEmaV3(use_warmup=True)`) or evaluate the raw weights until the EMA has caught up.

    ## Example
    ```python
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9995))
    ...
    if step % 100 == 0:
        evaluate(ema)
    ```

    ## Use instead
    ```python
    ema = ModelEmaV3(model, decay=0.9995, use_warmup=True)
    ```

    ## Fix safety
    No fix: the choice between a decay warm-up and a later first evaluation belongs to the
    training design.

    ## Options
    `min-horizon-share` (default 0.5): report when the first evaluation comes before this
    share of 1/(1-d) steps. At 0.5 the EMA then still holds more than 60% of the initial
    weights (e^-0.5).

    ## Source
    Seed 003: the best runs used an EMA with decay 0.999, then 0.9995, over 10k-20k steps;
    1/(1-0.9995) = 2000 steps before the average forgets its start.
    """

    code = "TL507"
    name = "ema-evaluated-too-early"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "EMA with a fixed decay evaluated long before it has warmed up"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"ema", b"EMA", b"Ema", b"Averag")

    class Options(RuleOptions):
        min_horizon_share: float = 0.5

    bad = (
        Example(
            "train.py",
            "from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn\n\n"
            "ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9995))\n"
            "for step, batch in enumerate(loader):\n    train_step(batch)\n"
            "    ema.update_parameters(model)\n    if step % 100 == 0:\n        evaluate(ema)\n",
        ),
        Example(
            "config.yaml",
            "max_iters: 20000\nwarmup_iters: 1500\nlr_decay_iters: 20000\n"
            "learning_rate: 0.001\nema_decay: 0.9995\neval_interval: 100\n",
        ),
    )
    good = (
        Example(
            "train.py",
            "from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn\n\n"
            "ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9995))\n"
            "for step, batch in enumerate(loader):\n    train_step(batch)\n"
            "    ema.update_parameters(model)\n    if step % 2000 == 0:\n        evaluate(ema)\n",
        ),
        Example(
            "config.yaml",
            "max_iters: 20000\nwarmup_iters: 1500\nlr_decay_iters: 20000\n"
            "learning_rate: 0.001\nema_decay: 0.999\neval_interval: 1000\n",
        ),
    )

    @property
    def _share(self) -> float:
        return getattr(self.options, "min_horizon_share", 0.5)

    def _message(self, decay: float, every: float) -> str | None:
        horizon = 1.0 / (1.0 - decay)
        if every >= self._share * horizon:
            return None
        left = decay ** every
        return (f"EMA decay {decay:g} with no warm-up, evaluated every {every:g} steps: at step "
                f"{every:g} it still holds {left:.0%} of the initial weights (it needs "
                f"~{horizon:.0f} steps); warm the decay up (min(d, (1+t)/(10+t))) or evaluate "
                f"the EMA from step ~{horizon:.0f} on")

    # ------------------------------------------------------------------ configs
    def check_config(self, view: ConfigView) -> Iterator[Diagnostic]:
        setting = view.get("regularization.ema_decay")
        decay = view.number("regularization.ema_decay")
        if setting is None or decay is None or not 0 < decay < 1:
            return
        if view.flag("regularization.ema_warmup"):
            return
        every = view.number("eval.every_steps")
        if every is None:
            epochs = view.number("eval.every_epochs")
            per_epoch = view.number("duration.steps_per_epoch")
            every = epochs * per_epoch if epochs and per_epoch else None
        if every is None or every <= 0:
            return
        message = self._message(decay, every)
        if message:
            yield self.at(setting, message)

    # ------------------------------------------------------------------ scripts
    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        emas = list(self._fixed_emas(script))
        if not emas:
            return
        every = self._eval_interval(script)
        if every is None:
            return
        for ema in emas:
            message = self._message(ema.decay, every)
            if message:
                yield self.diagnostic(script.path, script.span(ema.node), message)

    def _fixed_emas(self, script: ParsedScript) -> Iterator[FixedEma]:
        for call in script.calls:
            name = script.qualname(call.func)
            if name in EMA_FACTORIES:
                if name in WARMED_BY_DEFAULT and script.literal(
                        script.argument(call, None, "use_num_updates")) is not False:
                    continue
                if any(script.literal(script.argument(call, None, k)) is v
                       for k, v in WARMUP_SWITCHES.items() if name not in WARMED_BY_DEFAULT):
                    continue
                position, keyword, default = EMA_FACTORIES[name]
                value = script.argument(call, position, keyword)
                decay = default if value is None else script.literal(value)
                if isinstance(decay, float) and 0 < decay < 1:
                    yield FixedEma(value if value is not None else call, decay)
            elif isinstance(call.func, ast.Name):
                found = self._own_ema(script, call)
                if found is not None:
                    yield found

    def _own_ema(self, script: ParsedScript, call: ast.Call) -> FixedEma | None:
        binding = script.binding_of(call.func)
        if binding is None or binding.kind != "class" or not EMA_CLASS.search(call.func.id):
            return None
        cls = binding.node
        init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
                     None)
        if init is None or self._warms_up(cls):
            return None
        params = [a.arg for a in (*init.args.posonlyargs, *init.args.args)][1:]
        for name in DECAY_NAMES:
            if name not in params and name not in [a.arg for a in init.args.kwonlyargs]:
                continue
            position = params.index(name) if name in params else None
            value = script.argument(call, position, name)
            if value is not None:
                decay = script.literal(value)
                node: ast.AST = value
            else:
                decay = self._default(init, name)
                node = call
            if isinstance(decay, float) and 0 < decay < 1:
                return FixedEma(node, decay)
        return None

    @staticmethod
    def _default(init: ast.FunctionDef, name: str):
        args = init.args
        positional = [*args.posonlyargs, *args.args]
        for param, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
            if param.arg == name and isinstance(default, ast.Constant):
                return default.value
        for param, default in zip(args.kwonlyargs, args.kw_defaults):
            if param.arg == name and isinstance(default, ast.Constant):
                return default.value
        return None

    @staticmethod
    def _warms_up(cls: ast.ClassDef) -> bool:
        for node in walk_breadth_first(cls):
            if isinstance(node, ast.Name) and (WARMUP_WORDS.search(node.id) or node.id == "min"):
                return True
            if isinstance(node, ast.Attribute) and WARMUP_WORDS.search(node.attr):
                return True
            if isinstance(node, ast.arg) and WARMUP_WORDS.search(node.arg):
                return True
        return False

    @staticmethod
    def _eval_interval(script: ParsedScript) -> float | None:
        """The smallest N of `if <step> % N == 0:` blocks that evaluate or save."""
        best: float | None = None
        for node in script.nodes(ast.If):
            for test in walk_breadth_first(node.test):
                if not (isinstance(test, ast.Compare) and isinstance(test.left, ast.BinOp)
                        and isinstance(test.left.op, ast.Mod) and len(test.comparators) == 1
                        and script.literal(test.comparators[0]) == 0):
                    continue
                if "epoch" in script.source(test.left.left).lower():
                    continue  # an interval in epochs: steps per epoch unknown
                every = script.literal(test.left.right)
                if not isinstance(every, (int, float)) or isinstance(every, bool) or every <= 0:
                    continue
                if not _evaluates(node.body):
                    continue
                best = every if best is None else min(best, every)
        return None if best is None or not math.isfinite(best) else float(best)


def _evaluates(body: list[ast.stmt]) -> bool:
    """The block calls something that evaluates or saves (`evaluate`, `validate`, `save_...`)."""
    for statement in body:
        for node in walk_breadth_first(statement):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if EVAL_WORDS.search(name):
                    return True
    return False
