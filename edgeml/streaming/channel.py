"""The hand-over between the capture and inference threads of :mod:`edgeml.streaming`: bounded, stop-aware."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from edgeml.streaming.stats import StreamStats

__all__ = ["POLL", "Channel", "Closed"]

POLL = 0.05  # seconds between stop-event checks in every blocking wait


class Closed(Exception):
    """The channel is closed and empty."""


class Channel:
    """Capture → inference hand-over: a latest-frame slot (``live``) or a bounded FIFO with back-pressure.

    With ``on_demand`` (a file read at a limited rate) the reader decodes a frame only when the inference side
    asks for one, so a frame does not age in the queue while the rate limit holds it back.
    """

    def __init__(self, live: bool, stats: StreamStats, stop: threading.Event, depth: int = 2,
                 on_demand: bool = False, on_drop: Callable[[Any], None] | None = None) -> None:
        self.live, self.stats, self.stop = live, stats, stop
        self.on_drop = on_drop  # told of each stale item replaced in the latest-frame slot (to recycle its buffer)
        self.depth = 1 if live else depth
        self.on_demand = on_demand and not live
        self._items: list[Any] = []
        self._demand = 0
        self._cond = threading.Condition()
        self._closed = False

    def wait_for_space(self) -> None:
        """Block (polling the stop event) until the reader may decode the next frame; live sources never wait."""
        with self._cond:
            while not self.stop.is_set():
                if self.on_demand:
                    if self._demand:
                        self._demand = 0
                        return
                elif self.live or len(self._items) < self.depth:
                    return
                self._cond.wait(POLL)

    def put(self, item: Any) -> None:
        with self._cond:
            if self.live and self._items:
                for stale in self._items:  # the stale frame is dropped and counted, never queued
                    if self.on_drop is not None:
                        self.on_drop(stale)
                self._items.clear()
                self.stats.add("dropped")
            while len(self._items) >= self.depth and not self.stop.is_set():
                self._cond.wait(POLL)  # back-pressure: the reader waits for the interpreter
            self._items.append(item)
            self._cond.notify_all()

    def get(self) -> Any:
        with self._cond:
            if self.on_demand and not self._items:
                self._demand = 1
                self._cond.notify_all()
            while not self._items:
                if self._closed or self.stop.is_set():
                    raise Closed
                self._cond.wait(POLL)
            item = self._items.pop(0)
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
