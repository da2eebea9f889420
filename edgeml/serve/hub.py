"""Fan live events out to ``GET /events`` clients without ever slowing the stream.

The dispatcher's thread calls :meth:`EventHub.observe` with each result; the hub turns it into a schema-1 event
(:mod:`edgeml.sinks.events`) at most every ``min_interval_s`` (a screen needs 20 updates a second, not 200), plus a
``heartbeat`` with the results rate and counters every ``heartbeat_s``, a ``change`` when a new top label has held
by the emit policy's rule (:class:`~edgeml.sinks.emit.Emitter`, over every result: the kiosk page takes its label
from those only, so a one-frame flicker never reaches the screen) and every model-store event. It serialises each
event once and hands the text to the server's event loop with ``loop.call_soon_threadsafe``: the thread never
waits for a client. On the loop, each client has a bounded ``asyncio.Queue``; a client that does not keep up (a
stalled browser, a reader that never reads) loses its oldest events, counted in :attr:`EventHub.dropped`, and
nobody else notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgeml.sinks.emit import EmitPolicy, Emitter
from edgeml.sinks.events import EventStamp

if TYPE_CHECKING:
    from edgeml.streaming.stats import StreamResult

__all__ = ["Client", "EventHub"]

QUEUE_SIZE = 64


class Client:
    """One connected event-stream reader: its queue (``None`` in it means: the server is stopping)."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=size)
        self.dropped = 0


class EventHub:
    """Live schema-1 events for event-stream clients.

    Args:
        stamp: Event ids for the live view (its own run id: the sinks' sequence numbers stay gap-free).
        stats: Returns the counters a heartbeat carries (e.g. the results rate and the stream's counters).
        min_interval_s: At most one ``result`` event per this many seconds (the latest wins; 0: every result).
        heartbeat_s: Seconds between two heartbeats (sent with results; none while no result arrives).
        hold: A ``change`` policy: send a ``change`` event when a new top label has held by its ``hold`` and
            ``min_score`` (None: no ``change`` events).
        queue_size: Events a client may fall behind before its oldest are dropped.
    """

    def __init__(self, stamp: EventStamp | None = None, *, stats: Callable[[], dict[str, Any]] | None = None,
                 min_interval_s: float = 0.05, heartbeat_s: float = 1.0, hold: EmitPolicy | None = None,
                 queue_size: int = QUEUE_SIZE, clock: Callable[[], float] = time.monotonic) -> None:
        self.stamp = stamp or EventStamp()
        self._stats = stats or dict
        self.min_interval_s, self.heartbeat_s = min_interval_s, heartbeat_s
        self.queue_size = queue_size
        self._clock = clock
        self._emitter = Emitter(hold) if hold is not None else None
        self._clients: set[Client] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._last_result = self._last_beat = float("-inf")
        self._greeting: dict[str, str] = {}  # the latest event of each type, sent to a client when it connects
        self.dropped = 0
        self.published = 0
        self.closed = False

    # -- the dispatcher's thread -----------------------------------------------------------------------------
    def observe(self, result: StreamResult) -> None:
        """Turn one stream result into the events it is due (a dispatcher observer; never blocks)."""
        now = self._clock()
        for store_event in result.events:
            self.publish(self.stamp.model(store_event, result))
        if self._emitter is not None and self._emitter.offer(result, now) == "change":
            self.publish(self.stamp.result(result, "change"))  # every result counts, not only those sent
        if now - self._last_result >= self.min_interval_s:
            self._last_result = now
            self.publish(self.stamp.result(result))
        if now - self._last_beat >= self.heartbeat_s:
            self._last_beat = now
            self.publish(self.stamp.heartbeat(result, self._safe_stats()))

    def publish(self, event: dict[str, Any]) -> None:
        """Send one event to every client (any thread)."""
        text = json.dumps(event, separators=(",", ":"), default=str)
        with self._lock:
            self._greeting[event.get("type", "")] = text
            loop = self._loop if self._clients else None
        self.published += 1
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone, nobody is listening
                loop.call_soon_threadsafe(self._deliver, text)

    def _safe_stats(self) -> dict[str, Any]:
        try:
            return dict(self._stats())
        except Exception:
            return {}

    # -- the event loop --------------------------------------------------------------------------------------
    def subscribe(self) -> Client:
        """Add a client (call on the server's event loop)."""
        client = Client(self.queue_size)
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        with self._lock:
            self._clients.discard(client)

    def greeting(self) -> list[str]:
        """The latest ``model``, ``heartbeat``, ``change`` and ``result`` events, for a client that just connected."""
        with self._lock:
            return [self._greeting[k] for k in ("model", "heartbeat", "change", "result") if k in self._greeting]

    def _deliver(self, text: str | None) -> None:
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            if client.queue.full():
                client.queue.get_nowait()  # the oldest goes: a live view wants the newest
                client.dropped += 1
                if text is not None:
                    self.dropped += 1
            client.queue.put_nowait(text)

    def close(self) -> None:
        """Tell every client's stream to end (any thread; the server is stopping)."""
        self.closed = True
        with self._lock:
            loop = self._loop if self._clients else None
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._deliver, None)

    def status(self) -> dict[str, Any]:
        """``{"clients": n, "dropped": n, "published": n}``."""
        with self._lock:
            clients = len(self._clients)
        return {"clients": clients, "dropped": self.dropped, "published": self.published}
