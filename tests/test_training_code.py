"""training_facts: what a script's code says about its schedule, loop, stopping, optimizer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from trainlint.api import UNRESOLVED
from trainlint.formats.python.ast_index import ParsedScript
from trainlint.formats.python.training_code import code_index, read_arguments
from trainlint.formats.python.training_facts import training_facts

SCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "scripts_schedule"


def parse(source: str, path: str = "train.py") -> ParsedScript:
    return ParsedScript.parse(path, source)


def facts_of(script: ParsedScript, arguments=None) -> dict:
    return {value.key: value for value in training_facts(script, arguments)}


def fixture_facts(name: str) -> tuple[ParsedScript, dict]:
    path = SCRIPTS / name
    script = parse(path.read_text(encoding="utf-8"), str(path))
    return script, facts_of(script, read_arguments(script))


def at(script: ParsedScript, value) -> tuple[int, int, str]:
    """Line, column and the source text a Value's span covers."""
    return value.span.line, value.span.col, script.text[value.span.start:value.span.end]


def test_seed004_warmup_is_per_epoch_with_the_literal_spans():
    script, facts = fixture_facts("seed004_train.py")
    start = facts["schedule.warmup_start_factor"]
    assert start.value == 0.1 and start.raw == "0.1" and start.origin == "code"
    assert at(script, start) == (63, 61, "0.1")
    assert facts["schedule.warmup_unit"].value == "epoch"
    # The SequentialLR wrapping the LinearLR is stepped once per epoch-loop iteration.
    assert at(script, facts["schedule.warmup_unit"])[2] == "scheduler.step()"
    assert facts["schedule.warmup_epochs"].value == 5
    assert at(script, facts["schedule.warmup_epochs"]) == (63, 78, "5")
    assert "schedule.warmup_steps" not in facts


def test_seed004_argparse_defaults_are_the_values_a_fix_edits():
    script, facts = fixture_facts("seed004_train.py")
    epochs, patience = facts["duration.epochs"], facts["stopping.patience"]
    lr = facts["optimizer.lr"]
    assert (epochs.value, at(script, epochs)) == (500, (141, 55, "500"))
    assert (patience.value, at(script, patience)) == (15, (148, 72, "15"))
    assert (lr.value, lr.raw, at(script, lr)[2]) == (1e-4, "1e-4", "1e-4")
    assert facts["stopping.enabled"].value is True
    assert "args.early_stopping_patience" in at(script, facts["stopping.enabled"])[2]


def test_seed004_restarts_model_and_optimizer():
    script, facts = fixture_facts("seed004_train.py")
    assert facts["schedule.name"].value == "cosine_with_restarts"
    assert at(script, facts["schedule.restart_period"]) == (64, 69, "10")
    assert facts["schedule.restart_mult"].value == 2
    assert facts["optimizer.name"].value == "adamw"
    assert facts["optimizer.weight_decay"].value == 1e-4
    assert facts["model.ctc"].value is True
    assert facts["model.type"].value == "ctc"  # CTCLoss without a GRU/LSTM


def test_seed004_plateau_branch_is_not_the_default_run():
    """`--scheduler` defaults to warmup_cosine: the plateau branch gives no facts."""
    _, facts = fixture_facts("seed004_train.py")
    assert "plateau.patience" not in facts


def test_plateau_patience_default_is_reported_at_the_constructor():
    script = parse(
        "from torch.optim.lr_scheduler import ReduceLROnPlateau\n"
        "sched = ReduceLROnPlateau(opt, mode='min')\n"
    )
    facts = facts_of(script)
    patience = facts["plateau.patience"]
    assert patience.value == 10 and patience.raw == ""
    assert at(script, patience)[2] == "ReduceLROnPlateau(opt, mode='min')"
    assert facts["schedule.name"].value == "reduce_lr_on_plateau"


def test_plateau_patience_through_an_alias_and_module_constant():
    script = parse(
        "import torch.optim as O\n"
        "PATIENCE = 4\n"
        "def build(opt):\n"
        "    return O.lr_scheduler.ReduceLROnPlateau(opt, 'max', 0.5, PATIENCE)\n"
    )
    patience = facts_of(script)["plateau.patience"]
    assert patience.value == 4 and at(script, patience) == (2, 12, "4")


