"""TL503 deprecated-amp-api: deprecated `torch.cuda.amp` API.

The class docstring is the rule's page (docs/rules/TL503.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    Applicability,
    Diagnostic,
    Edit,
    Example,
    Fix,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
)

NEW_API = "2.3"  # torch.amp.autocast("cuda") / torch.amp.GradScaler("cuda") exist since 2.3
DEPRECATED_IN = "2.4"  # the torch.cuda.amp entry points warn (FutureWarning) from 2.4
AMP_MODULES = ("torch.cuda.amp", "torch.cpu.amp")
# old name -> (new function under torch.amp, device, positional parameters of the old API)
REPLACEMENTS = {
    "torch.cuda.amp.autocast": ("autocast", "cuda", ("enabled", "dtype", "cache_enabled")),
    "torch.cpu.amp.autocast": ("autocast", "cpu", ("enabled", "dtype", "cache_enabled")),
    "torch.cuda.amp.GradScaler": ("GradScaler", "cuda", None),
}


class DeprecatedAmpApi(ScriptRule):
    """## What it does
    Finds calls of `torch.cuda.amp.autocast`, `torch.cpu.amp.autocast` and
    `torch.cuda.amp.GradScaler`, also through `from torch.cuda.amp import autocast,
    GradScaler` or `from torch.cuda import amp`.

    ## Why is this bad?
    These entry points are deprecated since PyTorch 2.4 (a FutureWarning from every place
    that calls them) and are slated for removal. `torch.amp.autocast("cuda",
    ...)` and `torch.amp.GradScaler("cuda", ...)` do the same thing and exist since 2.3.

    ## Example
    ```python
    from torch.cuda.amp import autocast, GradScaler

    scaler = GradScaler()
    with autocast(enabled=use_amp):
        loss = model(batch)
    ```

    ## Use instead
    ```python
    import torch

    scaler = torch.amp.GradScaler("cuda")
    with torch.amp.autocast("cuda", enabled=use_amp):
        loss = model(batch)
    ```

    ## Fix safety
    Safe only where every torch version the project allows has the new API (2.3 or newer):
    the new call builds the same object. No fix where the range (`target-torch`, else the
    project's requirement and lock files) includes older versions; unsafe where no torch
    requirement is found. Positional arguments of the old autocast (`enabled`, `dtype`,
    `cache_enabled`) become keywords, because the new signature puts `dtype` second; the
    GradScaler's keep their places after the device. `import torch` is added when the file
    has no name for `torch`. A `from torch.cuda.amp import ...` whose names are used only by
    the calls rewritten is removed with them (one fix rewrites every such call and the
    import, so that no call is left without its name); a name used otherwise (in
    `isinstance`, passed around) keeps its import. No fix for calls with `*args`.

    The rule is quiet where every allowed version predates the 2.4 deprecation.

    ## Options
    None. The torch version is the `target-torch` setting, else the project's own range.

    ## Source
    PyTorch 2.4 deprecated `torch.cuda.amp.autocast(args...)` and
    `torch.cuda.amp.GradScaler(args...)` in favour of `torch.amp.autocast("cuda", args...)`
    and `torch.amp.GradScaler("cuda", args...)`, available since PyTorch 2.3.
    """

    code = "TL503"
    name = "deprecated-amp-api"
    severity = Severity.WARNING
    fix_availability = FixAvailability.SOMETIMES
    message = "deprecated `torch.cuda.amp` API"
    precision = "100.0% (29 true, 0 false, 0 debatable of 29; dev corpus, 28 repositories)"
    fix_title = "use `torch.amp` with the device argument"
    needles = (b"amp",)

    bad = (
        Example(
            "train.py",
            "import torch\n\nscaler = torch.cuda.amp.GradScaler()\n"
            "with torch.cuda.amp.autocast(True):\n    loss = model(x)\n",
            fixed="import torch\n\nscaler = torch.amp.GradScaler(\"cuda\")\n"
                  "with torch.amp.autocast(\"cuda\", enabled=True):\n    loss = model(x)\n",
            settings={"target-torch": "2.4"},
        ),
        Example(
            "train.py",
            "from torch.cuda.amp import autocast\n\n"
            "def step(model, x, use_amp):\n"
            "    with autocast(enabled=use_amp):  # mixed precision\n"
            "        return model(x)\n",
            fixed="import torch\n\n"
                  "def step(model, x, use_amp):\n"
                  "    with torch.amp.autocast(\"cuda\", enabled=use_amp):  # mixed precision\n"
                  "        return model(x)\n",
            settings={"target-torch": "2.4"},
        ),
    )
    good = (
        Example("train.py", "import torch\n\nscaler = torch.amp.GradScaler('cuda')\n"
                            "with torch.amp.autocast('cuda'):\n    loss = model(x)\n"),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        calls = list(script.calls_to(REPLACEMENTS))
        if not calls:
            return
        torch = self.ctx.project.requirement("torch", script.path)
        deprecated = torch.at_least(DEPRECATED_IN)
        if torch.known and not deprecated:
            return  # every version the project allows predates the deprecation
        older = torch.below(NEW_API)
        if not torch.known:
            applicability, where = Applicability.UNSAFE, "; no torch requirement found"
        elif older:
            applicability = None
            where = (f" on {torch.series(deprecated)}; no fix: {torch.describe()} includes "
                     f"{torch.series(older)}, which has no `torch.amp.GradScaler`")
        else:
            applicability, where = Applicability.SAFE, f" on {torch.describe()}"
        edits = {}
        if applicability is not None:
            edits = {id(call): self._call_edits(script, call, name) for call, name in calls}
        combined = self._import_removals(script, calls, edits)
        for call, name in calls:
            function, device, _ = REPLACEMENTS[name]
            new = f'torch.amp.{function}("{device}", ...)'
            message = (f"`{name}(...)` is deprecated since torch 2.4 (FutureWarning{where}): "
                       f"`{script.source(call.func)}(...)` -> `{new}`")
            fix = None
            if id(call) in combined:
                fix = Fix(applicability, combined[id(call)][0], combined[id(call)][1])
            elif edits.get(id(call)) is not None:
                message_text, call_edits = edits[id(call)]
                fix = Fix(applicability, message_text, call_edits)
            yield self.diagnostic(script.path, script.span(call.func), message, fix)

    @staticmethod
    def _call_edits(script: ParsedScript, call: ast.Call, name: str) -> tuple[str, tuple[Edit, ...]] | None:
        from trainlint.api import (
            ensure_module_name,
            rewrite_call_text,
            string_literal,
        )

        function, device, positional = REPLACEMENTS[name]
        torch_name, import_edit = ensure_module_name(script, "torch")
        device_text = string_literal(script, device)
        edit = rewrite_call_text(script, call, f"{torch_name}.amp.{function}", device_text,
                                 positional)
        if edit is None:
            return None
        edits = (edit,) if import_edit is None else (import_edit, edit)
        return f"{name}(...) -> {torch_name}.amp.{function}({device_text}, ...)", edits

    def _import_removals(self, script: ParsedScript, calls: list[tuple[ast.Call, str]],
                         edits: dict[int, tuple[str, tuple[Edit, ...]] | None],
                         ) -> dict[int, tuple[str, tuple[Edit, ...]]]:
        """For each `from torch.cuda.amp import ...` whose names are used only by calls this
        rule rewrites: one fix, on the first of those calls, that rewrites them all and removes
        the names (the whole statement when none is left). Call id -> (message, edits)."""
        combined: dict[int, tuple[str, tuple[Edit, ...]]] = {}
        if not edits:
            return combined
        references = self._references(script)
        by_id = {id(call): call for call, _ in calls}
        for statement in self._amp_imports(script):
            removable, rewritten = [], []
            for alias in statement.names:
                local = alias.asname or alias.name.split(".", 1)[0]
                uses = references.get((id(statement), local), [])
                calls_using = [self._call_of(script, use) for use in uses]
                if uses and all(call is not None and id(call) in by_id and edits.get(id(call))
                                for call in calls_using):
                    removable.append(alias)
                    rewritten.extend(calls_using)
            if not removable:
                continue
            removal = _import_edit(script, statement, removable)
            if removal is None:
                continue
            chosen = sorted({id(call): call for call in rewritten}.values(),
                            key=lambda call: (call.lineno, call.col_offset))
            all_edits = [edit for call in chosen for edit in edits[id(call)][1]]
            merged = _merge(removal, all_edits)
            if merged is None:
                continue
            names = ", ".join(alias.name for alias in removable)
            message = (f"{edits[id(chosen[0])][0]} (and every other use of {names}), and remove "
                       f"the import it leaves unused")
            combined[id(chosen[0])] = (message, merged)
        return combined

    @staticmethod
    def _amp_imports(script: ParsedScript) -> list[ast.stmt]:
        """`from torch.cuda.amp import ...`, `from torch.cuda import amp`, `import
        torch.cuda.amp as amp` statements."""
        found = []
        for node in ast.walk(script.tree):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                qualnames = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                qualnames = [alias.name if alias.asname else "" for alias in node.names]
            else:
                continue
            if all(name.startswith(AMP_MODULES) for name in qualnames):
                found.append(node)
        return found

    @staticmethod
    def _references(script: ParsedScript) -> dict[tuple[int, str], list[ast.Name]]:
        """(import statement id, name) -> the Names in the file that read that import."""
        found: dict[tuple[int, str], list[ast.Name]] = {}
        for node in ast.walk(script.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                binding = script.binding_of(node)
                if binding is not None and isinstance(binding.node, (ast.Import, ast.ImportFrom)):
                    found.setdefault((id(binding.node), node.id), []).append(node)
        return found

    @staticmethod
    def _call_of(script: ParsedScript, name: ast.Name) -> ast.Call | None:
        """The call whose callee is `name` (`autocast(...)`) or `name.attr` (`amp.autocast(...)`)."""
        parent = script.parent(name)
        if isinstance(parent, ast.Call) and parent.func is name:
            return parent
        if isinstance(parent, ast.Attribute) and parent.value is name:
            grand = script.parent(parent)
            if isinstance(grand, ast.Call) and grand.func is parent:
                return grand
        return None


def _import_edit(script: ParsedScript, statement: ast.stmt, removed: list[ast.alias]) -> Edit | None:
    """Remove `removed` from the import statement; the whole statement (with its line) when no
    name is left. None where that is not a plain edit: the statement shares its line with
    another, or is the only statement of a block, or spans lines with some names kept."""
    text = script.text
    span = script.span(statement)
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.end)
    line_end = len(text) if line_end == -1 else line_end + 1
    before, after = text[line_start:span.start], text[span.end:line_end]
    if before.strip() or (after.strip() and not after.strip().startswith("#")):
        return None  # `x = 1; from torch.cuda.amp import autocast`
    kept = [alias for alias in statement.names if alias not in removed]  # type: ignore[attr-defined]
    if not kept:
        parent = script.parent(statement)
        body = getattr(parent, "body", None) if parent is not None else None
        if isinstance(body, list) and len(body) == 1:
            return None  # the only statement of a block: it cannot simply go
        return Edit(script.index.span(line_start, line_end), "")
    if "\n" in text[span.start:span.end] or "(" in text[span.start:span.end]:
        return None
    names = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in kept)
    keyword = f"from {statement.module} import" if isinstance(statement, ast.ImportFrom) else "import"
    new = f"{before}{keyword} {names}{after}"
    return Edit(script.index.span(line_start, line_end), new)


def _merge(removal: Edit, edits: list[Edit]) -> tuple[Edit, ...] | None:
    """The edits of one fix, none overlapping: `import torch` inserted where the removed
    statement starts becomes its replacement. None when the edits collide otherwise."""
    unique: list[Edit] = []
    for edit in edits:
        if edit not in unique:
            unique.append(edit)
    result = [removal]
    for edit in unique:
        same_start = edit.span.start == removal.span.start and edit.span.start == edit.span.end
        if same_start:
            result[0] = Edit(removal.span, edit.content + removal.content)
            continue
        if edit.span.start < removal.span.end and removal.span.start < edit.span.end:
            return None
        result.append(edit)
    return tuple(result)
