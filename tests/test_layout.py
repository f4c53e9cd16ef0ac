"""The code's layout: rules reach the engine only through `trainlint.api`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trainlint.api

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
# Rule folders not yet held to the API door: rules/probe is moved onto it in parallel (issue 12's
# probe part). Empty this set once that work is merged.
NOT_YET_ON_THE_API = {"probe"}


def _rule_modules() -> list[Path]:
    return sorted(path for path in RULES.rglob("*.py")
                  if path.relative_to(RULES).parts[0] not in NOT_YET_ON_THE_API)


def _trainlint_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a trainlint module, at any depth of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found.extend((node.lineno, module) for module in modules
                     if module == "trainlint" or module.startswith("trainlint."))
    return found


def _allowed(module: str) -> bool:
    return module == "trainlint.api" or module == "trainlint.rules" \
        or module.startswith("trainlint.rules.")


@pytest.mark.parametrize("path", _rule_modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_rules_import_only_the_api(path):
    wrong = [f"{path.relative_to(ROOT)}:{line}: {module}"
             for line, module in _trainlint_imports(path) if not _allowed(module)]
    assert not wrong, "rules import trainlint only through trainlint.api:\n" + "\n".join(wrong)


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "tl999_example.py"
    module.write_text("from trainlint.api import Rule\n\n\ndef fix():\n"
                      "    from trainlint.fix.cst import insert_keyword\n", encoding="utf-8")
    assert [module for _, module in _trainlint_imports(module) if not _allowed(module)] \
        == ["trainlint.fix.cst"]


@pytest.mark.parametrize("name", sorted(trainlint.api._LAZY))
def test_every_name_the_api_offers_resolves(name):
    assert getattr(trainlint.api, name) is not None
