"""Training facts read from a script's code, without running it.

`training_facts(script, arguments)` returns Values under canonical names (see
`trainlint.schemas.canonical`) for what the code itself says about the run: how it builds and
steps its LR schedulers, its epoch loop, hand-written early stopping, its optimizer and its
loss. The load path merges them into the script's ConfigView (trainlint.load), so the config
rules serve plain PyTorch scripts as well as YAML files. The analysis behind them is
`trainlint.formats.python.training_code`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.formats.base import ArgumentSpec
from trainlint.formats.python.ast_index import ParsedScript, called_name, dotted
from trainlint.formats.python.training_code import (
    ATTENTION_ENCODERS,
    CTC_LOSSES,
    HF_SCHEDULE_PARAMS,
    MODEL_NAMES,
    PLATEAU,
    RNN_LAYERS,
    SCHEDULE_NAMES,
    WRAPPERS,
    Build,
    CodeIndex,
    arithmetic,
    branch_conditions,
    code_index,
    literal,
    position,
)
from trainlint.records import UNRESOLVED, Value

# A script whose text holds none of these has no optimizer, scheduler, epoch loop, stopping
# counter, best-checkpoint save or CTC/RNN model for training_facts to read.
FACT_NEEDLES = ("optim", "schedule", "Scheduler", "epoch", "patience", "save", "CTC", "GRU",
                "LSTM")


def might_have_facts(text: str) -> bool:
    """Cheap prefilter for training_facts (a substring scan, no parsing)."""
    return any(needle in text for needle in FACT_NEEDLES)


def training_facts(script: ParsedScript,
                   arguments: list[ArgumentSpec] | None = None) -> list[Value]:
    """Values under canonical names for what the code says about the run (first one wins).

    `arguments` are the script's ArgumentSpecs (read here when None). A fact that resolves
    to `args.<dest>` is that argument's default Value (so a fix edits the default); one that
    cannot be known statically is left out.
    """
    facts: dict[str, Value] = {}
    try:
        index = code_index(script, arguments)
        for collect in (_schedule_facts, _epoch_facts, _stopping_facts, _checkpoint_facts,
                        _optimizer_facts, _model_facts):
            for value in collect(index):
                if value is not None and value.key not in facts:
                    facts[value.key] = value
    except RecursionError:  # absurdly nested code: keep what was found
        pass
    return list(facts.values())


def _schedulers(index: CodeIndex) -> list[Build]:
    return [build for build in index.builds
            if build.family == "scheduler" and live_by_default(index, build.call)]


def live_by_default(index: CodeIndex, node: ast.AST) -> bool:
    """False where a branch test on an argument rules the node out under the defaults
    (`if args.scheduler == "plateau":` while `--scheduler` defaults to "cosine")."""
    for test, taken in branch_conditions(index, node):
        outcome = _default_outcome(index, test)
        if outcome is not None and outcome != taken:
            return False
    return True


def _default_outcome(index: CodeIndex, test: ast.expr) -> bool | None:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    spec = index.argument(test.left)
    if spec is None or spec.default is None or not spec.default.known:
        return None
    default, op, other = spec.default.value, test.ops[0], test.comparators[0]
    if isinstance(op, (ast.In, ast.NotIn)) and isinstance(other, (ast.Tuple, ast.List, ast.Set)):
        options = [literal(element) for element in other.elts]
        if UNRESOLVED in options:
            return None
        return (default in options) == isinstance(op, ast.In)
    value = literal(other)
    if value is UNRESOLVED or not isinstance(op, (ast.Eq, ast.NotEq)):
        return None
    return (default == value) == isinstance(op, ast.Eq)


def is_warmup(index: CodeIndex, build: Build) -> bool:
    """A LinearLR that ramps up, or a ConstantLR that opens a SequentialLR."""
    if build.kind == "LinearLR":
        start = index.resolve(build.args.get("start_factor"))
        end = index.resolve(build.args.get("end_factor"))
        start_number = start.number if start else (None if "start_factor" in build.args else 1 / 3)
        end_number = end.number if end else (None if "end_factor" in build.args else 1.0)
        if start_number is None or end_number is None:
            return _named_warmup(build)
        return start_number < end_number
    if build.kind == "ConstantLR" and build.wrapper is not None:
        return build.wrapper.children[:1] == [build]
    return False


def _named_warmup(build: Build) -> bool:
    return any("warm" in target.lower() for target in build.targets)


def _schedule_facts(index: CodeIndex) -> Iterator[Value | None]:
    schedulers = _schedulers(index)
    warmups = [build for build in schedulers if is_warmup(index, build)]
    if warmups:
        yield from _warmup_facts(index, warmups[0])
    mains = [build for build in schedulers if build.kind not in WRAPPERS and build not in warmups]
    names = {schedule_name(index, build) for build in mains}
    if len(names) == 1 and None not in names:
        yield index.value_at("schedule.name", mains[0].call.func, names.pop())
    elif not mains and warmups:
        yield index.value_at("schedule.name", warmups[0].call.func, "constant_with_warmup")
    for build in mains:
        yield from _main_facts(index, build)


def schedule_name(index: CodeIndex, build: Build) -> str | None:
    if build.kind == "get_scheduler":
        name = index.resolve(build.args.get("name"))
        return str(name.value) if name is not None and name.known else None
    return SCHEDULE_NAMES.get(build.kind, build.kind)


def _warmup_facts(index: CodeIndex, build: Build) -> Iterator[Value | None]:
    factor_key = "factor" if build.kind == "ConstantLR" else "start_factor"
    yield _argument_or_default(index, build, factor_key, "schedule.warmup_start_factor", 1 / 3)
    unit, node = index.build_unit(build)
    if unit is None:
        return
    yield index.value_at("schedule.warmup_unit", node, unit)
    length_key = "schedule.warmup_epochs" if unit == "epoch" else "schedule.warmup_steps"
    yield _argument_or_default(index, build, "total_iters", length_key, 5)


def _argument_or_default(index: CodeIndex, build: Build, parameter: str, key: str,
                         default: object) -> Value | None:
    """The argument's Value, or the parameter's default at the call (raw "": not spliceable)."""
    if parameter in build.args:
        return index.resolve(build.args[parameter], key)
    return index.value_at(key, build.call, default)


def _main_facts(index: CodeIndex, build: Build) -> Iterator[Value | None]:
    kind = build.kind
    if kind == "CosineAnnealingLR":
        horizon = index.resolve(build.args.get("T_max"), "schedule.decay_horizon")
        unit, node = index.build_unit(build)
        if horizon is not None and unit is not None:
            yield horizon
            yield index.value_at("schedule.decay_unit", node, unit)
    elif kind == "OneCycleLR":
        yield _onecycle_total(index, build)
    elif kind == "CosineAnnealingWarmRestarts":
        unit, _ = index.build_unit(build)
        if unit != "step":  # restart_period counts epochs
            yield index.resolve(build.args.get("T_0"), "schedule.restart_period")
        yield _argument_or_default(index, build, "T_mult", "schedule.restart_mult", 1)
    elif kind == PLATEAU:
        yield _argument_or_default(index, build, "patience", "plateau.patience", 10)
        yield _argument_or_default(index, build, "factor", "plateau.factor", 0.1)
    elif kind in HF_SCHEDULE_PARAMS and "num_warmup_steps" in build.args:
        unit, node = index.build_unit(build)
        if unit is not None:
            key = "schedule.warmup_epochs" if unit == "epoch" else "schedule.warmup_steps"
            yield index.resolve(build.args["num_warmup_steps"], key)
            yield index.value_at("schedule.warmup_unit", node, unit)


def _onecycle_total(index: CodeIndex, build: Build) -> Value | None:
    if "total_steps" in build.args:
        return index.resolve(build.args["total_steps"], "schedule.total_steps")
    epochs = index.resolve(build.args.get("epochs"))
    per_epoch = index.resolve(build.args.get("steps_per_epoch"))
    if epochs is None or per_epoch is None:
        return None
    total = arithmetic(ast.Mult(), epochs.number, per_epoch.number)
    if total is UNRESOLVED:
        return None
    return index.value_at("schedule.total_steps", build.call, total)


def epoch_loops(index: CodeIndex) -> Iterator[ast.For]:
    for node in sorted(index.for_loops, key=position):
        if index.loop_kind(node) == "epoch":
            yield node


def epoch_bound(index: CodeIndex, loop: ast.For) -> ast.expr | None:
    """`range(E)`, `range(start, E)`, `range(1, E + 1)`, `trange(E)`, `tqdm(range(E))` -> E."""
    iterator = loop.iter
    while isinstance(iterator, ast.Call) and iterator.args and called_name(iterator) in (
            "tqdm", "enumerate", "list", "iter"):
        iterator = iterator.args[0]
    if not isinstance(iterator, ast.Call) or called_name(iterator) not in ("range", "trange"):
        return None
    args = iterator.args
    if not args or len(args) > 3 or (len(args) == 3 and literal(args[2]) != 1):
        return None
    stop = args[0] if len(args) == 1 else args[1]
    start = literal(args[0]) if len(args) > 1 else 0
    if (start == 1 and isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Add)
            and literal(stop.right) == 1):
        return stop.left
    return stop


def _epoch_facts(index: CodeIndex) -> Iterator[Value | None]:
    for loop in epoch_loops(index):
        bound = epoch_bound(index, loop)
        value = index.resolve(bound, "duration.epochs") if bound is not None else None
        if value is not None:
            yield value
            return


def _stopping_facts(index: CodeIndex) -> Iterator[Value | None]:
    """Early stopping: an `EarlyStopping(...)` object or a hand-written patience check.

    The first one whose patience resolves wins; one that does not still says it is enabled.
    """
    found = [_early_stopping_object(index, call) for call in index.calls]
    found += [_patience_check(index, node) for node in sorted(index.compares, key=position)]
    found = [item for item in found if item is not None]
    if not found:
        return
    resolved = [item for item in found if item[0] is not None]
    patience, where = (resolved or found)[0]
    yield patience
    yield index.value_at("stopping.enabled", where, True)


def _patience_check(index: CodeIndex, compare: ast.Compare) -> tuple[Value | None, ast.AST] | None:
    """`if bad_epochs >= args.patience: break` -> the patience Value."""
    if len(compare.ops) != 1:
        return None
    left, right, op = compare.left, compare.comparators[0], compare.ops[0]
    if isinstance(op, (ast.LtE, ast.Lt)):
        left, right = right, left
    elif not isinstance(op, (ast.GtE, ast.Gt)):
        return None
    counter, limit = dotted(left), dotted(right)
    if not counter or not limit or "patience" not in limit.rsplit(".", 1)[-1].lower():
        return None
    if counter == limit or not _stops_training(index, compare):
        return None
    return index.resolve(right, "stopping.patience"), compare


def _stops_training(index: CodeIndex, compare: ast.Compare) -> bool:
    for ancestor in index.ancestors(compare):
        if isinstance(ancestor, (ast.If, ast.While)):
            for node in ast.walk(ast.Module(body=ancestor.body, type_ignores=[])):
                if isinstance(node, (ast.Break, ast.Return)):
                    return True
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and (
                        "stop" in node.id.lower()):
                    return True
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and (
                        "stop" in node.attr.lower()):
                    return True
            return False
        if isinstance(ancestor, ast.stmt):
            return False
    return False


def _early_stopping_object(index: CodeIndex, call: ast.Call) -> tuple[Value | None, ast.AST] | None:
    """`EarlyStopping(patience=...)`: Lightning's (default 3) or the script's own class."""
    name = called_name(call)
    if not name or not name.endswith("EarlyStopping"):
        return None
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    if "patience" in keywords:
        return index.resolve(keywords["patience"], "stopping.patience"), call
    qualname = index.script.qualname(call.func) or ""
    if qualname.startswith(("lightning", "pytorch_lightning")) and len(call.args) < 3:
        return index.value_at("stopping.patience", call, 3), call
    default = _class_default(index, name, "patience")
    if default is not None:
        return index.resolve(default, "stopping.patience"), call
    return None


def _class_default(index: CodeIndex, class_name: str, parameter: str) -> ast.expr | None:
    for node in index.classes.get(class_name, ()):
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                return _parameter_default(item.args, parameter)
    return None


def _parameter_default(arguments: ast.arguments, parameter: str) -> ast.expr | None:
    positional = arguments.posonlyargs + arguments.args
    offset = len(positional) - len(arguments.defaults)
    for position_index, arg in enumerate(positional):
        if arg.arg == parameter and position_index >= offset:
            return arguments.defaults[position_index - offset]
    for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults):
        if arg.arg == parameter:
            return default
    return None


def _checkpoint_facts(index: CodeIndex) -> Iterator[Value | None]:
    """A `torch.save` that keeps the best model: a "best" file name, or under `if x < best`."""
    for call in index.calls_by_name.get("save", ()):
        if index.script.qualname(call.func) != "torch.save":
            continue
        if any("best" in index.script.source(arg).lower() for arg in call.args[1:2]) or any(
                _compares_with_best(test) for test, taken in branch_conditions(index, call) if taken):
            yield index.value_at("checkpoint.keep_best", call, True)
            return


def _compares_with_best(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and any(
        "best" in (dotted(side) or "").lower() for side in (test.left, *test.comparators))


def _optimizer_facts(index: CodeIndex) -> Iterator[Value | None]:
    optimizers = [build for build in index.builds
                  if build.family == "optimizer" and live_by_default(index, build.call)]
    if not optimizers:
        return
    kinds = {build.kind for build in optimizers}
    first = optimizers[0]
    if len(kinds) == 1:
        yield index.value_at("optimizer.name", first.call.func, first.kind.lower())
    for parameter in ("lr", "weight_decay", "eps", "momentum"):
        if parameter in first.args:
            yield index.resolve(first.args[parameter], f"optimizer.{parameter}")


def _model_facts(index: CodeIndex) -> Iterator[Value | None]:
    ctc = rnn = attention = None
    for call in index.calls:
        called = called_name(call) or ""
        if called not in MODEL_NAMES and "Conformer" not in called:
            continue
        qualname = index.script.qualname(call.func) or ""
        if qualname in CTC_LOSSES:
            ctc = ctc or call
        elif qualname in RNN_LAYERS:
            rnn = rnn or call
        elif qualname in ATTENTION_ENCODERS or "Conformer" in (called_name(call) or ""):
            attention = attention or call
    if ctc is None:
        return
    yield index.value_at("model.ctc", ctc, True)
    if rnn is not None and attention is None:
        yield index.value_at("model.type", rnn, "rnn-ctc")
    elif attention is None:
        yield index.value_at("model.type", ctc, "ctc")
