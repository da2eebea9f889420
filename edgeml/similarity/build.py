"""Build a similarity index from images or stream frames (what ``edgeml index add`` does)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgeml.data_dir import private_dir
from edgeml.errors import InvalidArgumentError
from edgeml.similarity.index import Index

__all__ = ["add_to_index", "model_record"]


def model_record(file: Any) -> dict[str, Any]:
    """What an index records about the embedding model that made its vectors: name, path and SHA-256."""
    return {"name": file.path.name, "path": str(file.path.resolve()), "sha256": hashlib.sha256(file.data).hexdigest()}


def add_to_index(path: Path, model: str | os.PathLike[str], images: Sequence[str] = (), source: str | None = None,
                 frames: int = 20, ids: Sequence[str] | None = None, dtype: str = "float32") -> tuple[Index, int]:
    """Embed ``images`` (or ``frames`` frames of ``source``) with ``model`` into the index at ``path`` (created
    when missing, in a private folder); return the index and how many vectors were added.

    Raises:
        InvalidArgumentError: ``ids`` given, but not one per image.
    """
    from edgeml.inference.embedder import Embedder
    from edgeml.learn.gather import embed_images, embed_source

    with Embedder(model) as embedder:
        index = Index.load(path) if path.exists() else Index(embedder.dimension, dtype=dtype,
                                                              model=model_record(embedder.model))
        items = list(embed_source(embedder, source, frames) if source else embed_images(embedder, images))
    keys = [item.id for item in items]
    if ids:
        if len(ids) != len(items):
            raise InvalidArgumentError(f"{len(ids)} --id given for {len(items)} images: give one per image")
        keys = list(ids)
    index.add_many(keys, np.stack([item.vector for item in items]),
                   [{"path": item.path} if item.path else {} for item in items])
    private_dir(path.parent)
    index.save(path)
    return index, len(items)
