"""Results sinks: where a stream's events go (``edgeml classify --output SINK``), off the inference thread.

::

    --output -                                   schema-1 JSON lines on stdout
    --output jsonl:/var/log/edgeml/results.jsonl appended, fsynced per batch, rotated by size
    --output mqtt://user:pw@broker:1883/edgeml/kiosk1   QoS 1 through a durable SQLite outbox
    --output mqtts://broker/edgeml/kiosk1 --mqtt-ca ca.pem

:mod:`edgeml.sinks.events` is the schema, :mod:`~edgeml.sinks.emit` the policy (``every`` | ``change`` |
``interval:S`` plus a heartbeat), :mod:`~edgeml.sinks.dispatch` the thread that runs them. Sinks exist only when
asked for: without ``--output`` nothing here is imported and no socket or file is opened. Frames never reach a sink.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from edgeml.sinks.base import Sink, SinkSpec, parse_output
from edgeml.sinks.emit import EmitPolicy

__all__ = ["MQTT_HEARTBEAT_S", "EmitPolicy", "Sink", "SinkSpec", "default_policy", "open_sinks", "parse_output"]

MQTT_HEARTBEAT_S = 60.0


def default_policy(spec: SinkSpec, emit: str | None = None, *, hold: int = 3, min_score: float = 0.5,
                   heartbeat_s: float | None = -1.0) -> EmitPolicy:
    """The policy of one sink: ``--emit`` if given, else ``change`` for MQTT (a fleet is not flooded) and
    ``every`` for stdout and files; heartbeat ``heartbeat_s`` (-1: 60 s for MQTT, none for the rest; 0 or None:
    none)."""
    mode = emit or ("change" if spec.needs_network else "every")
    if heartbeat_s is not None and heartbeat_s < 0:
        heartbeat_s = MQTT_HEARTBEAT_S if spec.needs_network else None
    return EmitPolicy.parse(mode, hold=hold, min_score=min_score, heartbeat_s=heartbeat_s or None)


def open_sinks(specs: Sequence[SinkSpec], *, store: str | os.PathLike[str] | None, device: str,
               emit: str | None = None, hold: int = 3, min_score: float = 0.5, heartbeat_s: float | None = -1.0,
               mqtt_ca: str | None = None, **mqtt_options: Any) -> list[Sink]:
    """Open one sink per spec (closing those already open when one fails); MQTT's outbox lives in ``store``."""
    sinks: list[Sink] = []
    try:
        for spec in specs:
            policy = default_policy(spec, emit, hold=hold, min_score=min_score, heartbeat_s=heartbeat_s)
            if spec.scheme == "-":
                from edgeml.sinks.stdout import StdoutSink

                sinks.append(StdoutSink(policy))
            elif spec.scheme == "jsonl":
                from edgeml.sinks.jsonl import JsonlSink

                sinks.append(JsonlSink(spec.target, policy))
            else:
                from edgeml.data_dir import resolve_store
                from edgeml.sinks.mqtt import MqttSink

                sinks.append(MqttSink(spec, store=resolve_store(store), policy=policy, device=device,
                                      ca_file=mqtt_ca, **mqtt_options))
    except BaseException:
        for sink in sinks:
            sink.close(1.0)
        raise
    return sinks
