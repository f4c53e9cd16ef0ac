"""What a training script's code does, read from the `ast` (nothing is imported or run).

`code_index(script)` finds the LR schedulers and optimizers the code builds (`Build`), which
variables hold them, where each `.step()` runs (`StepCall`) and the loops and conditions around
it. The script rules (TL106-TL111) ask it their questions; `trainlint.formats.python.
training_facts` turns its answers into canonical settings. `read_arguments` reads a script's
argparse arguments for the rules that need them without the declared config.

Why one module (over 800 lines): `CodeIndex` and the functions that decide which scheduler a
`.step()` can reach (`feasible_builds` and its branch checks) work on the same private tables
of builds, steps and loops; the torch and transformers signature tables at the top are what
its calls are matched against. The facts drawn from it are in `training_facts`.
"""
from __future__ import annotations

import ast
import math
from collections.abc import Iterator

import msgspec.structs
from msgspec import Struct, field

from trainlint.formats.base import ArgumentSpec
from trainlint.formats.python.ast_index import (
    ParsedScript,
    called_name,
    child_nodes,
    dotted,
    walk_breadth_first,
)
from trainlint.records import UNRESOLVED, Value

SCHEDULER_PREFIX = "torch.optim.lr_scheduler."

# Parameters of each torch scheduler in positional order (torch 2.13 signatures).
SCHEDULER_PARAMS: dict[str, tuple[str, ...]] = {
    "LambdaLR": ("optimizer", "lr_lambda", "last_epoch"),
    "MultiplicativeLR": ("optimizer", "lr_lambda", "last_epoch"),
    "StepLR": ("optimizer", "step_size", "gamma", "last_epoch"),
    "MultiStepLR": ("optimizer", "milestones", "gamma", "last_epoch"),
    "ConstantLR": ("optimizer", "factor", "total_iters", "last_epoch"),
    "LinearLR": ("optimizer", "start_factor", "end_factor", "total_iters", "last_epoch"),
    "ExponentialLR": ("optimizer", "gamma", "last_epoch"),
    "SequentialLR": ("optimizer", "schedulers", "milestones", "last_epoch"),
    "PolynomialLR": ("optimizer", "total_iters", "power", "last_epoch"),
    "CosineAnnealingLR": ("optimizer", "T_max", "eta_min", "last_epoch"),
    "ChainedScheduler": ("schedulers", "optimizer"),
    "ReduceLROnPlateau": ("optimizer", "mode", "factor", "patience", "threshold",
                          "threshold_mode", "cooldown", "min_lr", "eps"),
    "CyclicLR": ("optimizer", "base_lr", "max_lr", "step_size_up", "step_size_down", "mode"),
    "CosineAnnealingWarmRestarts": ("optimizer", "T_0", "T_mult", "eta_min", "last_epoch"),
    "OneCycleLR": ("optimizer", "max_lr", "total_steps", "epochs", "steps_per_epoch",
                   "pct_start", "anneal_strategy", "cycle_momentum", "base_momentum",
                   "max_momentum", "div_factor", "final_div_factor", "three_phase"),
}

# transformers' schedule factories: LambdaLR objects, stepped like any torch scheduler.
HF_SCHEDULE_PARAMS: dict[str, tuple[str, ...]] = {
    "get_scheduler": ("name", "optimizer", "num_warmup_steps", "num_training_steps"),
    "get_linear_schedule_with_warmup": (
        "optimizer", "num_warmup_steps", "num_training_steps", "last_epoch"),
    "get_cosine_schedule_with_warmup": (
        "optimizer", "num_warmup_steps", "num_training_steps", "num_cycles", "last_epoch"),
    "get_cosine_with_hard_restarts_schedule_with_warmup": (
        "optimizer", "num_warmup_steps", "num_training_steps", "num_cycles", "last_epoch"),
    "get_polynomial_decay_schedule_with_warmup": (
        "optimizer", "num_warmup_steps", "num_training_steps", "lr_end", "power", "last_epoch"),
    "get_constant_schedule_with_warmup": ("optimizer", "num_warmup_steps", "last_epoch"),
    "get_constant_schedule": ("optimizer", "last_epoch"),
    "get_inverse_sqrt_schedule": ("optimizer", "num_warmup_steps", "timescale", "last_epoch"),
}
HF_MODULES = ("transformers.", "transformers.optimization.")

