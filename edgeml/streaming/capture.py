"""The capture side of a :class:`~edgeml.streaming.Stream`: the source read on its own thread, and reopened.

:class:`Capture` runs on the ``edgeml-capture`` thread: it opens and reads the source under the watchdog's clock
(:mod:`~edgeml.streaming.watchdog`), waits for room in the channel before decoding (back-pressure), counts captured
and dropped frames, and on a failure closes the source and reopens it with back-off
(:mod:`~edgeml.streaming.reconnect`). When the stream prepares on capture, each frame becomes its model input
values here, into a staging buffer from the pipeline's pool, overlapping the previous frame's ``invoke()``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeml.errors import ImageError
from edgeml.frame import Frame
from edgeml.inference.pipeline import Pipeline
from edgeml.sources import FrameSource
from edgeml.streaming.channel import Channel
from edgeml.streaming.reconnect import UNFIXABLE, Reconnect
from edgeml.streaming.stats import StreamStats
from edgeml.streaming.watchdog import StageClock

__all__ = ["Capture", "Item", "recycle"]

log = logging.getLogger("edgeml.streaming.loop")


@dataclass(frozen=True)
class Item:
    """A frame on its way to the interpreter, with its input tensor when the capture thread prepared it."""

    frame: Frame
    tensor: np.ndarray | None = None
    preprocess_s: float = 0.0
    pipeline: Pipeline | None = None  # the one that prepared ``tensor`` (a hot swap may replace it meanwhile)


def recycle(item: Any, current: Pipeline) -> None:
    """Hand a dropped or consumed item's staging buffer back to the pool it came from."""
    if isinstance(item, Item) and item.tensor is not None:
        (item.pipeline or current).buffers.release(item.tensor)


class Capture:
    """Read ``source`` into ``channel`` until it ends, the stream stops, or it cannot be reopened.

    Args:
        source, channel, clock, stop: The stream's source, hand-over, watchdog clock and stop event.
        stats: Returns the stream's current counters (a started stream renews them).
        pipeline: Returns the stream's current pipeline (a hot swap replaces it between two frames).
        prepare: Turn frames into input values here (``prepare="capture"``) instead of on the inference thread.
        retries, startup_retries: As for :class:`~edgeml.streaming.Stream`.
        on_error: Called with the error that ended the source for good.
    """

    def __init__(self, source: FrameSource, channel: Channel, clock: StageClock, stop: threading.Event, *,
                 stats: Callable[[], StreamStats], pipeline: Callable[[], Pipeline], prepare: bool,
                 retries: int | None, startup_retries: int, on_error: Callable[[BaseException], None]) -> None:
        self.source, self.channel, self.clock, self.stop = source, channel, clock, stop
        self.stats, self.pipeline, self.prepare = stats, pipeline, prepare
        self.reconnect = Reconnect(source.name, retries, startup_retries)
        self.on_error = on_error
        self._last_index: int | None = None

    def run(self) -> None:
        """The capture thread's body."""
        is_open = False
        try:
            while not self.stop.is_set():
                try:
                    if not is_open:
                        self._open()
                        is_open = True
                    self.channel.wait_for_space()  # back-pressure before decoding, not after
                    if self.stop.is_set():
                        break
                    self.clock.begin("source", "read()")
                    frame = self.source.read()
                    self.clock.end("source")
                except ImageError as exc:  # one unreadable item; the source goes on
                    self.clock.end("source")
                    self.stats().add("errors")
                    log.warning("%s", exc)
                    self.channel.put(exc)
                    continue
                except UNFIXABLE as exc:
                    self.clock.end("source")
                    self.on_error(exc)
                    break
                except Exception as exc:
                    self.clock.end("source")
                    is_open = False
                    if not self._reopen_after(exc):
                        break
                    continue
                if frame is None:  # end of a finite source
                    break
                self.reconnect.frame_arrived()
                self._count_gap(frame)
                self.channel.put(self._prepared(frame))
        finally:
            self.channel.close()
            if is_open:
                self._safe_close()

    def _open(self) -> None:
        self.clock.begin("source", "open()")
        self.source.open()
        self.clock.end("source")
        if self.reconnect.failures:
            self.stats().add("reconnects")

    def _reopen_after(self, exc: Exception) -> bool:
        """Count the failure, close the source and wait out the back-off; False when the retries ran out."""
        self.stats().add("read_failures")
        self._safe_close()
        try:
            delay = self.reconnect.failed(exc)
        except Exception as final:
            self.on_error(final)
            return False
        log.warning("%s failed (%s); reconnecting in %.1f s (attempt %d)", self.source.name, exc, delay,
                    self.reconnect.failures)
        self.stop.wait(delay)
        return True

    def _prepared(self, frame: Frame) -> Item | ImageError:
        """Turn ``frame`` into its input values now, on the capture thread, when the split is enabled."""
        if not self.prepare:
            return Item(frame)
        t = time.perf_counter()
        pipeline = self.pipeline()  # read once: a hot swap may replace it while this frame is prepared
        buffer = pipeline.buffers.acquire()
        try:
            pipeline.prepare(frame, buffer)
        except ImageError as exc:  # a frame the classifier cannot read: reported like an unreadable file
            pipeline.buffers.release(buffer)
            self.stats().add("errors")
            return exc
        return Item(frame, buffer, time.perf_counter() - t, pipeline)

    def _count_gap(self, frame: Frame) -> None:
        stats = self.stats()
        stats.add("captured")
        if self._last_index is not None and frame.index > self._last_index + 1:
            stats.add("dropped", frame.index - self._last_index - 1)
        self._last_index = frame.index

    def _safe_close(self) -> None:
        self.clock.begin("source", "close()")
        try:
            self.source.close()
        except Exception as exc:  # a dying camera may fail to close too; reopening is what matters
            log.debug("closing %s failed: %s", self.source.name, exc)
        finally:
            self.clock.end("source")
