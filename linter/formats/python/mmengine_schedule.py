"""The LR schedule and the training loop of an mmengine Python config, as canonical values.

mmengine (and what builds on it: mmcv 2, mmpretrain, mmdet 3, ...) builds the LR schedule from
`param_scheduler`, a scheduler dict or a list of them run one after the other, and the loop
from `train_cfg`. What they mean (mmengine.optim.scheduler, mmengine.runner.Runner):
- a scheduler counts epochs unless `by_epoch=False`; `convert_to_iter_based=True` steps it
  every iteration, but its `begin` / `end` / `T_max` still count epochs;
- `begin` defaults to 0; a missing `end` is the loop's `max_epochs` / `max_iters` (the runner
  fills it in), so such a scheduler always ends with the run;
- `CosineAnnealingLR(T_max)` counts from the scheduler's `begin` (default `end - begin`);
- `train_cfg`: `type='EpochBasedTrainLoop'` or `by_epoch=True` runs `max_epochs`,
  `type='IterBasedTrainLoop'` or `by_epoch=False` runs `max_iters`.

`schedule_facts(tree, document)` gives the run's length (`duration.epochs` /
`duration.max_steps`), the warmup (the first LR scheduler when it ramps up from 0 to an `end`:
`schedule.warmup_epochs` / `schedule.warmup_steps`, `schedule.warmup_unit`) and the decay's
horizon in its unit: `schedule.decay_horizon` (a `T_max` counted from 0, or the `end` of a
cosine / poly decay) or `schedule.decay_steps` (a `T_max` counted from the warmup's end, with
`schedule.decay_begin`), with `schedule.decay_unit` (and `schedule.decay_end`, an `end` beside
a `T_max`, which a fix of the horizon moves too). Unknown is left out: a name bound twice or
used again (`train_cfg.update(...)`), a scheduler type or number that is not a literal, a
single scheduler dict that a `_base_` file's dict is merged into.
"""

from __future__ import annotations

import ast

from msgspec import Struct

from trainlint.formats.python.declared_config import NodeValues
from trainlint.records import ParsedDocument, Value

NEEDLE = "param_scheduler"
WARMUP_KINDS = ("LinearLR", "ConstantLR", "QuadraticWarmupLR")
HORIZON_KINDS = ("CosineAnnealingLR", "PolyLR")
LOOP_UNITS = {"EpochBasedTrainLoop": "epoch", "IterBasedTrainLoop": "step"}
LOOP_LENGTHS = {"epoch": ("max_epochs", "duration.epochs"), "step": ("max_iters", "duration.max_steps")}
LINEAR_DEFAULTS = {"start_factor": 1 / 3, "end_factor": 1.0}  # mmengine LinearLR


class _Scheduler(Struct):
    kind: str
    node: ast.AST
    arguments: dict[str, tuple[ast.AST, ast.AST | None]]  # name -> (value node, keyword node)
    key: str  # "param_scheduler.1"
    unit: str  # "epoch" or "step"

    def has(self, name: str) -> bool:
        return name in self.arguments


def schedule_facts(tree: ast.Module, document: ParsedDocument) -> dict[str, Value | None]:
    """Canonical name -> Value for what `param_scheduler` and `train_cfg` say (may be empty).

    None for the run's length where the file's LR schedulers are mmengine's but its loop is
    not in the file: a `max_iters` or `max_epochs` elsewhere (an mmcv 1.x `runner`, a hook)
    is not what the runner reads."""
    if not any(_binds(statement, "param_scheduler") for statement in tree.body):
        return {}  # most files: no walk of the tree
    assignments = _single_assignments(tree, ("param_scheduler", "train_cfg"))
    if "param_scheduler" not in assignments:
        return {}
    values = NodeValues(document)
    merged_with_base = any(isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "_base_" for target in node.targets)
        for node in tree.body)
    schedulers = _schedulers(assignments["param_scheduler"], merged_with_base)
    if not schedulers:
        return {}
    facts: dict[str, Value | None] = {"duration.epochs": None, "duration.max_steps": None}
    if "train_cfg" in assignments:
        facts.update(_loop_facts(assignments["train_cfg"], values))
    facts.update(_schedule_facts(schedulers, values))
    return facts


