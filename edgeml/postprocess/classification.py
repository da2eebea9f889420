"""Pure postprocessing: the model's output tensor → the top-k :class:`Classification` results.

Thresholds and top-k run on the raw quantized integers where the model outputs probabilities; only the winners
are dequantized (in int64). Softmax runs only for models that output logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.errors import InvalidArgumentError, LabelsError
from edgeml.tensors import TensorSpec

__all__ = [
    "Classification",
    "OutputDecoder",
    "check_request",
    "check_top_k",
    "dequantize",
    "label_mask",
    "resolve_activation",
    "softmax",
    "to_scores",
    "top_k_indices",
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


def _ranked(pool: np.ndarray, k: int) -> tuple[list[Any], list[int]]:
    """Return the ``k`` largest values of ``pool`` and their indices as lists, best first, ties to lower index."""
    n = pool.size
    k = min(k, n)
    if k == 0:
        return [], []
    # argpartition is O(N) for the 1000-class case but breaks ties at the k-th value arbitrarily (and differently
    # across numpy versions): when values equal to the k-th were left out, take everything strictly above it,
    # then the lowest-index ties.
    if k < n:
        part = np.argpartition(pool, n - k)
        chosen = part[n - k:]
        kth = pool[part[n - k]]
        if np.count_nonzero(pool >= kth) != k:
            above = np.flatnonzero(pool > kth)
            chosen = np.concatenate([above, np.flatnonzero(pool == kth)[:k - above.size]])
    else:
        chosen = np.arange(n)
    if k <= 64:  # a Python sort of a handful beats three numpy calls
        pairs = sorted(zip(pool[chosen].tolist(), chosen.tolist(), strict=True), key=lambda p: (-p[0], p[1]))
        return [v for v, _ in pairs], [i for _, i in pairs]
    order = chosen[np.lexsort((chosen, -pool[chosen].astype(np.float64)))]
    return pool[order].tolist(), order.tolist()


# Marks a class already taken (or excluded) in the int16 working copy; below every int8/uint8 value.
_TAKEN = np.int16(-32768)
# Up to this k, top-k of quantized probabilities is k argmax passes: after invoke() has flushed the CPU caches,
# a second numpy routine (argpartition, sort) costs tens of microseconds just to be fetched again.
_ARGMAX_MAX_K = 16


def _argmax_ranked(raw: np.ndarray, k: int, floor: int, excluded: np.ndarray | None) -> tuple[list[int], list[int]]:
    """Return the ``k`` largest int8/uint8 ``raw`` values ``>= floor`` and their indices, ties to the lower index.

    ``argmax`` returns the first maximum, so ties go to the lower index, as in :func:`_ranked`.
    """
    work = raw.astype(np.int16)  # a copy: the caller's (interpreter's) buffer is never written
    if excluded is not None:
        work[excluded] = _TAKEN
    values: list[int] = []
    indices: list[int] = []
    for _ in range(min(k, work.size)):
        i = int(work.argmax())
        q = int(work[i])
        if q < floor:  # also stops at _TAKEN: nothing left
            break
        values.append(q)
        indices.append(i)
        work[i] = _TAKEN
    return values, indices


def top_k_indices(values: np.ndarray, k: int, candidates: np.ndarray | None = None) -> np.ndarray:
    """Return the indices of the ``k`` largest ``values`` (any dtype), best first, ties to the lower index.

    Args:
        values: ``(N,)`` scores, raw quantized integers or floats.
        k: How many (fewer when there are fewer candidates).
        candidates: Sorted indices to choose among (e.g. above a threshold, allowed labels); None for all.
    """
    pool = values if candidates is None else values[candidates]
    order = np.array(_ranked(pool, k)[1], dtype=np.intp)
    return order if candidates is None else candidates[order]


def resolve_activation(spec: TensorSpec, activation: str | None) -> str:
    """Return ``activation``, deciding ``"auto"`` from the tensor when its quantization gives it away.

    TFLite's quantized softmax kernels fix their output quantization to scale 1/256 with zero point 0 (uint8) or
    -128 (int8); an output quantized that way holds probabilities. Anything else stays ``"auto"`` (decided from
    the values on each call).
    """
    if activation not in (None, "auto"):
        return activation
    softmax_zp = {np.dtype(np.uint8): 0, np.dtype(np.int8): -128}.get(np.dtype(spec.dtype))
    if spec.quantized and abs(spec.scale - 1 / 256) < 1e-9 and spec.zero_point == softmax_zp:
        return "softmax"
    return "auto"


class OutputDecoder:
    """Raw output tensor → top-k :class:`Classification` list, with everything about the tensor worked out once.

    For probability outputs (``activation="softmax"``) of a quantized model, the threshold becomes a quantized
    value and top-k runs on the raw integers (``k`` argmax passes for small ``k``); only the ``k`` winners are
    dequantized, in exact integer arithmetic.
    Logits need every value for softmax, so they are dequantized in full (int64) first; ``"auto"`` decides from
    the values on each call.

    Args:
        spec: The output tensor.
        labels: Class names in output order, or None for ``str(index)``.
        activation: ``"softmax"``, ``"logits"`` or ``"auto"`` (see :func:`resolve_activation`).
        mask: Optional bool ``(N,)``: False excludes a class (allow/deny lists, :func:`label_mask`).
    """

    def __init__(self, spec: TensorSpec, labels: Sequence[str] | None = None, activation: str = "auto",
                 mask: np.ndarray | None = None) -> None:
        self.spec = spec
        self.labels = list(labels) if labels else None
        self.activation = resolve_activation(spec, activation)
        self.mask = mask
        self._integer = spec.quantized and self.activation == "softmax"
        self._scale, self._zero_point = float(spec.scale), int(spec.zero_point)
        self._lowest = int(np.iinfo(spec.dtype).min) if spec.quantized else 0
        self._qmin: dict[float, int] = {}
        self._excluded = None if mask is None else np.flatnonzero(~np.asarray(mask, bool))

    def min_quantized(self, threshold: float) -> int:
        """Return the smallest quantized value whose score is >= ``threshold`` (exactly as it dequantizes)."""
        q = self._qmin.get(threshold)
        if q is None:
            info = np.iinfo(self.spec.dtype)
            q = int(np.floor(self._zero_point + threshold / self._scale)) - 1
            while q <= info.max and (q - self._zero_point) * self._scale < threshold:
                q += 1
            self._qmin[threshold] = q = max(q, int(info.min))
        return q

    def __call__(self, output: np.ndarray, k: int = 5, threshold: float = 0.0) -> list[Classification]:
        """Return up to ``k`` classes scoring ``>= threshold``, best first (ties: lower index first).

        Args:
            output: The output tensor ``(1, N)`` or ``(N,)``; read, never kept.
            k: How many classes at most (>= 1).
            threshold: Drop classes whose probability is below this.
        """
        check_top_k(k)
        raw = output.reshape(-1)
        keep = self.mask
        if self._integer:
            qmin = self.min_quantized(threshold) if threshold > 0 else self._lowest
            if k <= _ARGMAX_MAX_K:
                values, indices = _argmax_ranked(raw, k, qmin, self._excluded)
                keep = None  # indices are already into the whole output
            else:
                if qmin > self._lowest:
                    keep = raw >= qmin if keep is None else keep & (raw >= qmin)
                pool = raw if keep is None else raw[keep]
                values, indices = _ranked(pool, k)
            zp, scale = self._zero_point, self._scale
            # Python ints: exact, never wrap (int8 - zero_point), like int64.
            scores = [min(1.0, max(0.0, (q - zp) * scale)) for q in values]
        else:
            probs = to_scores(raw, self.spec, self.activation)
            if threshold > 0:
                keep = probs >= threshold if keep is None else keep & (probs >= threshold)
            pool = probs if keep is None else probs[keep]
            scores, indices = _ranked(pool, k)
        if keep is not None:
            where = np.flatnonzero(keep)
            indices = [int(where[i]) for i in indices]
        names = self.labels
        return [
            Classification(i, names[i] if names and names[i] else str(i), float(score))
            for i, score in zip(indices, scores, strict=True)
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


def check_top_k(top_k: Any) -> None:
    """Refuse a top-k no result could satisfy (the decoder's one rule; thresholds on raw values are its own)."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise InvalidArgumentError(f"top_k must be >= 1 (an integer). Received: {top_k!r}")


def check_request(top_k: Any, threshold: Any) -> None:
    """Refuse a top-k or a probability threshold no result could satisfy: the one check (and message) of the
    classifier, the stream and the CLI."""
    check_top_k(top_k)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) \
            or not 0.0 <= threshold <= 1.0:
        raise InvalidArgumentError(f"threshold must be a probability in [0, 1]. Received: {threshold!r}")
