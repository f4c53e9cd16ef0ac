"""Running the user's model for a few steps and measuring what TL901-TL908 judge.

The overfit steps run at the peak of the target's LR schedule (TL902 asks whether the model,
loss and data can learn at the LR the run reaches; TL905 judges the schedule's start), and go
on in chunks while a rule asks for more (TL904 judges the CTC trajectory).

The model, the optimizer and the scheduler are restored afterwards (parameters, buffers,
train/eval flags, gradients, optimizer and scheduler state, RNG), so a training script or a
Trainer callback can probe itself and go on as if nothing happened.
"""

from __future__ import annotations

import copy
import math
import os
import random
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from trainlint.probe import batch as batches_
from trainlint.probe import ctc
from trainlint.probe.errors import ProbeUsageError, require_torch
from trainlint.probe.measurements import BadModule, CTCCheck, Measurements, NonFinite
from trainlint.probe.options import ProbeOptions
from trainlint.probe.target import (
    CTC_REDUCTIONS,
    SCHEDULER_INTERVALS,
    TASKS,
    ProbeTarget,
    normalize_task,
)

SAME_DEVICE_HINT = ("build the model and every batch tensor on one device; a factory that takes "
                    "a `device` argument gets the probe's device")
_MISSING = object()


def measure(target: ProbeTarget, options: ProbeOptions) -> Measurements:
    return _ProbeRun(target, options).run()


def resolve_device(name: str | None) -> Any:
    """'auto' -> cuda when available, else cpu; a torch.device for anything else."""
    torch = require_torch()
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise ProbeUsageError(f"unknown device {name!r}", "use cpu, cuda, cuda:N or auto") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ProbeUsageError(f"--device {name} asked for CUDA, but no CUDA device is available",
                              "use --device cpu or auto")
    return device


def unwrap_model(model: Any) -> Any:
    """The module inside DistributedDataParallel / DataParallel wrappers."""
    torch = require_torch()
    wrappers = (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)
    while isinstance(model, wrappers):
        model = model.module
    return model


def default_forward(model: Any, batch: Any) -> Any:
    if isinstance(batch, Mapping):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(batch[0])
    return model(batch)


def default_loss(outputs: Any, batch: Any) -> Any:
    loss = getattr(outputs, "loss", None)
    if loss is None and isinstance(outputs, Mapping):
        loss = outputs.get("loss")
    if loss is None:
        raise ProbeUsageError("the model's outputs carry no loss",
                              "set ProbeTarget.loss to a function (outputs, batch) -> scalar tensor")
    return loss


class _ForwardWatch:
    """Forward hooks on every module: which outputs were finite, in completion order."""

    def __init__(self, model: Any) -> None:
        self.order: list[tuple[str, Any]] = []
        self._seen: set[int] = set()
        self.records: list[tuple[str, Any, list[Any], list[Any]]] = []
        self.handles = [module.register_forward_hook(partial(self._hook, name))
                        for name, module in model.named_modules()]

    def _hook(self, name: str, module: Any, inputs: Any, output: Any) -> None:
        if id(module) not in self._seen:
            self._seen.add(id(module))
            self.order.append((name, module))
        self.records.append((name, module, batches_.finite_flags(output),
                             batches_.finite_flags(inputs)))

    def reset(self) -> None:
        self.records.clear()

    def first_bad_output(self, step: int) -> BadModule | None:
        for name, module, out_flags, in_flags in self.records:
            if batches_.flags_finite(out_flags) is False:
                return BadModule(name or "<model>", type(module).__name__, "forward", step,
                                 batches_.flags_finite(in_flags))
        return None

    def first_bad_gradient(self, step: int) -> BadModule | None:
        torch = require_torch()
        for name, module in reversed(self.order):
            for parameter in module.parameters(recurse=False):
                grad = parameter.grad
                if grad is not None and not bool(torch.isfinite(grad).all()):
                    return BadModule(name or "<model>", type(module).__name__, "backward", step)
        return None

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


