"""A parsed Python script for rules: the `ast`, spans in characters, and name resolution.

Nothing here imports or runs the script. `qualname(node)` resolves `T.load` (`import torch as
T`), `tl` (`from torch import load as tl`), `lr_scheduler.LinearLR`, star imports of the
modules training scripts star-import, and plain aliases (`load_fn = torch.load`) to
`torch.load` / `torch.optim.lr_scheduler.LinearLR`. Resolution follows Python's scopes: a
name bound locally (a `def load`, a parameter, an assignment) is not the import of the same
name, and a class body does not leak into its methods.

Variables are tracked within a function, a module, or (for `self.x`) a class:
`value_of(expr)` gives the expression last bound to a name or attribute before the place it
is used, `origin(expr)` follows such bindings (and `.to(device)`-like calls) back to where
the object was made, and `constructor(expr)` names the callable that made it
(`criterion` -> `torch.nn.CrossEntropyLoss`, `self.scheduler` -> `...ReduceLROnPlateau`).

The scope index is built lazily, on the first question a rule (or the argparse reader of
`trainlint.formats.python.declared_config`) asks, so files that no rule's needles match cost
only `ast.parse`.

Why one module (over 800 lines): `ParsedScript`'s questions (`qualname`, `value_of`, `origin`,
`constructor`) and the scope index they read (`_Indexer`) are one structure, built lazily on
the first question; the indexer has no other user, and each half reads the other's state.
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from msgspec import Struct, field

from trainlint.records import Sentinel
from trainlint.text import LineIndex, Span

# Names a `from X import *` brings in, for the modules training scripts star-import.
STAR_EXPORTS: dict[str, tuple[str, ...]] = {
    "torch.optim.lr_scheduler": (
        "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
        "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler",
        "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
        "PolynomialLR", "LRScheduler",
    ),
    "torch.nn": (
        "CrossEntropyLoss", "CTCLoss", "KLDivLoss", "NLLLoss", "Softmax", "LogSoftmax",
        "Linear", "GRU", "LSTM", "RNN", "Sequential", "Module", "Conv1d", "Conv2d",
        "Transformer", "TransformerEncoder", "TransformerEncoderLayer", "TransformerDecoder",
        "TransformerDecoderLayer", "MultiheadAttention", "BCEWithLogitsLoss", "MSELoss",
    ),
    "torch.nn.functional": (
        "cross_entropy", "ctc_loss", "kl_div", "nll_loss", "softmax", "log_softmax",
        "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss",
    ),
    "torch": ("load", "save", "autocast", "softmax", "log_softmax", "float16", "bfloat16",
              "half"),
    "torch.cuda.amp": ("autocast", "GradScaler", "custom_fwd", "custom_bwd"),
    "torch.amp": ("autocast", "GradScaler"),
    "torch.utils.checkpoint": ("checkpoint", "checkpoint_sequential"),
}

# Public names that are the same object under another module path.
CANONICAL_NAMES: dict[str, str] = {
    "torch.serialization.load": "torch.load",
    "torch.serialization.save": "torch.save",
    "torch.amp.autocast_mode.autocast": "torch.amp.autocast",
    "torch.cuda.amp.autocast_mode.autocast": "torch.cuda.amp.autocast",
    "torch.amp.grad_scaler.GradScaler": "torch.amp.GradScaler",
    "torch.cuda.amp.grad_scaler.GradScaler": "torch.cuda.amp.GradScaler",
    "torch.optim.lr_scheduler.LRScheduler": "torch.optim.lr_scheduler.LRScheduler",
}
_NN_MODULES_PREFIX = "torch.nn.modules."

# Calls that hand back the same object (modules) or the same values (tensors, reshaped).
PASSTHROUGH_METHODS = frozenset({
    "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "contiguous", "transpose",
    "permute", "train", "eval", "requires_grad_", "detach", "clone", "view", "reshape",
    "squeeze", "unsqueeze", "type", "type_as", "flatten", "swapaxes", "movedim",
})

_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPE_TYPES = frozenset(_SCOPE_NODES)
# statement and expression kinds the index lists, for rules that look for all of them
INDEXED_TYPES = (ast.BinOp, ast.AugAssign, ast.If, ast.Assign, ast.Return, ast.Compare, ast.While,
                 ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.FunctionDef,
                 ast.AsyncFunctionDef, ast.ClassDef)
_BINDING_TYPES = frozenset({
    ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr,
    ast.For, ast.AsyncFor, ast.withitem, ast.ExceptHandler, ast.Global, ast.MatchAs,
    ast.MatchStar, ast.MatchMapping,
})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

# Fields that never hold a child worth visiting: identifiers, flags and numbers, and the context
# and operator singletons (`Load`, `Add`) that every expression of a kind shares. (Not `name`:
# a string mostly, but the Name of a `type X = ...` statement in Python 3.12.)
_NOT_CHILD_FIELDS = frozenset({
    "arg", "asname", "attr", "conversion", "ctx", "id", "is_async", "kind", "kwd_attrs", "level",
    "lineno", "module", "n", "op", "ops", "s", "simple", "tag", "type_comment",
})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: (), ast.Name: ()}

Position = tuple[int, int]


def child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that can hold child nodes."""
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(
            name for name in kind._fields if name not in _NOT_CHILD_FIELDS)
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """The children `ast.iter_child_nodes` gives, in its order, less the context and operator
    singletons; a few times faster (the fields to read are worked out once per node type)."""
    children: list[ast.AST] = []
    for name in child_fields(type(node)):
        value = getattr(node, name, None)
        if type(value) is list:
            for item in value:
                if isinstance(item, ast.AST):
                    children.append(item)
        elif isinstance(value, ast.AST):
            children.append(value)
    return children


