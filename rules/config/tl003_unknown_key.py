"""TL003 unknown-key: unknown key, close to a known one. Its page: docs/rules/TL003.md."""

import os

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
    Finds a config key that the code reading the config does not accept. The key set comes
    from the config's consumer (see docs/consumers.md): the project's own dataclass, pydantic
    model, attrs class, argparse parser or yacs tree that the file is poured into, or a
    framework class (`TrainingArguments`, TRL configs) an `HfArgumentParser` fills. The message
    says what happens: the run fails at start (`Cls(**cfg)`, HfArgumentParser, yacs, draccus)
    or the key is silently ignored (pydantic's default `extra="ignore"`, non-strict dacite,
    HfArgumentParser with `allow_extra_keys=True`), and where a declared field is a small edit
    away, it is suggested. Keys poured onto an argparse namespace (`parser.set_defaults(**cfg)`,
    `vars(args).update(cfg)`) are kept there as attributes, so they are not judged.

    Where no code of the project is found reading the file, nothing is known about which keys
    it accepts: a key close to one of the framework the file looks like (guessed from its key
    names) is an info, with no rename. Files read into a plain dict (`yaml.safe_load` alone),
    HyperPyYAML recipes (their keys are the recipe's own names and constructor arguments),
    files under a Hydra package and configs whose schema cannot be read whole (a class outside
    the project, such as TRL's `SFTConfig`, among the classes the parser fills) are not judged.

    In a launcher, the options and arguments the target script's argparse does not take
    (it exits with "unrecognized arguments" before training starts), with a did-you-mean from
    the options it defines, and an abbreviation that matches several of them. Only scripts
    whose parser rejects unknown options are checked (`parse_args` on one known parser, all
    of whose options the script spells out: not one handed to a function of another module,
    `add_model_args(parser)` imported or `factory.build_group(parser)`, which may add options
    trainlint does not read); a launch that asks for help (`-h`, `--help`, argparse's own unless `add_help=False`) only
    prints the usage and is not read.

    ## Why is this bad?
    A strict loader stops the job at start, after it waited in the queue; a lenient one drops
    the key, and the run trains with the default value instead of yours.

    ## Example
    ```python
    # train.py
    @dataclass
    class TrainConfig:
        learning_rate: float = 1e-3
        warmup_steps: int = 0

    config = TrainConfig(**yaml.safe_load(open("configs/train.yaml")))
    ```
    ```yaml
    # configs/train.yaml: TrainConfig(**cfg) raises TypeError at start
    learning_rate: 0.0003
    warmup_step: 500
    ```

    ## Use instead
    ```yaml
    learning_rate: 0.0003
    warmup_steps: 500
    ```

    ## Fix safety
    Unsafe: renaming the key (or the launcher's option) changes which value the run uses. No
    fix is offered where the suggested key is already set beside the typo: the rename would
    repeat it (TL005).

    ## Options
    - `max-distance` (default 2): the largest edit distance that counts as a typo.
    - `min-length` (default 4): shorter keys are never reported.

    ## Source
    RULES.md TL003; the consumers and the project's schemas (`trainlint/consumers/`,
    docs/consumers.md); the framework key tables in `trainlint/dialects/*.toml`.
    """

    code = "TL003"
    name = "unknown-key"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "unknown key, close to a known one"
    precision = "92.6% (151 true, 12 false, 0 debatable of 163; dev corpus, 28 repositories)"
    fix_title = "rename the key"

    class Options(RuleOptions):
        max_distance: int = 2
        min_length: int = 4

    bad = (
        Example("hf_args.json",
                '{\n  "learning_rte": 2e-4,\n  "per_device_train_batch_size": 32,\n'
                '  "num_train_epochs": 3,\n  "output_dir": "out",\n  "logging_steps": 10\n}\n'),
        Example("ds_config.json",
                '{"train_micro_batch_size_per_gpu": 4, "gradient_acumulation_steps": 8,\n'
                ' "zero_optimization": {"stage": 2}}\n'),
    )
    good = (
        Example("train.yaml", "lr: 0.001\nwarmup_steps: 500\nmax_steps: 10000\nmy_note: hello\n"),
    )

    def check_document(self, doc):
        consumer = None
        asked = False
        table = dialects()
        dialect = table.get(doc.dialect)
        framework = dialect is not None and dialect.name != GENERIC
        dialect_keys, dialect_leaves = (_dialect_key_lists(dialect) if framework
                                         else ((), _Leaves(())))
        dialect_known = dialect.known if framework else frozenset()
        present = {(entry.document, entry.key) for entry in doc.entries}
        for entry in doc.entries:
            if entry.key_span is None or entry.origin.endswith("merge"):
                continue
            leaf = entry.key.rsplit(".", 1)[-1]
            if len(leaf) < self.options.min_length:
                continue
            if not asked:
                consumer, asked = doc.consumer, True
            schema = _key_set(consumer)
            if schema is not None:
                yield from self._against_schema(doc, entry, leaf, consumer, schema, present)
            elif framework and (consumer is None or not consumer.known):
                yield from self._guessed(entry, leaf, doc.dialect, dialect_keys, dialect_known,
                                         dialect_leaves)

    def _against_schema(self, doc, entry, leaf, consumer, schema, present):
        """The code that reads the file is known, and so is every key it accepts."""
        if entry.key.split(".", 1)[0] in _DIRECTIVES or schema.knows(entry.key) is not False:
            return
        parent = entry.key[:len(entry.key) - len(leaf)].rstrip(".")
        names = _sorted_keys(_field_names(schema, parent))
        suggestion = self._closest(leaf, names)
        call = _load_site(consumer)
        root = _root_of(doc.path, call.path) if call is not None else ""
        site = call.label(root) if call is not None else "its reader"
        name = _schema_label(schema.name, root)
        severity = None
        if consumer.unknown_keys == "raise":
            effect = f"the run fails at start: {name} read at `{site}` has no field `{leaf}`"
            severity = Severity.ERROR
        else:
            effect = f"silently ignored: {name} read at `{site}` has no field `{leaf}`"
        if suggestion is None:
            yield self.diagnostic(entry.path, entry.key_span, f"unknown key `{leaf}`: {effect}",
                                  severity=severity, basis="consumer")
            return
        sibling = f"{parent}.{suggestion}" if parent else suggestion
        if (entry.document, sibling) in present:
            yield self.diagnostic(entry.path, entry.key_span,
                                  f"unknown key `{leaf}`; did you mean `{suggestion}`? ({effect}; "
                                  f"`{suggestion}` is set too: remove one of them)",
                                  severity=severity, basis="consumer")
            return
        fix = self.rename_key(entry, suggestion, f"rename `{leaf}` to `{suggestion}`",
                              Applicability.UNSAFE)
        yield self.diagnostic(entry.path, entry.key_span,
                              f"unknown key `{leaf}`; did you mean `{suggestion}`? ({effect})",
                              fix, severity, basis="consumer")

    def _guessed(self, entry, leaf, dialect_name, dialect_keys, known, known_leaves):
        """No code of the project was found reading the file: the framework is guessed from
        key names, so a key close to one of its keys is only worth an info, with no rename."""
        if entry.key in known or leaf in known_leaves.names:
            return
        suggestion = (self._closest(entry.key, dialect_keys)
                      or self._closest(leaf, known_leaves.sorted))
        if suggestion is None:
            return
        close = suggestion.rsplit(".", 1)[-1]
        yield self.diagnostic(entry.path, entry.key_span,
                              f"`{leaf}` is no {dialect_name} key (close to `{close}`); no code of "
                              "this project was found reading the file, so whether the run uses "
                              "it is not known", severity=Severity.INFO, basis="guessed")

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

    def _closest(self, key: str, candidates: tuple[str, ...]) -> str | None:
        """The candidate `key` most likely meant; remembered for the run, as a project's
        configs repeat the same keys against the same key sets (difflib compares `key` with
        every candidate: a third of TL003's time on a repository of 100 configs)."""
        asked = (key, candidates, self.options.max_distance)
        if asked not in _CLOSEST:
            from difflib import get_close_matches  # 4 ms of imports, for a key not known only

            _CLOSEST[asked] = next(
                (match for match in get_close_matches(key, candidates, n=3, cutoff=0.75)
                 if match != key and _distance(key, match) <= self.options.max_distance), None)
        return _CLOSEST[asked]


_CLOSEST: dict[tuple[str, tuple[str, ...], int], str | None] = {}


def _sorted_keys(keys) -> tuple[str, ...]:
    return tuple(sorted(set(keys)))


class _Leaves:
    """The last parts of a dialect's known keys, as a set and in order."""

    def __init__(self, known) -> None:
        self.names = frozenset(key.rsplit(".", 1)[-1] for key in known)
        self.sorted = tuple(sorted(self.names))


# id(dialect) -> (the dialect, kept alive so that its id is not reused; keys; leaves)
_DIALECT_LISTS: dict[int, tuple[object, tuple[str, ...], _Leaves]] = {}


def _dialect_key_lists(dialect) -> tuple[tuple[str, ...], _Leaves]:
    """A dialect's keys in order and its known leaves, made once per dialect (a settings
    file may define a dialect of the same name with other keys)."""
    made = _DIALECT_LISTS.get(id(dialect))
    if made is None or made[0] is not dialect:
        made = _DIALECT_LISTS[id(dialect)] = (dialect, _sorted_keys(dialect.keys),
                                              _Leaves(dialect.known))
    return made[1], made[2]


# keys a loader reads itself, never a field of the schema it fills
_DIRECTIVES = frozenset({"defaults", "_base_", "_BASE_", "hydra", "_target_", "_component_"})


def _key_set(consumer):
    """The schema whose keys decide what is unknown, or None where the code that reads the
    file, or the keys it accepts, are not known (then nothing is reported as a warning)."""
    if consumer is None or not consumer.known or consumer.package is not None:
        return None
    if consumer.unknown_keys not in ("raise", "ignored"):
        return None  # kept in a dict (code may read any key) or not modelled
    if "ref-tags" in consumer.value_language or "object-tags" in consumer.value_language:
        return None  # HyperPyYAML: keys are the recipe's own names and constructor arguments
    schema = consumer.schema
    if schema is None or not schema.closed and consumer.unknown_keys != "ignored":
        return None
    if schema.external:
        return None  # a class outside the project (TRL's GRPOConfig): its fields are not read
    return schema


def _field_names(schema, parent: str) -> set[str]:
    if not parent:
        return set(schema.fields) | set(schema.known_external)
    node = schema.field(parent)
    return set(node.nested.fields) if node is not None and node.nested is not None else set()


def _load_site(consumer):
    """The code that loads the file (a launcher line only names it)."""
    sites = consumer.sites
    return next((site for site in sites if site.path.endswith(".py")), sites[0] if sites else None)


def _schema_label(name: str, root: str) -> str:
    """`TrainConfig` in backticks; "argparse of /abs/train.py" as the parser of `train.py`."""
    if name.startswith("argparse of "):
        script = name[len("argparse of "):]
        shown = os.path.relpath(script, root) if root and os.path.isabs(script) else script
        return f"the argparse parser of `{shown}`"
    return f"`{name}`"


def _root_of(config: str, site: str) -> str:
    """The folder both paths share, so a call site is shown relative to the project."""
    try:
        return os.path.commonpath([os.path.abspath(config), os.path.abspath(site)])
    except ValueError:
        return ""


def _did_you_mean(option: str, known: tuple[str, ...]) -> str | None:
    """The option a mistyped one most likely meant (`--learning-rate` for `--learning_rate`)."""
    normalized = {flag.lstrip("-").replace("-", "_").lower(): flag for flag in known}
    key = option.lstrip("-").replace("-", "_").lower()
    if key in normalized:
        return normalized[key]
    from difflib import get_close_matches  # see _closest

    matches = get_close_matches(key, list(normalized), n=1, cutoff=0.6)
    return normalized[matches[0]] if matches else None
