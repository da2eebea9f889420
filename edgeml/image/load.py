"""Turn what a user hands us (a path, a PIL image, a numpy array) into a uint8 pixel array.

Everything downstream works on ``uint8, (H, W, 3), RGB`` (or ``(H, W)`` grey for one-channel models), so image
modes, EXIF rotation and bad input are dealt with here, once, with errors that say what was received. Whatever a
file holds, reading it ends in pixels or an :class:`~edgeml.errors.ImageError`, never another exception:

- only the formats in :data:`FORMATS` are opened (no Ghostscript for EPS, no exotic decoders);
- the size is checked from the header before anything is decoded, against :func:`max_pixels` (40 megapixels
  unless raised with :func:`set_max_pixels` or ``EDGEML_MAX_PIXELS``); a larger JPEG is decoded at 1/2, 1/4 or
  1/8 scale by the JPEG decoder itself (``draft``) when that fits, anything else larger is refused;
- animations and multi-page files give their first frame (said once per process);
- EXIF orientation is applied to files and to PIL images alike, as a viewer shows them.
"""

from __future__ import annotations

import logging
import math
import os
import re
import stat
import threading
import warnings
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from edgeml.errors import ImageError, InvalidArgumentError
from edgeml.image.modes import Mode, convert

__all__ = ["DEFAULT_MAX_PIXELS", "FORMATS", "IMAGE_SUFFIXES", "ImageInput", "as_array", "find_images", "load_image",
           "max_pixels", "set_max_pixels"]

log = logging.getLogger(__name__)

ImageInput = Union[str, "os.PathLike[str]", Image.Image, np.ndarray]
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM")  # Pillow's names; JPEG includes MPO (phones)
DEFAULT_MAX_PIXELS = 40_000_000
_ENV = "EDGEML_MAX_PIXELS"
_ORIENTATION = 0x0112
_limit: list[int | None] = []  # set_max_pixels(); empty: the environment variable, else the default
_said: set[str] = set()
# Pillow's decompression-bomb warning is silenced while we decode (our own cap decides); warnings filters are
# process-global, so edgeml's decodes take turns instead of racing on them.
_decode_lock = threading.Lock()


def max_pixels() -> int | None:
    """Return the largest image (width × height) a file may declare before it is refused; None: no edgeml cap.

    :func:`set_max_pixels` wins, then ``EDGEML_MAX_PIXELS`` (pixels, or ``none``), then
    :data:`DEFAULT_MAX_PIXELS`. Pillow's own limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``, ≈179 MP) still holds above.

    Raises:
        InvalidArgumentError: ``EDGEML_MAX_PIXELS`` is neither a positive integer nor ``none``.
    """
    if _limit:
        return _limit[0]
    text = os.environ.get(_ENV, "").strip().lower()
    if not text:
        return DEFAULT_MAX_PIXELS
    if text == "none":
        return None
    if not text.isdigit() or int(text) < 1:
        raise InvalidArgumentError(f"{_ENV} must be a positive number of pixels or 'none'. Received: {text!r}")
    return int(text)


def set_max_pixels(pixels: int | None) -> None:
    """Set the process-wide pixel cap for image files (None: no edgeml cap), ahead of ``EDGEML_MAX_PIXELS``.

    Raises:
        InvalidArgumentError: ``pixels`` is not a positive integer or None.
    """
    if pixels is not None and (isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 1):
        raise InvalidArgumentError(f"max_pixels must be a positive integer or None. Received: {pixels!r}")
    _limit[:] = [pixels]


def _say_once(key: str, message: str, *args: object) -> None:
    """Log a warning the first time ``key`` comes up in this process (a folder of GIFs warns once, not per file)."""
    if key not in _said:
        _said.add(key)
        log.warning(message + " (said once)", *args)


