"""``synthetic[:WxH]``: a generated test pattern, for trying the loop and measuring it without a camera.

The pattern is eight colour bars (white, yellow, cyan, green, magenta, red, blue, black) over the top two thirds,
a left-to-right grey ramp below them, and a white square that moves one step per frame so consecutive frames
differ. It is computed once at :meth:`SyntheticSource.open`; each frame costs one copy of the base image plus the
square, so the source uses almost no CPU. No photos, no extra packages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeml.errors import InvalidSourceError
from edgeml.frame import RGB, Frame
from edgeml.sources.base import BaseSource, Pacer, parse_size

__all__ = ["SyntheticSource", "colour_bars", "from_spec"]

_BARS = np.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
                  [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]], dtype=np.uint8)


def colour_bars(width: int, height: int) -> np.ndarray:
    """Return the base pattern, uint8 ``(height, width, 3)`` RGB: colour bars above a grey ramp."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    split = max(1, height * 2 // 3)
    columns = (np.arange(width) * len(_BARS)) // width
    img[:split] = _BARS[columns][None, :, :]
    ramp = np.linspace(0, 255, width).astype(np.uint8)
    img[split:] = ramp[None, :, None]
    return img


class SyntheticSource(BaseSource):
    """Endless frames of :func:`colour_bars` with a moving square.

    Args:
        size: ``(width, height)`` of the frames.
        fps: Deliver frames at this rate like a camera (``live``); None: as fast as the reader asks.
        name: The source string.
    """

    def __init__(self, size: tuple[int, int] = (640, 480), fps: float | None = None, name: str = "synthetic"):
        if fps is not None and fps <= 0:
            raise InvalidSourceError(f"fps must be > 0 for {name!r}. Received: {fps}")
        super().__init__(name, live=fps is not None)
        self.width, self.height = size
        self._pacer = Pacer(fps) if fps else None
        self._base: np.ndarray | None = None

    def open(self) -> None:
        self._base = colour_bars(self.width, self.height)
        if self._pacer:
            self._pacer.reset()

    def read(self) -> Frame:
        if self._base is None:
            self.open()
        assert self._base is not None
        skipped = self._pacer.wait(self._next_index) if self._pacer else 0
        pixels = self._base.copy()
        side = max(2, min(self.width, self.height) // 8)
        step = self._next_index + skipped
        x = (step * 4) % max(1, self.width - side)
        y = (step * 2) % max(1, self.height - side)
        pixels[y:y + side, x:x + side] = 255
        return self._frame(pixels, RGB, skipped=skipped)

    def close(self) -> None:
        self._base = None


def from_spec(spec: str, scheme: str, target: str, *, size: Any = None, fps: float | None = None,
              realtime: bool = False) -> SyntheticSource:
    """Build from ``synthetic[:WxH]``; ``realtime`` without ``fps`` means 30 frames/s."""
    wh = parse_size(target, spec) if target else (tuple(size) if size else (640, 480))
    if realtime and fps is None:
        fps = 30.0
    return SyntheticSource((int(wh[0]), int(wh[1])), fps=fps, name=spec)
