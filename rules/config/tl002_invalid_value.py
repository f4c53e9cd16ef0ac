"""TL002 invalid-value: a known setting has the wrong type or is out of range.

The class docstring is the rule's page (docs/rules/TL002.md).
"""

from trainlint.api import (
    SETTINGS, ConfigRule, Example, FixAvailability, LaunchRule, Severity, derive,
)


class InvalidValue(ConfigRule, LaunchRule):
    """## What it does
    Checks every known setting against the schema of a training setup (Pydantic models in
    `trainlint.schemas`): a learning rate that is not a positive number, a dropout outside
    [0, 1), a warmup ratio outside [0, 1], a batch size below 1, a negative patience, a string
    such as `"ten"` where a number goes, or `null` where a value is required. Also values that
    make a derived quantity impossible: a dataset size of 0, or tensor x pipeline parallel
    degrees that do not divide the world size.

    In a launcher, also the values the target script's argparse rejects before training starts:
    a value its `type=` cannot convert (`--lr fast` for a float), one outside its `choices=`, an
    option given without the value(s) it takes, and a value given to a flag that takes none
    (`--fp16=yes` for a `store_true`).

    Values the code that reads the config gives a meaning of its own are not type errors
    (docs/consumers.md): a tagged value the loader builds (HyperPyYAML `!ref <lr>`, `!new:`,
    `${...}` interpolation), `-1` for a count of steps, epochs or iterations (the frameworks'
    "not set": HF `max_steps: -1` trains by epochs), `null` in a config read into a dict
    (OmegaConf, Hydra, `yaml.safe_load`: the code's default applies), and the generic key
    names of a HyperPyYAML recipe (the recipe's own names, e.g. an `lr: 0` its scheduler sets),
    a word under a key whose meaning is only guessed from its name where a flag would go
    (mmcv's `save_best='mIoU'` names a metric), `auto` (DeepSpeed, axolotl: decide for me),
    and the defaults a script declares for itself: `None` (given on the command line, or
    derived: MAE's `--lr` from `--blr`) and, for an option or dataclass field, `-1`, `0` or
    `False` (the code's own "off").

    ## Why is this bad?
    Training code either crashes on such a value after the job was queued, or worse, reads it
    in a way nobody meant (a string learning rate compared with floats). Rules that need the
    value stay quiet for it, so this finding is the one to fix first.

    ## Example
    ```yaml
    optim_conf:
      lr: fast
    patience: null
    ```

    ## Use instead
    ```yaml
    optim_conf:
      lr: 0.002
    patience: 30
    ```

    ## Fix safety
    No fix: only a person knows the intended value.

    ## Options
    None. The ranges are the schema's (`trainlint.schemas.canonical`).

    ## Source
    Engine contract (DESIGN.md, issue 2): Pydantic errors become TL002 at the key's position.
    """

    code = "TL002"
    name = "invalid-value"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "a known setting has the wrong type or is out of range"
    precision = "100.0% (3 true, 0 false, 0 debatable of 3; dev corpus, 28 repositories)"

    bad = (
        Example("train.yaml", "optim: adam\noptim_conf:\n  lr: fast\nmax_epoch: 10\nbatch_bins: 100\n"),
        Example("args.json", '{"learning_rate": -0.001, "num_train_epochs": 3, '
                             '"per_device_train_batch_size": 8, "output_dir": "out"}\n'),
        Example("config.yaml", "lr: 0.001\nepochs: ten\nbatch_size: 8\n"),
        Example("config.yaml", "lr: 0.001\nepochs: 10\npatience: null\n"),
    )
    good = (Example("train.yaml", "optim: adam\noptim_conf:\n  lr: 0.002\nmax_epoch: 10\n"),)

    def check_argument(self, problem):
        option = problem.option
        if problem.kind == "explicit-argument":
            message = (f"argument {option}: ignored explicit argument '{problem.text}' "
                       "(argparse exits here)")
        elif problem.kind == "missing-argument":
            expected = "one argument" if problem.expected == 1 else f"{problem.expected} arguments"
            message = f"argument {option}: expected {expected} (argparse exits here)"
        elif problem.kind == "invalid-type":
            message = (f"argument {option}: invalid {problem.type_name} value: '{problem.text}' "
                       "(argparse exits here)")
        elif problem.kind == "invalid-choice":
            choices = ", ".join(repr(choice) for choice in problem.candidates)
            message = f"argument {option}: invalid choice: '{problem.text}' (choose from {choices})"
        else:
            return
        yield self.at(problem.at, message, severity=Severity.ERROR)

    def check_config(self, view):
        derived_problems = derive(view, self.ctx.project).problems
        for invalid in [*view.invalid, *derived_problems]:
            value = invalid.value
            if (_sentinel(value) or _guessed_flag(invalid.name, value, view.dialect)
                    or _declared_default(value)):
                continue
            consumer = self.ctx.consumer_of(value.path) \
                if value.origin.split("-")[0] in _CONFIG_ORIGINS else None
            if consumer is not None and _framework_value(consumer, value, view.dialect):
                continue
            yield self.at(value, f"`{value.key}` ({invalid.name}): {invalid.reason}")


# keys whose -1 is a "not set / use the other setting" sentinel across frameworks (HF
# `max_steps: -1` trains by epochs, verl `lr_warmup_steps: -1` uses the warmup ratio)
_COUNT_WORDS = ("steps", "epochs", "iters", "epoch", "step", "iter")


_CONFIG_ORIGINS = frozenset({"yaml", "json", "toml"})


def _guessed_flag(name: str, value, dialect: str) -> bool:
    """A word where a key guessed from its name (generic) would be a flag: the key means
    something else there (mmcv's `save_best='mIoU'` names a metric)."""
    setting = SETTINGS.get(name)
    return (dialect == "generic" and setting is not None and setting.kind is bool
            and isinstance(value.value, str))


def _sentinel(value) -> bool:
    """`-1` for a count of steps, epochs or iterations, or `auto`: a framework's "not set" /
    "decide for me" (HF `max_steps: -1`, DeepSpeed and axolotl `auto`)."""
    if value.value == "auto":
        return True
    return (value.value == -1 and not isinstance(value.value, bool)
            and value.leaf_key.lower().endswith(_COUNT_WORDS))


_PYTHON_ORIGINS = frozenset({"argparse", "argparse-implicit", "dataclass", "constant",
                             "dictconfig", "code"})
_DECLARATIONS = frozenset({"argparse", "argparse-implicit", "dataclass"})


def _declared_default(value) -> bool:
    """A default the code declares for itself: `None` (given later, or derived: MAE's
    `--lr` from `--blr`), and in an option or field declaration `-1`, `0` or `False` (the
    framework's own "off": `clip_grad_norm = -1`, `eval_steps = 0`)."""
    if value.origin not in _PYTHON_ORIGINS:
        return False
    if value.value is None:
        return True
    return value.origin in _DECLARATIONS and value.value in (-1, 0, False)


def _framework_value(consumer, value, dialect: str) -> bool:
    """A value the known reader gives a meaning of its own: `null` kept in a dict (Hydra,
    OmegaConf, a plain YAML load) is "not set, use the code's default"; in a HyperPyYAML recipe
    the generic names are the recipe's own, so a value is only judged under a framework key
    table."""
    if not consumer.known:
        return False
    if value.value is None and consumer.unknown_keys == "kept":
        return True
    return dialect == "generic" and "ref-tags" in consumer.value_language
