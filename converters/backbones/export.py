"""``edgeml convert efficientnet-lite0``: a pretrained ImageNet backbone → int8 .tflite with labels inside.

The Keras port is saved as ``<name>.keras`` in a work folder and handed to the ordinary converter, so the
pretrained model gets exactly the checks and metadata of any other model. Without ``calibration_dir`` it is
calibrated on the real photos that ship in packages (:mod:`edgeml_converters.datasets.photos`).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgeml_converters import backbones
from edgeml_converters.progress import step
from edgeml_converters.tf import quietly

# The offline photo set has ~110 images: calibrate on most, keep the rest for the int8-vs-float check.
PHOTO_CALIBRATION_IMAGES = 80


def save_keras(name: str, work_dir: str | os.PathLike[str], image_size: int | None = None
               ) -> tuple[Path, Path, backbones.Pretrained]:
    """Write ``<work_dir>/<name_with_underscores>.keras`` and ``labels.txt``; return both paths and the network."""
    net = backbones.load_pretrained(name, image_size=image_size)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    model_path = work / f"{net.name.replace('-', '_')}.keras"
    net.model.save(model_path)
    labels_path = work / "labels.txt"
    labels_path.write_text("\n".join(net.labels) + "\n", encoding="utf-8")
    return model_path, labels_path, net


@quietly
def convert_pretrained(
    name: str,
    output_dir: str | os.PathLike[str],
    *,
    calibration_dir: str | os.PathLike[str] | None = None,
    quantize: str | Sequence[str] = "int8",
    max_calibration_images: int | None = None,
    progress: bool = True,
    image_size: int | None = None,
    **options: Any,
) -> Any:
    """Convert pretrained backbone ``name`` into ``output_dir/<name>_<quantize>.tflite``.

    Args:
        name: One of :data:`edgeml_converters.backbones.NAMES` (``efficientnet_lite0`` spelling works too).
        output_dir: Created if missing; also receives ``labels.txt``.
        calibration_dir: Real images for int8 calibration; default: the offline photo set.
        quantize: One mode or several (see :func:`edgeml_converters.convert.convert`); int8's uint8 input takes raw
            RGB bytes.
        max_calibration_images: Default 300 with ``calibration_dir``, else 80 of the ~110 offline photos.
        progress: Show a progress bar per long step on stderr.
        image_size: Square input side (default: the variant's own, 224 for Lite0); the centre crop keeps the
            reference ratio ``size / (size + 32)``.
        **options: Other :class:`edgeml_converters.config.ConvertConfig` fields (``io``, ``eval_dir``, ...); the
            backbone's own preprocessing and labels are not overridable.

    Like ``convert``, it prints nothing itself: TensorFlow's output is logged at DEBUG (``edgeml_converters.tf``).

    Returns:
        The :class:`edgeml_converters.convert.ConversionResult`.

    Raises:
        InvalidArgumentError: A bad setting (checked before the backbone is built).
        UnknownBackboneError, MissingDependencyError, ConversionError.
    """
    from edgeml_converters.config import DEFAULT_MAX_CALIBRATION_IMAGES, ConvertConfig
    from edgeml_converters.convert import convert
    from edgeml_converters.datasets import photos

    with tempfile.TemporaryDirectory(prefix="edgeml-pretrained-") as tmp:
        photo_dir = Path(tmp) / "photos"
        # Checked before the backbone is built: the labels and photos are written to these paths below.
        config = ConvertConfig(
            output_dir, calibration_dir=photo_dir if calibration_dir is None else calibration_dir, quantize=quantize,
            labels=Path(tmp) / "labels.txt", preprocessing=backbones.preprocessing(name, image_size),
            max_calibration_images=max_calibration_images or (
                PHOTO_CALIBRATION_IMAGES if calibration_dir is None else DEFAULT_MAX_CALIBRATION_IMAGES),
            progress=progress, **options)
        with step(f"loading {name}", enabled=progress):
            model_path, labels_path, net = save_keras(name, tmp, image_size)
            if calibration_dir is None:
                photos.write_folder(photo_dir, colour_only=True)
        if labels_path != config.labels or net.preprocessing != config.preprocessing:
            config = dataclasses.replace(config, labels=labels_path, preprocessing=net.preprocessing)
        return convert(model_path, config)
