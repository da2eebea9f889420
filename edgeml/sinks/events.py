"""The event schema: what leaves the device when a stream's results go to a sink (``--output``).

Schema 1 (``"schema": 1``), one JSON object per event, never a pixel::

    {"schema": 1, "id": "kiosk1-5f3a9c1e-42", "seq": 42, "type": "result",
     "device": "kiosk1", "model": {"name": "lite0", "version": 3},
     "frame": 1234, "captured_at": 1764700000.123456, "emitted_at": 1764700000.130001,
     "labels": [{"label": "tabby", "score": 0.87, "index": 281}], "latency_ms": 6.5}

``type`` is ``result`` (``--emit every`` / ``interval``), ``change`` (the top label changed and held, ``--emit
change``), ``heartbeat`` (the latest labels plus ``stats``, also when nothing changed) or ``model`` (a model-store
event, in ``event``: ``model_swapped``, ``model_committed``, ``model_reverted``, ...). ``id`` is stable and unique:
the device, a random run id drawn at start and a sequence number, so a consumer de-duplicates the at-least-once
deliveries of MQTT by it. ``seq`` grows by one per event within a run. An unreadable frame has ``error`` and no
labels. ``device`` is ``$EDGEML_DEVICE_ID``, else the host name.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeml.streaming.stats import StreamResult

__all__ = ["DEVICE_ENV", "EVENT_TYPES", "SCHEMA", "EventStamp", "device_id"]

SCHEMA = 1
DEVICE_ENV = "EDGEML_DEVICE_ID"
EVENT_TYPES = ("result", "change", "heartbeat", "model")


def device_id(env: Mapping[str, str] | None = None) -> str:
    """Return ``$EDGEML_DEVICE_ID``, else the host name (``os.uname``: no socket call, no network)."""
    env = os.environ if env is None else env
    return env.get(DEVICE_ENV) or os.uname().nodename or "edgeml"


class EventStamp:
    """Turn results into schema-1 events with stable ids: ``DEVICE-RUN-SEQ`` (thread-safe).

    Args:
        device: The device id (default: :func:`device_id`).
        run: This run's id (default: 8 random hex digits, new at each start).
    """

    def __init__(self, device: str | None = None, run: str | None = None) -> None:
        self.device = device or device_id()
        self.run = run or secrets.token_hex(4)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def _base(self, kind: str) -> dict[str, Any]:
        with self._lock:
            seq = next(self._seq)
        return {"schema": SCHEMA, "id": f"{self.device}-{self.run}-{seq}", "seq": seq, "type": kind,
                "device": self.device}

    def result(self, result: StreamResult, kind: str = "result") -> dict[str, Any]:
        """Return the event of one stream result (``kind``: ``result`` or ``change``)."""
        event = self._base(kind)
        event.update(labels(result))
        return event

    def heartbeat(self, latest: StreamResult | None, stats: Mapping[str, Any]) -> dict[str, Any]:
        """Return a heartbeat: the latest result's labels (if any) and the stream's counters."""
        event = self._base("heartbeat")
        if latest is not None:
            event.update(labels(latest))
        else:
            event["emitted_at"] = round(time.time(), 6)
        event["stats"] = dict(stats)
        return event

    def model(self, store_event: Mapping[str, Any], latest: StreamResult | None) -> dict[str, Any]:
        """Return a ``model`` event carrying one model-store event (``store_event["event"]`` says which)."""
        event = self._base("model")
        event.update(store_event)
        if latest is not None and latest.model is not None:
            event.setdefault("model", latest.model)
        event["emitted_at"] = round(time.time(), 6)
        return event


def labels(result: StreamResult) -> dict[str, Any]:
    """The schema-1 fields of one result: model, frame, capture time, labels, latency (never the frame)."""
    d: dict[str, Any] = {"model": result.model, "frame": result.index, "captured_at": round(result.timestamp, 6),
                         "emitted_at": round(time.time(), 6),
                         "labels": [{"label": r.label, "score": round(float(r.score), 6), "index": int(r.index)}
                                    for r in result.results],
                         "latency_ms": round(result.latency_ms, 3)}
    if result.error is not None:
        d["error"] = result.error
    return d