def called_name(call: ast.Call) -> str | None:
    """The called name's last part: `f` of `f(...)` and of `obj.f(...)`."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def dotted(node: ast.AST) -> str | None:
    """`self.scheduler` -> "self.scheduler"; None for anything but a chain of names."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def walk_breadth_first(root: ast.AST) -> Iterator[ast.AST]:
    """The nodes `ast.walk` gives, in its (breadth-first) order, less the context and operator
    singletons."""
    queue = [root]
    for node in queue:  # the list grows while it is read
        yield node
        queue.extend(child_nodes(node))


class Binding(Struct, eq=False):
    """One place that binds a name: an import, assignment, parameter, def, loop target, ..."""

    name: str
    kind: str  # import, assign, augassign, param, def, class, target
    node: ast.AST  # the statement (or arg / alias) that binds
    pos: Position  # where the binding takes effect
    value: ast.expr | None = None  # the right-hand side of a single-name assignment, or a default
    qualname: str | None = None  # what an import binds


class Scope(Struct, eq=False):
    """A module, function, lambda, class body or comprehension, with what it binds."""

    node: ast.AST
    kind: str  # module, function, class, comprehension
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    self_name: str | None = None  # the first parameter of a method
    owner: Scope | None = None  # the class scope of a method
    # class scopes only: `self.x = value` anywhere in the class's methods
    attributes: dict[str, list[Binding]] = field(default_factory=dict)

    def bind(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)


def _start(node: ast.AST) -> Position:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _end(node: ast.AST) -> Position:
    return (getattr(node, "end_lineno", None) or getattr(node, "lineno", 0),
            getattr(node, "end_col_offset", None) or getattr(node, "col_offset", 0))


def _binding_order(binding: Binding) -> Position:
    return binding.pos


def _target_names(target: ast.AST) -> Iterator[ast.Name]:
    if isinstance(target, ast.Name):
        yield target
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


