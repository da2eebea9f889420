"""Where a frame lands in the model input: the source box to read and the target rectangle to fill. Pure integers."""

from __future__ import annotations

from dataclasses import dataclass

from edgeml.errors import ModelFormatError
from edgeml.preprocess.settings import Preprocessing
from edgeml.tensors import TensorSpec

__all__ = ["Placement", "crop_box", "input_size", "placement"]

Box = tuple[int, int, int, int]


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


def crop_box(src_hw: tuple[int, int], dst_hw: tuple[int, int], crop_fraction: float) -> Box:
    """Return the centred ``(left, top, right, bottom)`` source box with the target's aspect ratio.

    The box is the largest one of the destination aspect ratio that fits the source, shrunk to ``crop_fraction``;
    cropping and resizing it in one step equals "resize short side to size/crop_fraction, centre-crop size".
    It is never empty: a side that would round to 0 pixels (a 1 x 8 image for a square model) keeps the one
    pixel under the box's centre.
    """
    sh, sw = src_hw
    dh, dw = dst_hw
    scale = min(sh / dh, sw / dw) * crop_fraction
    bw, bh = dw * scale, dh * scale
    left, top = (sw - bw) / 2.0, (sh - bh) / 2.0
    x0, x1 = _span(left, bw, sw)
    y0, y1 = _span(top, bh, sh)
    return x0, y0, x1, y1


def _span(start: float, length: float, total: int) -> tuple[int, int]:
    """Round ``[start, start + length)`` to whole pixels inside ``[0, total)``, at least one pixel long."""
    a, b = round(start), round(start + length)
    if b - a >= 1:
        return a, b
    a = min(max(0, int(start + length / 2.0)), total - 1)
    return a, a + 1


@dataclass(frozen=True)
class Placement:
    """A resize plan: read ``box`` of the source, write it resized into ``rect`` of the target.

    Attributes:
        box: ``(left, top, right, bottom)`` in source pixels (right/bottom exclusive).
        rect: ``(left, top, right, bottom)`` in target pixels; smaller than the target only for letterboxing,
            where the rest is padding.
        target_hw: The target's ``(height, width)``.
    """

    box: Box
    rect: Box
    target_hw: tuple[int, int]

    @property
    def padded(self) -> bool:
        """True when part of the target is letterbox padding."""
        return self.rect != (0, 0, self.target_hw[1], self.target_hw[0])

    @property
    def identity(self) -> bool:
        """True when the source box is copied 1:1 (no resampling needed)."""
        left, top, right, bottom = self.box
        x0, y0, x1, y1 = self.rect
        return (right - left, bottom - top) == (x1 - x0, y1 - y0)


def placement(src_hw: tuple[int, int], dst_hw: tuple[int, int], prep: Preprocessing) -> Placement:
    """Return where a ``src_hw`` frame goes in a ``dst_hw`` input under ``prep.resize``.

    A frame already at the target size is placed 1:1 in every mode (so a camera's hardware-resized frames pass
    through untouched), except ``center_crop`` with ``crop_fraction < 1``, which still crops and upsamples.
    """
    sh, sw = src_hw
    dh, dw = dst_hw
    whole: Box = (0, 0, sw, sh)
    full: Box = (0, 0, dw, dh)
    if prep.resize == "center_crop":
        return Placement(crop_box(src_hw, dst_hw, prep.crop_fraction), full, dst_hw)
    if prep.resize == "letterbox":
        scale = min(dh / sh, dw / sw)
        w, h = max(1, min(dw, round(sw * scale))), max(1, min(dh, round(sh * scale)))
        x0, y0 = (dw - w) // 2, (dh - h) // 2
        return Placement(whole, (x0, y0, x0 + w, y0 + h), dst_hw)
    return Placement(whole, full, dst_hw)
