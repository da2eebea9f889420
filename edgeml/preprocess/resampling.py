"""Bilinear resize of uint8 pixels: OpenCV when installed, numpy otherwise, the same result either way (±1 LSB).

Both backends compute bilinear interpolation with half-pixel centres and no antialiasing — OpenCV's
``INTER_LINEAR``, TensorFlow's ``tf.image.resize(method="bilinear")`` and the Keras ``Resizing`` layer, i.e. the
resize models are trained with. Pillow's ``Image.resize`` is *not* that (it antialiases when shrinking) and its
exact equivalent, an affine ``Image.transform``, runs a float filter per pixel (≈1 ms for 420² → 224² RGB here).
Without OpenCV, edgeml therefore resamples with numpy in two separable fixed-point passes (8-bit weights, one
rounding like OpenCV's), about twice as fast as that transform.

A backend is a :class:`Resampler` value. Each input plan captures one when it is made, so a Classifier keeps the
backend it was built with; the process default is chosen on first use (never at import): OpenCV if ``import cv2``
works and the environment variable ``EDGEML_NO_OPENCV`` is not set (to 1/true/yes), else numpy.
:func:`set_backend` changes the default for plans made afterwards.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from edgeml._optional import require
from edgeml.errors import ImageError, InvalidArgumentError, MissingDependencyError
from edgeml.preprocess.geometry import Box, placement
from edgeml.preprocess.settings import Preprocessing

__all__ = ["BACKENDS", "Resampler", "backend", "current", "cv2_module", "numpy_resize", "opencv_disabled", "resize",
           "resize_box", "set_backend"]

BACKENDS = ("opencv", "numpy")
_NO_OPENCV = "EDGEML_NO_OPENCV"  # set to 1/true/yes: resize with numpy even where OpenCV is installed


@dataclass(frozen=True)
class Resampler:
    """A resize backend: ``"opencv"`` (with its module) or ``"numpy"``. Plans capture one; see :func:`current`."""

    name: str
    cv2: ModuleType | None = field(default=None, compare=False, repr=False)

    @classmethod
    def choose(cls, name: str = "auto") -> Resampler:
        """Return the resampler called ``name``; ``"auto"``: OpenCV when importable and not disabled by
        ``EDGEML_NO_OPENCV``, else numpy.

        Raises:
            MissingDependencyError: ``"opencv"`` was asked for but cv2 cannot be imported.
            InvalidArgumentError: Unknown name.
        """
        if name not in ("auto", *BACKENDS):
            raise InvalidArgumentError(f"Unknown resize backend {name!r}. Valid: auto, {', '.join(BACKENDS)}")
        if name == "numpy":
            return cls("numpy")
        if name == "opencv":
            return cls("opencv", require("cv2"))
        if opencv_disabled():
            return cls("numpy")
        try:
            return cls("opencv", require("cv2"))
        except MissingDependencyError:
            return cls("numpy")


def opencv_disabled() -> bool:
    """True when ``EDGEML_NO_OPENCV`` is set to 1/true/yes (resize with numpy even where OpenCV is installed)."""
    return os.environ.get(_NO_OPENCV, "").lower() in ("1", "true", "yes")


_default: list[Resampler] = []  # the process default, decided on first use (never at import)


def current() -> Resampler:
    """Return the process-default resampler, deciding it (and importing cv2) on the first call."""
    if not _default:
        _default.append(Resampler.choose("auto"))
    return _default[0]


def set_backend(name: str = "auto") -> str:
    """Set the process-default resize backend: ``"opencv"``, ``"numpy"`` or ``"auto"``; return the one in use.

    Plans made before keep the resampler they were made with (a Classifier built earlier keeps its backend).

    Raises:
        MissingDependencyError: ``"opencv"`` was asked for but cv2 cannot be imported.
        InvalidArgumentError: Unknown name.
    """
    chosen = Resampler.choose(name)
    _default[:] = [chosen]
    return chosen.name


def backend() -> str:
    """Return the name of the process-default resize backend (``"opencv"`` or ``"numpy"``)."""
    return current().name


def cv2_module() -> ModuleType | None:
    """Return the cv2 module when the process-default backend is OpenCV, else None."""
    return current().cv2


@functools.lru_cache(maxsize=64)
def _taps(n_in: int, n_out: int, channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the two source indices and 8-bit weights of each output sample along one axis.

    Sample ``i`` sits at ``(i + 0.5) * n_in / n_out - 0.5`` in the source (half-pixel centres), clamped to the
    edges like ``INTER_LINEAR``. With ``channels`` > 1 the indices address interleaved values ``x * channels + c``.
    """
    x = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lo = np.floor(x).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    w_hi = np.rint((x - lo) * 256).astype(np.uint16)
    w_lo = np.uint16(256) - w_hi
    if channels > 1:
        c = np.arange(channels)
        lo, hi = (lo[:, None] * channels + c).ravel(), (hi[:, None] * channels + c).ravel()
        w_lo, w_hi = np.repeat(w_lo, channels), np.repeat(w_hi, channels)
    for a in (lo, hi, w_lo, w_hi):
        a.flags.writeable = False  # shared through the cache
    return lo, hi, w_lo, w_hi


