"""TL302 patience-vs-plateau: early stopping fires before the plateau scheduler can lower the LR twice.

The class docstring is the rule's page (docs/rules/TL302.md).
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
from trainlint.rules.duration.patience import minimum_patience, rounds_for
from trainlint.rules.numbers import new_text, spliceable


class PatienceVsPlateau(ConfigRule):
    """## What it does
    Fires when the early-stopping patience is at most `plateau_factor` (2) times the
    `ReduceLROnPlateau` patience, both converted to epochs (a plateau scheduler built without
    `patience` waits 10 epochs, PyTorch's default).

    ## Why is this bad?
    The plateau scheduler lowers the LR only after `patience` epochs without improvement; the
    lower LR then needs some epochs to pay off. If early stopping waits no longer than two
    plateau periods, training stops before the LR has been reduced twice: exactly when the
    schedule was about to help.

    ## Example
    ```python
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=10)
    parser.add_argument("--early_stopping_patience", type=int, default=15)
    ```

    ## Use instead
    ```python
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=10)
    parser.add_argument("--early_stopping_patience", type=int, default=30)
    ```

    ## Fix safety
    Unsafe: it raises the early-stopping patience to 2 x plateau + 1, or to TL301's minimum
    where that is larger (so both rules agree on one value).

    ## Options
    - `plateau_factor` (2.0): how many plateau periods the early stopping must outlast.

    ## Source
    Seed 004 (`004_9d53dcec9b7b0ae7.txt`): early stopping at 15 next to `ReduceLROnPlateau`
    patience 10 was raised to 30.
    """

    class Options(RuleOptions):
        plateau_factor: float = 2.0

    code = "TL302"
    name = "patience-vs-plateau"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "early stopping fires before the plateau scheduler can lower the LR twice"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "raise the early-stopping patience above twice the plateau patience"

    bad = (
        Example("train.yaml", "lr: 5.0e-4\nepochs: 50\npatience: 15\nlr_patience: 10\n",
                fixed="lr: 5.0e-4\nepochs: 50\npatience: 21\nlr_patience: 10\n", unsafe=True),
        Example("config.yaml", "trainer:\n  max_epochs: 50\n  callbacks:\n"
                "    - class_path: lightning.pytorch.callbacks.EarlyStopping\n"
                "      init_args:\n        monitor: val_loss\n        patience: 8\n"
                "lr_scheduler:\n  class_path: torch.optim.lr_scheduler.ReduceLROnPlateau\n"
                "  init_args:\n    patience: 5\n"),
    )
    good = (
        Example("train.yaml", "lr: 5.0e-4\nepochs: 500\npatience: 30\nlr_patience: 10\n"),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        stopping, plateau = derived.stopping_patience, derived.plateau_patience
        if stopping is None or plateau is None or stopping.epochs is None or plateau.epochs is None:
            return
        limit = self.options.plateau_factor * plateau.epochs
        if stopping.epochs > limit:
            return
        origin = " (PyTorch default)" if plateau.default else ""
        message = (f"early-stopping patience {stopping.text} <= {fmt(self.options.plateau_factor)} x "
                   f"plateau patience {fmt(plateau.epochs)} epochs{origin}: training stops before the "
                   f"LR is reduced twice")
        need = limit + 1
        overall = minimum_patience(derived, self.options.plateau_factor)
        if overall is not None:
            need = max(need, overall.epochs)
        fix = None
        new_rounds = rounds_for(stopping, need)
        if stopping.source is not None and spliceable(stopping.source) and new_rounds is not None:
            fix = self.replace_value(stopping.source, new_text(stopping.source, new_rounds),
                                     f"patience {fmt(stopping.rounds)} -> {new_rounds} {stopping.unit}")
            message += f": {fix.message}"
        yield self.at(stopping.source or stopping.anchor, message, fix)
