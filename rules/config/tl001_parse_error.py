"""TL001 parse-error: file cannot be parsed. Its page: docs/rules/TL001.md."""

from trainlint.api import Example, FixAvailability, ParseErrorRule, Severity, Span


class ParseError(ParseErrorRule):
    """## What it does
    Reports a file trainlint cannot read: invalid YAML, JSON, TOML or Python syntax, bytes that
    are not UTF-8 text, NUL bytes, nesting deeper than 500 levels, or a YAML alias bomb. In a
    launcher (`.sh`, `.ps1`, Markdown shell blocks), each place the shell itself would fail to
    read: a quote or `$(` never closed, a here-document or block never closed, a `\\` or
    backtick followed by a space at the end of a line; the rest of the launcher is still read.
    Python that a newer grammar accepts (PEP 695 `type X = ...` on an older interpreter) is
    not an error: the file is not checked, and `--verbose` says so. Nor is a shell script's
    value to fill in (`DATA_PATH=<PATH_OF_DATA> \\`): that line and the one it continues onto
    are a template, noted with `--verbose`.

    JSON with `//` or `/* */` comments (and nothing else wrong) is read by commentjson, json5
    or code that strips the comments, not by `json.load`: it is an error where the code found
    reading the file reads plain JSON (`json.load`, `HfArgumentParser.parse_json_file`,
    DeepSpeed), and an info where no such reader is found (docs/consumers.md).

    ## Why is this bad?
    A training config that does not parse fails the run at start-up at best; at worst a loader
    that is more forgiving than the one you tested with reads something else. trainlint reports
    the position and goes on with the other files.

    ## Example
    ```yaml
    optim_conf:
      lr: 0.001
     weight_decay: 0.01   # indentation breaks the mapping
    ```

    ## Use instead
    ```yaml
    optim_conf:
      lr: 0.001
      weight_decay: 0.01
    ```

    ## Fix safety
    No fix: only a person knows what the file meant.

    ## Options
    None. The file size limit is the `max-file-size` setting (default 1 MiB).

    ## Source
    Engine contract (DESIGN.md): bad input gets a clear message with file:line:col.
    """

    code = "TL001"
    name = "parse-error"
    severity = Severity.ERROR
    fix_availability = FixAvailability.NONE
    message = "file cannot be parsed"
    precision = "66.7% (4 true, 2 false, 0 debatable of 6; dev corpus, 28 repositories)"

    bad = (
        Example("config.yaml", "optim_conf:\n  lr: 0.001\n weight_decay: 0.01\n"),
        Example("config.json", '{"learning_rate": 1e-4,}\n'),
        Example("train.py", "print 'hello'\n"),
    )
    good = (Example("config.yaml", "optim_conf:\n  lr: 0.001\n  weight_decay: 0.01\n"),)

    def check_parse_error(self, path: str, message: str, span: Span, read_by: str | None = None):
        if read_by is None:
            return self.diagnostic(path, span, message)
        consumer = self.ctx.consumer_of(path)
        known = consumer is not None and consumer.known
        if known and "json" in consumer.loader.formats:
            site = consumer.script_site()
            where = f" at `{site.label_beside(path)}`" if site else ""
            return self.diagnostic(path, span, f"{message}: a comment, which JSON does not allow, "
                                               f"and `{consumer.loader.display}`{where} reads the "
                                               "file as plain JSON", basis="consumer")
        reader = "no code of this project was found reading it as plain JSON"
        if known:
            reader = f"`{consumer.loader.display}`, found reading it, is not known to read plain JSON"
        return self.diagnostic(path, span, f"{message}: a comment, which `json.load` rejects; "
                                           f"{read_by} read the file, and {reader}",
                               severity=Severity.INFO, basis="guessed")

