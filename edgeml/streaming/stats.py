"""What a streaming run reports: one :class:`StreamResult` per frame and running :class:`StreamStats`."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeml.frame import Frame
from edgeml.postprocess.classification import Classification

__all__ = ["StreamResult", "StreamStats"]

LATENCY_WINDOW = 2048  # latencies kept for the percentiles: bounded, so a months-long run holds constant memory


@dataclass(frozen=True)
class StreamResult:
    """The classification of one frame, or the report of one item that could not be read.

    Attributes:
        index: The frame's number from the source (gaps mean frames were dropped); -1 for an unreadable item.
        timestamp: Wall-clock time (``time.time()`` seconds) the frame was captured.
        results: Top classes, best first; empty when ``error`` is set.
        latency_ms: Capture to result, in milliseconds (includes waiting for the interpreter).
        source: The source string.
        error: Why the item was not classified (e.g. a corrupt image file), else None.
        frame: The frame itself, kept only when the stream was asked to (``keep_frames=True``, for a preview).
        timings: Milliseconds per classifier stage (``preprocess``, ``invoke``, ...) when the classifier reports them.
        model: Which model classified it: ``{"name": ..., "version": ...}`` (a store model's name and integer
            version from its signed manifest; for a plain file, its stem and None).
        events: What changed in the model store since the previous result, e.g. ``{"event": "model_swapped",
            "model": "kiosk", "previous": 2, "version": 3}`` (``model_committed``, ``model_reverted``,
            ``model_load_failed``, ``canary_started``, ``canary_promoted``, ``canary_rejected`` with ``figures``):
            what a results sink publishes.
    """

    index: int
    timestamp: float
    results: tuple[Classification, ...]
    latency_ms: float
    source: str = ""
    error: str | None = None
    frame: Frame | None = field(default=None, repr=False, compare=False)
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    model: dict[str, Any] | None = field(default=None, compare=False)
    events: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON line the CLI prints: ``frame``, ``timestamp``, ``results``, ``latency_ms``, ``model``
        (+ ``error``, ``timings_ms``, ``events``)."""
        d: dict[str, Any] = {"frame": self.index, "timestamp": round(self.timestamp, 6),
                             "results": [r.to_dict() for r in self.results], "latency_ms": round(self.latency_ms, 3)}
        if self.model is not None:
            d["model"] = self.model
        if self.error is not None:
            d["error"] = self.error
        if self.timings:
            d["timings_ms"] = {k: round(v, 3) for k, v in self.timings.items()}
        if self.events:
            d["events"] = list(self.events)
        return d


@dataclass
class StreamStats:
    """Counters of a streaming run; read them any time (a snapshot via :meth:`to_dict`).

    Attributes:
        captured: Frames read from the source.
        frames: Frames classified (results delivered).
        dropped: Frames never classified: stale frames replaced in the latest-frame slot, plus frames the
            source reported skipping (gaps in ``Frame.index``, e.g. a camera outrunning the reader).
        errors: Items that could not be read (corrupt image); each is also delivered as a result with ``error``.
        read_failures: Times the source itself failed (each followed by a reconnect attempt).
        reconnects: Successful re-opens after a failure.
    """

    captured: int = 0
    frames: int = 0
    dropped: int = 0
    errors: int = 0
    read_failures: int = 0
    reconnects: int = 0
    started: float = field(default_factory=time.monotonic)
    last: float = 0.0
    _latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        """Increment counter ``name`` by ``n`` (thread-safe)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def record(self, latency_ms: float) -> None:
        """Count one classified frame and its latency."""
        with self._lock:
            self.frames += 1
            self.last = time.monotonic()
            self._latencies.append(latency_ms)

    @property
    def elapsed_s(self) -> float:
        """Seconds from the start to the latest result."""
        return max(0.0, (self.last or time.monotonic()) - self.started)

    @property
    def fps(self) -> float:
        """Classified frames per second over the run."""
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency_ms(self, q: float) -> float:
        """Latency percentile ``q`` (0-100) over the last frames, in ms (0 before the first result)."""
        with self._lock:
            values = list(self._latencies)
        return float(np.percentile(values, q)) if values else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly snapshot."""
        return {"captured": self.captured, "frames": self.frames, "dropped": self.dropped, "errors": self.errors,
                "read_failures": self.read_failures, "reconnects": self.reconnects,
                "elapsed_s": round(self.elapsed_s, 3), "fps": round(self.fps, 2),
                "latency_p50_ms": round(self.latency_ms(50), 3), "latency_p95_ms": round(self.latency_ms(95), 3)}

    def summary(self) -> str:
        """One line for a log."""
        return (f"{self.frames} frames in {self.elapsed_s:.1f} s ({self.fps:.1f} fps), latency p50 "
                f"{self.latency_ms(50):.1f} ms p95 {self.latency_ms(95):.1f} ms, captured {self.captured}, "
                f"dropped {self.dropped}, errors {self.errors}, read failures {self.read_failures}, "
                f"reconnects {self.reconnects}")
