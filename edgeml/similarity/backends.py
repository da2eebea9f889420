"""Search backends of :class:`edgeml.Index`: exact (numpy, blockwise) and approximate (usearch HNSW, optional)."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from edgeml._optional import require

__all__ = ["UsearchGraph", "exact_search", "usearch_available"]

_BLOCK = 32768  # rows converted to float32 at a time: bounded memory for float16/int8 storage
_USEARCH_DTYPES = {"float32": "f32", "float16": "f16", "int8": "i8"}


def usearch_available() -> bool:
    """Return True when the ``usearch`` package can be imported (the ``[ann]`` extra)."""
    return importlib.util.find_spec("usearch") is not None


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int, scale: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(rows, scores)``, each ``(q, k)``, of the ``k`` highest dot products, best first.

    Args:
        vectors: ``(n, D)`` stored unit vectors (float32, float16, or int8 at ``scale``).
        queries: float32 unit ``(q, D)``.
        k: Hits per query (<= n).
        scale: What stored values were multiplied by (127 for int8).
    """
    n = len(vectors)
    if vectors.dtype == np.float32:
        sims = queries @ vectors.T
    else:
        sims = np.empty((len(queries), n), np.float32)
        for start in range(0, n, _BLOCK):
            block = vectors[start:start + _BLOCK].astype(np.float32)
            sims[:, start:start + len(block)] = queries @ block.T
    if scale != 1.0:
        sims /= np.float32(scale)
    every = np.broadcast_to(np.arange(n), (len(queries), n))
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else every
    top = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(top, order, axis=1)


class UsearchGraph:
    """usearch's HNSW graph over the index's rows (keys are row numbers), cosine metric."""

    def __init__(self, dimension: int, dtype: str, graph: Any = None, expansion: int = 128) -> None:
        usearch_index = require("usearch.index", "approximate nearest-neighbour search")
        self._graph = graph if graph is not None else usearch_index.Index(
            ndim=dimension, metric="cos", dtype=_USEARCH_DTYPES[dtype], connectivity=16, expansion_add=128,
            expansion_search=expansion)
        self._graph.expansion_search = expansion
        self.dtype = dtype

    @property
    def expansion(self) -> int:
        """Candidates kept while searching (usearch's ``expansion_search``): higher is slower and finds more."""
        return int(self._graph.expansion_search)

    @expansion.setter
    def expansion(self, value: int) -> None:
        self._graph.expansion_search = int(value)

    @classmethod
    def restore(cls, data: bytes, dimension: int, dtype: str, expansion: int = 128) -> UsearchGraph:
        usearch_index = require("usearch.index", "approximate nearest-neighbour search")
        return cls(dimension, dtype, usearch_index.Index.restore(bytearray(data)), expansion)

    def add(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        """Add stored vectors (int8 ones as they are: usearch takes pre-quantised int8, no float copy)."""
        self._graph.add(rows.astype(np.uint64), vectors, threads=0)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        found = self._graph.search(queries, k, threads=0)
        keys = np.asarray(found.keys, np.int64).reshape(len(queries), -1)
        distances = np.asarray(found.distances, np.float32).reshape(len(queries), -1)
        # One query gives usearch's Matches (as many keys as hits), several its BatchMatches (k keys, counts).
        counts = [len(found.keys)] if len(queries) == 1 else np.asarray(found.counts).reshape(-1)
        for i, c in enumerate(counts):  # fewer hits than k: mark the rest
            keys[i, int(c):] = -1
        return keys, 1.0 - distances

    def save(self) -> bytes:
        return bytes(self._graph.save())
