"""The loops of a training script: which train, which evaluate, and what each one runs.

`loop_model(script)` is the analysis the TL7xx rules share (built once per script, on the
first question). It reads the `ast` only; nothing is imported or run.

- **Events.** Every call and a few statements are classified once: a backward pass
  (`loss.backward()`, `scaler.scale(loss).backward()`, `accelerator.backward(loss)`), an
  optimizer step (`optimizer.step()`, `scaler.step(optimizer)`: the code index of
  `trainlint.formats.python.training_code` decides what is an optimizer), gradient clearing (`zero_grad`,
  `p.grad = None`, `p.grad.zero_()`), `.eval()` / `.train()`, a model's forward call, a
  metric, a seed. Events belong to the function whose body holds them.
- **Loops.** A loop runs the events inside it and those of the functions of this file it
  calls (`train_one_epoch(...)`, `self.validate()`); each event keeps the calls it was
  reached through (`via`), so that a rule can ask for one level of calls as evidence of the
  loop's shape, and for any depth as evidence that something it would report is handled.
- **Training loops** run a backward pass and an optimizer step; the innermost such loop is
  the one that steps. **Evaluation loops** run a model's forward and no backward pass, with
  evidence that they evaluate: autograd off around the forward, `model.eval()` before the
  loop, or metrics computed in the loop together with a name or a call site that says
  validation (a name alone never decides).
- **Autograd state** at a node: the `with torch.no_grad()` / `inference_mode()` /
  `set_grad_enabled(...)` blocks around it, the decorators of its function, and the call
  sites of that function in this file (up to three levels). A function nobody in the file
  calls has an unknown state, unless a launcher (`mp.spawn`, `fire.Fire`, `@hydra.main`) runs
  it in a fresh thread or process.
- **Frameworks that own the loop** (methods of a LightningModule, a transformers `Trainer`
  subclass, Composer, fastai, Ignite, Catalyst classes) are marked `owned`; the rules leave
  what the framework does for them alone.

Why one module (over 800 lines): events, loops and autograd state are one model built in one
pass per script, and each answers questions about the others (a loop is training because of
its events, an event's autograd state because of the loops and calls around it).
"""

from __future__ import annotations

import ast
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from msgspec import Struct, field

from trainlint.formats.python.ast_index import PASSTHROUGH_METHODS, ParsedScript, dotted
from trainlint.formats.python.training_code import CodeIndex, code_index, walk_local

__all__ = ["Event", "Grad", "Kind", "Loop", "LoopModel", "argument_for", "has_word",
           "loop_model", "map_text"]

BACKWARD = "backward"
STEP = "step"
CLEAR = "clear"
EVAL = "eval"
TRAIN = "train"
TRAIN_MAYBE = "train?"  # `.train(flag)`: train or eval mode, decided at run time
FORWARD = "forward"
GENERATE = "generate"  # `model.generate(...)`: a forward that runs without autograd (HF)
METRIC = "metric"
GRAD_NEEDED = "grad"  # `torch.autograd.grad`, `x.requires_grad_()`: autograd wanted on purpose
SEED = "seed"

GRAD_OFF = "off"
GRAD_ON = "on"
GRAD_UNKNOWN = "unknown"


class Kind:
    """The kinds of Event, as rules name them (`Kind.BACKWARD`)."""

    BACKWARD, STEP, CLEAR, EVAL, TRAIN, TRAIN_MAYBE = (
        BACKWARD, STEP, CLEAR, EVAL, TRAIN, TRAIN_MAYBE)
    FORWARD, GENERATE, METRIC, GRAD_NEEDED, SEED = FORWARD, GENERATE, METRIC, GRAD_NEEDED, SEED


class Grad:
    """Whether autograd records the graph at a place (`LoopModel.grad_state`)."""

    ON, OFF, UNKNOWN = GRAD_ON, GRAD_OFF, GRAD_UNKNOWN

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
SILENCER_DEPTH = 3  # calls followed for evidence that makes a rule quiet
SHAPE_DEPTH = 1  # calls followed for evidence of a loop's shape

# Methods only a torch Module has (an optimizer also has state_dict / zero_grad: not listed).
MODULE_METHODS = frozenset({"eval", "parameters", "named_parameters", "modules",
                            "named_modules", "children", "named_children", "requires_grad_",
                            "buffers", "named_buffers"})
MODULE_WRAPPERS = frozenset({
    "torch.nn.parallel.DistributedDataParallel", "torch.nn.DataParallel",
    "torch.nn.parallel.DataParallel", "torch.compile",
    "torch.distributed.fsdp.FullyShardedDataParallel",
})
NO_GRAD = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad",
                     "torch.autograd.inference_mode", "torch.autograd.grad_mode.no_grad",
                     "torch.autograd.grad_mode.inference_mode"})
ENABLE_GRAD = frozenset({"torch.enable_grad", "torch.autograd.enable_grad"})
SET_GRAD = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled",
                      "torch.autograd.grad_mode.set_grad_enabled"})
AUTOGRAD_CALLS = frozenset({"torch.autograd.grad", "torch.autograd.functional.jacobian",
                            "torch.autograd.functional.hessian", "torch.func.grad",
                            "torch.autograd.functional.vjp", "torch.autograd.functional.jvp"})
# `dist_autograd.backward(context_id, [loss])`: gradients live in a fresh context per pass.
DISTRIBUTED_AUTOGRAD = "torch.distributed.autograd."
# Classes whose methods a framework calls from its own loop (prefixes of qualified names).
FRAMEWORK_PREFIXES = ("lightning", "pytorch_lightning", "transformers", "trl", "composer",
                      "fastai", "ignite", "catalyst", "accelerate", "deepspeed", "mmengine",
                      "mmcv", "detectron2", "fairseq", "speechbrain", "nemo", "espnet2")
FRAMEWORK_BASE_NAMES = ("LightningModule", "Trainer", "LightningDataModule", "ComposerModel",
                        "Callback", "Learner", "BaseTrainer", "TrainerBase", "HookBase")
# Calls that run a function in a fresh process or thread (autograd on), or hand it the
# command line: the function is an entry point.
LAUNCHERS = frozenset({"spawn", "Process", "Thread", "Fire", "launch", "start_processes",
                       "run", "main", "elastic_launch", "submit", "map"})
