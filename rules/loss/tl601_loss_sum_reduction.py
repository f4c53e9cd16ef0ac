"""TL601 loss-sum-reduction: loss summed over tokens and divided by the batch size instead of the token count.

The class docstring is the rule's page (docs/rules/TL601.md).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from trainlint.api import (
    NOTHING,
    Diagnostic,
    Example,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
)
from trainlint.rules.loss._losses import (
    CROSS_ENTROPY,
    KL_DIV,
    NLL,
    LossCall,
    activation,
    loss_calls,
    reduction,
)

TOKEN_LOSSES = CROSS_ENTROPY + KL_DIV + NLL
TOKEN_WORDS = re.compile(r"tok|sample_size|num_items|n_items|words|normaliz|numel|n_elem|"
                         r"num_elem|mask|non_?pad|valid|total|length|lens\b|n_?frames|seq",
                         re.IGNORECASE)
BATCH_NAME = re.compile(r"^(batch_?size|bsz|bs|b|n_?batch|num_?batch|batchsize|n_?samples|"
                        r"num_?samples|n_?utts?|num_?utts?|n_?sents?|nsentences)$", re.IGNORECASE)
COUNTING_METHODS = frozenset({"sum", "numel", "count_nonzero", "nelement"})
WRAPPERS = frozenset({"float", "int", "max", "item", "clamp", "clamp_min", "to", "detach",
                      "long", "type_as"})
# calls that keep every element of the loss tensor (so a full .sum() still sums tokens)
ELEMENTWISE = frozenset({"masked_fill", "masked_fill_", "mul", "mul_", "float", "to", "view",
                         "reshape", "contiguous", "squeeze", "unsqueeze", "flatten", "masked_select",
                         "neg", "double", "half", "transpose", "permute"})
FLATTENING = re.compile(r"\.(view|reshape)\(\s*-1|\.flatten\(|\.contiguous\(\)\.view\(")
SEQUENCE_WORDS = re.compile(r"tok|seq|vocab|pad|tgt|target_len|lengths|mask|smooth", re.IGNORECASE)
LOG_PROB_NAME = re.compile(r"log_?probs?|lprobs|logp\b", re.IGNORECASE)
TOKEN_COUNTS = re.compile(r"sample_size|ntokens|num_tokens|n_tokens|num_items")
# a file where a hand-written cross-entropy (`(p * log_probs).sum()`) may hide
HAND_WRITTEN = re.compile(r"log_softmax|log_?probs|lprobs", re.IGNORECASE)


class LossSumReduction(ScriptRule):
    """## What it does
    Finds a token-level loss (cross-entropy, KL divergence / label smoothing, NLL) that is
    summed over tokens and then divided by the batch size, or not averaged at all:
    `reduction="sum"` divided by `batch_size` / `x.size(0)`, a `reduction="none"` loss whose
    `.sum()` is divided by the batch size (also behind `denom = total if normalize_length
    else batch_size`, where the flag's default decides), a hand-written label-smoothing
    sum (`-(true_dist * log_probs).sum() / batch_size`), or a `reduction="sum"` loss that
    goes into `backward()` in the same function undivided. A sum divided by a token count
    (`ntokens`, `mask.sum()`, fairseq's `sample_size` returned to the trainer) is fine, and
    so is a sum the function returns or accumulates (a perplexity evaluation's total NLL,
    a chunked loss whose caller divides by the token count): who normalizes it is not known
    there, and the rule stays quiet.

    ## Why is this bad?
    A sum over tokens divided by the number of sentences grows with sequence length: the
    initial loss is hundreds instead of ~ln(vocabulary), long batches weigh more than short
    ones, and the gradient scale (hence the effective learning rate) changes with the data.
    The per-token mean is what the learning rates in recipes assume.

    ## Example
    ```python
    kl = self.criterion(torch.log_softmax(x, dim=1), true_dist)  # KLDivLoss(reduction="none")
    denom = total if self.normalize_length else batch_size         # normalize_length=False
    return kl.masked_fill(ignore.unsqueeze(1), 0).sum() / denom
    ```

    ## Use instead
    ```python
    return kl.masked_fill(ignore.unsqueeze(1), 0).sum() / total  # tokens that count
    ```

    ## Fix safety
    No fix: the right normalizer (non-padding tokens) has to come from the data.

    ## Options
    None.

    ## Source
    Seed 000: the label-smoothing loss normalized a token sum by the batch size, so the
    initial loss was 500+ instead of 4-7 and training converged slowly; after the fix it
    started at the expected ln(V) scale.
    """

    code = "TL601"
    name = "loss-sum-reduction"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "loss summed over tokens and divided by the batch size instead of the token count"
    precision = "no findings (dev corpus, 28 repositories)"
    needles = (b"reduction", b"log_softmax", b"log_prob", b"lprobs", b"logprobs")

    bad = (
        Example(
            "loss.py",
            "import torch\nfrom torch import nn\n\n"
            "class LabelSmoothingLoss(nn.Module):\n"
            "    def __init__(self, size, padding_idx, smoothing, normalize_length=False,\n"
            "                 criterion=nn.KLDivLoss(reduction='none')):\n"
            "        super().__init__()\n        self.criterion = criterion\n"
            "        self.size = size\n        self.normalize_length = normalize_length\n\n"
            "    def forward(self, x, target, true_dist, ignore):\n"
            "        batch_size = x.size(0)\n        x = x.view(-1, self.size)\n"
            "        total = len(target) - ignore.sum().item()\n"
            "        kl = self.criterion(torch.log_softmax(x, dim=1), true_dist)\n"
            "        denom = total if self.normalize_length else batch_size\n"
            "        return kl.masked_fill(ignore.unsqueeze(1), 0).sum() / denom\n",
        ),
        Example(
            "train.py",
            "import torch.nn.functional as F\n\ndef step(logits, targets, pad):\n"
            "    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),\n"
            "                           ignore_index=pad, reduction='sum')\n"
            "    return loss / logits.size(0)\n",
        ),
    )
    good = (
        Example(
            "train.py",
            "import torch.nn.functional as F\n\ndef step(logits, targets, pad):\n"
            "    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),\n"
            "                           ignore_index=pad, reduction='sum')\n"
            "    ntokens = (targets != pad).sum()\n    return loss / ntokens\n",
        ),
        Example(
            "criterion.py",
            "import torch.nn.functional as F\n\ndef compute(lprobs, target, pad, sample):\n"
            "    loss = F.nll_loss(lprobs.view(-1, lprobs.size(-1)), target.view(-1),\n"
            "                      ignore_index=pad, reduction='sum')\n"
            "    sample_size = sample['ntokens']\n    return loss, sample_size\n",
        ),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        self._mentions: dict[tuple[int, str], bool] = {}
        losses = {id(loss.call): loss for loss in loss_calls(script, TOKEN_LOSSES)}
        reductions = {key: reduction(script, loss) for key, loss in losses.items()}
        summed_losses = any(r in ("sum", "none") for r in reductions.values())
        if not summed_losses and not HAND_WRITTEN.search(script.text):
            return
        divided: set[int] = set()
        for node in (*script.nodes(ast.BinOp), *script.nodes(ast.AugAssign)):
            division = self._division(node)
            if division is None:
                continue
            numerator, denominator = division
            source = self._token_sum(script, numerator, losses, reductions)
            if source is None:
                continue
            divided.add(id(source[0]))
            kind, note = self._divisor_kind(script, denominator)
            if kind != "batch" or not self._sequence(script, source[0]):
                continue
            message = (f"{source[1]} is summed over tokens and divided by "
                       f"`{script.source(denominator)}`, the batch size{note}: the loss grows "
                       "with sequence length (seed 000: initial loss 500+ instead of ~ln(V)); "
                       "divide by the number of non-padding tokens")
            yield self.diagnostic(script.path, script.span(node), message)
        for key, loss in losses.items():
            if reductions[key] != "sum" or key in divided:
                continue
            if self._normalized_elsewhere(script, loss) or not self._sequence(script, loss.call):
                continue
            if not self._trained_on_unaveraged(script, loss.call):
                continue  # returned or accumulated: a caller or a later line may normalize it
            message = (f"`{script.source(loss.configured.func)}` with reduction='sum' over tokens "
                       "is never averaged: the loss and its gradients grow with sequence length; "
                       "use reduction='mean' or divide by the token count")
            yield self.diagnostic(script.path, script.span(loss.call), message)

    @staticmethod
    def _division(node: ast.AST) -> tuple[ast.expr, ast.expr] | None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return node.left, node.right
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Div):
            return node.target, node.value
        return None

    def _token_sum(self, script: ParsedScript, expr: ast.expr, losses: dict[int, LossCall],
                   reductions: dict[int, str | None]) -> tuple[ast.AST, str] | None:
        """(the loss call, a description) when `expr` is a sum over a token-level loss."""
        expr = self._resolve(script, expr)
        if isinstance(expr, ast.Call) and id(expr) in losses:
            loss = losses[id(expr)]
            if reductions[id(expr)] == "sum":
                return expr, f"`{script.source(loss.configured.func)}(reduction='sum')`"
            return None
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
            expr = expr.operand  # -(p * log_probs).sum()
        summed = self._full_sum(expr)
        if summed is None:
            return None
        return self._elementwise_loss(script, summed, losses, reductions, 0)

    @staticmethod
    def _resolve(script: ParsedScript, expr: ast.expr) -> ast.expr:
        for _ in range(4):
            if isinstance(expr, ast.Name):
                value = script.value_of(expr, defaults=False)
                if value is None:
                    return expr
                expr = value
            else:
                return expr
        return expr

    @staticmethod
    def _full_sum(expr: ast.expr) -> ast.expr | None:
        """The tensor `x` of `x.sum()` / `torch.sum(x)` (no dim: every element)."""
        if not isinstance(expr, ast.Call) or expr.keywords:
            return None
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr == "sum":
            if not expr.args:
                return func.value
            if (len(expr.args) == 1 and isinstance(func.value, ast.Name)
                    and func.value.id == "torch"):
                return expr.args[0]
        return None

    def _elementwise_loss(self, script: ParsedScript, expr: ast.expr, losses: dict[int, LossCall],
                          reductions: dict[int, str | None], depth: int) -> tuple[ast.AST, str] | None:
        if depth > 6:
            return None
        expr = self._resolve(script, expr)
        if isinstance(expr, ast.Call):
            if id(expr) in losses:
                loss = losses[id(expr)]
                if reductions[id(expr)] == "none":
                    return expr, f"`{script.source(loss.configured.func)}(reduction='none')`"
                return None
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in ELEMENTWISE:
                return self._elementwise_loss(script, func.value, losses, reductions, depth + 1)
            return None
        if isinstance(expr, ast.Subscript):
            return self._elementwise_loss(script, expr.value, losses, reductions, depth + 1)
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
            return self._elementwise_loss(script, expr.operand, losses, reductions, depth + 1)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
            for side in (expr.left, expr.right):
                kind, _ = activation(script, side)
                if kind == "log_softmax" or (isinstance(side, ast.Name)
                                             and LOG_PROB_NAME.search(side.id)):
                    return expr, f"a hand-written cross-entropy (`{script.source(expr)}`)"
            for side in (expr.left, expr.right):
                found = self._elementwise_loss(script, side, losses, reductions, depth + 1)
                if found:
                    return found
        return None

    def _divisor_kind(self, script: ParsedScript, expr: ast.expr,
                      depth: int = 0) -> tuple[str | None, str]:
        """("batch" | "tokens" | None, a note) for what a loss is divided by."""
        if depth > 5:
            return None, ""
        if isinstance(expr, ast.IfExp):
            chosen = script.literal(expr.test, defaults=True)
            if chosen is not NOTHING:
                kind, note = self._divisor_kind(script, expr.body if chosen else expr.orelse,
                                                depth + 1)
                return kind, note or f" (`{script.source(expr.test)}` is {bool(chosen)} by default)"
            kinds = [self._divisor_kind(script, branch, depth + 1)[0]
                     for branch in (expr.body, expr.orelse)]
            if "batch" in kinds:
                return "batch", f" (when `{script.source(expr.test)}` says so)"
            return ("tokens", "") if kinds == ["tokens", "tokens"] else (None, "")
        if isinstance(expr, (ast.Name, ast.Attribute)):
            label = expr.id if isinstance(expr, ast.Name) else expr.attr
            value = script.value_of(expr, defaults=True)
            if value is not None and value is not expr:
                kind, note = self._divisor_kind(script, value, depth + 1)
                if kind is not None:
                    return kind, note
            if TOKEN_COUNTS.search(label):
                return "tokens", ""  # Hugging Face's num_items_in_batch counts label tokens
            if BATCH_NAME.match(label) or "batch" in label.lower():
                return "batch", ""
            if TOKEN_WORDS.search(label):
                return "tokens", ""
            return None, ""
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute):
                if func.attr in COUNTING_METHODS:
                    return "tokens", ""
                if func.attr == "size" and expr.args and script.literal(expr.args[0]) == 0:
                    return "batch", ""
                if func.attr in WRAPPERS:
                    return self._divisor_kind(script, func.value, depth + 1)
            if isinstance(func, ast.Name):
                if func.id in ("float", "int", "max") and expr.args:
                    kinds = [self._divisor_kind(script, a, depth + 1)[0] for a in expr.args]
                    if "tokens" in kinds:
                        return "tokens", ""
                    if "batch" in kinds:
                        return "batch", ""
                if func.id == "len" and expr.args and "batch" in script.source(expr.args[0]).lower():
                    return "batch", ""
            name = script.qualname(func) or ""
            if name in ("torch.sum", "torch.count_nonzero", "torch.numel"):
                return "tokens", ""
            return None, ""
        if isinstance(expr, ast.Subscript):
            value = expr.value
            if (isinstance(value, ast.Attribute) and value.attr == "shape"
                    and script.literal(expr.slice) == 0):
                return "batch", ""
            if TOKEN_WORDS.search(script.source(expr.slice)):
                return "tokens", ""
            return None, ""
        if isinstance(expr, ast.BinOp):
            kinds = [self._divisor_kind(script, side, depth + 1)[0] for side in (expr.left, expr.right)]
            if "tokens" in kinds:
                return "tokens", ""
            if isinstance(expr.op, ast.Mult):
                return None, ""  # batch x time is a token count
            return None, ""
        return None, ""

    @staticmethod
    def _trained_on_unaveraged(script: ParsedScript, call: ast.Call) -> bool:
        """Whether the summed loss itself reaches a backward pass in its function, with no
        division on the way: `loss.backward()`, `scaler.scale(loss).backward()`,
        `accelerator.backward(loss)`. A sum that is returned, logged or accumulated (an
        evaluation's total NLL divided by its token count later) is left to its caller."""
        scope = script.enclosing_function(call) or script.tree
        names: set[str] = set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and node.value is call:
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for node in ast.walk(scope):
            divided = (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                       and isinstance(node.left, ast.Name) and node.left.id in names)
            divided_in_place = (isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Div)
                                and isinstance(node.target, ast.Name) and node.target.id in names)
            if divided or divided_in_place:
                return False

        def is_loss(expr: ast.expr) -> bool:
            if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) \
                    and expr.func.attr == "scale" and expr.args:
                expr = expr.args[0]  # GradScaler.scale(loss)
            return expr is call or (isinstance(expr, ast.Name) and expr.id in names)

        for node in ast.walk(scope):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "backward"):
                continue
            if is_loss(node.func.value) or (node.args and is_loss(node.args[0])):
                return True
        return False

    def _normalized_elsewhere(self, script: ParsedScript, loss: LossCall) -> bool:
        """fairseq-style criteria return the sum with its token count for the trainer."""
        return self._function_mentions(script, loss.call, TOKEN_COUNTS)

    def _function_mentions(self, script: ParsedScript, node: ast.AST, pattern: re.Pattern) -> bool:
        """Whether the function holding `node` (the module at top level) matches `pattern`;
        one search per function and pattern, whatever the number of findings."""
        function = script.enclosing_function(node)
        key = (id(function), pattern.pattern)
        if key not in self._mentions:
            text = script.source(function) if function is not None else script.text
            self._mentions[key] = bool(pattern.search(text))
        return self._mentions[key]

    def _sequence(self, script: ParsedScript, node: ast.AST) -> bool:
        """Evidence that a loss runs over tokens rather than one label per sample: its input
        is flattened (`.view(-1, V)`), it skips padding (`ignore_index=`), or the function
        talks about tokens, padding, masks or smoothing."""
        if isinstance(node, ast.Call):
            first = node.args[0] if node.args and not isinstance(node.args[0], ast.Starred) else None
            for _ in range(4):
                if first is None:
                    break
                if FLATTENING.search(script.source(first)):
                    return True
                first = self._flattened_source(script, first)
            maker = None
            if isinstance(node.func, (ast.Name, ast.Attribute)):
                maker = script.origin(node.func)
            for call in (node, maker):
                if isinstance(call, ast.Call) and script.keyword(call, "ignore_index") is not None:
                    return True
        return self._function_mentions(script, node, SEQUENCE_WORDS)

    @staticmethod
    def _flattened_source(script: ParsedScript, expr: ast.expr) -> ast.expr | None:
        """The next expression back along a tensor's history (its variable's value, the
        argument of a log_softmax)."""
        if isinstance(expr, ast.Call):
            if expr.args and not isinstance(expr.args[0], ast.Starred):
                return expr.args[0]
            if isinstance(expr.func, ast.Attribute):
                return expr.func.value
            return None
        if isinstance(expr, (ast.Name, ast.Attribute)):
            return script.value_of(expr, defaults=False)
        return None
