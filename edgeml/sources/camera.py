"""``usb:N`` and ``v4l2:/dev/videoN``: USB / V4L2 cameras through OpenCV, frames BGR as delivered.

MJPEG is requested because most USB cameras offer their higher frame rates only compressed (raw YUYV at 640x480
often tops out at 15-30 fps over USB 2). The driver queue is kept to one buffer so a frame is never older than
the one being captured; the streaming loop's latest-frame slot handles the rest.
"""

from __future__ import annotations

import logging
from typing import Any

from edgeml._optional import require
from edgeml.errors import InvalidSourceError, SourceError
from edgeml.frame import BGR, Frame
from edgeml.sources.base import BaseSource

__all__ = ["CameraSource", "from_spec"]

log = logging.getLogger(__name__)


class CameraSource(BaseSource):
    """A live camera read with ``cv2.VideoCapture``.

    Args:
        device: Camera index (``usb:0``) or device path (``v4l2:/dev/video0``).
        size: ``(width, height)`` to ask for; the driver picks its nearest mode.
        name: The source string.
    """

    def __init__(self, device: int | str, size: tuple[int, int] | None = None, name: str = "") -> None:
        super().__init__(name or f"usb:{device}", live=True)
        self.device = device
        self.size = size
        self.fourcc = ""
        self._cap: Any = None

    def open(self) -> None:
        cv2 = require("cv2", "USB / V4L2 cameras")
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not cap.isOpened():
            raise SourceError(f"Cannot open camera {self.name!r}: no such device, or it is busy or not permitted. "
                              "List cameras with `v4l2-ctl --list-devices`; add your user to the 'video' group.")
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        if self.size:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        self.fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
        log.info("%s: %dx%d %s", self.name, cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT),
                 self.fourcc)
        self._cap = cap

    def read(self) -> Frame:
        if self._cap is None:
            self.open()
        ok, pixels = self._cap.read()
        if not ok or pixels is None:
            raise SourceError(f"Camera {self.name!r} stopped delivering frames (unplugged or reset).")
        return self._frame(pixels, BGR)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def from_spec(spec: str, scheme: str, target: str, *, size: Any = None) -> CameraSource:
    """Build from ``usb:N`` (index) or ``v4l2:/dev/videoN`` (path)."""
    if scheme == "usb":
        if not target.isdigit():
            raise InvalidSourceError(f"{spec!r}: usb takes a camera index, e.g. usb:0. For a device path use v4l2:.")
        device: int | str = int(target)
    else:
        if not target.startswith("/dev/"):
            raise InvalidSourceError(f"{spec!r}: v4l2 takes a device path, e.g. v4l2:/dev/video0.")
        device = target
    return CameraSource(device, tuple(size) if size else None, name=spec)
