"""``--output -``: schema-1 events as JSON lines on stdout (for a pipe, or the journal under systemd)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from edgeml.sinks.emit import EmitPolicy

__all__ = ["StdoutSink"]


class StdoutSink:
    """Print each event as one compact JSON line and flush once per batch."""

    needs_network = False

    def __init__(self, policy: EmitPolicy, stream: TextIO | None = None) -> None:
        self.name = "stdout"
        self.policy = policy
        self._stream = stream
        self.sent = 0

    def write(self, events: Sequence[dict[str, Any]]) -> None:
        out = self._stream or sys.stdout
        out.write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
        out.flush()
        self.sent += len(events)

    def close(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`) at exit is not an error
            (self._stream or sys.stdout).flush()

    def status(self) -> dict[str, Any]:
        return {"sent": self.sent}