def _binds(statement: ast.stmt, name: str) -> bool:
    """`name = ...`, the one target of a module-level assignment."""
    return (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name) and statement.targets[0].id == name)


def _single_assignments(tree: ast.Module, names: tuple[str, ...]) -> dict[str, ast.expr]:
    """name -> the value it is bound to, for names bound once at module level and not used
    anywhere else in the file (nothing updates them)."""
    uses: dict[str, int] = dict.fromkeys(names, 0)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in uses:
            uses[node.id] += 1
    found: dict[str, ast.expr] = {}
    for statement in tree.body:
        for name in names:
            if _binds(statement, name) and uses[name] == 1:
                found[name] = statement.value
    return found


def _arguments(node: ast.AST) -> dict[str, tuple[ast.AST, ast.AST | None]] | None:
    """The items of `dict(k=v, ...)` or `{'k': v, ...}`, or None for anything else."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
            and not node.args and all(keyword.arg is not None for keyword in node.keywords)):
        return {keyword.arg: (keyword.value, keyword) for keyword in node.keywords}
    if isinstance(node, ast.Dict) and all(isinstance(key, ast.Constant) and isinstance(key.value, str)
                                          for key in node.keys):
        return {key.value: (value, None) for key, value in zip(node.keys, node.values)}
    return None


def _type_name(node: ast.AST | None) -> str | None:
    """'LinearLR' from `'LinearLR'`, `LinearLR` (new-style configs import the class) or
    `optim.LinearLR`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit(".", 1)[-1]
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.AST | None) -> object:
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ...


# ---------------------------------------------------------------- the loop

def _loop_facts(node: ast.AST, values: NodeValues) -> dict[str, Value]:
    arguments = _arguments(node)
    if arguments is None:
        return {}
    unit = _loop_unit(arguments)
    if unit is None:
        return {}
    name, canonical = LOOP_LENGTHS[unit]
    if name not in arguments:
        return {}
    node, keyword = arguments[name]
    length = values.value(node, f"train_cfg.{name}", keyword)
    return {canonical: length} if length.number is not None else {}


def _loop_unit(arguments: dict[str, tuple[ast.AST, ast.AST | None]]) -> str | None:
    if "type" in arguments:
        return LOOP_UNITS.get(_type_name(arguments["type"][0]) or "")
    if "by_epoch" in arguments:
        by_epoch = _literal(arguments["by_epoch"][0])
        return {True: "epoch", False: "step"}.get(by_epoch) if isinstance(by_epoch, bool) else None
    if ("max_epochs" in arguments) != ("max_iters" in arguments):
        return "epoch" if "max_epochs" in arguments else "step"
    return None


# ---------------------------------------------------------------- the schedulers

def _schedulers(node: ast.AST, merged_with_base: bool) -> list[_Scheduler] | None:
    """The LR schedulers in order, or None where one of them cannot be read."""
    if isinstance(node, ast.List):
        items = [(f"param_scheduler.{position}", item) for position, item in enumerate(node.elts)]
    else:
        items = [("param_scheduler", node)]
    schedulers = []
    for key, item in items:
        arguments = _arguments(item)
        if arguments is None:
            return None
        if key == "param_scheduler" and merged_with_base and _literal(
                arguments.get("_delete_", (None,))[0]) is not True:
            return None  # merged into the `_base_` file's scheduler dict
        kind = _type_name(arguments.get("type", (None,))[0])
        if kind is None:
            return None
        if kind.endswith("Momentum"):
            continue
        if not kind.endswith("LR"):
            return None  # a ParamScheduler of a named parameter, or a scheduler of its own
        by_epoch = _literal(arguments["by_epoch"][0]) if "by_epoch" in arguments else True
        if not isinstance(by_epoch, bool):
            return None
        schedulers.append(_Scheduler(kind, item, arguments, key, "epoch" if by_epoch else "step"))
    return schedulers


