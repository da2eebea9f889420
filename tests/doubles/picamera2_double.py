"""A test double of picamera2's ``Picamera2`` for machines without a Raspberry Pi camera.

It follows the documented API that edgeml uses (the Picamera2 manual, and picamera2's own source for details):
``create_preview_configuration`` / ``create_video_configuration(main=, lores=, buffer_count=, queue=, ...)``,
``configure`` (with picamera2's checks: lores no larger than main, lores must be YUV on a VC4 Pi),
``start``/``stop``/``close``, ``stream_configuration(name)`` with ``size``, ``format``, ``stride`` and
``framesize``, ``capture_array(name)``, and ``capture_request()`` returning a request with ``make_buffer``,
``make_array``, ``get_metadata`` and ``release``. ``Picamera2.platform`` is a ``Platform`` enum (VC4 or PISP).

What it does not invent: the pixels are a real photo, resized to each stream's size and laid out as the ISP
would, rows padded to a 64-byte stride; ``"RGB888"`` is stored B, G, R and ``"XRGB8888"`` B, G, R, X as on a
Pi; YUV420 uses BT.601 limited range (picamera2's default ``Smpte170m`` for video configurations below 1280x720).
Frames arrive on a real clock at ``fps``; ``capture_request`` waits for the next one, and the metadata's
``SensorTimestamp`` (ns) and ``FrameDuration`` (us) reveal frames nobody read.
"""

from __future__ import annotations

import threading
import time
import types
from enum import Enum
from typing import Any, ClassVar

import numpy as np
from PIL import Image

__all__ = ["Picamera2Double", "Platform", "make_module", "rgb_to_i420"]

STRIDE_ALIGN = 64
_BPP = {"RGB888": 3, "BGR888": 3, "XRGB8888": 4, "XBGR8888": 4, "YUV420": 1}


class Platform(Enum):
    """picamera2.platform.Platform."""

    VC4 = 0
    PISP = 1