def test_step_based_warmup_in_the_batch_loop():
    script = parse(
        "import torch\n"
        "from torch.optim import lr_scheduler\n"
        "def fit(model, train_loader, epochs):\n"
        "    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
        "    warmup = lr_scheduler.LinearLR(opt, start_factor=0.001, total_iters=2000)\n"
        "    for epoch in range(epochs):\n"
        "        for i, batch in enumerate(train_loader):\n"
        "            model(batch).backward()\n"
        "            opt.step()\n"
        "            warmup.step()\n"
    )
    facts = facts_of(script)
    assert facts["schedule.warmup_unit"].value == "step"
    assert facts["schedule.warmup_steps"].value == 2000
    assert "schedule.warmup_epochs" not in facts
    assert facts["schedule.name"].value == "constant_with_warmup"
    assert (facts["optimizer.lr"].value, facts["optimizer.lr"].raw) == (3e-4, "3e-4")


def test_per_epoch_function_called_from_the_epoch_loop():
    """The scheduler is stepped after the batch loop of a per-epoch function: per epoch."""
    script = parse(
        "from torch.optim.lr_scheduler import LinearLR, CosineAnnealingLR, SequentialLR\n"
        "def train_epoch(model, loader, opt, sched):\n"
        "    for batch in loader:\n"
        "        opt.step()\n"
        "    sched.step()\n"
        "def main(model, loader, opt):\n"
        "    w = LinearLR(opt, start_factor=0.2, total_iters=3)\n"
        "    c = CosineAnnealingLR(opt, T_max=97)\n"
        "    sched = SequentialLR(opt, schedulers=[w, c], milestones=[3])\n"
        "    for epoch in range(1, 100 + 1):\n"
        "        train_epoch(model, loader, opt, sched)\n"
    )
    facts = facts_of(script)
    assert facts["schedule.warmup_unit"].value == "epoch"
    assert facts["schedule.warmup_epochs"].value == 3
    assert facts["schedule.decay_horizon"].value == 97
    assert facts["schedule.decay_unit"].value == "epoch"
    assert at(script, facts["duration.epochs"]) == (10, 27, "100")


def test_lightning_interval_step_and_constants(tmp_path):
    script, facts = fixture_facts("lightning_warmup_cosine.py")
    assert facts["schedule.warmup_unit"].value == "step"
    steps = facts["schedule.warmup_steps"]
    assert steps.value == 500 and at(script, steps) == (7, 16, "500")  # WARMUP_STEPS = 500
    assert facts["schedule.decay_horizon"].value == 19500
    assert facts["schedule.decay_horizon"].raw == ""  # an expression: nothing to splice
    assert facts["schedule.name"].value == "cosine"


def test_onecycle_total_steps_and_rnn_ctc():
    script, facts = fixture_facts("speech_gru_ctc_onecycle.py")
    assert facts["schedule.name"].value == "onecycle"
    assert at(script, facts["schedule.total_steps"]) == (10, 52, "10000")
    assert facts["model.type"].value == "rnn-ctc"
    assert facts["optimizer.eps"].value == 0.1


def test_onecycle_epochs_times_steps_per_epoch():
    script = parse(
        "from torch.optim.lr_scheduler import OneCycleLR\n"
        "s = OneCycleLR(opt, max_lr=0.01, epochs=30, steps_per_epoch=100)\n"
        "t = OneCycleLR(opt, max_lr=0.01, epochs=30, steps_per_epoch=len(loader))\n"
    )
    total = facts_of(script)["schedule.total_steps"]
    assert total.value == 3000 and total.raw == "" and total.span.line == 2


def test_hf_get_scheduler_name_from_argparse_and_epoch_loop():
    _, facts = fixture_facts("hf_no_trainer_clm.py")
    assert facts["schedule.name"].value == "linear"
    assert facts["schedule.warmup_unit"].value == "step"
    assert "schedule.warmup_steps" not in facts  # args.num_warmup_steps * num_processes
    assert facts["duration.epochs"].value == 3
    assert facts["optimizer.lr"].value == 5e-5


