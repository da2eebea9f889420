"""``picamera2[:N]``: the Raspberry Pi camera through picamera2, reading its ``lores`` stream.

The ISP scales the sensor image down to the ``lores`` stream for free, so it is configured at the model's input
size (made even, and no larger than ``main``, which picamera2 requires). Formats differ by platform:

- Pi 4 and earlier (VC4 ISP): lores must be YUV420 → :data:`~edgeml.frame.I420` frames.
- Pi 5 (PiSP): lores may be RGB; ``"RGB888"`` is stored B, G, R → :data:`~edgeml.frame.BGR` frames.

Rows are padded to the stream's ``stride`` (bytes). The source copies the buffer once with
``request.make_buffer("lores")`` and returns a strided view cropped to the visible width, instead of
``make_array``, which for RGB copies a second time to drop the padding. ``main`` stays configured (at the lores
size unless a preview is wanted) and, with ``preview=True``, its latest image is kept for a preview window.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from edgeml._optional import require
from edgeml.errors import InvalidSourceError, SourceError
from edgeml.frame import BGR, BGRX, I420, RGB, RGBX, Frame
from edgeml.sources.base import BaseSource

__all__ = ["PiCameraSource", "from_spec", "lores_size", "view_rows"]

log = logging.getLogger(__name__)

# picamera2 format name -> (edgeml format, bytes per pixel of the first plane)
_FORMATS = {"YUV420": (I420, 1), "RGB888": (BGR, 3), "BGR888": (RGB, 3), "XRGB8888": (BGRX, 4),
            "XBGR8888": (RGBX, 4)}
PREVIEW_SIZE = (640, 480)


def lores_size(size: tuple[int, int], main: tuple[int, int]) -> tuple[int, int]:
    """Return the lores ``(width, height)`` closest to ``size`` that the ISP accepts: even, and within ``main``."""
    w, h = (min(v + (v % 2), m - (m % 2)) for v, m in zip(size, main, strict=True))
    return max(2, w), max(2, h)


def view_rows(buffer: np.ndarray, fmt: str, size: tuple[int, int], stride: int) -> np.ndarray:
    """Lay a stream's 1-D uint8 buffer out as image rows without copying.

    Args:
        buffer: uint8, 1-D, at least ``stride * rows`` bytes (``request.make_buffer(name)``).
        fmt: picamera2 format name: ``"YUV420"``, ``"RGB888"`` or ``"XRGB8888"``.
        size: Visible ``(width, height)``.
        stride: Bytes per row of the first plane (``stream_configuration(name)["stride"]``).

    Returns:
        YUV420: ``(height * 3 // 2, stride)``, padding kept (the Frame's width says what is visible).
        RGB888 / XRGB8888: ``(height, width, 3|4)`` view whose rows step by ``stride`` bytes.
    """
    w, h = size
    if fmt == "YUV420":
        return buffer[: stride * h * 3 // 2].reshape(h * 3 // 2, stride)
    channels = _FORMATS[fmt][1]
    rows = buffer[: stride * h]
    return np.lib.stride_tricks.as_strided(rows, shape=(h, w, channels), strides=(stride, channels, 1),
                                           writeable=False)


class PiCameraSource(BaseSource):
    """A Raspberry Pi camera's lores stream.

    Args:
        camera_num: Camera index (``picamera2:1`` for the second camera).
        size: Wanted frame ``(width, height)``, normally the model's input size.
        preview: Also keep the ``main`` stream at 640x480 for a preview window (see :meth:`preview_image`).
        name: The source string.
    """

    def __init__(self, camera_num: int = 0, size: tuple[int, int] = (224, 224), preview: bool = False,
                 name: str = "", lores_format: str | None = None) -> None:
        super().__init__(name or f"picamera2:{camera_num}", live=True)
        self.camera_num = camera_num
        self.size = size
        self.preview = preview
        if lores_format is not None and lores_format not in _FORMATS:
            raise InvalidSourceError(f"{self.name!r}: lores format must be one of {', '.join(_FORMATS)} "
                                     f"(picamera2's names). Received: {lores_format!r}")
        self.lores_format = lores_format  # None: YUV420 on VC4 (Pi 4 and older, the only choice), else RGB888
        self.platform = ""
        self.lores: dict[str, Any] = {}
        self._cam: Any = None
        self._last_main: np.ndarray | None = None
        self._last_ts: int | None = None

    def open(self) -> None:
        picamera2 = require("picamera2")
        cls = picamera2.Picamera2
        try:
            cam = cls(self.camera_num)
        except Exception as exc:  # picamera2 raises IndexError/RuntimeError for a missing or busy camera
            raise SourceError(f"Cannot open Raspberry Pi camera {self.camera_num} ({exc}). Check the ribbon cable, "
                              "`rpicam-hello --list-cameras`, and that no other program holds the camera.") from exc
        try:
            platform = getattr(getattr(cls, "platform", None), "name", "VC4")
            self.platform = platform
            main_size = (max(PREVIEW_SIZE[0], self.size[0]), max(PREVIEW_SIZE[1], self.size[1])) \
                if self.preview else tuple(v + v % 2 for v in self.size)
            lores = lores_size(self.size, main_size)  # type: ignore[arg-type]
            fmt = self.lores_format or ("YUV420" if platform == "VC4" else "RGB888")
            config = cam.create_video_configuration(
                main={"size": main_size, "format": "XRGB8888"}, lores={"size": lores, "format": fmt},
                buffer_count=4, queue=False, display=None, encode=None)
            cam.configure(config)
            self.lores = dict(cam.stream_configuration("lores"))
            if self.lores["format"] not in _FORMATS:
                raise SourceError(f"picamera2 gave a lores stream in {self.lores['format']!r}; edgeml reads "
                                  f"{', '.join(_FORMATS)}.")
            cam.start()
        except Exception as exc:
            cam.close()
            if isinstance(exc, SourceError):
                raise
            raise SourceError(f"Configuring Raspberry Pi camera {self.camera_num} failed ({exc}).") from exc
        log.info("%s: %s lores %s %s stride %s", self.name, platform, self.lores["size"], self.lores["format"],
                 self.lores["stride"])
        self._cam = cam
        self._last_ts = None

    def read(self) -> Frame:
        if self._cam is None:
            self.open()
        try:
            request = self._cam.capture_request()
            try:
                buffer = request.make_buffer("lores")
                meta = request.get_metadata()
                if self.preview:
                    self._last_main = request.make_array("main")
            finally:
                request.release()
        except Exception as exc:
            raise SourceError(f"Raspberry Pi camera {self.camera_num} stopped delivering frames ({exc}).") from exc
        fmt, _ = _FORMATS[self.lores["format"]]
        size = tuple(self.lores["size"])
        pixels = view_rows(buffer, self.lores["format"], size, int(self.lores["stride"]))
        return self._frame(pixels, fmt, size[0], size[1], skipped=self._missed(meta))

    def _missed(self, meta: dict[str, Any]) -> int:
        """Frames the sensor produced since the last capture that nobody read, from the request timestamps."""
        ts, duration = meta.get("SensorTimestamp"), meta.get("FrameDuration")  # ns, us
        last, self._last_ts = self._last_ts, ts
        if ts is None or last is None or not duration:
            return 0
        return max(0, round((ts - last) / (duration * 1000.0)) - 1)

    def preview_image(self) -> Frame | None:
        """Return the latest ``main`` stream image (BGRX, 640x480) when opened with ``preview=True``."""
        if self._last_main is None:
            return None
        return Frame(self._last_main, BGRX, source=self.name)

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
            finally:
                cam.close()


def from_spec(spec: str, scheme: str, target: str, *, size: Any = None, preview: bool = False,
              lores_format: str | None = None) -> PiCameraSource:
    """Build from ``picamera2`` or ``picamera2:N`` (``lores_format``: picamera2's name, from the board profile)."""
    if target and not target.isdigit():
        raise InvalidSourceError(f"{spec!r}: picamera2 takes a camera index, e.g. picamera2:0.")
    wh = (int(size[0]), int(size[1])) if size else (224, 224)
    return PiCameraSource(int(target or 0), wh, preview=preview, name=spec, lores_format=lores_format)
