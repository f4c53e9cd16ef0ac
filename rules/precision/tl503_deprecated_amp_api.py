"""TL503 deprecated-amp-api: deprecated `torch.cuda.amp` API.

The class docstring is the rule's page (docs/rules/TL503.md).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from trainlint.api import (
    Applicability,
    Diagnostic,
    Example,
    Fix,
    FixAvailability,
    ParsedScript,
    ScriptRule,
    Severity,
)

NEW_API = (2, 3)  # torch.amp.autocast("cuda") / torch.amp.GradScaler("cuda") exist since 2.3
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
    Safe where the target torch is 2.3 or newer: the new call builds the same object.
    Positional arguments of the old autocast (`enabled`, `dtype`, `cache_enabled`) become
    keywords, because the new signature puts `dtype` second; the GradScaler's keep their
    places after the device. `import torch` is added when
    the file has no name for `torch`. The old `from torch.cuda.amp import ...` line is left
    in place (remove it when nothing else uses it). No fix below torch 2.3 or for calls with
    `*args`.

    ## Options
    None. The target torch version is the `target-torch` setting.

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
    fix_title = "use `torch.amp` with the device argument"
    needles = (b"amp",)

    bad = (
        Example(
            "train.py",
            "import torch\n\nscaler = torch.cuda.amp.GradScaler()\n"
            "with torch.cuda.amp.autocast(True):\n    loss = model(x)\n",
            fixed="import torch\n\nscaler = torch.amp.GradScaler(\"cuda\")\n"
                  "with torch.amp.autocast(\"cuda\", enabled=True):\n    loss = model(x)\n",
        ),
        Example(
            "train.py",
            "from torch.cuda.amp import autocast\n\n"
            "def step(model, x, use_amp):\n"
            "    with autocast(enabled=use_amp):  # mixed precision\n"
            "        return model(x)\n",
            fixed="import torch\nfrom torch.cuda.amp import autocast\n\n"
                  "def step(model, x, use_amp):\n"
                  "    with torch.amp.autocast(\"cuda\", enabled=use_amp):  # mixed precision\n"
                  "        return model(x)\n",
        ),
    )
    good = (
        Example("train.py", "import torch\n\nscaler = torch.amp.GradScaler('cuda')\n"
                            "with torch.amp.autocast('cuda'):\n    loss = model(x)\n"),
    )

    def check_script(self, script: ParsedScript) -> Iterator[Diagnostic]:
        target = self.ctx.project.torch
        for call, name in script.calls_to(REPLACEMENTS):
            function, device, _ = REPLACEMENTS[name]
            new = f'torch.amp.{function}("{device}", ...)'
            message = (f"`{name}(...)` is deprecated since torch 2.4 (FutureWarning): "
                       f"`{script.source(call.func)}(...)` -> `{new}`")
            fix = self._fix(script, call, name) if target >= NEW_API else None
            yield self.diagnostic(script.path, script.span(call.func), message, fix)

    @staticmethod
    def _fix(script: ParsedScript, call: ast.Call, name: str) -> Fix | None:
        from trainlint.api import ensure_module_name, rewrite_call_text, string_literal  # libcst: only when a fix is built

        function, device, positional = REPLACEMENTS[name]
        torch_name, import_edit = ensure_module_name(script, "torch")
        device_text = string_literal(script, device)
        edit = rewrite_call_text(script, call, f"{torch_name}.amp.{function}", device_text,
                                 positional)
        if edit is None:
            return None
        edits = (edit,) if import_edit is None else (import_edit, edit)
        return Fix(Applicability.SAFE,
                   f"{name}(...) -> {torch_name}.amp.{function}({device_text}, ...)", edits)
