"""TL304 patience-exceeds-run: patience is as long as the run: it can never fire.

The class docstring is the rule's page (docs/rules/TL304.md).
"""

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Example,
    FixAvailability,
    Severity,
    derive,
    described,
    fmt,
    run_epochs,
)


class PatienceExceedsRun(ConfigRule):
    """## What it does
    Finds an early-stopping or `ReduceLROnPlateau` patience that is at least as long as the
    run itself (both in epochs): it can never fire. Information for early stopping; a warning
    for a plateau scheduler that is the run's only LR schedule, because then the LR never
    decays at all.

    ## Why is this bad?
    A patience that cannot fire is a setting that does nothing: the run was probably meant to
    rely on it (to stop, or to lower the LR), and silently does neither.

    ## Example
    ```yaml
    epochs: 25
    lr_patience: 50
    ```

    ## Use instead
    ```yaml
    epochs: 25
    lr_patience: 5
    ```

    ## Fix safety
    No fix: a shorter patience or a longer run are both reasonable.

    ## Options
    None.

    ## Source
    PyTorch `ReduceLROnPlateau` (torch 2.x) lowers the LR only after `patience` steps without
    improvement; early stopping likewise. Seed 001's overfit test ran 2,000 epochs with no early
    stopping at all, the full run relied on it.
    """

    code = "TL304"
    name = "patience-exceeds-run"
    severity = Severity.INFO
    fix_availability = FixAvailability.NONE
    message = "patience is as long as the run: it can never fire"
    precision = "no findings (dev corpus, 28 repositories)"

    bad = (
        Example("train.yaml", "lr: 1.0e-3\nepochs: 25\nlr_patience: 50\nscheduler: reduce_lr_on_plateau\n"),
        Example("train.yaml", "lr: 1.0e-3\nepochs: 100\npatience: 100\n"),
    )
    good = (
        Example("train.yaml", "lr: 1.0e-3\nepochs: 100\npatience: 30\n"),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        length = run_epochs(derived)
        if length is None:
            return
        stopping, plateau = derived.stopping_patience, derived.plateau_patience
        if stopping is not None and stopping.epochs is not None and stopping.epochs >= length.value:
            anchor = stopping.source or stopping.anchor
            yield self.at(anchor, f"early-stopping patience {stopping.text} >= the run's "
                                  f"{described(length)} epochs: it can never stop the run")
        if plateau is not None and plateau.epochs is not None and plateau.epochs >= length.value:
            anchor = plateau.source or plateau.anchor
            only_schedule = "plateau" in str(view.known("schedule.name") or "").lower().replace("_", "")
            severity = Severity.WARNING if only_schedule else None
            yield self.at(anchor, f"ReduceLROnPlateau patience {fmt(plateau.epochs)} epochs >= the run's "
                                  f"{described(length)} epochs: the LR is never reduced",
                          severity=severity)
