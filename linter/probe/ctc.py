"""CTC specifics: finding the CTC inputs, the uniform-prediction reference, the statistics of
the greedy predictions (TL904 judges them in its rule module)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trainlint.probe.errors import ProbeUsageError
from trainlint.probe.measurements import CTCStats
from trainlint.probe.target import CTCView, ProbeTarget

TARGET_KEYS = ("targets", "labels", "target", "label")
TARGET_LENGTH_KEYS = ("target_lengths", "label_lengths", "target_lens", "label_lens")
INPUT_LENGTH_KEYS = ("input_lengths", "output_lengths", "feature_lengths", "input_lens", "lengths")

CTC_VIEW_HINT = ("return (log_probs, output_lengths) from forward, or set ProbeTarget.ctc_view "
                 "to a function (outputs, batch) -> CTCView(log_probs, targets, input_lengths, "
                 "target_lengths)")


def ctc_view(target: ProbeTarget, outputs: Any, batch: Any) -> CTCView:
    if target.ctc_view is not None:
        view = target.ctc_view(outputs, batch)
        if not isinstance(view, CTCView):
            raise ProbeUsageError(f"ctc_view returned {type(view).__name__}, not a CTCView",
                                  CTC_VIEW_HINT)
        return view
    return default_ctc_view(outputs, batch, target.batch_first)


def default_ctc_view(outputs: Any, batch: Any, batch_first: bool) -> CTCView:
    import torch

    output_lengths = None
    if isinstance(outputs, (tuple, list)) and outputs and isinstance(outputs[0], torch.Tensor):
        if len(outputs) > 1 and isinstance(outputs[1], torch.Tensor) and outputs[1].dim() == 1:
            output_lengths = outputs[1]
        outputs = outputs[0]
    logits = getattr(outputs, "logits", outputs)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise ProbeUsageError("the CTC model's output is not a 3-d tensor of log-probs",
                              CTC_VIEW_HINT)
    log_probs = logits.transpose(0, 1) if batch_first else logits

    if isinstance(batch, Mapping):
        targets = _pick(batch, TARGET_KEYS)
        target_lengths = _pick(batch, TARGET_LENGTH_KEYS)
        input_lengths = _pick(batch, INPUT_LENGTH_KEYS)
    elif isinstance(batch, (tuple, list)) and len(batch) >= 4:
        _, targets, input_lengths, target_lengths = batch[:4]
    else:
        raise ProbeUsageError("cannot find the CTC targets and lengths in the batch",
                              "use a dict with targets, input_lengths, target_lengths, a tuple "
                              "(features, targets, input_lengths, target_lengths), or "
                              + CTC_VIEW_HINT)
    if targets is None or target_lengths is None:
        raise ProbeUsageError("the CTC batch has no targets or target_lengths", CTC_VIEW_HINT)
    if output_lengths is not None:
        input_lengths = output_lengths
    frames, batch_size = log_probs.shape[0], log_probs.shape[1]
    if input_lengths is None:
        input_lengths = torch.full((batch_size,), frames, dtype=torch.long)
    return CTCView(log_probs, targets, input_lengths, target_lengths)


def _pick(batch: Mapping, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in batch:
            return batch[key]
    return None


def _as_cpu_long(tensor: Any) -> Any:
    import torch

    return torch.as_tensor(tensor).detach().to("cpu", torch.long)


def uniform_reference(view: CTCView, num_classes: int, blank: int, reduction: str) -> float:
    """The CTC loss of uniform log-probs (every class 1/C) on the same targets and lengths."""
    import torch
    import torch.nn.functional as F

    frames, batch_size = view.log_probs.shape[0], view.log_probs.shape[1]
    uniform = torch.full((frames, batch_size, num_classes), -math.log(num_classes),
                         dtype=torch.float64)
    target_lengths = _as_cpu_long(view.target_lengths)
    per_sample = F.ctc_loss(uniform, _as_cpu_long(view.targets), _as_cpu_long(view.input_lengths),
                            target_lengths, blank=blank, reduction="none", zero_infinity=False)
    if reduction == "sum":
        return float(per_sample.sum())
    if reduction == "batchmean":
        return float(per_sample.sum() / batch_size)
    return float((per_sample / target_lengths.clamp(min=1)).mean())


def collapse_stats(views: list[CTCView], blank: int) -> CTCStats:
    """Blank share, entropy and greedy outputs over the valid frames of every batch."""
    import torch

    frames = blank_frames = 0
    entropy_sum = 0.0
    num_classes = views[0].log_probs.shape[-1]
    decoded: list[tuple[int, ...]] = []
    references: list[tuple[int, ...]] = []
    emitted_tokens: set[int] = set()
    target_tokens: set[int] = set()
    target_total = 0
    for view in views:
        log_probs = torch.log_softmax(view.log_probs.detach().float(), dim=-1).cpu()
        lengths = _as_cpu_long(view.input_lengths).tolist()
        targets = _target_sequences(view, blank)
        for n, length in enumerate(lengths):
            frame_log_probs = log_probs[:length, n]
            best = frame_log_probs.argmax(dim=-1)
            frames += length
            blank_frames += int((best == blank).sum())
            entropy_sum += float(-(frame_log_probs.exp() * frame_log_probs).sum())
            emitted_tokens.update(int(token) for token in best.tolist() if token != blank)
            decoded.append(greedy_decode(best.tolist(), blank))
        for sequence in targets:
            references.append(sequence)
            target_tokens.update(sequence)
            target_total += len(sequence)
    frames = max(frames, 1)
    distinct_outputs = set(decoded)
    exact = sum(output == reference for output, reference in zip(decoded, references))
    return CTCStats(
        frames=frames,
        blank_share=blank_frames / frames,
        emitted_share=1 - blank_frames / frames,
        needed_share=min(1.0, target_total / frames),
        entropy_share=(entropy_sum / frames) / math.log(num_classes) if num_classes > 1 else 0.0,
        same_output=len(decoded) > 1 and len(distinct_outputs) == 1 and bool(decoded[0]),
        single_token=next(iter(emitted_tokens)) if len(emitted_tokens) == 1 else None,
        distinct_target_tokens=len(target_tokens),
        distinct_targets=len(set(references)),
        exact_share=exact / max(len(references), 1),
        example=decoded[0] if decoded else (),
    )


def greedy_decode(best_path: list[int], blank: int) -> tuple[int, ...]:
    """Collapse repeats, then drop blanks."""
    out: list[int] = []
    previous = None
    for token in best_path:
        if token != previous and token != blank:
            out.append(token)
        previous = token
    return tuple(out)


def _target_sequences(view: CTCView, blank: int) -> list[tuple[int, ...]]:
    targets = _as_cpu_long(view.targets)
    lengths = _as_cpu_long(view.target_lengths).tolist()
    if targets.dim() == 2:
        return [tuple(targets[n, :length].tolist()) for n, length in enumerate(lengths)]
    sequences, start = [], 0
    flat = targets.tolist()
    for length in lengths:
        sequences.append(tuple(flat[start:start + length]))
        start += length
    return sequences
