"""``edgeml serve``: TF Serving's REST API, Prometheus metrics, live events and a kiosk page for one model.

With ``--source`` a :class:`~edgeml.streaming.Stream` runs in the background: its results go through a
:class:`~edgeml.sinks.dispatch.Dispatcher` whose observers feed the metrics, the live state and the event hub
(:mod:`edgeml.serve`), so no HTTP client can slow the camera. REST requests run on a second classifier of their
own. SIGINT/SIGTERM stop the server (uvicorn drains for a few seconds), then the stream and the dispatcher, each
wait bounded; SIGHUP asks a store model's stream to look at the store now, and stops the server otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from edgeml.cli._args import (
    add_model_options,
    add_run_options,
    board_for,
    non_negative_float,
    positive_float,
    positive_int,
    probability,
    run_options,
    show_settings,
)
from edgeml.cli._outputs import add_output_options, open_dispatcher, sinks_summary
from edgeml.cli._store import begin_store_run
from edgeml.serve.access import DEFAULT_HOST, DEFAULT_PORT, check_bind

log = logging.getLogger("edgeml.cli")

TOKEN_ENV = "EDGEML_SERVE_TOKEN"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve", help="serve a model over HTTP (TF Serving REST API, /metrics, live events, kiosk page)",
        description="Serve --model over HTTP on 127.0.0.1:8501: TF Serving's REST API (/v1/models/NAME:predict, "
                    ":classify), Prometheus /metrics, /healthz, /readyz, live server-sent /events and a kiosk page "
                    "at /. With --source a stream is classified in the background and shown live. Needs "
                    "edgeml[serve]. A non-loopback --host needs --token (or --insecure-public).")
    add_model_options(p)
    p.add_argument("--name", help="the model name clients use in /v1/models/NAME (default: the store name or the "
                                  "file's stem)")
    p.add_argument("--top-k", type=positive_int, default=5, help="classes per result (default: 5)")
    p.add_argument("--threshold", type=probability, default=0.0, help="hide classes scoring below this (default: 0)")
    add_run_options(p)
    g = p.add_argument_group("the HTTP server")
    g.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST}, this "
                                                        "machine only)")
    g.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default: {DEFAULT_PORT})")
    g.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None, metavar="TOKEN",
                   help=f"require 'Authorization: Bearer TOKEN' (or ?token=TOKEN for the page) on every route but "
                        f"/healthz (default: ${TOKEN_ENV}, which keeps it out of the process list)")
    g.add_argument("--insecure-public", action="store_true",
                   help="allow a non-loopback --host without --token (trusted networks only)")
    g.add_argument("--preview", action="store_true",
                   help="serve the latest camera frame at /preview.jpg and show it on the page (loopback only)")
    g.add_argument("--ready-after", type=positive_float, default=10.0, metavar="S",
                   help="/readyz fails when the stream has had no result for S seconds (default: 10)")
    s = p.add_argument_group("the background stream")
    s.add_argument("--source", help="classify this stream in the background: picamera2, usb:0, video:PATH, "
                                    "images:DIR, synthetic, or camera (the board's camera)")
    s.add_argument("--fps", type=positive_float, default=None, help="classify at most N frames per second")
    s.add_argument("--realtime", action="store_true", help="pace a video file like a camera (drops when slow)")
    s.add_argument("--loop", action="store_true", help="restart a video or image folder at its end")
    s.add_argument("--source-timeout", type=non_negative_float, default=20.0, metavar="S",
                   help="stop (exit 1) when one camera/file read does not return for S seconds (default: 20; 0: "
                        "never)")
    s.add_argument("--invoke-timeout", type=non_negative_float, default=10.0, metavar="S",
                   help="stop (exit 1) when one invoke() does not return for S seconds (default: 10; 0: never)")
    add_output_options(p)
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from edgeml._optional import require

    check_bind(args.host, token=args.token, insecure_public=args.insecure_public, preview=args.preview)
    if not 0 <= args.port <= 65535:
        args.parser.error(f"--port must be 0..65535, got {args.port}")
    stream_only = [f for f in ("fps", "realtime", "loop", "preview", "output", "emit") if getattr(args, f)]
    if stream_only and not args.source:
        args.parser.error(f"--{stream_only[0]} applies with --source only")
    for module in ("starlette", "uvicorn", "prometheus_client"):
        require(module, "edgeml serve")
    from edgeml.classifier import Classifier

    options = run_options(args)
    board = board_for(options["board"])

    def open_classifier() -> Classifier:
        return Classifier(args.model, labels=args.labels, num_threads=options["threads"], device=options["device"],
                          fallback=options["fallback"], board=board, store=args.store)

    if args.source:
        begin_store_run(args.model, args.store, "edgeml serve")
    clf = open_classifier()  # answers REST requests; the stream gets its own (interpreters are not thread-safe)
    show_settings(clf.settings)
    name = args.name or (clf.identity.name if clf.identity is not None else clf.model_path.stem)
    stream = _open_stream(args, open_classifier, board) if args.source else None
    from edgeml.serve.app import create_app
    from edgeml.serve.server import bind, make_server
    from edgeml.serve.state import ServeState

    state = ServeState.create(clf, name, streaming=stream is not None, token=args.token, preview=args.preview,
                              stream_stats=(lambda: stream.stats.to_dict()) if stream is not None else None,
                              top_k=args.top_k, threshold=args.threshold, ready_after_s=args.ready_after,
                              stream_model=stream.model if stream is not None else None, hold=args.emit_hold,
                              min_score=args.emit_min_score)  # the kiosk's label holds as --emit change does
    app = create_app(state)
    sock = bind(args.host, args.port)
    received: list[str] = []

    def stopping(signum: int) -> None:
        received.append(signal.Signals(signum).name)
        state.hub.close()  # open event streams end now instead of holding the shutdown

    server = make_server(app, verbose=getattr(args, "verbose", False), on_exit=stopping)
    dispatcher = None
    if stream is not None:
        dispatcher = open_dispatcher(args, stats=lambda: stream.stats.to_dict(), observers=state.observers)
        state.metrics.dispatcher_status = dispatcher.status
        stream.on_result = dispatcher.submit
        stream.start()
        threading.Thread(target=_watch, args=(stream, state, server), name="edgeml-serve-watch",
                         daemon=True).start()
    where = f"http://{args.host}:{sock.getsockname()[1]}"
    print(f"edgeml serve: {name} version {state.requests.version} on {where}/v1/models/{name}"
          f"{' with ' + args.source if args.source else ''}; kiosk page {where}/", file=sys.stderr, flush=True)
    try:
        with _signals(stream, server, received, state.hub.close):
            server.run(sockets=[sock])
    finally:
        sock.close()
        state.hub.close()
        if stream is not None:
            stream.stop()
            stream.join(5.0)
            if dispatcher is not None:
                dispatcher.close(timeout=3.0)
            print(f"edgeml serve: {stream.stats.summary()}", file=sys.stderr)
            if dispatcher is not None and args.output:
                print(f"edgeml serve: sent {sinks_summary(dispatcher)}", file=sys.stderr)
        if received:
            print(f"edgeml serve: stopped by {received[0]}", file=sys.stderr)
    if stream is not None and stream.error is not None:
        print(f"edgeml serve: error: the stream failed: {stream.error}", file=sys.stderr)
        return 1
    return 0


def _open_stream(args: argparse.Namespace, open_classifier: Callable[[], Any], board: Any) -> Any:
    from edgeml.cli._stream import source_options
    from edgeml.settings import resolve_settings
    from edgeml.streaming import Stream

    settings = resolve_settings(source=args.source, board=board)
    source = str(settings.source)
    clf = open_classifier()
    options = source_options(args, clf, settings, window=False)  # --preview here is the page's, not a window
    return Stream(source, clf, top_k=args.top_k, threshold=args.threshold, fps=args.fps,
                  keep_frames=args.preview, source_timeout=args.source_timeout or None,
                  invoke_timeout=args.invoke_timeout or None, **options)


def _watch(stream: Any, state: Any, server: Any) -> None:
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


class _signals:
    """Handlers for the duration of ``server.run()``: uvicorn replaces SIGINT/SIGTERM's while it runs and raises
    them again when it returns, so ours only take note (the process then exits 0 after a clean stop); SIGHUP
    reloads a store model's stream, and stops the server otherwise (a closed terminal)."""

    def __init__(self, stream: Any, server: Any, received: list[str], on_stop: Callable[[], None]) -> None:
        self.stream, self.server, self.received, self.on_stop = stream, server, received, on_stop
        self.previous: dict[int, Any] = {}

    def _noted(self, signum: int, _frame: Any) -> None:
        if not self.received:
            self.received.append(signal.Signals(signum).name)

    def _hup(self, signum: int, _frame: Any) -> None:
        if self.stream is not None and self.stream.check_model():
            return
        self._noted(signum, _frame)
        self.on_stop()
        self.server.should_exit = True

    def __enter__(self) -> _signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._noted)
            if hasattr(signal, "SIGHUP"):
                self.previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._hup)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
