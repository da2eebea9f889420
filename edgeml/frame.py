"""A camera frame: pixels plus the byte layout they are in. What every FrameSource yields.

Format names give the **byte order in memory**, never a driver's naming: picamera2's ``"RGB888"`` is stored B, G, R
and is :data:`BGR` here; its ``"XRGB8888"`` is B, G, R, X and is :data:`BGRX`. Sources translate once, at the edge.

Layouts (``H``/``W`` are the visible size; arrays may be wider than ``W`` when rows are padded to a stride):

========  =====================================  ========================================
format    pixels (uint8)                         notes
========  =====================================  ========================================
RGB       (H, >=W, 3)                            PIL, skimage, edgeml's own images
BGR       (H, >=W, 3)                            OpenCV; picamera2 "RGB888"
RGBX      (H, >=W, 4)                            picamera2 "XBGR8888"; RGBA (alpha ignored)
BGRX      (H, >=W, 4)                            picamera2 "XRGB8888"
GRAY      (H, >=W)
I420      (H * 3 // 2, >=W)                      planar Y, then U (H/2 x W/2), then V; picamera2 "YUV420"
NV12      (H * 3 // 2, >=W)                      Y plane, then interleaved UV rows
========  =====================================  ========================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeml.errors import ImageError, InvalidArgumentError

__all__ = ["FORMATS", "Frame", "parse_size"]

RGB, BGR, RGBX, BGRX, GRAY, I420, NV12 = "RGB", "BGR", "RGBX", "BGRX", "GRAY", "I420", "NV12"
FORMATS = (RGB, BGR, RGBX, BGRX, GRAY, I420, NV12)
_CHANNELS = {RGB: 3, BGR: 3, RGBX: 4, BGRX: 4}


@dataclass(frozen=True)
class Frame:
    """One captured frame.

    Attributes:
        pixels: uint8 array in ``format``'s layout (see the module docstring); rows may be stride-padded.
        format: One of :data:`FORMATS`.
        width: Visible width in pixels (``<= pixels.shape[1]``).
        height: Visible height in pixels.
        index: Frame number from the source, counting from 0 (gaps mean frames were dropped).
        timestamp: ``time.monotonic()`` seconds when the frame was captured.
        source: The source string it came from, e.g. ``"video:street.avi"``.
    """

    pixels: np.ndarray
    format: str = RGB
    width: int = 0
    height: int = 0
    index: int = 0
    timestamp: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ImageError(f"Unknown frame format {self.format!r}. Valid: {', '.join(FORMATS)}")
        px = self.pixels
        if not isinstance(px, np.ndarray) or px.dtype != np.uint8:
            raise ImageError(f"Frame pixels must be a uint8 ndarray. Received: "
                             f"{type(px).__name__} {getattr(px, 'dtype', '')}")
        planar = self.format in (I420, NV12)
        rows = px.shape[0] * 2 // 3 if planar else px.shape[0]
        width = self.width or (px.shape[1] if px.ndim >= 2 else 0)
        height = self.height or rows
        object.__setattr__(self, "width", int(width))
        object.__setattr__(self, "height", int(height))
        channels = _CHANNELS.get(self.format)
        ok = (px.ndim == 3 and px.shape[2] == channels) if channels is not None else px.ndim == 2
        if planar:
            ok = ok and px.shape[0] == height * 3 // 2 and height % 2 == 0 and width % 2 == 0
        if not ok or height < 1 or width < 1 or width > px.shape[1] or height > rows:
            expected = {3: "(H, W, 3)", 4: "(H, W, 4)"}.get(channels or 0, "(H * 3 // 2, W)" if planar else "(H, W)")
            raise ImageError(
                f"A {self.format} frame must be uint8 {expected} with even H and W for YUV. "
                f"Received: shape={px.shape}, width={self.width}, height={self.height}."
            )


def parse_size(text: str, layout: str = "WxH") -> tuple[int, int]:
    """Parse a size written ``AxB`` (e.g. ``"640x480"``) into its two positive integers, in the order written.

    Args:
        text: The size, ``x`` or ``X`` between the numbers.
        layout: How the caller's users write it (``"WxH"`` for frames, ``"HxW"`` for tensors), for the message.

    Raises:
        InvalidArgumentError: Not two positive integers separated by ``x``.
    """
    a, sep, b = str(text).strip().lower().partition("x")
    if not sep or not a.isdigit() or not b.isdigit() or int(a) < 1 or int(b) < 1:
        example = "640x480" if layout == "WxH" else "224x224"
        raise InvalidArgumentError(f"Bad size {text!r}: write {layout} with positive integers, e.g. {example}.")
    return int(a), int(b)