def load_image(path: str | os.PathLike[str], mode: Mode | None = "RGB") -> np.ndarray:
    """Read an image file into ``uint8`` pixels, applying its EXIF orientation.

    Args:
        path: A file in one of :data:`FORMATS` (JPEG, PNG, GIF, BMP, TIFF, WebP, PPM/PGM).
        mode: ``"RGB"`` for ``(H, W, 3)``, ``"L"`` for ``(H, W)`` grey (ITU-R 601-2 luma), or None to keep grey
            files ``(H, W)`` and turn every other file into ``(H, W, 3)`` RGB.

    Raises:
        ImageError: The file is missing, empty, not an image, of another format, above :func:`max_pixels`,
            truncated or corrupt; the message names the file and what to do.
    """
    p = Path(path)
    name = str(p)
    _check_file(p, name)
    try:
        with _decode_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p, formats=FORMATS) as im:
                label = repr(name)
                _fit(im, label)
                _note_frames(im, label)
                # Before load(): Pillow 9.x reads a multi-page TIFF's EXIF through the file, which load() closes
                # ("'NoneType' object has no attribute 'seek'"). A PNG's EXIF may follow its pixels, so reading it
                # decodes them: a failure there is the file's, reported by load(), not the EXIF's.
                orientation = _orientation(im, None)
                im.load()
                if orientation is None:
                    orientation = _orientation(im, label)
                return _pixels(_orient(im, orientation), mode, label)
    except ImageError:
        raise
    except FileNotFoundError as exc:  # deleted between the check and the read (a folder being emptied)
        raise ImageError(f"Image file not found: {name!r}.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name!r} is not an image edgeml reads ({', '.join(FORMATS)}). Convert it, or open it "
                         "yourself and pass the PIL.Image.") from exc
    except Image.DecompressionBombError as exc:
        raise ImageError(_too_large(repr(name), _pillow_limit(exc))) from exc
    except Exception as exc:  # Pillow's decoders raise OSError, ValueError, EOFError, SyntaxError, ... on bad data
        raise ImageError(f"{name!r} could not be decoded ({type(exc).__name__}: {_brief(exc)}); the file is "
                         "corrupt or truncated.") from exc


def _check_file(p: Path, name: str) -> None:
    """Refuse what Pillow should never open: a directory, a pipe or device (reading one can block forever), an
    empty or unreadable file."""
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise ImageError(f"Image file not found: {name!r}.") from exc
    except OSError as exc:
        raise ImageError(f"Cannot read {name!r}: {_brief(exc)}.") from exc
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(f"{name!r} is a directory, not an image file.")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"{name!r} is not a regular file (a pipe, socket or device), not an image file.")
    if st.st_size == 0:
        raise ImageError(f"{name!r} is empty (0 bytes), not an image.")
    if not os.access(p, os.R_OK):
        raise ImageError(f"Cannot read {name!r}: permission denied.")


