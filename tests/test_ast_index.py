"""ParsedScript: import aliases, Python's scopes, variable tracking, spans."""

from __future__ import annotations

import ast
import textwrap

import pytest
from trainlint.formats.python.ast_index import NOTHING, ParsedScript, child_nodes, walk_breadth_first


def parse(source: str) -> ParsedScript:
    return ParsedScript.parse("train.py", textwrap.dedent(source))


def call_names(script: ParsedScript) -> list[tuple[int, str | None]]:
    return [(call.lineno, script.call_name(call)) for call in script.calls]


def named(script: ParsedScript, text: str) -> ast.AST:
    """The first node whose source is exactly `text`."""
    for node in ast.walk(script.tree):
        if hasattr(node, "lineno") and script.source(node) == text:
            return node
    raise AssertionError(f"no node {text!r}")


@pytest.mark.parametrize("source,expected", [
    ("import torch as T\nT.load(p)\n", "torch.load"),
    ("from torch import load as tl\ntl(p)\n", "torch.load"),
    ("import torch.nn.functional as F\nF.ctc_loss(x)\n", "torch.nn.functional.ctc_loss"),
    ("from torch.optim import lr_scheduler\nlr_scheduler.LinearLR(o)\n",
     "torch.optim.lr_scheduler.LinearLR"),
    ("from torch.optim.lr_scheduler import *\nReduceLROnPlateau(o)\n",
     "torch.optim.lr_scheduler.ReduceLROnPlateau"),
    ("from torch import *\nload(p)\n", "torch.load"),
    ("import torch.nn\ntorch.nn.CTCLoss()\n", "torch.nn.CTCLoss"),
    ("import torch.serialization\ntorch.serialization.load(p)\n", "torch.load"),
    ("from torch.serialization import load\nload(p)\n", "torch.load"),
    ("from torch.nn.modules.loss import CTCLoss\nCTCLoss()\n", "torch.nn.CTCLoss"),
    ("import torch\nload_fn = torch.load\nload_fn(p)\n", "torch.load"),
    ("import torch\ndtype = torch.float16\nf(dtype)\n", None),
    ("def main():\n    import torch as th\n    th.load(p)\n", "torch.load"),
    ("try:\n    from apex import amp\nexcept ImportError:\n    amp = None\n"
     "def f():\n    amp.initialize(m)\n", "apex.amp.initialize"),
])
def test_qualname_resolves_aliases(source, expected):
    script = parse(source)
    assert call_names(script)[-1][1] == expected


@pytest.mark.parametrize("source", [
    # a local function named like the import
    "from torch import load\ndef load(path):\n    return path\nload(p)\n",
    "import json\ndef load(path):\n    return json.load(open(path))\nload(p)\n",
    # a parameter with the same name
    "from torch import load\ndef f(load):\n    return load(p)\n",
    # assigned in the function before use
    "from torch.utils.checkpoint import checkpoint\ndef f():\n"
    "    checkpoint = get_state()\n    return checkpoint(p)\n",
    # a comprehension variable
    "from torch import load\n[load(p) for load in loaders]\n",
    # class attribute does not leak into a method's name lookup, but the method sees the module
    "import torch\nclass A:\n    torch = None\n    def f(self):\n        return len(p)\n",
])
def test_local_bindings_are_not_imports(source):
    script = parse(source)
    assert all(name not in ("torch.load", "torch.utils.checkpoint.checkpoint")
               for _, name in call_names(script))


def test_local_def_shadows_after_its_definition_only():
    script = parse("""
        from torch import load
        first = load(p)
        def load(path):
            return path
        second = load(p)
    """)
    assert call_names(script) == [(3, "torch.load"), (6, None)]


def test_method_sees_module_import_not_class_body():
    script = parse("""
        import torch
        class Trainer:
            load = staticmethod(print)
            def resume(self):
                return torch.load(p), load(q)
    """)
    assert [name for line, name in call_names(script) if line == 6] == ["torch.load", None]


def test_global_statement_reads_module_binding():
    script = parse("""
        from torch import load
        def f():
            global load
            return load(p)
    """)
    assert call_names(script)[-1][1] == "torch.load"


def test_aliases_and_shadowed_keep_the_old_api():
    script = parse("""
        import torch as T
        from torch import load as tl
        def load(x):
            return x
    """)
    assert script.aliases == {"T": "torch", "tl": "torch.load"}
    assert script.shadowed == {"load"}


def test_index_is_built_lazily():
    script = parse("import torch\ntorch.load(p)\n")
    assert script._indexer is None
    assert len(script.calls) == 1
    assert script._indexer is not None


# ------------------------------------------------------------------ tracking

