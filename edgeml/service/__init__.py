"""Kiosk deployment with systemd: the unit ``edgeml service install`` writes, and the loop's watchdog pings.

- :mod:`~edgeml.service.unit`: :class:`ServiceSpec` and :func:`render_unit`;
- :mod:`~edgeml.service.notify`: :func:`sd_notify` and :class:`Watchdog` (no libsystemd).
"""

from __future__ import annotations

from edgeml.service.notify import Watchdog, sd_notify
from edgeml.service.unit import ServiceSpec, default_user, install_commands, render_unit

__all__ = ["ServiceSpec", "Watchdog", "default_user", "install_commands", "render_unit", "sd_notify"]
