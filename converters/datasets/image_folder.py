"""An image-classification dataset as a folder with one sub-folder per class, loaded into memory for training.

    DATA_DIR/
      cat/  0001.jpg 0002.png ...
      dog/  ...

Class names are the sub-folder names, sorted. Images of any size and mode are read as RGB (greyscale is
repeated into three channels) and fitted to the model's square input with the runtime's own resize, so training
sees exactly what the device will feed. Unreadable files are skipped with a warning and counted.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeml import preprocess
from edgeml.errors import ImageError
from edgeml.image.load import IMAGE_SUFFIXES, find_images, load_image
from edgeml.preprocess import Preprocessing
from edgeml_converters.datasets.errors import DatasetError
from edgeml_converters.progress import bar

__all__ = ["DatasetError", "ImageFolder", "load", "scan", "split"]

log = logging.getLogger(__name__)


@dataclass
class ImageFolder:
    """Decoded images and labels.

    Attributes:
        classes: Class names in label order (sorted sub-folder names).
        pixels: uint8, ``(N, S, S, 3)``, RGB, resized for the model.
        labels: int64, ``(N,)``, index into ``classes``.
        paths: Source file of each image.
        skipped: Files that could not be decoded.
    """

    classes: tuple[str, ...]
    pixels: np.ndarray
    labels: np.ndarray
    paths: list[Path]
    skipped: list[Path] = field(default_factory=list)

    def subset(self, index: np.ndarray) -> ImageFolder:
        """Return the images at ``index`` (int array), keeping the class list."""
        return ImageFolder(self.classes, self.pixels[index], self.labels[index], [self.paths[i] for i in index])


def scan(data_dir: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Return ``{class name: image files}`` for ``data_dir``, checking it can train a classifier.

    Raises:
        DatasetError: Missing folder, fewer than two class sub-folders, or a class sub-folder without images.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"Training data folder not found: {str(root)!r}. Pass a folder with one sub-folder of "
                           "images per class.")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    classes = {f.name: find_images(f) for f in folders}
    empty = [name for name, files in classes.items() if not files]
    if empty:
        raise DatasetError(f"Class folder(s) without images in {str(root)!r}: {', '.join(empty)}. Add images "
                           f"({', '.join(sorted(IMAGE_SUFFIXES))}) or remove the folder(s).")
    if len(classes) < 2:
        found = f"only {next(iter(classes))!r}" if classes else "none"
        raise DatasetError(f"A classifier needs at least 2 class sub-folders in {str(root)!r}; found {found}. "
                           "Put each class's images in its own sub-folder, e.g. DATA_DIR/cat/, DATA_DIR/dog/.")
    return classes


def load(data_dir: str | os.PathLike[str], size: int, prep: Preprocessing, *, progress: bool = False) -> ImageFolder:
    """Decode every image of ``data_dir`` to uint8 RGB ``(size, size, 3)``; skip and count unreadable files.

    ``progress`` counts the images on a progress bar.

    Raises:
        DatasetError: See :func:`scan`; also when a class is left without any readable image.
    """
    classes = scan(data_dir)
    pixels: list[np.ndarray] = []
    labels: list[int] = []
    paths: list[Path] = []
    skipped: list[Path] = []
    files = [(label, path) for label, group in enumerate(classes.values()) for path in group]
    for label, path in bar(files, "loading images", enabled=progress):
        try:
            rgb = load_image(path, "RGB")
        except ImageError as exc:
            log.warning("skipping unreadable image: %s", exc)
            skipped.append(path)
            continue
        pixels.append(preprocess.resize(rgb, (size, size), prep))
        labels.append(label)
        paths.append(path)
    names = tuple(classes)
    missing = [names[i] for i in range(len(names)) if i not in set(labels)]
    if missing:
        raise DatasetError(f"No readable image in class folder(s) {', '.join(missing)} ({len(skipped)} files "
                           "could not be decoded). Replace them with JPEG/PNG files.")
    if skipped:
        log.warning("skipped %d unreadable image(s) of %d", len(skipped), len(skipped) + len(paths))
    return ImageFolder(names, np.stack(pixels), np.asarray(labels, np.int64), paths, skipped)


def split(data: ImageFolder, val_fraction: float, seed: int = 0) -> tuple[ImageFolder, ImageFolder]:
    """Split into (train, validation), stratified per class; each class keeps at least one training image.

    Raises:
        DatasetError: ``val_fraction`` outside (0, 0.9], or too few images to hold any out.
    """
    if not 0.0 < val_fraction <= 0.9:
        raise DatasetError(f"--val-split must be in (0, 0.9]. Received: {val_fraction}")
    rng = random.Random(seed)
    train_idx: list[int] = []
    val_idx: list[int] = []
    for c in range(len(data.classes)):
        members = [i for i in range(len(data.labels)) if data.labels[i] == c]
        rng.shuffle(members)
        n_val = min(len(members) - 1, max(1, round(val_fraction * len(members)))) if len(members) > 1 else 0
        val_idx += members[:n_val]
        train_idx += members[n_val:]
    if not val_idx:
        raise DatasetError("Too few images to hold out a validation split: give each class at least 2 images.")
    return data.subset(np.asarray(sorted(train_idx))), data.subset(np.asarray(sorted(val_idx)))
