"""TL904 ctc-collapse."""

from __future__ import annotations

from trainlint.api import FixAvailability, ProbeRule, RuleOptions, Severity


class CtcCollapse(ProbeRule):
    """Checks a CTC model's greedy predictions after the probe's training steps.

    ## What it does
    After the overfit steps (TL902), `trainlint probe` runs the model in eval mode on the
    fixed batch it trained on and looks at the argmax over the valid frames (those within the
    output lengths). A healthy CTC model passes through an all-blank phase, then a phase with
    few distinct tokens, so where the predictions look collapsed the probe trains on up to
    `extend_factor` x the steps (within `--max-seconds`) and judges again. It fires when any of
    these still holds:
    - the blank share is above `max_blank_share` while the model emits fewer than
      `min_emitted_share` of the non-blank frames the targets need (so a word-level model
      whose targets are short does not fire just for being mostly blank, as a fitted CTC
      model is);
    - every input decodes to the same output, or one token is the only non-blank prediction
      anywhere, while the targets differ;
    - the mean per-frame entropy is above `max_entropy_share` of its maximum ln(C): the
      model still guesses uniformly.

    ## Why is this bad?
    A CTC model first learns to predict blank everywhere; with a learning rate that is too
    low it stays there or settles on one frequent token, and the loss still goes down a
    little. Word error rate stays at 100% while the loss curve looks like learning.

    ## Example
    ```python
    optimizer = Adam(model.parameters(), lr=1e-4)
    scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=5)  # stepped per epoch
    ```
    `TL904 after 50 steps the CTC output is still near uniform: entropy 99% of ln(C)`

    ## Use instead
    ```python
    optimizer = Adam(model.parameters(), lr=5e-4)  # the LR the overfit test validated
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
    - `extend_factor` (default 4): how many times `--steps` the probe may train before it
      calls a collapse; an all-blank phase of a few dozen steps is normal.

    ## Source
    Seed 004_9d53dcec9b7b0ae7.txt: log-probs within [-6.882, -6.878] (uniform), "HAAR"
    predicted for every input, 100% WER for 15 epochs; seed 001_89dd3a1cf9741857.txt lists
    "blank prediction rate > 90%" and "prediction entropy > 95%" as the collapse signs.
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
        extend_factor: float = 4.0
