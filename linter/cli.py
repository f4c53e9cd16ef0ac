"""The command line: `trainlint [check] PATHS`, `rule CODE`, `rules`, `show PATH`, `probe TARGET`.

Each command imports what it needs inside its function: `trainlint check config.yaml` must not
pay for `show`, the docs, the probe, baselines or rich (start-up; see docs/design.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from trainlint import __version__

SUBCOMMANDS = ("check", "rule", "rules", "show", "probe")


class UsageError(Exception):
    """Bad input on the command line (a ref, a baseline file): one message, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line said in one line (as ruff does) instead
    of the whole usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.split(",") if code.strip()]


def _output_formats() -> list[str]:
    from trainlint.report import available_formats

    return [name for name in available_formats() if name != "common"]


def _default_output_format() -> str:
    if os.environ.get("GITHUB_ACTIONS") == "true" and "github" in _output_formats():
        return "github"
    return "text"


def _add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: .)")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes")
    parser.add_argument("--unsafe-fixes", action="store_true", default=None,
                        help="also apply unsafe fixes (they change hyper-parameters)")
    parser.add_argument("--no-unsafe-fixes", dest="unsafe_fixes", action="store_false")
    parser.add_argument("--diff", action="store_true", help="print the fixes as a diff; write nothing")
    parser.add_argument("--preview", action="store_true", default=None,
                        help="also run the preview rules (not yet measured precise enough)")
    parser.add_argument("--no-preview", dest="preview", action="store_false")
    parser.add_argument("--include-tests", action="store_true", default=None,
                        help="judge test code (tests/, test_*.py) at full severity, not as info")
    parser.add_argument("--no-include-tests", dest="include_tests", action="store_false")
    parser.add_argument("--select", type=_codes, default=[], help="codes or prefixes, e.g. TL1,TL004")
    parser.add_argument("--extend-select", type=_codes, default=[])
    parser.add_argument("--ignore", type=_codes, default=[])
    parser.add_argument("--output-format", default=None, help="text, json, github, sarif, ...")
    parser.add_argument("--model-type", help="e.g. ctc, rnn-ctc, conformer, bert-mlm, llm-lora")
    parser.add_argument("--dataset-size", type=int, help="training samples")
    parser.add_argument("--world-size", type=int, help="data-parallel processes")
    parser.add_argument("--target-torch", help="PyTorch version the code runs on, e.g. 2.6")
    parser.add_argument("--target-transformers", help="transformers version, e.g. 5.0")
    parser.add_argument("--config", type=Path, help="settings file (default: nearest pyproject.toml)")
    parser.add_argument("--stdin-filename", help="read the file from standard input under this name")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    parser.add_argument("--since", metavar="REF",
                        help="check only the files changed since a git ref (and what they pull in)")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="report only findings that are not in this baseline file")
    parser.add_argument("--write-baseline", type=Path, metavar="FILE",
                        help="write every current finding to FILE and exit 0")
    parser.add_argument("--force-exclude", action="store_true",
                        help="apply `exclude` and the skip lists to files named on the command "
                             "line too (for pre-commit)")
    parser.add_argument("--no-color", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="print skip notes")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; the probe's arguments are only loaded for `trainlint probe`."""
    parser = _Parser(
        prog="trainlint", description="Lint and fix deep-learning training setups.")
    parser.add_argument("--version", action="version", version=f"trainlint {__version__}")
    sub = parser.add_subparsers(dest="command")
    _add_check_arguments(sub.add_parser("check", help="check files (the default command)"))
    rule = sub.add_parser("rule", help="print a rule's documentation")
    rule.add_argument("code")
    rules = sub.add_parser("rules", help="list all rules")
    rules.add_argument("--output-format", default="text", choices=["text", "json"])
    show = sub.add_parser("show", help="print the effective config of a launcher, script or config")
    show.add_argument("path")
    show.add_argument("--output-format", default="text", choices=["text", "json"])
    show.add_argument("--config", type=Path)
    probe = sub.add_parser("probe", help="run a few training steps and check the first losses")
    if command == "probe":
        from trainlint.probe import cli as probe_cli

        probe_cli.add_arguments(probe)
    return parser


