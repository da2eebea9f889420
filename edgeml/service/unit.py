"""The kiosk's systemd unit: what ``edgeml service install`` writes to run ``edgeml classify --source`` for months.

The unit is ``Type=notify`` with ``WatchdogSec``: the classify loop sends ``READY=1`` once the model is loaded and
``WATCHDOG=1`` at least every ``WatchdogSec / 2`` while frames flow (:class:`edgeml.service.notify.Watchdog`), so a
hung camera or a wedged Edge TPU gets the process killed and restarted by systemd (``Restart=always``).

With ``--model store:NAME`` the unit runs what the model store's ``current`` points at: systemd gives the service
user its state folder (``StateDirectory=edgeml``, i.e. ``/var/lib/edgeml``, passed as ``--store``), where the store
keeps versions, pointer and health state, and ``systemctl reload`` sends SIGHUP: look at the store now.

Where results go (``--output SINK``, repeatable, the syntax of ``edgeml classify --output``):

- no ``--output``: ``classify --json`` on stdout, into the journal, as before;
- with ``--output``: the sinks only, no ``--json``; stdout is discarded (``StandardOutput=null``: months of per-frame
  lines would be a second, unrotated copy of the results in the journal) unless ``--output -`` asks for schema-1
  events on stdout, i.e. in the journal. Errors and the closing statistics always go to the journal (stderr);
- a bare absolute path (the old ``--output FILE``) means ``jsonl:FILE``. That is not the old behaviour byte for
  byte: systemd used to append ``--json`` lines to the file as root (``StandardOutput=append:``); now the service
  user writes schema-1 events, fsynced and rotated at 10 MB (:mod:`edgeml.sinks.jsonl`), so the file's folder must
  be writable by that user (a file left by the old unit is owned by root: ``chown`` it or remove it).

Privacy: the filesystem is read-only (``ProtectSystem=strict``) except the store and the folders of ``jsonl:``
outputs, and IP traffic is cut off except to an MQTT broker:

- no sink needs the network: no IP socket can even be created (``RestrictAddressFamilies=AF_UNIX AF_NETLINK``) and
  none would pass (``IPAddressDeny=any``). ``PrivateNetwork=yes`` is added only with ``--device cpu`` or
  ``--device pci[:N]``: a private network namespace never receives udev's events, and libusb (Debian builds it with
  udev) then never sees a Coral USB Accelerator re-enumerate after its firmware load (1a6e:089a becomes 18d1:9302
  at every power-up) nor a replug, so a default or USB Edge TPU unit would fail at each boot;
- ``mqtt://`` / ``mqtts://``: ``IPAddressDeny=any`` plus ``IPAddressAllow=`` the broker's addresses, resolved here,
  at install time (an IP literal is used as is). The sink still connects by name, since TLS checks the certificate
  against it, so a broker given by name that is not in ``/etc/hosts`` also gets the ``nameserver`` addresses of
  ``/etc/resolv.conf`` allowed (127.0.0.53 for systemd-resolved). A broker or resolver that changes address (DHCP)
  needs ``edgeml service install`` again; to pin one, put the broker in ``/etc/hosts`` or pass its IP address.

``AF_NETLINK`` stays in both cases: ``libusb_init`` opens a udev (netlink) monitor and fails without one, so the
Coral USB Accelerator would be lost; libcamera (picamera2) uses one too for camera hot-plug (it falls back to a
sysfs scan without it). Netlink talks to the local kernel only.

``IPAddressDeny=`` needs a kernel with cgroup BPF (Raspberry Pi OS has it); without it systemd warns and ignores it,
and ``RestrictAddressFamilies`` (seccomp) still holds.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from edgeml.data_dir import SERVICE_STORE
from edgeml.errors import ServiceConfigError
from edgeml.store.identity import is_store_ref

if TYPE_CHECKING:
    from edgeml.sinks.base import SinkSpec

__all__ = ["ServiceSpec", "broker_addresses", "default_user", "install_commands", "render_unit"]

_UNSAFE_PATH = set(" \t\n\"'\\")

_HARDENING = """\
# Cheap hardening that leaves /dev alone: cameras and the Edge TPU are devices (no PrivateDevices=, no
# ProtectClock=: it closes the device policy), and the interpreter may JIT (no MemoryDenyWriteExecute=).
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
"""


def _systemd_quote(arg: str) -> str:
    """Quote one ExecStart argument for systemd (its own rules: % and $ are special, C-style escapes)."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if escaped and all(c.isalnum() or c in "-_./:=,+@" for c in escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sink_text(text: str) -> str:
    """Return ``text`` as a sink: a bare path (the old ``--output FILE``) becomes ``jsonl:FILE``."""
    from edgeml.sinks.base import SCHEMES  # imported only when asked for, as edgeml.sinks promises

    return text if text == "-" or text.partition(":")[0] in SCHEMES else f"jsonl:{text}"


