"""The live state of a served stream: latest result, recent results rate, model, and the latest frame (preview).

Written by the dispatcher's thread (:meth:`LiveState.observe`), read by the HTTP server's threads; every access
takes one short lock, so neither side waits for the other for more than a few attribute copies.
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeml.frame import GRAY, I420, NV12, Frame

if TYPE_CHECKING:
    from edgeml.streaming.stats import StreamResult

__all__ = ["LiveState", "RateMeter", "frame_jpeg", "model_version"]

RATE_WINDOW_S = 2.0


def model_version(model: dict[str, Any] | None) -> str:
    """The version string TF Serving clients and metrics see: the store's integer version, ``"0"`` for a file."""
    version = (model or {}).get("version")
    return "0" if version is None else str(version)


class RateMeter:
    """Events per second over the last ``window_s`` seconds (bounded memory: at most ``maxlen`` timestamps)."""

    def __init__(self, window_s: float = RATE_WINDOW_S, maxlen: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._times: deque[float] = deque(maxlen=maxlen)

    def tick(self) -> None:
        self._times.append(self._clock())

    def rate(self) -> float:
        now = self._clock()
        times = [t for t in list(self._times) if now - t <= self.window_s]
        span = times[-1] - times[0] if len(times) >= 2 else 0.0
        return (len(times) - 1) / span if span > 0 else 0.0


class LiveState:
    """What the kiosk page, ``/readyz`` and ``/metrics`` read about the running stream.

    Args:
        model: The model before any result arrived: ``{"name": ..., "version": ...}``.
        keep_frames: Keep the latest frame (``--preview`` only; otherwise frames die with their result).
        streaming: True when a stream feeds this state (``/readyz`` then asks for fresh results).
    """

    def __init__(self, model: dict[str, Any], *, keep_frames: bool = False, streaming: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.model = dict(model)
        self.keep_frames = keep_frames
        self.streaming = streaming
        self._clock = clock
        self._lock = threading.Lock()
        self._meter = RateMeter(clock=clock)
        self._latest: StreamResult | None = None
        self._latest_at: float | None = None
        self._frame: Frame | None = None
        self.ended: str | None = None  # why the stream stopped, once it has

    def observe(self, result: StreamResult) -> None:
        """Take one stream result (the dispatcher's thread)."""
        with self._lock:
            self._latest, self._latest_at = result, self._clock()
            if result.model is not None:
                self.model = dict(result.model)
            if self.keep_frames and result.frame is not None:
                self._frame = result.frame
            self._meter.tick()

    @property
    def latest(self) -> StreamResult | None:
        with self._lock:
            return self._latest

    def fps(self) -> float:
        """Results per second over the last two seconds."""
        with self._lock:
            return self._meter.rate()

    def age_s(self) -> float | None:
        """Seconds since the latest result (None before the first)."""
        with self._lock:
            return None if self._latest_at is None else self._clock() - self._latest_at

    def latest_frame(self) -> Frame | None:
        with self._lock:
            return self._frame

    def snapshot(self) -> dict[str, Any]:
        """A JSON-friendly view: label, score, fps, model, frame index, age."""
        with self._lock:
            latest, model = self._latest, dict(self.model)
            fps = self._meter.rate()
        top = latest.results[0] if latest is not None and latest.results else None
        return {"label": top.label if top else None, "score": round(float(top.score), 4) if top else None,
                "fps": round(fps, 2), "model": model, "frame": latest.index if latest is not None else None,
                "error": latest.error if latest is not None else None}


def frame_rgb(frame: Frame) -> np.ndarray:
    """Return ``frame``'s visible pixels as uint8 ``(H, W, 3)`` RGB, or ``(H, W)`` for a grey frame."""
    w, h = frame.width, frame.height
    if frame.format in (I420, NV12):
        from edgeml.preprocess.colour import yuv_region_to_rgb

        rgb, (left, top, right, bottom) = yuv_region_to_rgb(frame, (0, 0, w, h))
        return rgb[top:bottom, left:right]
    px = frame.pixels[:h, :w]
    if frame.format == GRAY:
        return np.ascontiguousarray(px)
    from edgeml.preprocess.colour import reorder

    return reorder(px, frame.format, np.empty((h, w, 3), np.uint8))


def frame_jpeg(frame: Frame, quality: int = 80) -> bytes:
    """Encode ``frame`` as a JPEG (Pillow), for ``/preview.jpg``."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(frame_rgb(frame)).save(out, "JPEG", quality=quality)
    return out.getvalue()