ENTRY_DECORATORS = ("main", "command", "record", "cli", "launch", "run")
METRIC_PREFIXES = ("sklearn.metrics.", "torchmetrics.", "evaluate.", "jiwer.", "sacrebleu.",
                   "nltk.translate.", "torcheval.", "pycocotools.", "rouge_score.")
METRIC_WORDS = ("metric", "meter", "acc", "correct", "score", "wer", "cer", "bleu", "f1",
                "precision", "recall", "auc", "psnr", "ssim", "miou", "iou")
VALIDATION_WORDS = ("val", "valid", "validation", "test", "eval", "evaluate", "dev",
                    "holdout", "inference", "predict")
LOSS_FUNCTIONS = frozenset({
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "ctc_loss",
    "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
})
# torchvision classification models with batch norm, dropout or stochastic depth
TORCHVISION_TRAIN_MODE = ("resnet", "resnext", "wide_resnet", "vgg", "alexnet", "densenet",
                          "inception", "googlenet", "mobilenet", "efficientnet", "mnasnet",
                          "shufflenet", "squeezenet", "regnet", "convnext", "swin", "maxvit")
# torch layers whose forward depends on the mode besides dropout and batch norm
MODE_DEPENDENT_LAYERS = frozenset({"RReLU", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
                                   "LazyInstanceNorm1d", "LazyInstanceNorm2d",
                                   "LazyInstanceNorm3d"})
LOADER_WORDS = ("loader", "dataloader", "dl", "batches", "iterator", "data_iter", "dataset",
                "ds", "batch")

Position = tuple[int, int]


def _pos(node: ast.AST) -> Position:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _end(node: ast.AST) -> Position:
    return (getattr(node, "end_lineno", None) or getattr(node, "lineno", 0),
            getattr(node, "end_col_offset", None) or getattr(node, "col_offset", 0))


def _words(text: str) -> list[str]:
    out, word = [], []
    for char in text.lower():
        if char.isalnum():
            word.append(char)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def has_word(text: str | None, words: Iterable[str]) -> bool:
    """Whether one of `words` is a word (split at `_`, `.` and the like) of `text`, or
    starts one (`val` in `val_loader`, `valid` in `validation`, `test` in `testloader`)."""
    if not text:
        return False
    wanted = tuple(words)
    return any(part == word or part.startswith(word) for part in _words(text) for word in wanted)


class Event(Struct, eq=False):
    """Something a loop or function runs: `kind` at `node`, reached through the local calls
    in `via` (empty: in the body itself)."""

    kind: str
    node: ast.AST
    via: tuple[ast.Call, ...] = ()

    @property
    def depth(self) -> int:
        return len(self.via)

    @property
    def outer(self) -> ast.AST:
        """The node in the loop's own body: the first call it was reached through, or itself."""
        return self.via[0] if self.via else self.node


class Loop(Struct, eq=False):
    node: ast.For | ast.AsyncFor | ast.While
    function: ast.AST | None  # the def whose body holds it; None at module level
    events: list[Event] = field(default_factory=list)
    owned: bool = False  # inside a class whose methods a framework's loop calls

    def of(self, *kinds: str, depth: int = SILENCER_DEPTH) -> list[Event]:
        return [e for e in self.events if e.kind in kinds and e.depth <= depth]

    def has(self, *kinds: str, depth: int = SILENCER_DEPTH) -> bool:
        return any(e.kind in kinds and e.depth <= depth for e in self.events)

    @property
    def trains(self) -> bool:
        """Runs a backward pass and an optimizer step (in its body or one call down)."""
        return self.has(BACKWARD, depth=SHAPE_DEPTH) and self.has(STEP, depth=SHAPE_DEPTH)

    @property
    def header_end(self) -> Position:
        node = self.node
        last = node.test if isinstance(node, ast.While) else node.iter
        return _end(last)


