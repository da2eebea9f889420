"""Who may connect to ``edgeml serve``: loopback by default, a token or an explicit opt-in for anything else."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

from edgeml.errors import InvalidArgumentError

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "OPEN_PATHS", "authorized", "check_bind", "is_loopback"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501  # TF Serving's REST port: existing clients find the server where they expect it
OPEN_PATHS = frozenset({"/healthz"})  # a liveness probe needs no secret and reveals nothing


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``); any other name counts as public."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, token: str | None, insecure_public: bool, preview: bool) -> None:
    """Refuse a bind that would expose the server, or camera pixels, without the user asking for it.

    Raises:
        InvalidArgumentError: A non-loopback ``host`` without ``token`` or ``insecure_public``; ``preview`` on a
            non-loopback ``host``; an empty token.
    """
    if token is not None and not token.strip():
        raise InvalidArgumentError("--token must not be empty")
    if is_loopback(host):
        return
    if preview:
        raise InvalidArgumentError(f"--preview serves camera pixels and is allowed on a loopback address only "
                                   f"(--host 127.0.0.1). Received: --host {host}")
    if token is None and not insecure_public:
        raise InvalidArgumentError(f"--host {host} is reachable from other machines: give --token TOKEN (clients "
                                   "then send 'Authorization: Bearer TOKEN') or, on a trusted network only, "
                                   "--insecure-public")


def authorized(token: str | None, path: str, headers: Mapping[str, str], query: Mapping[str, str],
               method: str = "GET") -> bool:
    """True when a request may go on: no token configured, an open path, or the right token.

    The token comes in ``Authorization: Bearer TOKEN``, or for GET requests in ``?token=TOKEN`` (a browser's
    EventSource and ``<img>`` cannot set headers). Compared in constant time.
    """
    if token is None or path in OPEN_PATHS:
        return True
    given = ""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given = value.strip()
    elif method in ("GET", "HEAD"):
        given = query.get("token", "")
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())
