"""TL003 unknown-key: unknown key, close to a known one. Its page: docs/rules/TL003.md."""

import difflib

from trainlint.api import (
    GENERIC,
    Applicability,
    DocumentRule,
    Example,
    Fix,
    FixAvailability,
    LaunchRule,
    RuleOptions,
    Severity,
    dialects,
)


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short keys only)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


class UnknownKey(DocumentRule, LaunchRule):
    """## What it does
    Finds a key that the config's framework does not know and that is a small edit away from
    one it does: `learning_rte` next to `learning_rate`, `warmup_step` next to `warmup_steps`.
    Unknown keys that are not close to a known one stay quiet: configs carry their own keys.

    In a launcher, the options and arguments the target script's argparse does not take
    (it exits with "unrecognized arguments" before training starts), with a did-you-mean from
    the options it defines, and an abbreviation that matches several of them. Only scripts
    whose parser rejects unknown options are checked (`parse_args` on one known parser).

    ## Why is this bad?
    Most training code reads configs with `.get(key, default)` or ignores extra keys, so a typo
    silently trains with the default value instead of yours.

    ## Example
    ```json
    {"learning_rte": 2e-4, "per_device_train_batch_size": 32, "num_train_epochs": 3}
    ```

    ## Use instead
    ```json
    {"learning_rate": 2e-4, "per_device_train_batch_size": 32, "num_train_epochs": 3}
    ```

    ## Fix safety
    Unsafe: renaming the key (or the launcher's option) changes which value the run uses. No
    fix is offered where the suggested key is already set beside the typo: the rename would
    repeat it (TL005).

    ## Options
    - `max-distance` (default 2): the largest edit distance that counts as a typo.
    - `min-length` (default 4): shorter keys are never reported.

    ## Source
    RULES.md TL003; the framework key tables in `trainlint/dialects/*.toml`.
    """

    code = "TL003"
    name = "unknown-key"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "unknown key, close to a known one"
    fix_title = "rename the key"

    class Options(RuleOptions):
        max_distance: int = 2
        min_length: int = 4

    bad = (
        Example("hf_args.json",
                '{\n  "learning_rte": 2e-4,\n  "per_device_train_batch_size": 32,\n'
                '  "num_train_epochs": 3,\n  "output_dir": "out",\n  "logging_steps": 10\n}\n',
                fixed='{\n  "learning_rate": 2e-4,\n  "per_device_train_batch_size": 32,\n'
                      '  "num_train_epochs": 3,\n  "output_dir": "out",\n  "logging_steps": 10\n}\n',
                unsafe=True),
        Example("train.yaml", "lr: 0.001\nwarmup_step: 500\nmax_steps: 10000\nbatch_size: 32\n"),
    )
    good = (
        Example("train.yaml", "lr: 0.001\nwarmup_steps: 500\nmax_steps: 10000\nmy_note: hello\n"),
    )

    def check_document(self, doc):
        table = dialects()
        dialect = table.get(doc.dialect)
        generic = table[GENERIC]
        full_keys = sorted(dialect.keys) if dialect is not None and dialect.name != GENERIC else []
        leaf_keys = sorted(generic.keys)
        known = (dialect.known if dialect is not None else frozenset()) | generic.known
        known_leaves = {key.rsplit(".", 1)[-1] for key in known}
        present = {(entry.document, entry.key) for entry in doc.entries}
        for entry in doc.entries:
            if entry.key_span is None or entry.origin.endswith("merge"):
                continue
            leaf = entry.key.rsplit(".", 1)[-1]
            if entry.key in known or leaf in known_leaves or len(leaf) < self.options.min_length:
                continue
            suggestion = self._closest(entry.key, full_keys) or self._closest(leaf, leaf_keys)
            if suggestion is None:
                continue
            new_leaf = suggestion.rsplit(".", 1)[-1]
            sibling = f"{entry.key[:len(entry.key) - len(leaf)]}{new_leaf}"
            if (entry.document, sibling) in present:  # a rename would repeat the key (TL005)
                yield self.diagnostic(entry.path, entry.key_span,
                                      f"unknown key `{leaf}`; did you mean `{new_leaf}`? "
                                      f"(`{new_leaf}` is set too: the run uses it and ignores "
                                      f"`{leaf}`; remove one of them)")
                continue
            fix = self.rename_key(entry, new_leaf, f"rename `{leaf}` to `{new_leaf}`",
                                  Applicability.UNSAFE)
            yield self.diagnostic(entry.path, entry.key_span,
                                  f"unknown key `{leaf}`; did you mean `{new_leaf}`? "
                                  f"({doc.dialect} config: the run ignores `{leaf}`)", fix)

    def check_argument(self, problem):
        option, fix = problem.option, None
        if problem.kind == "ambiguous-option":
            message = (f"ambiguous option: {option} could match {', '.join(problem.candidates)} "
                       "(argparse exits here)")
        elif problem.kind == "unexpected-argument":
            message = (f"{problem.script} does not take the argument '{problem.text}' "
                       "(argparse exits with 'unrecognized arguments')")
        elif problem.kind == "unknown-option":
            message = (f"{problem.script} has no option '{option}' (argparse exits with "
                       "'unrecognized arguments')")
            suggestion = _did_you_mean(option, problem.candidates)
            if suggestion:
                message += f"; did you mean '{suggestion}'?"
                fix = Fix.replace(problem.at.span, suggestion, f"rename {option} to {suggestion}",
                                  Applicability.UNSAFE)
        else:
            return
        yield self.at(problem.at, message, fix, severity=Severity.ERROR)

    def _closest(self, key: str, candidates: list[str]) -> str | None:
        for match in difflib.get_close_matches(key, candidates, n=3, cutoff=0.75):
            if match != key and _distance(key, match) <= self.options.max_distance:
                return match
        return None


def _did_you_mean(option: str, known: tuple[str, ...]) -> str | None:
    """The option a mistyped one most likely meant (`--learning-rate` for `--learning_rate`)."""
    normalized = {flag.lstrip("-").replace("-", "_").lower(): flag for flag in known}
    key = option.lstrip("-").replace("-", "_").lower()
    if key in normalized:
        return normalized[key]
    matches = difflib.get_close_matches(key, list(normalized), n=1, cutoff=0.6)
    return normalized[matches[0]] if matches else None