class LoopModel:
    """The loops of one script and the questions the TL7xx rules ask about them."""

    def __init__(self, script: ParsedScript) -> None:
        self.script = script
        self.index: CodeIndex = code_index(script)
        self.uses_torch = any(name == "torch" or name.startswith("torch.")
                              for name in script.aliases.values())
        self._events_by_function: dict[int, list[Event]] = {}
        self._positions_by_function: dict[int, list[Position]] = {}
        self._function_events: dict[tuple[int, int], list[Event]] = {}
        self._call_sites: dict[int, list[ast.AST]] | None = None
        self._calls_of: dict[int, list[ast.Call]] | None = None
        self._callees: dict[int, ast.AST | None] = {}
        self._grad_cache: dict[int, str] = {}
        self._owned: dict[int, bool] = {}
        self._layer_cache: dict[tuple[str, int], str | None] = {}
        self._params_holding_modules: dict[str, set[tuple[int, str]]] | None = None
        self._module_classes: dict[str, ast.ClassDef] | None = None
        self.module_texts: set[str] = set()
        self.global_grad_switch = False  # a bare `torch.set_grad_enabled(...)` statement
        self._classify()
        self.loops = self._loops()

    # ------------------------------------------------------------------ classification
    def _classify(self) -> None:
        script = self.script
        optimizer_steps = self.index.optimizer_step_calls()
        self.module_texts = self._modules()
        found: list[tuple[ast.AST, str]] = []
        for call in script.calls:
            for kind in self._call_kinds(call, optimizer_steps):
                found.append((call, kind))
        for node in script.nodes(ast.Assign):
            if any(_is_grad_attribute(target) for target in node.targets):
                found.append((node, CLEAR))
        for node in script.nodes(ast.Compare):
            if _counts_matches(node):
                found.append((node, METRIC))
        for node in script.nodes(ast.AugAssign):
            name = dotted(node.target) or ""
            if isinstance(node.op, ast.Add) and has_word(name, METRIC_WORDS):
                found.append((node, METRIC))
        for node, kind in found:
            function = script.enclosing_function(node)
            key = id(function) if function is not None else 0
            self._events_by_function.setdefault(key, []).append(Event(kind, node))
        for key, events in self._events_by_function.items():
            events.sort(key=lambda event: _pos(event.node))
            self._positions_by_function[key] = [_pos(event.node) for event in events]

    def _call_kinds(self, call: ast.Call, optimizer_steps: set[ast.Call]) -> list[str]:
        func = call.func
        kinds: list[str] = []
        name = self.script.qualname(func)
        if isinstance(func, ast.Attribute):
            attr = func.attr
            receiver = dotted(func.value)
            if attr in ("backward", "manual_backward"):
                if not (name or "").startswith(DISTRIBUTED_AUTOGRAD):
                    kinds.append(BACKWARD)  # distributed autograd keeps grads per context
            elif attr == "zero_grad" or _clears_by_name(attr):
                kinds.append(CLEAR)
            elif attr in ("zero_", "fill_", "mul_", "detach_") and _is_grad_attribute(func.value):
                kinds.append(CLEAR)
            elif attr == "eval" and not call.args and not call.keywords:
                kinds.append(EVAL)
            elif attr == "train":
                kinds.append(_train_kind(call))
            elif call in optimizer_steps:
                kinds.append(STEP)
            elif attr == "requires_grad_" and _literal_true_or_absent(call):
                kinds.append(GRAD_NEEDED)
            elif attr in ("forward", "generate") and receiver is not None and (
                    self._holds_module(func.value, receiver)):
                kinds.append(FORWARD if attr == "forward" else GENERATE)
            elif attr in ("update", "add_batch", "compute") and has_word(receiver, METRIC_WORDS):
                kinds.append(METRIC)
            elif attr in ("argmax", "topk"):
                kinds.append(METRIC)
        elif isinstance(func, ast.Name) and _clears_by_name(func.id):
            kinds.append(CLEAR)
        if name is not None:
            if name in AUTOGRAD_BACKWARD:
                kinds.append(BACKWARD)
            elif name in AUTOGRAD_CALLS:
                kinds.append(GRAD_NEEDED)
            elif name.startswith(METRIC_PREFIXES) or name in ("torch.argmax", "numpy.argmax"):
                kinds.append(METRIC)
            elif name.startswith("torch.nn.functional.") and name.rsplit(".", 1)[-1] in LOSS_FUNCTIONS:
                kinds.append(METRIC)
            elif name in SET_GRAD and self._is_statement(call):
                self.global_grad_switch = True
        callee_text = dotted(func)
        if "seed" in (callee_text or "").rsplit(".", 1)[-1].lower():
            kinds.append(SEED)
        if callee_text is not None and self._holds_module(func, callee_text):
            kinds.append(FORWARD)
        elif _names_a_loss(callee_text):
            kinds.append(METRIC)
        return kinds

    def _holds_module(self, expr: ast.expr, text: str) -> bool:
        """A torch Module: a text of `module_texts`, or a parameter that a caller of its
        function (in this file) passes a module for."""
        if text in self.module_texts:
            return True
        root, _, rest = text.partition(".")
        params = self._module_params().get(root)
        if not params:
            return False
        function = self.script.enclosing_function(expr)
        return function is not None and (id(function), f".{rest}" if rest else "") in params

    def _module_params(self) -> dict[str, set[tuple[int, str]]]:
        """Parameter name -> (function, attribute path) where a call of that function of
        this file passes a module (`evaluate(model, ...)` for `def evaluate(net, loader)`)."""
        if self._params_holding_modules is None:
            found: dict[str, set[tuple[int, str]]] = {}
            texts = self.module_texts
            for calls in self._calls_by_function().values():
                for call in calls:
                    function = self.callee(call)
                    if function is None:
                        continue
                    args = function.args  # type: ignore[attr-defined]
                    names = [a.arg for a in (*args.posonlyargs, *args.args)]
                    if names[:1] in (["self"], ["cls"]) and isinstance(call.func, ast.Attribute):
                        names = names[1:]
                    pairs = list(zip(names, call.args))
                    pairs += [(k.arg, k.value) for k in call.keywords if k.arg]
                    for name, value in pairs:
                        passed = dotted(value)
                        if passed is None:
                            continue
                        for module in texts:
                            if module == passed or module.startswith(passed + "."):
                                found.setdefault(name, set()).add(
                                    (id(function), module[len(passed):]))
            self._params_holding_modules = found
        return self._params_holding_modules

    def _is_statement(self, call: ast.Call) -> bool:
        return isinstance(self.script.parent(call), ast.Expr)

    def _modules(self) -> set[str]:
        """Dotted texts that hold a torch Module somewhere in the file: receivers of
        Module-only methods, and names bound to models built here."""
        script = self.script
        texts: set[str] = set()
        for call in script.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and (
                    func.attr in MODULE_METHODS or (func.attr == "train" and len(call.args) <= 1)):
                receiver = dotted(func.value)
                if receiver is not None:
                    texts.add(receiver)
        model_classes = self.module_classes()
        for node in script.nodes(ast.Assign):
            if not isinstance(node.value, ast.Call):
                continue
            if self._builds_module(node.value, model_classes, texts):
                for target in node.targets:
                    text = dotted(target)
                    if text is not None:
                        texts.add(text)
        return texts

    def _builds_module(self, call: ast.Call, model_classes: dict[str, ast.ClassDef],
                       texts: set[str]) -> bool:
        """`Net()`, `AutoModel.from_pretrained(...)`, `torchvision.models.resnet50()`,
        `DDP(model)`, `model.to(device)` (also `Net().cuda()`)."""
        func = call.func
        while (isinstance(func, ast.Attribute) and func.attr in PASSTHROUGH_METHODS
               and isinstance(func.value, ast.Call)):
            call = func.value
            func = call.func
        if isinstance(func, ast.Attribute) and func.attr in PASSTHROUGH_METHODS:
            return dotted(func.value) in texts
        if isinstance(func, ast.Name) and func.id in model_classes:
            return True
        if isinstance(func, ast.Attribute) and func.attr == "from_pretrained":
            return True
        name = self.script.qualname(func) or ""
        leaf = name.rsplit(".", 1)[-1]
        if name.startswith(("torchvision.models.", "timm.create_model")):
            return True
        if name.startswith("torch.nn.") and leaf[:1].isupper() and not leaf.endswith("Loss"):
            return True
        if name in MODULE_WRAPPERS and call.args:
            wrapped = call.args[0]
            if isinstance(wrapped, ast.Call):
                return self._builds_module(wrapped, model_classes, texts)
            return dotted(wrapped) in texts
        return False

    def module_classes(self) -> dict[str, ast.ClassDef]:
        """Classes of this file that derive from `torch.nn.Module` (directly or through other
        classes of the file)."""
        if self._module_classes is None:
            self._module_classes = self._find_module_classes()
        return self._module_classes

    def _find_module_classes(self) -> dict[str, ast.ClassDef]:
        classes = {node.name: node for node in self.script.classes}
        found: dict[str, ast.ClassDef] = {}
        changed = True
        while changed:
            changed = False
            for name, node in classes.items():
                if name in found:
                    continue
                for base in node.bases:
                    qualname = self.script.qualname(base) or ""
                    if qualname in ("torch.nn.Module", "torch.nn.modules.module.Module") or (
                            qualname.startswith(("lightning", "pytorch_lightning"))
                            and qualname.endswith("LightningModule")) or (
                            isinstance(base, ast.Name) and base.id in found):
                        found[name] = node
                        changed = True
                        break
        return found

    # ------------------------------------------------------------------ events
    def function_events(self, function: ast.AST | None, depth: int = SILENCER_DEPTH) -> list[Event]:
        """What calling `function` runs (None: the module's own code), following calls of
        this file's functions `depth` levels down."""
        key = (id(function) if function is not None else 0, depth)
        cached = self._function_events.get(key)
        if cached is None:
            self._function_events[key] = []  # recursion guard
            direct = self._events_by_function.get(key[0], [])
            cached = list(direct) + self._helper_events(function, depth)
            self._function_events[key] = cached
        return cached

    def _helper_events(self, function: ast.AST | None, depth: int) -> list[Event]:
        if depth <= 0:
            return []
        found: list[Event] = []
        for call in self._calls_by_function().get(id(function) if function is not None else 0, []):
            callee = self.callee(call)
            if callee is None or callee is function:
                continue
            for event in self.function_events(callee, depth - 1):
                found.append(Event(event.kind, event.node, (call, *event.via)))
        return found

    def _calls_by_function(self) -> dict[int, list[ast.Call]]:
        """The calls of this file's own functions, grouped by the function they are in."""
        if self._calls_of is None:
            grouped: dict[int, list[ast.Call]] = {}
            for call in self.script.calls:
                if self.callee(call) is None:
                    continue
                function = self.script.enclosing_function(call)
                grouped.setdefault(id(function) if function is not None else 0, []).append(call)
            self._calls_of = grouped
        return self._calls_of

    def callee(self, call: ast.Call) -> ast.AST | None:
        """The def of this file a call runs, if any."""
        key = id(call)
        if key in self._callees:
            return self._callees[key]
        found = self.script.callee(call)
        if found is None:
            found = self.index.local_function(call)
        found = found if isinstance(found, _DEFS) else None
        self._callees[key] = found
        return found

    def region_events(self, node: ast.AST, depth: int = SILENCER_DEPTH) -> list[Event]:
        """The events of the statements of `node` (a loop, a `with` block), and of the local
        functions they call."""
        function = self.script.enclosing_function(node)
        key = id(function) if function is not None else 0
        events = self._events_by_function.get(key, [])
        positions = self._positions_by_function.get(key, [])
        start, end = _pos(node), _end(node)
        low, high = bisect_left(positions, start), bisect_right(positions, end)
        direct = [event for event in events[low:high] if _within(event.node, start, end)]
        found = list(direct)
        if depth > 0:
            for call in self._calls_by_function().get(key, []):
                if not start <= _pos(call) <= end:
                    continue
                callee = self.callee(call)
                if callee is None or callee is function:
                    continue
                for event in self.function_events(callee, depth - 1):
                    found.append(Event(event.kind, event.node, (call, *event.via)))
        return found

    # ------------------------------------------------------------------ loops
    def _loops(self) -> list[Loop]:
        script = self.script
        nodes: list[ast.AST] = [*script.nodes(ast.For), *script.nodes(ast.AsyncFor)]
        if "while" in script.text:
            nodes += [node for node in script.nodes(ast.While)]
        loops = []
        for node in sorted(nodes, key=_pos):
            function = script.enclosing_function(node)
            loop = Loop(node, function, self.region_events(node), self.owned(node))
            loops.append(loop)
        return loops

    def training_loops(self) -> list[Loop]:
        """Loops that run a backward pass and an optimizer step, innermost ones only: a loop
        is left out where a loop inside it (or one call down) already trains."""
        training = [loop for loop in self.loops if loop.trains]
        inner = []
        for loop in training:
            if not any(other is not loop and self._contains(loop, other) for other in training):
                inner.append(loop)
        return inner

    def all_training_loops(self) -> list[Loop]:
        return [loop for loop in self.loops if loop.trains]

    def _contains(self, outer: Loop, inner: Loop) -> bool:
        """Whether `inner` runs as part of `outer` (nested in it, or in a function it calls)."""
        if inner is outer:
            return False
        if inner.function is outer.function:
            return _within(inner.node, _pos(outer.node), _end(outer.node))
        if inner.function is None:
            return False
        return any(self.callee(call) is inner.function
                   for event in outer.events for call in event.via)

    # ------------------------------------------------------------------ frameworks
    def owned(self, node: ast.AST) -> bool:
        """Inside a method of a class whose methods a framework's own loop calls, or inside
        a pytest test (a check of behaviour, not a training run)."""
        for ancestor in self.script.ancestors(node):
            if isinstance(ancestor, _DEFS) and self._is_test_module and (
                    ancestor.name.startswith("test")):
                return True
            if isinstance(ancestor, ast.ClassDef):
                return self._framework_class(ancestor, 0) or (
                    self._is_test_module and ancestor.name.startswith("Test"))
        return False

    @property
    def _is_test_module(self) -> bool:
        """pytest's own rule for test files: `test_*.py` or `*_test.py`."""
        name = self.script.path.replace("\\", "/").rsplit("/", 1)[-1]
        return name.startswith("test_") or name.endswith("_test.py")

    def _framework_class(self, node: ast.ClassDef, depth: int) -> bool:
        cached = self._owned.get(id(node))
        if cached is not None:
            return cached
        self._owned[id(node)] = False
        result = False
        classes = {cls.name: cls for cls in self.script.classes}
        for base in node.bases:
            qualname = self.script.qualname(base) or ""
            text = dotted(base) or ""
            if qualname.startswith(FRAMEWORK_PREFIXES) or text.rsplit(".", 1)[-1].endswith(
                    FRAMEWORK_BASE_NAMES):
                result = True
            elif isinstance(base, ast.Name) and base.id in classes and depth < 5:
                result = self._framework_class(classes[base.id], depth + 1)
            if result:
                break
        self._owned[id(node)] = result
        return result

    def uses_framework(self, *prefixes: str) -> bool:
        """The script imports one of these packages (any alias)."""
        return any(target.split(".", 1)[0] in prefixes for target in self.script.aliases.values())

    # ------------------------------------------------------------------ autograd
    def grad_state(self, node: ast.AST, depth: int = 0) -> str:
        """Whether autograd records the graph where `node` runs: GRAD_ON, GRAD_OFF, or
        GRAD_UNKNOWN (a run-time switch, or a function with no known caller)."""
        script = self.script
        function = None
        for ancestor in script.ancestors(node):
            if isinstance(ancestor, (ast.With, ast.AsyncWith)):
                for item in ancestor.items:
                    state = self._context_state(item.context_expr)
                    if state is not None:
                        return state
            if isinstance(ancestor, (*_DEFS, ast.Lambda)):
                function = ancestor
                break
            if isinstance(ancestor, ast.ClassDef):
                return GRAD_UNKNOWN
        if function is None:
            return GRAD_UNKNOWN if self.global_grad_switch else GRAD_ON
        if isinstance(function, ast.Lambda):
            return GRAD_UNKNOWN
        return self.function_grad_state(function, depth)

    def function_grad_state(self, function: ast.AST, depth: int = 0) -> str:
        cached = self._grad_cache.get(id(function))
        if cached is not None:
            return cached
        self._grad_cache[id(function)] = GRAD_UNKNOWN  # recursion guard
        state = self._decorator_state(function)
        if state is None:
            state = self._callers_state(function, depth)
        self._grad_cache[id(function)] = state
        return state

    def _decorator_state(self, function: ast.AST) -> str | None:
        for decorator in getattr(function, "decorator_list", ()):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            state = self._grad_call_state(target, decorator)
            if state is not None:
                return state
        for statement in walk_local(function):
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                name = self.script.qualname(statement.value.func) or ""
                if name in SET_GRAD:
                    return GRAD_UNKNOWN
        return None

    def _callers_state(self, function: ast.AST, depth: int) -> str:
        sites = self.call_sites(function)
        if not sites:
            return GRAD_ON if self._is_entry_point(function) else GRAD_UNKNOWN
        if depth >= 3:
            return GRAD_UNKNOWN
        states = set()
        for site in sites:
            if not isinstance(site, ast.Call):
                states.add(GRAD_ON)  # handed to a launcher: a fresh thread or process
                continue
            states.add(self.grad_state(site, depth + 1))
        if GRAD_OFF in states:
            return GRAD_OFF
        if GRAD_UNKNOWN in states:
            return GRAD_UNKNOWN
        return GRAD_ON

    def _is_entry_point(self, function: ast.AST) -> bool:
        for decorator in getattr(function, "decorator_list", ()):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            text = (dotted(target) or "").rsplit(".", 1)[-1]
            if text in ENTRY_DECORATORS:
                return True
        return False

    def _context_state(self, expr: ast.expr, follow: bool = True) -> str | None:
        """What a `with` item does to autograd: GRAD_OFF, GRAD_ON, GRAD_UNKNOWN, or None
        (nothing: `autocast`, `open(...)`)."""
        if isinstance(expr, ast.Call):
            state = self._grad_call_state(expr.func, expr)
            if state is not None:
                return state
        if isinstance(expr, (ast.IfExp, ast.BoolOp)):
            states = {self._context_state(part, follow) for part in ast.iter_child_nodes(expr)
                      if isinstance(part, ast.expr)}
            return GRAD_UNKNOWN if states - {None} else None
        if follow and isinstance(expr, (ast.Name, ast.Attribute)):
            value = self.script.value_of(expr)
            if value is not None and value is not expr:
                return self._context_state(value, follow=False)
        text = self.script.source(expr).lower()
        if "grad" in text or "inference" in text:
            return GRAD_UNKNOWN
        return None

    def _grad_call_state(self, func: ast.expr, node: ast.AST) -> str | None:
        name = self.script.qualname(func) or ""
        attr = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in NO_GRAD or attr in ("no_grad", "inference_mode"):
            if isinstance(node, ast.Call) and (node.args or node.keywords):
                mode = node.args[0] if node.args else node.keywords[0].value
                literal = self.script.literal(mode)
                if literal is False:
                    return GRAD_ON
                if literal is not True:
                    return GRAD_UNKNOWN
            return GRAD_OFF
        if name in ENABLE_GRAD or attr == "enable_grad":
            return GRAD_ON
        if name in SET_GRAD or attr == "set_grad_enabled":
            if isinstance(node, ast.Call) and node.args:
                literal = self.script.literal(node.args[0])
                if literal is False:
                    return GRAD_OFF
                if literal is True:
                    return GRAD_ON
            return GRAD_UNKNOWN
        text = (dotted(func) or "").lower()
        if "no_grad" in text or "inference" in text or "grad" in text.rsplit(".", 1)[-1]:
            return GRAD_UNKNOWN
        return None

    def call_sites(self, function: ast.AST) -> list[ast.AST]:
        """Where this file runs `function`: its calls, and the places that hand it to a
        launcher (`mp.spawn(main_worker, ...)`, `fire.Fire(main)`)."""
        if self._call_sites is None:
            sites: dict[int, list[ast.AST]] = {}
            for call in self.script.calls:
                callee = self.callee(call)
                if callee is not None:
                    sites.setdefault(id(callee), []).append(call)
                launcher = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(
                    call.func, "id", "")
                if launcher in LAUNCHERS:
                    for argument in (*call.args, *(k.value for k in call.keywords)):
                        if isinstance(argument, ast.Name):
                            binding = self.script.binding_of(argument)
                            if binding is not None and binding.kind == "def":
                                sites.setdefault(id(binding.node), []).append(argument)
            self._call_sites = sites
        return self._call_sites.get(id(function), [])

    # ------------------------------------------------------------------ loop questions
    def loop_target(self, loop: Loop) -> ast.expr | None:
        """What a `for` loop iterates, without `enumerate(...)`, `tqdm(...)`, `iter(...)`."""
        node = loop.node
        if isinstance(node, ast.While):
            return None
        iterator = node.iter
        for _ in range(4):
            if isinstance(iterator, ast.Call) and iterator.args:
                name = dotted(iterator.func) or ""
                if name.rsplit(".", 1)[-1] in ("enumerate", "tqdm", "iter", "trange", "list",
                                               "progress_bar", "track", "Bar", "islice"):
                    iterator = iterator.args[0]
                    continue
            break
        if isinstance(iterator, (ast.Name, ast.Attribute)):
            value = self.script.value_of(iterator)
            if isinstance(value, ast.Call) and value.args and (
                    (dotted(value.func) or "").rsplit(".", 1)[-1] in ("tqdm", "enumerate", "iter")):
                return value.args[0]
        return iterator

    def iterates_loader(self, loop: Loop) -> bool:
        """The loop iterates a DataLoader (built here) or something named as batches are."""
        target = self.loop_target(loop)
        if target is None:
            return False
        made = self.script.constructor(target) if isinstance(target, (ast.Name, ast.Attribute, ast.Call)) else None
        if made and made.startswith("torch.utils.data") and made.endswith("DataLoader"):
            return True
        text = dotted(target) or self.script.source(target)
        return has_word(text, LOADER_WORDS) or any(
            word in text.lower() for word in ("loader", "_dl", "batches"))

    def dataloader_call(self, expr: ast.AST | None, depth: int = 0) -> ast.Call | None:
        """The `DataLoader(...)` call that made the object `expr` holds: through names,
        `self.x`, local functions' returns, and the arguments callers pass for a parameter."""
        if expr is None or depth > 3:
            return None
        script = self.script
        made = script.origin(expr)
        if isinstance(made, ast.Call):
            name = script.qualname(made.func) or ""
            if name.startswith("torch.utils.data") and name.endswith("DataLoader"):
                return made
            return None
        if isinstance(made, ast.Name):
            binding = script.binding_of(made)
            if binding is not None and binding.kind == "param":
                function = script.parent(binding.node)
                found = None
                for site in self.call_sites(function):
                    if not isinstance(site, ast.Call):
                        return None
                    argument = argument_for(site, function, made.id)
                    call = self.dataloader_call(argument, depth + 1)
                    if call is None or (found is not None and call is not found):
                        return None
                    found = call
                return found
        return None

    def forwards(self, loop: Loop, depth: int = SHAPE_DEPTH,
                 generate: bool = False) -> list[Event]:
        kinds = (FORWARD, GENERATE) if generate else (FORWARD,)
        return loop.of(*kinds, depth=depth)

    def is_training_helper(self, function: ast.AST | None) -> bool:
        """A function that runs a backward pass, or whose result a backward pass uses
        (`loss = compute_loss(model, batch)` then `loss.backward()`)."""
        if function is None:
            return False
        if any(e.kind in (BACKWARD, STEP, GRAD_NEEDED) for e in self.function_events(function)):
            return True
        for site in self.call_sites(function):
            if isinstance(site, ast.Call) and self._feeds_backward(site):
                return True
        return False

    def _feeds_backward(self, call: ast.Call) -> bool:
        caller = self.script.enclosing_function(call)
        backward = [e.node for e in self._events_by_function.get(
            id(caller) if caller is not None else 0, []) if e.kind == BACKWARD]
        if not backward:
            return False
        names: set[str] = set()
        statement: ast.AST | None = call
        while statement is not None and not isinstance(statement, ast.stmt):
            statement = self.script.parent(statement)
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        names.add(node.id)
        for node in backward:
            if _within(call, _pos(node), _end(node)):
                return True
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if used & names:
                return True
        return False

    def evaluation_evidence(self, loop: Loop) -> set[str]:
        """Why a loop looks like evaluation: "no_grad" (autograd off at its forwards), "eval"
        (`.eval()` before it in its function), "metrics", "named" (a validation word in the
        function's or the iterable's name), "after_training" (called after training steps).
        Empty for a loop that trains, wants gradients or runs no model."""
        if loop.has(BACKWARD, STEP, GRAD_NEEDED) or loop.owned:
            return set()
        forwards = self.forwards(loop, generate=True)
        if not forwards:
            return set()
        if self.is_training_helper(loop.function):
            return set()
        evidence: set[str] = set()
        if all(self.grad_state(event.node) == GRAD_OFF for event in forwards):
            evidence.add("no_grad")
        if self.eval_before(loop):
            evidence.add("eval")
        if loop.has(METRIC, depth=SHAPE_DEPTH):
            evidence.add("metrics")
        target = self.loop_target(loop)
        name = getattr(loop.function, "name", "")
        if has_word(name, VALIDATION_WORDS) or (
                target is not None and has_word(dotted(target), VALIDATION_WORDS)):
            evidence.add("named")
        if loop.function is not None and self._called_after_training(loop.function):
            evidence.add("after_training")
        return evidence

    def is_evaluation(self, loop: Loop, evidence: set[str] | None = None) -> bool:
        """Autograd off or `.eval()` before it, or metrics with a name or call site that
        says validation; and the loop iterates batches."""
        if evidence is None:
            evidence = self.evaluation_evidence(loop)
        if not evidence or not self.iterates_loader(loop):
            return False
        if "no_grad" in evidence or "eval" in evidence:
            return True
        return "metrics" in evidence and bool(evidence & {"named", "after_training"})

    def eval_before(self, loop: Loop) -> list[Event]:
        """`.eval()` (or `.train(False)`) in the loop's function before the loop, or in it."""
        events = self.function_events(loop.function, depth=SILENCER_DEPTH)
        start = _pos(loop.node)
        end = _end(loop.node)
        found = []
        for event in events:
            if event.kind != EVAL:
                continue
            where = _pos(event.outer)
            if where < start or _within(event.outer, start, end):
                found.append(event)
        return found

    def _called_after_training(self, function: ast.AST) -> bool:
        for site in self.call_sites(function):
            if not isinstance(site, ast.Call):
                continue
            for loop in self.loops:
                if not _within(site, _pos(loop.node), _end(loop.node)):
                    continue
                for event in loop.events:
                    if event.kind == STEP and event.depth <= 2 and _pos(event.outer) < _pos(site):
                        return True
        return False

    def loops_containing(self, node: ast.AST) -> list[Loop]:
        """Loops of the same function whose body holds `node`, innermost first."""
        found = [loop for loop in self.loops
                 if loop.node is not node and _within(node, _pos(loop.node), _end(loop.node))
                 and self.script.enclosing_function(node) is loop.function]
        return sorted(found, key=lambda loop: _pos(loop.node), reverse=True)


    # ------------------------------------------------------------------ models
    def model_expression(self, event: Event) -> ast.expr | None:
        """The model a forward event runs, as an expression of the loop's own function:
        `model` in `model(x)`, or the argument a helper call passes for it."""
        call = event.node
        if not isinstance(call, ast.Call):
            return None
        func = call.func
        expr: ast.expr = func.value if (isinstance(func, ast.Attribute) and func.attr in (
            "forward", "generate")) else func
        for outer in reversed(event.via):
            callee = self.callee(outer)
            text = dotted(expr)
            if callee is None or text is None:
                return None
            root = text.split(".", 1)[0]
            if root in ("self", "cls"):
                if isinstance(outer.func, ast.Attribute) and dotted(outer.func.value) in ("self", "cls"):
                    expr = _with_root(expr, outer.func.value)
                    continue
                return None
            argument = argument_for(outer, callee, root)
            if argument is None:
                return None
            expr = _with_root(expr, argument)
        return expr

    def train_mode_layers(self, expr: ast.AST | None, depth: int = 0) -> str | None:
        """What makes the model `expr` holds behave differently in train mode ("dropout",
        "batch norm", "a torchvision resnet50"), read from where it was built in this file;
        None when unknown or when it has none. A Hugging Face `from_pretrained` model starts
        in eval mode and its dropout comes from its config: unknown."""
        if expr is None or depth > 3:
            return None
        script = self.script
        made = script.origin(expr)
        if isinstance(made, ast.Name):
            binding = script.binding_of(made)
            if binding is None or binding.kind != "param":
                return None
            function = script.parent(binding.node)
            found = None
            for site in self.call_sites(function) if function is not None else ():
                if not isinstance(site, ast.Call):
                    return None
                layers = self.train_mode_layers(argument_for(site, function, made.id), depth + 1)
                if layers is None:
                    return None
                found = layers
            return found
        if not isinstance(made, ast.Call):
            return None
        func = made.func
        name = script.qualname(func) or ""
        if name in MODULE_WRAPPERS and made.args:
            return self.train_mode_layers(made.args[0], depth + 1)
        if name.startswith("torchvision.models."):
            leaf = name.rsplit(".", 1)[-1].lower()
            if leaf.startswith(TORCHVISION_TRAIN_MODE) or ".detection." in name or (
                    ".segmentation." in name):
                return f"torchvision {leaf}: batch norm or dropout"
            return None
        if name == "torch.nn.Sequential":
            for argument in made.args:
                found = self._layer_in(argument)
                if found:
                    return found
            return None
        if isinstance(func, ast.Name):
            cls = self.module_classes().get(func.id)
            if cls is not None:
                return self.class_layers(cls)
        return None

    def class_layers(self, cls: ast.ClassDef, depth: int = 0) -> str | None:
        """Dropout or batch norm built by a Module class of this file (or by the classes of
        this file it builds or derives from)."""
        key = ("layers", id(cls))
        if key in self._layer_cache:
            return self._layer_cache[key]
        self._layer_cache[key] = None
        found = None
        classes = self.module_classes()
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id in classes and depth < 4:
                found = self.class_layers(classes[base.id], depth + 1)
                if found:
                    break
        if not found:
            for call in self.script.calls:
                if not _within(call, _pos(cls), _end(cls)):
                    continue
                found = self._layer_in(call)
                if not found and isinstance(call.func, ast.Name) and call.func.id in classes and (
                        classes[call.func.id] is not cls and depth < 4):
                    found = self.class_layers(classes[call.func.id], depth + 1)
                if found:
                    break
        self._layer_cache[key] = found
        return found

    def _layer_in(self, node: ast.AST) -> str | None:
        if not isinstance(node, ast.Call):
            return None
        name = self.script.qualname(node.func) or ""
        leaf = name.rsplit(".", 1)[-1]
        if not name.startswith("torch.nn."):
            return None
        if "Dropout" in leaf:
            return "dropout"
        if "BatchNorm" in leaf:
            return "batch norm"
        if leaf in ("TransformerEncoderLayer", "TransformerDecoderLayer", "Transformer"):
            dropout = self.script.argument(node, None, "dropout")
            return "dropout" if dropout is None or _positive(self.script.literal(dropout)) else None
        if leaf in ("MultiheadAttention", "LSTM", "GRU", "RNN") or leaf.startswith("dropout"):
            dropout = self.script.argument(node, None, "dropout")
            if leaf.startswith("dropout"):
                dropout = self.script.argument(node, None, "training")
                return "dropout" if dropout is not None else None
            return "dropout" if dropout is not None and _positive(self.script.literal(dropout)) else None
        return None

    def mode_free(self, expr: ast.AST | None, depth: int = 0) -> bool:
        """Whether the model `expr` holds is known to behave the same in train and eval mode:
        built here from torch layers (and classes of this file) none of which has dropout,
        batch norm or code that reads `self.training`. False when unknown."""
        if expr is None or depth > 3:
            return False
        made = self.script.origin(expr)
        if isinstance(made, ast.Name):
            binding = self.script.binding_of(made)
            function = self.script.parent(binding.node) if binding is not None and (
                binding.kind == "param") else None
            sites = self.call_sites(function) if function is not None else []
            return bool(sites) and all(
                isinstance(site, ast.Call)
                and self.mode_free(argument_for(site, function, made.id), depth + 1)
                for site in sites)
        return isinstance(made, ast.Call) and self._constructor_free(made, depth)

    def _constructor_free(self, call: ast.Call, depth: int) -> bool:
        name = self.script.qualname(call.func) or ""
        leaf = name.rsplit(".", 1)[-1]
        if name in MODULE_WRAPPERS and call.args:
            return self.mode_free(call.args[0], depth + 1)
        if name in ("torch.nn.Sequential", "torch.nn.ModuleList"):
            items = call.args[0].elts if (name.endswith("ModuleList") and call.args and isinstance(
                call.args[0], (ast.List, ast.Tuple))) else call.args
            return all(isinstance(item, ast.Call) and self._constructor_free(item, depth + 1)
                       for item in items)
        if name.startswith("torch.nn.") and leaf[:1].isupper():
            return self._layer_in(call) is None and leaf not in MODE_DEPENDENT_LAYERS
        if isinstance(call.func, ast.Name):
            cls = self.module_classes().get(call.func.id)
            return cls is not None and self._class_free(cls, depth + 1)
        return False

    def _class_free(self, cls: ast.ClassDef, depth: int) -> bool:
        key = ("free", id(cls))
        if key in self._layer_cache:
            return bool(self._layer_cache[key])
        self._layer_cache[key] = None
        free = depth <= 4 and "training" not in self.script.source(cls)
        classes = self.module_classes()
        for base in cls.bases if free else ():
            qualname = self.script.qualname(base) or ""
            if isinstance(base, ast.Name) and base.id in classes:
                free = self._class_free(classes[base.id], depth + 1)
            elif qualname not in ("torch.nn.Module", "torch.nn.modules.module.Module"):
                free = False
            if not free:
                break
        for node in ast.walk(cls) if free else ():
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            if not any(isinstance(t, ast.Attribute) and dotted(t.value) == "self"
                       for t in node.targets):
                continue
            value = node.value
            name = self.script.qualname(value.func) or ""
            if name.startswith(("math.", "numpy.")) or (
                    name.startswith("torch.") and not name.startswith("torch.nn.")) or (
                    name in ("torch.nn.Parameter", "torch.nn.parameter.Parameter")):
                continue
            if not self._constructor_free(value, depth + 1):
                free = False
                break
        self._layer_cache[key] = "free" if free else ""
        return free

    def mode_set_before(self, function: ast.AST | None, position: Position,
                        container: ast.AST | None = None) -> bool:
        """Whether something may put a model in eval mode (or choose its mode at run time)
        in `function` before `position`, or anywhere in `container` (a loop that repeats)."""
        for event in self.function_events(function):
            if event.kind not in (EVAL, TRAIN_MAYBE):
                continue
            where = event.outer
            if _pos(where) < position or (
                    container is not None and _within(where, _pos(container), _end(container))):
                return True
        start = (0, 0) if function is None else _pos(function)
        for call in self.script.calls:
            if not start <= _pos(call) < position or self.script.enclosing_function(call) is not function:
                continue
            text = (dotted(call.func) or "").rsplit(".", 1)[-1].lower()
            if ("eval" in text and self.callee(call) is None) or text in ("apply", "freeze"):
                return True
        return False


