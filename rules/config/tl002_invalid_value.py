"""TL002 invalid-value: a known setting has the wrong type or is out of range.

The class docstring is the rule's page (docs/rules/TL002.md).
"""

from trainlint.api import ConfigRule, Example, FixAvailability, LaunchRule, Severity, derive


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
            yield self.at(value, f"`{value.key}` ({invalid.name}): {invalid.reason}")
