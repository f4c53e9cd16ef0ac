"""Rule docs: the generated pages and README's table are in sync with the rule modules, each
finding links to its page, and `trainlint rule` renders it."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

from helpers import ROOT, check, run_cli
from trainlint.docs import TABLE_END, TABLE_START, print_rule, rule_markdown
from trainlint.registry import all_rules, rule_by_code

PAGES = ROOT / "docs" / "rules"


def _copy_docs(tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(PAGES, tmp_path / "docs" / "rules")
    return tmp_path


def _tree(root):
    files = {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
             for path in (root / "docs" / "rules").glob("*.md")}
    files["README.md"] = (root / "README.md").read_text(encoding="utf-8")
    return files


def _docs(*args, cwd):
    return subprocess.run([sys.executable, "-m", "trainlint.docs", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_generated_docs_are_up_to_date(tmp_path):
    """Regenerate into a copy and compare; run `python -m trainlint.docs` when this fails."""
    copy = _copy_docs(tmp_path)
    assert _docs(cwd=copy).returncode == 0
    regenerated, committed = _tree(copy), _tree(ROOT)
    stale = sorted(name for name in regenerated.keys() | committed.keys()
                   if regenerated.get(name) != committed.get(name))
    assert not stale, f"out of date (run `python -m trainlint.docs`): {stale}"


def test_check_mode_names_stale_and_orphan_pages(tmp_path):
    copy = _copy_docs(tmp_path)
    _docs(cwd=copy)
    assert _docs("--check", cwd=copy).returncode == 0
    first = all_rules()[0].code
    (copy / "docs" / "rules" / f"{first}.md").write_text("old text\n")
    (copy / "docs" / "rules" / "TL998.md").write_text("a rule that was removed\n")
    result = _docs("--check", "--root", str(copy), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{first}.md" in result.stdout and "TL998.md" in result.stdout
    assert (copy / "docs" / "rules" / f"{first}.md").read_text() == "old text\n"  # --check wrote nothing
    _docs(cwd=copy)
    assert not (copy / "docs" / "rules" / "TL998.md").exists()


def test_readme_table_lists_every_rule():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert TABLE_START in text and TABLE_END in text, "README.md lost its rule-table markers"
    table = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    for rule in all_rules():
        assert f"[{rule.code}](docs/rules/{rule.code}.md) | {rule.name} |" in table


def test_every_rule_url_points_at_its_page():
    for rule in all_rules():
        assert rule.url().endswith(f"/docs/rules/{rule.code}.md")
        page = PAGES / f"{rule.code}.md"
        assert page.is_file(), f"no page for {rule.code}"
        assert page.read_text(encoding="utf-8").startswith(f"# {rule.code} {rule.name}\n")


def test_findings_carry_their_rule_url(tmp_path):
    (tmp_path / "train.yaml").write_text("learning_rate: 1e-4  # trainlint: ignore[TL001]\nnum_train_epochs: 3\n")
    report = check(tmp_path / "train.yaml")
    assert {d.code for d in report.diagnostics} >= {"TL004", "TL009"}
    for diagnostic in report.diagnostics:
        assert diagnostic.url == rule_by_code(diagnostic.code).url()


def test_page_has_the_rule_facts_docs_and_options():
    for rule in all_rules():
        page = rule_markdown(rule)
        assert f"Default severity: **{rule.severity.value}**" in page
        assert f"Fix: **{rule.fix_availability.value}**" in page
        if getattr(rule, "Options", None) is not None:
            assert f"[tool.trainlint.rules.{rule.code}]" in page


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_rule_renders_rich_markdown_in_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    terminal = _Terminal()
    assert print_rule("TL004", terminal) == 0
    shown = terminal.getvalue()
    assert "yaml11-float-string" in shown and "Why is this bad?" in shown
    assert "## Why is this bad?" not in shown  # headings rendered, not raw markdown
    piped = io.StringIO()
    print_rule("TL004", piped)
    assert piped.getvalue() == rule_markdown(rule_by_code("TL004"))


def test_unknown_rule_is_exit_2():
    code, out, err = run_cli("rule", "TL000")
    assert code == 2 and out == "" and "no rule `TL000`" in err
