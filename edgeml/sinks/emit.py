"""The emit policy: which results a sink sends, so a fleet is not flooded at 200 results/s (pure, no I/O).

- ``every``: each result.
- ``change``: when the top label changes and the new one has held for ``hold`` consecutive frames with a score
  of at least ``min_score`` (Frigate-style consensus: a one-frame flicker sends nothing). The first stable label
  of a run is a change too. A frame below ``min_score``, with another label or with an error breaks the streak:
  a label must hold without interruption.
- ``interval:SECONDS``: the latest result at most once per interval.

Every policy can add a heartbeat: the latest result and the stream's counters every ``heartbeat_s`` seconds, so a
quiet but healthy device is told apart from a dead one. Unreadable frames (``error``) are sent by ``every`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgeml.errors import InvalidArgumentError

if TYPE_CHECKING:
    from edgeml.streaming.stats import StreamResult

__all__ = ["MODES", "EmitPolicy", "Emitter"]

MODES = ("every", "change", "interval")


@dataclass(frozen=True)
class EmitPolicy:
    """When a sink sends a result.

    Attributes:
        mode: ``"every"``, ``"change"`` or ``"interval"``.
        interval_s: For ``interval``: seconds between two results.
        hold: For ``change``: frames a new top label must hold before it is sent.
        min_score: For ``change``: the score a frame's top label needs to count towards ``hold``.
        heartbeat_s: Seconds between heartbeats (None: none).
    """

    mode: str = "every"
    interval_s: float = 0.0
    hold: int = 3
    min_score: float = 0.5
    heartbeat_s: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidArgumentError(f"emit mode must be one of {', '.join(MODES)}. Received: {self.mode!r}")
        if self.mode == "interval" and not self.interval_s > 0:
            raise InvalidArgumentError(f"--emit interval:SECONDS needs SECONDS > 0. Received: {self.interval_s!r}")
        if self.hold < 1:
            raise InvalidArgumentError(f"--emit-hold must be >= 1 frame. Received: {self.hold!r}")
        if not 0.0 <= self.min_score <= 1.0:
            raise InvalidArgumentError(f"--emit-min-score must be in [0, 1]. Received: {self.min_score!r}")
        if self.heartbeat_s is not None and not self.heartbeat_s > 0:
            raise InvalidArgumentError(f"--heartbeat must be > 0 seconds (0 on the command line: none). "
                                       f"Received: {self.heartbeat_s!r}")

    @classmethod
    def parse(cls, text: str, *, hold: int = 3, min_score: float = 0.5,
              heartbeat_s: float | None = None) -> EmitPolicy:
        """Return the policy of ``--emit every | change | interval:SECONDS``."""
        mode, _, arg = text.strip().partition(":")
        if mode == "interval":
            try:
                seconds = float(arg)
            except ValueError:
                raise InvalidArgumentError(f"--emit interval:SECONDS needs a number of seconds, e.g. interval:5. "
                                           f"Received: {text!r}") from None
            return cls("interval", seconds, hold, min_score, heartbeat_s)
        if arg:
            raise InvalidArgumentError(f"--emit {mode} takes no argument. Received: {text!r}; choices: every, "
                                       "change, interval:SECONDS")
        return cls(mode, 0.0, hold, min_score, heartbeat_s)

    def to_dict(self) -> dict[str, object]:
        return {"mode": self.mode, "interval_s": self.interval_s, "hold": self.hold, "min_score": self.min_score,
                "heartbeat_s": self.heartbeat_s}


class Emitter:
    """The state of one policy over a run: :meth:`offer` each result, :meth:`heartbeat_due` on a clock.

    Not thread-safe: one emitter belongs to one sink on the dispatcher thread.
    """

    def __init__(self, policy: EmitPolicy, now: float = 0.0) -> None:
        self.policy = policy
        self.sent_label: str | None = None  # the label last sent as a change
        self._candidate: str | None = None
        self._streak = 0
        self._last_sent = float("-inf")
        self._last_beat = now

    def offer(self, result: StreamResult, now: float) -> str | None:
        """Return the event type to send for ``result`` (``"result"`` or ``"change"``), or None to send nothing.

        ``now`` is a monotonic clock reading (seconds).
        """
        p = self.policy
        if p.mode == "every":
            return "result"
        if result.error is not None:
            self._candidate, self._streak = None, 0
            return None
        if p.mode == "interval":
            if now - self._last_sent >= p.interval_s:
                self._last_sent = now
                return "result"
            return None
        top = result.results[0] if result.results else None
        if top is None or top.score < p.min_score:
            self._candidate, self._streak = None, 0
            return None
        if top.label == self._candidate:
            self._streak += 1
        else:
            self._candidate, self._streak = top.label, 1
        if self._streak >= p.hold and top.label != self.sent_label:
            self.sent_label = top.label
            return "change"
        return None

    def heartbeat_due(self, now: float) -> bool:
        """True (and the clock restarted) when a heartbeat is due at monotonic time ``now``."""
        if self.policy.heartbeat_s is None or now - self._last_beat < self.policy.heartbeat_s:
            return False
        self._last_beat = now
        return True