class _ProbeRun:
    def __init__(self, target: ProbeTarget, options: ProbeOptions) -> None:
        self.torch = require_torch()
        if not isinstance(target, ProbeTarget):
            raise ProbeUsageError(f"expected a ProbeTarget, got {type(target).__name__}",
                                  "return trainlint.probe.ProbeTarget(model=..., batches=..., ...)")
        self.target = target
        self.options = options
        self.model = unwrap_model(target.model)
        self.task = self._validate()
        self.batches = target.batch_list
        self.forward_fn = target.forward or default_forward
        self.loss_fn = target.loss or default_loss
        self.m = Measurements(task=self.task, steps_requested=options.steps)
        self.optimizer: Any = None
        self.watch: _ForwardWatch | None = None
        self.started = time.perf_counter()

    # -- set-up ---------------------------------------------------------------------------

    def _validate(self) -> str:
        torch, target = self.torch, self.target
        if not isinstance(self.model, torch.nn.Module):
            raise ProbeUsageError(f"ProbeTarget.model is {type(self.model).__name__}, not a "
                                  "torch.nn.Module")
        if target.task is None:
            raise ProbeUsageError("the task is not set", "set ProbeTarget.task (or --task) to "
                                  "one of " + ", ".join(TASKS))
        task = normalize_task(target.task)
        if task is None:
            raise ProbeUsageError(f"unknown task {target.task!r}", "use one of " + ", ".join(TASKS))
        if target.batches is None or (isinstance(target.batches, list) and not target.batches):
            raise ProbeUsageError("ProbeTarget.batches is empty", "give at least one batch")
        if target.ctc_reduction not in CTC_REDUCTIONS:
            raise ProbeUsageError(f"unknown ctc_reduction {target.ctc_reduction!r}",
                                  "use one of " + ", ".join(CTC_REDUCTIONS))
        if target.scheduler_interval not in SCHEDULER_INTERVALS:
            raise ProbeUsageError(f"unknown scheduler_interval {target.scheduler_interval!r}",
                                  "use step or epoch")
        if target.num_classes is not None and target.num_classes < 2:
            raise ProbeUsageError(f"num_classes is {target.num_classes}", "give 2 or more")
        return task

    def _check_devices(self) -> None:
        model_devices = {str(t.device) for t in self.model.parameters()}
        model_devices |= {str(t.device) for t in self.model.buffers()}
        if not model_devices:
            return
        for index, batch in enumerate(self.batches):
            for label, tensor in batches_.iter_tensors(batch, f"batch {index}" if index else "batch"):
                if tensor.is_floating_point() and str(tensor.device) not in model_devices:
                    raise ProbeUsageError(
                        f"the model is on {', '.join(sorted(model_devices))} but {label} is on "
                        f"{tensor.device}", SAME_DEVICE_HINT)
        self.m.device = sorted(model_devices)[0]

    # -- calling user code ----------------------------------------------------------------

    def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Run user code; its exceptions become one-line usage errors naming where they came from."""
        try:
            return fn(*args)
        except ProbeUsageError:
            raise
        except Exception as error:
            raise _user_error(what, error) from error

    def _loss(self, batch: Any) -> tuple[Any, Any]:
        outputs = self._call("the forward function", self.forward_fn, self.model, batch)
        loss = self._call("the loss function", self.loss_fn, outputs, batch)
        return outputs, self._scalar(loss)

    def _scalar(self, loss: Any) -> Any:
        if not isinstance(loss, self.torch.Tensor):
            raise ProbeUsageError(f"the loss returned {type(loss).__name__}, not a tensor",
                                  "return a scalar torch.Tensor (not loss.item())")
        if loss.numel() != 1:
            raise ProbeUsageError(f"the loss returned a tensor of shape {tuple(loss.shape)}, not "
                                  "a scalar", "reduce it to one value, e.g. loss.mean()")
        if not loss.is_floating_point():
            raise ProbeUsageError(f"the loss has dtype {loss.dtype}", "return a floating tensor")
        return loss.reshape(())

    # -- the run --------------------------------------------------------------------------

    def run(self) -> Measurements:
        self._check_devices()
        params = list(self.model.parameters())
        self.trainable = [p for p in params if p.requires_grad]
        self.m.total_params = sum(p.numel() for p in params)
        self.m.trainable_params = sum(p.numel() for p in self.trainable)
        with _preserved(self.model, self.target), self._forked_rng():
            self.watch = _ForwardWatch(self.model)
            try:
                self._probe()
            finally:
                self.watch.close()
        self.m.seconds = time.perf_counter() - self.started
        return self.m

    @contextmanager
    def _forked_rng(self) -> Iterator[None]:
        torch = self.torch
        cuda = [torch.device(d).index or 0 for d in {self.m.device} if d.startswith("cuda")]
        python_state = random.getstate()
        numpy = sys.modules.get("numpy")
        numpy_state = numpy.random.get_state() if numpy is not None else None
        with torch.random.fork_rng(devices=cuda):
            yield
        random.setstate(python_state)
        if numpy is not None:
            numpy.random.set_state(numpy_state)

    def _seed(self, offset: int = 0) -> None:
        seed = self.options.seed + offset
        random.seed(seed)
        self.torch.manual_seed(seed)

    def _probe(self) -> None:
        m = self.m
        if self._inputs_non_finite():
            self._prepare_optimizer()
            return
        batch = self.batches[0]
        self.model.train()
        self._seed()
        self.watch.reset()
        outputs, loss = self._loss(batch)
        m.initial_loss = float(loss.detach())
        self._reference(outputs, batch)
        if not math.isfinite(m.initial_loss):
            m.non_finite = NonFinite("loss", 0, f"the loss at step 0 is {m.initial_loss}")
            m.first_bad_module = self.watch.first_bad_output(0)
            self._prepare_optimizer()
            return
        m.loss_has_grad = loss.requires_grad
        if loss.requires_grad:
            loss.backward()
            if not self._gradients_ok(0):
                self._prepare_optimizer()
                return
        else:
            m.grad_norm = 0.0 if self.trainable else None
        self._reduction_test()
        self._prepare_optimizer()
        if loss.requires_grad and self.trainable:
            self._train(float(loss.detach()))
            if self._final():
                self._train_on()

    def _inputs_non_finite(self) -> bool:
        for index, batch in enumerate(self.batches):
            found = batches_.first_non_finite(batch, f"batch {index}" if index else "batch")
            if found is None:
                continue
            self.m.non_finite = NonFinite("inputs", 0, found)
            # One forward with the hooks on, to name the first module the bad values reach.
            self.model.train()
            self._seed()
            self.watch.reset()
            try:
                with self.torch.no_grad():
                    outputs, loss = self._loss(self.batches[0])
                self.m.initial_loss = float(loss)
                self._reference(outputs, self.batches[0])
            except ProbeUsageError as error:  # the model may reject NaN itself
                self.m.notes.append(f"TL908: the forward pass on the bad batch failed: {error}")
            self.m.first_bad_module = self.watch.first_bad_output(0)
            return True
        return False

    def _gradients_ok(self, step: int) -> bool:
        """Measure the global gradient norm; record non-finite gradients. True when finite."""
        torch = self.torch
        grads = [p.grad.detach() for p in self.trainable if p.grad is not None]
        grads = [g.coalesce().values() if g.is_sparse else g for g in grads]
        if not grads:
            norm = 0.0
        else:  # per-tensor norms, gathered on one device (model-parallel models span several)
            norms = [torch.linalg.vector_norm(g.float()).to(grads[0].device) for g in grads]
            norm = float(torch.linalg.vector_norm(torch.stack(norms)))
        if step == 0:
            self.m.grad_norm = norm
        if math.isfinite(norm):
            return True
        bad = self.watch.first_bad_gradient(step)
        if bad is None:  # every gradient is finite; only their norm overflowed
            return True
        self.m.non_finite = NonFinite("gradients", step,
                                      f"gradients are not finite at step {step}")
        self.m.first_bad_module = self.watch.first_bad_output(step) or bad
        if step == 0:
            self.m.grad_norm = None
        return False

    # -- TL901 ----------------------------------------------------------------------------

    def _reference(self, outputs: Any, batch: Any) -> None:
        m, target = self.m, self.target
        if target.reference_loss is not None:
            m.reference_loss = float(target.reference_loss)
            m.reference_note = "given by ProbeTarget.reference_loss"
            return
        if self.task == "regression":
            m.notes.append("TL901 skipped: a regression loss has no reference value (set "
                           "ProbeTarget.reference_loss to check one)")
            return
        if self.task == "ctc":
            view = self._call("the CTC view", ctc.ctc_view, target, outputs, batch)
            num_classes = int(view.log_probs.shape[-1])
            m.num_classes, m.num_classes_source = num_classes, "the model's output dimension"
            m.reference_loss = ctc.uniform_reference(view, num_classes, target.blank,
                                                     target.ctc_reduction)
            m.reference_note = (f"the CTC loss of uniform log-probs on this batch, C={num_classes}, "
                                f"reduction {target.ctc_reduction}")
            if not math.isfinite(m.reference_loss):
                m.notes.append("TL901: the uniform CTC loss is infinite: some inputs are shorter "
                               "than their targets")
                m.reference_loss = None
            return
        num_classes, source = self._num_classes(outputs)
        if num_classes is None:
            m.notes.append("TL901 skipped: cannot tell the number of classes; set "
                           "ProbeTarget.num_classes")
            return
        m.num_classes, m.num_classes_source = num_classes, source
        m.reference_loss = math.log(num_classes)
        unit = "per token" if self.task in ("lm", "mlm") else "per sample"
        m.reference_note = f"ln {num_classes}, the cross-entropy {unit} of a uniform prediction"

    def _num_classes(self, outputs: Any) -> tuple[int | None, str]:
        if self.target.num_classes is not None:
            return int(self.target.num_classes), "ProbeTarget.num_classes"
        logits = _logits(outputs, self.torch)
        if logits is not None and logits.dim() >= 2 and logits.shape[-1] >= 2:
            return int(logits.shape[-1]), "the last dimension of the logits"
        return None, ""

    # -- TL907 ----------------------------------------------------------------------------

    def _reduction_test(self) -> None:
        torch, m = self.torch, self.m
        repeat = self.target.repeat_batch or batches_.repeat_batch
        batch = self.batches[0]
        self.model.eval()
        try:
            with torch.no_grad():
                single = float(self._loss(batch)[1])
                double = float(self._loss(repeat(batch, 2))[1])
                quadruple = float(self._loss(repeat(batch, 4))[1])
        except torch.OutOfMemoryError:
            m.notes.append("TL907 skipped: the batch repeated 4x did not fit in memory")
            return
        except ProbeUsageError as error:
            m.notes.append(f"TL907 skipped: the repeated batch failed: {error}")
            return
        finally:
            self.model.train()
        if not all(math.isfinite(v) for v in (single, double, quadruple)) or abs(single) < 1e-12:
            m.notes.append("TL907 skipped: the eval-mode loss is zero or not finite")
            return
        m.ratio_2x, m.ratio_4x = double / single, quadruple / single

    # -- the optimizer, its schedule and the LR of the overfit steps (TL902, TL905) ---------

    def _prepare_optimizer(self) -> None:
        torch, target, m = self.torch, self.target, self.m
        optimizer = target.optimizer
        if optimizer is None:
            if not self.trainable:
                return
            self.optimizer = torch.optim.Adam(self.trainable, lr=self.options.overfit_lr)
            m.lr_source = "the probe's own Adam: the target brings no optimizer"
            m.optimizer_name, m.overfit_lr = "Adam", self.options.overfit_lr
            m.overfit_lr_source = "the probe's own Adam; the target brings no optimizer"
            return
        if not isinstance(optimizer, torch.optim.Optimizer):
            optimizer = self._call("the optimizer factory", optimizer, self.model)
            if not isinstance(optimizer, torch.optim.Optimizer):
                raise ProbeUsageError(f"the optimizer factory returned {type(optimizer).__name__}",
                                      "return a torch.optim.Optimizer")
        self._check_optimizer_params(optimizer)
        scheduler = target.scheduler
        if scheduler is not None and not hasattr(scheduler, "state_dict"):
            scheduler = self._call("the scheduler factory", scheduler, optimizer)
        if scheduler is not None and (innermost_optimizer(getattr(scheduler, "optimizer", optimizer))
                                      is not innermost_optimizer(optimizer)):
            raise ProbeUsageError("the scheduler was built on another optimizer than "
                                  "ProbeTarget.optimizer", "pass the scheduler as a function "
                                  "(optimizer) -> scheduler")
        self.optimizer = optimizer
        m.optimizer_name = type(optimizer).__name__
        eps = optimizer.param_groups[0].get("eps")
        m.optimizer_eps = float(eps) if isinstance(eps, (int, float)) else None
        m.lr_source = ("the optimizer's param groups after the scheduler was built"
                       if scheduler is not None else "the optimizer's param groups")
        m.scheduler_interval = target.scheduler_interval if scheduler is not None else ""
        m.steps_per_epoch = target.steps_per_epoch
        m.lr_at_start = largest_lr(optimizer)
        if m.lr_at_start is None:  # e.g. transformers' Adafactor with relative_step=True
            lr = optimizer.param_groups[0].get("lr")
            m.overfit_lr_source = f"{m.optimizer_name} sets its own step size (lr={lr!r})"
        elif scheduler is None:
            m.overfit_lr, m.overfit_lr_source = m.lr_at_start, "the optimizer's LR; no scheduler"
        elif isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            m.overfit_lr = m.lr_at_start
            m.overfit_lr_source = "the optimizer's LR; ReduceLROnPlateau only lowers it"
        else:
            self._follow_schedule(optimizer, scheduler)

    def _follow_schedule(self, optimizer: Any, scheduler: Any) -> None:
        """Step the scheduler alone, then put both states back: the LR of each step (TL905)
        and the schedule's peak, whose hyperparameters (the LR, and the momentum a OneCycle
        schedule cycles with it) the overfit steps then use (TL902)."""
        m, options = self.m, self.options
        unit = "step" if self.target.scheduler_interval == "step" else "epoch"
        saved_optimizer = copy.deepcopy(optimizer.state_dict())
        saved_scheduler = copy.deepcopy(scheduler.state_dict())
        lrs = [m.lr_at_start]
        peak, peak_step, peak_groups = lrs[0], 0, hyperparameters(optimizer)
        flat, deadline = 0, time.perf_counter() + options.max_seconds / 4
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step")
            for step in range(1, options.schedule_horizon + 1):
                try:
                    scheduler.step()
                except Exception as error:  # OneCycleLR past total_steps, a lambda's own error
                    m.schedule_end = (f"the scheduler raised {type(error).__name__} at {unit} "
                                      f"{step:,}: {_first_line(error)}")
                    break
                lr = largest_lr(optimizer)
                if lr is None:
                    break
                lrs.append(lr)
                if lr > peak * (1 + 1e-9):
                    peak, peak_step, peak_groups, flat = lr, step, hyperparameters(optimizer), 0
                else:
                    flat += 1
                if step >= options.schedule_steps and flat >= options.schedule_patience:
                    break
                if step % 1000 == 0 and time.perf_counter() > deadline:
                    m.schedule_end = (f"following the schedule took too long; stopped at "
                                      f"{unit} {step:,}")
                    break
            else:
                m.schedule_end = f"its LR still rises at {unit} {options.schedule_horizon:,}"
        optimizer.load_state_dict(saved_optimizer)
        scheduler.load_state_dict(saved_scheduler)
        if unit == "step":
            m.lr_schedule = lrs
        set_hyperparameters(optimizer, peak_groups)
        m.overfit_lr, m.lr_peak_step = peak, peak_step
        m.overfit_lr_source = f"the schedule's peak, at {unit} {peak_step:,}"
        if m.schedule_end.startswith("its LR still rises"):
            m.overfit_lr_source = (f"the highest LR of the schedule's first {step:,} {unit}s; "
                                   + m.schedule_end)

    def _check_optimizer_params(self, optimizer: Any) -> None:
        model_params = {id(p) for p in self.model.parameters()}
        for group in optimizer.param_groups:
            if any(id(p) not in model_params for p in group["params"]):
                raise ProbeUsageError("the optimizer holds parameters that are not the model's",
                                      "build it on ProbeTarget.model.parameters(), or pass a "
                                      "function (model) -> optimizer")

    # -- TL902 / TL903 / TL908 ------------------------------------------------------------

    def _train(self, first_loss: float) -> None:
        m, options = self.m, self.options
        m.losses.append(first_loss)
        for step in range(options.steps):
            if step > 0:
                if time.perf_counter() - self.started > options.max_seconds:
                    m.stop_reason = (f"stopped after {step} of {options.steps} steps: "
                                     f"--max-seconds {options.max_seconds:g}")
                    return
                if not self._forward_backward(step):
                    return
            self._update(step)
            m.steps_run = m.steps_trained = step + 1

    def _forward_backward(self, step: int) -> bool:
        self.optimizer.zero_grad(set_to_none=True)
        self.watch.reset()
        _, loss = self._loss(self.batches[0])
        value = float(loss.detach())
        self.m.losses.append(value)
        if not math.isfinite(value):
            self.m.non_finite = NonFinite("loss", step, f"the loss at step {step} is {value}")
            self.m.first_bad_module = self.watch.first_bad_output(step)
            return False
        loss.backward()
        return self._gradients_ok(step)

    def _update(self, step: int) -> None:
        """One optimizer step at the LR `_prepare_optimizer` set (the schedule's peak): the
        scheduler is not stepped, the overfit test asks what the model learns at that LR."""
        if self.target.max_grad_norm is not None:
            self.torch.nn.utils.clip_grad_norm_(self.trainable, self.target.max_grad_norm)
        self.optimizer.step()

    def _final(self) -> bool:
        """The loss after the steps (same dropout masks as step 0) and the CTC predictions;
        True when the run may go on (all steps ran, everything finite)."""
        m, torch = self.m, self.torch
        if m.non_finite is not None or m.steps_run == 0:
            return False
        self._seed()
        self.watch.reset()
        with torch.no_grad():
            m.final_loss = float(self._loss(self.batches[0])[1])
        if not math.isfinite(m.final_loss):
            m.non_finite = NonFinite("loss", m.steps_run,
                                     f"the loss after {m.steps_run} steps is {m.final_loss}")
            m.first_bad_module = self.watch.first_bad_output(m.steps_run)
            return False
        self._look()
        return m.steps_run == m.steps_requested

    def _train_on(self) -> None:
        """More steps on the same batch, in chunks, while a rule asks for them (TL904: CTC
        predictions that look collapsed while the loss still falls), within --max-seconds."""
        m, options = self.m, self.options
        if options.more_steps is None:
            return
        step = m.steps_trained
        while options.more_steps(m):
            if time.perf_counter() - self.started > options.max_seconds:
                m.out_of_time = True
                return
            for _ in range(options.extra_chunk):
                if not self._forward_backward(step):
                    return
                self._update(step)
                step += 1
                m.steps_trained = step
            self._look()

    def _look(self) -> None:
        """The CTC predictions and loss on the fixed batch in eval mode, at this step."""
        if self.task != "ctc":
            return
        batch = self.batches[0]
        self.model.eval()
        try:
            with self.torch.no_grad():
                outputs, loss = self._loss(batch)
                view = self._call("the CTC view", ctc.ctc_view, self.target, outputs, batch)
        finally:
            self.model.train()
        m = self.m
        m.ctc, m.ctc_steps = ctc.collapse_stats([view], self.target.blank), m.steps_trained
        m.ctc_checks.append(CTCCheck(m.steps_trained, float(loss), m.ctc.blank_share))


def largest_lr(optimizer: Any) -> float | None:
    """The largest LR over the param groups; None when one is not a number (lr=None)."""
    values = []
    for group in optimizer.param_groups:
        try:
            values.append(float(group.get("lr")))
        except (TypeError, ValueError, RuntimeError):
            return None
    return max(values) if values else None


def hyperparameters(optimizer: Any) -> list[dict[str, Any]]:
    """Each param group's settings (LR, momentum, ...) without its parameters; tensors (a
    tensor LR, which schedulers update in place) are cloned, the rest is immutable."""
    import torch

    return [{key: value.clone() if isinstance(value, torch.Tensor) else value
             for key, value in group.items() if key != "params"}
            for group in optimizer.param_groups]


def set_hyperparameters(optimizer: Any, groups: list[dict[str, Any]]) -> None:
    for group, values in zip(optimizer.param_groups, groups):
        group.update(values)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def innermost_optimizer(optimizer: Any) -> Any:
    """The torch optimizer inside wrappers such as accelerate's AcceleratedOptimizer."""
    seen = 0
    while hasattr(optimizer, "optimizer") and optimizer.optimizer is not optimizer and seen < 5:
        optimizer, seen = optimizer.optimizer, seen + 1
    return optimizer


