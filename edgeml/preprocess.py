"""Pure preprocessing: uint8 pixels → the model's input tensor, doing as little work as the model allows.

The converter writes models whose uint8 input *is* the pixel byte (scale 1, zero point 0, or an equivalent
normalisation folded into the quantization), so for them :func:`to_input_tensor` is a copy into the batch
dimension: no float round trip. Other models (float inputs, foreign quantization) take the general affine path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image

from edgeml.errors import ModelFormatError
from edgeml.tensors import TensorSpec

__all__ = ["Preprocessing", "crop_box", "input_size", "resize", "to_input_tensor"]

ResizeMode = Literal["stretch", "center_crop"]


@dataclass(frozen=True)
class Preprocessing:
    """How pixels become model input; recorded by the converter inside every model it writes.

    The model's real-valued input is ``(pixel - mean) / std`` per channel, pixels in 0..255.

    Attributes:
        resize: ``"stretch"`` (whole frame to the input size) or ``"center_crop"`` (keep aspect ratio, crop the
            centre ``crop_fraction`` of the short side, as ImageNet models are evaluated).
        crop_fraction: Fraction of the short side kept by ``"center_crop"`` (0.875 = 224 of 256).
        mean: Per-channel mean, in pixel units (length 1 or C).
        std: Per-channel standard deviation, in pixel units (length 1 or C).
    """

    resize: ResizeMode = "stretch"
    crop_fraction: float = 1.0
    mean: tuple[float, ...] = field(default=(0.0,))
    std: tuple[float, ...] = field(default=(1.0,))

    def __post_init__(self) -> None:
        if self.resize not in ("stretch", "center_crop"):
            raise ValueError(f"resize must be 'stretch' or 'center_crop'. Received: {self.resize!r}")
        if not 0.0 < self.crop_fraction <= 1.0:
            raise ValueError(f"crop_fraction must be in (0, 1]. Received: {self.crop_fraction}")
        object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        object.__setattr__(self, "std", tuple(float(s) for s in self.std))
        if not self.mean or not self.std or any(s <= 0 for s in self.std):
            raise ValueError(f"mean and std need at least one value and std must be > 0. Received: "
                             f"mean={self.mean}, std={self.std}")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (inverse of :meth:`from_dict`)."""
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        """Build from :meth:`to_dict` output; unknown keys are ignored so newer models load in older runtimes."""
        known = {k: data[k] for k in ("resize", "crop_fraction", "mean", "std") if k in data}
        for key in ("mean", "std"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


def input_size(spec: TensorSpec) -> tuple[int, int, int]:
    """Return ``(height, width, channels)`` of an image input tensor.

    Raises:
        ModelFormatError: The tensor is not ``(1, H, W, C)`` with C of 1 or 3.
    """
    if len(spec.shape) != 4 or spec.shape[0] != 1 or spec.shape[3] not in (1, 3):
        raise ModelFormatError(
            f"Model input must be an image tensor of shape (1, H, W, 1 or 3). Received: shape={spec.shape}, "
            f"dtype={spec.dtype_name}. Convert with `edgeml convert`, which pins batch 1."
        )
    return spec.shape[1], spec.shape[2], spec.shape[3]


def crop_box(src_hw: tuple[int, int], dst_hw: tuple[int, int], crop_fraction: float) -> tuple[int, int, int, int]:
    """Return the centred ``(left, top, right, bottom)`` source box with the target's aspect ratio.

    The box is the largest one of the destination aspect ratio that fits the source, shrunk to ``crop_fraction``;
    cropping and resizing it in one step equals "resize short side to size/crop_fraction, centre-crop size".
    """
    sh, sw = src_hw
    dh, dw = dst_hw
    scale = min(sh / dh, sw / dw) * crop_fraction
    bw, bh = dw * scale, dh * scale
    left, top = (sw - bw) / 2.0, (sh - bh) / 2.0
    return round(left), round(top), round(left + bw), round(top + bh)


def resize(pixels: np.ndarray, size_hw: tuple[int, int], prep: Preprocessing = Preprocessing()) -> np.ndarray:
    """Resize ``pixels`` (uint8, (H, W) or (H, W, 3)) to ``size_hw`` with bilinear filtering.

    Returns the input unchanged (no copy) when it already has the target size and nothing is cropped.
    """
    h, w = pixels.shape[:2]
    dh, dw = size_hw
    box: tuple[int, int, int, int] | None = None
    if prep.resize == "center_crop":
        box = crop_box((h, w), (dh, dw), prep.crop_fraction)
        if box == (0, 0, w, h):
            box = None
    if box is None and (h, w) == (dh, dw):
        return pixels
    im = Image.fromarray(pixels)
    return np.asarray(im.resize((dw, dh), Image.Resampling.BILINEAR, box=box))


def _per_channel(values: Sequence[float], channels: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float32)
    if arr.size == 1:
        return np.full(channels, arr.item(), dtype=np.float32)
    if arr.size != channels:
        raise ValueError(f"Expected 1 or {channels} per-channel values. Received: {list(values)}")
    return arr


def _identity_offset(spec: TensorSpec, prep: Preprocessing, channels: int) -> int | None:
    """Return k when quantize(normalize(p)) == p + k for every pixel p, else None."""
    if not spec.quantized:
        return None
    mean, std = _per_channel(prep.mean, channels), _per_channel(prep.std, channels)
    # q = (p - mean) / (std * scale) + zp: identity-plus-offset when std * scale == 1 and the offset is an integer.
    if not np.allclose(std * spec.scale, 1.0, rtol=0, atol=1e-6):
        return None
    offsets = spec.zero_point - mean
    k = round(float(offsets[0]))
    if not np.allclose(offsets, k, rtol=0, atol=1e-4):
        return None
    return k


def to_input_tensor(pixels: np.ndarray, spec: TensorSpec, prep: Preprocessing = Preprocessing()) -> np.ndarray:
    """Turn resized pixels into the model's input tensor.

    Args:
        pixels: uint8, ``(H, W, C)`` or ``(H, W)`` for one channel, already at the model's input size.
        spec: The model's input tensor (from ``Classifier.input``).
        prep: The normalisation the model was trained with.

    Returns:
        An array of ``spec.shape`` and ``spec.dtype``. For uint8 models whose quantization cancels the
        normalisation this is the pixel bytes themselves (a view when possible); int8 models with a -128 offset
        get a bit flip, not float arithmetic.
    """
    h, w, c = input_size(spec)
    batch = pixels.reshape(1, h, w, c)
    offset = _identity_offset(spec, prep, c)
    if offset == 0 and spec.dtype == np.uint8:
        return batch
    if offset == -128 and spec.dtype == np.int8:
        return (batch ^ np.uint8(0x80)).view(np.int8)
    real = (batch.astype(np.float32) - _per_channel(prep.mean, c)) / _per_channel(prep.std, c)
    if not spec.quantized:
        return real.astype(spec.dtype, copy=False)
    info = np.iinfo(spec.dtype)
    q = np.rint(real / spec.scale + spec.zero_point)
    return np.clip(q, info.min, info.max).astype(spec.dtype)
