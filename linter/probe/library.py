"""`probe(target)`: the library call a training script (or a Trainer callback) makes."""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from trainlint.api import Diagnostic, Severity, Span
from trainlint.context import RuleContext
from trainlint.probe.errors import ProbeFailed
from trainlint.probe.measurements import Measurements
from trainlint.probe.options import ProbeOptions
from trainlint.probe.target import ProbeTarget


@dataclass
class ProbeResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    measurements: Measurements | None = None
    notes: list[str] = field(default_factory=list)
    judgement: Any = None  # where findings point and what the target declared (findings.Judgement)
    skipped: str | None = None  # why nothing ran (a rank other than 0)
    # What the shared reporters read besides diagnostics and notes.
    errors: list[str] = field(default_factory=list)
    fixed: int = 0
    unsafe_fixable: int = 0

    @property
    def failing(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is not Severity.INFO]

    @property
    def codes(self) -> list[str]:
        return [d.code for d in self.diagnostics]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


@dataclass
class Context:
    """Where findings point and what settings say (built by the CLI or from the caller)."""

    path: str
    span: Span
    ctx: RuleContext
    model_type: str | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    title: str = "trainlint probe"
    _rules: list[Any] | None = None

    @property
    def rules(self) -> list[Any]:
        """The selected probe rules, built once with the context's options."""
        if self._rules is None:
            from trainlint.probe.findings import selected_rules

            self._rules = selected_rules(self.ctx, self.select, self.ignore)
        return self._rules


def probe(target: ProbeTarget, *, steps: int | None = None, max_seconds: float | None = None,
          seed: int = 0, settings: Any = None, select: list[str] | None = None,
          ignore: list[str] | None = None, report: bool = True, output_format: str = "text",
          stream: TextIO | None = None, strict: bool = False) -> ProbeResult:
    """Probe `target` where its model is, restore its state, print the report on rank 0.

    `settings` is a trainlint Settings (thresholds, severities, model type), or None for the
    defaults. `strict=True` raises ProbeFailed when a finding is at warning or error level,
    so a training script can stop before the expensive run. Other ranks of a distributed
    job return at once with `skipped` set.
    """
    rank = _distributed_rank()
    if rank:
        return ProbeResult(skipped=f"rank {rank}: only rank 0 probes")
    context = context_for(target, settings, select, ignore)
    options = probe_options(context, steps, max_seconds, seed)
    result = run(target, options, context)
    if report:
        write_report(result, context, output_format, stream or sys.stdout)
    if strict and result.failing:
        raise ProbeFailed(result)
    return result


def run(target: ProbeTarget, options: ProbeOptions, context: Context) -> ProbeResult:
    from trainlint.probe.findings import Judgement, judge
    from trainlint.probe.measure import measure

    measurements = measure(target, options)
    model_type = target.model_type or context.model_type
    judgement = Judgement(context.path, context.span, context.ctx, model_type, target.lr_floor,
                          context.select, context.ignore, list(measurements.notes))
    diagnostics = judge(measurements, judgement, context.rules)
    return ProbeResult(diagnostics, measurements, judgement.notes, judgement)


def probe_options(context: Context, steps: int | None, max_seconds: float | None,
                  seed: int = 0, device: str | None = None, overfit_lr: float | None = None
                  ) -> ProbeOptions:
    """The run's options: what the selected rules ask to be measured, then the caller's."""
    from trainlint.probe.findings import prepare

    options = ProbeOptions(seed=seed, device=device)
    prepare(context.rules, options)
    if steps is not None:
        options.steps = steps
    if max_seconds is not None:
        options.max_seconds = max_seconds
    if overfit_lr is not None:
        options.overfit_lr = overfit_lr
    return options


def context_for(target: ProbeTarget, settings: Any, select: list[str] | None,
                ignore: list[str] | None, path: str | None = None, span: Span | None = None
                ) -> Context:
    ctx = settings.rule_context() if hasattr(settings, "rule_context") else RuleContext()
    project = getattr(settings, "project", None)
    where_path, where_span = (path, span) if path else _model_location(target.model)
    return Context(
        path=where_path, span=where_span or Span(0, 0, 1, 1, 1, 1), ctx=ctx,
        model_type=getattr(project, "model_type", None),
        select=list(select if select is not None else getattr(settings, "select", []) or []),
        ignore=list(ignore if ignore is not None else getattr(settings, "ignore", []) or []),
    )


def _model_location(model: Any) -> tuple[str, Span]:
    """Library mode has no factory: point at the model class's definition."""
    cls = type(getattr(model, "module", model))
    try:
        path = inspect.getsourcefile(cls) or "<probe>"
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return "<probe>", Span(0, 0, 1, 1, 1, 1)
    return path, Span(0, 0, line, 1, line, 1)


def _distributed_rank() -> int:
    torch = sys.modules.get("torch")
    if torch is None:
        return 0
    distributed = getattr(torch, "distributed", None)
    if distributed is None or not distributed.is_available() or not distributed.is_initialized():
        return 0
    return distributed.get_rank()


def write_report(result: ProbeResult, context: Context, output_format: str, stream: TextIO,
                 plot: bool = True, color: bool | None = None) -> None:
    from trainlint.probe import render

    if output_format == "json":
        _render_shared(result, "json", stream, color)
        return
    m = result.measurements
    if m is not None:
        extra = (f" (+{m.steps_trained - m.steps_run} more on the same batch)"
                 if m.steps_trained > m.steps_run else "")
        title = (f"{context.title} on {m.device}: {m.steps_run} of {m.steps_requested} steps"
                 f"{extra} in {m.seconds:.2f} s")
        from trainlint.probe.findings import table_rows

        rows = table_rows(m, result.judgement, context.rules)
        stream.write(render.format_table(rows, title) + "\n")
        if plot:
            ascii_only = not render.can_encode(stream, render.BLOCKS)
            chart = render.loss_plot(m.losses, ascii_only=ascii_only)
            if chart:
                stream.write("loss per step\n" + chart + "\n")
    for note in result.notes:
        stream.write(f"note: {note}\n")
    stream.write("\n")
    _render_shared(result, "text", stream, color)


def _render_shared(result: ProbeResult, output_format: str, stream: TextIO,
                   color: bool | None) -> None:
    """The shared reporters (trainlint.report.<format>), else the same format written here."""
    try:
        from trainlint.report import render as shared_render
    except ImportError:
        shared_render = None
    view = replace(result, notes=[])  # the notes were printed with the table
    if shared_render is not None:
        shared_render(view, output_format, stream, verbose=False, color=color)
        return
    if output_format == "json":
        import json

        json.dump([_as_dict(d) for d in result.diagnostics], stream, indent=2)
        stream.write("\n")
        return
    for d in result.diagnostics:
        stream.write(f"{d.path}:{d.span.line}:{d.span.col}: {d.code} {d.message}\n")
    count = len(result.diagnostics)
    stream.write(f"Found {count} finding{'s' * (count != 1)}.\n" if count else "All checks passed!\n")


def _as_dict(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "name": d.name, "severity": d.severity.value, "message": d.message,
            "filename": d.path, "location": {"row": d.span.line, "column": d.span.col},
            "end_location": {"row": d.span.end_line, "column": d.span.end_col}, "fix": None,
            "url": d.url, "basis": d.basis}
