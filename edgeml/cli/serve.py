"""``edgeml serve``: TF Serving's REST API, Prometheus metrics, live events and a kiosk page for one model.

With ``--source`` a stream runs in the background; its results reach the routes through the dispatcher's
observers, so no HTTP client can slow the camera. REST requests run on a classifier of their own that follows the
stream's model. How the process stops: :mod:`edgeml.serve.lifecycle`.
"""

from __future__ import annotations

import argparse
import os
import sys

from edgeml.cli._args import (
    add_model_options,
    add_run_options,
    add_stream_options,
    port,
    positive_float,
    positive_int,
    probability,
    refuse_without_source,
    run_spec,
    show_settings,
    stream_fields,
)
from edgeml.cli._outputs import add_output_options, open_dispatcher, sinks_summary
from edgeml.serve.access import DEFAULT_HOST, DEFAULT_PORT, check_bind
from edgeml.serve.lifecycle import ServeSignals, start_background, stop_background

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
    g.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"TCP port (default: {DEFAULT_PORT})")
    g.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None, metavar="TOKEN",
                   help=f"require 'Authorization: Bearer TOKEN' (or ?token=TOKEN for the page) on every route but "
                        f"/healthz (default: ${TOKEN_ENV}, which keeps it out of the process list)")
    g.add_argument("--insecure-public", action="store_true",
                   help="allow a non-loopback --host without --token (trusted networks only)")
    g.add_argument("--preview", action="store_true",
                   help="serve the latest camera frame at /preview.jpg and show it on the page (loopback only)")
    g.add_argument("--ready-after", type=positive_float, default=10.0, metavar="S",
                   help="/readyz fails when the stream has had no result for S seconds (default: 10)")
    add_stream_options(p)
    add_output_options(p)
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    from edgeml._optional import require

    check_bind(args.host, token=args.token, insecure_public=args.insecure_public, preview=args.preview)
    refuse_without_source(args, ("fps", "realtime", "loop", "preview", "output", "emit", "camera_format",
                                 "source_timeout", "invoke_timeout", "emit_hold", "emit_min_score"))
    for module in ("starlette", "uvicorn", "prometheus_client"):
        require(module, "edgeml serve")
    from edgeml.run import open_run, open_runner

    # The stream and REST each get a classifier (interpreters are not thread-safe); REST follows the stream's.
    run = open_run(run_spec(args, **stream_fields(args), keep_frames=args.preview) if args.source
                   else run_spec(args))
    if run.start_note:
        print(f"edgeml serve: {run.start_note}", file=sys.stderr)
    show_settings(run.settings)
    stream = run.stream
    clf = open_runner(run_spec(args), run.board) if stream is not None else run.runner
    name = args.name or clf.model_info["name"]
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
    signals = ServeSignals(stream, state.hub.close)
    server = signals.server = make_server(app, verbose=getattr(args, "verbose", False), on_exit=signals.exiting)
    dispatcher = None
    if stream is not None:
        dispatcher = open_dispatcher(args, stats=lambda: stream.stats.to_dict(), observers=state.observers)
        start_background(stream, state, server, dispatcher)
    where = f"http://{args.host}:{sock.getsockname()[1]}"
    print(f"edgeml serve: {name} version {state.requests.version} on {where}/v1/models/{name}"
          f"{' with ' + args.source if args.source else ''}; kiosk page {where}/", file=sys.stderr, flush=True)
    try:
        with signals:
            server.run(sockets=[sock])
    finally:
        sock.close()
        state.hub.close()
        if stream is not None:
            stop_background(stream, dispatcher)
            print(f"edgeml serve: {stream.stats.summary()}", file=sys.stderr)
            if dispatcher is not None and args.output:
                print(f"edgeml serve: sent {sinks_summary(dispatcher)}", file=sys.stderr)
        if signals.received:
            print(f"edgeml serve: stopped by {signals.received[0]}", file=sys.stderr)
    if stream is not None and stream.error is not None:
        print(f"edgeml serve: error: the stream failed: {stream.error}", file=sys.stderr)
        return 1
    return 0
