"""Turn what a user hands us (a path, a PIL image, a numpy array) into a uint8 pixel array.

Everything downstream works on ``uint8, (H, W, 3), RGB`` (or ``(H, W)`` grey for one-channel models), so image
modes, EXIF rotation and bad input are dealt with here, once, with errors that say what was received.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgeml.errors import ImageError

__all__ = ["IMAGE_SUFFIXES", "ImageInput", "as_array", "find_images", "load_image"]

ImageInput = Union[str, "os.PathLike[str]", Image.Image, np.ndarray]
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
Mode = Literal["RGB", "L"]


def load_image(path: str | os.PathLike[str], mode: Mode = "RGB") -> np.ndarray:
    """Read an image file into ``uint8`` pixels, applying its EXIF orientation.

    Args:
        path: An image file Pillow can read (JPEG, PNG, BMP, GIF, WebP, TIFF, PPM...).
        mode: ``"RGB"`` for ``(H, W, 3)`` or ``"L"`` for ``(H, W)`` grey (ITU-R 601-2 luma).

    Raises:
        ImageError: The file is missing or is not an image.
    """
    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()
            return as_array(ImageOps.exif_transpose(im), mode)
    except FileNotFoundError as exc:
        raise ImageError(f"Image file not found: {str(p)!r}.") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{str(p)!r} is not an image Pillow can read. Pass a JPEG, PNG, BMP or similar file.") from exc
    except OSError as exc:  # truncated or corrupt data
        raise ImageError(f"{str(p)!r} could not be decoded ({exc}); the file is corrupt or truncated.") from exc


def _convert_pil(im: Image.Image, mode: Mode) -> Image.Image:
    if im.mode == mode:
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Composite transparent pixels onto white, as a viewer shows them, instead of exposing whatever RGB
        # values happen to sit under alpha 0.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    elif im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16/32-bit grey: scale to 8 bits by the range of the image's type, not by clipping.
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        im = Image.fromarray(np.clip(arr * (255.0 / top) + 0.5, 0, 255).astype(np.uint8), "L")
    return im.convert(mode)


def as_array(image: Any, mode: Mode = "RGB") -> np.ndarray:
    """Return ``image`` as contiguous ``uint8`` pixels in ``mode``.

    Args:
        image: A path, a ``PIL.Image`` of any mode, or a ``uint8`` ndarray shaped ``(H, W)``, ``(H, W, 1)``,
            ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA.
        mode: ``"RGB"`` → ``(H, W, 3)``; ``"L"`` → ``(H, W)``.

    WRONG: ``as_array(cv2.imread(path))`` — OpenCV arrays are BGR; colours come out swapped.
    RIGHT: ``as_array(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))`` or ``load_image(path)``.

    Raises:
        ImageError: Wrong type, dtype, rank or channel count; the message gives what was received.
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, mode)
    if isinstance(image, Image.Image):
        return np.asarray(_convert_pil(image, mode))
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
        return np.asarray(_convert_pil(Image.fromarray(image, pil_mode), mode))
    return np.ascontiguousarray(image)


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