def argument_for(call: ast.Call, function: ast.AST, name: str) -> ast.expr | None:
    """The argument a call passes for parameter `name` of `function`."""
    args = function.args  # type: ignore[attr-defined]
    positional = [arg.arg for arg in (*args.posonlyargs, *args.args)]
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if name not in positional:
        return None
    number = positional.index(name)
    if positional[:1] in (["self"], ["cls"]) and isinstance(call.func, ast.Attribute):
        number -= 1
    if any(isinstance(arg, ast.Starred) for arg in call.args[:number + 1]):
        return None
    return call.args[number] if 0 <= number < len(call.args) else None


def map_text(model: LoopModel, text: str | None, via: tuple[ast.Call, ...]) -> str | None:
    """A dotted name as seen in a helper (`model` in `evaluate(model, loader)`), as the
    caller of the first call in `via` writes it (`net` for `evaluate(net, val_loader)`)."""
    if text is None:
        return None
    for call in reversed(via):
        callee = model.callee(call)
        if callee is None:
            return None
        root, _, rest = text.partition(".")
        if root in ("self", "cls"):
            if isinstance(call.func, ast.Attribute) and dotted(call.func.value) in ("self", "cls"):
                continue
            return None
        argument = argument_for(call, callee, root)
        if argument is None:
            params = {a.arg for a in (*callee.args.posonlyargs, *callee.args.args,
                                      *callee.args.kwonlyargs)}
            if root in params:
                return None
            continue  # a global of the module: the same name at the call
        base = dotted(argument)
        if base is None:
            return None
        text = f"{base}.{rest}" if rest else base
    return text