def _brief(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _too_large(label: str, why: str) -> str:
    return (f"{label} is {why}; refused before decoding. Raise the cap with edgeml.image.load.set_max_pixels(N), "
            f"{_ENV}=N or `edgeml classify --max-megapixels MP` (past Pillow's own limit, also "
            "PIL.Image.MAX_IMAGE_PIXELS).")


def _pillow_limit(exc: BaseException) -> str:
    """Pillow's refusal in our words: ``Image size (N pixels) exceeds limit of M pixels, ...``."""
    found = re.findall(r"(\d+) pixels", str(exc))
    if len(found) == 2:
        return f"{_megapixels(int(found[0]))}, above Pillow's decompression-bomb limit of {_megapixels(int(found[1]))}"
    return f"above Pillow's decompression-bomb limit ({_brief(exc)})"


def _fit(im: Image.Image, label: str) -> None:
    """Refuse an image above the cap from its header, or shrink a JPEG's decode (DCT scaling) to fit under it."""
    limit = max_pixels()
    w, h = im.size
    if limit is None or w * h <= limit:
        return
    if im.format in ("JPEG", "MPO") and isinstance(im, ImageFile.ImageFile) and im.tile:  # tile: not decoded yet
        k = next((k for k in (2, 4, 8) if math.ceil(w / k) * math.ceil(h / k) <= limit), 0)
        if k and im.draft(None, (w // k, h // k)) is not None and im.size[0] * im.size[1] <= limit:
            _say_once("draft", "%s is %dx%d, above the %s cap: decoded at 1/%d scale by the JPEG decoder",
                      label, w, h, _megapixels(limit), k)
            return
    raise ImageError(_too_large(label, f"{w}x{h} ({_megapixels(w * h)}), above edgeml's cap of "
                                      f"{_megapixels(limit)}"))


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.3g} megapixels"


def _note_frames(im: Image.Image, label: str) -> None:
    if im.format == "MPO":  # a phone's JPEG with its depth map or preview after the photo: nothing to say
        return
    try:
        many = bool(getattr(im, "is_animated", False))  # GIF: looks for a second frame, then seeks back
    except Exception:  # a damaged later frame; the first is what counts
        return
    if many:
        _say_once("frames", "%s has several frames (an animation or pages): edgeml classifies the first", label)


# EXIF orientation -> the transpose that shows the image upright (what ImageOps.exif_transpose does)
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def _orientation(im: Image.Image, label: str | None) -> int | None:
    """Return the EXIF orientation of ``im``: 1 when upright or absent, and when unreadable 1 said once (or None
    without a ``label``, for the caller to try again after ``load()``)."""
    try:
        orientation = im.getexif().get(_ORIENTATION, 1)
    except Exception as exc:  # unreadable EXIF on decodable pixels: classify them as stored
        if label is None:
            return None
        _say_once("exif", "%s: unreadable EXIF (%s); orientation not applied", label, _brief(exc, 80))
        return 1
    return orientation if orientation in _UPRIGHT else 1


def _orient(im: Image.Image, orientation: int | None) -> Image.Image:
    """Return ``im`` turned upright for its EXIF ``orientation`` (a new image), or ``im`` itself when upright."""
    return im.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else im


def _pixels(im: Image.Image, mode: Mode | None, label: str) -> np.ndarray:
    if mode is None:
        mode = "L" if im.mode in ("L", "1", "LA", "La", "I", "F") or im.mode.startswith("I;16") else "RGB"
    pixels = np.asarray(convert(im, mode))
    if pixels.size == 0:
        raise ImageError(f"{label} has no pixels. Received: size={im.size}.")
    return pixels


def as_array(image: Any, mode: Mode = "RGB") -> np.ndarray:
    """Return ``image`` as contiguous ``uint8`` pixels in ``mode``.

    Args:
        image: A path, a ``PIL.Image`` of any mode (EXIF orientation applied; an image opened from a file is held
            to :func:`max_pixels`), or a ``uint8`` ndarray shaped ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` RGB or
            ``(H, W, 4)`` RGBA (any strides).
        mode: ``"RGB"`` → ``(H, W, 3)``; ``"L"`` → ``(H, W)``.

    WRONG: ``as_array(cv2.imread(path))`` — OpenCV arrays are BGR; colours come out swapped.
    RIGHT: ``as_array(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))`` or ``load_image(path)``.

    Raises:
        ImageError: Wrong type, dtype, rank or channel count, an empty array, or a PIL image that cannot be
            decoded; the message gives what was received.
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, mode)
    if isinstance(image, Image.Image):
        return _from_pil(image, mode)
    if not isinstance(image, np.ndarray):
        raise ImageError(
            f"Expected a file path, PIL.Image or uint8 numpy array. Received: {type(image).__name__}."
        )
    if image.dtype != np.uint8:
        raise ImageError(
            f"Image arrays must be uint8 (0..255). Received: dtype={image.dtype}, shape={image.shape}. "
            "Convert with np.clip(x, 0, 255).astype(np.uint8) after scaling floats in [0, 1] by 255."
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        channels = 1
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        channels = image.shape[2]
    else:
        raise ImageError(
            f"Image arrays must be (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA. Received: shape={image.shape}."
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"The image is empty. Received: shape={image.shape}.")
    if channels == 4 or (channels == 1) != (mode == "L"):
        pil_mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
        return np.asarray(convert(Image.fromarray(np.ascontiguousarray(image), pil_mode), mode))
    return np.ascontiguousarray(image)


def _from_pil(image: Image.Image, mode: Mode) -> np.ndarray:
    """A caller's PIL image: the same cap, orientation and conversions as a file, without closing it."""
    name = f"The PIL image ({image.format or 'in memory'}, {image.mode}, {image.size[0]}x{image.size[1]})"
    try:
        with _decode_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if isinstance(image, ImageFile.ImageFile):  # opened from a file: maybe not decoded yet
                _fit(image, name)
            return _pixels(_orient(image, _orientation(image, name) or 1), mode, name)
    except ImageError:
        raise
    except Exception as exc:  # a lazily opened file decodes here: truncated data, a bad mode, ...
        raise ImageError(f"{name} could not be decoded ({type(exc).__name__}: {_brief(exc)}).") from exc


def find_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Return the image files under ``folder`` (recursively, by suffix), sorted for reproducibility.

    Raises:
        ImageError: ``folder`` is not a directory.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ImageError(
            f"Not a directory: {str(root)!r}. Pass a folder of images (optionally one sub-folder per class)."
        )
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())

