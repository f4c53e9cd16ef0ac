"""TL303 no-best-checkpoint: long run without early stopping or best-checkpoint selection.

The class docstring is the rule's page (docs/rules/TL303.md).
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
    run_epochs,
)

# Frameworks that keep the best checkpoints by a validation criterion unless told otherwise.
SELECTS_BEST_BY_DEFAULT = {"espnet": "ESPnet2 keeps the best models by best_model_criterion"}


class NoBestCheckpoint(ConfigRule):
    """## What it does
    Points out a long run (at least `min_epochs`, 30) that has neither early stopping nor a
    best-on-validation checkpoint selection (`load_best_model_at_end`, a `ModelCheckpoint` with
    a `monitor`, `save_best`, `keep_nbest_models`, ...). ESPnet2 keeps its best models by
    `best_model_criterion` by default and is not reported.

    ## Why is this bad?
    Long runs overfit: the validation loss reaches its minimum and climbs again, and the last
    checkpoint is then worse than one from many epochs earlier. Without a selection by
    validation loss, the best model is gone.

    ## Example
    ```yaml
    nepochs: 60
    ```

    ## Use instead
    ```yaml
    nepochs: 40
    save_best: true   # keep the best checkpoint on validation loss
    ```

    ## Fix safety
    No fix: how to select (metric, early stopping or not) is the author's choice.

    ## Options
    - `min_epochs` (30): runs at least this long are checked.

    ## Source
    Seed 000 (`000_c50777d40fdc0372.txt`): the conformer's best validation loss was at epoch
    35; training went on to epoch 59 while the validation loss rose from 18 to 24
    ("overfitting"); v2 cut the run to 40 epochs and expects the best checkpoint at 25-35.
    """

    class Options(RuleOptions):
        min_epochs: float = 30

    code = "TL303"
    name = "no-best-checkpoint"
    severity = Severity.INFO
    fix_availability = FixAvailability.NONE
    message = "long run without early stopping or best-checkpoint selection"
    precision = "no warning or error findings (224 info; dev corpus, 28 repositories)"

    bad = (
        Example("asr.yaml", "encoder: conformer\nlr: 1.0e-3\nnepochs: 60\n"),
        Example("hf.json", '{"per_device_train_batch_size": 8, "num_train_epochs": 50,\n'
                ' "learning_rate": 5e-5, "output_dir": "out", "save_strategy": "epoch"}\n'),
    )
    good = (
        Example("asr.yaml", "encoder: conformer\nlr: 2.0e-3\nnepochs: 40\nsave_best: true\n"),
        Example("hf.json", '{"per_device_train_batch_size": 8, "num_train_epochs": 50,\n'
                ' "learning_rate": 5e-5, "output_dir": "out", "load_best_model_at_end": true}\n'),
        Example("asr.yaml", "encoder: conformer\ndecoder: transformer\nbatch_type: numel\n"
                "max_epoch: 70\noptim_conf:\n  lr: 0.002\n"),
    )

    def check_config(self, view: ConfigView):
        if view.dialect in SELECTS_BEST_BY_DEFAULT or any(
                invalid.name.startswith(("stopping.", "checkpoint.")) for invalid in view.invalid):
            return  # an invalid stopping setting is TL002's; do not call it missing
        derived = derive(view, self.ctx.project)
        epochs = run_epochs(derived)
        if epochs is None or epochs.value < self.options.min_epochs:
            return
        if derived.stopping_patience is not None or self._selects_best(view):
            return
        anchor = view.get("duration.epochs") or view.get("duration.max_steps")
        if anchor is None:
            return
        message = (f"a run of {described(epochs)} epochs has no early stopping and no "
                   f"best-on-validation checkpoint: its last checkpoint may be an overfit one")
        yield self.at(anchor, message)

    def _selects_best(self, view: ConfigView) -> bool:
        if view.flag("checkpoint.keep_best") is True or view.flag("stopping.enabled") is True:
            return True
        keep = view.number("checkpoint.keep_nbest")
        if keep is not None and keep != 0:
            return view.dialect != "lightning" or view.get("checkpoint.best_metric") is not None
        return view.get("checkpoint.best_metric") is not None and view.dialect == "lightning"
