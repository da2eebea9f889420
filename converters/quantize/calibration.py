"""Calibration data: real images from a folder, a glob or an .npz, prepared exactly as the runtime prepares them.

A *sample* is a path to an image file or a uint8 array ``(H, W)``/``(H, W, C)`` of pixels (from an .npz).
"""

from __future__ import annotations

import glob
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeml import preprocess
from edgeml.errors import ConversionError
from edgeml.image.load import IMAGE_SUFFIXES, as_array, find_images
from edgeml.preprocess import Preprocessing
from edgeml.preprocess.quantize import per_channel
from edgeml_converters.progress import bar

__all__ = ["Sample", "is_greyscale", "load_samples", "normalize", "pick_images", "pixels_for", "representative_dataset"]

Sample = Path | np.ndarray
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def load_samples(
    source: str | os.PathLike[str], limit: int, channels: int, seed: int = 0, *, greyscale_ok: bool = False
) -> list[Sample]:
    """Return up to ``limit`` samples from ``source``, reproducibly, checked against the model's channel count.

    Args:
        source: A folder (optionally one sub-folder per class), a glob such as ``"photos/**/*.jpg"``, or an
            ``.npz``/``.npy`` holding uint8 images ``(N, H, W)`` or ``(N, H, W, C)`` (key ``images`` or ``x``,
            else its only array).
        limit: How many samples at most.
        channels: The model input's channel count (1 or 3).
        seed: Sampling seed.
        greyscale_ok: Accept greyscale image files for a colour model (they are converted to RGB as the runtime
            does): right when the model was trained on such images, e.g. by ``edgeml train`` on a grey dataset.

    Raises:
        ConversionError: No images found, unreadable array file, or images of the wrong channel count.
    """
    text = os.fspath(source)
    if text.endswith((".npz", ".npy")):
        return _array_samples(Path(text), limit, channels, seed)
    if any(ch in text for ch in "*?[") and not Path(text).exists():
        paths = sorted(Path(p) for p in glob.glob(text, recursive=True)
                       if Path(p).suffix.lower() in IMAGE_SUFFIXES and Path(p).is_file())
        picked = _sample_evenly(paths, limit, seed, text)
    else:
        picked = pick_images(text, limit, seed)
    if not greyscale_ok:
        _check_channels(picked, channels, text)
    return list(picked)


def pick_images(folder: str | os.PathLike[str], limit: int, seed: int = 0) -> list[Path]:
    """Return up to ``limit`` images from ``folder``, sampled evenly across class sub-folders, reproducibly.

    Raises:
        ConversionError: The folder holds no images.
    """
    return _sample_evenly(find_images(folder), limit, seed, os.fspath(folder))