def rgb_to_i420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 limited-range Y (H, W), U and V (H/2, W/2) planes of a uint8 RGB image with even sides."""
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    h, w = y.shape

    def sub(p: np.ndarray) -> np.ndarray:
        return p.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return tuple(np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, sub(u), sub(v)))  # type: ignore[return-value]


def _layout(rgb: np.ndarray, fmt: str, stride: int) -> np.ndarray:
    """Return the stream buffer (1-D uint8) for ``rgb`` in ``fmt`` with rows padded to ``stride`` bytes."""
    h, w = rgb.shape[:2]
    pad = 0xA5  # visible junk in the padding, as real buffers hold whatever was there before
    if fmt == "YUV420":
        y, u, v = rgb_to_i420(rgb)
        out = np.full(stride * h * 3 // 2, pad, dtype=np.uint8)
        out[: stride * h].reshape(h, stride)[:, :w] = y
        half = stride // 2
        for k, plane in enumerate((u, v)):
            start = stride * h + k * half * (h // 2)
            out[start: start + half * (h // 2)].reshape(h // 2, half)[:, : w // 2] = plane
        return out
    bpp = _BPP[fmt]
    order = {"RGB888": [2, 1, 0], "BGR888": [0, 1, 2], "XRGB8888": [2, 1, 0], "XBGR8888": [0, 1, 2]}[fmt]
    px = rgb[..., order]
    if bpp == 4:
        px = np.concatenate([px, np.full((h, w, 1), 255, np.uint8)], axis=2)
    out = np.full(stride * h, pad, dtype=np.uint8)
    out.reshape(h, stride)[:, : w * bpp] = px.reshape(h, w * bpp)
    return out


class CompletedRequestDouble:
    """picamera2.request.CompletedRequest: the buffers of one frame, to be released exactly once."""

    def __init__(self, cam: Picamera2Double, buffers: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
        self._cam, self._buffers, self._metadata = cam, buffers, metadata
        self.released = False

    def make_buffer(self, name: str) -> np.ndarray:
        """A copy of the stream's 1-D buffer (picamera2 copies out of the mapped dmabuf)."""
        if self.released:
            raise RuntimeError("request already released")
        if name not in self._buffers:
            raise RuntimeError(f"Stream {name!r} is not defined")
        return self._buffers[name].copy()

    def make_array(self, name: str) -> np.ndarray:
        """picamera2's helpers.make_array: YUV420 keeps the stride padding; RGB formats are copied to drop it."""
        buf = self.make_buffer(name)
        cfg = self._cam.stream_configuration(name)
        (w, h), stride, fmt = cfg["size"], cfg["stride"], cfg["format"]
        if fmt == "YUV420":
            return buf.reshape(h * 3 // 2, stride)
        bpp = _BPP[fmt]
        return np.ascontiguousarray(buf.reshape(h, stride)[:, : w * bpp]).reshape(h, w, bpp)

    def get_metadata(self) -> dict[str, Any]:
        return dict(self._metadata)

    def release(self) -> None:
        if self.released:
            raise RuntimeError("CompletedRequest: lock now has negative ref_count")
        self.released = True
        self._cam._outstanding -= 1


class Picamera2Double:
    """Stands in for ``picamera2.Picamera2``. Configure the class with :func:`make_module`."""

    platform = Platform.VC4
    photo: np.ndarray = np.zeros((480, 640, 3), np.uint8)
    fps = 30.0
    num_cameras = 1
    fail_reads = 0  # the next N capture_request calls raise, as a camera whose frontend timed out
    opened: ClassVar[list[Picamera2Double]] = []

    def __init__(self, camera_num: int = 0) -> None:
        if camera_num >= self.num_cameras:
            raise IndexError("list index out of range")
        self.camera_num = camera_num
        self.camera_properties = {"Model": "imx219", "PixelArraySize": (3280, 2464), "Num": camera_num}
        self.sensor_resolution = (3280, 2464)
        self.camera_config: dict[str, Any] | None = None
        self.started = False
        self.closed = False
        self._outstanding = 0
        self._t0 = 0.0
        self._last_frame = -1
        self._lock = threading.Lock()
        type(self).opened.append(self)

    # -- configurations --------------------------------------------------------------------------------------
    def _configuration(self, default_main: tuple[int, int], main: dict[str, Any] | None,
                       lores: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
        config: dict[str, Any] = {**fields, "controls": fields["controls"] or {}, "sensor": fields["sensor"] or {}}
        config["main"] = {"format": "XBGR8888", "size": default_main, **(main or {})}
        config["lores"] = None if lores is None else {"format": "YUV420", "size": config["main"]["size"], **lores}
        return config

    # picamera2's own signatures, parameter for parameter (tests/unit/sources/test_picamera2_contract.py checks
    # them), so a misspelt or misplaced argument fails here as it would on a Pi. None stands for picamera2's mutable
    # {} defaults and its libcamera objects (Transform(), ColorSpace.Sycc()), which the double stores but does not
    # model.
    def create_preview_configuration(self, main: dict[str, Any] | None = None, lores: dict[str, Any] | None = None,
                                     raw: dict[str, Any] | None = None, transform: Any = None,
                                     colour_space: Any = None, buffer_count: int = 4,
                                     controls: dict[str, Any] | None = None, display: str | None = "main",
                                     encode: str | None = "main", queue: bool = True,
                                     sensor: dict[str, Any] | None = None, use_case: str = "preview") -> dict[str, Any]:
        return self._configuration((640, 480), main, lores, raw=raw, transform=transform, colour_space=colour_space,
                                   buffer_count=buffer_count, controls=controls, display=display, encode=encode,
                                   queue=queue, sensor=sensor, use_case=use_case)

    def create_video_configuration(self, main: dict[str, Any] | None = None, lores: dict[str, Any] | None = None,
                                   raw: dict[str, Any] | None = None, transform: Any = None,
                                   colour_space: Any = None, buffer_count: int = 6,
                                   controls: dict[str, Any] | None = None, display: str | None = "main",
                                   encode: str | None = "main", queue: bool = True,
                                   sensor: dict[str, Any] | None = None, use_case: str = "video") -> dict[str, Any]:
        return self._configuration((1280, 720), main, lores, raw=raw, transform=transform, colour_space=colour_space,
                                   buffer_count=buffer_count, controls=controls, display=display, encode=encode,
                                   queue=queue, sensor=sensor, use_case=use_case)

    def configure(self, camera_config: dict[str, Any]) -> None:  # picamera2's parameter name
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        streams = {}
        for name in ("main", "lores"):
            stream = camera_config.get(name)
            if stream is None:
                continue
            fmt = stream["format"]
            if fmt not in _BPP:
                raise RuntimeError(f"Invalid format {fmt!r} for {name} stream")
            # libcamera adjusts odd sizes up to even; the ISP pads rows to its stride alignment.
            w, h = (int(v) + int(v) % 2 for v in stream["size"])
            stride = -(-w * _BPP[fmt] // STRIDE_ALIGN) * STRIDE_ALIGN
            framesize = stride * h * 3 // 2 if fmt == "YUV420" else stride * h
            streams[name] = {"format": fmt, "size": (w, h), "stride": stride, "framesize": framesize}
        if "lores" in streams:
            (mw, mh), (lw, lh) = streams["main"]["size"], streams["lores"]["size"]
            if lw > mw or lh > mh:
                raise RuntimeError("lores stream dimensions may not exceed main stream")
            if self.platform == Platform.VC4 and streams["lores"]["format"] != "YUV420":
                raise RuntimeError("lores stream must be YUV")
        self.camera_config = {**camera_config, **streams}

    def stream_configuration(self, name: str = "main") -> dict[str, Any]:
        if self.camera_config is None or self.camera_config.get(name) is None:
            raise RuntimeError(f"Stream {name!r} is not configured")
        return dict(self.camera_config[name])

    # -- running ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True
        self._t0 = time.monotonic()

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.started = False
        self.closed = True

    def capture_request(self, wait: Any = None, signal_function: Any = None,
                        flush: Any = None) -> CompletedRequestDouble:  # picamera2's order; all three ignored
        if not self.started:
            raise RuntimeError("Camera is not running")
        if type(self).fail_reads > 0:
            type(self).fail_reads -= 1
            raise RuntimeError("Camera frontend has timed out!")
        if self._outstanding >= self.camera_config["buffer_count"]:  # type: ignore[index]
            raise RuntimeError("all buffers are held by unreleased requests: capture would block forever")
        with self._lock:
            period = 1.0 / self.fps
            n = max(self._last_frame + 1, int((time.monotonic() - self._t0) / period) + 1)
            time.sleep(max(0.0, self._t0 + n * period - time.monotonic()))
            self._last_frame = n
        buffers = {}
        for name in ("main", "lores"):
            cfg = self.camera_config.get(name)  # type: ignore[union-attr]
            if cfg is not None:
                img = np.asarray(Image.fromarray(self.photo).resize(cfg["size"], Image.Resampling.BILINEAR))
                buffers[name] = _layout(img, cfg["format"], cfg["stride"])
        self._outstanding += 1
        meta = {"SensorTimestamp": int((self._t0 + n * period) * 1e9), "FrameDuration": int(period * 1e6),
                "ExposureTime": int(period * 5e5)}
        return CompletedRequestDouble(self, buffers, meta)

    def capture_array(self, name: str = "main") -> np.ndarray:
        request = self.capture_request()
        try:
            return request.make_array(name)
        finally:
            request.release()


def make_module(photo: np.ndarray, platform: str = "VC4", fps: float = 60.0, num_cameras: int = 1,
                fail_reads: int = 0) -> types.ModuleType:
    """Return a module object to install as ``sys.modules["picamera2"]``, holding a configured double class."""
    cls = type("Picamera2Double", (Picamera2Double,), {
        "platform": Platform[platform], "photo": photo, "fps": fps, "num_cameras": num_cameras,
        "fail_reads": fail_reads, "opened": []})
    module = types.ModuleType("picamera2")
    module.Picamera2 = cls  # type: ignore[attr-defined]
    return module
