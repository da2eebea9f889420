"""The ``--source`` side of ``edgeml classify``: run a :class:`~edgeml.streaming.Stream`, print results, stop cleanly.

Results go to stdout (``--json``: one object per frame), the closing statistics to stderr. SIGINT and SIGTERM stop
the stream (handlers installed here, on the main thread, and restored afterwards), and the stats are printed however
it ended. SIGHUP depends on the model: for a model that follows the store (``--model store:NAME``) it is a reload
request, as for most daemons (``systemctl reload``): the stream looks at the store's ``current`` pointer and canary
request at once instead of at its next poll, and goes on; for a file (or a pinned ``store:NAME@V``) it stops the
stream like SIGINT, since that is what a closed terminal or ssh session sends. When the stream's watchdog finds a
stuck camera read or ``invoke()`` (``--source-timeout``, ``--invoke-timeout``), the error and the stats are
printed and the process exits 1 at once, without waiting for the stuck thread, so that systemd restarts the kiosk.
Frames stay in memory: nothing is written to disk or sent anywhere (a store model's health state, never a frame,
is written to the store); ``--preview`` only draws them in a local window. Results leave the process only through
``--output`` sinks (:mod:`edgeml.sinks`), as schema-1 events handed to the dispatcher's thread, so a slow disk or
broker never holds up the camera; ``--output -`` then owns stdout (events instead of the per-frame lines).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any

from edgeml.cli._outputs import open_dispatcher, sinks_summary
from edgeml.cli._preview import open_preview, show
from edgeml.cli._print import print_result
from edgeml.errors import StreamStalledError
from edgeml.service.notify import Watchdog
from edgeml.streaming import Stream

log = logging.getLogger("edgeml.cli")


def run_stream(args: argparse.Namespace, stream: Stream) -> int:
    """Classify ``stream`` (built by :func:`edgeml.run.open_run`) until it ends, ``--max-frames`` is reached, or a
    signal arrives."""
    dispatcher = open_dispatcher(args, stats=lambda: stream.stats.to_dict())  # start() renews stats
    printing = "-" not in args.output
    window = open_preview() if args.preview else None
    # Under the kiosk unit (`edgeml service install`, Type=notify, WatchdogSec): READY once the model is loaded,
    # then a ping per result, so a stalled camera or pipeline is restarted by systemd. A no-op anywhere else.
    watchdog = Watchdog.from_env()
    watchdog.ready()
    with _stop_on_signals(stream) as received:
        try:
            for result in stream:
                if dispatcher is not None:
                    dispatcher.submit(result)
                if printing:
                    print_result(result, args.json)
                watchdog.ping()
                if window is not None and not show(window, stream, result):
                    stream.stop()
        except StreamStalledError as exc:
            if dispatcher is not None:
                dispatcher.close(timeout=2.0)  # what is committed stays committed; a short wait for the rest
            _exit_stalled(exc, stream)
        finally:  # the stats line is printed however the stream ended, a failure included
            if received:
                print(f"edgeml classify: stopped by {received[0]}", file=sys.stderr)
            print(f"edgeml classify: {stream.stats.summary()}", file=sys.stderr)
            if dispatcher is not None:
                dispatcher.close(timeout=5.0)
                print(f"edgeml classify: sent {sinks_summary(dispatcher)}", file=sys.stderr)
    return 1 if stream.stats.errors else 0


def _exit_stalled(exc: StreamStalledError, stream: Stream) -> None:
    """Print the error and the stats, then leave at once with status 1.

    A thread stuck in a driver or in the interpreter's native code cannot be stopped, and finalising Python under
    it could free the interpreter it is running in; ``os._exit`` ends the process without that risk.
    """
    from edgeml.cli import one_line

    print(f"edgeml classify: {stream.stats.summary()}", file=sys.stderr)
    print(f"edgeml classify: error: {one_line(exc)}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


@contextmanager
def _stop_on_signals(stream: Stream) -> Any:
    """Route SIGINT/SIGTERM/SIGHUP to ``stream.stop()`` while the block runs; yields the names of signals received.

    SIGHUP is what a closed terminal or ``ssh`` session sends: the stream ends with its stats, like Ctrl-C; unless
    it follows the model store, where SIGHUP asks it to look at the store now (see the module docstring).
    """
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, _frame: Any) -> None:
        if signum == getattr(signal, "SIGHUP", None) and stream.check_model():
            return  # a reload request: the model watcher looks at the store now
        received.append(signal.Signals(signum).name)
        stream.stop()

    stops = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {s: signal.signal(s, handler) for s in stops}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
