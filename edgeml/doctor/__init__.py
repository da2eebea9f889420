"""``edgeml doctor``: diagnose the install on this machine, each finding with a status and the exact fix.

- :mod:`~edgeml.doctor.finding`: :class:`Finding`;
- :mod:`~edgeml.doctor.checks`: the individual checks (none opens a device or loads libedgetpu);
- :mod:`~edgeml.doctor.run`: :func:`run_checks` in order, :func:`exit_code`.
"""

from __future__ import annotations

from edgeml.doctor.finding import STATUSES, Finding
from edgeml.doctor.run import exit_code, run_checks

__all__ = ["STATUSES", "Finding", "exit_code", "run_checks"]
