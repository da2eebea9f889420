"""``images:DIR_OR_GLOB``: image files decoded with Pillow, one frame each, in sorted path order.

A directory is searched recursively for files with an image suffix (``.jpg``, ``.png``, ...); anything else is
treated as a glob pattern (``**`` allowed). A file that cannot be decoded makes :meth:`ImagesSource.read` raise
:class:`~edgeml.errors.ImageError` naming it; the source has already moved on, so the next read continues.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np

from edgeml.errors import ImageError, InvalidSourceError, SourceError
from edgeml.frame import GRAY, RGB, Frame
from edgeml.image.load import IMAGE_SUFFIXES, find_images, load_image
from edgeml.sources.base import BaseSource

__all__ = ["ImagesSource", "from_spec", "list_images"]


def list_images(target: str) -> list[Path]:
    """Return the image files named by a directory (recursive) or a glob pattern, sorted."""
    p = Path(target)
    if p.is_dir():
        return find_images(p)
    return sorted(Path(f) for f in glob.glob(target, recursive=True) if os.path.isfile(f))


def decode(path: Path) -> tuple[np.ndarray, str]:
    """Decode one file to ``(pixels, format)``: grey images stay ``GRAY (H, W)``, the rest become ``RGB (H, W, 3)``.

    Raises:
        ImageError: The file is missing, not an image, too large, truncated or corrupt (see
            :func:`edgeml.image.load.load_image`); the message ends with what the stream does about it.
    """
    try:
        pixels = load_image(path, None)
    except ImageError as exc:
        raise ImageError(f"{exc} Skipped.") from exc
    return pixels, GRAY if pixels.ndim == 2 else RGB


class ImagesSource(BaseSource):
    """Frames from image files.

    Args:
        target: A directory or a glob pattern.
        loop: Start again from the first file after the last.
        name: The source string.
    """

    def __init__(self, target: str, loop: bool = False, name: str = "") -> None:
        super().__init__(name or f"images:{target}", live=False)
        self.target = target
        self.loop = loop
        self.paths: list[Path] = []
        self.position = 0  # index into paths of the next file; kept across close/open so a reopen resumes

    def open(self) -> None:
        self.paths = list_images(self.target)
        if not self.paths:
            raise SourceError(f"No image files found for {self.name!r}. Give a folder holding "
                              f"{', '.join(sorted(IMAGE_SUFFIXES))} files, or a glob such as 'photos/*.jpg'.")

    def read(self) -> Frame | None:
        if not self.paths:
            self.open()
        if self.position >= len(self.paths):
            if not self.loop:
                return None
            self.position = 0
        path = self.paths[self.position]
        self.position += 1
        pixels, fmt = decode(path)  # ImageError: this file is reported by the caller, the next read goes on
        return self._frame(pixels, fmt)

    def close(self) -> None:
        pass


def from_spec(spec: str, scheme: str, target: str, *, loop: bool = False) -> ImagesSource:
    """Build from ``images:DIR_OR_GLOB``."""
    if not target:
        raise InvalidSourceError(f"{spec!r} names no folder. Write images:DIR or images:'photos/*.jpg'.")
    return ImagesSource(target, loop=loop, name=spec)