def receiver_text(call: ast.AST) -> str | None:
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
        return dotted(call.func.value)
    return None


def _with_root(expr: ast.expr, root: ast.expr) -> ast.expr:
    """`model.encoder` with `model` replaced by `root` (a new node, positioned at `root`)."""
    if isinstance(expr, ast.Name):
        return root
    if isinstance(expr, ast.Attribute):
        node = ast.Attribute(value=_with_root(expr.value, root), attr=expr.attr, ctx=ast.Load())
        return ast.copy_location(node, root)
    return expr


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _within(node: ast.AST, start: Position, end: Position) -> bool:
    return start <= _pos(node) and _end(node) <= end


def _is_grad_attribute(node: ast.AST) -> bool:
    """`p.grad`, `p.grad.data`, `param.grad`: a gradient tensor."""
    while isinstance(node, ast.Attribute):
        if node.attr == "grad":
            return True
        node = node.value
    return False


def _clears_by_name(name: str) -> bool:
    lowered = name.lower()
    return "zero_grad" in lowered or ("grad" in lowered and any(
        word in lowered for word in ("clear", "reset", "zero")))


def _train_kind(call: ast.Call) -> str:
    if not call.args and not call.keywords:
        return TRAIN
    value = call.args[0] if call.args else call.keywords[0].value
    if isinstance(value, ast.Constant):
        if value.value is True:
            return TRAIN
        if value.value is False:
            return EVAL
    return TRAIN_MAYBE