class _Indexer:
    """One iterative pass over the tree: parents, scopes, bindings and calls."""

    def __init__(self, script: ParsedScript) -> None:
        self.tree = script.tree
        self.module = Scope(script.tree, "module", None)
        # Parents and scopes by node id, not as attributes on the nodes: a child that pointed
        # back at its parent would make every tree a reference cycle, freed only by a full
        # garbage collection that walks every node (half the run's time on a large project).
        self.parents: dict[int, ast.AST | None] = {}
        self.scope_by_node: dict[int, Scope] = {}
        self.scopes: dict[int, Scope] = {id(script.tree): self.module}
        self.calls: list[ast.Call] = []
        self.by_type: dict[type, list[ast.AST]] = {kind: [] for kind in INDEXED_TYPES}

    def run(self) -> None:
        stack: list[tuple[ast.AST, ast.AST | None, Scope]] = [(self.tree, None, self.module)]
        parents, scope_by_node = self.parents, self.scope_by_node
        pop, push = stack.pop, stack.append
        calls = self.calls
        by_type = self.by_type
        fields_of = _CHILD_FIELDS.get
        name_type, constant_type = ast.Name, ast.Constant
        attribute_type, call_type = ast.Attribute, ast.Call
        node_type = ast.AST
        while stack:
            node, parent, scope = pop()
            key = id(node)
            parents[key] = parent
            scope_by_node[key] = scope
            kind = type(node)
            if kind is name_type or kind is constant_type:
                continue
            if kind is attribute_type:
                push((node.value, node, scope))
                continue
            if kind is call_type:
                calls.append(node)
            elif kind in _SCOPE_TYPES:
                listed = by_type.get(kind)
                if listed is not None:
                    listed.append(node)
                self._enter_scope(node, scope, push)
                continue
            else:
                if kind in _BINDING_TYPES:
                    self._bind(node, scope)
                listed = by_type.get(kind)
                if listed is not None:
                    listed.append(node)
            # Names and constants (a third of all nodes) have no children: their parent and
            # scope are set here instead of a round trip through the stack.
            for field_name in fields_of(kind) or child_fields(kind):
                value = getattr(node, field_name, None)
                if type(value) is list:
                    for child in reversed(value):
                        child_kind = type(child)
                        if child_kind is name_type or child_kind is constant_type:
                            key = id(child)
                            parents[key] = node
                            scope_by_node[key] = scope
                        elif isinstance(child, node_type):
                            push((child, node, scope))
                elif value is not None:
                    child_kind = type(value)
                    if child_kind is name_type or child_kind is constant_type:
                        key = id(value)
                        parents[key] = node
                        scope_by_node[key] = scope
                    elif isinstance(value, node_type):
                        push((value, node, scope))
        calls.sort(key=_start)
        for listed in by_type.values():
            listed.sort(key=_start)
        for scope in self.scopes.values():
            for bindings in (*scope.bindings.values(), *scope.attributes.values()):
                bindings.sort(key=_binding_order)

    def _new_scope(self, node: ast.AST, kind: str, parent: Scope) -> Scope:
        scope = Scope(node, kind, parent)
        self.scopes[id(node)] = scope
        return scope

    def _enter_scope(self, node: ast.AST, outer: Scope, push) -> None:
        if isinstance(node, ast.ClassDef):
            outer.bind(Binding(node.name, "class", node, _start(node)))
            inner = self._new_scope(node, "class", outer)
            outside = [*node.decorator_list, *node.bases, *node.keywords]
            inside = node.body
        elif isinstance(node, _COMPREHENSIONS):
            inner = self._new_scope(node, "comprehension", outer)
            outside = []
            inside = [getattr(node, name) for name in ("elt", "key", "value") if hasattr(node, name)]
            for number, generator in enumerate(node.generators):
                self.parents[id(generator)] = node
                self.scope_by_node[id(generator)] = inner
                for name in _target_names(generator.target):
                    inner.bind(Binding(name.id, "target", generator, _start(node)))
                for child in (generator.target, *generator.ifs):
                    push((child, generator, inner))
                push((generator.iter, generator, outer if number == 0 else inner))
        else:
            if not isinstance(node, ast.Lambda):
                outer.bind(Binding(node.name, "def", node, _start(node)))
            inner = self._new_scope(node, "function", outer)
            args = node.args
            outside = [*getattr(node, "decorator_list", ()), *args.defaults,
                       *(d for d in args.kw_defaults if d is not None)]
            returns = getattr(node, "returns", None)
            if returns is not None:
                outside.append(returns)
            params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
            if args.vararg:
                params.append(args.vararg)
            if args.kwarg:
                params.append(args.kwarg)
            defaults: dict[int, ast.expr] = {}
            positional_params = [*args.posonlyargs, *args.args]
            for param, default in zip(positional_params[len(positional_params) - len(args.defaults):],
                                      args.defaults):
                defaults[id(param)] = default
            for param, default in zip(args.kwonlyargs, args.kw_defaults):
                if default is not None:
                    defaults[id(param)] = default
            for param in params:
                inner.bind(Binding(param.arg, "param", param, _start(node), defaults.get(id(param))))
                self.parents[id(param)] = node
                self.scope_by_node[id(param)] = inner
                if param.annotation is not None:
                    outside.append(param.annotation)
            positional = [*args.posonlyargs, *args.args]
            if outer.kind == "class" and positional and not self._is_static(node):
                inner.self_name = positional[0].arg
                inner.owner = outer
            inside = node.body if isinstance(node.body, list) else [node.body]
        for child in reversed(inside):
            push((child, node, inner))
        for child in reversed(outside):
            push((child, node, outer))

    @staticmethod
    def _is_static(node: ast.AST) -> bool:
        for decorator in getattr(node, "decorator_list", ()):
            if isinstance(decorator, ast.Name) and decorator.id in ("staticmethod", "classmethod"):
                return True
        return False

    def _bind(self, node: ast.AST, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.bind(Binding(alias.asname, "import", node, _end(node), None, alias.name))
                else:
                    top = alias.name.split(".", 1)[0]
                    scope.bind(Binding(top, "import", node, _end(node), None, top))
        elif isinstance(node, ast.ImportFrom):
            if not node.module or node.level:
                for alias in node.names:
                    if alias.name != "*":
                        scope.bind(Binding(alias.asname or alias.name, "target", node, _end(node)))
                return
            for alias in node.names:
                if alias.name == "*":
                    for name in STAR_EXPORTS.get(node.module, ()):
                        scope.bind(Binding(name, "import", node, _end(node), None,
                                           f"{node.module}.{name}"))
                else:
                    scope.bind(Binding(alias.asname or alias.name, "import", node, _end(node),
                                       None, f"{node.module}.{alias.name}"))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(target, node, node.value, scope, "assign")
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self._bind_target(node.target, node, node.value, scope, "assign")
        elif isinstance(node, ast.AugAssign):
            self._bind_target(node.target, node, None, scope, "augassign")
        elif isinstance(node, ast.NamedExpr):
            target_scope = scope
            while target_scope.kind == "comprehension" and target_scope.parent is not None:
                target_scope = target_scope.parent
            self._bind_target(node.target, node, node.value, target_scope, "assign")
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self._bind_target(node.target, node.target, None, scope, "target")
        elif isinstance(node, ast.withitem):
            if node.optional_vars is not None:
                self._bind_target(node.optional_vars, node.optional_vars, None, scope, "target")
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                scope.bind(Binding(node.name, "target", node, _start(node)))
        elif isinstance(node, ast.Global):
            scope.globals.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)):
            if node.name:
                scope.bind(Binding(node.name, "target", node, _start(node)))
        elif isinstance(node, ast.MatchMapping):
            if node.rest:
                scope.bind(Binding(node.rest, "target", node, _start(node)))

    def _bind_target(self, target: ast.AST, node: ast.AST, value: ast.expr | None,
                     scope: Scope, kind: str) -> None:
        pos = _end(node)
        if isinstance(target, ast.Name):
            scope.bind(Binding(target.id, kind, node, pos, value))
            return
        if isinstance(target, ast.Attribute):
            owner = self._method_owner(scope, target)
            if owner is not None:
                owner.attributes.setdefault(target.attr, []).append(
                    Binding(target.attr, kind, node, pos, value))
            return
        for name in _target_names(target):
            scope.bind(Binding(name.id, "target" if kind == "assign" else kind, node, pos))

    @staticmethod
    def _method_owner(scope: Scope, target: ast.Attribute) -> Scope | None:
        """The class scope when `target` is `self.x` inside a method (or a function nested in one)."""
        if not isinstance(target.value, ast.Name):
            return None
        current: Scope | None = scope
        while current is not None and current.kind in ("function", "comprehension"):
            if current.self_name is not None:
                return current.owner if target.value.id == current.self_name else None
            current = current.parent
        return None


