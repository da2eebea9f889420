"""Any PIL image mode → 8-bit ``RGB`` or ``L``, as a viewer would show it.

Pillow converts most modes directly; the ones it cannot, or converts in a way a viewer would not, are handled
here: transparency is composited onto white (also for premultiplied ``RGBa``/``La``, which Pillow cannot turn
into ``L``), 16- and 32-bit grey is scaled by its range instead of clipped, and modes Pillow converts only to RGB
(``LAB``, ``HSV``, ...) go through RGB on their way to grey.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

from edgeml.errors import ImageError

__all__ = ["Mode", "convert"]

Mode = Literal["RGB", "L"]
_TRANSPARENT = ("RGBA", "LA", "PA")
_PREMULTIPLIED = {"RGBa": "RGB", "La": "L"}


def convert(im: Image.Image, mode: Mode) -> Image.Image:
    """Return ``im`` in ``mode`` (``im`` itself when it already is).

    Raises:
        ImageError: Pillow has no conversion from ``im.mode`` (not even through RGB).
    """
    if im.mode == mode:
        return im
    if im.mode in _PREMULTIPLIED:
        # Colour is already multiplied by alpha: over white it is colour + (255 - alpha).
        arr = np.asarray(im)
        over_white = np.minimum(arr[..., :-1].astype(np.uint16) + (255 - arr[..., -1:]), 255).astype(np.uint8)
        target = _PREMULTIPLIED[im.mode]
        im = Image.fromarray(over_white[..., 0] if target == "L" else over_white, target)
    elif im.mode in _TRANSPARENT or (im.mode == "P" and "transparency" in im.info):
        # Composite transparent pixels onto white, as a viewer shows them, instead of exposing whatever RGB
        # values happen to sit under alpha 0.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    elif im.mode in ("I", "F") or im.mode.startswith("I;16"):
        im = Image.fromarray(_scale_to_bytes(im), "L")
    if im.mode == mode:
        return im
    try:
        return im.convert(mode)
    except ValueError:
        pass
    try:  # e.g. LAB → L: Pillow converts LAB only to RGB
        return (_lab_to_rgb(im) if im.mode == "LAB" else im.convert("RGB")).convert(mode)
    except ValueError as exc:
        raise ImageError(f"PIL images in mode {im.mode!r} cannot be converted to {mode} ({exc}). Convert it to "
                         "RGB first.") from exc


def _lab_to_rgb(im: Image.Image) -> Image.Image:
    """CIE LAB → sRGB. Pillow 9.3+ converts it itself; 9.1 and 9.2 only through LittleCMS (``PIL.ImageCms``, in
    Pillow's wheels), which gives the same values."""
    try:
        return im.convert("RGB")
    except ValueError:
        from PIL import ImageCms

        lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
        rgb = ImageCms.applyTransform(im, ImageCms.buildTransformFromOpenProfiles(lab, srgb, "LAB", "RGB"))
        assert rgb is not None  # None only with inPlace=True
        return rgb


def _scale_to_bytes(im: Image.Image) -> np.ndarray:
    """16/32-bit grey → uint8 by the range of its type (16-bit: 0..65535; 32-bit and float: 0..max, ≥ 1)."""
    arr = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    top = 65535.0 if im.mode.startswith("I;16") else max(float(arr.max(initial=0.0)), 1.0)
    return np.clip(arr * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