def _literal_true_or_absent(call: ast.Call) -> bool:
    if not call.args and not call.keywords:
        return True
    value = call.args[0] if call.args else call.keywords[0].value
    return not (isinstance(value, ast.Constant) and value.value is False)


def _names_a_loss(text: str | None) -> bool:
    """`criterion(out, y)`, `loss_fn(...)`, `self.ce_loss(...)`: a loss computed."""
    if not text:
        return False
    leaf = text.rsplit(".", 1)[-1].lower()
    return "crit" in leaf or leaf.startswith("loss") or leaf.endswith("loss")


def _counts_matches(node: ast.Compare) -> bool:
    """`pred == y` / `preds.eq(labels)` counted (inside `.sum()`, `.mean()`, `sum(...)`)."""
    if len(node.ops) != 1 or not isinstance(node.ops[0], ast.Eq):
        return False
    sides = (node.left, node.comparators[0])
    return not any(isinstance(side, ast.Constant) for side in sides)


# `torch.autograd.backward(tensors)` is a backward pass too.
AUTOGRAD_BACKWARD = frozenset({"torch.autograd.backward"})


def loop_model(script: ParsedScript) -> LoopModel:
    """The (cached) loop model of a script: every TL7xx rule of one file shares one."""
    return script.derived(loop_model, LoopModel)

