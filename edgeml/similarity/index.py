"""A similarity index of embeddings: ids, a small metadata dict per vector, exact or approximate search, one file.

Vectors are stored L2-normalised, so the score of a hit is its cosine similarity with the query. Search is exact
in numpy by default up to :data:`ANN_THRESHOLD` vectors (a few tens of thousands take about a millisecond) and
approximate beyond, with usearch's HNSW graph (the ``[ann]`` extra), when it is installed; ``backend=`` overrides.

File format (``.edgeml-index``, one file, readable with ``numpy.load``): an uncompressed zip holding

- ``index.json``: ``{"format": "edgeml-index", "version": 1, "dimension": D, "dtype": "float32"|"float16"|"int8",
  "count": n, "ids": [...], "metadata": [{...}, ...], "model": {"name", "sha256"} or null}``;
- ``vectors.npy``: the unit vectors ``(n, D)`` in ``dtype`` (int8: ``round(127 * v)``);
- ``usearch.bin`` (optional): the saved HNSW graph, so a large index is not rebuilt on load.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.errors import IndexFileError, InvalidArgumentError
from edgeml.postprocess.embedding import l2_normalize
from edgeml.similarity import backends

__all__ = ["ANN_THRESHOLD", "BACKENDS", "DTYPES", "Hit", "Index"]

FORMAT, VERSION = "edgeml-index", 1
DTYPES = ("float32", "float16", "int8")
BACKENDS = ("auto", "exact", "usearch")
# HNSW search effort by index size, from benchmarks/search.py (recall@10 >= 0.95): 128 is enough at 100k
# (recall 1.0 at 64 already), 1M needs 512 (256: 0.85).
_EXPANSIONS = ((300_000, 128), (None, 512))
ANN_THRESHOLD = 50_000  # below this, numpy's exact search is as fast as the graph and needs no build
_INT8_SCALE = 127.0


@dataclass(frozen=True)
class Hit:
    """One search result: the vector's id, its cosine similarity with the query, and its metadata."""

    id: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "similarity": round(self.score, 6), **self.metadata}


