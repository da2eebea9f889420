"""Run the app with uvicorn: a socket bound up front (a clear error when the port is taken), bounded keep-alive,
concurrency and shutdown, no access log unless asked (``edgeml -v serve``)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from edgeml._optional import require
from edgeml.errors import SinkError

__all__ = ["bind", "make_server"]

KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 64  # above this uvicorn answers 503 at once: a Pi is not a web farm
GRACEFUL_S = 3  # open event streams and slow clients get this long when the server stops


def bind(host: str, port: int) -> socket.socket:
    """Return a listening TCP socket on ``host:port``.

    Raises:
        SinkError: The address cannot be bound (in use, not this machine's, no permission); the message names it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise SinkError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}): another server (edgeml serve, "
                        "TF Serving) may use the port; choose another with --port, or another --host.") from exc
    sock.set_inheritable(True)
    return sock


def make_server(app: Any, *, verbose: bool = False, on_exit: Callable[[int], None] | None = None) -> Any:
    """Return a ``uvicorn.Server`` for ``app``; run it with ``server.run(sockets=[bind(host, port)])``.

    ``on_exit(signum)`` is called (in the signal handler) when SIGINT/SIGTERM asks the server to stop, before it
    drains: e.g. to end the event streams, which would otherwise hold the shutdown for ``GRACEFUL_S``.
    """
    uvicorn = require("uvicorn", "edgeml serve")

    class Server(uvicorn.Server):  # type: ignore[name-defined]
        def handle_exit(self, sig: int, frame: Any) -> None:
            if on_exit is not None:
                on_exit(sig)
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, log_config=None, log_level="info" if verbose else "warning", access_log=verbose,
                            timeout_keep_alive=KEEP_ALIVE_S, limit_concurrency=MAX_CONNECTIONS,
                            timeout_graceful_shutdown=GRACEFUL_S, lifespan="off", server_header=False,
                            proxy_headers=False)
    return Server(config)
