"""Pure embedding maths: the raw output tensor → an :class:`Embedding`, normalisation, cosine similarity.

An embedding model's output is a feature vector: images that look alike have close vectors. ``edgeml convert
--embedding`` writes it L2-normalised (one ``L2_NORMALIZATION`` op, int8 scale 1/128), so the dot product of two is
their cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.errors import InvalidArgumentError
from edgeml.tensors import TensorSpec

__all__ = ["Embedding", "EmbeddingDecoder", "cosine_similarity", "l2_normalize"]


@dataclass(frozen=True, eq=False)
class Embedding:
    """One image's feature vector.

    Attributes:
        vector: float32 ``(D,)``, dequantized (``scale * (raw - zero_point)``).
        raw: The output tensor's own values ``(D,)`` (int8/uint8 for a quantized model; a copy).
        scale, zero_point: The output's quantization (1.0 and 0 for a float output).
    """

    vector: np.ndarray
    raw: np.ndarray
    scale: float = 1.0
    zero_point: int = 0

    @property
    def dimension(self) -> int:
        return int(self.vector.shape[0])

    def normalized(self) -> np.ndarray:
        """Return :attr:`vector` scaled to unit length, float32 ``(D,)`` (zeros stay zeros)."""
        return l2_normalize(self.vector)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict: the dimension and the dequantized vector (rounded to 6 digits)."""
        return {"dimension": self.dimension, "embedding": [round(float(v), 6) for v in self.vector]}


class EmbeddingDecoder:
    """Raw output tensor → :class:`Embedding` (a one-item list, as :class:`~edgeml.inference.pipeline.Pipeline`
    expects).

    ``k`` and ``threshold`` are accepted for the pipeline's one call signature and ignored.
    """

    def __init__(self, spec: TensorSpec) -> None:
        self.spec = spec
        self._scale = float(spec.scale) if spec.quantized else 1.0
        self._zero_point = int(spec.zero_point) if spec.quantized else 0

    def __call__(self, output: np.ndarray, k: int = 1, threshold: float = 0.0) -> list[Embedding]:
        raw = np.array(output, copy=True).reshape(-1)  # the interpreter's buffer is reused by the next invoke()
        if self.spec.quantized:
            vector = ((raw.astype(np.int32) - self._zero_point) * np.float32(self._scale)).astype(np.float32)
        else:
            vector = raw.astype(np.float32, copy=False)
        return [Embedding(vector, raw, self._scale, self._zero_point)]


def l2_normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Return ``x`` (float, ``(D,)`` or ``(N, D)``) scaled to unit L2 norm along ``axis``, float32; zeros stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, np.float32(1e-12))


def cosine_similarity(a: np.ndarray | Embedding, b: np.ndarray | Embedding) -> Any:
    """Return the cosine similarity of two embeddings, in [-1, 1].

    Args:
        a: An :class:`Embedding` or a float array ``(D,)`` (one vector) or ``(N, D)`` (rows).
        b: The same kinds as ``a``, of the same dimension D.

    Returns:
        A float for two vectors; float32 ``(N,)`` for a matrix and a vector; ``(N, M)`` for two matrices.

    Raises:
        InvalidArgumentError: The dimensions differ.
    """
    x = a.vector if isinstance(a, Embedding) else np.asarray(a, np.float32)
    y = b.vector if isinstance(b, Embedding) else np.asarray(b, np.float32)
    if x.shape[-1] != y.shape[-1]:
        raise InvalidArgumentError(f"Embeddings of different dimensions cannot be compared: {x.shape[-1]} and "
                                   f"{y.shape[-1]}. Compute both with the same embedding model.")
    sims = l2_normalize(x) @ l2_normalize(y).T
    return float(sims) if sims.ndim == 0 else sims