def test_value_of_takes_the_latest_binding_before_use():
    script = parse("""
        from torch import nn
        def f():
            loss = nn.CrossEntropyLoss()
            a = loss(x, y)
            loss = nn.CTCLoss()
            b = loss(x, y)
    """)
    first, second = [c for c in script.calls if isinstance(c.func, ast.Name) and c.func.id == "loss"]
    assert script.constructor(first.func) == "torch.nn.CrossEntropyLoss"
    assert script.constructor(second.func) == "torch.nn.CTCLoss"


def test_self_attribute_is_tracked_across_methods_and_to_device():
    script = parse("""
        import torch
        from torch.optim.lr_scheduler import ReduceLROnPlateau
        class Module(torch.nn.Module):
            def __init__(self, optimizer):
                super().__init__()
                self.criterion = torch.nn.CTCLoss(zero_infinity=True).to("cuda")
                self.scheduler = ReduceLROnPlateau(optimizer)
            def step(self, x):
                self.scheduler.step()
                return self.criterion(x)
        def other(obj):
            return obj.criterion(x)
    """)
    by_line = {c.lineno: c for c in script.calls}
    assert script.constructor(by_line[10].func.value) == "torch.optim.lr_scheduler.ReduceLROnPlateau"
    assert script.constructor(by_line[11].func) == "torch.nn.CTCLoss"
    assert script.constructor(by_line[13].func) is None  # not `self`


def test_module_level_variable_used_in_a_function():
    script = parse("""
        from torch import nn
        criterion = nn.KLDivLoss(reduction="batchmean")
        def step(x, y):
            return criterion(x, y)
    """)
    call = script.calls[-1]
    assert script.constructor(call.func) == "torch.nn.KLDivLoss"


def test_parameter_default_and_tuple_unpacking_from_local_function():
    script = parse("""
        import numpy as np
        from torch import nn
        def evaluate():
            return np.mean(losses), np.array(wers)
        class Loss(nn.Module):
            def __init__(self, criterion=nn.KLDivLoss(reduction="none"), normalize=False):
                self.criterion = criterion
                self.normalize = normalize
            def forward(self, x):
                loss, wers = evaluate()
                return self.criterion(x), self.normalize, wers
    """)
    forward_return = [n for n in ast.walk(script.tree) if isinstance(n, ast.Return)][-1].value
    criterion_call, normalize, wers = forward_return.elts
    assert script.constructor(criterion_call.func) == "torch.nn.KLDivLoss"
    assert script.literal(normalize, defaults=True) is False
    assert script.literal(normalize) is NOTHING
    assert script.call_name(script.origin(wers)) == "numpy.array"


def test_self_call_follows_forward_and_local_functions_follow_returns():
    script = parse("""
        from torch import nn
        def build():
            return nn.Sequential(nn.Linear(4, 2))
        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
            def forward(self, x):
                return self.fc(x)
            def loss(self, x):
                return self(x)
        model = build()
    """)
    self_call = [c for c in script.calls if isinstance(c.func, ast.Name) and c.func.id == "self"][0]
    made = script.origin(self_call)
    assert script.constructor(made.func) == "torch.nn.Linear"
    assert script.constructor(named(script, "model")) == "torch.nn.Sequential"


def test_literal_folds_simple_arithmetic_and_single_assignments():
    script = parse("""
        EVERY = 100
        SCALE = 2.0 ** 14
        CHANGED = 1
        CHANGED = 2
        f(EVERY, SCALE, -0.5, CHANGED, unknown)
    """)
    args = script.calls[0].args
    assert [script.literal(a) for a in args[:3]] == [100, 16384.0, -0.5]
    assert script.literal(args[3]) is NOTHING
    assert script.literal(args[4]) is NOTHING


def test_parents_ancestors_and_enclosing_function():
    script = parse("""
        def outer():
            def inner():
                return torch.load(p)
            return inner
    """)
    call = script.calls[0]
    assert isinstance(script.parent(call), ast.Return)
    assert [type(a).__name__ for a in script.ancestors(call)][:2] == ["Return", "FunctionDef"]
    assert script.enclosing_function(call).name == "inner"


def test_spans_count_characters_not_bytes():
    script = parse("x = 'é'; torch.load('ü.pt')\n")
    call = script.calls[0]
    span = script.span(call)
    assert script.text[span.start:span.end] == "torch.load('ü.pt')"
    assert (span.line, span.col) == (1, 10)


def test_calls_are_in_source_order_including_decorators_and_defaults():
    script = parse("""
        @decorate(a())
        def f(x=default()):
            return body()
        [item() for _ in gen()]
    """)
    assert [script.source(c.func) for c in script.calls] == ["decorate", "a", "default", "body",
                                                             "item", "gen"]


