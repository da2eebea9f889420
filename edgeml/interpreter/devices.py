"""Device strings: where a model runs (``"cpu"``, or an Edge TPU: ``"usb"``, ``"usb:N"``, ``"pci:N"``, ``"auto"``)."""

from __future__ import annotations

import re

from edgeml.errors import InvalidArgumentError

__all__ = ["DEVICES", "FALLBACKS", "check_fallback", "parse_device"]

DEVICES = ("cpu", "auto", "usb", "usb:N", "pci", "pci:N")
FALLBACKS = (None, "cpu")
_DEVICE = re.compile(r"(cpu|auto|usb|pci)(?::(\d+))?")


def parse_device(device: str) -> tuple[str, int | None]:
    """``"usb:1"`` → ``("usb", 1)``; ``"auto"`` → ``("auto", None)``.

    Raises:
        InvalidArgumentError: Not one of :data:`DEVICES`.
    """
    m = _DEVICE.fullmatch(device or "")
    if not m or (m.group(2) is not None and m.group(1) in ("cpu", "auto")):
        raise InvalidArgumentError(f"device must be one of {', '.join(DEVICES)}. Received: {device!r}")
    return m.group(1), int(m.group(2)) if m.group(2) is not None else None


def check_fallback(fallback: str | None) -> str | None:
    """Return ``fallback`` when valid (None: raise when the Edge TPU cannot be used; ``"cpu"``: run there, warned).

    Raises:
        InvalidArgumentError: Anything else.
    """
    if fallback not in FALLBACKS:
        raise InvalidArgumentError(f"fallback must be None or 'cpu'. Received: {fallback!r}")
    return fallback
