"""The code's layout: rules reach the engine only through `trainlint.api`; no import loops;
every module imports on its own; no module over ~800 lines without a reason at its top."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import trainlint.api

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
PACKAGE_FOLDERS = ((ROOT / "linter", "trainlint"), (RULES, "trainlint.rules"))
MAX_LINES = 800
# Rule folders not yet held to the API door (none now: add one here only while it is being
# moved onto the API by a parallel branch).
NOT_YET_ON_THE_API: set[str] = set()


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


# ---------------------------------------------------------------- import loops


def _modules() -> dict[str, Path]:
    """Every module of the package, by its import name."""
    found = {}
    for folder, package in PACKAGE_FOLDERS:
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules `name` imports at run time: at module level or inside functions
    (an import loop hidden in a function is still a loop), not under `if TYPE_CHECKING:`."""
    imported: set[str] = set()
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = name.split(".")[:len(name.split(".")) - node.level + is_package]
                module = ".".join([*base, *([module] if module else [])])
            imported.add(module)
            imported.update(f"{module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    # a module's own packages are imported before it anyway: no loop through them
    return {module for module in imported
            if module in modules and not name.startswith(module + ".")}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {name: _imported(name, path, modules) for name, path in modules.items()}
    graph["trainlint.api"] |= set(trainlint.api._LAZY.values())  # imported on first use
    return graph


def _loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return loops


def test_no_import_loops():
    assert _loops(import_graph()) == []


def test_the_loop_check_finds_a_loop_hidden_in_a_function():
    graph = import_graph()
    graph["trainlint.context"].add("trainlint.settings")  # what validate_rule_options once did
    assert any({"trainlint.context", "trainlint.settings"} <= set(loop) for loop in _loops(graph))


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """An import loop (or a missing import) shows as an ImportError when a module is the first
    one imported; one interpreter per module, run side by side. A module for an optional
    framework (the probe's Lightning and transformers callbacks) may miss only that framework."""
    names = sorted(name for name in _modules() if not name.endswith("__main__"))  # those run
    code = "import importlib, sys; importlib.import_module(sys.argv[1])"
    failed = []
    for start in range(0, len(names), 16):
        running = [(name, subprocess.Popen([sys.executable, "-c", code, name], cwd=ROOT,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
                   for name in names[start:start + 16]]
        for name, process in running:
            _, err = process.communicate(timeout=120)
            lines = err.decode().strip().splitlines() or [f"exit status {process.returncode}"]
            last = lines[-1] if process.returncode else ""
            if last and not re.fullmatch(r"ModuleNotFoundError: No module named '(?!trainlint)[\w.]+'",
                                         last):
                failed.append(f"{name}: {last}")
    assert not failed, "\n".join(failed)


# ---------------------------------------------------------------- module size


def test_no_module_over_800_lines_without_a_reason_at_its_top():
    """A long module says at its top why it is one module (a `Why one module` paragraph in its
    docstring), or it is split."""
    long = []
    for name, path in sorted(_modules().items()):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if "Why one module" not in docstring:
                long.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert not long, "\n".join(long)