def test_preferred_quote():
    assert parse("a = 'x'\nb = 'y'\nc = \"z\"\n").preferred_quote() == "'"
    assert parse("a = 1\n").preferred_quote() == '"'


def test_calls_to_gives_calls_of_several_names_in_source_order():
    script = parse("""
        import torch
        from torch import load as tl
        torch.save(m, p)
        x = tl(p)
        torch.load(q)
        f(torch.save(n, r))
    """)
    found = [(call.lineno, name) for call, name in script.calls_to(["torch.save", "torch.load"])]
    assert found == [(4, "torch.save"), (5, "torch.load"), (6, "torch.load"), (7, "torch.save")]
    assert list(script.calls_to(["torch.nn.CTCLoss"])) == []


def test_derived_values_are_computed_once_per_script():
    script = parse("a = 1\n")
    runs = []

    def count_runs(given: ParsedScript) -> int:
        runs.append(given)
        return len(runs)

    assert script.derived(count_runs, count_runs) == 1
    assert script.derived(count_runs, count_runs) == 1
    assert runs == [script]


def test_a_parsed_tree_holds_no_reference_cycle():
    """Parents and scopes live in the index, not on the nodes: a file's tree is freed by
    reference counting when its script goes, without a garbage collection."""
    import gc
    import weakref

    script = parse("import torch\n\ndef f(x):\n    return [y for y in x if y]\n")
    assert script.parent(script.tree.body[1].body[0]) is script.tree.body[1]
    tree_ref = weakref.ref(script.tree)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del script
        assert tree_ref() is None
    finally:
        if enabled:
            gc.enable()


ODD_SOURCES = [
    "f(**kwargs)\ng(*args, **kw)\nh(*a, b=1)\n",
    "x[0](y)\nx[0].load(p)\n(lambda q: q)(1)\nf()()\n",
    "a = lambda load: load(p)\nb = [torch.load(p) for torch in mods]\n",
    "async def f():\n    async with g() as h:\n        await h(x)\n    async for i in j():\n        pass\n",
    "match cmd:\n    case {'k': v, **rest}:\n        v(rest)\n    case [a, *b]:\n        a(b)\n"
    "    case Point(x=x) as p:\n        p(x)\n",
    "if (n := len(a)) > 10:\n    f(n)\n",
    "class A:\n    class B:\n        def f(self):\n            return self.g()\n",
    "def f():\n    x = 1\n    def g():\n        nonlocal x\n        x = 2\n        return x\n",
    "from . import load\nfrom .sub import thing as t\nload(p)\nt(q)\n",
    "import torch\ntorch.load\nprint(torch.load.__doc__)\n",
    "x: int\ny: int = f()\nz = w = g()\n(a, *b), c = h()\n",
    "def f(*, a=torch.load, **kw):\n    return a(p)\n",
    "@staticmethod\ndef f(self):\n    self()\n",
    "f(x for x in y)\n",
    "T = torch\nT.load(p)\n",
    "a = b = c\nc = a\nf(b)\n",
    "def rec():\n    return rec()\nx = rec()\n",
    "def f(self):\n    return self(self)\n",
    "class M:\n    def forward(self, x):\n        return self(x)\n    def g(self):\n        return self(1)\n",
]


@pytest.mark.parametrize("source", ODD_SOURCES)
def test_odd_code_is_indexed_without_errors(source):
    script = ParsedScript.parse("odd.py", source)
    for call in script.calls:
        script.call_name(call)
        script.constructor(call.func)
        script.origin(call)
        script.returns_of(call)
        for arg in call.args:
            script.literal(arg)
            script.origin(arg)
    for node in ast.walk(script.tree):
        if isinstance(node, (ast.Name, ast.Attribute)):
            script.value_of(node)
            script.values_of(node)


_SINGLETONS = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)


@pytest.mark.parametrize("source", ODD_SOURCES)
def test_walks_match_ast_less_the_shared_singletons(source):
    tree = ast.parse(source)
    assert list(walk_breadth_first(tree)) == [
        node for node in ast.walk(tree) if not isinstance(node, _SINGLETONS)]
    for node in ast.walk(tree):
        assert child_nodes(node) == [
            child for child in ast.iter_child_nodes(node) if not isinstance(child, _SINGLETONS)]


def test_deeply_nested_expression_does_not_overflow():
    source = "x = " + "f(" * 80 + "1" + ")" * 80 + "\n" + "y = " + " + ".join(["a"] * 400) + "\n"
    script = ParsedScript.parse("deep.py", source)
    assert len(script.calls) == 80
