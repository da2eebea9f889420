"""uint8 pixels → the model's input values without float math per pixel.

Normalising ``(p - mean) / std`` and quantizing ``round(x / scale) + zero_point`` is a function of one byte per
channel, so it has at most 256 answers per channel. :class:`InputQuantizer` picks the cheapest exact form:

- ``copy``: the model's input *is* the byte (edgeml's own int8 models: scale 1, zero point 0, or a normalisation
  folded into the quantization);
- ``xor``: int8 input with the same map shifted by -128 — flipping the top bit is exact;
- ``lut``: anything else (other affine maps, float inputs): a 256-entry table per channel, computed once in
  float64 and indexed per pixel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.errors import InvalidArgumentError
from edgeml.preprocess.settings import Preprocessing
from edgeml.tensors import TensorSpec

__all__ = ["InputQuantizer", "identity_offset", "lookup_table", "per_channel"]


def per_channel(values: Sequence[float], channels: int) -> np.ndarray:
    """Return ``values`` (length 1 or ``channels``) as float64 ``(channels,)``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 1:
        return np.full(channels, arr.item(), dtype=np.float64)
    if arr.size != channels:
        raise InvalidArgumentError(f"Expected 1 or {channels} per-channel values. Received: {list(values)}")
    return arr


def identity_offset(spec: TensorSpec, prep: Preprocessing, channels: int) -> int | None:
    """Return k when quantize(normalize(p)) == p + k for every pixel p, else None."""
    if not spec.quantized:
        return None
    mean, std = per_channel(prep.mean, channels), per_channel(prep.std, channels)
    # q = (p - mean) / (std * scale) + zp: identity-plus-offset when std * scale == 1 and the offset is an integer.
    if not np.allclose(std * spec.scale, 1.0, rtol=0, atol=1e-6):
        return None
    offsets = spec.zero_point - mean
    k = round(float(offsets[0]))
    if not np.allclose(offsets, k, rtol=0, atol=1e-4):
        return None
    return k


def lookup_table(spec: TensorSpec, prep: Preprocessing, channels: int) -> np.ndarray:
    """Return the exact input value of every byte per channel: ``(channels, 256)`` of ``spec.dtype``."""
    p = np.arange(256, dtype=np.float64)
    real = (p[None, :] - per_channel(prep.mean, channels)[:, None]) / per_channel(prep.std, channels)[:, None]
    if not spec.quantized:
        return real.astype(spec.dtype)
    info = np.iinfo(spec.dtype)
    return np.clip(np.rint(real / spec.scale + spec.zero_point), info.min, info.max).astype(spec.dtype)


@dataclass(frozen=True, eq=False)
class InputQuantizer:
    """The exact uint8 → input-value map of one model input, in its cheapest form.

    Attributes:
        kind: ``"copy"``, ``"xor"`` or ``"lut"`` (see the module docstring).
        dtype: The input tensor's dtype.
        table: ``(channels, 256)`` input value of each byte per channel (also used for letterbox padding).
    """

    kind: str
    dtype: np.dtype[Any]
    table: np.ndarray

    @classmethod
    def for_input(cls, spec: TensorSpec, prep: Preprocessing, channels: int) -> InputQuantizer:
        """Plan the map for ``spec`` (a ``(1, H, W, channels)`` input) under ``prep``'s normalisation."""
        offset = identity_offset(spec, prep, channels)
        table = lookup_table(spec, prep, channels)
        if offset == 0 and spec.dtype == np.uint8:
            return cls("copy", np.dtype(spec.dtype), table)
        if offset == -128 and spec.dtype == np.int8:
            return cls("xor", np.dtype(spec.dtype), table)
        return cls("lut", np.dtype(spec.dtype), table)

    @property
    def in_place(self) -> bool:
        """True when pixels can be written straight into the tensor and fixed up there (copy, xor)."""
        return self.kind != "lut"

    def fix_in_place(self, raw: np.ndarray) -> None:
        """Turn pixel bytes already written into an int8/uint8 tensor's memory into input values (``in_place``).

        Args:
            raw: The tensor's memory viewed as uint8, ``(H, W, C)``; changed in place.
        """
        if self.kind == "xor":
            np.bitwise_xor(raw, np.uint8(0x80), out=raw)

    def apply(self, pixels: np.ndarray, out: np.ndarray, cv2: Any = None) -> np.ndarray:
        """Write the input values of ``pixels`` (uint8 ``(H, W, C)``) into ``out`` (``(H, W, C)``, ``dtype``).

        Args:
            pixels: The bytes.
            out: Where to write (may be a view into the interpreter's input tensor).
            cv2: The cv2 module for its LUT, or None for numpy.
        """
        if self.kind == "copy":
            out[...] = pixels
        elif self.kind == "xor":
            np.bitwise_xor(pixels, np.uint8(0x80), out=out.view(np.uint8))
        elif cv2 is not None and self.table.shape[0] in (1, 3, 4):
            lut = np.ascontiguousarray(self.table.T.reshape(256, 1, -1))
            result = cv2.LUT(pixels, lut)
            out[...] = result.reshape(out.shape)
        else:
            for c in range(out.shape[-1]):
                np.take(self.table[c], pixels[..., c], out=out[..., c], mode="clip")
        return out

    def pad(self, value: int) -> np.ndarray:
        """Return the input value of pixel ``value`` per channel, ``(channels,)`` of ``dtype``."""
        return self.table[:, value]
