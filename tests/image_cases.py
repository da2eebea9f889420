"""Every kind of image input a user can hand edgeml, made from real photos with Pillow, and what must happen.

One table for three tests: ``tests/unit/image/test_image_cases.py`` runs each case through the preprocessing in every
resize mode with both resize backends, ``tests/integration/test_image_cases.py`` through a real Classifier, and a
unit test checks that every ``row`` is in the images table of docs/errors.md. Only the deliberately corrupt files
are byte-level edits; everything else is written by Pillow from scikit-image's photos.

``expect`` is ``"classified"``, or ``"ImageError: <regex>"`` for the message the user must get. ``reference``, when
given, returns the RGB pixels the input must decode to (a turned copy for EXIF, the first frame for animations).
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from edgeml.frame import Frame

__all__ = ["CASES", "Case", "blank_png", "lab", "turned"]

DATA = Path(__file__).resolve().parent / "data"

Maker = Callable[[Path, dict[str, np.ndarray]], Any]


@dataclass(frozen=True)
class Case:
    name: str
    row: str  # the docs/errors.md row this case is documented in
    make: Maker
    expect: str = "classified"
    reference: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None
    max_pixels: int | None = None  # run with this edgeml pixel cap instead of the default
    said: str | None = None  # a warning that must be logged (once)

    @property
    def error(self) -> str | None:
        return self.expect.removeprefix("ImageError: ") if self.expect.startswith("ImageError") else None


def turned(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """How a viewer shows stored ``pixels`` under EXIF ``orientation`` (numpy, independent of Pillow)."""
    return {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
            5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
            7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}[orientation](pixels)


def _save(name: str, image: Callable[[dict[str, np.ndarray]], Image.Image], **options: Any) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> str:
        path = tmp / name
        image(photos).save(path, **options)
        return str(path)
    return make


@functools.cache
def blank_png(width: int, height: int) -> bytes:
    """A 1-bit blank PNG of the given size, written by Pillow once per process (a 400 MP one takes ~2 s)."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def _blank(name: str, width: int, height: int) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> str:
        (tmp / name).write_bytes(blank_png(width, height))
        return str(tmp / name)
    return make


def _cat(photos: dict[str, np.ndarray]) -> Image.Image:
    return Image.fromarray(photos["chelsea"])


def _coffee(photos: dict[str, np.ndarray]) -> Image.Image:
    return Image.fromarray(photos["coffee"][:300, :451])


def _thin(h: int, w: int) -> Callable[[dict[str, np.ndarray]], Image.Image]:
    return lambda photos: Image.fromarray(np.ascontiguousarray(photos["astronaut"][100:100 + h, 200:200 + w]))


def _with_exif(orientation: int, name: str, **options: Any) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> str:
        im = _cat(photos)
        exif = im.getexif()
        exif[0x0112] = orientation
        im.save(tmp / name, exif=exif, **options)
        return str(tmp / name)
    return make


def _animated(name: str, **options: Any) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> str:
        _cat(photos).save(tmp / name, save_all=True, append_images=[_coffee(photos)], **options)
        return str(tmp / name)
    return make


def _copied(file: Path) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> str:
        (tmp / file.name).write_bytes(file.read_bytes())
        return str(tmp / file.name)
    return make


def lab(im: Image.Image) -> Image.Image:
    """``im`` (RGB) as LAB. Pillow converts RGB to LAB itself since 9.3; 9.1 and 9.2 only through LittleCMS
    (ImageCms), which gives the same values."""
    try:
        return im.convert("LAB")
    except ValueError:
        from PIL import ImageCms

        srgb, to_lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
        return ImageCms.applyTransform(im, ImageCms.buildTransformFromOpenProfiles(srgb, to_lab, "RGB", "LAB"))


def _cut(name: str, keep: float) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> str:
        buffer = io.BytesIO()
        _cat(photos).save(buffer, Image.registered_extensions()[Path(name).suffix])
        data = buffer.getvalue()
        (tmp / name).write_bytes(data[: int(len(data) * keep)])
        return str(tmp / name)
    return make