def _sample_evenly(paths: list[Path], limit: int, seed: int, where: str) -> list[Path]:
    if not paths:
        raise ConversionError(
            f"No images found in {where!r}. Calibration needs 100-500 real images like the ones the model "
            "will see (JPEG/PNG: a folder, optionally one sub-folder per class; a glob; or an .npz of uint8 images)."
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


def _check_channels(paths: Sequence[Path], channels: int, where: str) -> None:
    if channels != 3:
        return  # a greyscale model takes colour images too: the runtime converts frames to L
    grey = [p for p in paths if is_greyscale(p)]
    if grey:
        example = grey[0]
        with Image.open(example) as im:
            mode = im.mode
        raise ConversionError(
            f"{len(grey)} of {len(paths)} calibration images in {where!r} have 1 channel (e.g. {example.name!r}, "
            f"mode {mode}) but the model takes 3 (RGB). Calibrate on colour images like the camera's, convert "
            "a model with a (H, W, 1) input, or pass --greyscale-calibration-ok if it was trained on greyscale "
            "images made RGB."
        )


def is_greyscale(path: Path) -> bool:
    """Return True when the image file holds one channel (grey modes, or a palette of greys only)."""
    with Image.open(path) as im:
        return im.mode in _GREY_MODES or (im.mode == "P" and not _colour_palette(im))


def _colour_palette(im: Image.Image) -> bool:
    palette = im.getpalette() or []
    rgb = np.asarray(palette[: len(palette) // 3 * 3]).reshape(-1, 3)
    return bool(rgb.size) and bool(np.any(rgb.max(axis=1) != rgb.min(axis=1)))


def _array_samples(path: Path, limit: int, channels: int, seed: int) -> list[Sample]:
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            keys = [k for k in ("images", "x") if k in data.files] or data.files
            if len(keys) != 1 and keys == data.files:
                raise ConversionError(f"{str(path)!r} holds arrays {data.files}; name the images array "
                                      "'images' (np.savez(path, images=uint8 (N, H, W, C))).")
            array = data[keys[0]]
        else:
            array = data
    except (OSError, ValueError) as exc:
        raise ConversionError(f"Cannot read calibration array {str(path)!r}: {exc}. Pass an .npz/.npy "
                              "of uint8 images (N, H, W, C).") from exc
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.dtype != np.uint8 or len(array) == 0:
        raise ConversionError(f"Calibration array in {str(path)!r} must be non-empty uint8 (N, H, W, C) pixels. "
                              f"Received: dtype={array.dtype}, shape={array.shape}.")
    if array.shape[-1] != channels:
        raise ConversionError(
            f"Calibration images in {str(path)!r} have {array.shape[-1]} channel(s) (shape {array.shape}) but the "
            f"model takes {channels}. Save images of the model's input kind ((N, H, W, {channels}) uint8)."
        )
    order = np.random.default_rng(seed).permutation(len(array))[:limit]
    return [array[i] for i in sorted(order)]


def pixels_for(sample: Sample, size_hwc: tuple[int, int, int], prep: Preprocessing,
               color_order: str = "rgb") -> np.ndarray:
    """Return uint8 ``(H, W, C)`` pixels of ``sample`` resized for the model, as the runtime's Classifier does.

    ``color_order="bgr"`` reverses the channels, for a model trained on OpenCV-ordered pixels.
    """
    h, w, c = size_hwc
    source = sample[..., 0] if isinstance(sample, np.ndarray) and sample.shape[-1] == 1 else sample
    pixels = as_array(source, "L" if c == 1 else "RGB")
    out = preprocess.resize(pixels, (h, w), prep).reshape(h, w, c)
    return in_color_order(out, color_order)


def in_color_order(pixels: np.ndarray, color_order: str) -> np.ndarray:
    """Return RGB ``pixels`` ``(..., C)`` in the model's channel order: reversed (a view) for 3-channel ``"bgr"``."""
    return pixels[..., ::-1] if color_order == "bgr" and pixels.shape[-1] == 3 else pixels


def runtime_outputs(clf: Any, pixels: Iterable[np.ndarray]) -> np.ndarray:
    """Return the raw output ``(N, classes)`` of each already-resized image (``pixels_for`` output) through ``clf``.

    The pixels go in as the input tensor: ``clf.scores`` would resize them again and, with center-crop, crop a
    second time, scoring the converted model on other images than the float model saw.

    Args:
        clf: An :class:`edgeml.Classifier`.
        pixels: uint8 ``(H, W, C)`` images at the model's input size.
    """
    return np.stack([clf.invoke(preprocess.to_input_tensor(px, clf.input, clf.preprocessing)).reshape(-1)
                     for px in pixels])


def runtime_top1(clf: Any, pixels: Iterable[np.ndarray]) -> np.ndarray:
    """Return the top-1 class of each already-resized image through ``clf``'s model (see :func:`runtime_outputs`)."""
    return np.argmax(runtime_outputs(clf, pixels), axis=-1).astype(np.int64)


def normalize(pixels: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """Return the model's float input for uint8 pixels: ``(pixels - mean) / std``, float32.

    Raises:
        ConversionError: ``prep.mean``/``prep.std`` have neither 1 nor C values (C: channels of ``pixels``).
    """
    c = pixels.shape[-1]
    try:
        mean, std = per_channel(prep.mean, c).astype(np.float32), per_channel(prep.std, c).astype(np.float32)
    except ValueError as exc:
        raise ConversionError(
            f"--mean/--std need 1 or {c} values for this {c}-channel model. Received: mean={list(prep.mean)}, "
            f"std={list(prep.std)}. Pass one value for all channels or one per channel."
        ) from exc
    return (pixels.astype(np.float32) - mean) / std


def representative_dataset(
    samples: Sequence[Sample], size_hwc: tuple[int, int, int], prep: Preprocessing, progress: bool = True,
    color_order: str = "rgb", desc: str = "calibrating",
) -> Iterator[list[np.ndarray]]:
    """Yield ``[float32 (1, H, W, C)]`` samples for ``TFLiteConverter.representative_dataset``.

    The first sample gets one pixel at 0 and one at 255 so the input range is exactly the pixel range: the
    converter then picks input scale ``std⁻¹``-equivalent and the runtime can copy camera bytes straight in.
    With ``progress``, a bar ``desc`` counts the samples as the converter takes them.
    """
    for n, sample in enumerate(bar(samples, desc, enabled=progress, total=len(samples))):
        pixels = pixels_for(sample, size_hwc, prep, color_order)
        if n == 0:
            pixels = pixels.copy()
            pixels.reshape(-1, size_hwc[2])[0] = 0
            pixels.reshape(-1, size_hwc[2])[-1] = 255
        yield [normalize(pixels, prep)[None]]
