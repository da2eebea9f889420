"""The slow float reference pipeline the fast path is checked against, and photos in every colour format.

It converts the whole frame to float RGB, resamples it with float bilinear (half-pixel centres, edge clamped),
letterboxes, then normalises and quantizes in float64 — the "obviously right" pipeline, with no shortcuts.
"""

from __future__ import annotations

import numpy as np

from edgeml.frame import Frame
from edgeml.preprocess import Preprocessing, placement
from edgeml.tensors import TensorSpec


def rgb_to_yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 limited range, chroma averaged over 2x2 blocks (what a camera ISP delivers)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    h, w = y.shape

    def sub(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    q = lambda a: np.clip(np.rint(a), 0, 255).astype(np.uint8)  # noqa: E731
    return q(y), q(sub(u)), q(sub(v))


def yuv_to_rgb_float(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    uu = np.repeat(np.repeat(u.astype(np.float64) - 128, 2, 0), 2, 1)
    vv = np.repeat(np.repeat(v.astype(np.float64) - 128, 2, 0), 2, 1)
    yy = 1.164 * np.maximum(y.astype(np.float64) - 16, 0)
    rgb = np.stack([yy + 1.596 * vv, yy - 0.813 * vv - 0.391 * uu, yy + 2.018 * uu], axis=-1)
    return np.clip(rgb, 0, 255)


def make_frame(rgb: np.ndarray, fmt: str, pad: int = 0) -> tuple[Frame, np.ndarray]:
    """Return ``rgb`` as a ``fmt`` frame (rows padded by ``pad`` garbage bytes) and its float RGB/grey truth."""
    h, w = rgb.shape[:2]
    rng = np.random.default_rng(0)
    if fmt in ("I420", "NV12"):
        y, u, v = rgb_to_yuv(rgb)
        stride = w + pad
        buf = rng.integers(0, 256, (h * 3 // 2, stride), dtype=np.uint8)
        buf[:h, :w] = y
        chroma = buf[h:].reshape(-1)
        if fmt == "I420":
            planes = [np.pad(p, ((0, 0), (0, (stride - w) // 2)), constant_values=99) for p in (u, v)]
            chroma[:] = np.concatenate([p.ravel() for p in planes])
        else:
            uv = np.stack([u, v], axis=-1).reshape(h // 2, w)
            buf[h:, :w] = uv
        return Frame(buf, fmt, width=w, height=h), yuv_to_rgb_float(y, u, v)
    if fmt == "GRAY":
        grey = np.rint(rgb.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)
        packed, truth = grey, grey.astype(np.float64)
    else:
        order = [0, 1, 2] if fmt.startswith("RGB") else [2, 1, 0]
        packed = rgb[..., order]
        if fmt.endswith("X"):
            packed = np.dstack([packed, rng.integers(0, 256, (h, w), dtype=np.uint8)])
        truth = rgb.astype(np.float64)
    buf = rng.integers(0, 256, (h, w + pad, *packed.shape[2:]), dtype=np.uint8)
    buf[:, :w] = packed
    return Frame(buf, fmt, width=w, height=h), truth


def bilinear(src: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    left, top, right, bottom = box
    dh, dw = size
    ys = np.clip((np.arange(dh) + 0.5) * (bottom - top) / dh + top - 0.5, 0, src.shape[0] - 1)
    xs = np.clip((np.arange(dw) + 0.5) * (right - left) / dw + left - 0.5, 0, src.shape[1] - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, src.shape[0] - 1), np.minimum(x0 + 1, src.shape[1] - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    if src.ndim == 3:
        fy, fx = fy[..., None], fx[..., None]
    top_row = src[y0][:, x0] * (1 - fx) + src[y0][:, x1] * fx
    bottom_row = src[y1][:, x0] * (1 - fx) + src[y1][:, x1] * fx
    return top_row * (1 - fy) + bottom_row * fy


def reference(truth: np.ndarray, spec: TensorSpec, prep: Preprocessing) -> np.ndarray:
    """Float pipeline: resample, letterbox, to the model's channels, normalise, quantize."""
    _, h, w, c = spec.shape
    place = placement(truth.shape[:2], (h, w), prep)
    x0, y0, x1, y1 = place.rect
    canvas = np.full((h, w, 3 if truth.ndim == 3 else 1), float(prep.pad_value))
    patch = bilinear(truth, place.box, (y1 - y0, x1 - x0))
    canvas[y0:y1, x0:x1] = patch if patch.ndim == 3 else patch[..., None]
    if c == 1 and canvas.shape[2] == 3:
        canvas = canvas @ np.array([[0.299], [0.587], [0.114]])
    elif c == 3 and canvas.shape[2] == 1:
        canvas = np.repeat(canvas, 3, axis=2)
    real = (canvas - np.array(prep.mean)) / np.array(prep.std)
    if not spec.quantized:
        return real
    info = np.iinfo(spec.dtype)
    return np.clip(np.rint(real / spec.scale + spec.zero_point), info.min, info.max)


def lsb_agreement(fast: np.ndarray, ref: np.ndarray, lsb: float = 1.0) -> float:
    return float((np.abs(fast.astype(np.float64) - ref) <= lsb + 1e-6).mean())
