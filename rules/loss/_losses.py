"""Where a script computes a loss and what it feeds it, shared by the TL6xx rules."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from msgspec import Struct

from trainlint.api import ParsedScript

SOFTMAX = frozenset({"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax"})
LOG_SOFTMAX = frozenset({"torch.nn.functional.log_softmax", "torch.log_softmax",
                         "torch.special.log_softmax"})
ACTIVATION_MODULES = {"torch.nn.Softmax": "softmax", "torch.nn.LogSoftmax": "log_softmax"}
LOGS = frozenset({"torch.log", "torch.Tensor.log"})

CROSS_ENTROPY = ("torch.nn.functional.cross_entropy", "torch.nn.CrossEntropyLoss")
CTC = ("torch.nn.functional.ctc_loss", "torch.ctc_loss", "torch.nn.CTCLoss")
KL_DIV = ("torch.nn.functional.kl_div", "torch.nn.KLDivLoss")
NLL = ("torch.nn.functional.nll_loss", "torch.nn.NLLLoss")

# position of `reduction` in each loss's signature
REDUCTION_POSITION = {
    "torch.nn.functional.cross_entropy": 6, "torch.nn.functional.nll_loss": 6,
    "torch.nn.functional.kl_div": 4, "torch.nn.CrossEntropyLoss": 4, "torch.nn.NLLLoss": 4,
    "torch.nn.KLDivLoss": 2,
}


class LossCall(Struct):
    call: ast.Call  # where the loss is computed
    kind: str  # the qualified name of the loss function or module class
    maker: ast.Call | None  # the module construction (`nn.CTCLoss(...)`), None for functions

    @property
    def first(self) -> ast.expr | None:
        args = self.call.args
        if args and not isinstance(args[0], ast.Starred):
            return args[0]
        for keyword in self.call.keywords:
            if keyword.arg in ("input", "log_probs"):
                return keyword.value
        return None

    @property
    def configured(self) -> ast.Call:
        """The call that carries the loss's settings (its construction for a module)."""
        return self.maker if self.maker is not None else self.call


def loss_calls(script: ParsedScript, kinds: tuple[str, ...]) -> Iterator[LossCall]:
    """Every place a loss of `kinds` is computed: `F.cross_entropy(x, y)`,
    `criterion(x, y)` with `criterion = nn.CrossEntropyLoss()`, `self.loss_fn(x, y)`,
    `nn.CrossEntropyLoss()(x, y)`."""
    wanted = frozenset(kinds)
    for call, name, maker in script.derived(_callables_made, _callables_made):
        if name in wanted:
            yield LossCall(call, name, maker)


def _callables_made(script: ParsedScript) -> list[tuple[ast.Call, str, ast.Call | None]]:
    """(call, qualified name, construction or None) for every call that may compute a loss: of
    a function with a known name, of an object made by a known constructor, or of a
    construction itself. Worked out once per script, for all the loss rules."""
    found: list[tuple[ast.Call, str, ast.Call | None]] = []
    for call in script.calls:
        func = call.func
        if isinstance(func, ast.Call):
            name = script.qualname(func.func)
            if name is not None:
                found.append((call, name, func))
            continue
        name = script.qualname(func)
        if name is not None:
            if not name.rsplit(".", 1)[-1][:1].isupper():
                found.append((call, name, None))
            continue
        if not isinstance(func, (ast.Name, ast.Attribute)):
            continue
        made = script.origin(func)
        if isinstance(made, ast.Call):
            maker_name = script.qualname(made.func)
            if maker_name is not None:
                found.append((call, maker_name, made))
    return found


def activation(script: ParsedScript, expr: ast.AST | None) -> tuple[str | None, ast.AST | None]:
    """("softmax" | "log_softmax" | "log" | None, the call that applies it) for a tensor."""
    if expr is None:
        return None, None
    made = script.origin(expr)
    if not isinstance(made, ast.Call):
        return None, None
    func = made.func
    name = script.qualname(func) if not isinstance(func, ast.Call) else None
    if name in SOFTMAX:
        return "softmax", made
    if name in LOG_SOFTMAX:
        return "log_softmax", made
    if name in LOGS:
        return "log", made
    if isinstance(func, ast.Call):
        kind = ACTIVATION_MODULES.get(script.qualname(func.func) or "")
        return kind, made if kind else None
    if name is None and isinstance(func, (ast.Name, ast.Attribute)):
        maker = script.constructor(func)
        if maker in ACTIVATION_MODULES:
            return ACTIVATION_MODULES[maker], made
        if isinstance(func, ast.Attribute) and maker is None:
            if func.attr == "softmax":
                return "softmax", made
            if func.attr == "log_softmax":
                return "log_softmax", made
            if func.attr == "log":
                return "log", made
    return None, None


def reduction(script: ParsedScript, loss: LossCall):
    """The literal `reduction=` of a loss ("mean" when not given), or None when unknown."""
    configured = loss.configured
    if script.has_kwargs(configured):
        return None
    if script.keyword(configured, "size_average") or script.keyword(configured, "reduce"):
        return None
    value = script.argument(configured, REDUCTION_POSITION.get(loss.kind), "reduction")
    if value is None:
        return "mean"
    literal = script.literal(value, defaults=True)
    return literal if isinstance(literal, str) else None
