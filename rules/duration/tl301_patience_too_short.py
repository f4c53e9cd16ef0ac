"""TL301 patience-too-short: early-stopping patience is too short for the run.

The class docstring is the rule's page (docs/rules/TL301.md).
"""

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Example,
    FixAvailability,
    RuleOptions,
    Severity,
    derive,
    fmt,
)
from trainlint.rules.duration.patience import minimum_patience, rounds_for, tiny_dataset
from trainlint.rules.numbers import new_text, spliceable


class PatienceTooShort(ConfigRule):
    """## What it does
    Fires when the early-stopping patience, converted to epochs, is below
    `max(2 x plateau patience + 1, min(0.2 x max epochs, 30))`. The patience is counted in the
    framework's own unit first: Lightning's `EarlyStopping(patience)` counts validation checks
    (every `check_val_every_n_epoch` epochs, or `val_check_interval`), the Hugging Face
    `EarlyStoppingCallback` counts evaluations (every epoch or every `eval_steps` steps), and
    plain scripts and ESPnet count epochs. Defaults count too: Lightning's patience is 3, HF's 1,
    `ReduceLROnPlateau`'s 10. The rule is skipped for tiny data sets (fewer than 100 samples,
    where known: an overfit test).

    ## Why is this bad?
    Validation loss on a real data set is noisy and often flat for many epochs before it drops
    again, especially while a plateau scheduler has not yet lowered the LR. A short patience
    stops such runs long before they converge.

    ## Example
    ```python
    parser.add_argument("--patience", type=int, default=15)  # with --epochs 150
    ```

    ## Use instead
    ```python
    parser.add_argument("--patience", type=int, default=30)
    ```

    ## Fix safety
    Unsafe: it raises the patience to the computed minimum, in the framework's unit. A default
    patience (no literal to edit) gets no fix.

    ## Options
    - `plateau_factor` (2.0): the patience must outlast this many plateau patiences (+1).
    - `share_of_run` (0.2): ... or this share of the run's epochs,
    - `cap_epochs` (30): ... capped at this many epochs.

    ## Source
    Seed 001 (`001_89dd3a1cf9741857.txt`): patience 15 of 150 epochs on 6,000 samples stopped
    the teacher at epoch 45 with 92% WER; 30-40 was recommended ("early stopping patience must
    scale with dataset size"). Seed 004 (`004_9d53dcec9b7b0ae7.txt`): patience 15 -> 30 next to
    a plateau patience of 10.
    """

    class Options(RuleOptions):
        plateau_factor: float = 2.0
        share_of_run: float = 0.2
        cap_epochs: float = 30.0

    code = "TL301"
    name = "patience-too-short"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "early-stopping patience is too short for the run"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "raise the patience to the computed minimum"

    bad = (
        Example("train.yaml", "lr: 3.0e-4\nepochs: 150\nbatch_size: 8\npatience: 15\n",
                fixed="lr: 3.0e-4\nepochs: 150\nbatch_size: 8\npatience: 30\n", unsafe=True),
        Example("config.yaml", "trainer:\n  max_epochs: 100\n  check_val_every_n_epoch: 1\n"
                "  callbacks:\n    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
                "      init_args:\n        monitor: val_loss\n"),
        Example("config.yaml", "trainer:\n  max_epochs: 100\n  check_val_every_n_epoch: 2\n"
                "  callbacks:\n    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
                "      init_args:\n        monitor: val_loss\n        patience: 5\n",
                fixed="trainer:\n  max_epochs: 100\n  check_val_every_n_epoch: 2\n"
                      "  callbacks:\n    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
                      "      init_args:\n        monitor: val_loss\n        patience: 10\n",
                unsafe=True),
    )
    good = (
        Example("train.yaml", "lr: 3.0e-4\nepochs: 150\nbatch_size: 8\npatience: 30\n"),
        Example("overfit.yaml", "lr: 3.0e-4\nepochs: 150\nbatch_size: 5\npatience: 5\n"
                "dataset_size: 5\n"),
        Example("config.yaml", "trainer:\n  max_epochs: 100\n  check_val_every_n_epoch: 5\n"
                "  callbacks:\n    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
                "      init_args:\n        monitor: val_loss\n        patience: 4\n"),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        patience = derived.stopping_patience
        if patience is None or patience.epochs is None or tiny_dataset(derived):
            return
        options = self.options
        need = minimum_patience(derived, options.plateau_factor, options.share_of_run, options.cap_epochs)
        if need is None or patience.epochs >= need.epochs - 1e-9:
            return
        kind = "default patience" if patience.default else "patience"
        message = (f"early-stopping {kind} {patience.text} is shorter than {fmt(need.epochs)} epochs "
                   f"({need.reason})")
        fix = None
        new_rounds = rounds_for(patience, need.epochs)
        if patience.source is not None and spliceable(patience.source) and new_rounds is not None:
            fix = self.replace_value(patience.source, new_text(patience.source, new_rounds),
                                     f"patience {fmt(patience.rounds)} -> {new_rounds} {patience.unit}")
            message += f": {fix.message}"
        yield self.at(patience.source or patience.anchor, message, fix)
