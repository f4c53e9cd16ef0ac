"""The loop model (trainlint.loops): which loops train, which evaluate, autograd state, models."""

from __future__ import annotations

import ast

import pytest
from test_ast_index import ODD_SOURCES

from trainlint.formats.python.ast_index import ParsedScript, dotted
from trainlint.loops import Grad, Kind, loop_model, map_text

TRAINING = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8))

    def forward(self, x):
        return self.body(x)


def train_step(model, batch, optimizer):
    optimizer.zero_grad()
    loss = model(batch).sum()
    loss.backward()
    optimizer.step()


@torch.no_grad()
def evaluate(net, loader):
    correct = 0
    for x, y in loader:
        correct += (net(x).argmax(1) == y).sum().item()
    return correct


def main():
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(3):
        for batch in train_loader:
            train_step(model, batch, optimizer)
        evaluate(model, val_loader)


if __name__ == "__main__":
    main()
"""


def model_of(source: str):
    return loop_model(ParsedScript.parse("train.py", source))


def loop_at(model, line: int):
    return next(loop for loop in model.loops if loop.node.lineno == line)


def test_training_loops_are_the_innermost_that_step():
    model = model_of(TRAINING)
    assert [loop.node.lineno for loop in model.training_loops()] == [33]
    assert [loop.node.lineno for loop in model.all_training_loops()] == [32, 33]
    batch_loop = loop_at(model, 33)
    step = batch_loop.of(Kind.STEP)[0]
    assert step.depth == 1 and step.outer.lineno == 34  # reached through train_step(...)
    assert batch_loop.has(Kind.CLEAR)


def test_evaluation_loop_and_its_evidence():
    model = model_of(TRAINING)
    loop = loop_at(model, 24)
    assert model.evaluation_evidence(loop) == {"no_grad", "metrics", "named", "after_training"}
    assert model.is_evaluation(loop)
    assert not model.is_evaluation(loop_at(model, 33))


def test_a_name_alone_is_not_evaluation():
    source = ("import torch\n\n\ndef validate(model, loader):\n    for batch in loader:\n"
              "        model.forward(batch)\n\n\noptimizer = torch.optim.SGD(model.parameters())\n"
              "validate(model, loader)\n")
    model = model_of(source)
    loop = model.loops[0]
    assert model.evaluation_evidence(loop) == {"named"}
    assert not model.is_evaluation(loop)


def test_forward_of_a_loss_helper_is_training():
    source = ("import torch\n\n\ndef compute_loss(model, batches):\n    total = 0\n"
              "    for b in batches:\n        total += criterion(model(b), b.y)\n    return total\n\n\n"
              "model.train()\nloss = compute_loss(model, val_batches)\nloss.backward()\n")
    model = model_of(source)
    assert model.evaluation_evidence(model.loops[0]) == set()


@pytest.mark.parametrize("wrapper,state", [
    ("with torch.no_grad():", Grad.OFF),
    ("with torch.inference_mode():", Grad.OFF),
    ("with torch.set_grad_enabled(False):", Grad.OFF),
    ("with torch.enable_grad():", Grad.ON),
    ("with torch.set_grad_enabled(training):", Grad.UNKNOWN),
    ("with torch.no_grad() if frozen else nullcontext():", Grad.UNKNOWN),
    ("with torch.autocast('cuda'):", Grad.ON),
])
def test_grad_state_of_with_blocks(wrapper, state):
    source = f"import torch\n\n{wrapper}\n    out = model(x)\n"
    model = model_of(source)
    call = next(c for c in model.script.calls if dotted(c.func) == "model")
    assert model.grad_state(call) == state


def test_grad_state_follows_decorators_and_callers():
    source = """\
import torch


@torch.no_grad()
def decorated(model, x):
    return model(x)


def helper(model, x):
    return model(x)


def uncalled(model, x):
    return model(x)


def main():
    with torch.no_grad():
        helper(model, x)


main()
"""
    model = model_of(source)
    calls = {c.lineno: c for c in model.script.calls if dotted(c.func) == "model"}
    assert model.grad_state(calls[6]) == Grad.OFF
    assert model.grad_state(calls[10]) == Grad.OFF  # its only caller runs under no_grad
    assert model.grad_state(calls[14]) == Grad.UNKNOWN  # nobody calls it here


def test_launched_function_runs_with_autograd_on():
    source = ("import torch.multiprocessing as mp\n\n\ndef worker(rank):\n    model(rank)\n\n\n"
              "mp.spawn(worker, nprocs=2)\n")
    model = model_of(source)
    call = next(c for c in model.script.calls if dotted(c.func) == "model")
    assert model.grad_state(call) == Grad.ON


def test_framework_classes_own_their_loops():
    source = """\
import lightning as L
from transformers import Trainer


class Base(L.LightningModule):
    pass


class Module(Base):
    def validation_step(self, batch, idx):
        for x in batch:
            self(x)


class MyTrainer(Trainer):
    def evaluation_loop(self, loader):
        for x in loader:
            self.model(x)


class Plain:
    def run(self, loader):
        for x in loader:
            self.model(x)
"""
    model = model_of(source)
    assert [loop.owned for loop in model.loops] == [True, True, False]


def test_model_expression_through_a_helper_and_its_layers():
    model = model_of(TRAINING)
    epoch_loop = loop_at(model, 32)
    forwards = epoch_loop.of(Kind.FORWARD, depth=1)
    expressions = {dotted(model.model_expression(event)) for event in forwards}
    assert expressions == {"model"}
    evaluation = loop_at(model, 24)
    (forward,) = evaluation.of(Kind.FORWARD, depth=0)
    assert model.train_mode_layers(model.model_expression(forward)) == "batch norm"


def test_torchvision_and_pretrained_models():
    source = ("import torchvision\nfrom transformers import AutoModel\n\n"
              "a = torchvision.models.resnet18()\nb = AutoModel.from_pretrained('x')\n"
              "c = torchvision.models.vit_b_16()\na(x)\nb(x)\nc(x)\n")
    model = model_of(source)
    calls = {c.lineno: c for c in model.script.calls if isinstance(c.func, ast.Name)}
    assert model.train_mode_layers(calls[7].func) == "torchvision resnet18: batch norm or dropout"
    assert model.train_mode_layers(calls[8].func) is None
    assert model.train_mode_layers(calls[9].func) is None


def test_map_text_follows_arguments_and_globals():
    model = model_of(TRAINING)
    batch_loop = loop_at(model, 33)
    clear = batch_loop.of(Kind.CLEAR)[0]
    receiver = dotted(clear.node.func.value)
    assert receiver == "optimizer"
    assert map_text(model, receiver, clear.via) == "optimizer"
    backward = batch_loop.of(Kind.BACKWARD)[0]
    assert map_text(model, "loss", backward.via) == "loss"  # a local of the helper: unchanged


def test_dataloader_followed_through_a_parameter():
    source = ("from torch.utils.data import DataLoader\n\n\ndef run(loader):\n"
              "    for x in loader:\n        pass\n\n\nrun(DataLoader(ds, batch_size=2))\n")
    model = model_of(source)
    call = model.dataloader_call(model.loop_target(model.loops[0]))
    assert call is not None and call.lineno == 9


@pytest.mark.parametrize("source", ODD_SOURCES)
def test_odd_code_is_modelled_without_errors(source):
    model = model_of("import torch\n" + source)
    for loop in model.loops:
        model.evaluation_evidence(loop)
        for event in loop.events:
            model.grad_state(event.node)