def _bytes(name: str, data: bytes) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> str:
        (tmp / name).write_bytes(data)
        return str(tmp / name)
    return make


def _fifo(tmp: Path, photos: dict[str, np.ndarray]) -> str:
    path = tmp / "camera.jpg"
    if not path.exists():
        os.mkfifo(path)
    return str(path)


def _transparent_palette(photos: dict[str, np.ndarray]) -> Image.Image:
    im = _cat(photos).quantize(64)
    im.info["transparency"] = 0
    return im


def _pil_mode(mode: str) -> Maker:
    def make(tmp: Path, photos: dict[str, np.ndarray]) -> Image.Image:
        im = _cat(photos)
        if mode.startswith("I;16"):
            return Image.fromarray(photos["chelsea"][..., 0].astype(np.uint16) * 257).convert(mode)
        if mode == "La":
            return Image.frombytes("La", im.size, im.convert("LA").tobytes())
        if mode in ("RGBa", "PA"):
            return im.convert({"RGBa": "RGBA", "PA": "P"}[mode]).convert(mode)
        return lab(im) if mode == "LAB" else im.convert(mode)
    return make


def _opened(maker: Maker) -> Maker:
    """The same file, opened by the caller with Image.open (lazily: not decoded until edgeml reads it)."""
    return lambda tmp, photos: Image.open(maker(tmp, photos))


def _first(photos: dict[str, np.ndarray]) -> np.ndarray:
    return photos["chelsea"]


