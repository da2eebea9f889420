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
import json
import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any

import numpy as np

from edgeml.cli._outputs import open_dispatcher, sinks_summary
from edgeml.errors import StreamStalledError
from edgeml.frame import BGR, BGRX, GRAY, I420, NV12, RGB, RGBX, Frame
from edgeml.service.notify import Watchdog
from edgeml.streaming import Stream, StreamResult

log = logging.getLogger("edgeml.cli")


def run_stream(args: argparse.Namespace, stream: Stream) -> int:
    """Classify ``stream`` (built by :func:`edgeml.run.open_run`) until it ends, ``--max-frames`` is reached, or a
    signal arrives."""
    dispatcher = open_dispatcher(args, stats=lambda: stream.stats.to_dict())  # start() renews stats
    printing = "-" not in args.output
    window = _open_preview() if args.preview else None
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
                    _print(result, args.json)
                watchdog.ping()
                if window is not None and not _show(window, stream, result):
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


def _print(result: StreamResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict()), flush=True)
    elif result.error:
        print(f"error: {result.error}", flush=True)
    else:
        top = ", ".join(f"{r.label} {r.score:.1%}" for r in result.results)
        version = result.model.get("version") if result.model else None
        tag = f"  [{result.model['name']} {version}]" if version is not None and result.model else ""
        print(f"frame {result.index}  ({result.latency_ms:.1f} ms)  {top}{tag}", flush=True)


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


def _open_preview() -> Any:
    """Return cv2 with a window open, or None (after saying why) when there is no display or no GUI support."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("edgeml classify: --preview needs a display (DISPLAY / WAYLAND_DISPLAY is not set); "
              "continuing without a preview window.", file=sys.stderr)
        return None
    from edgeml._optional import require

    cv2 = require("cv2", "the --preview window")
    try:
        cv2.namedWindow("edgeml", cv2.WINDOW_NORMAL)
    except cv2.error as exc:
        print(f"edgeml classify: --preview: this OpenCV has no GUI support ({exc.err}); install opencv-python "
              "instead of opencv-python-headless. Continuing without a preview window.", file=sys.stderr)
        return None
    return cv2


def to_bgr(cv2: Any, frame: Frame) -> np.ndarray:
    """Return a contiguous BGR copy of ``frame`` cropped to its visible size (for display only)."""
    w, h, px = frame.width, frame.height, frame.pixels
    if frame.format in (I420, NV12):
        stride = px.shape[1]
        y = px[:h, :w]
        if frame.format == I420:
            u = px[h:h + h // 4].reshape(h // 2, stride // 2)[:, : w // 2]
            v = px[h + h // 4:].reshape(h // 2, stride // 2)[:, : w // 2]
            packed = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)
            return cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_I420)
        packed = np.concatenate([y, px[h:, :w]])
        return cv2.cvtColor(packed, cv2.COLOR_YUV2BGR_NV12)
    codes = {RGB: cv2.COLOR_RGB2BGR, RGBX: cv2.COLOR_RGBA2BGR, BGRX: cv2.COLOR_BGRA2BGR, GRAY: cv2.COLOR_GRAY2BGR}
    view = np.ascontiguousarray(px[:h, :w])
    return view.copy() if frame.format == BGR else cv2.cvtColor(view, codes[frame.format])


def _show(cv2: Any, stream: Stream, result: StreamResult) -> bool:
    """Draw ``result`` on its frame (or the camera's preview stream); return False when the user pressed q."""
    preview = getattr(stream.source, "preview_image", None)
    frame = (preview() if preview else None) or result.frame
    if frame is None:
        return True
    img = to_bgr(cv2, frame)
    label = f"{result.results[0].label} {result.results[0].score:.0%}" if result.results else (result.error or "")
    cv2.putText(img, label, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 0), 2)
    cv2.imshow("edgeml", img)
    return (cv2.waitKey(1) & 0xFF) != ord("q")
