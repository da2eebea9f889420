"""Pure postprocessing: the model's output tensor → scores → the top-k :class:`Classification` results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.tensors import TensorSpec

__all__ = ["Classification", "dequantize", "softmax", "to_scores", "top_k"]


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
    """Return float32 real values of an output tensor (``scale * (q - zero_point)``; float tensors unchanged)."""
    if not spec.quantized:
        return values.astype(np.float32, copy=False)
    return (values.astype(np.float32) - np.float32(spec.zero_point)) * np.float32(spec.scale)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return a numerically stable softmax over the last axis (float32)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z, dtype=np.float32)
    return e / e.sum(axis=-1, keepdims=True)


def to_scores(output: np.ndarray, spec: TensorSpec, activation: str = "auto") -> np.ndarray:
    """Turn a raw output tensor into per-class probabilities, float32 ``(N,)``.

    Args:
        output: The output tensor, shape ``(1, N)`` or ``(N,)``, any dtype.
        spec: Its tensor spec (for dequantization).
        activation: ``"softmax"`` when the model already outputs probabilities, ``"logits"`` to apply softmax
            here, ``"auto"`` to decide from the values (outside [0, 1] or not summing to ~1 → logits).
    """
    real = dequantize(np.asarray(output).reshape(-1), spec)
    if activation == "logits" or (
        activation == "auto" and (real.min() < -1e-3 or real.max() > 1.0 + 1e-3 or abs(float(real.sum()) - 1.0) > 0.1)
    ):
        return softmax(real)
    return np.clip(real, 0.0, 1.0)


def top_k(scores: np.ndarray, labels: Sequence[str] | None, k: int = 5, threshold: float = 0.0) -> list[Classification]:
    """Return up to ``k`` classes by descending score, keeping those with ``score >= threshold``.

    Ties are broken by the lower class index, so results are deterministic.
    """
    if k < 1:
        raise ValueError(f"top_k must be >= 1. Received: {k}")
    k = min(k, scores.size)
    # argpartition is O(N) for the 1000-class case. It breaks ties at the k-th score arbitrarily (and differently
    # across numpy versions), so keep every index scoring at least the k-th score, then sort (lower index first).
    if k < scores.size:
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(scores.size)
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
    return [
        Classification(int(i), labels[i] if labels and labels[i] else str(int(i)), float(scores[i]))
        for i in order
        if scores[i] >= threshold
    ]
