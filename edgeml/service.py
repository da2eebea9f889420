"""Kiosk deployment: a systemd unit that runs ``edgeml classify --source`` for months, and its watchdog pings.

The unit is ``Type=notify`` with ``WatchdogSec``: the classify loop sends ``READY=1`` once the model is loaded and
``WATCHDOG=1`` at least every ``WatchdogSec / 2`` while frames flow (:class:`Watchdog`), so a hung camera or a
wedged Edge TPU gets the process killed and restarted by systemd (``Restart=always``). The protocol is one
datagram to the ``AF_UNIX`` socket named in ``$NOTIFY_SOCKET`` (sd_notify(3)); no libsystemd is needed.
"""

from __future__ import annotations

import os
import pwd
import shlex
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from edgeml.errors import ServiceConfigError

__all__ = ["ServiceSpec", "Watchdog", "render_unit", "sd_notify"]


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


def _systemd_quote(arg: str) -> str:
    """Quote one ExecStart argument for systemd (its own rules: % and $ are special, C-style escapes)."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if escaped and all(c.isalnum() or c in "-_./:=,+@" for c in escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class ServiceSpec:
    """What the kiosk unit runs, as whom, and where results go."""

    model: str
    source: str
    user: str
    output: str | None = None
    name: str = "edgeml-kiosk"
    watchdog_s: int = 30
    python: str = sys.executable

    def __post_init__(self) -> None:
        if self.user == "root":
            raise ServiceConfigError("The kiosk service must not run as root. Pass --user NAME (a login that is in "
                                     "the video group, and plugdev/apex for an Edge TPU).")
        if not os.path.isabs(self.model):
            raise ServiceConfigError(f"--model must be an absolute path (systemd has no working directory). "
                                     f"Received: {self.model!r}")
        if self.output is not None and not os.path.isabs(self.output):
            raise ServiceConfigError(f"--output must be an absolute path. Received: {self.output!r}")
        if self.watchdog_s < 5:
            raise ServiceConfigError(f"watchdog must be >= 5 s (model loading and camera start take time). "
                                     f"Received: {self.watchdog_s}")

    def command(self) -> list[str]:
        """Return the command the unit runs."""
        return [self.python, "-m", "edgeml", "classify", "--model", self.model, "--source", self.source, "--json"]


def render_unit(spec: ServiceSpec) -> str:
    """Return the systemd unit text for ``spec``."""
    out = f"append:{spec.output}" if spec.output else "journal"
    protect = f"ReadWritePaths={Path(spec.output).parent}\n" if spec.output else ""
    # A private /tmp would hide results written under /tmp from everyone else.
    private_tmp = "no" if spec.output and spec.output.startswith(("/tmp/", "/var/tmp/")) else "yes"
    return f"""# Written by `edgeml service install`; see boards/README.md (kiosk deployment).
[Unit]
Description=edgeml kiosk: classify {spec.source} with {Path(spec.model).name}
After=local-fs.target
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
ExecStart={" ".join(_systemd_quote(a) for a in spec.command())}
User={spec.user}
Restart=always
RestartSec=5
WatchdogSec={spec.watchdog_s}
TimeoutStartSec=120
Environment=PYTHONUNBUFFERED=1
StandardOutput={out}
StandardError=journal
SyslogIdentifier={spec.name}
NoNewPrivileges=yes
PrivateTmp={private_tmp}
ProtectSystem=full
ProtectHome=read-only
{protect}
[Install]
WantedBy=multi-user.target
"""


def default_user() -> str:
    """Return the login that asked for the service: ``$SUDO_USER`` under sudo, else the current user."""
    return os.environ.get("SUDO_USER") or pwd.getpwuid(os.geteuid()).pw_name


def install_commands(name: str) -> str:
    """Return the shell lines that enable and start the written unit."""
    return " && ".join(shlex.join(c) for c in (["sudo", "systemctl", "daemon-reload"],
                                                ["sudo", "systemctl", "enable", "--now", f"{name}.service"]))
