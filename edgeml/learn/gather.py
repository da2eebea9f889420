"""Embed what a user points at: image files, folders of images, or N frames of a stream source.

Shared by ``edgeml learn add`` and ``edgeml index add``. Frames and decoded images stay in memory; only the
embeddings come out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from edgeml.errors import ImageError, InvalidArgumentError
from edgeml.image.load import find_images
from edgeml.inference.embedder import Embedder
from edgeml.postprocess.embedding import Embedding

__all__ = ["Embedded", "embed_images", "embed_source", "image_paths"]


@dataclass(frozen=True)
class Embedded:
    """One embedded item: its id (the image path, or ``SOURCE#frame``), its path if a file, its vector."""

    id: str
    path: str | None
    vector: np.ndarray


def image_paths(items: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Return the image files named by ``items`` (files as given, folders searched recursively, sorted).

    Raises:
        ImageError: An item is neither a file nor a folder, or a folder holds no images.
    """
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = find_images(p)
            if not found:
                raise ImageError(f"No images in {str(p)!r} (looked for .jpg, .png, ... recursively).")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise ImageError(f"Not an image file or folder: {str(p)!r}.")
    return out


def embed_images(embedder: Embedder, items: Sequence[str | os.PathLike[str]]) -> Iterator[Embedded]:
    """Yield the embedding of every image named by ``items`` (see :func:`image_paths`)."""
    for path in image_paths(items):
        yield Embedded(str(path), str(path), embedder.embed(path))


def embed_source(embedder: Embedder, source: str, frames: int) -> Iterator[Embedded]:
    """Yield the embeddings of ``frames`` frames of stream ``source`` (``picamera2``, ``usb:0``, ``video:F``...).

    Raises:
        InvalidArgumentError: ``frames`` < 1.
        SourceError: The source cannot be opened.
    """
    from edgeml.streaming import stream

    if frames < 1:
        raise InvalidArgumentError(f"frames must be >= 1. Received: {frames}")
    with stream(source, embedder, max_frames=frames) as results:
        for result in results:
            if result.error is not None or not result.results:
                raise ImageError(f"{source}: frame {result.index} could not be read ({result.error}).")
            embedding = cast(Embedding, result.results[0])  # an Embedder's stream results hold one Embedding
            yield Embedded(f"{source}#{result.index}", None, embedding.vector)
