"""TL901 initial-loss-out-of-range."""

from __future__ import annotations

from trainlint.api import FixAvailability, ProbeRule, RuleOptions, Severity


class InitialLossOutOfRange(ProbeRule):
    """Checks the loss at step 0 against the loss of a uniform prediction.

    ## What it does
    `trainlint probe` computes the loss of the untrained model on the first batch and
    compares it with its exact reference: ln(C) for C-class cross-entropy (with or without
    label smoothing: a uniform prediction scores ln(C) against any target distribution),
    ln(V) per predicted token for language models (causal or masked), and for CTC the loss of
    uniform log-probs on the same batch computed by `torch.nn.functional.ctc_loss` with the
    reduction the target declares (`ctc_reduction`, default `mean` as in `nn.CTCLoss`).
    It fires when the loss is outside [`low_factor` x reference, `high_factor` x reference].

    ## Why is this bad?
    A freshly initialised network predicts close to uniformly, so its loss sits near the
    reference. A loss many times higher means the loss is summed over tokens or frames, the
    targets or classes are wrong, or the logits are scaled; a loss far lower means labels leak
    into the inputs or the loss ignores most targets. Either way every number the run logs is
    on the wrong scale, and the learning rate tuned against it is too.

    ## Example
    ```python
    def loss(outputs, batch):  # label smoothing, summed over every token
        return label_smoothing_kl(outputs, batch["targets"]).sum()
    ```
    `TL901 initial loss 218.4 is 63x its reference 3.466 (ln 32 per token cross-entropy)`

    ## Use instead
    ```python
    def loss(outputs, batch):  # averaged per predicted token
        return label_smoothing_kl(outputs, batch["targets"]).sum() / batch["targets"].numel()
    ```

    ## Fix safety
    No fix: the probe reports what it measured; the loss code has to change.

    ## Options
    - `low_factor` (default 0.5) and `high_factor` (default 2.0): the accepted band around
      the reference. A real initialisation is not exactly uniform, so its loss runs a little
      above the reference; 2x leaves room for that and for a KL-based label-smoothing loss
      (which is ln(C) minus the entropy of the smoothed targets), while a summed loss is off
      by the sequence length.

    ## Source
    Seed 000_c50777d40fdc0372.txt: a LabelSmoothingLoss bug made the initial loss 500+ where
    4-7 was right; 20+ epochs were spent before the loss reached 25.
    """

    code = "TL901"
    name = "initial-loss-out-of-range"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "the initial loss is far from the loss of a uniform prediction"

    class Options(RuleOptions):
        low_factor: float = 0.5
        high_factor: float = 2.0