def _url(spec: SinkSpec) -> SplitResult:
    url = urlsplit(spec.text)
    try:
        url.port  # noqa: B018 -- a bad port raises here, not in a crash-looping unit
    except ValueError as exc:
        raise ServiceConfigError(f"--output {url.scheme}://: bad port: {exc}. Received: {_redact(spec.text)!r}") \
            from exc
    if not url.hostname:
        raise ServiceConfigError(f"--output {url.scheme}:// needs a broker host, e.g. {url.scheme}://192.0.2.10/"
                                 f"edgeml. Received: {_redact(spec.text)!r}")
    return url


def _redact(text: str) -> str:
    """Return a sink string without its ``user:password@`` (for descriptions and messages)."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    netloc, slash, path = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"


@dataclass(frozen=True)
class ServiceSpec:
    """What the kiosk unit runs, as whom, and where results go.

    ``outputs`` are ``edgeml classify --output`` strings (``-``, ``jsonl:/ABS/PATH``, ``mqtt://...``,
    ``mqtts://...``); a bare absolute path is read as ``jsonl:PATH`` (see the module docstring).
    """

    model: str
    source: str
    user: str
    outputs: tuple[str, ...] = ()
    emit: str | None = None
    heartbeat_s: float | None = None
    mqtt_ca: str | None = None
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
        if self.watchdog_s < 5:
            raise ServiceConfigError(f"watchdog must be >= 5 s (model loading and camera start take time). "
                                     f"Received: {self.watchdog_s}")
        object.__setattr__(self, "outputs", tuple(_sink_text(t) for t in self.outputs))
        sinks = self.sinks  # InvalidArgumentError: the syntax, with the choices
        for s in sinks:
            if s.scheme == "jsonl" and not os.path.isabs(s.target):
                raise ServiceConfigError(f"--output jsonl:PATH must be an absolute path (systemd has no working "
                                         f"directory), e.g. jsonl:/var/lib/edgeml/results.jsonl. Received: {s.text!r}")
            if s.scheme == "jsonl" and _UNSAFE_PATH & set(s.target):
                raise ServiceConfigError(f"--output jsonl:PATH must not contain spaces, quotes or backslashes "
                                         f"(it becomes a ReadWritePaths= entry). Received: {s.text!r}")
            if s.needs_network:
                _url(s)
        if not sinks and (self.emit is not None or self.heartbeat_s is not None):
            raise ServiceConfigError("--emit and --heartbeat apply to --output sinks; add --output SINK, e.g. "
                                     "--output mqtt://192.0.2.10/edgeml")
        if self.emit is not None:
            from edgeml.sinks.emit import EmitPolicy

            EmitPolicy.parse(self.emit)  # InvalidArgumentError with the choices
        if self.heartbeat_s is not None and not self.heartbeat_s >= 0:
            raise ServiceConfigError(f"--heartbeat must be >= 0 seconds (0: none). Received: {self.heartbeat_s!r}")
        if self.mqtt_ca is not None:
            if not any(s.scheme == "mqtts" for s in sinks):
                raise ServiceConfigError("--mqtt-ca applies to mqtts:// outputs; add --output mqtts://HOST/TOPIC")
            if not os.path.isabs(self.mqtt_ca):
                raise ServiceConfigError(f"--mqtt-ca must be an absolute path. Received: {self.mqtt_ca!r}")
        if _UNSAFE_PATH & set(self.store_dir):
            raise ServiceConfigError(f"--store must not contain spaces, quotes or backslashes (it becomes a "
                                     f"ReadWritePaths= entry). Received: {self.store_dir!r}")

    def command(self) -> list[str]:
        """Return the command the unit runs: the settings given here pass through; the rest resolve on the device
        at each start (its detected board profile: threads, Edge TPU, camera)."""
        cmd = [self.python, "-m", "edgeml", "classify", "--model", self.model, "--source", self.source]
        if not self.outputs:
            cmd.append("--json")  # results into the journal, as before sinks existed
        if is_store_ref(self.model):
            cmd += ["--store", self.store_dir]
        for flag, value in (("--device", self.device), ("--fallback", self.fallback), ("--board", self.board),
                            ("--threads", self.threads)):
            if value is not None:
                cmd += [flag, str(value)]
        for text in self.outputs:
            cmd += ["--output", text]
        if self.emit is not None:
            cmd += ["--emit", self.emit]
        if self.heartbeat_s is not None:
            cmd += ["--heartbeat", f"{self.heartbeat_s:g}"]
        if self.mqtt_ca is not None:
            cmd += ["--mqtt-ca", self.mqtt_ca]
        return cmd

    @property
    def store_dir(self) -> str:
        return self.store or str(SERVICE_STORE)

    @property
    def sinks(self) -> list[SinkSpec]:
        from edgeml.sinks.base import parse_output

        return parse_output(self.outputs)

    @property
    def jsonl_paths(self) -> list[str]:
        """The files of the ``jsonl:`` outputs (absolute)."""
        return [s.target for s in self.sinks if s.scheme == "jsonl"]

    @property
    def brokers(self) -> list[str]:
        """The host names or IP literals of the MQTT outputs."""
        return [str(_url(s).hostname) for s in self.sinks if s.needs_network]

    @property
    def has_password(self) -> bool:
        """True when an MQTT output carries ``user:password@``: the unit text is then a secret."""
        return any(_url(s).password is not None for s in self.sinks if s.needs_network)


def broker_addresses(host: str) -> list[str]:
    """Return the IP addresses of an MQTT broker: an IP literal as is, a name resolved now (``getaddrinfo``).

    Raises:
        ServiceConfigError: The name does not resolve on this device.
    """
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServiceConfigError(f"MQTT broker {host!r} does not resolve on this device ({exc}), so the unit "
                                 f"cannot allow its address. Fix the name, add it to /etc/hosts, or pass its IP "
                                 f"address: mqtt://192.0.2.10/TOPIC") from exc
    return list(dict.fromkeys(str(info[4][0]).partition("%")[0] for info in infos))


def _nameservers(resolv_conf: str) -> list[str]:
    """Return the ``nameserver`` addresses of resolv.conf text; glibc's default, the loopback, when none."""
    found = [f[1].partition("%")[0] for f in (line.split() for line in resolv_conf.splitlines())
             if len(f) >= 2 and f[0] == "nameserver"]
    return found or ["127.0.0.1", "::1"]


def _in_hosts(host: str, hosts: str) -> bool:
    names = (line.partition("#")[0].split()[1:] for line in hosts.splitlines())
    return any(host.lower() in (n.lower() for n in ns) for ns in names)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _network(spec: ServiceSpec, etc: Path) -> str:
    """Return the network lines of the unit: none at all, or only the broker (see the module docstring)."""
    brokers = spec.brokers
    if not brokers:
        private = (spec.device or "").partition(":")[0] in ("cpu", "pci")
        return ("# No sink needs the network: no IP socket at all. AF_NETLINK: libusb (Coral USB) and libcamera\n"
                "# watch udev with it. PrivateNetwork= only without a USB Edge TPU: udev's events do not reach a\n"
                "# private network namespace, and the Coral USB re-enumerates after its firmware load.\n"
                + ("PrivateNetwork=yes\n" if private else "")
                + "IPAddressDeny=any\nRestrictAddressFamilies=AF_UNIX AF_NETLINK\n")
    allow: list[str] = []
    dns = False
    hosts = _read(etc / "hosts")
    for host in brokers:
        allow += broker_addresses(host)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            dns = dns or not _in_hosts(host, hosts)
    if dns:
        allow += _nameservers(_read(etc / "resolv.conf"))
    return ("# Results go to MQTT: IP traffic to the broker's addresses as resolved at install time"
            + (" and to the\n# nameservers of /etc/resolv.conf (the broker is named, TLS checks the name)"
               if dns else "") + ".\n"
            "# A broker or resolver that changes address needs `edgeml service install` again.\n"
            f"IPAddressDeny=any\nIPAddressAllow={' '.join(dict.fromkeys(allow))}\n"
            "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6\n")


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _writable_dirs(spec: ServiceSpec) -> list[str]:
    """Return the folders the unit may write besides the store: those of ``jsonl:`` outputs outside the store."""
    dirs = (str(Path(p).parent) for p in spec.jsonl_paths)
    return list(dict.fromkeys(d for d in dirs if not _inside(d, spec.store_dir)))


def render_unit(spec: ServiceSpec, *, etc: str | os.PathLike[str] = "/etc") -> str:
    """Return the systemd unit text for ``spec``.

    Args:
        spec: What to run.
        etc: Where ``hosts`` and ``resolv.conf`` are read to allow an MQTT broker's resolvers (tests pass a
            folder of their own).

    Raises:
        ServiceConfigError: An MQTT broker's name does not resolve here.
    """
    stdout = "journal" if not spec.outputs or "-" in spec.outputs else "null"
    # Every unit gets its store (learned examples, indexes, models, the MQTT outbox); SIGHUP re-reads a store:
    # model's pointer.
    state = spec.store_dir == str(SERVICE_STORE)
    store = (f"Environment=EDGEML_STORE={spec.store_dir}\n"
             + ("ExecReload=/bin/kill -HUP $MAINPID\n" if is_store_ref(spec.model) else "")
             + ("StateDirectory=edgeml\nStateDirectoryMode=0700\n" if state else ""))
    writable = ([] if state else [spec.store_dir]) + _writable_dirs(spec)
    rw = f"ReadWritePaths={' '.join(d.replace('%', '%%') for d in writable)}\n" if writable else ""
    # A private /tmp would hide results written under /tmp from everyone else.
    private_tmp = "no" if any(p.startswith(("/tmp/", "/var/tmp/")) for p in spec.jsonl_paths) else "yes"
    what = spec.model if is_store_ref(spec.model) else Path(spec.model).name
    to = f" to {', '.join('stdout' if t == '-' else _redact(t) for t in spec.outputs)}" if spec.outputs else ""
    # The MQTT sink reconnects by itself; waiting for the network just spares the journal a failed first connect.
    after = ("After=local-fs.target network-online.target\nWants=network-online.target\n" if spec.brokers
             else "After=local-fs.target\n")
    description = f"edgeml kiosk: classify {spec.source} with {what}{to}".replace("%", "%%")
    return f"""# Written by `edgeml service install`; see boards/README.md (kiosk deployment).
[Unit]
Description={description}
{after}StartLimitIntervalSec=0

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
{store}StandardOutput={stdout}
StandardError=journal
SyslogIdentifier={spec.name}
NoNewPrivileges=yes
PrivateTmp={private_tmp}
ProtectSystem=strict
ProtectHome=read-only
{rw}{_network(spec, Path(etc))}{_HARDENING}
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