class ParsedScript(Struct):
    path: str
    text: str
    index: LineIndex
    tree: ast.Module
    _line_bytes: dict[int, bytes] = field(default_factory=dict)
    _indexer: _Indexer | None = None
    _aliases: dict[str, str] | None = None
    _shadowed: set[str] | None = None
    _quote: str | None = None
    _ascii: bool | None = None
    _qualnames: dict[int, str | None] = field(default_factory=dict)
    _returns: dict[int, list[ast.expr]] = field(default_factory=dict)
    _calls_by_name: dict[str, list[int]] | None = None  # qualified name -> numbers in `calls`
    _derived: dict[Any, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, path: str, text: str, index: LineIndex | None = None) -> ParsedScript:
        tree = parse_python(text, path)
        return cls(path, text, index or LineIndex(text), tree)

    # ----------------------------------------------------------------- the index
    @property
    def _index(self) -> _Indexer:
        if self._indexer is None:
            indexer = _Indexer(self)
            indexer.run()
            self._indexer = indexer
        return self._indexer

    @property
    def module_scope(self) -> Scope:
        return self._index.module

    @property
    def calls(self) -> list[ast.Call]:
        """Every call in the file, in source order."""
        return self._index.calls

    @property
    def aliases(self) -> dict[str, str]:
        """Module-level import aliases: local name -> qualified name (def/class names removed)."""
        if self._aliases is None:
            aliases: dict[str, str] = {}
            for name, bindings in self.module_scope.bindings.items():
                imports = [b for b in bindings if b.kind == "import"]
                if imports and name not in self.shadowed:
                    aliases[name] = imports[-1].qualname or name
            self._aliases = aliases
        return self._aliases

    @property
    def shadowed(self) -> set[str]:
        """Module-level names rebound by def or class."""
        if self._shadowed is None:
            self._shadowed = {
                name for name, bindings in self.module_scope.bindings.items()
                if any(b.kind in ("def", "class") for b in bindings)
            }
        return self._shadowed

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._index.parents.get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        parents = self._index.parents
        current = parents.get(id(node))
        while current is not None:
            yield current
            current = parents.get(id(current))

    def scope_of(self, node: ast.AST) -> Scope:
        index = self._index
        return index.scope_by_node.get(id(node)) or index.module

    def enclosing_function(self, node: ast.AST) -> ast.AST | None:
        """The def (or lambda) whose body holds `node`, or None at module level."""
        scope: Scope | None = self.scope_of(node)
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        return scope.node if scope is not None else None

    def nodes(self, kind: type) -> list[ast.AST]:
        """Every node of one kind in source order (`ast.BinOp`, `ast.If`, `ast.Assign`, ...)."""
        listed = self._index.by_type.get(kind)
        if listed is not None:
            return listed
        return sorted((n for n in ast.walk(self.tree) if isinstance(n, kind)), key=_start)

    @property
    def classes(self) -> list[ast.ClassDef]:
        """Every class statement of the file, in source order."""
        found = [scope.node for scope in self._index.scopes.values() if scope.kind == "class"]
        return sorted(found, key=_start)  # type: ignore[arg-type]

    def scope_for(self, node: ast.AST) -> Scope | None:
        """The Scope object a def/class/lambda/module node opens."""
        return self._index.scopes.get(id(node))

    # ----------------------------------------------------------- name resolution
    def binding_of(self, name: ast.Name) -> Binding | None:
        """The binding a Name refers to where it is used (None for builtins and unknowns)."""
        return self.lookup(name.id, self.scope_of(name), _start(name))

    def lookup(self, name: str, scope: Scope, pos: Position) -> Binding | None:
        """What `name` means at `pos` in `scope`: the latest binding before it in the same
        flow (a comprehension reads its function's flow), else the one a later call sees."""
        current: Scope | None = self.module_scope if name in scope.globals else scope
        same_flow = True
        while current is not None:
            if current.kind == "class" and current is not scope:
                current = current.parent
                continue
            bindings = current.bindings.get(name)
            if bindings:
                if same_flow:
                    index = bisect_right(bindings, pos, key=_binding_order)
                    if index:
                        return bindings[index - 1]
                return self._free_binding(bindings)
            if current.kind != "comprehension":
                same_flow = False
            current = current.parent
        return None

    @staticmethod
    def _free_binding(bindings: list[Binding]) -> Binding:
        """Which binding a use outside the straight-line flow sees: defs win, then imports."""
        for kinds in (("def", "class"), ("import",)):
            for binding in reversed(bindings):
                if binding.kind in kinds:
                    return binding
        return bindings[-1]

    def qualname(self, node: ast.AST, _depth: int = 0) -> str | None:
        """The dotted name an expression refers to through the script's imports, or None."""
        key = id(node)
        cached = self._qualnames.get(key, self)
        if cached is not self:
            return cached  # type: ignore[return-value]
        name = self._qualname(node, _depth)
        self._qualnames[key] = name
        return name

    def _qualname(self, node: ast.AST, _depth: int) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        binding = self.binding_of(node)
        if binding is None:
            return None
        if binding.kind == "import":
            base = binding.qualname
        elif (binding.kind == "assign" and _depth < 4
              and isinstance(binding.value, (ast.Name, ast.Attribute))):
            base = self.qualname(binding.value, _depth + 1)
        else:
            return None
        if base is None:
            return None
        return canonical_name(".".join([base, *reversed(parts)]))

    def call_name(self, call: ast.Call) -> str | None:
        """The qualified name of what a call calls (None for `f()()`, methods of objects, ...)."""
        return self.qualname(call.func)

    def calls_to(self, names: Iterable[str]) -> Iterator[tuple[ast.Call, str]]:
        """(call, qualified name) for every call of one of `names`, in source order."""
        by_name = self._call_numbers()
        found = sorted((number, name) for name in frozenset(names)
                       for number in by_name.get(name, ()))
        calls = self.calls
        for number, name in found:
            yield calls[number], name

    def _call_numbers(self) -> dict[str, list[int]]:
        """Where each qualified name is called: its calls' numbers in `calls` (resolved once
        per file, not once per rule)."""
        if self._calls_by_name is None:
            by_name: dict[str, list[int]] = {}
            for number, call in enumerate(self.calls):
                name = self.qualname(call.func)
                if name is not None:
                    by_name.setdefault(name, []).append(number)
            self._calls_by_name = by_name
        return self._calls_by_name

    def derived(self, key: Any, compute: Callable[[ParsedScript], Any]) -> Any:
        """`compute(self)`, worked out once per script: for an analysis that several rules
        share (`key` names it, e.g. the function that computes it)."""
        if key not in self._derived:
            self._derived[key] = compute(self)
        return self._derived[key]

    def release(self) -> None:
        """Drop the index and every shared analysis (they are built again if asked for). An
        analysis that keeps the script (a loop model) makes a reference cycle through the
        tree; released, a checked file's tree is freed at once instead of by a collection
        that walks every node."""
        self._indexer = None
        self._derived = {}
        self._qualnames = {}
        self._returns = {}
        self._calls_by_name = None
        self._aliases = None
        self._shadowed = None

    def method_calls(self, attr: str) -> Iterator[ast.Call]:
        """Calls of the form `<expr>.attr(...)`."""
        for call in self.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == attr:
                yield call

    def local_name_for(self, qualname: str) -> str | None:
        """A module-level name bound to exactly `qualname` (`T` for `import torch as T`)."""
        for name, target in self.aliases.items():
            if target == qualname:
                return name
        return None

    # -------------------------------------------------------- variable tracking
    def attribute_bindings(self, node: ast.Attribute) -> list[Binding]:
        """Bindings of `self.x` in the class whose method uses `node` (empty otherwise)."""
        if not isinstance(node.value, ast.Name):
            return []
        scope: Scope | None = self.scope_of(node)
        while scope is not None and scope.kind in ("function", "comprehension"):
            if scope.self_name is not None:
                if node.value.id == scope.self_name and scope.owner is not None:
                    return scope.owner.attributes.get(node.attr, [])
                return []
            scope = scope.parent
        return []

    def value_of(self, expr: ast.AST, defaults: bool = True) -> ast.expr | None:
        """The expression last assigned to a name or `self.x` before `expr` reads it; for a
        parameter, its default value (what it holds unless a caller passes another)."""
        if isinstance(expr, ast.Name):
            binding = self.binding_of(expr)
            if binding is None:
                return None
            if binding.kind == "assign" or (defaults and binding.kind == "param"):
                return binding.value
            if binding.kind == "target":
                return self._unpacked(binding)
            return None
        if isinstance(expr, ast.Attribute):
            bindings = [b for b in self.attribute_bindings(expr) if b.kind == "assign"]
            if not bindings:
                return None
            same_function = self.enclosing_function(expr)
            local = [b for b in bindings
                     if self.enclosing_function(b.node) is same_function and b.pos <= _start(expr)]
            return (local or bindings)[-1].value
        return None

    def _unpacked(self, binding: Binding) -> ast.expr | None:
        """`a, b = 1, 2` or `loss, acc = evaluate(...)` (a local function returning a tuple):
        the element that lands in `binding.name`."""
        node = binding.node
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], (ast.Tuple, ast.List))):
            return None
        targets = node.targets[0].elts
        if any(isinstance(t, ast.Starred) for t in targets):
            return None
        index = next((i for i, t in enumerate(targets)
                      if isinstance(t, ast.Name) and t.id == binding.name), None)
        if index is None:
            return None
        candidates = [node.value]
        if isinstance(node.value, ast.Call):
            candidates = list(reversed(self.returns_of(node.value)))
        for value in candidates:
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(targets) \
                    and not any(isinstance(e, ast.Starred) for e in value.elts):
                return value.elts[index]
        return None

    def callee(self, call: ast.Call) -> ast.AST | None:
        """The def in this file a call runs: a module function, `self.method(...)`, or the
        class's `forward` for `self(...)`."""
        func = call.func
        if isinstance(func, ast.Name):
            binding = self.binding_of(func)
            if binding is not None and binding.kind == "def":
                return binding.node
            owner = self._method_class(func, func.id)
            if owner is not None:
                return self._method(owner, "forward") or self._method(owner, "__call__")
            return None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = self._method_class(func, func.value.id)
            if owner is not None:
                return self._method(owner, func.attr)
        return None

    def _method_class(self, node: ast.AST, name: str) -> ast.ClassDef | None:
        """The class whose method uses `name` as its `self`."""
        scope: Scope | None = self.scope_of(node)
        while scope is not None and scope.kind in ("function", "comprehension"):
            if scope.self_name is not None:
                if scope.self_name == name and scope.owner is not None:
                    return scope.owner.node  # type: ignore[return-value]
                return None
            scope = scope.parent
        return None

    @staticmethod
    def _method(cls: ast.ClassDef, name: str) -> ast.AST | None:
        for statement in cls.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
                return statement
        return None

    def returns_of(self, call: ast.Call) -> list[ast.expr]:
        """The values the local def behind `call` returns (its own `return`s, in order)."""
        function = self.callee(call)
        if function is None:
            return []
        cached = self._returns.get(id(function))
        if cached is None:
            cached = [node.value for node in self.nodes(ast.Return)
                      if node.value is not None and self.enclosing_function(node) is function]
            self._returns[id(function)] = cached
        return cached

    def values_of(self, expr: ast.AST) -> list[ast.expr]:
        """Every expression assigned to the name (in its scope) or `self.x` (in its class)."""
        if isinstance(expr, ast.Name):
            owner = self._binding_scope(expr.id, self.scope_of(expr))
            if owner is None:
                return []
            return [b.value for b in owner.bindings.get(expr.id, [])
                    if b.kind == "assign" and b.value is not None]
        if isinstance(expr, ast.Attribute):
            return [b.value for b in self.attribute_bindings(expr)
                    if b.kind == "assign" and b.value is not None]
        return []

    def _binding_scope(self, name: str, scope: Scope) -> Scope | None:
        current: Scope | None = self.module_scope if name in scope.globals else scope
        while current is not None:
            if current.kind == "class" and current is not scope:
                current = current.parent
                continue
            if name in current.bindings:
                return current
            current = current.parent
        return None

    def origin(self, expr: ast.AST, passthrough: frozenset[str] = PASSTHROUGH_METHODS,
               depth: int = 8, follow_calls: bool = True) -> ast.AST:
        """Follow names, `self.x`, calls like `.to(device)`, and calls of local functions (to
        what they return) back to where a value was made."""
        seen = 0
        while seen < depth:
            seen += 1
            if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                    and expr.func.attr in passthrough):
                expr = expr.func.value
                continue
            if isinstance(expr, (ast.Name, ast.Attribute)):
                value = self.value_of(expr)
                if value is None or value is expr:
                    return expr
                expr = value
                continue
            if isinstance(expr, ast.Call) and follow_calls:
                returned = self.returns_of(expr)
                if returned:
                    expr = returned[-1]
                    continue
            return expr
        return expr

    def constructor(self, expr: ast.AST) -> str | None:
        """The qualified name of the callable that made the object `expr` holds, if known."""
        made = self.origin(expr)
        if isinstance(made, ast.Call):
            return self.qualname(made.func)
        return None

    # ------------------------------------------------------------ call helpers
    @staticmethod
    def keyword(call: ast.Call, name: str) -> ast.keyword | None:
        for keyword in call.keywords:
            if keyword.arg == name:
                return keyword
        return None

    @staticmethod
    def has_kwargs(call: ast.Call) -> bool:
        """True when the call passes `**mapping` (any keyword might hide in it)."""
        return any(keyword.arg is None for keyword in call.keywords)

    @staticmethod
    def has_starargs(call: ast.Call) -> bool:
        return any(isinstance(arg, ast.Starred) for arg in call.args)

    @staticmethod
    def argument(call: ast.Call, position: int | None, name: str) -> ast.expr | None:
        """The argument passed as keyword `name` or at `position` (before any *args)."""
        for keyword in call.keywords:
            if keyword.arg == name:
                return keyword.value
        if position is not None:
            for index, arg in enumerate(call.args):
                if isinstance(arg, ast.Starred):
                    return None
                if index == position:
                    return arg
        return None

    def literal(self, expr: ast.AST | None, depth: int = 3, defaults: bool = False) -> Any:
        """A constant the expression evaluates to (following names assigned once), or NOTHING.
        With `defaults`, a parameter counts as its default value."""
        if expr is None:
            return NOTHING
        if isinstance(expr, ast.Constant):
            return expr.value
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            inner = self.literal(expr.operand, depth, defaults)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner if isinstance(expr.op, ast.USub) else inner
            return NOTHING
        if isinstance(expr, ast.BinOp) and depth > 0:
            left = self.literal(expr.left, depth - 1, defaults)
            right = self.literal(expr.right, depth - 1, defaults)
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
                try:
                    if isinstance(expr.op, ast.Mult):
                        return left * right
                    if isinstance(expr.op, ast.Add):
                        return left + right
                    if isinstance(expr.op, ast.Sub):
                        return left - right
                    if isinstance(expr.op, ast.Div):
                        return left / right
                    if isinstance(expr.op, ast.Pow) and abs(right) < 64:
                        return left ** right
                except (ArithmeticError, ValueError):
                    return NOTHING
            return NOTHING
        if isinstance(expr, (ast.Name, ast.Attribute)) and depth > 0:
            value = self.value_of(expr, defaults=defaults)
            if value is not None and len(self.values_of(expr)) <= 1:
                return self.literal(value, depth - 1, defaults)
        return NOTHING

    # ----------------------------------------------------------------- positions
    def _char_col(self, lineno: int, byte_col: int) -> int:
        """ast columns count UTF-8 bytes; spans count characters."""
        if self._ascii is None:
            self._ascii = self.text.isascii()
        if self._ascii:
            return byte_col
        line = self.index.line_text(lineno)
        if line.isascii():
            return byte_col
        encoded = self._line_bytes.get(lineno)
        if encoded is None:
            encoded = self._line_bytes[lineno] = line.encode("utf-8")
        return len(encoded[:byte_col].decode("utf-8", errors="replace"))

    def offset(self, lineno: int, byte_col: int) -> int:
        """The character offset of an ast (line, byte column) position."""
        return self.index.offset(lineno, self._char_col(lineno, byte_col) + 1)

    def span(self, node: ast.AST) -> Span:
        start = self.offset(node.lineno, node.col_offset)
        end_line = node.end_lineno or node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        end = self.offset(end_line, end_col)
        return self.index.span(start, end)

    def source(self, node: ast.AST) -> str:
        span = self.span(node)
        return self.text[span.start:span.end]

    def preferred_quote(self) -> str:
        """The quote character most string literals of the file use (double when unsure): a
        vote of the first 40 strings that `ast.walk` meets."""
        if self._quote is None:
            single = double = 0
            for node in walk_breadth_first(self.tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    start = self.offset(node.lineno, node.col_offset)
                    first = self.text[start:start + 4].lstrip("rRbBuUfF")[:1]
                    if first == "'":
                        single += 1
                    elif first == '"':
                        double += 1
                    if single + double >= 40:
                        break
            self._quote = "'" if single > double else '"'
        return self._quote


def parse_python(text: str, path: str) -> ast.Module:
    """`ast.parse` without the warnings the parser gives about the user's code (`1if x`,
    `"\\d"`): they are not trainlint's to print, and would leak to stderr."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(text, filename=path)


NOTHING: Any = Sentinel("NOTHING")  # `literal()` found no constant (distinct from None)


def canonical_name(name: str) -> str:
    """The public name of an object: `torch.serialization.load` -> `torch.load`,
    `torch.nn.modules.loss.CTCLoss` -> `torch.nn.CTCLoss`."""
    canonical = CANONICAL_NAMES.get(name)
    if canonical is not None:
        return canonical
    if name.startswith(_NN_MODULES_PREFIX):
        rest = name[len(_NN_MODULES_PREFIX):].split(".")
        if len(rest) == 2:
            return f"torch.nn.{rest[1]}"
    return name
