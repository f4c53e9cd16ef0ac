"""TL101 warmup-start-too-low: per-epoch warmup starts far below the peak learning rate.

The class docstring is the rule's page (docs/rules/TL101.md).
"""

from trainlint.api import (
    ConfigRule,
    ConfigView,
    Example,
    FixAvailability,
    RuleOptions,
    Severity,
    derive,
    described,
    fmt,
    is_ctc,
)
from trainlint.rules.data_tables import band_for, target_peak
from trainlint.rules.numbers import new_text, spliceable


class WarmupStartTooLow(ConfigRule):
    """## What it does
    Finds a warmup that is stepped once per epoch and starts far below the peak learning rate:
    `LinearLR(start_factor=0.1, total_iters=5)` stepped after each epoch, or a config's
    `warmup_epochs` with a low `warmup_start_factor` / `warmup_start_lr`. It fires when the
    start factor is below `min_start_factor` (0.5), or when the first LR is below the floor of
    the LR band TL102 picks for the setup (model type x training regime x optimizer, and model
    size where it matters, from the same evidence; no band when that evidence is unsure). It
    is an error for CTC models and a warning otherwise.

    A step-based warmup that starts near 0 but lasts a small share of training (the Hugging Face
    linear warmup) does not fire: its LR leaves the low region within a few hundred steps.

    ## Why is this bad?
    A per-epoch warmup holds the LR at `lr * start_factor` for a whole epoch, then the next
    factor for another one: the first epochs train at a tenth of the LR. CTC models are the most
    fragile here: at a tiny LR they settle on emitting blanks or one token for every input and
    never leave that minimum.

    ## Example
    ```python
    warmup = LinearLR(optimizer, start_factor=0.1, total_iters=5)  # stepped once per epoch
    ```

    ## Use instead
    ```python
    warmup = LinearLR(optimizer, start_factor=0.5, total_iters=3)  # or no warmup at all
    ```

    ## Fix safety
    Unsafe: the fix changes a hyper-parameter. It sets the start factor to 0.5, or higher where
    that still starts below the band floor (then to floor / peak, using the peak LR that TL102's
    fix would set when the peak itself is outside the band, which is never past the band's
    middle). A start LR given as an absolute
    value (`warmup_start_lr`) is set to the same share of the peak. A default start factor (no
    literal to edit) gets no fix.

    ## Options
    - `min_start_factor` (0.5): the lowest start factor that does not fire. Seed 004's fix
      ("gentle warmup from 50%, not 10%").

    ## Source
    Seed 004 (`004_9d53dcec9b7b0ae7.txt`): a CTC student with lr 1e-4 and
    `LinearLR(start_factor=0.1, total_iters=5)` stepped per epoch spent its first epochs at
    1e-5, collapsed to predicting one word ("HAAR") for every input and stayed at 100% WER; the
    fix was lr 5e-4 with no warmup, or a warmup from 50%.
    """

    class Options(RuleOptions):
        min_start_factor: float = 0.5

    code = "TL101"
    name = "warmup-start-too-low"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "per-epoch warmup starts far below the peak learning rate"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "start the warmup at half the peak LR or more"

    bad = (
        Example("train.yaml", "optimizer: adamw\nlr: 5.0e-4\nepochs: 100\nwarmup_epochs: 5\n"
                "warmup_start_factor: 0.1\n",
                fixed="optimizer: adamw\nlr: 5.0e-4\nepochs: 100\nwarmup_epochs: 5\n"
                      "warmup_start_factor: 0.5\n", unsafe=True),
        Example("config.json", '{"learning_rate": 0.0005, "epochs": 500, "warmup_epochs": 5,\n'
                ' "warmup_start_lr": 0.00005}\n',
                fixed='{"learning_rate": 0.0005, "epochs": 500, "warmup_epochs": 5,\n'
                      ' "warmup_start_lr": 0.00025}\n', unsafe=True),
        Example("ctc.yaml", "model_type: ctc\nlr: 5.0e-4\nepochs: 200\nwarmup_epochs: 5\n"
                "warmup_start_factor: 0.5\n",
                fixed="model_type: ctc\nlr: 5.0e-4\nepochs: 200\nwarmup_epochs: 5\n"
                      "warmup_start_factor: 0.6\n", unsafe=True),
    )
    good = (
        Example("train.yaml", "lr: 5.0e-4\nepochs: 100\nwarmup_epochs: 3\nwarmup_start_factor: 0.5\n"),
        Example("hf.json", '{"per_device_train_batch_size": 16, "learning_rate": 2e-5,\n'
                ' "num_train_epochs": 3, "warmup_ratio": 0.06, "output_dir": "out"}\n'),
    )

    def check_config(self, view: ConfigView):
        factor = view.get("schedule.warmup_start_factor")
        start_lr = view.get("schedule.warmup_start_lr")
        if not _per_epoch_warmup(view) or (factor is None and start_lr is None):
            return
        derived = derive(view, self.ctx.project)
        first, peak = derived.first_lr, derived.peak_lr
        if factor is not None and factor.number is not None:
            start_factor = factor.number
        elif peak is not None and first is not None and peak.value > 0:
            start_factor = first.value / peak.value
        else:
            return
        band = band_for(self.ctx, view, derived)
        minimum = self.options.min_start_factor
        target = target_peak(band, derived)
        floor_factor = band.low / target if band is not None and target else 0.0
        needed = min(1.0, max(minimum, floor_factor))
        if start_factor >= needed * (1 - 1e-9):
            return
        severity = Severity.ERROR if is_ctc(view, derived) else Severity.WARNING
        warmup = derived.warmup_epochs.text if derived.warmup_epochs else "the warmup"
        start_text = described(first) if first else f"{fmt(start_factor)} x peak"
        reason = (f"below the {band.model_type} band floor {band.low:g} ({band.label}; regime from "
                  f"{derived.model_type.provenance})" if band is not None and needed > minimum
                  else f"start factor below {minimum:g}")
        message = (f"warmup stepped per epoch starts at LR {start_text}: {reason}; "
                   f"{warmup} at a fraction of the peak LR")
        fix = self._fix(factor, start_lr, start_factor, needed, target)
        if fix is not None:
            message += f" ({fix.message})"
        anchor = factor if factor is not None else start_lr
        yield self.at(anchor, message, fix, severity)

    def _fix(self, factor, start_lr, old_factor, needed, target):
        new_factor = round(needed + 0.049, 1) if needed > self.options.min_start_factor else needed
        new_factor = min(new_factor, 1.0)
        if factor is not None:
            if not spliceable(factor):
                return None
            return self.replace_value(factor, new_text(factor, new_factor),
                                      f"start factor {fmt(old_factor)} -> {fmt(new_factor)}")
        if start_lr is not None and spliceable(start_lr) and target:
            new_lr = target * new_factor
            return self.replace_value(start_lr, new_text(start_lr, new_lr),
                                      f"warmup start LR {fmt(start_lr.number)} -> {fmt(new_lr)}")
        return None


def _per_epoch_warmup(view: ConfigView) -> bool:
    unit = view.known("schedule.warmup_unit")
    if unit is not None:
        return str(unit).lower() == "epoch"
    return view.get("schedule.warmup_epochs") is not None
