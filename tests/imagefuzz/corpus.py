"""Seed files for the image fuzzer: real photos (scikit-image, CC0) written by Pillow in every format edgeml reads.

Small (96 x 64) so that mutants decode in milliseconds and a run covers many of them; each format in the
variants whose decoders differ (baseline/progressive JPEG, palette/16-bit/interlaced PNG, ...).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image

__all__ = ["SEEDS", "seeds"]

SIZE = (96, 64)


def _photos() -> dict[str, Image.Image]:
    from skimage import data

    return {name: Image.fromarray(getattr(data, name)()).convert("RGB").resize(SIZE, Image.Resampling.LANCZOS)
            for name in ("chelsea", "coffee", "astronaut", "rocket")}


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _save(fmt: str, prepare: Callable[[dict[str, Image.Image]], Image.Image] = lambda p: p["chelsea"],
          **options: object) -> Callable[[dict[str, Image.Image]], bytes]:
    def make(photos: dict[str, Image.Image]) -> bytes:
        buffer = io.BytesIO()
        prepare(photos).copy().save(buffer, fmt, **options)
        return buffer.getvalue()
    return make


def _frames(fmt: str, **options: object) -> Callable[[dict[str, Image.Image]], bytes]:
    def make(photos: dict[str, Image.Image]) -> bytes:
        # Fresh copies: Pillow keeps a save's options on the image objects and a later save_all trips on them.
        buffer = io.BytesIO()
        photos["chelsea"].copy().save(buffer, fmt, save_all=True,
                                      append_images=[photos["coffee"].copy(), photos["rocket"].copy()], **options)
        return buffer.getvalue()
    return make


def _transparent(photos: dict[str, Image.Image]) -> Image.Image:
    im = photos["astronaut"].quantize(32)
    im.info["transparency"] = 3
    return im


# name (with the suffix the file gets) -> how to write it
SEEDS: dict[str, Callable[[dict[str, Image.Image]], bytes]] = {
    "baseline.jpg": _save("JPEG", quality=90),
    "progressive.jpg": _save("JPEG", lambda p: p["coffee"], progressive=True, quality=80),
    "exif.jpg": _save("JPEG", lambda p: p["rocket"], exif=_exif(6)),
    "grey.jpg": _save("JPEG", lambda p: p["astronaut"].convert("L")),
    "cmyk.jpg": _save("JPEG", lambda p: p["coffee"].convert("CMYK")),
    "rgb.png": _save("PNG"),
    "palette.png": _save("PNG", _transparent),
    "grey16.png": _save("PNG", lambda p: Image.fromarray(np.asarray(p["rocket"].convert("L"), np.uint16) * 257)),
    "interlaced.png": _save("PNG", lambda p: p["coffee"].convert("RGBA"), interlace=1),
    "animated.png": _frames("PNG"),
    "animated.gif": _frames("GIF"),
    "transparent.gif": _save("GIF", _transparent),
    "lzw.tif": _save("TIFF", compression="tiff_lzw"),
    "pages.tif": _frames("TIFF", compression="tiff_deflate"),
    "lossy.webp": _save("WEBP", quality=70),
    "lossless.webp": _save("WEBP", lambda p: p["astronaut"].convert("RGBA"), lossless=True),
    "animated.webp": _frames("WEBP", quality=60),
    "rgb.bmp": _save("BMP"),
    "palette.bmp": _save("BMP", lambda p: p["rocket"].quantize(16)),
}


def seeds() -> dict[str, bytes]:
    """Return every seed file's bytes, by name; the same bytes for the same Pillow build."""
    photos = _photos()
    return {name: make(photos) for name, make in SEEDS.items()}
