"""TL904 ctc-collapse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trainlint.api import Diagnostic, FixAvailability, ProbeRule, RuleOptions, Severity


class CtcCollapse(ProbeRule):
    """Checks that a CTC model's predictions leave the all-blank phase while it trains.

    ## What it does
    During the overfit steps (TL902, at the schedule's peak LR) `trainlint probe` looks at the
    model's greedy predictions on the fixed batch in eval mode, over the valid frames (those
    within the output lengths). The predictions *look collapsed* when any of these holds:
    - the blank share is above `max_blank_share` while the model emits fewer than
      `min_emitted_share` of the non-blank frames the targets need (so a word-level model
      whose targets are short does not fire just for being mostly blank, as a fitted CTC
      model is);
    - every input decodes to the same output, or one token is the only non-blank prediction
      anywhere, while the targets differ;
    - the mean per-frame entropy is above `max_entropy_share` of its maximum ln(C): the
      model still guesses uniformly.

    Predictions that decode most of the batch exactly never look collapsed.

    A healthy CTC model passes through an all-blank phase, and its loss keeps falling there.
    So the rule judges the trajectory, not one moment: while the predictions look collapsed
    and the loss fell by at least `min_fall` over the last `plateau_steps` steps (a straight
    line fitted through them), the probe trains on the same batch in chunks, up to
    `extend_factor` x `--steps` steps and within `--max-seconds`, and looks again. It fires
    only when the predictions still look collapsed **and** the loss has stopped falling. When
    the steps or the time run out while the loss still falls, it says so in a note (no
    finding). The finding carries the loss curve: the loss and the blank share at each look.

    ## Why is this bad?
    A CTC model first learns to predict blank everywhere; with a learning rate that is too
    low, or inputs that carry no information, it stays there or settles on one frequent
    token, and the loss stops moving. Word error rate stays at 100% while the logged loss
    looks like it went down once.

    ## Example
    ```python
    optimizer = Adam(model.parameters(), lr=1e-5)
    ```
    `TL904 after 50 steps on one batch the CTC predictions collapsed and the loss stopped
    falling: token 4 is the only non-blank prediction while the targets use 6 tokens; the
    output is still near uniform (mean frame entropy 100% of ln(C)); loss 2.414 (step 0) ->
    2.406 (step 50, 70% blank), -0.3% over the last 50 steps`

    ## Use instead
    ```python
    optimizer = Adam(model.parameters(), lr=1e-3)  # the LR the overfit test validated
    ```

    ## Fix safety
    No fix: the probe reports what it measured.

    ## Options
    - `max_blank_share` (default 0.9): blank share of argmax frames above which the model
      may have collapsed to blank.
    - `min_emitted_share` (default 0.5): the share of the needed non-blank frames (target
      tokens / frames) the model must emit before a high blank share is accepted.
    - `max_entropy_share` (default 0.95): mean frame entropy / ln(C) above which the
      output counts as uniform.
    - `min_fall` (default 0.02) and `plateau_steps` (default 50): the loss has stopped
      falling when its fitted line over the last `plateau_steps` steps fell by less than
      `min_fall` of its value. On the calibration suite (bench/probe_calibration.py) the
      healthy CTC models fall 18% or more per 50 steps while all blank; a model at 1e-5
      (seed 004's warmup start) falls 0.3%, one fed zeroed frames 1.6%.
    - `extend_factor` (default 20): how many times `--steps` the probe may train while the
      loss still falls before it leaves the verdict open.

    ## Source
    Seed 004_9d53dcec9b7b0ae7.txt: log-probs within [-6.882, -6.878] (uniform), "HAAR"
    predicted for every input, 100% WER for 15 epochs; seed 001_89dd3a1cf9741857.txt lists
    "blank prediction rate > 90%" and "prediction entropy > 95%" as the collapse signs.
    Issue 15: a healthy Conv1d + BiLSTM model was 95% blank at step 200 with its loss still
    falling, 58% blank at step 400 with loss 0.13.
    """

    code = "TL904"
    name = "ctc-collapse"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "the CTC model's predictions collapsed"

    class Options(RuleOptions):
        max_blank_share: float = 0.9
        min_emitted_share: float = 0.5
        max_entropy_share: float = 0.95
        min_fall: float = 0.02
        plateau_steps: int = 50
        extend_factor: float = 20.0

    def wants_more_steps(self, m: Any) -> bool:
        """Train on while the predictions look collapsed and the loss still falls."""
        if m.task != "ctc" or m.ctc is None or not self.collapse_signs(m.ctc):
            return False
        if m.steps_trained >= self.options.extend_factor * m.steps_requested:
            return False
        fall = self.loss_fall(m.losses)
        return fall is None or fall >= self.options.min_fall  # None: too few steps to tell

    def check_measurements(self, m: Any, where: Any) -> Iterator[Diagnostic]:
        if m.task != "ctc":
            return
        if m.ctc is None:
            if m.steps_run == 0 and m.non_finite is None and m.trainable_params:
                where.notes.append("TL904 skipped: it judges the predictions during the steps; "
                                   "none ran")
            return
        signs = self.collapse_signs(m.ctc)
        fall = self.loss_fall(m.losses)
        if not signs or fall is None:
            return
        trend = f"{-fall:+.1%} over the last {self._window(m.losses)} steps"
        if fall >= self.options.min_fall:
            stopped = ("--max-seconds ran out" if m.out_of_time
                       else f"the probe trains at most {self.options.extend_factor:g} x --steps")
            where.notes.append(f"TL904 undecided: after {m.ctc_steps} steps the CTC predictions "
                               f"still look collapsed ({signs[0]}), but the loss still falls "
                               f"({trend}) and {stopped}; allow more steps or time")
            return
        yield self.diagnostic(
            where.path, where.span,
            f"after {m.ctc_steps} steps on one batch the CTC predictions collapsed and the loss "
            f"stopped falling: {'; '.join(signs)}; loss {loss_curve(m)}, {trend}")

    def table_rows(self, m: Any, where: Any) -> list[tuple[str, str, str]]:
        stats = m.ctc
        if stats is None:
            return []
        o = self.options
        rows = [
            (f"blank share at step {m.ctc_steps}", f"{stats.blank_share:.0%}",
             f"targets need {stats.needed_share:.0%} non-blank; collapse if > "
             f"{o.max_blank_share:.0%} blank"),
            (f"frame entropy / ln C at step {m.ctc_steps}", f"{stats.entropy_share:.0%}",
             f"uniform if > {o.max_entropy_share:.0%}"),
        ]
        fall = self.loss_fall(m.losses)
        if fall is not None:
            rows.append((f"loss trend, last {self._window(m.losses)} steps", f"{-fall:+.1%}",
                         f"stopped falling if > -{o.min_fall:.0%}; loss {loss_curve(m)}"))
        return rows

    def collapse_signs(self, stats: Any) -> list[str]:
        """Why the predictions look collapsed (empty: they do not)."""
        o = self.options
        if stats.exact_share >= 0.5:
            return []
        signs = []
        if (stats.blank_share > o.max_blank_share
                and stats.emitted_share < o.min_emitted_share * stats.needed_share):
            signs.append(f"{stats.blank_share:.0%} of frames predict blank, and only "
                         f"{stats.emitted_share:.1%} are non-blank where the targets need "
                         f"{stats.needed_share:.1%}")
        if stats.same_output and stats.distinct_targets > 1:
            signs.append(f"every input decodes to the same output {list(stats.example)}")
        elif stats.single_token is not None and stats.distinct_target_tokens > 1:
            signs.append(f"token {stats.single_token} is the only non-blank prediction while "
                         f"the targets use {stats.distinct_target_tokens} tokens")
        if stats.entropy_share > o.max_entropy_share:
            signs.append(f"the output is still near uniform (mean frame entropy "
                         f"{stats.entropy_share:.0%} of ln(C))")
        return signs

    def loss_fall(self, losses: list[float]) -> float | None:
        """How much of its value the loss lost over the last `plateau_steps` steps, read from
        a least-squares line through them (dropout makes single steps noisy); None with
        fewer than 5 steps."""
        window = losses[-self.options.plateau_steps:]
        if len(window) < 5:
            return None
        count = len(window)
        mean_x, mean_y = (count - 1) / 2, sum(window) / count
        slope = (sum((x - mean_x) * (y - mean_y) for x, y in enumerate(window))
                 / sum((x - mean_x) ** 2 for x in range(count)))
        start = mean_y - slope * mean_x
        if start <= 0:
            return None
        return -slope * (count - 1) / start

    def _window(self, losses: list[float]) -> int:
        return min(len(losses), self.options.plateau_steps)


def loss_curve(m: Any, points: int = 5) -> str:
    """'10.96 (step 0) -> 9.9 (step 50, 47% blank) -> ...': the loss and blank share at up to
    `points` of the looks the probe took."""
    checks = m.ctc_checks
    if len(checks) > points - 1:
        picked = [checks[round(i * (len(checks) - 1) / (points - 2))] for i in range(points - 1)]
    else:
        picked = list(checks)
    parts = [f"{m.losses[0]:.4g} (step 0)"] if m.losses else []
    parts += [f"{check.loss:.4g} (step {check.step}, {check.blank_share:.0%} blank)"
              for check in picked]
    return " -> ".join(parts)
