"""TL005 duplicate-key: a mapping repeats a key; the loader keeps the last value.

The class docstring is the rule's page (docs/rules/TL005.md).
"""

from trainlint.api import DocumentRule, Example, FixAvailability, Severity


class DuplicateKey(DocumentRule):
    """## What it does
    Finds a mapping that repeats a key.

    ## Why is this bad?
    YAML and JSON loaders keep the last value without a word. Someone edited the first one,
    re-ran, and saw no change; or a merge of two branches left both.

    ## Example
    ```yaml
    lr: 0.001
    batch_size: 32
    lr: 0.0005
    ```

    ## Use instead
    ```yaml
    lr: 0.0005
    batch_size: 32
    ```

    ## Fix safety
    No fix: which value was meant is a person's call.

    ## Options
    None.

    ## Source
    YAML 1.2 spec (keys must be unique) and Python's json module (last value wins); RULES.md TL005.
    """

    code = "TL005"
    name = "duplicate-key"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "a mapping repeats a key; the loader keeps the last value"
    precision = "100.0% (7 true, 0 false, 0 debatable of 7; dev corpus, 28 repositories)"
    formats = frozenset({"yaml", "json"})

    bad = (
        Example("train.yaml", "lr: 0.001\nbatch_size: 32\nepochs: 10\nlr: 0.0005\n"),
        Example("ds.json", '{"train_micro_batch_size_per_gpu": 4,\n "gradient_accumulation_steps": 2,\n'
                           ' "train_micro_batch_size_per_gpu": 8,\n "zero_optimization": {"stage": 2}}\n'),
    )
    good = (Example("train.yaml", "base: &b {lr: 0.001}\nrun:\n  <<: *b\n  lr: 0.002\nepochs: 10\n"
                                  "batch_size: 32\n"),)

    def check_document(self, doc):
        first_seen = {}
        for entry in doc.entries:
            if entry.key_span is None or entry.origin.endswith("merge"):
                continue
            slot = (entry.document, entry.key)
            previous = first_seen.get(slot)
            if previous is None:
                first_seen[slot] = entry
                continue
            if previous.key_span == entry.key_span:
                continue  # the same node reached twice through an alias
            yield self.diagnostic(
                entry.path, entry.key_span,
                f"`{entry.key}` is defined again (first at line {previous.key_span.line}: "
                f"{previous.raw.strip()!s}); the loader keeps this one: {entry.raw.strip()}")
