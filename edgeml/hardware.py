"""Read what hardware this is from the file system: the one place that reads board facts and Coral's IDs and nodes.

Sources: ``/proc/device-tree/model`` (or ``/sys/firmware/devicetree/base/model``), ``/proc/cpuinfo``,
``/proc/meminfo``, ``/sys/bus/usb/devices`` and ``/dev/apex_*``. Every function takes ``root`` (default ``/``)
so tests run on recorded file trees of real boards, and nothing here
imports a driver or opens a device. Board detection (``edgeml.boards``) and the Edge TPU delegate both build on it.

Coral Edge TPU facts this module encodes:

- USB Accelerator: ``1a6e:089a`` (Global Unichip) until libedgetpu loads its firmware, then ``18d1:9302`` (Google).
  The first state is normal on a fresh plug-in; it is not an error.
- PCIe / M.2 / Dev Board: ``/dev/apex_N`` from the gasket/apex kernel driver (group ``apex``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "CORAL_USB_IDS", "EdgeTpuDevice", "MachineFacts", "edgetpu_node", "list_edgetpus", "parse_cpuinfo", "read_machine",
    "read_text",
]

# (vendor, product) -> state
CORAL_USB_IDS: dict[tuple[str, str], str] = {
    ("1a6e", "089a"): "bootloader",  # before libedgetpu has loaded the firmware
    ("18d1", "9302"): "ready",
}


@dataclass(frozen=True)
class EdgeTpuDevice:
    """One Edge TPU seen on this machine.

    Attributes:
        kind: ``"usb"`` or ``"pci"``.
        path: Where it was seen, e.g. ``"/sys/bus/usb/devices/2-1"`` or ``"/dev/apex_0"`` (under ``root``).
        state: ``"bootloader"`` (USB, firmware not loaded yet: libedgetpu loads it on first use) or ``"ready"``.
        index: Position among devices of the same kind, as the delegate numbers them (``usb:0``, ``pci:1``).
    """

    kind: Literal["usb", "pci"]
    path: str
    state: str
    index: int

    @property
    def delegate_device(self) -> str:
        """The ``device`` option for ``load_delegate("libedgetpu.so.1", {"device": ...})``, e.g. ``"usb:0"``."""
        return f"{self.kind}:{self.index}"


def read_text(path: Path) -> str | None:
    """Return a small file's text stripped of NULs and whitespace (device-tree strings end in NUL), or None."""
    try:
        return path.read_bytes().replace(b"\x00", b"").decode("utf-8", "replace").strip()
    except OSError:
        return None


def _usb_edgetpus(root: Path) -> list[EdgeTpuDevice]:
    base = root / "sys" / "bus" / "usb" / "devices"
    found = []
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return []
    for name in entries:
        vendor = read_text(base / name / "idVendor")
        product = read_text(base / name / "idProduct")
        state = CORAL_USB_IDS.get((vendor or "", product or ""))
        if state is not None:
            found.append((name, state))
    return [EdgeTpuDevice("usb", str(base / name), state, i) for i, (name, state) in enumerate(found)]


def _pci_edgetpus(root: Path) -> list[EdgeTpuDevice]:
    dev = root / "dev"
    try:
        names = sorted((n for n in os.listdir(dev) if n.startswith("apex_")), key=lambda n: (len(n), n))
    except OSError:
        return []
    return [EdgeTpuDevice("pci", str(dev / n), "ready", i) for i, n in enumerate(names)]


def list_edgetpus(root: str | os.PathLike[str] = "/") -> list[EdgeTpuDevice]:
    """Return the Edge TPUs visible under ``root``: USB ones first, then PCIe, each in bus order."""
    r = Path(root)
    return _usb_edgetpus(r) + _pci_edgetpus(r)


def edgetpu_node(device: EdgeTpuDevice, root: str | os.PathLike[str] = "/") -> str | None:
    """Return the device node the Edge TPU runtime opens: ``/dev/bus/usb/BBB/DDD`` (USB) or ``/dev/apex_N``.

    None when a USB device's bus/device numbers cannot be read.
    """
    if device.kind == "pci":
        return device.path
    bus, dev = read_text(Path(device.path) / "busnum"), read_text(Path(device.path) / "devnum")
    if not (bus and dev and bus.isdigit() and dev.isdigit()):
        return None
    return str(Path(root) / "dev" / "bus" / "usb" / f"{int(bus):03d}" / f"{int(dev):03d}")


