"""Read what hardware is attached from the file system: the one place that knows Coral's USB IDs and device nodes.

Every function takes ``root`` (default ``/``) so tests run on recorded file trees of real boards, and nothing here
imports a driver or opens a device. Board detection (``edgeml.boards``) and the Edge TPU delegate both build on it.

Coral Edge TPU facts this module encodes:

- USB Accelerator: ``1a6e:089a`` (Global Unichip) until libedgetpu loads its firmware, then ``18d1:9302`` (Google).
  The first state is normal on a fresh plug-in; it is not an error.
- PCIe / M.2 / Dev Board: ``/dev/apex_N`` from the gasket/apex kernel driver (group ``apex``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["CORAL_USB_IDS", "EdgeTpuDevice", "edgetpu_node", "list_edgetpus", "read_text"]

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
