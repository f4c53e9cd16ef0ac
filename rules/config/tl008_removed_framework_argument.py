"""TL008 removed-framework-argument: an argument the target framework version no longer accepts.

The class docstring is the rule's page (docs/rules/TL008.md).
"""

from trainlint.api import Applicability, DocumentRule, Example, FixAvailability, Severity

# TrainingArguments fields that transformers 5 rejects, and their exact replacement if any.
REMOVED_IN_5 = {
    "evaluation_strategy": "eval_strategy",
    "per_gpu_train_batch_size": "per_device_train_batch_size",
    "per_gpu_eval_batch_size": "per_device_eval_batch_size",
    "no_cuda": "use_cpu",
    "warmup_ratio": None,
    "overwrite_output_dir": None,
    "logging_dir": None,
}
_HINTS = {
    "warmup_ratio": "give `warmup_steps` instead (a number of steps)",
    "overwrite_output_dir": "remove it (the Trainer always writes into output_dir now)",
    "logging_dir": "set the logger's own directory (e.g. the TENSORBOARD_LOGGING_DIR variable)",
}


class RemovedFrameworkArgument(DocumentRule):
    """## What it does
    Finds TrainingArguments fields that the target transformers version no longer accepts:
    transformers 5 rejects `warmup_ratio`, `evaluation_strategy`, `no_cuda`,
    `per_gpu_train_batch_size`, `overwrite_output_dir` and `logging_dir`.

    ## Why is this bad?
    `TrainingArguments(**config)` raises `TypeError: __init__() got an unexpected keyword
    argument` at start-up, after the job waited in the queue.

    ## Example
    ```json
    {"output_dir": "out", "evaluation_strategy": "steps", "per_device_train_batch_size": 8}
    ```

    ## Use instead
    ```json
    {"output_dir": "out", "eval_strategy": "steps", "per_device_train_batch_size": 8}
    ```

    ## Fix safety
    Safe where the rename is exact (`evaluation_strategy` -> `eval_strategy`,
    `per_gpu_train_batch_size` -> `per_device_train_batch_size`, `no_cuda` -> `use_cpu`);
    no fix for the others.

    ## Options
    None. The version is `target-transformers`, else the project's own pin, else the newest.

    ## Source
    transformers 5 release (verified on 5.23: TypeError at start); RULES.md TL008.
    """

    code = "TL008"
    name = "removed-framework-argument"
    severity = Severity.ERROR
    fix_availability = FixAvailability.SOMETIMES
    message = "an argument the target framework version no longer accepts"
    fix_title = "rename the argument"

    bad = (
        Example("args.json",
                '{\n  "output_dir": "out",\n  "evaluation_strategy": "steps",\n'
                '  "per_device_train_batch_size": 8,\n  "num_train_epochs": 3\n}\n',
                fixed='{\n  "output_dir": "out",\n  "eval_strategy": "steps",\n'
                      '  "per_device_train_batch_size": 8,\n  "num_train_epochs": 3\n}\n'),
        Example("args.yaml", "output_dir: out\nper_device_train_batch_size: 8\nnum_train_epochs: 3\n"
                             "warmup_ratio: 0.1\n"),
    )
    good = (
        Example("args.json", '{\n  "output_dir": "out",\n  "eval_strategy": "steps",\n'
                             '  "per_device_train_batch_size": 8,\n  "num_train_epochs": 3\n}\n'),
        Example("args.json", '{\n  "output_dir": "out",\n  "evaluation_strategy": "steps",\n'
                             '  "per_device_train_batch_size": 8,\n  "num_train_epochs": 3\n}\n',
                settings={"target-transformers": "4.46"}),
    )

    def check_document(self, doc):
        if doc.dialect != "hf" or self.ctx.project.transformers < (5,):
            return
        version = ".".join(map(str, self.ctx.project.transformers))
        present = {entry.key for entry in doc.entries}
        for entry in doc.entries:
            if entry.key not in REMOVED_IN_5:
                continue
            replacement = REMOVED_IN_5[entry.key]
            fix = None
            if replacement is not None and replacement not in present:
                fix = self.rename_key(entry, replacement, f"rename `{entry.key}` to `{replacement}`",
                                      Applicability.SAFE)
            hint = f"use `{replacement}`" if replacement else _HINTS[entry.key]
            yield self.diagnostic(entry.path, entry.key_span or entry.span,
                                  f"transformers {version} rejects `{entry.key}` "
                                  f"(TypeError at start); {hint}", fix)
