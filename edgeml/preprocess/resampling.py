"""Bilinear resize of uint8 pixels: OpenCV when installed, Pillow otherwise, the same result either way.

Both backends compute bilinear interpolation with half-pixel centres and no antialiasing — OpenCV's
``INTER_LINEAR``, TensorFlow's ``tf.image.resize(method="bilinear")`` and the Keras ``Resizing`` layer, i.e. the
resize models are trained with. Pillow's ``Image.resize`` is *not* that (it antialiases when shrinking), so the
Pillow path uses an affine ``Image.transform``, which samples exactly like ``INTER_LINEAR`` (±1 LSB).

The backend is chosen once, lazily, on first use: OpenCV if ``import cv2`` works and the environment variable
``EDGEML_NO_OPENCV`` is not set (to 1/true/yes), else Pillow. :func:`set_backend` overrides it.
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np
from PIL import Image

from edgeml._optional import require
from edgeml.errors import MissingDependencyError
from edgeml.preprocess.geometry import Box, placement
from edgeml.preprocess.settings import Preprocessing

__all__ = ["BACKENDS", "backend", "cv2_module", "pil_resize", "resize", "resize_box", "set_backend", "truncates"]

BACKENDS = ("opencv", "pillow")
_state: dict[str, object] = {}


def set_backend(name: str = "auto") -> str:
    """Choose the resize backend: ``"opencv"``, ``"pillow"`` or ``"auto"`` (decide again on next use).

    Raises:
        MissingDependencyError: ``"opencv"`` was asked for but cv2 cannot be imported.
        ValueError: Unknown name.
    """
    if name not in ("auto", *BACKENDS):
        raise ValueError(f"Unknown resize backend {name!r}. Valid: auto, {', '.join(BACKENDS)}")
    _state.clear()
    if name == "opencv":
        _state["cv2"] = require("cv2")
    if name != "auto":
        _state["name"] = name
    return backend() if name == "auto" else name


def backend() -> str:
    """Return the resize backend in use, deciding it (and importing cv2) on the first call."""
    name = _state.get("name")
    if name is None:
        name = "pillow"
        if os.environ.get("EDGEML_NO_OPENCV", "").lower() not in ("1", "true", "yes"):
            try:
                _state["cv2"] = require("cv2")
                name = "opencv"
            except MissingDependencyError:
                pass
        _state["name"] = name
    return str(name)


def truncates() -> bool:
    """True when the backend truncates resampled values instead of rounding them (Pillow's ``transform``)."""
    return backend() == "pillow"


def cv2_module() -> ModuleType | None:
    """Return the cv2 module when the OpenCV backend is in use, else None."""
    return _state.get("cv2") if backend() == "opencv" else None  # type: ignore[return-value]


def pil_resize(image: Image.Image, box: Box, size_hw: tuple[int, int]) -> Image.Image:
    """Resample ``box`` of ``image`` to ``size_hw`` with half-pixel bilinear sampling (no antialiasing)."""
    left, top, right, bottom = box
    h, w = size_hw
    coeffs = ((right - left) / w, 0.0, float(left), 0.0, (bottom - top) / h, float(top))
    return image.transform((w, h), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)


def resize_box(pixels: np.ndarray, box: Box, size_hw: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """Resample ``box`` of ``pixels`` to ``size_hw`` (bilinear, half-pixel centres).

    Args:
        pixels: uint8 ``(H, W)`` or ``(H, W, C)`` with C of 1..4 (channel order is kept).
        box: ``(left, top, right, bottom)`` source region.
        size_hw: Output ``(height, width)``.
        out: Optional uint8 array of the output shape to write into (may be a view into a larger array).

    Returns:
        ``out`` when given, else a new array (or a view of ``pixels`` when the box already has the size).
    """
    left, top, right, bottom = box
    crop = pixels[top:bottom, left:right]
    h, w = size_hw
    if crop.shape[:2] == (h, w):
        if out is None:
            return crop
        out[...] = crop
        return out
    cv2 = cv2_module()
    if cv2 is not None:
        result = cv2.resize(crop, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
    else:
        channels = 1 if crop.ndim == 2 else crop.shape[2]
        mode = {1: "L", 3: "RGB", 4: "RGBX"}.get(channels)
        if mode is None:
            raise ValueError(f"Cannot resize {channels}-channel pixels; expected 1, 3 or 4.")
        # Hand Pillow whole rows when they are contiguous (no crop copy); the box picks the columns.
        rows = pixels[top:bottom]
        if rows.flags.c_contiguous:
            source, sub = rows, (left, 0, right, bottom - top)
        else:
            source, sub = np.ascontiguousarray(crop), (0, 0, crop.shape[1], crop.shape[0])
        if channels == 1:
            source = source.reshape(source.shape[0], source.shape[1])
        result = np.asarray(pil_resize(Image.fromarray(source, mode), sub, size_hw))
        result = result.reshape((h, w, *crop.shape[2:]))
    if out is not None and result is not out:
        out[...] = result.reshape(out.shape)
        return out
    return result.reshape((h, w, *crop.shape[2:]))


def resize(pixels: np.ndarray, size_hw: tuple[int, int], prep: Preprocessing = Preprocessing()) -> np.ndarray:
    """Resize ``pixels`` (uint8, (H, W) or (H, W, 3)) to ``size_hw`` as ``prep.resize`` says.

    Returns the input unchanged (no copy) when it already has the target size and nothing is cropped.
    Letterboxing pads with ``prep.pad_value``.
    """
    place = placement(pixels.shape[:2], size_hw, prep)
    if place.identity and not place.padded and place.box == (0, 0, pixels.shape[1], pixels.shape[0]):
        return pixels
    x0, y0, x1, y1 = place.rect
    if not place.padded:
        return resize_box(pixels, place.box, size_hw)
    out = np.full((*size_hw, *pixels.shape[2:]), prep.pad_value, np.uint8)
    resize_box(pixels, place.box, (y1 - y0, x1 - x0), out[y0:y1, x0:x1])
    return out
