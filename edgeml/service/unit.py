"""The kiosk's systemd unit: what ``edgeml service install`` writes to run ``edgeml classify --source`` for months.

The unit is ``Type=notify`` with ``WatchdogSec``: the classify loop sends ``READY=1`` once the model is loaded and
``WATCHDOG=1`` at least every ``WatchdogSec / 2`` while frames flow (:class:`edgeml.service.notify.Watchdog`), so a
hung camera or a wedged Edge TPU gets the process killed and restarted by systemd (``Restart=always``).

With ``--model store:NAME`` the unit runs what the model store's ``current`` points at: systemd gives the service
user its state folder (``StateDirectory=edgeml``, i.e. ``/var/lib/edgeml``, passed as ``--store``), where the store
keeps versions, pointer and health state, and ``systemctl reload`` sends SIGHUP: look at the store now.
"""

from __future__ import annotations

import os
import pwd
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from edgeml.errors import ServiceConfigError
from edgeml.store.identity import is_store_ref
from edgeml.store.paths import SERVICE_STORE

__all__ = ["ServiceSpec", "default_user", "install_commands", "render_unit"]


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
    device: str | None = None
    fallback: str | None = None
    board: str | None = None
    threads: int | None = None
    store: str | None = None  # the model store of a store:NAME model (default: /var/lib/edgeml)

    def __post_init__(self) -> None:
        if self.user == "root":
            raise ServiceConfigError("The kiosk service must not run as root. Pass --user NAME (a login that is in "
                                     "the video group, and plugdev/apex for an Edge TPU).")
        if not is_store_ref(self.model) and not os.path.isabs(self.model):
            raise ServiceConfigError(f"--model must be an absolute path (systemd has no working directory). "
                                     f"Received: {self.model!r}")
        if self.output is not None and not os.path.isabs(self.output):
            raise ServiceConfigError(f"--output must be an absolute path. Received: {self.output!r}")
        if self.watchdog_s < 5:
            raise ServiceConfigError(f"watchdog must be >= 5 s (model loading and camera start take time). "
                                     f"Received: {self.watchdog_s}")

    def command(self) -> list[str]:
        """Return the command the unit runs: the settings given here pass through; the rest resolve on the device
        at each start (its detected board profile: threads, Edge TPU, camera)."""
        cmd = [self.python, "-m", "edgeml", "classify", "--model", self.model, "--source", self.source, "--json"]
        if is_store_ref(self.model):
            cmd += ["--store", self.store_dir]
        for flag, value in (("--device", self.device), ("--fallback", self.fallback), ("--board", self.board),
                            ("--threads", self.threads)):
            if value is not None:
                cmd += [flag, str(value)]
        return cmd


    @property
    def store_dir(self) -> str:
        return self.store or str(SERVICE_STORE)


def render_unit(spec: ServiceSpec) -> str:
    """Return the systemd unit text for ``spec``."""
    out = f"append:{spec.output}" if spec.output else "journal"
    # Every unit gets its store (learned examples, indexes, models); SIGHUP re-reads a store: model's pointer.
    store = (f"Environment=EDGEML_STORE={spec.store_dir}\n"
             + ("ExecReload=/bin/kill -HUP $MAINPID\n" if is_store_ref(spec.model) else "")
             + ("StateDirectory=edgeml\nStateDirectoryMode=0700\n" if spec.store_dir == str(SERVICE_STORE)
                else f"ReadWritePaths={spec.store_dir}\n"))
    protect = f"ReadWritePaths={Path(spec.output).parent}\n" if spec.output else ""
    # A private /tmp would hide results written under /tmp from everyone else.
    private_tmp = "no" if spec.output and spec.output.startswith(("/tmp/", "/var/tmp/")) else "yes"
    what = spec.model if is_store_ref(spec.model) else Path(spec.model).name
    return f"""# Written by `edgeml service install`; see boards/README.md (kiosk deployment).
[Unit]
Description=edgeml kiosk: classify {spec.source} with {what}
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
{store}StandardOutput={out}
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