def _number(scheduler: _Scheduler, name: str, values: NodeValues) -> Value | None:
    node, keyword = scheduler.arguments[name]
    value = values.value(node, f"{scheduler.key}.{name}", keyword)
    return value if value.number is not None else None


def _ramps_up(scheduler: _Scheduler, followed: bool) -> bool:
    if scheduler.kind == "LinearLR":
        factors = []
        for name, default in LINEAR_DEFAULTS.items():
            factor = _literal(scheduler.arguments[name][0]) if scheduler.has(name) else default
            if isinstance(factor, bool) or not isinstance(factor, (int, float)):
                return False
            factors.append(factor)
        return factors[0] < factors[1]
    return scheduler.kind == "QuadraticWarmupLR" or (scheduler.kind == "ConstantLR" and followed)


def _unit_at(scheduler: _Scheduler, values: NodeValues, name: str) -> Value:
    where = scheduler.arguments["by_epoch"][0] if scheduler.has("by_epoch") else scheduler.node
    return values.at(where, name, scheduler.unit)


def _schedule_facts(schedulers: list[_Scheduler], values: NodeValues) -> dict[str, Value]:
    facts: dict[str, Value] = {}
    first = schedulers[0]
    warmup_end = None
    if (first.kind in WARMUP_KINDS and _ramps_up(first, len(schedulers) > 1) and first.has("end")
            and _begins_at(first, values, 0)):
        warmup_end = _number(first, "end", values)
    if warmup_end is not None:
        name = "schedule.warmup_epochs" if first.unit == "epoch" else "schedule.warmup_steps"
        facts[name] = warmup_end
        facts["schedule.warmup_unit"] = _unit_at(first, values, "schedule.warmup_unit")
    mains = schedulers[1:] if warmup_end is not None else schedulers
    if len(mains) == 1 and mains[0].kind in HORIZON_KINDS:
        linked = warmup_end if first.unit == mains[0].unit else None
        facts.update(_horizon_facts(mains[0], linked, values))
    return facts


def _begins_at(scheduler: _Scheduler, values: NodeValues, step: float) -> bool:
    if not scheduler.has("begin"):
        return step == 0
    begin = _number(scheduler, "begin", values)
    return begin is not None and begin.number == step


def _horizon_facts(main: _Scheduler, warmup_end: Value | None, values: NodeValues) -> dict[str, Value]:
    """The decay's horizon: `T_max` from where the decay begins, or the decay's explicit end."""
    begin = _number(main, "begin", values) if main.has("begin") else None
    if main.has("begin") and begin is None:
        return {}
    start = begin.number if begin is not None else 0
    cosine = main.kind == "CosineAnnealingLR"
    period = _number(main, "T_max", values) if cosine and main.has("T_max") else None
    end = _number(main, "end", values) if main.has("end") else None
    if (main.has("end") and end is None) or (main.has("T_max") and period is None):
        return {}
    shared = {"schedule.decay_unit": _unit_at(main, values, "schedule.decay_unit")}
    if period is not None:
        if end is not None and end.number != start + period.number:
            return {}  # the cosine is cut off (or runs on) at `end`: not one horizon
        if end is not None:
            shared["schedule.decay_end"] = end  # stops the scheduler: moves with T_max
        if start == 0:
            return {"schedule.decay_horizon": period, **shared}
        if warmup_end is not None and warmup_end.number == start:
            return {"schedule.decay_steps": period, "schedule.decay_begin": begin, **shared}
        return {}
    if end is None:
        return {}  # ends with the run, whatever its length
    facts = {"schedule.decay_horizon": end, "schedule.decay_end": end, **shared}
    if start and warmup_end is not None and warmup_end.number == start:
        facts["schedule.decay_begin"] = begin
    return facts