def main(argv: list[str] | None = None) -> int:
    import gc

    # A run allocates many small, long-lived objects (ast nodes, spans) and frees them at exit;
    # the default collection threshold spends ~10% of a run rescanning them.
    gc.set_threshold(50_000, 20, 20)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "check")
    args = build_parser(argv[0]).parse_args(argv)
    from trainlint.settings import SettingsError

    try:
        return _dispatch(args)
    except (SettingsError, UsageError) as exc:
        print(f"trainlint: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


def run() -> None:
    """The console script: `main()`, then exit without tearing the interpreter down.

    Freeing every object and module at exit took 11 ms of a 160 ms run over 134 scripts
    (measured). Nothing needs it: fixed files are already written (atomically), forked children
    already waited for, and the output is flushed here."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away, e.g. `trainlint check . | head -1`
        code = code or 1
    os._exit(code)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "rule":
        from trainlint.docs import print_rule

        return print_rule(args.code, sys.stdout)
    if args.command == "rules":
        from trainlint.docs import print_rules

        return print_rules(args.output_format, sys.stdout)
    if args.command == "show":
        return _show(args)
    if args.command == "probe":
        from trainlint.probe import cli as probe_cli

        factory_file = Path(args.target.split(":", 1)[0])
        start = factory_file if factory_file.suffix == ".py" and factory_file.exists() else Path.cwd()
        return probe_cli.run(args, _settings_for(start, getattr(args, "config", None)))
    return _check(args)


def _settings_for(start: Path, explicit: Path | None, args: argparse.Namespace | None = None):
    from trainlint.settings import SettingsError, load_settings, validate_context

    if explicit is not None and not explicit.is_file():
        raise SettingsError(f"settings file {explicit} does not exist")
    settings = load_settings(start, explicit)
    if args is None:
        return settings
    given = {key: getattr(args, key.replace("-", "_"), None)
             for key in ("model-type", "dataset-size", "world-size", "target-torch",
                         "target-transformers")}
    overrides = validate_context(given, lambda key: f"--{key}", settings.bands)
    for name in ("target_torch", "target_transformers"):
        if name in overrides:
            settings.project.sources[name] = "command line"
    return settings.with_overrides(**overrides) if overrides else settings


def _show(args: argparse.Namespace) -> int:
    try:
        from trainlint.show import show
    except ImportError:
        print("trainlint: error: `show` is not available in this build", file=sys.stderr)
        return 2
    settings = _settings_for(Path(args.path), args.config)
    return show(args.path, settings, args.output_format, sys.stdout)


def _check(args: argparse.Namespace) -> int:
    from trainlint.engine import Report, RunOptions, check_paths
    from trainlint.report import render

    output_format = _default_output_format() if args.output_format is None else args.output_format
    if output_format not in _output_formats():
        print(f"trainlint: error: unknown output format `{output_format}` "
              f"(choose from {', '.join(_output_formats())})", file=sys.stderr)
        return 2
    if args.since and args.stdin_filename:
        raise UsageError("--since and --stdin-filename cannot be used together")
    _check_selectors(args)
    start = Path(args.stdin_filename or (args.paths[0] if args.paths else "."))
    settings = _settings_for(start, args.config, args)
    baseline = _load_baseline(args.baseline) if args.baseline else None
    options = RunOptions(fix=args.fix, unsafe_fixes=bool(args.unsafe_fixes), diff=args.diff,
                         select=args.select, extend_select=args.extend_select, ignore=args.ignore,
                         preview=args.preview)
    _warn_unselectable_preview(options, settings)
    if args.unsafe_fixes is False:
        settings.unsafe_fixes = False
    if args.include_tests is not None:
        settings.include_tests = args.include_tests
    if args.unsafe_fixes and not args.diff:
        options.fix = True
    stdin = None
    if args.stdin_filename:
        stdin = (args.stdin_filename, sys.stdin.buffer.read())  # decoded as a file's bytes are
    paths = _paths_to_check(args, settings)
    report = check_paths(paths, settings, options, stdin) if paths is not None else Report()
    if args.write_baseline:
        return _write_baseline(args.write_baseline, report)
    if baseline is not None:
        report.diagnostics, hidden = baseline.filter(report.diagnostics)
        if hidden:
            report.notes.append(f"{hidden} finding{'s' * (hidden != 1)} hidden by the baseline "
                                f"{args.baseline}")
            print(f"trainlint: {hidden} finding{'s' * (hidden != 1)} in the baseline "
                  f"{args.baseline} not shown", file=sys.stderr)
    if args.diff:
        sys.stdout.write("".join(report.diffs))
        stream = sys.stderr
    elif report.outputs:
        sys.stdout.write("".join(report.outputs))
        stream = sys.stderr
    else:
        stream = sys.stdout
    render(report, output_format, stream, verbose=args.verbose,
           color=False if args.no_color else None)
    for error in report.errors if output_format != "text" else ():
        print(f"trainlint: error: {error}", file=sys.stderr)
    if report.errors:
        return 2
    if args.diff:
        return 1 if report.diffs else report.exit_code if not args.exit_zero else 0
    return 0 if args.exit_zero else report.exit_code


def _check_selectors(args: argparse.Namespace) -> None:
    """An unknown code in --select, --extend-select or --ignore is a mistake, not a filter
    that passes everything."""
    from trainlint.registry import selector_error

    for option in ("select", "extend_select", "ignore"):
        for selector in getattr(args, option):
            problem = selector_error(selector)
            if problem:
                raise UsageError(f"--{option.replace('_', '-')}: {problem}")


def _warn_unselectable_preview(options, settings) -> None:
    """As ruff: naming a preview rule's exact code does not run it outside preview mode."""
    preview = settings.preview if options.preview is None else options.preview
    if preview:
        return
    from trainlint.registry import preview_codes

    named = {code.upper() for code in [*options.select, *options.extend_select,
                                       *settings.select, *settings.extend_select]}
    if not named:
        return  # nothing named: no need to read the rule modules
    for code in sorted(named & preview_codes()):
        print(f"trainlint: warning: `{code}` is a preview rule: selecting it has no effect "
              "without --preview (or `preview = true`)", file=sys.stderr)


def _paths_to_check(args: argparse.Namespace, settings) -> list[str] | None:
    """The paths for the engine (empty: the current folder), or None: nothing to check."""
    if args.stdin_filename:
        return args.paths
    paths = args.paths
    if args.force_exclude and paths:
        paths = [path for path in paths if not _force_excluded(path, settings)]
        if not paths:
            return None
    if args.since:
        from trainlint.changed import ChangedFilesError, select_changed
        from trainlint.discovery import discover

        problems: list[str] = []
        candidates, _ = discover(paths or ["."], settings, problems)
        if problems:
            raise UsageError(problems[0])
        first = Path(paths[0]) if paths else Path.cwd()
        where = first if first.is_dir() else first.parent
        try:
            return select_changed(candidates, args.since, where if where.is_dir() else None,
                                  settings.max_file_size) or None
        except ChangedFilesError as exc:
            raise UsageError(str(exc)) from None
    return paths


def _force_excluded(path: str, settings) -> bool:
    """Whether a file named on the command line would be skipped if its folder were walked."""
    from trainlint.discovery import NOT_TRAINING_CONFIGS, SKIPPED_DIRS
    from trainlint.formats.base import FORMAT_BY_SUFFIX

    candidate = Path(path)
    if candidate.is_dir():
        return False
    if candidate.name in NOT_TRAINING_CONFIGS or candidate.suffix.lower() not in FORMAT_BY_SUFFIX:
        return True
    absolute = Path(os.path.realpath(candidate))  # never raises on a link loop
    root = Path(os.path.realpath(settings.root or Path.cwd()))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        relative = Path(os.path.relpath(absolute))
    if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts[:-1]):
        return True
    if settings.exclude:
        import pathspec

        spec = pathspec.GitIgnoreSpec.from_lines(settings.exclude)
        return spec.match_file(relative.as_posix())
    return False


def _load_baseline(path: Path):
    from trainlint.baseline import BaselineError, load_baseline

    try:
        return load_baseline(path)
    except BaselineError as exc:
        raise UsageError(str(exc)) from None


def _write_baseline(path: Path, report) -> int:
    from trainlint.baseline import BaselineError, write_baseline

    try:
        count = write_baseline(path, report.diagnostics)
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    for error in report.errors:
        print(f"trainlint: error: {error}", file=sys.stderr)
    print(f"trainlint: wrote {count} finding{'s' * (count != 1)} to the baseline {path}",
          file=sys.stderr)
    return 2 if report.errors else 0