def _logits(outputs: Any, torch: Any) -> Any:
    if isinstance(outputs, torch.Tensor):
        return outputs
    logits = getattr(outputs, "logits", None)
    if logits is None and isinstance(outputs, Mapping):
        logits = outputs.get("logits")
    if logits is None and isinstance(outputs, (tuple, list)) and outputs:
        logits = outputs[0]
    return logits if isinstance(logits, torch.Tensor) else None


@contextmanager
def _preserved(model: Any, target: ProbeTarget) -> Iterator[None]:
    """Put back parameters, buffers, flags, gradients and optimizer/scheduler state."""
    torch = require_torch()
    state = {key: value.detach().to("cpu", copy=True) if isinstance(value, torch.Tensor)
             else copy.deepcopy(value) for key, value in model.state_dict().items()}
    modes = [(module, module.training) for module in model.modules()]
    grads = [(parameter, parameter.grad) for parameter in model.parameters()]
    for parameter, _ in grads:
        parameter.grad = None
    optimizer, scheduler = target.optimizer, target.scheduler
    saved_optimizer = _optimizer_state(optimizer)
    saved_scheduler = None
    if hasattr(scheduler, "load_state_dict"):
        try:
            saved_scheduler = copy.deepcopy(scheduler.state_dict())
        except Exception as error:
            raise ProbeUsageError(f"cannot copy the scheduler's state ({type(error).__name__}: "
                                  f"{error}) to put it back afterwards",
                                  "pass the scheduler as a function (optimizer) -> scheduler") from error
    try:
        yield
    finally:
        model.load_state_dict(state)
        for module, training in modes:
            module.training = training
        for parameter, grad in grads:
            parameter.grad = grad
        if saved_optimizer is not None:
            _restore_optimizer(optimizer, saved_optimizer)
        if saved_scheduler is not None:
            scheduler.load_state_dict(saved_scheduler)


