"""TL902 loss-not-decreasing."""

from __future__ import annotations

from trainlint.api import FixAvailability, ProbeRule, RuleOptions, Severity


class LossNotDecreasing(ProbeRule):
    """Checks that the model can overfit one fixed batch.

    ## What it does
    `trainlint probe` trains on the first batch for `steps` optimizer updates, with the
    optimizer and scheduler the training script builds (or Adam at lr 1e-3 when the target
    brings none), and measures the loss on that batch again with the same dropout masks as
    at step 0. It fires when the loss fell by less than `min_drop` of its initial value, or
    when nothing can learn at all (no parameter requires grad, or the loss is detached from
    every trainable parameter).

    ## Why is this bad?
    Any working model, loss and optimizer drive the loss on a single repeated batch down
    quickly. When they cannot, the full run cannot either: the parameters are frozen, the
    graph is cut (`.detach()`, `.item()`, `torch.no_grad()`), the learning rate the script
    really uses is far too low, or the loss does not depend on the outputs the way it should.

    ## Example
    ```python
    model = build_model()
    model.requires_grad_(False)  # meant to freeze the encoder only
    ```
    `TL902 no parameter requires grad (0 of 1,210 trainable): nothing can learn`

    ## Use instead
    ```python
    model = build_model()
    model.encoder.requires_grad_(False)
    ```

    ## Fix safety
    No fix: the probe reports what it measured.

    ## Options
    - `steps` (default 50): optimizer updates on the fixed batch; `--steps` overrides it.
    - `min_drop` (default 0.3): the share of the initial loss the steps must remove. A tiny
      model overfits one batch far beyond 30% in 50 steps at a working learning rate.

    ## Source
    Seeds 001_89dd3a1cf9741857.txt and 004_9d53dcec9b7b0ae7.txt: the overfitting test (5
    samples to 0% WER) was the one check that told a working model from a broken schedule;
    the full runs that ignored it ended at 92% and 100% WER.
    """

    code = "TL902"
    name = "loss-not-decreasing"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "the loss does not decrease when overfitting one fixed batch"

    class Options(RuleOptions):
        steps: int = 50
        min_drop: float = 0.3
