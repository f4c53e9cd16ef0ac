"""TL305 patience-vs-warmup: early-stopping patience shorter than the warmup or restart period.

The class docstring is the rule's page (docs/rules/TL305.md).
"""

import math

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Example,
    FixAvailability,
    Severity,
    derive,
    described,
    fmt,
)
from trainlint.rules.duration.patience import rounds_for
from trainlint.rules.numbers import new_text, spliceable


class PatienceVsWarmup(ConfigRule):
    """## What it does
    Fires when the early-stopping patience (in epochs) is shorter than the warmup (in epochs:
    `warmup_epochs`, or warmup steps / steps per epoch) or than the first warm-restart period
    (`CosineAnnealingWarmRestarts(T_0)`).

    ## Why is this bad?
    During warmup the validation loss often stalls or rises while the LR climbs; right after a
    warm restart the LR jumps back to its peak and the validation loss rises for a while. An
    early stopping that cannot wait that long stops the run before the LR has peaked, or right
    after a restart.

    ## Example
    ```yaml
    warmup_epochs: 10
    patience: 5
    ```

    ## Use instead
    ```yaml
    warmup_epochs: 10
    patience: 10
    ```

    ## Fix safety
    Unsafe: it raises the patience to the warmup (or restart period) in epochs, in the
    framework's unit.

    ## Options
    None.

    ## Source
    Seed 004 (`004_9d53dcec9b7b0ae7.txt`): the student combined a 5-epoch warmup with
    `CosineAnnealingWarmRestarts(T_0=10)` and early stopping; a restart raises the LR back to
    its peak every T_0 epochs.
    """

    code = "TL305"
    name = "patience-vs-warmup"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "early-stopping patience shorter than the warmup or restart period"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "let early stopping wait out the warmup"

    bad = (
        Example("train.yaml", "lr: 1.0e-3\nepochs: 20\nwarmup_epochs: 10\npatience: 5\n",
                fixed="lr: 1.0e-3\nepochs: 20\nwarmup_epochs: 10\npatience: 10\n", unsafe=True),
    )
    good = (
        Example("train.yaml", "lr: 1.0e-3\nepochs: 20\nwarmup_epochs: 3\npatience: 5\n"),
    )

    def check_config(self, view: ConfigView):
        derived = derive(view, self.ctx.project)
        stopping = derived.stopping_patience
        if stopping is None or stopping.epochs is None:
            return
        bounds = []
        if derived.warmup_epochs is not None:
            bounds.append((derived.warmup_epochs.value,
                           f"the warmup of {described(derived.warmup_epochs)} epochs"))
        restart = view.get("schedule.restart_period")
        if restart is not None and restart.number is not None:
            bounds.append((restart.number,
                           f"the first warm-restart period T_0 = {fmt(restart.number)} epochs"))
        if not bounds:
            return
        bound, what = max(bounds, key=lambda item: item[0])
        if stopping.epochs >= bound - 1e-9:
            return
        message = f"early-stopping patience {stopping.text} is shorter than {what}"
        fix = None
        new_rounds = rounds_for(stopping, math.ceil(bound))
        if stopping.source is not None and spliceable(stopping.source) and new_rounds is not None:
            fix = self.replace_value(stopping.source, new_text(stopping.source, new_rounds),
                                     f"patience {fmt(stopping.rounds)} -> {new_rounds} {stopping.unit}")
            message += f": {fix.message}"
        yield self.at(stopping.source or stopping.anchor, message, fix)
