"""``--output SINK`` and the emit policy options, shared by ``edgeml classify --source`` and ``edgeml serve``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from edgeml.cli._args import non_negative_float, positive_int, probability

__all__ = ["add_output_options", "open_dispatcher", "sinks_summary"]


def add_output_options(p: argparse.ArgumentParser) -> None:
    """Add --output (repeatable), --emit, --emit-hold, --emit-min-score, --heartbeat, --mqtt-ca, --device-id."""
    g = p.add_argument_group("where results go (nothing leaves the device without --output; never pixels)")
    g.add_argument("--output", action="append", default=[], metavar="SINK",
                   help="send schema-1 events to SINK (repeatable): '-' (JSON lines on stdout), jsonl:PATH "
                        "(appended, fsynced, rotated at 10 MB), mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC or "
                        "mqtts://... (QoS 1 through a durable outbox in the store; needs edgeml[mqtt])")
    g.add_argument("--emit", metavar="POLICY", default=None,
                   help="every | change | interval:SECONDS (default: change for MQTT, every for stdout and files)")
    g.add_argument("--emit-hold", type=positive_int, default=3, metavar="N",
                   help="--emit change: frames a new top label must hold before it is sent, and before "
                        "edgeml serve's kiosk page shows it (default: 3)")
    g.add_argument("--emit-min-score", type=probability, default=0.5, metavar="P",
                   help="--emit change and the kiosk page: score the top label needs for a frame to count "
                        "(default: 0.5)")
    g.add_argument("--heartbeat", type=non_negative_float, default=None, metavar="S",
                   help="also send the latest result and counters every S seconds (default: 60 for MQTT, none "
                        "for the rest; 0: none)")
    g.add_argument("--mqtt-ca", metavar="FILE", help="CA certificates for mqtts:// (default: the system's)")
    g.add_argument("--device-id", metavar="ID",
                   help="the device in events and MQTT topics (default: $EDGEML_DEVICE_ID, else the host name)")


def open_dispatcher(args: argparse.Namespace, stats: Callable[[], dict[str, Any]] | None = None,
                    observers: Sequence[Callable[[Any], Any]] = (), extra_sinks: Sequence[Any] = ()) -> Any:
    """Open the sinks of ``--output`` and return a started :class:`~edgeml.sinks.dispatch.Dispatcher`, or None
    when there is nothing to send to (no sink, no observer): then nothing is imported or opened."""
    if not args.output and not observers and not extra_sinks:
        return None
    from edgeml.sinks import open_sinks, parse_output
    from edgeml.sinks.dispatch import Dispatcher
    from edgeml.sinks.events import EventStamp, device_id

    if args.emit is not None:
        from edgeml.sinks.emit import EmitPolicy

        EmitPolicy.parse(args.emit)  # a bad --emit fails before any sink opens
    device = args.device_id or device_id()
    heartbeat = -1.0 if args.heartbeat is None else args.heartbeat
    sinks = open_sinks(parse_output(args.output), store=getattr(args, "store", None), device=device,
                       emit=args.emit, hold=args.emit_hold, min_score=args.emit_min_score, heartbeat_s=heartbeat,
                       mqtt_ca=args.mqtt_ca)
    return Dispatcher([*sinks, *extra_sinks], EventStamp(device), stats=stats, observers=observers).start()


def sinks_summary(dispatcher: Any) -> str:
    """One line for the closing stats: what each sink sent, its outbox and drops."""
    status = dispatcher.status()
    parts = []
    for name, s in status["sinks"].items():
        figures = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool) and (v or k == "sent"))
        parts.append(f"{name}: {figures}" if figures else name)
    if status["dispatch_dropped"]:
        parts.append(f"dropped before the sinks {status['dispatch_dropped']}")
    return "; ".join(parts)
