"""The probe rules (rules/probe/, TL9xx) applied to what the probe measured.

This module knows no rule by name. A probe rule is a `ProbeRule` with

- `check_measurements(m, where) -> Iterable[Diagnostic]`: its findings from the
  Measurements `m`; `where` (a Judgement) says where findings point, the model type and
  LR floor the target declares, and collects notes (a check skipped, a verdict left open);

and, where it needs them,

- `prepare_probe(options)`: what it needs measured (TL902: the steps; TL905: how far to
  follow the LR schedule), before the run;
- `wants_more_steps(m) -> bool`: asked after the overfit steps; the probe trains on in
  chunks while a rule says yes (TL904: CTC predictions that look collapsed while the loss
  still falls);
- `table_rows(m, where) -> [(measured, value, reference)]`: its lines of the text report.

Pure Python: it runs rules on numbers, so it is tested without running a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trainlint.api import Diagnostic, ProbeRule, Rule, Span
from trainlint.context import RuleContext
from trainlint.probe.measurements import Measurements


@dataclass
class Judgement:
    """What the rules need besides the measurements: where to report, and the context."""

    path: str
    span: Span
    ctx: RuleContext = field(default_factory=RuleContext)
    model_type: str | None = None
    lr_floor: float | None = None  # ProbeTarget.lr_floor
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def probe_rule_classes() -> tuple[type[Rule], ...]:
    """Every rule that judges measurements, in code order (plugins' probe rules too)."""
    from trainlint.registry import all_rules

    return tuple(rule for rule in all_rules(frozenset({"ProbeRule"}))
                 if issubclass(rule, ProbeRule) and hasattr(rule, "check_measurements"))


def selected_rules(ctx: RuleContext, select: list[str], ignore: list[str]) -> list[Rule]:
    from trainlint.registry import is_selected

    return [rule_cls(ctx) for rule_cls in probe_rule_classes()
            if is_selected(rule_cls.code, select, [], ignore)]


def prepare(rules: list[Rule], options: Any) -> None:
    """Let each rule ask for what it needs measured, and answer the probe's 'train on?'."""
    for rule in rules:
        hook = getattr(rule, "prepare_probe", None)
        if hook is not None:
            hook(options)
    askers: list[Callable[[Measurements], bool]] = [
        rule.wants_more_steps for rule in rules if hasattr(rule, "wants_more_steps")]
    options.more_steps = (lambda m: any(ask(m) for ask in askers)) if askers else None


def judge(m: Measurements, where: Judgement, rules: list[Rule] | None = None) -> list[Diagnostic]:
    """Every selected probe rule's findings, in code order; notes go to `where.notes`."""
    if rules is None:
        rules = selected_rules(where.ctx, where.select, where.ignore)
    diagnostics: list[Diagnostic] = []
    for rule in rules:
        diagnostics.extend(rule.check_measurements(m, where))
    return diagnostics


def table_rows(m: Measurements, where: Judgement, rules: list[Rule]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for rule in rules:
        hook = getattr(rule, "table_rows", None)
        if hook is not None:
            rows.extend(hook(m, where))
    return rows
