"""TL007 yaml11-bool-string: YAML 1.1 and 1.2 loaders disagree on this value.

The class docstring is the rule's page (docs/rules/TL007.md).
"""

import re

from trainlint.api import (
    SETTINGS,
    Applicability,
    DocumentRule,
    Example,
    Fix,
    FixAvailability,
    Severity,
    canonical_name,
)

_YAML11_BOOL = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
_TRUE = {"y", "yes", "on"}
# single letters: YAML 1.1 booleans by the spec, strings to PyYAML, OmegaConf and ruamel.yaml
_LETTERS = frozenset({"y", "Y", "n", "N"})


class Yaml11BoolString(DocumentRule):
    """## What it does
    Finds `yes`/`no`/`on`/`off` (any case, and `y`/`n`) as plain YAML values.

    The finding follows the code that reads the file (docs/consumers.md). Where that code is
    known, it is a warning only where its loader reads YAML 1.1 booleans (PyYAML, OmegaConf,
    HyperPyYAML's values) and the key is a string setting (`eval_strategy: no` becomes
    `False`); a YAML 1.2 loader (ruamel.yaml) reads the string the author wrote, and single
    letters `y`/`n` are strings to PyYAML, OmegaConf and ruamel.yaml alike. Where no code of the
    project is found reading the file, the two readings are pointed out as an info.

    ## Why is this bad?
    YAML 1.1 loaders (PyYAML `safe_load`, OmegaConf) read them as booleans; YAML 1.2 loaders
    (ruamel.yaml) read the strings `'yes'`, `'no'`. The two disagree, and both readings occur in
    real training code: `eval_strategy: no` becomes `False` under PyYAML, which the Hugging Face
    Trainer then rejects.

    ## Example
    ```yaml
    fp16: yes
    eval_strategy: no
    ```

    ## Use instead
    ```yaml
    fp16: true
    eval_strategy: "no"
    ```

    ## Fix safety
    Safe where trainlint knows the setting's type: a boolean setting gets `true`/`false` (what
    YAML 1.1 loaders already read), a string setting gets quotes (what YAML 1.2 loaders already
    read). For other keys the `true`/`false` fix is unsafe: quote the value if a string is meant.

    ## Options
    None.

    ## Source
    YAML 1.1 bool type (yaml.org/type/bool.html) vs the YAML 1.2 core schema; RULES.md TL007.
    """

    code = "TL007"
    name = "yaml11-bool-string"
    severity = Severity.WARNING
    fix_availability = FixAvailability.ALWAYS
    message = "YAML 1.1 and 1.2 loaders disagree on this value"
    precision = "no findings (dev corpus, 28 repositories)"
    fix_title = "write true/false, or quote a string"
    formats = frozenset({"yaml"})

    bad = (
        Example("args.yaml",
                "output_dir: out  # HF TrainingArguments\nper_device_train_batch_size: 8\n"
                "num_train_epochs: 3\nfp16: yes\neval_strategy: no\n",
                fixed="output_dir: out  # HF TrainingArguments\nper_device_train_batch_size: 8\n"
                      "num_train_epochs: 3\nfp16: true\neval_strategy: \"no\"\n"),
        Example("train.yaml", "lr: 0.001\nepochs: 10\nshuffle: On\n",
                fixed="lr: 0.001\nepochs: 10\nshuffle: true\n", unsafe=True),
    )
    good = (Example("train.yaml", "lr: 0.001\nepochs: 10\nshuffle: true\nmode: 'no'\n"),)

    def check_document(self, doc):
        asked, consumer = False, None
        for entry in doc.entries:
            if entry.style != "plain" or entry.tag or not _YAML11_BOOL.match(entry.raw):
                continue
            if not asked:
                consumer, asked = doc.consumer, True
            known = consumer is not None and consumer.known
            if known and (consumer.loader.yaml_bools != "1.1" or entry.raw in _LETTERS):
                continue  # the loader reads the string the author wrote
            meaning = entry.raw.lower() in _TRUE
            name = canonical_name(doc.dialect, entry.key)
            setting = SETTINGS.get(name) if name else None
            if known and (setting is None or setting.kind is not str):
                continue  # a boolean to the one loader that reads it: what a flag means
            if setting is not None and setting.kind is str:
                new, why, applicability = f'"{entry.raw}"', "a string setting", Applicability.SAFE
            else:
                new = "true" if meaning else "false"
                why = "a boolean setting" if setting is not None else "quote it if a string is meant"
                applicability = Applicability.SAFE if setting is not None else Applicability.UNSAFE
            fix = Fix.replace(entry.span, new, f"write `{new}` ({why})", applicability)
            if known:
                yield self.at(entry, f"`{entry.key}: {entry.raw}` is the boolean {meaning} to "
                                     f"`{consumer.loader.display}`, which reads this file, where "
                                     "a string is expected", fix, basis="consumer")
            else:
                yield self.at(entry, f"`{entry.key}: {entry.raw}` is the boolean {meaning} to YAML "
                                     f"1.1 loaders but the string '{entry.raw}' to YAML 1.2 "
                                     "loaders", fix, severity=Severity.INFO, basis="guessed")
