"""Calibration data: real images from a folder, prepared exactly as the runtime will prepare them."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgeml import preprocess
from edgeml.errors import ConversionError
from edgeml.image import as_array, find_images
from edgeml.preprocess import Preprocessing


def pick_images(folder: str | os.PathLike[str], limit: int, seed: int = 0) -> list[Path]:
    """Return up to ``limit`` images from ``folder``, sampled evenly across class sub-folders, reproducibly.

    Raises:
        ConversionError: The folder holds no images.
    """
    paths = find_images(folder)
    if not paths:
        raise ConversionError(
            f"No images found in {str(folder)!r}. Calibration needs 100-500 real images like the ones the model "
            "will see (JPEG/PNG, optionally one sub-folder per class)."
        )
    rng = random.Random(seed)
    by_class: dict[Path, list[Path]] = {}
    for p in paths:
        by_class.setdefault(p.parent, []).append(p)
    for group in by_class.values():
        rng.shuffle(group)
    # Round-robin over classes so a class-sorted folder does not calibrate on the first classes only.
    picked: list[Path] = []
    groups = list(by_class.values())
    while len(picked) < limit and any(groups):
        for group in groups:
            if group and len(picked) < limit:
                picked.append(group.pop())
    return picked


def pixels_for(path: Path, size_hwc: tuple[int, int, int], prep: Preprocessing) -> np.ndarray:
    """Return uint8 pixels of ``path`` resized for the model, as the runtime's Classifier.preprocess does."""
    h, w, c = size_hwc
    pixels = as_array(path, "L" if c == 1 else "RGB")
    return preprocess.resize(pixels, (h, w), prep).reshape(h, w, c)


def normalize(pixels: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """Return the model's float input for uint8 pixels: ``(pixels - mean) / std``, float32."""
    c = pixels.shape[-1]
    mean = np.resize(np.asarray(prep.mean, np.float32), c)
    std = np.resize(np.asarray(prep.std, np.float32), c)
    return (pixels.astype(np.float32) - mean) / std


def representative_dataset(
    paths: list[Path], size_hwc: tuple[int, int, int], prep: Preprocessing, progress: bool = True
) -> Iterator[list[np.ndarray]]:
    """Yield ``[float32 (1, H, W, C)]`` samples for ``TFLiteConverter.representative_dataset``.

    The first sample gets one pixel at 0 and one at 255 so the input range is exactly the pixel range: the
    converter then picks input scale ``std⁻¹``-equivalent and the runtime can copy camera bytes straight in.
    """
    iterator: Iterator[Path] = iter(paths)
    if progress:
        from edgeml._optional import require

        tqdm = require("tqdm").tqdm
        iterator = iter(tqdm(paths, desc="calibrating", unit="img", leave=False))
    for n, path in enumerate(iterator):
        pixels = pixels_for(path, size_hwc, prep)
        if n == 0:
            pixels = pixels.copy()
            pixels.reshape(-1, size_hwc[2])[0] = 0
            pixels.reshape(-1, size_hwc[2])[-1] = 255
        yield [normalize(pixels, prep)[None]]
