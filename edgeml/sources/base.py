"""The FrameSource protocol every backend implements, and the small base class they share.

A source is opened, read frame by frame, and closed::

    with open_source("video:street.avi") as src:
        while (frame := src.read()) is not None:
            ...

Contract of :meth:`FrameSource.read`:

- returns the next :class:`~edgeml.frame.Frame` in the source's **native** format (no colour conversion here:
  the classifier converts only the region it uses);
- returns ``None`` at the end of a finite source (file, folder), never for a camera;
- raises :class:`~edgeml.errors.ImageError` when one item cannot be decoded (a corrupt image in a folder):
  the source has moved past it and the next ``read`` continues;
- raises :class:`~edgeml.errors.SourceError` when the source itself failed (camera unplugged). ``close()`` then
  ``open()`` reconnects; file sources resume where they stopped.

``live`` tells the streaming loop how frames arrive: ``True`` when they come on the source's own clock (a camera,
or a file paced in real time), so stale frames are dropped; ``False`` when the reader sets the pace (a file read
as fast as possible), so the loop applies back-pressure and never decodes a frame only to drop it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Protocol, runtime_checkable

import numpy as np

from edgeml.errors import InvalidArgumentError, InvalidSourceError
from edgeml.frame import Frame
from edgeml.frame import parse_size as parse_wh

__all__ = ["BaseSource", "FrameSource", "Pacer", "parse_size"]


@runtime_checkable
class FrameSource(Protocol):
    """What the streaming loop needs from a camera, a video file or a folder of images."""

    name: str
    live: bool

    def open(self) -> None:
        """Acquire the device or file. Raises SourceError when it cannot."""

    def read(self) -> Frame | None:
        """Return the next frame, or None at the end of a finite source."""

    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, *exc: object) -> None: ...


class BaseSource(ABC):
    """Shared plumbing: context manager, frame numbering and timestamps.

    Args:
        name: The source string, e.g. ``"video:street.avi"``; copied into every frame.
        live: See the module docstring.
    """

    def __init__(self, name: str, live: bool) -> None:
        self.name = name
        self.live = live
        self._next_index = 0

    @abstractmethod
    def open(self) -> None:
        """Acquire the device or file."""

    @abstractmethod
    def read(self) -> Frame | None:
        """Return the next frame, or None at the end."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file."""

    def _frame(self, pixels: np.ndarray, fmt: str, width: int = 0, height: int = 0, skipped: int = 0) -> Frame:
        """Wrap ``pixels`` as the next frame; ``skipped`` frames the source passed over leave a gap in ``index``."""
        self._next_index += skipped
        frame = Frame(pixels, fmt, width, height, self._next_index, time.monotonic(), self.name)
        self._next_index += 1
        return frame

    def __enter__(self) -> BaseSource:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, live={self.live})"


class Pacer:
    """Release frames on a fixed clock, as a camera would deliver them.

    Args:
        fps: Frames per second (> 0).
    """

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._start: float | None = None

    def wait(self, index: int) -> int:
        """Sleep until frame ``index`` is due; return how many whole frames late it already is (0 when on time).

        A camera does not wait for a slow reader: a caller that is ``n`` frames late should skip ``n`` frames.
        """
        now = time.monotonic()
        if self._start is None:
            self._start = now - index * self.period
        due = self._start + index * self.period
        if now < due:
            time.sleep(due - now)
            return 0
        return int((now - due) / self.period)

    def reset(self) -> None:
        """Restart the clock (after a reconnect or a loop back to the start)."""
        self._start = None


def parse_size(text: str, spec: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (e.g. ``"640x480"``) in source ``spec`` into ``(width, height)``.

    Raises:
        InvalidSourceError: Not two positive integers separated by ``x``.
    """
    try:
        return parse_wh(text)
    except InvalidArgumentError as exc:
        raise InvalidSourceError(f"Bad frame size {text!r} in source {spec!r}. Write WIDTHxHEIGHT, e.g. "
                                 "640x480.") from exc