ERR = "ImageError: "
CASES: list[Case] = [
    # -- files ------------------------------------------------------------------------------------------------
    Case("jpeg", "JPEG (baseline, progressive, grey, CMYK)", _save("a.jpg", _cat, quality=92)),
    Case("jpeg-progressive", "JPEG (baseline, progressive, grey, CMYK)", _save("a.jpg", _cat, progressive=True)),
    Case("jpeg-grey", "JPEG (baseline, progressive, grey, CMYK)", _save("a.jpg", lambda p: _cat(p).convert("L"))),
    Case("jpeg-cmyk", "JPEG (baseline, progressive, grey, CMYK)", _save("a.jpg", lambda p: _cat(p).convert("CMYK"))),
    *[Case(f"jpeg-exif-{o}", "EXIF orientation 2-8 (file or PIL image)", _with_exif(o, "a.jpg", quality=95),
           reference=lambda p, o=o: turned(p["chelsea"], o)) for o in (3, 6, 8)],
    *[Case(f"png-exif-{o}", "EXIF orientation 2-8 (file or PIL image)", _with_exif(o, "a.png"),
           reference=lambda p, o=o: turned(p["chelsea"], o)) for o in range(1, 9)],
    # Pillow writes MPO only since 9.3 (we declare 9.1+), so the file was written once (Pillow 13, the same two photos
    # as _animated) and every Pillow reads it.
    Case("mpo", "MPO (a phone's JPEG with a second image)", _copied(DATA / "chelsea_coffee.mpo"), reference=_first),
    Case("png", "PNG (RGB, grey, 16-bit, palette + transparency, LA, RGBA)", _save("a.png", _cat),
         reference=_first),
    Case("png-16bit", "PNG (RGB, grey, 16-bit, palette + transparency, LA, RGBA)",
         _save("a.png", lambda p: Image.fromarray(p["chelsea"][..., 1].astype(np.uint16) * 257))),
    Case("png-palette-transparent", "PNG (RGB, grey, 16-bit, palette + transparency, LA, RGBA)",
         _save("a.png", _transparent_palette)),
    Case("png-la", "PNG (RGB, grey, 16-bit, palette + transparency, LA, RGBA)",
         _save("a.png", lambda p: _cat(p).convert("LA"))),
    Case("png-rgba", "PNG (RGB, grey, 16-bit, palette + transparency, LA, RGBA)",
         _save("a.png", lambda p: _cat(p).convert("RGBA"))),
    *[Case(f"png-{h}x{w}", "1×1, 1×2, 1×8, 1000×1 images (every resize mode)", _save("thin.png", _thin(h, w)))
      for h, w in ((1, 1), (1, 2), (2, 1), (1, 8), (8, 1), (1000, 1), (1, 451))],
    Case("apng", "Animated GIF / APNG / WebP, multi-page TIFF", _animated("a.png"), reference=_first,
         said="several frames"),
    Case("gif-animated", "Animated GIF / APNG / WebP, multi-page TIFF", _animated("a.gif"), said="several frames"),
    Case("gif-transparent", "GIF, BMP, PPM/PGM", _save("a.gif", _transparent_palette)),
    Case("tiff-multipage", "Animated GIF / APNG / WebP, multi-page TIFF", _animated("a.tif"), reference=_first,
         said="several frames"),
    Case("webp-animated", "Animated GIF / APNG / WebP, multi-page TIFF", _animated("a.webp", lossless=True),
         reference=_first, said="several frames"),
    Case("tiff-lzw", "TIFF (LZW, LAB, 16-bit)", _save("a.tif", _cat, compression="tiff_lzw"), reference=_first),
    Case("tiff-lab", "TIFF (LZW, LAB, 16-bit)", _save("a.tif", lambda p: lab(_cat(p)))),
    Case("tiff-16bit", "TIFF (LZW, LAB, 16-bit)",
         _save("a.tif", lambda p: Image.fromarray(p["chelsea"][..., 2].astype(np.uint16) * 257))),
    Case("webp", "WebP (lossy, lossless + alpha)", _save("a.webp", _cat, quality=80)),
    Case("webp-alpha", "WebP (lossy, lossless + alpha)", _save("a.webp", lambda p: _cat(p).convert("RGBA"),
                                                              lossless=True)),
    Case("bmp", "GIF, BMP, PPM/PGM", _save("a.bmp", _cat), reference=_first),
    Case("bmp-palette", "GIF, BMP, PPM/PGM", _save("a.bmp", lambda p: _cat(p).quantize(256))),
    Case("ppm", "GIF, BMP, PPM/PGM", _save("a.ppm", _cat), reference=_first),
    Case("pgm", "GIF, BMP, PPM/PGM", _save("a.pgm", lambda p: _cat(p).convert("L"))),
    Case("jpeg-over-cap", "A JPEG above the pixel cap (when 1/2, 1/4 or 1/8 fits)", _save("a.jpg", _cat),
         max_pixels=40_000, said="decoded at 1/2 scale"),
    Case("jpeg-far-over-cap", "Any other file above the pixel cap (default 40 MP)", _save("a.jpg", _cat),
         ERR + r"is 451x300 \(0.135 megapixels\), above edgeml's cap of 0.001 megapixels; refused before decoding",
         max_pixels=1_000),
    Case("png-144mp", "Any other file above the pixel cap (default 40 MP)",
         _blank("big.png", 12000, 12000),
         ERR + r"is 12000x12000 \(144 megapixels\), above edgeml's cap of 40 megapixels; refused before decoding"),
    Case("png-bomb", "Decompression bomb (past Pillow's limit)", _blank("bomb.png", 20000, 20000),
         ERR + r"is 400 megapixels, above Pillow's decompression-bomb limit of 179 megapixels; refused"),
    Case("jpeg-truncated", "Truncated JPEG / PNG / GIF", _cut("cut.jpg", 0.5),
         ERR + r"could not be decoded \(OSError: .*\); the file is corrupt or truncated"),
    Case("png-truncated", "Truncated JPEG / PNG / GIF", _cut("cut.png", 0.5),
         ERR + r"could not be decoded \(.*\); the file is corrupt or truncated"),
    Case("gif-truncated", "Truncated JPEG / PNG / GIF", _cut("cut.gif", 0.3), ERR + r"could not be decoded"),
    Case("zero-bytes", "Zero-byte file", _bytes("empty.jpg", b""), ERR + r"is empty \(0 bytes\), not an image"),
    Case("text-as-jpeg", "Not an image (text, EPS, PDF, ...)", _bytes("notes.jpg", b"shopping list\n"),
         ERR + r"is not an image edgeml reads \(JPEG, PNG, GIF, BMP, TIFF, WEBP, PPM\)"),
    Case("eps", "Not an image (text, EPS, PDF, ...)",
         _bytes("a.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"),
         ERR + r"is not an image edgeml reads"),  # never handed to Ghostscript
    Case("directory", "A directory, a pipe or device, a missing path", lambda tmp, photos: str(tmp),
         ERR + r"is a directory, not an image file"),
    Case("fifo", "A directory, a pipe or device, a missing path", _fifo,
         ERR + r"is not a regular file \(a pipe, socket or device\)"),  # opening it used to block forever
    Case("device", "A directory, a pipe or device, a missing path", lambda tmp, photos: "/dev/zero",
         ERR + r"'/dev/zero' is not a regular file"),
    Case("missing", "A directory, a pipe or device, a missing path", lambda tmp, photos: str(tmp / "nope.jpg"),
         ERR + r"Image file not found"),
    # -- PIL images -------------------------------------------------------------------------------------------
    *[Case(f"pil-{mode}", "PIL.Image of any mode (1, L, LA, La, P, PA, RGB, RGBA, RGBa, RGBX, CMYK, YCbCr, LAB, "
                          "HSV, I, I;16, F)", _pil_mode(mode))
      for mode in ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV",
                   "I", "I;16", "I;16B", "F")],
    *[Case(f"pil-exif-{o}", "EXIF orientation 2-8 (file or PIL image)", _opened(_with_exif(o, "a.png")),
           reference=lambda p, o=o: turned(p["chelsea"], o)) for o in (2, 5, 6, 7)],
    Case("pil-truncated", "PIL.Image opened from a truncated or too large file", _opened(_cut("cut.jpg", 0.5)),
         ERR + r"The PIL image \(JPEG, RGB, 451x300\) could not be decoded \(OSError: .*truncated"),
    Case("pil-over-cap", "PIL.Image opened from a truncated or too large file", _opened(_save("a.png", _cat)),
         ERR + r"The PIL image \(PNG, RGB, 451x300\) is 451x300 .* above edgeml's cap", max_pixels=1_000),
    # -- arrays -----------------------------------------------------------------------------------------------
    Case("array-rgb", "uint8 array (H, W, 3), (H, W), (H, W, 1), (H, W, 4)", lambda t, p: p["chelsea"],
         reference=_first),
    Case("array-grey", "uint8 array (H, W, 3), (H, W), (H, W, 1), (H, W, 4)", lambda t, p: p["chelsea"][..., 1]),
    Case("array-grey1", "uint8 array (H, W, 3), (H, W), (H, W, 1), (H, W, 4)", lambda t, p: p["chelsea"][..., 1:2]),
    Case("array-rgba", "uint8 array (H, W, 3), (H, W), (H, W, 1), (H, W, 4)",
         lambda t, p: np.dstack([p["chelsea"], np.full(p["chelsea"].shape[:2], 255, np.uint8)]), reference=_first),
    *[Case(f"array-{h}x{w}", "1×1, 1×2, 1×8, 1000×1 images (every resize mode)",
           lambda t, p, h=h, w=w: np.ascontiguousarray(np.resize(p["coffee"], (h, w, 3))))
      for h, w in ((1, 1), (1, 2), (1, 8), (8, 1), (1000, 1))],
    *[Case(f"view-{name}", "Non-contiguous views (strided, flipped, transposed, broadcast, read-only)", make)
      for name, make in (("strided", lambda t, p: p["chelsea"][::2, ::3]),
                         ("flipped", lambda t, p: p["chelsea"][::-1, ::-1]),
                         ("bgr-view", lambda t, p: p["chelsea"][..., ::-1]),
                         ("transposed", lambda t, p: p["chelsea"].transpose(1, 0, 2)),
                         ("fortran", lambda t, p: np.asfortranarray(p["chelsea"])),
                         ("broadcast", lambda t, p: np.broadcast_to(p["chelsea"][:1, :1], (40, 60, 3))),
                         ("column", lambda t, p: p["chelsea"][:, 10:11]),
                         ("rgba-strided", lambda t, p: np.dstack([p["chelsea"]] * 2)[::3, ::2, 1:5]),
                         ("grey-strided", lambda t, p: p["chelsea"][::2, ::2, 0]))],
    *[Case(f"array-{name}", "float, int or bool arrays", make,
           ERR + r"Image arrays must be uint8 \(0..255\). Received: dtype=" + name)
      for name, make in (("float32", lambda t, p: p["chelsea"] / np.float32(255)),
                         ("int64", lambda t, p: p["chelsea"].astype(np.int64)),
                         ("bool", lambda t, p: p["chelsea"] > 100))],
    *[Case(f"array-{name}", "0-size arrays", make, ERR + r"The image is empty")
      for name, make in (("0x5", lambda t, p: np.zeros((0, 5, 3), np.uint8)),
                         ("5x0", lambda t, p: np.zeros((5, 0), np.uint8)))],
    *[Case(f"array-{name}", "Arrays of another shape ((H, W, 2), (H, W, 5), 1-D, 4-D)", make,
           ERR + r"Image arrays must be \(H, W\), \(H, W, 1\), \(H, W, 3\) RGB or \(H, W, 4\) RGBA")
      for name, make in (("2ch", lambda t, p: p["chelsea"][..., :2]),
                         ("5ch", lambda t, p: np.dstack([p["chelsea"], p["chelsea"][..., :2]])),
                         ("1d", lambda t, p: p["chelsea"].ravel()),
                         ("4d", lambda t, p: p["chelsea"][None]))],
    Case("not-an-image", "Anything else (None, bytes, a list)", lambda t, p: b"\xff\xd8\xff",
         ERR + r"Expected a Frame, file path, PIL.Image or uint8 numpy array. Received: bytes"),
    # -- frames -----------------------------------------------------------------------------------------------
    *[Case(f"frame-{fmt}", "Frame in every format (RGB, BGR, RGBX, BGRX, GRAY, I420, NV12), 1-pixel thin too",
           make) for fmt, make in (
        ("RGB", lambda t, p: Frame(p["chelsea"], "RGB")),
        ("BGR-padded", lambda t, p: Frame(np.pad(p["chelsea"][..., ::-1], ((0, 0), (0, 13), (0, 0))), "BGR",
                                          width=451)),
        ("RGBX", lambda t, p: Frame(np.dstack([p["chelsea"], p["chelsea"][..., :1]]), "RGBX")),
        ("BGRX-1x8", lambda t, p: Frame(np.zeros((1, 8, 4), np.uint8), "BGRX")),
        ("GRAY-1000x1", lambda t, p: Frame(np.resize(p["chelsea"][..., 0], (1000, 1)), "GRAY")),
        ("RGB-strided", lambda t, p: Frame(p["chelsea"][::3, ::2], "RGB")),
        ("I420", lambda t, p: Frame(np.resize(p["coffee"][..., 0], (450, 400)), "I420")),
        ("I420-2x2", lambda t, p: Frame(np.full((3, 2), 128, np.uint8), "I420")),
        ("NV12-2x1000", lambda t, p: Frame(np.full((3, 1000), 128, np.uint8), "NV12")))],
    Case("frame-I420-strided", "Frame that cannot be read (strided YUV, odd YUV size, float pixels)",
         lambda t, p: Frame(np.zeros((300, 800), np.uint8)[:, ::2], "I420"),
         ERR + r"A I420 frame must be one C-contiguous buffer"),
    Case("frame-I420-odd", "Frame that cannot be read (strided YUV, odd YUV size, float pixels)",
         lambda t, p: Frame(np.zeros((3, 3), np.uint8), "I420", width=3, height=2),
         ERR + r"A I420 frame must be uint8 \(H \* 3 // 2, W\) with even H and W"),
    Case("frame-float", "Frame that cannot be read (strided YUV, odd YUV size, float pixels)",
         lambda t, p: Frame(p["chelsea"].astype(np.float32), "RGB"), ERR + r"Frame pixels must be a uint8 ndarray"),
]
