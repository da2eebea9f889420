"""Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package (IDX files; 60k train, 10k test; MIT).

``apt-get install dataset-fashion-mnist`` puts the files in ``/usr/share/datasets/fashion-mnist``.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from edgeml.errors import InvalidArgumentError
from edgeml_converters.datasets.errors import DatasetError, DatasetMissingError

__all__ = ["DEFAULT_DIR", "LABELS", "DatasetError", "DatasetMissingError", "load", "write_image_folder"]

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
LABELS = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _root() -> Path:
    return Path(os.environ.get("EDGEML_FASHION_MNIST", DEFAULT_DIR))


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack_from(">HBB", data, 0)
    if zero != 0 or dtype_code != 0x08:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file. Reinstall it with: sudo apt-get install "
                           "--reinstall dataset-fashion-mnist")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images uint8 (N, 28, 28), labels uint8 (N,))`` for ``split`` ``"train"`` or ``"test"``.

    Raises:
        DatasetMissingError: The Debian package is not installed.
        DatasetError: A file is not an IDX file of bytes.
        InvalidArgumentError: ``split`` is neither ``"train"`` nor ``"test"``.
    """
    prefixes = {"train": "train", "test": "t10k"}
    if split not in prefixes:
        raise InvalidArgumentError(f"split must be 'train' or 'test'. Received: {split!r}")
    prefix = prefixes[split]
    root = _root()
    images = root / f"{prefix}-images-idx3-ubyte.gz"
    labels = root / f"{prefix}-labels-idx1-ubyte.gz"
    if not images.is_file() or not labels.is_file():
        raise DatasetMissingError(
            f"Fashion-MNIST not found in {root}. Install it with: sudo apt-get install dataset-fashion-mnist "
            "(or set EDGEML_FASHION_MNIST to a folder holding the IDX .gz files)."
        )
    return _read_idx(images), _read_idx(labels)


def write_image_folder(out_dir: str | os.PathLike[str], split: str = "test", per_class: int = 30,
                       start: int = 0) -> Path:
    """Write ``per_class`` PNGs per class into ``out_dir/<class index>_<name>/``, an ordinary image folder.

    Images are taken in dataset order from index ``start``; returns ``out_dir``.
    """
    images, labels = load(split)
    out = Path(out_dir)
    counts = [0] * len(LABELS)
    for i in range(start, len(labels)):
        c = int(labels[i])
        if counts[c] >= per_class:
            continue
        folder = out / f"{c}_{LABELS[c].replace('/', '-').replace(' ', '-')}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i], "L").save(folder / f"{split}_{i:05d}.png")
        counts[c] += 1
        if min(counts) >= per_class:
            break
    return out