@dataclass(frozen=True)
class MachineFacts:
    """What the file tree under ``root`` says about the machine; every field is None when not exposed.

    Attributes:
        model: Device-tree model, e.g. ``"Raspberry Pi 4 Model B Rev 1.4"`` (absent on x86-64).
        cpuinfo_model: ``Model`` line of /proc/cpuinfo (Raspberry Pi kernels), same text as the device tree.
        hardware: ``Hardware`` line (``"BCM2835"`` on every Pi since kernel 4.9, so not used to tell models apart).
        revision: ``Revision`` line, the Pi's board revision code, e.g. ``"c03114"``.
        arch: ``"x86_64"``, ``"aarch64"``, ``"armv7l"`` (from cpuinfo; the running kernel's when root is ``/``).
        cores: Number of ``processor`` entries in /proc/cpuinfo.
        memory_mb: MemTotal of /proc/meminfo in MiB.
        edgetpus: Edge TPUs found by :func:`list_edgetpus`.
    """

    model: str | None = None
    cpuinfo_model: str | None = None
    hardware: str | None = None
    revision: str | None = None
    arch: str | None = None
    cores: int | None = None
    memory_mb: int | None = None
    edgetpus: tuple[EdgeTpuDevice, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict (Edge TPUs as ``{"kind", "state", "device", "path"}``)."""
        d: dict[str, object] = {k: getattr(self, k) for k in
                                ("model", "cpuinfo_model", "hardware", "revision", "arch", "cores", "memory_mb")}
        d["edgetpus"] = [{"kind": t.kind, "state": t.state, "device": t.delegate_device, "path": t.path}
                         for t in self.edgetpus]
        return d


def parse_cpuinfo(text: str) -> tuple[dict[str, str], int]:
    """Return the machine-wide ``key: value`` lines of /proc/cpuinfo (first occurrence wins) and the core count."""
    fields: dict[str, str] = {}
    cores = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "processor":
            cores += 1
        fields.setdefault(key, value.strip())
    return fields, cores


def _arch_from_cpuinfo(fields: dict[str, str]) -> str | None:
    if fields.get("vendor_id") in {"GenuineIntel", "AuthenticAMD"}:
        return "x86_64"
    # Arm kernels print "CPU architecture: 8"; a 32-bit kernel on an ARMv8 core also says "model name: ARMv7 ...".
    if fields.get("CPU architecture") == "8":
        return "armv7l" if fields.get("model name", "").startswith("ARMv7") else "aarch64"
    if fields.get("CPU architecture") == "7":
        return "armv7l"
    return None


def _memory_mb(root: Path) -> int | None:
    text = read_text(root / "proc" / "meminfo") or ""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            try:
                return int(line.split()[1]) // 1024
            except (IndexError, ValueError):
                return None
    return None


def read_machine(root: str | os.PathLike[str] = "/") -> MachineFacts:
    """Read the board facts under ``root`` (a real ``/`` or a recorded tree). Never raises for missing files."""
    r = Path(root)
    model = read_text(r / "proc" / "device-tree" / "model") or read_text(
        r / "sys" / "firmware" / "devicetree" / "base" / "model")
    fields, cores = parse_cpuinfo(read_text(r / "proc" / "cpuinfo") or "")
    arch = _arch_from_cpuinfo(fields)
    if arch is None and r.resolve() == Path("/").resolve():
        import platform  # here: ~8 ms at import on a Pi, and only this fallback needs it

        arch = platform.machine() or None
    return MachineFacts(
        model=model or None,
        cpuinfo_model=fields.get("Model"),
        hardware=fields.get("Hardware"),
        revision=fields.get("Revision"),
        arch=arch,
        cores=cores or None,
        memory_mb=_memory_mb(r),
        edgetpus=tuple(list_edgetpus(r)),
    )