def numpy_resize(pixels: np.ndarray, size_hw: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """Resample uint8 ``(H, W)`` or ``(H, W, C)`` pixels to ``size_hw``: half-pixel bilinear, no antialiasing.

    Two separable passes in fixed point with 8-bit weights (rows in 16 bits, then columns in 32), rounded once at
    the end; the result is within 1 of OpenCV's ``INTER_LINEAR``. ``out`` may be a view into a larger array (e.g.
    a tensor region).
    """
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    h, w = size_hw
    rows = pixels.reshape(height, width * channels) if pixels.flags.c_contiguous else pixels
    y_lo, y_hi, wy_lo, wy_hi = _taps(height, h, 1)
    x_lo, x_hi, wx_lo, wx_hi = _taps(width, w, channels)
    if rows.ndim == 3:  # a strided view (crop of a larger frame): gather rows, then flatten them
        top, bottom = rows[y_lo].reshape(h, -1), rows[y_hi].reshape(h, -1)
    else:
        top, bottom = rows[y_lo], rows[y_hi]
    v = np.multiply(top, wy_lo[:, None], dtype=np.uint16)  # at most 255 * 256: fits in 16 bits
    v += bottom * wy_hi[:, None]
    # Columns in 32 bits, so that the result is rounded once (rounding the rows to 8 bits first costs ±1 more).
    result = np.multiply(np.take(v, x_lo, axis=1), wx_lo, dtype=np.uint32)  # np.take beats fancy indexing here
    result += np.multiply(np.take(v, x_hi, axis=1), wx_hi, dtype=np.uint32)
    result += 1 << 15
    shape = (h, w) if pixels.ndim == 2 else (h, w, channels)
    if out is None:
        out = np.empty(shape, np.uint8)
    np.right_shift(result.reshape(out.shape), 16, out=out, casting="unsafe")
    return out


def resize_box(pixels: np.ndarray, box: Box, size_hw: tuple[int, int], out: np.ndarray | None = None,
               resampler: Resampler | None = None) -> np.ndarray:
    """Resample ``box`` of ``pixels`` to ``size_hw`` (bilinear, half-pixel centres).

    Args:
        pixels: uint8 ``(H, W)`` or ``(H, W, C)`` with C of 1..4 (channel order is kept).
        box: ``(left, top, right, bottom)`` source region.
        size_hw: Output ``(height, width)``.
        out: Optional uint8 array of the output shape to write into (may be a view into a larger array).
        resampler: The backend; None: :func:`current`.

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
    cv2 = (resampler or current()).cv2
    if cv2 is not None:
        result = cv2.resize(crop, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
    else:
        if crop.ndim == 3 and not 1 <= crop.shape[2] <= 4:
            raise ImageError(f"Cannot resize {crop.shape[2]}-channel pixels; expected 1, 3 or 4.")
        result = numpy_resize(crop, size_hw, out)
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