def test_imagenet_sgd_from_positional_lr():
    script, facts = fixture_facts("imagenet_steplr.py")
    assert facts["schedule.name"].value == "step"
    assert facts["duration.epochs"].value == 90
    assert facts["optimizer.name"].value == "sgd"
    assert at(script, facts["optimizer.lr"]) == (22, 56, "0.1")
    assert facts["optimizer.momentum"].value == 0.9
    assert "model.ctc" not in facts


def test_hand_written_early_stopping_variants():
    script = parse(
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--patience', type=int, default=7)\n"
        "opts = p.parse_args()\n"
        "patience_counter = 0\n"
        "for epoch in range(50):\n"
        "    if patience_counter > opts.patience:\n"
        "        should_stop = True\n"
    )
    facts = facts_of(script)
    assert at(script, facts["stopping.patience"]) == (3, 48, "7")
    assert facts["duration.epochs"].value == 50


def test_lr_reduction_counter_is_not_early_stopping():
    script = parse(
        "for epoch in range(10):\n"
        "    if bad_epochs >= args.lr_patience:\n"
        "        lr *= 0.5\n"
    )
    assert "stopping.enabled" not in facts_of(script)


def test_early_stopping_class_default():
    script = parse(
        "class EarlyStopping:\n"
        "    def __init__(self, patience=7, delta=0.0):\n"
        "        self.patience = patience\n"
        "stopper = EarlyStopping()\n"
    )
    facts = facts_of(script)
    assert at(script, facts["stopping.patience"]) == (2, 33, "7")
    assert facts["stopping.enabled"].span.line == 4


def test_unresolvable_values_are_left_out():
    script = parse(
        "import os, torch\n"
        "from torch.optim.lr_scheduler import LinearLR, CosineAnnealingLR\n"
        "opt = torch.optim.Adam(params, lr=float(os.environ['LR']))\n"
        "w = LinearLR(opt, start_factor=cfg['start'], total_iters=cfg['n'])\n"
        "c = CosineAnnealingLR(opt, T_max=len(loader) * epochs)\n"
        "for epoch in range(num_epochs()):\n"
        "    c.step()\n"
    )
    facts = facts_of(script)
    assert "optimizer.lr" not in facts and "duration.epochs" not in facts
    assert "schedule.decay_horizon" not in facts
    assert all(value.value is not UNRESOLVED for value in facts.values())
    assert facts["optimizer.name"].value == "adam"


def test_names_bound_by_def_are_not_torch():
    script = parse(
        "from torch.optim.lr_scheduler import LinearLR\n"
        "def LinearLR(*a, **k):\n"
        "    return None\n"
        "w = LinearLR(opt, start_factor=0.1, total_iters=5)\n"
    )
    assert facts_of(script) == {}


def test_star_import_and_conflicting_optimizers():
    script = parse(
        "from torch.optim.lr_scheduler import *\n"
        "import torch\n"
        "opt = torch.optim.Adam(p, lr=1e-3) if a else torch.optim.SGD(p, lr=0.1)\n"
        "s = CosineAnnealingWarmRestarts(opt, 5)\n"
    )
    facts = facts_of(script)
    assert "optimizer.name" not in facts  # two families: unknown which one runs
    assert facts["schedule.restart_period"].value == 5
    assert facts["schedule.restart_mult"].value == 1 and facts["schedule.restart_mult"].raw == ""


def test_read_arguments_dest_type_and_string_defaults():
    script = parse(
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('-l', '--learning-rate', type=float, default='1e-4')\n"
        "p.add_argument('--wd', dest='weight_decay', default=0.01)\n"
        "p.add_argument('--amp', action=argparse.BooleanOptionalAction)\n"
    )
    specs = {spec.dest: spec for spec in read_arguments(script)}
    assert specs["learning_rate"].default.value == 1e-4  # argparse applies type= to strings
    assert specs["learning_rate"].default.raw == "'1e-4'"
    assert specs["weight_decay"].flags == ("--wd",)
    assert specs["amp"].action == "BooleanOptionalAction" and specs["amp"].default is None


