"""Rule documentation: `trainlint rule CODE`, `trainlint rules`, and the generated pages.

docs/rules/<CODE>.md and README.md's rule table are generated from the rule modules
(`python -m trainlint.docs` rewrites them; a test fails when they are out of date).
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

from msgspec import NODEFAULT

from trainlint.api import options_fields
from trainlint.registry import all_rules, rule_by_code

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"


def _options_table(rule) -> str:
    options = getattr(rule, "Options", None)
    if options is None:
        return ""
    rows = ["| option | default |", "|---|---|"]
    for option in options_fields(options):
        default = option.default if option.default is not NODEFAULT else (
            option.default_factory() if option.default_factory is not NODEFAULT else "")
        rows.append(f"| `{option.name.replace('_', '-')}` | `{default!r}` |")
    return (f"\nSet in `[tool.trainlint.rules.{rule.code}]`:\n\n" + "\n".join(rows) + "\n")


def status(rule) -> str:
    """"preview" (runs only with --preview) or "default"."""
    return "preview" if getattr(rule, "preview", False) else "default"


def _status_line(rule) -> str:
    line = f"Status: **{status(rule)}**"
    if status(rule) == "preview":
        line += " (runs only with `--preview` or `preview = true`)"
    precision = getattr(rule, "precision", None)
    return line + f" · Measured precision: {precision or 'not measured yet'}"


def rule_markdown(rule) -> str:
    doc = inspect.cleandoc(rule.__doc__ or "")
    fix = f" ({rule.fix_title})" if rule.fix_title else ""
    head = (f"# {rule.code} {rule.name}\n\n"
            f"Default severity: **{rule.severity.value}** · Fix: **{rule.fix_availability.value}**"
            f"{fix}\n\n{_status_line(rule)}\n\nMessage: {rule.message}\n\n")
    return head + doc + "\n" + _options_table(rule)


def print_rule(code: str, stream=sys.stdout) -> int:
    rule = rule_by_code(code)
    if rule is None:
        print(f"trainlint: error: no rule `{code}` (see `trainlint rules`)", file=sys.stderr)
        return 2
    text = rule_markdown(rule)
    if hasattr(stream, "isatty") and stream.isatty():
        from rich.console import Console  # rich only for a terminal: a pipe gets the text
        from rich.markdown import Markdown

        Console(file=stream).print(Markdown(text))
    else:
        stream.write(text)
    return 0


def rule_rows() -> list[dict]:
    return [{"code": r.code, "name": r.name, "severity": r.severity.value,
             "fix": r.fix_availability.value, "fix_title": r.fix_title, "status": status(r),
             "precision": getattr(r, "precision", None), "message": r.message, "url": r.url()}
            for r in all_rules()]


def print_rules(output_format: str, stream=sys.stdout) -> int:
    rows = rule_rows()
    if output_format == "json":
        json.dump(rows, stream, indent=2)
        stream.write("\n")
        return 0
    width = max(len(row["name"]) for row in rows)
    precision = max(len("precision"), *(len(row["precision"] or "-") for row in rows))
    stream.write(f"{'code':<6} {'name':<{width}}  {'severity':<8}  {'fix':<9}  {'status':<7}  "
                 f"{'precision':<{precision}}  message\n")
    for row in rows:
        stream.write(f"{row['code']:<6} {row['name']:<{width}}  {row['severity']:<8}  "
                     f"{row['fix']:<9}  {row['status']:<7}  {row['precision'] or '-':<{precision}}  "
                     f"{row['message']}\n")
    return 0


def rules_table() -> str:
    lines = ["| code | name | severity | fix | status | what it finds |",
             "|---|---|---|---|---|---|"]
    for row in rule_rows():
        lines.append(f"| [{row['code']}](docs/rules/{row['code']}.md) | {row['name']} | "
                     f"{row['severity']} | {row['fix']} | {row['status']} | {row['message']} |")
    return "\n".join(lines)


def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file with its expected text."""
    files = {root / "docs" / "rules" / f"{rule.code}.md": rule_markdown(rule) for rule in all_rules()}
    readme = root / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if TABLE_START in text and TABLE_END in text:
            before, rest = text.split(TABLE_START, 1)
            _, after = rest.split(TABLE_END, 1)
            files[readme] = f"{before}{TABLE_START}\n{rules_table()}\n{TABLE_END}{after}"
    return files


def write_docs(root: Path) -> list[Path]:
    changed = []
    pages = root / "docs" / "rules"
    pages.mkdir(parents=True, exist_ok=True)
    expected = expected_files(root)
    for stale in pages.glob("TL*.md"):
        if stale not in expected:
            stale.unlink()
            changed.append(stale)
    for path, text in expected.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def stale_files(root: Path) -> list[Path]:
    """Generated files that differ from what the rule modules say, and pages of no rule."""
    expected = expected_files(root)
    stale = [path for path, text in expected.items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    pages = root / "docs" / "rules"
    stale += [page for page in sorted(pages.glob("TL*.md")) if page not in expected]
    return stale


def main(argv: list[str] | None = None) -> int:
    import argparse  # `python -m trainlint.docs` only

    parser = argparse.ArgumentParser(
        prog="python -m trainlint.docs",
        description="Write docs/rules/<CODE>.md and README.md's rule table from the rule modules.")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: .)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and name the files that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.root)
        for path in stale:
            print(f"out of date: {path}")
        if stale:
            print("run `python -m trainlint.docs` to regenerate them")
        return 1 if stale else 0
    for path in write_docs(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