# schedule.name for each scheduler (HF SchedulerType names where one exists).
SCHEDULE_NAMES: dict[str, str] = {
    "LambdaLR": "lambda", "MultiplicativeLR": "multiplicative", "StepLR": "step",
    "MultiStepLR": "multistep", "ConstantLR": "constant", "LinearLR": "linear",
    "ExponentialLR": "exponential", "PolynomialLR": "polynomial", "CosineAnnealingLR": "cosine",
    "ReduceLROnPlateau": "reduce_lr_on_plateau", "CyclicLR": "cyclic",
    "CosineAnnealingWarmRestarts": "cosine_with_restarts", "OneCycleLR": "onecycle",
    "get_linear_schedule_with_warmup": "linear", "get_cosine_schedule_with_warmup": "cosine",
    "get_cosine_with_hard_restarts_schedule_with_warmup": "cosine_with_restarts",
    "get_polynomial_decay_schedule_with_warmup": "polynomial",
    "get_constant_schedule_with_warmup": "constant_with_warmup",
    "get_constant_schedule": "constant", "get_inverse_sqrt_schedule": "inverse_sqrt",
}
WRAPPERS = frozenset({"SequentialLR", "ChainedScheduler"})
PLATEAU = "ReduceLROnPlateau"

# Parameters of torch.optim optimizers in positional order (torch 2.13 signatures).
_ADAM_LIKE = ("params", "lr", "betas", "eps", "weight_decay")
OPTIMIZER_PARAMS: dict[str, tuple[str, ...]] = {
    "Adam": _ADAM_LIKE, "AdamW": _ADAM_LIKE, "NAdam": _ADAM_LIKE, "RAdam": _ADAM_LIKE,
    "Adamax": _ADAM_LIKE, "SparseAdam": ("params", "lr", "betas", "eps"),
    "SGD": ("params", "lr", "momentum", "dampening", "weight_decay", "nesterov"),
    "RMSprop": ("params", "lr", "alpha", "eps", "weight_decay", "momentum"),
    "Adagrad": ("params", "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    "Adadelta": ("params", "lr", "rho", "eps", "weight_decay"),
    "Adafactor": ("params", "lr", "beta2_decay", "eps", "d", "weight_decay"),
    "Muon": ("params", "lr", "weight_decay", "momentum"),
    "ASGD": ("params", "lr", "lambd", "alpha", "t0", "weight_decay"),
    "Rprop": ("params", "lr", "etas", "step_sizes"), "LBFGS": ("params", "lr"),
}

# Callee names worth resolving (qualname lookups cost; most calls are something else).
BUILD_NAMES = (frozenset(SCHEDULER_PARAMS) | frozenset(HF_SCHEDULE_PARAMS)
               | frozenset(OPTIMIZER_PARAMS))

CTC_LOSSES = frozenset({"torch.nn.CTCLoss", "torch.nn.functional.ctc_loss",
                        "torch.nn.modules.loss.CTCLoss"})
RNN_LAYERS = frozenset({"torch.nn.GRU", "torch.nn.LSTM", "torch.nn.RNN", "torch.nn.GRUCell",
                        "torch.nn.LSTMCell"})
ATTENTION_ENCODERS = frozenset({"torch.nn.TransformerEncoder", "torch.nn.Transformer",
                                "torchaudio.models.Conformer", "torchaudio.models.Emformer"})
MODEL_NAMES = frozenset(name.rsplit(".", 1)[-1]
                        for name in CTC_LOSSES | RNN_LAYERS | ATTENTION_ENCODERS)

# Names that usually hold parsed command-line arguments (besides those bound to parse_args()).
ARGS_NAMES = frozenset({"args", "opt", "opts", "hparams", "cfg", "config", "flags", "FLAGS",
                        "self.args", "self.hparams", "self.opt", "self.cfg", "self.config"})
LOADER_WORDS = ("loader", "batch", "dataset", "data_iter", "train_data", "train_dl", "dl")
STEP_WORDS = ("step", "iter")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_NESTED_SCOPES = frozenset({*_FUNCTIONS, ast.ClassDef})


class Build(Struct, eq=False):
    """One constructor call of a scheduler or optimizer in the script."""

    kind: str  # "LinearLR", "AdamW", "get_linear_schedule_with_warmup"
    family: str  # "scheduler" or "optimizer"
    call: ast.Call
    args: dict[str, ast.expr]  # parameter name -> argument expression
    targets: list[str] = field(default_factory=list)  # "scheduler", "self.scheduler"
    wrapper: Build | None = None  # the SequentialLR / ChainedScheduler around it
    children: list[Build] = field(default_factory=list)

    @property
    def is_plateau(self) -> bool:
        return self.kind == PLATEAU

    @property
    def line(self) -> int:
        return self.call.lineno


class StepCall(Struct, eq=False):
    """A `<receiver>.step(...)` call and the builds its receiver may hold."""

    call: ast.Call
    receiver: str | None  # dotted text: "scheduler", "self.lr_scheduler"
    builds: list[Build]

    @property
    def has_arguments(self) -> bool:
        return bool(self.call.args or self.call.keywords)


def position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def literal(node: ast.AST) -> object:
    """The value of a literal number/string/bool (also `-1e-4`, `1/3`), else UNRESOLVED."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = literal(node.operand)
        if _is_number(operand):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        return arithmetic(node.op, literal(node.left), literal(node.right))
    return UNRESOLVED


def arithmetic(op: ast.operator, left: object, right: object) -> object:
    if not (_is_number(left) and _is_number(right)):
        return UNRESOLVED
    try:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.FloorDiv):
            return left // right
        if isinstance(op, ast.Pow) and abs(right) <= 64:
            return left ** right
    except (ArithmeticError, ValueError):
        return UNRESOLVED
    return UNRESOLVED


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (
        not isinstance(value, float) or math.isfinite(value))


def _call_name(script: ParsedScript, call: ast.Call) -> str | None:
    return script.qualname(call.func)


def _bind_arguments(call: ast.Call, params: tuple[str, ...]) -> dict[str, ast.expr]:
    bound: dict[str, ast.expr] = {}
    for name, arg in zip(params, call.args):
        if isinstance(arg, ast.Starred):
            break
        bound[name] = arg
    for keyword in call.keywords:
        if keyword.arg is not None:
            bound[keyword.arg] = keyword.value
    return bound


def read_arguments(script: ParsedScript) -> list[ArgumentSpec]:
    """The `add_argument(...)` calls of a script, read from the ast (argparse not imported).

    A local reader so that the script rules can resolve `args.<dest>` on their own; the
    engine passes the ArgumentSpecs of its own argparse adapter to `training_facts`.
    """
    specs: list[ArgumentSpec] = []
    for call in script.method_calls("add_argument"):
        spec = _argument_spec(script, call)
        if spec is not None:
            specs.append(spec)
    return specs


def _argument_spec(script: ParsedScript, call: ast.Call) -> ArgumentSpec | None:
    flags = tuple(arg.value for arg in call.args
                  if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    if not flags:
        return None
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    dest = _dest(flags, keywords.get("dest"))
    action_node = keywords.get("action")
    action = None
    if isinstance(action_node, ast.Constant) and isinstance(action_node.value, str):
        action = action_node.value
    elif action_node is not None:
        action = (dotted(action_node) or "").rsplit(".", 1)[-1] or None
    type_node = keywords.get("type")
    type_name = dotted(type_node) if type_node is not None else None
    spec = ArgumentSpec(flags=flags, dest=dest, action=action, type_name=type_name,
                        span=script.span(call))
    default = keywords.get("default")
    if default is not None:
        value = literal(default)
        if isinstance(value, str) and type_name in ("float", "int"):
            value = _convert(value, type_name)  # argparse applies `type` to string defaults
        spec.default = Value(value=value, path=script.path, span=script.span(default),
                             key=dest, raw=script.source(default), origin="argparse")
    return spec


def _dest(flags: tuple[str, ...], dest_node: ast.expr | None) -> str:
    if isinstance(dest_node, ast.Constant) and isinstance(dest_node.value, str):
        return dest_node.value
    long_flags = [flag for flag in flags if flag.startswith("--")]
    chosen = long_flags[0] if long_flags else flags[0]
    return chosen.lstrip("-").replace("-", "_")


def _convert(text: str, type_name: str) -> object:
    try:
        return float(text) if type_name == "float" else int(text)
    except ValueError:
        return UNRESOLVED


def _source_order(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset


class CodeIndex:
    """What a script builds and steps, and the loops around it."""

    def __init__(self, script: ParsedScript, arguments: list[ArgumentSpec] | None = None):
        self.script = script
        # An empty list may just mean the caller's adapter found none: read them here.
        specs = arguments if arguments is not None else read_arguments(script)
        self.arguments = {spec.dest: spec for spec in specs}
        self.builds: list[Build] = []
        self.steps: list[StepCall] = []
        self.calls: list[ast.Call] = script.calls  # source order
        self.functions: dict[str, list[ast.AST]] = {}
        self.classes: dict[str, list[ast.ClassDef]] = {}
        self.for_loops: list[ast.For | ast.AsyncFor] = []
        self.compares: list[ast.Compare] = []
        self.calls_by_name: dict[str, list[ast.Call]] = {}
        self.assignments: dict[tuple[ast.AST, str], list[ast.AST]] = {}
        self.bindings: dict[tuple[ast.AST, str], list[Build]] = {}
        self.bindings_by_leaf: dict[str, list[Build]] = {}
        self.args_names: set[str] = set(ARGS_NAMES)
        self._unit_cache: dict[ast.AST, tuple[str | None, ast.AST | None]] = {}
        self._optimizer_calls: set[ast.Call] | None = None
        self._runs_optimizer: dict[ast.AST, bool] = {}
        self._returns: dict[ast.AST, list[ast.Return]] = {}
        self._collect()

    # ---- collection -------------------------------------------------------------------

    def _collect(self) -> None:
        for call in self.calls:
            name = called_name(call)
            if name:
                self.calls_by_name.setdefault(name, []).append(call)
            if name in BUILD_NAMES:
                build = self._build(call)
                if build is not None:
                    self.builds.append(build)
        self._walk_statements()
        self._bind_builds()
        self._link_wrappers()
        self.steps = [self._step_call(call) for call in self.calls
                      if isinstance(call.func, ast.Attribute) and call.func.attr == "step"]

    def _build(self, call: ast.Call) -> Build | None:
        qualname = _call_name(self.script, call)
        if not qualname:
            return None
        short = qualname.rsplit(".", 1)[-1]
        if qualname.startswith(SCHEDULER_PREFIX) and short in SCHEDULER_PARAMS:
            return Build(short, "scheduler", call, _bind_arguments(call, SCHEDULER_PARAMS[short]))
        if short in HF_SCHEDULE_PARAMS and qualname.startswith(HF_MODULES):
            return Build(short, "scheduler", call,
                         _bind_arguments(call, HF_SCHEDULE_PARAMS[short]))
        if qualname == f"torch.optim.{short}" and short in OPTIMIZER_PARAMS:
            return Build(short, "optimizer", call, _bind_arguments(call, OPTIMIZER_PARAMS[short]))
        return None

    def _walk_statements(self) -> None:
        """What the script's call list does not give: defs, assignments, loops (read from the
        script's node index, built once per file and shared with the script rules)."""
        nodes = self.script.nodes
        for node in nodes(ast.Assign):
            for target in node.targets:
                self._note_assignment(node, target, node.value)
        for kind in (ast.AnnAssign, ast.NamedExpr):
            for node in nodes(kind):
                if node.value is not None:
                    self._note_assignment(node, node.target, node.value)
        self.for_loops = sorted((*nodes(ast.For), *nodes(ast.AsyncFor)), key=_source_order)
        self.compares = list(nodes(ast.Compare))
        for kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            for node in nodes(kind):
                self.functions.setdefault(node.name, []).append(node)
        for node in nodes(ast.ClassDef):
            self.classes.setdefault(node.name, []).append(node)

    def _note_assignment(self, node: ast.AST, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            if _is_parse_args(value) and target.elts:
                first = dotted(target.elts[0])
                if first:
                    self.args_names.add(first)
            return
        text = dotted(target)
        if text is None:
            return
        self.assignments.setdefault((self.binding_scope(text, node), text), []).append(value)
        if _is_parse_args(value):
            self.args_names.add(text)

    def _bind_builds(self) -> None:
        if not self.builds:
            return  # every binding traces back to a build: none to follow
        by_call = {build.call: build for build in self.builds}
        for (scope, text), values in self.assignments.items():
            for value in values:
                for call in _constructed(value):
                    build = by_call.get(call)
                    if build is not None:
                        self._bind(scope, text, build)
        # `self.scheduler = scheduler`, `scheduler = build_scheduler(...)`: two rounds
        # follow short chains of such re-bindings.
        for _ in range(2):
            for (scope, text), values in list(self.assignments.items()):
                for value in values:
                    for build in self._derived_builds(text, value):
                        self._bind(scope, text, build)

    def _derived_builds(self, text: str, value: ast.expr) -> list[Build]:
        source = dotted(value)
        if source and source != text:
            return self.lookup(source, value, fallback=False)
        if isinstance(value, ast.Call):
            callee = self.local_function(value)
            if callee is not None:
                return self.returned_builds(callee)
        return []

    def returned_builds(self, function: ast.AST) -> list[Build]:
        """What a function of this file returns: `return scheduler` in `build_scheduler()`."""
        found: list[Build] = []
        for node in self.returns_in(function):
            for build in self.builds_of(node.value, node, fallback=False):
                if build not in found:
                    found.append(build)
        return found

    def returns_in(self, function: ast.AST) -> list[ast.Return]:
        """The `return <value>` statements of a function, not of the functions nested in it
        (in `walk_local` order; worked out once per function)."""
        returns = self._returns.get(function)
        if returns is None:
            returns = self._returns[function] = [
                node for node in walk_local(function)
                if isinstance(node, ast.Return) and node.value is not None]
        return returns

    def _bind(self, scope: ast.AST, text: str, build: Build) -> None:
        bound = self.bindings.setdefault((scope, text), [])
        if build not in bound:
            bound.append(build)
            build.targets.append(text)
            self.bindings_by_leaf.setdefault(text.rsplit(".", 1)[-1], []).append(build)

    def _link_wrappers(self) -> None:
        for build in self.builds:
            if build.kind not in WRAPPERS:
                continue
            members = build.args.get("schedulers")
            if not isinstance(members, (ast.List, ast.Tuple)):
                continue
            for element in members.elts:
                for child in self.builds_of(element, build.call):
                    if child is not build and child.wrapper is None:
                        child.wrapper = build
                        build.children.append(child)

    def _step_call(self, call: ast.Call) -> StepCall:
        receiver = call.func.value  # type: ignore[attr-defined]
        text = dotted(receiver)
        builds = self.builds_of(receiver, call)
        return StepCall(call, text, builds)

    # ---- scopes and names -------------------------------------------------------------

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        return self.script.ancestors(node)

    def function_of(self, node: ast.AST) -> ast.AST | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _FUNCTIONS):
                return ancestor
            if isinstance(ancestor, ast.ClassDef):
                return None
        return None

    def scope_of(self, node: ast.AST) -> ast.AST:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _SCOPES):
                return ancestor
        return self.script.tree

    def class_of(self, node: ast.AST) -> ast.AST | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, ast.ClassDef):
                return ancestor
        return None

    def binding_scope(self, text: str, node: ast.AST) -> ast.AST:
        if text.startswith("self.") or text.startswith("cls."):
            return self.class_of(node) or self.script.tree
        return self.scope_of(node)

    def _scopes_for(self, text: str, node: ast.AST) -> Iterator[ast.AST]:
        if text.startswith("self.") or text.startswith("cls."):
            yield self.class_of(node) or self.script.tree
            return
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _SCOPES) and not isinstance(ancestor, ast.ClassDef):
                yield ancestor

    def lookup(self, text: str, node: ast.AST, fallback: bool = True,
               depth: int = 0) -> list[Build]:
        """The builds a dotted name may hold at `node`: its scope, then the module, then
        what the callers pass for a parameter of that name, then (`fallback`) any binding
        of the same last name in the file."""
        for scope in self._scopes_for(text, node):
            found = self.bindings.get((scope, text))
            if found:
                return list(found)
        if "." not in text and depth < 3:
            passed = self._passed_builds(text, node, depth)
            if passed:
                return passed
        if fallback:
            return list(self.bindings_by_leaf.get(text.rsplit(".", 1)[-1], ()))
        return []

    def builds_of(self, expr: ast.expr, at: ast.AST, fallback: bool = True,
                  depth: int = 0) -> list[Build]:
        """What an expression may evaluate to: a constructor call or a bound name."""
        direct = [build for build in self.builds if build.call in _constructed(expr)]
        if direct:
            return direct
        text = dotted(expr)
        return self.lookup(text, at, fallback, depth) if text else []

    def _passed_builds(self, name: str, node: ast.AST, depth: int) -> list[Build]:
        """`def train(model, scheduler)`: the builds its callers pass as `scheduler`."""
        function = self.function_of(node)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        positional = [arg.arg for arg in (*function.args.posonlyargs, *function.args.args)]
        if name not in positional and name not in {a.arg for a in function.args.kwonlyargs}:
            return []
        found: list[Build] = []
        for call in self.calls_to(function):
            argument = _argument_passed(call, positional, name)
            if argument is None:
                continue
            for build in self.builds_of(argument, call, depth=depth + 1):
                if build not in found:
                    found.append(build)
        return found

    def single_assignment(self, text: str, node: ast.AST) -> ast.expr | None:
        for scope in self._scopes_for(text, node):
            values = self.assignments.get((scope, text))
            if values:
                return values[0] if len(values) == 1 else None
        return None

    # ---- values -----------------------------------------------------------------------

    def argument(self, expr: ast.AST) -> ArgumentSpec | None:
        """The argparse argument `args.<dest>` refers to, if any."""
        text = dotted(expr)
        if not text or "." not in text:
            return None
        base, dest = text.rsplit(".", 1)
        if base in self.args_names:
            return self.arguments.get(dest)
        return None

    def resolve(self, expr: ast.AST | None, key: str = "", depth: int = 0) -> Value | None:
        """The Value an expression has statically (literal, argparse default, constant)."""
        if expr is None or depth > 6:
            return None
        value = literal(expr)
        if value is not UNRESOLVED:
            return self.value_at(key, expr, value, raw=self.script.source(expr))
        spec = self.argument(expr)
        if spec is not None:
            return msgspec.structs.replace(spec.default, key=key) if spec.default else None
        if isinstance(expr, ast.Name):
            assigned = self.single_assignment(expr.id, expr)
            return self.resolve(assigned, key, depth + 1) if assigned is not None else None
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and (
                expr.func.id in ("int", "float") and len(expr.args) == 1):
            return self._resolve_conversion(expr, key, depth)
        if isinstance(expr, ast.BinOp):
            return self._resolve_arithmetic(expr, key, depth)
        return None

    def _resolve_conversion(self, expr: ast.Call, key: str, depth: int) -> Value | None:
        """`int(args.epochs)`: the argument's Value (a fix still edits it), converted."""
        inner = self.resolve(expr.args[0], key, depth + 1)
        if inner is None or inner.number is None:
            return None
        convert = int if expr.func.id == "int" else float  # type: ignore[attr-defined]
        return msgspec.structs.replace(inner, value=convert(inner.number))

    def _resolve_arithmetic(self, expr: ast.BinOp, key: str, depth: int) -> Value | None:
        left = self.resolve(expr.left, key, depth + 1)
        right = self.resolve(expr.right, key, depth + 1)
        if left is None or right is None:
            return None
        result = arithmetic(expr.op, left.number, right.number)
        if result is UNRESOLVED:
            return None
        return self.value_at(key, expr, result)

    def value_at(self, key: str, node: ast.AST, value: object, raw: str = "") -> Value:
        """A fact at a node; `raw` is the source to splice, "" where no literal holds it."""
        return Value(value=value, path=self.script.path, span=self.script.span(node), key=key,
                     raw=raw, origin="code")

    # ---- loops and units --------------------------------------------------------------

    def loops_around(self, node: ast.AST) -> list[ast.AST]:
        """Loops whose body runs `node`, innermost first, within its function."""
        loops: list[ast.AST] = []
        child = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, _SCOPES):
                break
            if isinstance(ancestor, _LOOPS) and child in ancestor.body:
                loops.append(ancestor)
            child = ancestor
        return loops

    def loop_kind(self, loop: ast.AST) -> str | None:
        """"epoch", "batch" (one optimizer step per pass), "step" (an iteration counter)."""
        if isinstance(loop, ast.While):
            test = self.script.source(loop.test).lower()
            if "epoch" in test:
                return "epoch"
            return "step" if any(word in test for word in STEP_WORDS) else None
        target = self.script.source(loop.target).lower()
        iterator = self.script.source(loop.iter).lower()
        if "epoch" in target or ("epoch" in iterator and "range" in iterator):
            return "epoch"
        words = _identifiers(loop.iter) | _identifiers(loop.target)
        if any(_is_loader_word(word) for word in words):
            return "batch"
        if "range" in iterator and any(word in target + iterator for word in STEP_WORDS):
            return "step"
        return None

    def unit_of(self, node: ast.AST, depth: int = 0) -> str | None:
        """How often `node` runs: "step" (per optimizer step) or "epoch", else None."""
        kinds = [self.loop_kind(loop) for loop in self.loops_around(node)]
        if "batch" in kinds or "step" in kinds:
            return "step"
        if "epoch" in kinds:
            return "epoch"
        if kinds:
            return None
        function = self.function_of(node)
        if function is None or depth > 3:
            return None
        if any(self.loop_kind(loop) == "batch" for loop in self.loops_in(function)):
            return "epoch"  # a per-epoch function: the step runs after its batch loop
        units = {self.unit_of(call, depth + 1) for call in self.calls_to(function)}
        return units.pop() if len(units) == 1 else None

    def loops_in(self, function: ast.AST) -> Iterator[ast.AST]:
        for node in walk_local(function):
            if isinstance(node, _LOOPS):
                yield node

    def calls_to(self, function: ast.AST) -> list[ast.Call]:
        name = getattr(function, "name", None)
        if not name or len(self.functions.get(name, ())) != 1:
            return []
        return [call for call in self.calls_by_name.get(name, ())
                if not _inside(call, function, self)]

    def steps_of(self, build: Build) -> list[StepCall]:
        return [step for step in self.steps if build in step.builds]

    def build_unit(self, build: Build) -> tuple[str | None, ast.AST | None]:
        """How often a scheduler is stepped, and the node that says so."""
        if build.wrapper is not None:
            return self.build_unit(build.wrapper)
        if build.call in self._unit_cache:
            return self._unit_cache[build.call]
        found = self._framework_unit(build)
        if found[0] is None:
            units: dict[str, ast.AST] = {}
            for step in self.steps_of(build):
                unit = self.unit_of(step.call)
                if unit is not None:
                    units.setdefault(unit, step.call)
            if len(units) == 1:
                found = next(iter(units.items()))
        self._unit_cache[build.call] = found
        return found

    def _framework_unit(self, build: Build) -> tuple[str | None, ast.AST | None]:
        """Lightning's configure_optimizers ("interval") and HF Trainer(optimizers=...)."""
        function = self.function_of(build.call)
        if getattr(function, "name", None) == "configure_optimizers":
            for node in walk_local(function):
                if isinstance(node, ast.Dict):
                    for key, value in zip(node.keys, node.values):
                        if isinstance(key, ast.Constant) and key.value == "interval":
                            unit = literal(value)
                            if unit in ("step", "epoch"):
                                return unit, value
            return "epoch", build.call  # Lightning's default interval
        for call in self.calls:
            for keyword in call.keywords:
                if keyword.arg == "optimizers" and isinstance(keyword.value, ast.Tuple):
                    for element in keyword.value.elts:
                        if build in self.builds_of(element, call):
                            return "step", keyword
        return None, None

    # ---- optimizer steps --------------------------------------------------------------

    def is_optimizer_step(self, step: StepCall) -> bool:
        if any(build.family == "optimizer" for build in step.builds):
            return True
        if step.builds or not step.receiver:
            return False
        leaf = step.receiver.rsplit(".", 1)[-1].lower()
        return "optim" in leaf or leaf in ("opt", "scaler") or leaf.startswith("opt_")

    def optimizer_step_calls(self) -> set[ast.Call]:
        if self._optimizer_calls is None:
            self._optimizer_calls = {step.call for step in self.steps
                                     if self.is_optimizer_step(step)}
        return self._optimizer_calls

    def runs_optimizer_step(self, function: ast.AST) -> bool:
        """Whether calling `function` runs an optimizer step (through local calls too)."""
        if function in self._runs_optimizer:
            return self._runs_optimizer[function]
        self._runs_optimizer[function] = False  # recursion guard
        result = False
        for node in walk_local(function):
            if node in self.optimizer_step_calls():
                result = True
                break
            if isinstance(node, ast.Call):
                callee = self.local_function(node)
                if callee is not None and self.runs_optimizer_step(callee):
                    result = True
                    break
        self._runs_optimizer[function] = result
        return result

    def local_function(self, call: ast.Call) -> ast.AST | None:
        """The function of this file a call runs (`train_epoch(...)`, `self.train_epoch()`)."""
        func = call.func
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
                func.value.id in ("self", "cls")):
            name = func.attr
        else:
            return None
        defined = self.functions.get(name, ())
        return defined[0] if len(defined) == 1 else None


