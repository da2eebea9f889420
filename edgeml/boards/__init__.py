"""Hardware profiles (``boards/*.toml``), which one this machine is, and what a profile implies for a run.

- :mod:`~edgeml.boards.profiles`: :class:`BoardProfile`, loading and validating the shipped TOML files;
- :mod:`~edgeml.boards.detect`: :func:`detect` matches :func:`edgeml.hardware.read_machine` facts to a profile;
- :mod:`~edgeml.boards.defaults`: :func:`runtime_defaults`, the board rung of :mod:`edgeml.settings`.
"""

from __future__ import annotations

from edgeml.boards.defaults import resolve_board, runtime_defaults, threads_for_cores
from edgeml.boards.detect import Detection, detect, match_board
from edgeml.boards.profiles import BoardProfile, InstallNotes, LatencyCheck, check_latency, get_profile, load_profiles

__all__ = [
    "BoardProfile",
    "Detection",
    "InstallNotes",
    "LatencyCheck",
    "check_latency",
    "detect",
    "get_profile",
    "load_profiles",
    "match_board",
    "resolve_board",
    "runtime_defaults",
    "threads_for_cores",
]
