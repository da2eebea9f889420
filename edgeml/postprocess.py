"""Pure postprocessing: the model's output tensor → the top-k :class:`Classification` results.

Thresholds and top-k run on the raw quantized integers where the model outputs probabilities; only the winners
are dequantized (in int64). Softmax runs only for models that output logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.errors import LabelsError
from edgeml.tensors import TensorSpec

__all__ = [
    "Classification", "classify_output", "dequantize", "label_mask", "softmax", "to_scores", "top_k", "top_k_indices",
]


@dataclass(frozen=True)
class Classification:
    """One class and its score.

    Attributes:
        index: Class index in the model's output.
        label: The class name, or ``str(index)`` when the model has no labels.
        score: Probability in [0, 1].
    """

    index: int
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {"index": self.index, "label": self.label, "score": self.score}


def dequantize(values: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Return float32 real values of an output tensor (``scale * (q - zero_point)``; float tensors unchanged).

    The subtraction is done in int64, so int8/uint8 values never wrap around.
    """
    if not spec.quantized:
        return values.astype(np.float32, copy=False)
    return ((values.astype(np.int64) - spec.zero_point) * spec.scale).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return a numerically stable softmax over the last axis (float32)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z, dtype=np.float32)
    return e / e.sum(axis=-1, keepdims=True)


def _looks_like_logits(real: np.ndarray) -> bool:
    return bool(real.min() < -1e-3 or real.max() > 1.0 + 1e-3 or abs(float(real.sum()) - 1.0) > 0.1)


def to_scores(output: np.ndarray, spec: TensorSpec, activation: str = "auto") -> np.ndarray:
    """Turn a raw output tensor into per-class probabilities, float32 ``(N,)``.

    Args:
        output: The output tensor, shape ``(1, N)`` or ``(N,)``, any dtype.
        spec: Its tensor spec (for dequantization).
        activation: ``"softmax"`` when the model already outputs probabilities, ``"logits"`` to apply softmax
            here, ``"auto"`` to decide from the values (outside [0, 1] or not summing to ~1 → logits).
    """
    real = dequantize(np.asarray(output).reshape(-1), spec)
    if activation == "logits" or (activation == "auto" and _looks_like_logits(real)):
        return softmax(real)
    return np.clip(real, 0.0, 1.0)


def top_k_indices(values: np.ndarray, k: int, candidates: np.ndarray | None = None) -> np.ndarray:
    """Return the indices of the ``k`` largest ``values`` (any dtype), best first, ties to the lower index.

    Args:
        values: ``(N,)`` scores, raw quantized integers or floats.
        k: How many (fewer when there are fewer candidates).
        candidates: Sorted indices to choose among (e.g. above a threshold, allowed labels); None for all.
    """
    pool = values if candidates is None else values[candidates]
    k = min(k, pool.size)
    if k == 0:
        return np.empty(0, np.intp)
    # argpartition is O(N) for the 1000-class case. It breaks ties at the k-th score arbitrarily (and differently
    # across numpy versions), so keep every index scoring at least the k-th score, then sort (lower index first).
    if k < pool.size:
        kth = pool[np.argpartition(pool, pool.size - k)[pool.size - k]]
        chosen = np.flatnonzero(pool >= kth)
    else:
        chosen = np.arange(pool.size)
    order = chosen[np.lexsort((chosen, -pool[chosen].astype(np.float64)))][:k]
    return order if candidates is None else candidates[order]


def top_k(scores: np.ndarray, labels: Sequence[str] | None, k: int = 5, threshold: float = 0.0) -> list[Classification]:
    """Return up to ``k`` classes by descending score, keeping those with ``score >= threshold``.

    Ties are broken by the lower class index, so results are deterministic.
    """
    if k < 1:
        raise ValueError(f"top_k must be >= 1. Received: {k}")
    return [
        Classification(int(i), labels[i] if labels and labels[i] else str(int(i)), float(scores[i]))
        for i in top_k_indices(scores, k)
        if scores[i] >= threshold
    ]


