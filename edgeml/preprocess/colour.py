"""Colour formats → the model's RGB or grey, converting only the pixels that are used.

Packed formats (RGB, BGR, RGBX, BGRX, GRAY) are resized in their own byte order and reordered afterwards, at the
model's size: reordering channels commutes with resampling. YUV frames (I420, NV12) are converted to RGB first,
but only inside the (even-aligned) box the model reads. YUV uses ITU-R BT.601 limited range (16..235), as OpenCV
and V4L2 cameras do, with OpenCV's 20-bit fixed-point coefficients so both backends agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeml.errors import ImageError
from edgeml.frame import BGR, BGRX, GRAY, NV12, RGB, RGBX, Frame
from edgeml.preprocess.geometry import Box

__all__ = ["PACKED", "RGB_INDEX", "luma", "reorder", "yuv_region_to_rgb"]

PACKED = (RGB, BGR, RGBX, BGRX, GRAY)
# For each packed format, where R, G and B sit in a pixel's bytes.
RGB_INDEX: dict[str, tuple[int, int, int]] = {RGB: (0, 1, 2), BGR: (2, 1, 0), RGBX: (0, 1, 2), BGRX: (2, 1, 0)}
_SHIFT = 20
_CY, _CVR, _CVG, _CUG, _CUB = 1220542, 1673527, -852492, -409993, 2116026


def luma(rgb: np.ndarray, index: tuple[int, int, int] = (0, 1, 2)) -> np.ndarray:
    """Return ITU-R 601-2 luma of uint8 colour pixels, as Pillow's ``convert("L")`` computes it.

    Args:
        rgb: uint8 ``(H, W, >=3)``.
        index: Positions of R, G and B in the last axis (``(2, 1, 0)`` for BGR).

    Returns:
        uint8 ``(H, W)``.
    """
    r, g, b = (rgb[..., i].astype(np.uint32) for i in index)
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def reorder(pixels: np.ndarray, fmt: str, out: np.ndarray) -> np.ndarray:
    """Write packed ``fmt`` pixels into ``out`` as RGB ``(H, W, 3)`` or grey ``(H, W, 1)``.

    Args:
        pixels: uint8 in ``fmt``'s layout: ``(H, W, 3|4)`` or ``(H, W)`` for GRAY.
        fmt: One of :data:`PACKED`.
        out: uint8 ``(H, W, 3)`` or ``(H, W, 1)``, written in place.
    """
    channels = out.shape[-1]
    if fmt == GRAY:
        out[...] = pixels.reshape(*pixels.shape[:2], 1)
    elif channels == 1:
        out[..., 0] = luma(pixels, RGB_INDEX[fmt])
    elif RGB_INDEX[fmt] == (0, 1, 2):
        out[...] = pixels[..., :3]
    else:
        out[...] = pixels[..., 2::-1]
    return out


def _planes(frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return the Y, U and V planes (NV12: Y, interleaved UV ``(H/2, S/2, 2)``, None) of a YUV frame."""
    px = frame.pixels
    if not px.flags.c_contiguous:
        raise ImageError(
            f"A {frame.format} frame must be one C-contiguous buffer (planes follow each other in memory). "
            f"Received strides={px.strides} for shape={px.shape}. Pass np.ascontiguousarray(pixels)."
        )
    stride = px.shape[1]
    if stride % 2:
        raise ImageError(f"A {frame.format} frame's row stride must be even. Received: shape={px.shape}.")
    rows = px.shape[0] * 2 // 3
    y = px[:rows]
    if frame.format == NV12:
        return y, px[rows:].reshape(rows // 2, stride // 2, 2), None
    flat = px.reshape(-1)
    quarter = rows * stride // 4
    u = flat[rows * stride:rows * stride + quarter].reshape(rows // 2, stride // 2)
    v = flat[rows * stride + quarter:].reshape(rows // 2, stride // 2)
    return y, u, v


def _yuv_numpy(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Convert full-resolution Y and half-resolution U, V (nearest upsampling) to RGB, OpenCV's arithmetic."""
    uu = np.repeat(np.repeat(u.astype(np.int32) - 128, 2, axis=0), 2, axis=1)
    vv = np.repeat(np.repeat(v.astype(np.int32) - 128, 2, axis=0), 2, axis=1)
    yy = np.maximum(y.astype(np.int32) - 16, 0) * _CY + (1 << (_SHIFT - 1))
    out = np.empty((*y.shape, 3), np.uint8)
    for c, value in enumerate((yy + _CVR * vv, yy + _CVG * vv + _CUG * uu, yy + _CUB * uu)):
        out[..., c] = np.clip(value >> _SHIFT, 0, 255)
    return out


def yuv_region_to_rgb(frame: Frame, box: Box, cv2: Any = None) -> tuple[np.ndarray, Box]:
    """Convert the part of an I420/NV12 frame under ``box`` to RGB.

    Args:
        frame: An I420 or NV12 :class:`Frame`.
        box: ``(left, top, right, bottom)`` in visible pixels.
        cv2: The cv2 module to convert with, or None for numpy.

    Returns:
        ``(rgb, inner)``: uint8 ``(h, w, 3)`` RGB of the even-aligned box enclosing ``box``, and ``box`` in
        ``rgb``'s coordinates.
    """
    left, top, right, bottom = box
    l2, t2, r2, b2 = left - left % 2, top - top % 2, right + right % 2, bottom + bottom % 2
    inner = (left - l2, top - t2, right - l2, bottom - t2)
    y, u, v = _planes(frame)
    yc = y[t2:b2, l2:r2]
    uc = u[t2 // 2:b2 // 2, l2 // 2:r2 // 2]
    if cv2 is None:
        if v is None:
            return _yuv_numpy(yc, uc[..., 0], uc[..., 1]), inner
        return _yuv_numpy(yc, uc, v[t2 // 2:b2 // 2, l2 // 2:r2 // 2]), inner
    h, w = yc.shape
    whole = (l2, t2, r2, b2) == (0, 0, frame.pixels.shape[1], y.shape[0])
    if v is None:
        packed = frame.pixels if whole else np.concatenate([yc.ravel(), uc.ravel()]).reshape(h * 3 // 2, w)
        return cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_NV12), inner
    vc = v[t2 // 2:b2 // 2, l2 // 2:r2 // 2]
    packed = frame.pixels if whole else np.concatenate([yc.ravel(), uc.ravel(), vc.ravel()]).reshape(h * 3 // 2, w)
    return cv2.cvtColor(packed, cv2.COLOR_YUV2RGB_I420), inner