def test_step_calls_are_bound_across_methods_of_a_class():
    path = SCRIPTS / "trainer_class_onecycle.py"
    script = parse(path.read_text(encoding="utf-8"), str(path))
    index = code_index(script)
    (step,) = [s for s in index.steps if s.receiver == "self.scheduler"]
    assert [build.kind for build in step.builds] == ["OneCycleLR"]
    assert index.unit_of(step.call) == "step"  # train_step() runs inside the batch loop


ODD_SOURCES = [
    "",
    "x = 1\n",
    "scheduler.step()\n",
    "from torch.optim.lr_scheduler import LinearLR\nLinearLR()\nLinearLR(*args, **kw)\n",
    "import torch\ns = torch.optim.lr_scheduler.OneCycleLR(o, **cfg)\ns.step(*a)\n",
    "def f():\n    return f()\nfor epoch in range(f()):\n    f()\n",
    "def a():\n    b()\ndef b():\n    a()\nfor epoch in range(3):\n    a()\n",
    "class T:\n    def step(self):\n        self.step()\n",
    "x = y = z = torch.optim.lr_scheduler.StepLR(o, 1)\nx.step(); y.step(3); z.step(epoch=None)\n",
    "for (a, b) in []:\n    pass\nwhile True:\n    break\n",
    "s = torch.optim.lr_scheduler.LinearLR(o, start_factor=1e308 * 10, total_iters=2 ** 10000)\n",
    "lambda: scheduler.step()\n",
    "async def f():\n    async for batch in loader:\n        await sched.step()\n",
    "s[0].step()\n(a or b).step()\nf().step()\n",
    "if x := torch.optim.lr_scheduler.ReduceLROnPlateau(o):\n    x.step()\n",
    "print(" * 50 + ")" * 50 + "\n",
]


@pytest.mark.parametrize("source", ODD_SOURCES)
def test_odd_code_never_crashes(source):
    script = parse(source)
    for value in training_facts(script):
        assert value.key and value.path == "train.py"


def test_real_library_code_never_crashes():
    """Every module of torch.optim and torch.utils.data: real, varied, non-training code."""
    torch_dir = Path(pytest.importorskip("torch").__file__).parent
    files = [*sorted((torch_dir / "optim").glob("*.py")),
             *sorted((torch_dir / "utils" / "data").glob("*.py"))]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            script = ParsedScript.parse(str(path), text)
        except SyntaxError:
            continue
        training_facts(script)
        ast.parse(text)


@pytest.mark.parametrize("path", sorted(SCRIPTS.glob("*.py")), ids=lambda path: path.name)
def test_every_fact_is_a_canonical_setting_with_a_span_in_the_file(path):
    from trainlint.schemas.canonical import SETTINGS, violates

    script = parse(path.read_text(encoding="utf-8"), str(path))
    facts = training_facts(script, read_arguments(script))
    assert facts
    for value in facts:
        assert value.key in SETTINGS, value.key
        assert value.path == str(path)
        assert 0 <= value.span.start <= value.span.end <= len(script.text)
        if value.raw:  # a spliceable literal: the span holds exactly that text
            assert script.text[value.span.start:value.span.end] == value.raw
        assert not violates(SETTINGS[value.key], value.value), value


def test_best_checkpoint_selection():
    script, facts = fixture_facts("imagenet_steplr.py")
    assert facts["checkpoint.keep_best"].value is True
    assert at(script, facts["checkpoint.keep_best"])[0] == 78  # torch.save under acc1 > best
    script = parse(
        "import torch\n"
        "for epoch in range(3):\n"
        "    torch.save(model.state_dict(), f'ckpt_{epoch}.pt')\n"
    )
    assert "checkpoint.keep_best" not in facts_of(script)
    script = parse("from torch import save\nsave(state, 'best_model.pth')\n")
    assert facts_of(script)["checkpoint.keep_best"].span.line == 2
