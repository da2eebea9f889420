"""``--output jsonl:PATH``: schema-1 events appended to a file, fsynced per batch, rotated by size.

Each batch is written with one ``write`` and made durable with one ``fsync`` before ``write`` returns, so a power
cut loses at most the batch in flight and never leaves half a line behind a later one (a torn last line is possible;
readers skip a line that does not parse). When the file would grow past ``max_bytes`` it is renamed to
``PATH.1`` (``PATH.1`` to ``PATH.2``, ..., the oldest beyond ``backups`` deleted) and a new one started: a kiosk's
disk does not fill in a year of results. The file is created mode 0600 (results can be private too).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgeml.errors import SinkError
from edgeml.sinks.emit import EmitPolicy

__all__ = ["BACKUPS", "MAX_BYTES", "JsonlSink"]

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3


class JsonlSink:
    """Append events to ``path`` as JSON lines.

    Args:
        path: The file (its folder must exist and be writable).
        policy: When events are sent.
        max_bytes: Rotate before the file passes this size.
        backups: Rotated files kept (``PATH.1`` newest).

    Raises:
        SinkError: The file cannot be opened for appending (the message names the path and the fix).
    """

    needs_network = False

    def __init__(self, path: str | os.PathLike[str], policy: EmitPolicy, *, max_bytes: int = MAX_BYTES,
                 backups: int = BACKUPS) -> None:
        self.path = Path(path).expanduser()
        self.name = f"jsonl:{self.path}"
        self.policy = policy
        self.max_bytes = max_bytes
        self.backups = backups
        self.sent = 0
        self.rotations = 0
        self._fd = self._open()

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SinkError(f"Cannot append results to {str(self.path)!r}: {exc.strerror or exc}. Pass a path in a "
                            "writable folder (--output jsonl:PATH); under the kiosk unit it must be one of the "
                            "unit's writable paths (edgeml service install --output).") from exc

    def write(self, events: Sequence[dict[str, Any]]) -> None:
        data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()
        if self.max_bytes and os.fstat(self._fd).st_size + len(data) > self.max_bytes and \
                os.fstat(self._fd).st_size > 0:
            self._rotate()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self.sent += len(events)

    def _rotate(self) -> None:
        os.close(self._fd)
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()
        self._fd = self._open()
        self.rotations += 1

    def close(self, timeout: float = 5.0) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def status(self) -> dict[str, Any]:
        return {"sent": self.sent, "rotations": self.rotations}
