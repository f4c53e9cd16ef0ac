"""TL905 lr-at-start."""

from __future__ import annotations

from trainlint.api import FixAvailability, ProbeRule, RuleOptions, Severity


class LrAtStart(ProbeRule):
    """Checks the learning rate the optimizer really uses at its first step.

    ## What it does
    `trainlint probe` builds the optimizer and the scheduler as the training script does and
    reads the LR from the optimizer's param groups after the scheduler is constructed (a
    scheduler's constructor performs its first step: `LinearLR(start_factor=0.1)` has already
    cut the LR to a tenth). It fires when that LR (the largest over the param groups) is
    below the model type's band floor divided by `floor_divisor` and stays there: for a
    scheduler stepped once an epoch, the whole first epoch runs at that LR; a scheduler
    stepped every optimizer step is followed (the probe steps it alone, then puts it back)
    and may take up to `grace_steps` steps to reach floor / `floor_divisor`, so a short
    linear warmup from 0 (Hugging Face's default) passes. The floor comes from
    `lr_floor` (option or `ProbeTarget.lr_floor`), else from the LR band of the model type
    (`model-type` setting, `--model-type`, or `ProbeTarget.model_type`) in
    `trainlint/rules/data/lr_bands.toml`. Bands hold for Adam/AdamW (SGD for `cnn-sgd`) only;
    with another optimizer, or Adam with eps >= 1e-3, the rule stays quiet unless `lr_floor`
    is set. With no floor known, it stays quiet and says which setting would let it decide.
    Error for CTC tasks, warning otherwise.

    ## Why is this bad?
    A per-epoch warmup that starts at a tenth of an already low LR spends whole epochs at a
    learning rate where a CTC model cannot leave the all-blank / one-token solution.

    ## Example
    ```python
    optimizer = Adam(model.parameters(), lr=1e-4)
    scheduler = LinearLR(optimizer, start_factor=0.1, total_iters=5)  # 1e-5 at step 0
    ```
    `TL905 LR at the first step is 1e-05, below 5e-05 (the rnn-ctc band floor 0.0005 / 10)`

    ## Use instead
    ```python
    optimizer = Adam(model.parameters(), lr=5e-4)
    scheduler = LinearLR(optimizer, start_factor=0.5, total_iters=3)
    ```

    ## Fix safety
    No fix: the probe reports what it measured; TL101 fixes the config statically.

    ## Options
    - `floor_divisor` (default 10): how far below the band floor the start may be. Short
      step-based warmups that start near zero are normal; a start ten times below the floor
      at the first step is what stalled seed 004.
    - `lr_floor` (default unset): the band floor to use instead of the model type's.
    - `grace_steps` (default 1000): how many optimizer steps a per-step schedule may spend
      below floor / `floor_divisor`. A linear warmup from 0 reaches a tenth of its peak after
      a tenth of its length, so warmups up to 10,000 steps pass; seed 000's 15,000-step
      warmup, which its notes call too conservative, does not.

    ## Source
    Seed 004_9d53dcec9b7b0ae7.txt: warmup at 10% of 1e-4 = 1e-5, 50x below the LR the
    overfit test validated; the model collapsed to one word.
    """

    code = "TL905"
    name = "lr-at-start"
    severity = Severity.WARNING
    fix_availability = FixAvailability.NONE
    message = "the learning rate at the first step is below the model type's band"

    class Options(RuleOptions):
        floor_divisor: float = 10.0
        lr_floor: float | None = None
        grace_steps: int = 1000