def _min_quantized(spec: TensorSpec, threshold: float) -> int:
    """Return the smallest quantized value whose dequantized score is >= ``threshold`` (exactly as dequantize)."""
    info = np.iinfo(spec.dtype)
    q = int(np.floor(spec.zero_point + threshold / spec.scale)) - 1
    while q <= info.max and dequantize(np.array([q]), spec)[0] < threshold:
        q += 1
    return max(q, info.min)


def classify_output(
    output: np.ndarray,
    spec: TensorSpec,
    labels: Sequence[str] | None = None,
    k: int = 5,
    threshold: float = 0.0,
    activation: str = "auto",
    mask: np.ndarray | None = None,
) -> list[Classification]:
    """Return the top ``k`` classes of a raw output tensor, dequantizing only the winners when it can.

    For probability outputs (``activation="softmax"``) of a quantized model, the threshold becomes a quantized
    value and top-k runs on the raw integers; only the ``k`` results are dequantized. Logits need every value for
    softmax, so they are dequantized in full (int64) first; ``"auto"`` decides from the values.

    Args:
        output: The output tensor ``(1, N)`` or ``(N,)``; read, never kept.
        spec: Its tensor spec.
        labels: Class names in output order, or None for ``str(index)``.
        k: How many classes at most (>= 1).
        threshold: Drop classes whose probability is below this.
        activation: ``"softmax"``, ``"logits"`` or ``"auto"``, as in :func:`to_scores`.
        mask: Optional bool ``(N,)``: False excludes a class (allow/deny lists).
    """
    if k < 1:
        raise ValueError(f"top_k must be >= 1. Received: {k}")
    raw = np.asarray(output).reshape(-1)
    if spec.quantized and activation == "softmax":
        keep = raw >= _min_quantized(spec, threshold)
        candidates = np.flatnonzero(keep if mask is None else keep & mask)
        chosen = top_k_indices(raw, k, candidates)
        scores = np.clip(dequantize(raw[chosen], spec), 0.0, 1.0)
    else:
        probs = to_scores(raw, spec, activation)
        keep = probs >= threshold
        chosen = top_k_indices(probs, k, np.flatnonzero(keep if mask is None else keep & mask))
        scores = probs[chosen]
    return [
        Classification(int(i), labels[i] if labels and labels[i] else str(int(i)), float(s))
        for i, s in zip(chosen, scores, strict=True)
    ]


def label_mask(
    labels: Sequence[str] | None,
    num_classes: int,
    allow: Sequence[str | int] | None = None,
    deny: Sequence[str | int] | None = None,
) -> np.ndarray | None:
    """Return a bool ``(num_classes,)`` mask of the classes that may be reported, or None for all.

    Args:
        labels: Class names in output order (None: classes are named by index).
        num_classes: Size of the model's output.
        allow: Only these classes (names or indices) may be reported; None allows all.
        deny: These classes are never reported.

    Raises:
        LabelsError: A name is not one of the labels, or an index is out of range.
    """
    if allow is None and not deny:
        return None
    names = list(labels) if labels is not None else [str(i) for i in range(num_classes)]
    where = {name: i for i, name in enumerate(names)}

    def index(item: str | int) -> int:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= int(item) < num_classes:
            return int(item)
        if isinstance(item, str) and item in where:
            return where[item]
        close = [n for n in names if isinstance(item, str) and item.lower() in n.lower()][:5]
        raise LabelsError(
            f"Unknown class {item!r} in allow/deny: not a label of this model nor an index below {num_classes}. "
            + (f"Similar labels: {close}." if close else "Check the labels file (one name per line).")
        )

    mask = np.zeros(num_classes, bool) if allow is not None else np.ones(num_classes, bool)
    if allow is not None:
        mask[[index(a) for a in allow]] = True
    if deny:
        mask[[index(d) for d in deny]] = False
    return mask
