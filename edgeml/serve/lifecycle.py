"""How an ``edgeml serve`` process lives and stops: the stream's end seen by the server, and the signals.

A failing stream (stuck camera, dead source) stops the server with exit 1, so systemd restarts the kiosk; a finite
source that ended leaves the REST API running. While uvicorn runs, SIGINT/SIGTERM are only noted (uvicorn drains
and stops), and SIGHUP reloads a store model's stream or, for a file, stops the server like a closed terminal.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ServeSignals", "start_background", "stop_background", "watch_stream"]

log = logging.getLogger("edgeml.cli")


def watch_stream(stream: Any, state: Any, server: Any) -> None:
    """Say when the stream stops: a failure (stuck camera, dead source) stops the server with exit 1 so that
    systemd restarts the kiosk; a finite source that ended leaves the REST API running (/readyz fails)."""
    while stream.running:
        time.sleep(0.25)
    if stream.error is not None:
        state.live.ended = f"{type(stream.error).__name__}: {stream.error}"
        state.hub.close()
        server.should_exit = True
    elif not server.should_exit:
        state.live.ended = "the source ended"
        log.info("edgeml serve: the source ended after %d frames; the REST API goes on", stream.stats.frames)


class ServeSignals:
    """Handlers for the duration of ``server.run()``: uvicorn replaces SIGINT/SIGTERM's while it runs and raises
    them again when it returns, so ours only take note (the process then exits 0 after a clean stop); SIGHUP
    reloads a store model's stream, and stops the server otherwise (a closed terminal)."""

    def __init__(self, stream: Any, on_stop: Callable[[], None], server: Any = None) -> None:
        self.stream, self.server, self.on_stop = stream, server, on_stop
        self.received: list[str] = []  # the names of the signals that stopped the server
        self.previous: dict[int, Any] = {}

    def exiting(self, signum: int) -> None:
        """uvicorn's ``on_exit``: SIGINT/SIGTERM stop the server; open event streams end now, not at the drain."""
        self.received.append(signal.Signals(signum).name)
        self.on_stop()

    def _noted(self, signum: int, _frame: Any) -> None:
        if not self.received:
            self.received.append(signal.Signals(signum).name)

    def _hup(self, signum: int, _frame: Any) -> None:
        if self.stream is not None and self.stream.check_model():
            return
        self._noted(signum, _frame)
        self.on_stop()
        self.server.should_exit = True

    def __enter__(self) -> ServeSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._noted)
            if hasattr(signal, "SIGHUP"):
                self.previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._hup)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def start_background(stream: Any, state: Any, server: Any, dispatcher: Any) -> None:
    """Feed the stream's results to the dispatcher (whose observers are the routes' state), start the stream and
    watch for its end."""
    if dispatcher is not None:
        state.metrics.dispatcher_status = dispatcher.status
        stream.on_result = dispatcher.submit
    stream.start()
    threading.Thread(target=watch_stream, args=(stream, state, server), name="edgeml-serve-watch",
                     daemon=True).start()


def stop_background(stream: Any, dispatcher: Any) -> None:
    """Stop the stream, then the dispatcher, each wait bounded (a stuck camera cannot hold the exit)."""
    stream.stop()
    stream.join(5.0)
    if dispatcher is not None:
        dispatcher.close(timeout=3.0)
