"""Tensor descriptions: a frozen value object instead of the interpreter's string-keyed dicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TensorSpec"]


@dataclass(frozen=True)
class TensorSpec:
    """Shape, dtype and affine quantization of one model tensor.

    A quantized value ``q`` means the real value ``scale * (q - zero_point)``. Float tensors have ``scale == 0``.
    Per-channel quantized tensors keep only their first scale here (classification inputs and outputs are
    per-tensor in every model the converter writes).
    """

    name: str
    index: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    scale: float = 0.0
    zero_point: int = 0

    @property
    def quantized(self) -> bool:
        """True when the tensor holds integers that stand for real values (scale > 0)."""
        return self.scale > 0.0 and np.issubdtype(self.dtype, np.integer)

    @property
    def dtype_name(self) -> str:
        """The dtype as a short string, e.g. ``"uint8"``."""
        return np.dtype(self.dtype).name

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> TensorSpec:
        """Build a spec from one entry of ``Interpreter.get_input_details()``/``get_output_details()``."""
        scale, zero_point = details.get("quantization", (0.0, 0))
        params = details.get("quantization_parameters") or {}
        scales = params.get("scales")
        zero_points = params.get("zero_points")
        if scales is not None and len(scales) > 0 and zero_points is not None:
            scale, zero_point = float(scales[0]), int(zero_points[0])
        return cls(
            name=str(details.get("name", "")),
            index=int(details["index"]),
            shape=tuple(int(d) for d in details["shape"]),
            dtype=np.dtype(details["dtype"]),
            scale=float(scale),
            zero_point=int(zero_point),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "name": self.name,
            "index": self.index,
            "shape": list(self.shape),
            "dtype": self.dtype_name,
            "scale": self.scale,
            "zero_point": self.zero_point,
        }
