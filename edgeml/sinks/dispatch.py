"""The dispatcher: results leave the inference thread through one bounded queue, and sinks run on their own thread.

The inference thread only calls :meth:`Dispatcher.submit` (a ``put_nowait``: it never waits for a disk, a broker
or an HTTP client). The dispatcher's thread takes results in batches (what arrives within 50 ms), applies each
sink's emit policy (:mod:`edgeml.sinks.emit`), stamps events (:class:`~edgeml.sinks.events.EventStamp`: one id per
result and type, shared by every sink that sends it), adds heartbeats and the model store's events, and calls
``sink.write(batch)``. When the sinks fall so far behind that the queue fills, results are dropped there and
counted (``dispatch_dropped``) instead of slowing the camera. Observers (the HTTP server's metrics, live events
and kiosk page) see every result.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from edgeml.sinks.base import Sink
from edgeml.sinks.emit import Emitter
from edgeml.sinks.events import EventStamp

if TYPE_CHECKING:
    from edgeml.streaming.stats import StreamResult

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)

QUEUE_SIZE = 4096
BATCH = 256
TICK_S = 0.25  # heartbeats are checked at least this often, results or not
LINGER_S = 0.05
_STOP = object()


class Dispatcher:
    """Send results to sinks and observers off the inference thread.

    Args:
        sinks: Where events go; each keeps its own emit policy.
        stamp: Event ids and device (default: a new :class:`EventStamp`).
        stats: Returns the stream's counters for heartbeats (e.g. ``stream.stats.to_dict``).
        observers: Called with every result, on the dispatcher's thread; an exception is logged, not raised.
        clock: Monotonic clock (tests pass their own).
    """

    def __init__(self, sinks: Sequence[Sink], stamp: EventStamp | None = None, *,
                 stats: Callable[[], dict[str, Any]] | None = None,
                 observers: Sequence[Callable[[StreamResult], Any]] = (), queue_size: int = QUEUE_SIZE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sinks = list(sinks)
        self.stamp = stamp or EventStamp()
        self.observers = list(observers)
        self._stats = stats or dict
        self._clock = clock
        self._emitters = [Emitter(s.policy, clock()) for s in self.sinks]
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._latest: StreamResult | None = None
        self._failures: dict[str, int] = {}
        self.dropped = 0  # results the queue had no room for
        self.submitted = 0

    def start(self) -> Dispatcher:
        """Start the dispatcher's thread (idempotent); return self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="edgeml-sinks", daemon=True)
            self._thread.start()
        return self

    def submit(self, result: StreamResult) -> None:
        """Hand one result over (any thread; never blocks). Dropped and counted when the queue is full."""
        try:
            self._queue.put_nowait(result)
            self.submitted += 1
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then close every sink; returns within about ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            while True:
                try:
                    self._queue.put(_STOP, timeout=0.1)
                    break
                except queue.Full:
                    if time.monotonic() > deadline or not self._thread.is_alive():
                        break
            self._thread.join(max(0.1, deadline - time.monotonic()))
        else:
            self._drain_now()
        for sink in self.sinks:
            try:
                sink.close(max(0.5, deadline - time.monotonic()))
            except Exception as exc:  # a sink that fails to close must not stop the others closing
                log.warning("%s: close failed: %s", sink.name, exc)

    def status(self) -> dict[str, Any]:
        """The dispatcher's and each sink's counters: ``{"dispatch_dropped": n, "sinks": {name: status}}``."""
        sinks = {}
        for s in self.sinks:
            try:
                sinks[s.name] = {**s.status(), "failures": self._failures.get(s.name, 0)}
            except Exception as exc:
                sinks[s.name] = {"error": str(exc)}
        return {"dispatch_dropped": self.dropped, "sinks": sinks}

    # -- the dispatcher's thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            batch: list[Any] = []
            try:
                batch.append(self._queue.get(timeout=TICK_S))
                # Linger a moment for more: one write/fsync/commit per batch instead of per result costs the
                # inference loop's cores far less at camera rates, for LINGER_S more latency to the sink.
                linger = time.monotonic() + LINGER_S
                while len(batch) < BATCH and batch[-1] is not _STOP:
                    batch.append(self._queue.get(timeout=max(0.0, linger - time.monotonic())))
            except queue.Empty:
                pass
            if _STOP in batch:
                stop = True
                batch = [r for r in batch if r is not _STOP]
            self._dispatch(batch)

    def _drain_now(self) -> None:
        batch = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                batch.append(item)
        self._dispatch(batch)

    def _dispatch(self, results: Sequence[StreamResult]) -> None:
        per_sink: list[list[dict[str, Any]]] = [[] for _ in self.sinks]
        for result in results:
            self._observe(result)
            stamped: dict[str, dict[str, Any]] = {}
            for store_event in result.events:
                event = self.stamp.model(store_event, result)
                for out in per_sink:
                    out.append(event)
            now = self._clock()
            for out, emitter in zip(per_sink, self._emitters, strict=True):
                kind = emitter.offer(result, now)
                if kind is not None:
                    if kind not in stamped:
                        stamped[kind] = self.stamp.result(result, kind)
                    out.append(stamped[kind])
            self._latest = result
        now = self._clock()
        beat: dict[str, Any] | None = None
        for out, emitter in zip(per_sink, self._emitters, strict=True):
            if emitter.heartbeat_due(now):
                if beat is None:
                    beat = self.stamp.heartbeat(self._latest, {**self._safe_stats(), "dispatch_dropped": self.dropped})
                out.append(beat)
        for sink, out in zip(self.sinks, per_sink, strict=True):
            if out:
                self._write(sink, out)

    def _observe(self, result: StreamResult) -> None:
        for observer in self.observers:
            try:
                observer(result)
            except Exception as exc:
                log.warning("result observer %r failed: %s", observer, exc)

    def _safe_stats(self) -> dict[str, Any]:
        try:
            return dict(self._stats())
        except Exception:
            return {}

    def _write(self, sink: Sink, events: list[dict[str, Any]]) -> None:
        try:
            sink.write(events)
        except Exception as exc:
            # Said once per sink and then every 100th time: a full disk must not flood the journal either.
            n = self._failures[sink.name] = self._failures.get(sink.name, 0) + 1
            if n == 1 or n % 100 == 0:
                log.warning("%s: could not write %d events (%d failures so far): %s", sink.name, len(events), n, exc)
