"""TL008 removed-framework-argument: an argument the target framework version no longer accepts.

The class docstring is the rule's page (docs/rules/TL008.md).
"""

import ast
import re
from functools import cache

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
# The first release without the field (read from the TrainingArguments of the 5.0, 5.2, 5.4,
# 5.5, 5.8, 5.12-5.18 and 5.23 wheels): `warmup_ratio` and `logging_dir` stayed, deprecated,
# until 5.14.
REMOVED_IN = {"warmup_ratio": "5.15", "logging_dir": "5.15"}
FIRST_REMOVAL = "5.0"
# A replacement exists only from this transformers version on (checked in the 4.31, 4.32,
# 4.40 and 4.41 wheels): renaming is safe only where every allowed version knows it.
RENAMED_IN = {"eval_strategy": "4.41", "use_cpu": "4.32"}
# A class-body line that declares one of the fields (`    warmup_ratio: float = 0.0`): the
# project files worth parsing where nothing is found reading the config.
_FIELD_NAMES = tuple(name.encode() for name in sorted(REMOVED_IN_5))
_HINTS = {
    "warmup_ratio": ("give the share as `warmup_steps` (transformers 5 reads a value below 1 "
                     "as a share of the training steps; 4.x only takes a step count)"),
    "overwrite_output_dir": "remove it (the Trainer always writes into output_dir now)",
    "logging_dir": "set the logger's own directory (e.g. the TENSORBOARD_LOGGING_DIR variable)",
}


