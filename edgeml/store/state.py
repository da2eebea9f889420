"""``STORE/models/NAME/state.json``: what the ``current`` pointer alone cannot say.

::

    {"committed": 2, "highest": 3, "pending": {"version": 3, "starts": 1, "failures": 0, "health_frames": 300,
     "max_starts": 3, "max_failures": 3, "since": "..."}, "bad": {"4": {"reason": "...", "figures": {...}}},
     "canary": null, "canaries": {"4": {...}}, "history": [{"at": "...", "event": "activated", "version": 3}, ...]}

Which version runs is always the ``current`` symlink (:mod:`edgeml.store.layout`); this file only qualifies it, so
the two need no joint update: a current version that is not ``committed`` is pending, whatever ``pending`` says (a
``pending`` entry for another version is a leftover of an activation killed half-way, and is ignored). The file is
replaced atomically (:func:`edgeml.store.atomic.write_atomic`), so a reader never sees half of it.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeml.store.atomic import write_atomic

__all__ = ["HEALTH_FRAMES", "MAX_FAILURES", "MAX_STARTS", "ModelState", "now"]

log = logging.getLogger(__name__)

HEALTH_FRAMES = 300  # frames a new version must run without a model error before it is committed
MAX_STARTS = 3  # starts a pending version gets to finish its health window; the next start reverts it
MAX_FAILURES = 3  # failed invokes of a pending version before it is reverted
HISTORY = 200  # events kept


def now() -> str:
    """UTC time, ISO 8601 to the second (``2026-12-02T20:15:00Z``)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ModelState:
    """The qualifiers of one model name's versions (see the module docstring)."""

    committed: int | None = None
    highest: int = 0
    pending: dict[str, Any] | None = None
    bad: dict[str, dict[str, Any]] = field(default_factory=dict)
    canary: dict[str, Any] | None = None
    canaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    damaged: str | None = field(default=None, compare=False)  # why the file could not be read (verify reports it)

    @classmethod
    def load(cls, path: Path) -> ModelState:
        """Read ``path``; an absent file is a fresh state, a damaged one too (with ``damaged`` saying why)."""
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("%s is unreadable (%s); carrying on from the current pointer alone", path, exc)
            return cls(damaged=str(exc))
        known = {k: d[k] for k in ("committed", "highest", "pending", "bad", "canary", "canaries", "history")
                 if isinstance(d, dict) and k in d}
        try:
            return cls(**known)
        except TypeError as exc:
            return cls(damaged=str(exc))

    def save(self, path: Path) -> None:
        """Replace ``path`` atomically."""
        d = asdict(self)
        d.pop("damaged")
        d["history"] = d["history"][-HISTORY:]
        write_atomic(path, (json.dumps(d, indent=1, sort_keys=True) + "\n").encode("utf-8"))

    def record(self, event: str, version: int | None, **details: Any) -> dict[str, Any]:
        """Append an event to the history; return it."""
        entry = {"at": now(), "event": event, "version": version, **details}
        self.history.append(entry)
        return entry

    def is_bad(self, version: int) -> dict[str, Any] | None:
        return self.bad.get(str(version))

    def pending_for(self, version: int | None) -> dict[str, Any]:
        """The pending entry of ``version`` (a fresh one with the defaults if the entry is for another version)."""
        if self.pending and self.pending.get("version") == version:
            return self.pending
        return {"version": version, "starts": 0, "failures": 0, "health_frames": HEALTH_FRAMES,
                "max_starts": MAX_STARTS, "max_failures": MAX_FAILURES, "since": now()}