def _optimizer_state(optimizer: Any) -> tuple[Any, dict[str, Any]] | None:
    if not hasattr(optimizer, "param_groups"):
        return None
    attributes = {name: optimizer.__dict__.get(name, _MISSING) for name in ("step", "_opt_called")}
    return copy.deepcopy(optimizer.state_dict()), attributes


def _restore_optimizer(optimizer: Any, saved: tuple[Any, dict[str, Any]]) -> None:
    state, attributes = saved
    optimizer.load_state_dict(state)
    for name, value in attributes.items():
        if value is _MISSING:
            optimizer.__dict__.pop(name, None)
        else:
            optimizer.__dict__[name] = value


def _user_error(what: str, error: Exception) -> ProbeUsageError:
    """One line: what raised, the exception, and the innermost frame in the user's code."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = f"{what} raised {type(error).__name__}" + (f": {message}" if message else "")
    if "same device" in message or "Expected all tensors to be on the same" in message:
        return ProbeUsageError(f"model and batch are on different devices: {text}",
                               SAME_DEVICE_HINT)
    location = user_frame(error)
    return ProbeUsageError(text + (f" (at {location})" if location else ""))


def user_frame(error: BaseException) -> str | None:
    """'file.py:12' of the innermost traceback frame outside torch and trainlint."""
    import trainlint

    skipped = tuple(os.path.dirname(os.path.abspath(module.__file__)) + os.sep
                    for module in (trainlint, sys.modules.get("torch")) if module is not None)
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if os.path.abspath(frame.filename).startswith(skipped):
            continue
        return f"{_relative(frame.filename)}:{frame.lineno}"
    return None


def _relative(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
