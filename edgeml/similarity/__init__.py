"""Similarity search over embeddings: :class:`Index` (exact numpy search, usearch HNSW beyond tens of thousands)."""

from __future__ import annotations

from edgeml.similarity.index import ANN_THRESHOLD, Hit, Index

__all__ = ["ANN_THRESHOLD", "Hit", "Index"]
