"""Real frame sources that misbehave the way cameras do in the field, for the stream's fault tests.

These are not doubles: nothing here stands in for hardware. They are FrameSource implementations (the protocol
every backend follows) whose ``read()`` really blocks or really fails, plugged in where any new backend would be:
as an object, or through ``edgeml.sources.SCHEMES`` for the CLI (``--source blocking:3``).
"""

from __future__ import annotations

import threading
from typing import Any

from edgeml.errors import SourceError
from edgeml.frame import RGB, Frame
from edgeml.sources.base import BaseSource
from edgeml.sources.synthetic import colour_bars

__all__ = ["BlockingSource", "VanishingSource", "from_spec", "install"]


class BlockingSource(BaseSource):
    """Delivers ``frames`` frames, then its ``read()`` blocks until :attr:`release` is set (a hung driver).

    Args:
        frames: Frames delivered before the read that hangs.
        live: Whether frames come on the source's clock (a camera) or the reader's.
    """

    def __init__(self, frames: int = 3, live: bool = True, name: str = "blocking") -> None:
        super().__init__(name, live=live)
        self.frames = frames
        self.release = threading.Event()
        self.blocked = threading.Event()  # set once a read is hanging
        self._base = colour_bars(64, 48)

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        if self._next_index >= self.frames:
            self.blocked.set()
            self.release.wait()
        return self._frame(self._base.copy(), RGB)

    def close(self) -> None:
        pass


class VanishingSource(BaseSource):
    """A camera that delivers ``frames`` frames, is then gone for ``outage`` open/read attempts, then comes back.

    Args:
        frames: Frames before it vanishes.
        outage: Consecutive failed attempts (each an ``open()`` or ``read()`` raising SourceError) while it is gone.
    """

    def __init__(self, frames: int = 3, outage: int = 8, name: str = "vanishing") -> None:
        super().__init__(name, live=True)
        self.frames, self.outage = frames, outage
        self.attempts = self.opens = 0
        self._base = colour_bars(64, 48)

    def _gone(self) -> bool:
        if self._next_index < self.frames or self.attempts >= self.outage:
            return False
        self.attempts += 1
        return True

    def open(self) -> None:
        self.opens += 1
        if self.opens > 1 and self._gone():
            raise SourceError(f"Cannot open camera {self.name!r}: no such device (attempt {self.attempts})")

    def read(self) -> Frame:
        if self._gone():
            raise SourceError(f"Camera {self.name!r} stopped delivering frames (unplugged)")
        return self._frame(self._base.copy(), RGB)

    def close(self) -> None:
        pass


def from_spec(spec: str, scheme: str, target: str, **options: Any) -> BlockingSource:
    """Build from ``blocking[:N]``: N frames (read at the reader's pace, so none is dropped), then a read that never
    returns."""
    return BlockingSource(int(target) if target else 3, live=False, name=spec)


def install() -> None:
    """Register ``blocking:N`` as a source scheme, as a new camera backend would be."""
    from edgeml.sources import SCHEMES

    SCHEMES["blocking"] = ("tests.blocking_source", "from_spec", frozenset())
