"""sd_notify(3) without libsystemd: ``READY=1`` once the model is loaded, rate-limited ``WATCHDOG=1`` pings.

The protocol is one datagram to the ``AF_UNIX`` socket named in ``$NOTIFY_SOCKET``; outside systemd every call is
a no-op that returns False.
"""

from __future__ import annotations

import os
import socket
import time

from edgeml.errors import ServiceConfigError

__all__ = ["Watchdog", "sd_notify"]


def sd_notify(state: str, env: dict[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, ``"WATCHDOG=1"``) to systemd; return False when not run by systemd.

    Args:
        state: Newline-separated ``KEY=VALUE`` assignments, as in sd_notify(3).
        env: Environment to read ``NOTIFY_SOCKET`` from (default: ``os.environ``).
    """
    address = (env if env is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address[0] not in "/@":
        raise ServiceConfigError(f"NOTIFY_SOCKET must be an absolute path or an abstract socket (@name). "
                                 f"Received: {address!r}")
    target = "\0" + address[1:] if address[0] == "@" else address  # '@' marks the Linux abstract namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(target)
        sock.sendall(state.encode("utf-8"))
    return True


class Watchdog:
    """Rate-limited ``WATCHDOG=1`` pings for a loop running under a ``WatchdogSec`` unit (no-op otherwise).

    Call :meth:`ready` once the model is loaded and :meth:`ping` after every processed frame::

        dog = Watchdog.from_env()
        dog.ready()
        for result in stream(...):
            dog.ping()
    """

    def __init__(self, interval_s: float | None, env: dict[str, str] | None = None) -> None:
        self.interval_s = interval_s
        self._env = env
        self._last = float("-inf")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Watchdog:
        """Read ``WATCHDOG_USEC`` (set by systemd); ping at half that interval, as sd_watchdog_enabled(3) advises."""
        e = env if env is not None else os.environ
        usec = e.get("WATCHDOG_USEC")
        pid = e.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return cls(None, env)
        return cls(int(usec) / 2e6, env)

    def ready(self) -> bool:
        """Tell systemd start-up is complete (``READY=1``)."""
        return sd_notify("READY=1", self._env)

    def ping(self) -> bool:
        """Send ``WATCHDOG=1`` if half the watchdog interval has passed since the last ping."""
        if self.interval_s is None:
            return False
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        return sd_notify("WATCHDOG=1", self._env)