def _argument_passed(call: ast.Call, positional: list[str], name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if name not in positional:
        return None
    number = positional.index(name)
    if isinstance(call.func, ast.Attribute) and positional[:1] in (["self"], ["cls"]):
        number -= 1  # `self.train(...)` passes self implicitly
    if 0 <= number < len(call.args) and not any(
            isinstance(arg, ast.Starred) for arg in call.args[:number + 1]):
        return call.args[number]
    return None


def walk_local(root: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function or loop body, not entering nested functions or classes (and without
    the context and operator singletons, `Load`, `Add`)."""
    stack = child_nodes(root)
    while stack:
        node = stack.pop()
        yield node
        if type(node) not in _NESTED_SCOPES:
            stack.extend(child_nodes(node))


def _inside(node: ast.AST, container: ast.AST, index: CodeIndex) -> bool:
    return any(ancestor is container for ancestor in index.ancestors(node))


def _constructed(expr: ast.AST) -> list[ast.Call]:
    """Calls an assigned expression may evaluate to (`A(...) if c else B(...)` gives both)."""
    if isinstance(expr, ast.Call):
        return [expr]
    if isinstance(expr, ast.IfExp):
        return _constructed(expr.body) + _constructed(expr.orelse)
    if isinstance(expr, ast.BoolOp):
        return [call for value in expr.values for call in _constructed(value)]
    return []


def _is_parse_args(value: ast.AST) -> bool:
    if isinstance(value, ast.Subscript):
        value = value.value
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr in ("parse_args", "parse_known_args"))


def _identifiers(node: ast.AST) -> set[str]:
    names = set()
    for child in walk_breadth_first(node):
        if isinstance(child, ast.Name):
            names.add(child.id.lower())
        elif isinstance(child, ast.Attribute):
            names.add(child.attr.lower())
    return names


def _is_loader_word(word: str) -> bool:
    return any(word == part or word.endswith(part) or word.startswith(part)
               for part in LOADER_WORDS)


def code_index(script: ParsedScript, arguments: list[ArgumentSpec] | None = None) -> CodeIndex:
    """The CodeIndex of a script, built once: every script rule of one file shares one. A call
    without `arguments` reuses the index built with them (the rules' calls after the engine's)."""
    built = script.derived(code_index, lambda _: [None, None])  # [arguments, index]
    if built[1] is None or (arguments is not None and built[0] is not arguments):
        built[:] = [arguments, CodeIndex(script, arguments)]
    return built[1]


def feasible_builds(index: CodeIndex, step: StepCall) -> list[Build]:
    """The builds a step call's receiver may hold there, after the branches around it.

    `isinstance(scheduler, ReduceLROnPlateau)` tests and branch tests the build shares with
    the step (`if args.scheduler == "plateau":` around both, or two different literals
    compared with the same name) rule builds out.
    """
    step_conditions = branch_conditions(index, step.call)
    feasible = []
    for build in step.builds:
        if not _isinstance_allows(index, step, build):
            continue
        if _compatible(step_conditions, branch_conditions(index, build.call)):
            feasible.append(build)
    return feasible


def branch_conditions(index: CodeIndex, node: ast.AST) -> list[tuple[ast.expr, bool]]:
    """(test, branch taken) of every `if` around a node."""
    conditions = []
    child = node
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, (ast.If, ast.IfExp)):
            if child in _branch(ancestor, True):
                conditions.append((ancestor.test, True))
            elif child in _branch(ancestor, False):
                conditions.append((ancestor.test, False))
        child = ancestor
    return conditions


def _branch(node: ast.If | ast.IfExp, taken: bool) -> list[ast.AST]:
    part = node.body if taken else node.orelse
    return part if isinstance(part, list) else [part]


def _compatible(first: list[tuple[ast.expr, bool]], second: list[tuple[ast.expr, bool]]) -> bool:
    for test_a, taken_a in first:
        for test_b, taken_b in second:
            same = ast.dump(test_a) == ast.dump(test_b)
            if same and taken_a != taken_b:
                return False
            if taken_a and taken_b and _exclusive(test_a, test_b):
                return False
    return True


def _exclusive(test_a: ast.expr, test_b: ast.expr) -> bool:
    """`x == "plateau"` and `x == "cosine"` cannot both hold."""
    if not all(isinstance(test, ast.Compare) and len(test.ops) == 1
               and isinstance(test.ops[0], ast.Eq) for test in (test_a, test_b)):
        return False
    left_a, left_b = dotted(test_a.left), dotted(test_b.left)  # type: ignore[attr-defined]
    value_a = literal(test_a.comparators[0])  # type: ignore[attr-defined]
    value_b = literal(test_b.comparators[0])  # type: ignore[attr-defined]
    return (left_a is not None and left_a == left_b and value_a is not UNRESOLVED
            and value_b is not UNRESOLVED and value_a != value_b)


def _isinstance_allows(index: CodeIndex, step: StepCall, build: Build) -> bool:
    for test, taken in branch_conditions(index, step.call):
        negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
        if negated:
            test, taken = test.operand, not taken  # type: ignore[attr-defined]
        kinds = _isinstance_kinds(index, test, step.receiver)
        if kinds is None:
            continue
        matches = build.kind in kinds or "LRScheduler" in kinds
        if matches != taken:
            return False
    return True


def _isinstance_kinds(index: CodeIndex, test: ast.AST, receiver: str | None) -> set[str] | None:
    if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance" and len(test.args) == 2 and receiver):
        return None
    if dotted(test.args[0]) != receiver:
        return None
    classes = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
    kinds = set()
    for cls in classes:
        name = index.script.qualname(cls) or dotted(cls) or ""
        kinds.add(name.rsplit(".", 1)[-1])
    return kinds
