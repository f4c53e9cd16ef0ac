"""The command line: `trainlint [check] PATHS`, `rule CODE`, `rules`, `show PATH`, `probe TARGET`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from trainlint import __version__

SUBCOMMANDS = ("check", "rule", "rules", "show", "probe")


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
    parser.add_argument("--no-color", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="print skip notes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    try:
        from trainlint.probe import cli as probe_cli
    except ImportError:
        probe_cli = None
    if probe_cli is not None:
        probe_cli.add_arguments(probe)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "check")
    args = build_parser().parse_args(argv)
    from trainlint.settings import SettingsError

    try:
        return _dispatch(args)
    except SettingsError as exc:
        print(f"trainlint: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1


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

        return probe_cli.run(args, _settings_for(Path.cwd(), getattr(args, "config", None)))
    return _check(args)


def _settings_for(start: Path, explicit: Path | None, args: argparse.Namespace | None = None):
    from trainlint.context import parse_version
    from trainlint.settings import SettingsError, load_settings

    if explicit is not None and not explicit.is_file():
        raise SettingsError(f"settings file {explicit} does not exist")
    settings = load_settings(start, explicit)
    if args is None:
        return settings
    overrides = {}
    for name in ("model_type", "dataset_size", "world_size"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    for name in ("target_torch", "target_transformers"):
        value = getattr(args, name, None)
        if value is not None:
            version = parse_version(value)
            if version is None:
                raise SettingsError(f"--{name.replace('_', '-')}: `{value}` is not a version")
            overrides[name] = version
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
    from trainlint.engine import RunOptions, check_paths
    from trainlint.report import render

    output_format = args.output_format or _default_output_format()
    if output_format not in _output_formats():
        print(f"trainlint: error: unknown output format `{output_format}` "
              f"(choose from {', '.join(_output_formats())})", file=sys.stderr)
        return 2
    start = Path(args.stdin_filename or (args.paths[0] if args.paths else "."))
    settings = _settings_for(start, args.config, args)
    options = RunOptions(fix=args.fix, unsafe_fixes=bool(args.unsafe_fixes), diff=args.diff,
                         select=args.select, extend_select=args.extend_select, ignore=args.ignore)
    if args.unsafe_fixes is False:
        settings.unsafe_fixes = False
    if args.unsafe_fixes and not args.diff:
        options.fix = True
    stdin = None
    if args.stdin_filename:
        stdin = (args.stdin_filename, sys.stdin.read())
    report = check_paths(args.paths, settings, options, stdin)
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