class Index:
    """Embeddings with ids, searchable by cosine similarity.

    Example::

        index = edgeml.Index(dimension=1280)
        index.add("mug.jpg", embedder.embed("mug.jpg"), {"path": "/photos/mug.jpg"})
        for hit in index.search(embedder.embed("query.jpg"), k=5):
            print(hit.id, f"{hit.score:.3f}", hit.metadata)
        index.save("photos.edgeml-index");  edgeml.Index.load("photos.edgeml-index")

    Args:
        dimension: Length of every vector.
        dtype: Storage of the unit vectors: ``"float32"``, ``"float16"`` (half the memory) or ``"int8"`` (a
            quarter; cosine error ~1e-3).
        backend: ``"auto"`` (exact below :data:`ANN_THRESHOLD` vectors, usearch above when installed),
            ``"exact"`` or ``"usearch"``.
        model: ``{"name": ..., "sha256": ...}`` of the embedding model the vectors came from (recorded in the file).
        expansion: HNSW candidates kept per search (usearch's ``expansion_search``; more: slower, higher recall);
            None: 128 below 300,000 vectors, 512 above.
    """

    def __init__(self, dimension: int, *, dtype: str = "float32", backend: str = "auto",
                 model: Mapping[str, Any] | None = None, expansion: int | None = None) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, (int, np.integer)) or dimension < 1:
            raise InvalidArgumentError(f"dimension must be an integer >= 1. Received: {dimension!r}")
        if dtype not in DTYPES:
            raise InvalidArgumentError(f"dtype must be one of {', '.join(DTYPES)}. Received: {dtype!r}")
        if backend not in BACKENDS:
            raise InvalidArgumentError(f"backend must be one of {', '.join(BACKENDS)}. Received: {backend!r}")
        if expansion is not None and (isinstance(expansion, bool) or not isinstance(expansion, int) or expansion < 1):
            raise InvalidArgumentError(f"expansion must be an integer >= 1. Received: {expansion!r}")
        self.dimension, self.dtype, self.backend = int(dimension), dtype, backend
        self._expansion = expansion
        self.model: dict[str, Any] | None = dict(model) if model else None
        self._vectors = np.empty((0, self.dimension), np.dtype(dtype))
        self._ids: list[str] = []
        self._metadata: list[dict[str, Any]] = []
        self._rows: dict[str, int] = {}
        self._ann: backends.UsearchGraph | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id: object) -> bool:
        return id in self._rows

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def metadata(self, id: str) -> dict[str, Any]:
        """Return the metadata stored with ``id``."""
        return dict(self._metadata[self._row(id)])

    def _row(self, id: str) -> int:
        try:
            return self._rows[id]
        except KeyError:
            raise InvalidArgumentError(f"No vector with id {id!r} in the index ({len(self)} vectors).") from None

    def _store(self, unit: np.ndarray) -> np.ndarray:
        if self.dtype == "int8":
            return np.clip(np.round(unit * _INT8_SCALE), -127, 127).astype(np.int8)
        return unit.astype(self.dtype)

    def add(self, id: str, vector: np.ndarray, metadata: Mapping[str, Any] | None = None) -> None:
        """Add (or replace) one vector: float ``(D,)``; ``metadata`` must be JSON-serialisable."""
        self.add_many([id], np.asarray(vector)[None], [metadata or {}])

    def add_many(self, ids: Sequence[str], vectors: np.ndarray,
                 metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Add (or replace) vectors ``(n, D)`` with their ids (and metadata dicts).

        Raises:
            IndexFileError: The vectors' dimension is not the index's (another embedding model's).
            InvalidArgumentError: Ids and vectors differ in number, or an id repeats.
        """
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            got = vectors.shape[-1] if vectors.ndim else 0
            raise IndexFileError(f"Vectors of dimension {got} cannot go into an index of dimension "
                                 f"{self.dimension}: they come from another embedding model. Use the model the "
                                 f"index was built with{self._model_hint()}, or a new index.")
        metas = list(metadata) if metadata is not None else [{}] * len(ids)
        if len(ids) != len(vectors) or len(metas) != len(ids):
            raise InvalidArgumentError(f"{len(ids)} ids, {len(vectors)} vectors and {len(metas)} metadata dicts: "
                                       "give one of each per vector.")
        if len(set(ids)) != len(ids):
            raise InvalidArgumentError("Ids must be unique within one add.")
        replaced = [i for i in ids if i in self._rows]
        if replaced:
            self.remove(replaced)
        start = len(self._ids)
        self._vectors = np.concatenate([self._vectors, self._store(l2_normalize(vectors))])
        for i, (id_, meta) in enumerate(zip(ids, metas, strict=True)):
            self._ids.append(str(id_))
            self._metadata.append(json.loads(json.dumps(dict(meta))))  # a JSON-able copy
            self._rows[str(id_)] = start + i
        if self._ann is not None:
            self._ann.add(np.arange(start, len(self._ids)), self._vectors[start:])

    def remove(self, ids: str | Sequence[str]) -> int:
        """Remove vectors by id; return how many were removed (unknown ids are skipped)."""
        wanted = [ids] if isinstance(ids, str) else list(ids)
        rows = sorted({self._rows[i] for i in wanted if i in self._rows})
        if not rows:
            return 0
        keep = np.ones(len(self._ids), bool)
        keep[rows] = False
        self._vectors = self._vectors[keep]
        self._ids = [i for i, k in zip(self._ids, keep, strict=True) if k]
        self._metadata = [m for m, k in zip(self._metadata, keep, strict=True) if k]
        self._rows = {id_: r for r, id_ in enumerate(self._ids)}
        self._ann = None  # graph keys are row numbers: rebuilt on the next approximate search
        return len(rows)

    def active_backend(self) -> str:
        """Return the backend a search would use now: ``"exact"`` or ``"usearch"``."""
        if self.backend == "auto":
            return "usearch" if len(self) >= ANN_THRESHOLD and backends.usearch_available() else "exact"
        return self.backend

    def search(self, query: np.ndarray, k: int = 5) -> list[Hit]:
        """Return the ``k`` vectors most similar to ``query`` (float ``(D,)``), best first.

        Raises:
            IndexFileError: ``query`` has another dimension (another embedding model's).
            InvalidArgumentError: ``k`` < 1.
        """
        return self.search_many(np.asarray(query, np.float32)[None], k)[0]

    def search_many(self, queries: np.ndarray, k: int = 5) -> list[list[Hit]]:
        """Return the ``k`` best hits of each query row ``(q, D)``."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidArgumentError(f"k must be an integer >= 1. Received: {k!r}")
        queries = np.asarray(queries, np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dimension:
            raise IndexFileError(f"The query has dimension {queries.shape[-1]} but the index holds vectors of "
                                 f"dimension {self.dimension}: embed it with the model the index was built "
                                 f"with{self._model_hint()}.")
        if not len(self):
            return [[] for _ in queries]
        unit = l2_normalize(queries)
        if self.active_backend() == "usearch":
            graph = self._graph()
            graph.expansion = self.expansion
            rows, scores = graph.search(unit, min(k, len(self)))
        else:
            rows, scores = backends.exact_search(self._vectors, unit, min(k, len(self)),
                                                 _INT8_SCALE if self.dtype == "int8" else 1.0)
        return [[Hit(self._ids[r], float(s), dict(self._metadata[r])) for r, s in zip(rr, ss, strict=True) if r >= 0]
                for rr, ss in zip(rows, scores, strict=True)]

    @property
    def expansion(self) -> int:
        """HNSW candidates kept per search (by size unless set); set it to trade speed for recall, no rebuild."""
        if self._expansion is not None:
            return self._expansion
        return next(e for limit, e in _EXPANSIONS if limit is None or len(self) < limit)

    @expansion.setter
    def expansion(self, value: int | None) -> None:
        self._expansion = None if value is None else int(value)

    def _graph(self) -> backends.UsearchGraph:
        if self._ann is None:
            self._ann = backends.UsearchGraph(self.dimension, self.dtype, expansion=self.expansion)
            self._ann.add(np.arange(len(self)), self._vectors)
        return self._ann

    def build(self) -> None:
        """Build the approximate graph now (otherwise it is built on the first approximate search)."""
        if self.active_backend() == "usearch":
            self._graph()

    def _model_hint(self) -> str:
        return f" ({self.model.get('name')})" if self.model and self.model.get("name") else ""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index to one file (see the module docstring for its format); return its path."""
        p = Path(path)
        header = {"format": FORMAT, "version": VERSION, "dimension": self.dimension, "dtype": self.dtype,
                  "count": len(self), "ids": self._ids, "metadata": self._metadata, "model": self.model,
                  "backend": self.backend, "expansion": self._expansion}
        vectors = io.BytesIO()
        np.save(vectors, self._vectors, allow_pickle=False)
        tmp = p.with_name(p.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            z.writestr("index.json", json.dumps(header))
            z.writestr("vectors.npy", vectors.getvalue())
            if self._ann is not None:
                z.writestr("usearch.bin", bytes(self._ann.save()))
        os.replace(tmp, p)
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, backend: str | None = None) -> Index:
        """Read an index written by :meth:`save`.

        Raises:
            IndexFileError: Missing, not an edgeml index, or corrupt (the message says which).
        """
        p = Path(path)
        try:
            with zipfile.ZipFile(p) as z:
                header = json.loads(z.read("index.json"))
                vectors = np.load(io.BytesIO(z.read("vectors.npy")), allow_pickle=False)
                graph = z.read("usearch.bin") if "usearch.bin" in z.namelist() else None
            if header.get("format") != FORMAT:
                raise ValueError("not an edgeml index")
            index = cls(int(header["dimension"]), dtype=header["dtype"], backend=backend or header.get("backend",
                        "auto"), model=header.get("model"), expansion=header.get("expansion"))
            ids, metas = [str(i) for i in header["ids"]], list(header["metadata"])
            if vectors.shape != (len(ids), index.dimension) or len(metas) != len(ids) \
                    or vectors.dtype != np.dtype(index.dtype):
                raise ValueError(f"{len(ids)} ids but vectors of shape {vectors.shape} ({vectors.dtype})")
        except FileNotFoundError as exc:
            raise IndexFileError(f"Index file not found: {str(p)!r}. Build one with `edgeml index add NAME "
                                 "--model EMBEDDING.tflite IMAGES...`.") from exc
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, InvalidArgumentError) as exc:
            raise IndexFileError(f"{str(p)!r} is not a readable edgeml index ({exc}). Rebuild it with "
                                 "`edgeml index add`.") from exc
        index._vectors, index._ids, index._metadata = vectors, ids, metas
        index._rows = {id_: r for r, id_ in enumerate(ids)}
        if graph is not None and backends.usearch_available():
            index._ann = backends.UsearchGraph.restore(graph, index.dimension, index.dtype, index.expansion)
        return index