class RemovedFrameworkArgument(DocumentRule):
    """## What it does
    Finds TrainingArguments fields that the target transformers version no longer accepts:
    transformers 5.0 rejects `evaluation_strategy`, `no_cuda`, `per_gpu_train_batch_size`,
    `per_gpu_eval_batch_size` and `overwrite_output_dir`; 5.15 also `warmup_ratio` and
    `logging_dir` (deprecated, but still accepted, from 5.0 to 5.14).

    A config that the project's code reads into its own classes (a dataclass of its own that
    declares `warmup_ratio`, filled by `HfArgumentParser` or `Cls(**cfg)`: see
    docs/consumers.md) is not passed to `TrainingArguments` as it is: its own fields are not
    reported. Where no code of the project is found reading the config but a class of the
    project declares the field as its own (`warmup_ratio: float = 0.0` in a dataclass or
    model, as a command-line tool of the project that takes the config may do), the finding
    is an info: the config may well be read into that class.

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

    The rule reads the transformers versions the project allows (`target-transformers`,
    else the range its requirement and lock files allow). It is an error naming the range
    where any allowed version rejects the field ("transformers >=4.38 from pyproject.toml
    allows 5.0-5.25, which rejects ..."), quiet where every allowed version still accepts it,
    and a warning "if you upgrade to transformers 5" (5.15 for `warmup_ratio` and
    `logging_dir`) where no transformers requirement is found.

    ## Fix safety
    A rename where it is exact (`evaluation_strategy` -> `eval_strategy`,
    `per_gpu_train_batch_size` -> `per_device_train_batch_size`, `no_cuda` -> `use_cpu`);
    no fix for the others. Safe only where every allowed version knows the new name
    (`eval_strategy` exists from 4.41, `use_cpu` from 4.32, `per_device_*` always); unsafe
    where the range reaches older versions, or no requirement is found and it could.

    ## Options
    None. The version is `target-transformers`, else the project's own range.

    ## Source
    transformers 5 release (verified on 5.23: TypeError at start); RULES.md TL008. Which
    release dropped each field was read from the TrainingArguments of the 5.x wheels.
    """

    code = "TL008"
    name = "removed-framework-argument"
    severity = Severity.ERROR
    fix_availability = FixAvailability.SOMETIMES
    message = "an argument the target framework version no longer accepts"
    precision = "100.0% (33 true, 0 false, 0 debatable of 33; dev corpus, 28 repositories)"
    fix_title = "rename the argument"

    bad = (
        Example("args.json",
                '{\n  "output_dir": "out",\n  "evaluation_strategy": "steps",\n'
                '  "per_device_train_batch_size": 8,\n  "num_train_epochs": 3\n}\n',
                fixed='{\n  "output_dir": "out",\n  "eval_strategy": "steps",\n'
                      '  "per_device_train_batch_size": 8,\n  "num_train_epochs": 3\n}\n',
                settings={"target-transformers": "5.0"}),
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
        if doc.dialect != "hf":
            return
        entries = [entry for entry in doc.entries if entry.key in REMOVED_IN_5]
        if not entries:
            return
        consumer = doc.consumer
        known = consumer is not None and consumer.known
        schema = consumer.schema if known else None
        if schema is not None and not schema.external:
            # read into the project's own classes, not TrainingArguments: its own field stays
            entries = [entry for entry in entries if schema.knows(entry.key) is not True]
            if not entries:
                return
        transformers = self.ctx.project.requirement("transformers", doc.path)
        present = {entry.key for entry in doc.entries}
        declared = None  # the project's own declarations, scanned for a finding that would be made
        for entry in entries:
            removed_in = REMOVED_IN.get(entry.key, FIRST_REMOVAL)
            rejecting = transformers.at_least(removed_in)
            if transformers.known and not rejecting:
                continue  # every version the project allows still accepts it
            replacement = REMOVED_IN_5[entry.key]
            fix = None
            if replacement is not None and replacement not in present:
                fix = self._rename(entry, replacement, transformers)
            hint = f"use `{replacement}`" if replacement else _HINTS[entry.key]
            message, severity = self._wording(entry.key, transformers, rejecting, removed_in)
            if declared is None:
                declared = {} if known else self._declared(doc.path)
            if entry.key in declared:
                path, line, owner = declared[entry.key]
                message += (f"; but no code of this project was found reading this file, and "
                            f"`{owner}` ({path}:{line}) declares `{entry.key}` as its own field: "
                            f"the file may be read into that class, not TrainingArguments")
                severity = Severity.INFO
            yield self.diagnostic(entry.path, entry.key_span or entry.span, f"{message}; {hint}",
                                  fix, severity, "consumer" if known else "guessed")

    def _declared(self, path: str) -> dict[str, tuple[str, int, str]]:
        """The fields of REMOVED_IN_5 that a class of the project declares as its own:
        name -> (file, line, class), the first in path order."""
        found: dict[str, tuple[str, int, str]] = {}
        scanned = self.ctx.project_scripts(path, declares_a_field, class_fields)
        for file in sorted(scanned):
            for name, (line, owner) in scanned[file].items():
                found.setdefault(name, (file, line, owner))
        return found

    def _rename(self, entry, replacement: str, transformers):
        """Safe where every allowed version knows the new name; unsafe where some allowed
        version (every release, without a requirement) is older than the name."""
        since = RENAMED_IN.get(replacement)
        older = transformers.below(since) if since else ()
        note = ""
        if older and not transformers.known:
            note = (f" (no transformers requirement found, and versions before {since} do not "
                    f"know `{replacement}`)")
        elif older:
            note = f" (transformers {transformers.series(older)} does not know `{replacement}`)"
        return self.rename_key(entry, replacement, f"rename `{entry.key}` to `{replacement}`{note}",
                               Applicability.UNSAFE if note else Applicability.SAFE)

    @staticmethod
    def _wording(key: str, transformers, rejecting, removed_in: str) -> tuple[str, Severity | None]:
        if not transformers.known:
            version = "5" if removed_in == FIRST_REMOVAL else removed_in
            return (f"if you upgrade to transformers {version}, it rejects `{key}` (TypeError "
                    "at start; no transformers requirement found)", Severity.WARNING)
        if len(rejecting) == len(transformers.versions):
            return (f"{transformers.describe()} rejects `{key}` (TypeError at start)", None)
        return (f"{transformers.describe()} allows {transformers.series(rejecting)}, which "
                f"rejects `{key}` (TypeError at start)", None)


def declares_a_field(data: bytes) -> bool:
    """Whether a project file's bytes may declare one of the fields in a class body."""
    return (any(name in data for name in _FIELD_NAMES)
            and _field_declaration().search(data) is not None)


@cache
def _field_declaration() -> re.Pattern[bytes]:
    """Compiled on first use: 0.5 ms that a run without the scan would pay at start-up."""
    return re.compile(rb"^[ \t]+(?:" + b"|".join(_FIELD_NAMES) + rb")[ \t]*:", re.MULTILINE)


def class_fields(script) -> dict[str, tuple[int, str]]:
    """The fields of REMOVED_IN_5 that the file's classes (at module level, or nested in one)
    declare with an annotation (a dataclass, pydantic or attrs field): name -> (line, class)."""
    fields: dict[str, tuple[int, str]] = {}
    classes = [node for node in script.tree.body if isinstance(node, ast.ClassDef)]
    for node in classes:
        for statement in node.body:
            if isinstance(statement, ast.ClassDef):
                classes.append(statement)
            elif (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                    and statement.target.id in REMOVED_IN_5):
                fields.setdefault(statement.target.id, (statement.lineno, node.name))
    return fields
