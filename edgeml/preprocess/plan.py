"""Compose the pure steps: any image or :class:`Frame` → the model's input values, written into a given buffer.

:class:`InputPlanner` is the one way pixels become a model input: it plans once per frame geometry (format, size,
strides) and keeps the plan, so a camera's stream of same-shaped frames pays for planning once.

Order of work, cheapest first: pick the source box (geometry), convert colour only inside it (YUV) or not at all
yet (packed formats), resample once to the model size, then reorder channels and quantize on the small image.
When the frame is already RGB (or grey for a grey model) and the quantization is a copy or a bit flip, the
resampler writes straight into the destination — typically the interpreter's own input tensor.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from edgeml.errors import ImageError
from edgeml.frame import GRAY, I420, NV12, RGB, Frame
from edgeml.image.load import as_array
from edgeml.preprocess import colour
from edgeml.preprocess.geometry import input_size, placement
from edgeml.preprocess.quantize import InputQuantizer
from edgeml.preprocess.resampling import Resampler, current, numpy_resize, resize_box
from edgeml.preprocess.settings import Preprocessing
from edgeml.tensors import TensorSpec

__all__ = ["InputPlanner", "Writer", "plan_input", "to_frame", "to_input_tensor", "write_input"]

# Writes one frame into an input buffer; built by plan_input for one frame geometry and reused while it holds.
Writer = Callable[[Frame, np.ndarray], np.ndarray]


def to_frame(image: Any, channels: int = 3) -> Frame:
    """Return ``image`` as a :class:`Frame`, decoding files and PIL images (the "decode" stage).

    Args:
        image: A :class:`Frame` (any format), a path, a ``PIL.Image`` (any mode), or a uint8 ndarray
            ``(H, W)``/``(H, W, 1)`` grey, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA (alpha composited onto white).
        channels: The model's channels (1 decodes files straight to grey).

    Raises:
        ImageError: Wrong type, dtype, rank, channel count or an empty array; the message says what was received.
    """
    if isinstance(image, Frame):
        return image
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim in (2, 3) and image.size > 0:
        if image.ndim == 3 and image.shape[2] == 3:
            return Frame(image, RGB)
        if image.ndim == 2 or image.shape[2] == 1:
            return Frame(image.reshape(image.shape[:2]), GRAY)
    if isinstance(image, (str, os.PathLike, Image.Image, np.ndarray)):
        pixels = as_array(image, "L" if channels == 1 else "RGB")
        return Frame(pixels, GRAY if pixels.ndim == 2 else RGB)
    raise ImageError(
        f"Expected a Frame, file path, PIL.Image or uint8 numpy array. Received: {type(image).__name__}."
    )


def _fill_border(out: np.ndarray, rect: tuple[int, int, int, int], value: np.ndarray) -> None:
    x0, y0, x1, y1 = rect
    out[:y0] = value
    out[y1:] = value
    out[y0:y1, :x0] = value
    out[y0:y1, x1:] = value


def plan_input(frame: Frame, shape: tuple[int, ...], prep: Preprocessing, quantizer: InputQuantizer,
               resampler: Resampler | None = None) -> Writer:
    """Decide once how frames like ``frame`` become input values; return the function that does it.

    Everything that depends only on the geometry (boxes, branches, pad values) is settled here, so the returned
    :data:`Writer` does the pixel work and little else — after ``invoke()`` has flushed the CPU caches, every
    extra Python step costs several microseconds. Frames with the same format, size and strides may reuse it.

    Args:
        frame: A frame of the kind to plan for.
        shape: The destination ``(H, W, C)``.
        prep: Resize mode and normalisation.
        quantizer: The input's byte → value map.
        resampler: The resize backend the plan uses; None: the process default
            (:func:`edgeml.preprocess.resampling.current`).
    """
    resampler = resampler or current()
    h, w, c = shape
    place = placement((frame.height, frame.width), (h, w), prep)
    cv2 = resampler.cv2
    direct = (frame.format == RGB and c == 3) or (frame.format == GRAY and c == 1)
    if not direct or not quantizer.in_place:
        return lambda f, out: _write_general(f, out, prep, quantizer, resampler)
    left, top, right, bottom = place.box
    x0, y0, x1, y1 = place.rect
    dsize, identity, xor = (x1 - x0, y1 - y0), place.identity, quantizer.kind == "xor"
    pad = quantizer.pad(prep.pad_value)
    flip = np.uint8(0x80)
    if cv2 is not None:
        resize, linear = cv2.resize, cv2.INTER_LINEAR
    else:  # numpy, called the way cv2.resize is
        def resize(src: np.ndarray, size: tuple[int, int], dst: np.ndarray | None = None,
                   interpolation: int = 0) -> np.ndarray:
            return numpy_resize(src, (size[1], size[0]), dst)

        linear = 0

    as_bytes, whole = quantizer.dtype != np.uint8, not place.padded

    def write(f: Frame, out: np.ndarray) -> np.ndarray:
        # Each step below is a few microseconds when the caches are cold; skip the ones this geometry never needs.
        if not whole:
            _fill_border(out, place.rect, pad)
        raw = out.view(np.uint8) if as_bytes else out
        if not whole:
            raw = raw[y0:y1, x0:x1]
        region = raw[..., 0] if c == 1 else raw
        src = f.pixels[top:bottom, left:right]
        if identity:
            region[...] = src
        elif resize(src, dsize, dst=region, interpolation=linear) is not region:
            region[...] = resize(src, dsize, interpolation=linear)
        if xor:
            np.bitwise_xor(raw, flip, out=raw)
        return out

    return write


def write_input(frame: Frame, out: np.ndarray, prep: Preprocessing, quantizer: InputQuantizer) -> np.ndarray:
    """Write ``frame`` as model input values into ``out``.

    Args:
        frame: The frame, any format; row-stride padding beyond ``frame.width`` is never read.
        out: ``(H, W, C)`` of the input dtype (C 1 or 3), e.g. the interpreter's input tensor without its batch
            axis; every element is written.
        prep: Resize mode and normalisation.
        quantizer: The input's byte → value map (:meth:`InputQuantizer.for_input`).

    Returns:
        ``out``.
    """
    return plan_input(frame, out.shape, prep, quantizer)(frame, out)


def _write_general(frame: Frame, out: np.ndarray, prep: Preprocessing, quantizer: InputQuantizer,
                   resampler: Resampler) -> np.ndarray:
    h, w, c = out.shape
    place = placement((frame.height, frame.width), (h, w), prep)
    cv2 = resampler.cv2
    if frame.format in (I420, NV12):
        src, box = colour.yuv_region_to_rgb(frame, place.box, cv2)
        fmt = RGB
    else:
        src, box, fmt = frame.pixels[:frame.height, :frame.width], place.box, frame.format
    if place.padded:
        _fill_border(out, place.rect, quantizer.pad(prep.pad_value))
    x0, y0, x1, y1 = place.rect
    region = out[y0:y1, x0:x1]
    size = (y1 - y0, x1 - x0)
    raw = region.view(np.uint8) if quantizer.in_place else None
    direct = (fmt == RGB and c == 3) or (fmt == GRAY and c == 1)
    if raw is not None and direct:
        # The fast path: resample straight into the tensor, then fix the bytes up in place (copy: nothing to do).
        resize_box(src, box, size, raw[..., 0] if c == 1 else raw, resampler)
        quantizer.fix_in_place(raw)
        return out
    resized = resize_box(src, box, size, resampler=resampler)
    if direct:
        pixels = resized.reshape(*size, c)
    else:
        pixels = colour.reorder(resized, fmt, raw if raw is not None else np.empty((*size, c), np.uint8))
        if raw is not None:
            quantizer.fix_in_place(raw)
            return out
    quantizer.apply(pixels, region, cv2)
    return out


class InputPlanner:
    """Frames → one model input's values, planned once per frame geometry and then reused.

    The cache key is what a plan depends on: the frame's format, visible size, array shape and strides. The
    resize backend is fixed when the planner is made. Not thread-safe by itself: one planner per writer thread,
    or a lock around it (``edgeml.inference.pipeline.Pipeline`` holds one per model and serialises writes into the
    tensor).

    Args:
        shape: The destination ``(H, W, C)`` (the input tensor without its batch axis).
        prep: Resize mode and normalisation.
        quantizer: The input's byte → value map.
        resampler: The resize backend; None: the process default at construction.
    """

    def __init__(self, shape: tuple[int, int, int], prep: Preprocessing, quantizer: InputQuantizer,
                 resampler: Resampler | None = None) -> None:
        self.shape = tuple(int(d) for d in shape)
        self.prep, self.quantizer = prep, quantizer
        self.resampler = resampler or current()
        self._key: tuple[Any, ...] | None = None
        self._writer: Writer | None = None

    def writer(self, frame: Frame) -> Writer:
        """Return the writer for frames shaped like ``frame`` (the last plan, when the geometry is unchanged)."""
        px = frame.pixels
        key = (frame.format, frame.width, frame.height, px.shape, px.strides)
        if key != self._key or self._writer is None:
            self._writer = plan_input(frame, self.shape, self.prep, self.quantizer, self.resampler)
            self._key = key
        return self._writer

    def write(self, frame: Frame, out: np.ndarray) -> np.ndarray:
        """Write ``frame`` as input values into ``out`` ``(H, W, C)`` of the input dtype; return ``out``."""
        return self.writer(frame)(frame, out)


def to_input_tensor(pixels: np.ndarray, spec: TensorSpec, prep: Preprocessing = Preprocessing()) -> np.ndarray:
    """Turn pixels already at the model's input size into a new input tensor (no resize, no crop).

    Args:
        pixels: uint8, ``(H, W, C)`` or ``(H, W)`` for one channel, already at the model's input size.
        spec: The model's input tensor (from ``Classifier.input``).
        prep: The normalisation the model was trained with (its resize mode is not applied again).

    Returns:
        An array of ``spec.shape`` and ``spec.dtype``. For uint8 models whose quantization cancels the
        normalisation this is the pixel bytes themselves (a view when possible).
    """
    h, w, c = input_size(spec)
    batch = pixels.reshape(1, h, w, c)
    quantizer = InputQuantizer.for_input(spec, prep, c)
    if quantizer.kind == "copy":
        return batch
    as_is = Preprocessing.from_dict({**prep.to_dict(), "resize": "stretch", "crop_fraction": 1.0})
    out = np.empty(spec.shape, spec.dtype)
    InputPlanner((h, w, c), as_is, quantizer).write(Frame(batch[0] if c == 3 else batch[0, ..., 0],
                                                          RGB if c == 3 else GRAY), out[0])
    return out
