"""The stream's watchdog: notice a source read or an ``invoke()`` that does not return, instead of waiting forever.

A thread stuck in a driver or in the interpreter's native code cannot be interrupted from Python, so the
watchdog does what Frigate's does (a detector without a result for 10 s, a camera without frames for 20 s): it
notices, says which stage is stuck and for how long, and stops the stream with
:class:`~edgeml.errors.StreamStalledError`, so that the process can be restarted (the CLI exits 1; the kiosk's
systemd unit restarts it). Each stage marks when its current call began and clears the mark when it returns;
only a call that is still running counts, so a camera reconnecting with back-off or a stream paused by ``fps``
is never "stuck".

Defaults: :data:`SOURCE_TIMEOUT` for one ``open()``/``read()``/``close()`` of the source, :data:`INVOKE_TIMEOUT`
for one classification (copy in, ``invoke()``, decode). None disables a stage's check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from edgeml.errors import StreamStalledError

__all__ = ["INVOKE_TIMEOUT", "SOURCE_TIMEOUT", "StageClock"]

SOURCE_TIMEOUT = 20.0  # seconds one source call may take (Frigate: a camera with no frames for 20 s)
INVOKE_TIMEOUT = 10.0  # seconds one classification may take (Frigate: a detector with no result for 10 s)
STAGES = ("source", "invoke")


class StageClock:
    """When each stage's current call began, and which one has run past its limit.

    ``begin``/``end`` are called by the stage's own thread around each call (two clock reads and two stores: cheap
    enough per frame); :meth:`overdue` by the watchdog thread. A stage's mark is a single float written and read
    whole, so no lock is needed.

    Args:
        limits: Seconds per stage (``"source"``, ``"invoke"``); None or absent: not watched.
        clock: Monotonic seconds (``time.monotonic``).
    """

    def __init__(self, limits: dict[str, float | None], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {stage: limit for stage, limit in limits.items() if limit is not None}
        self.clock = clock
        self._began: dict[str, float | None] = dict.fromkeys(STAGES)
        self._what: dict[str, str] = dict.fromkeys(STAGES, "")

    @property
    def watching(self) -> bool:
        """True when at least one stage has a limit."""
        return bool(self.limits)

    def begin(self, stage: str, what: str) -> None:
        """Mark that ``stage`` started the call ``what`` (e.g. ``"read()"``) now."""
        self._what[stage] = what
        self._began[stage] = self.clock()

    def end(self, stage: str) -> None:
        """Mark that ``stage``'s call returned (or raised)."""
        self._began[stage] = None

    def overdue(self) -> tuple[str, str, float] | None:
        """Return ``(stage, call, seconds running)`` of a call past its limit, or None."""
        now = self.clock()
        for stage, limit in self.limits.items():
            began = self._began[stage]
            if began is not None and now - began > limit:
                return stage, self._what[stage], now - began
        return None

    def poll_interval(self) -> float:
        """How often the watchdog looks: a quarter of the shortest limit, between 10 ms and 1 s."""
        return min(1.0, max(0.01, min(self.limits.values(), default=1.0) / 4.0))

    def stalled_error(self, source: str) -> StreamStalledError | None:
        """Return the error describing an overdue call, or None when every stage is on time."""
        found = self.overdue()
        if found is None:
            return None
        stage, what, seconds = found
        limit = self.limits[stage]
        if stage == "source":
            message = (f"Source {source!r} is stuck: its {what} has not returned for {seconds:.1f} s (limit "
                       f"{limit:g} s), so the stream stopped. Restart the process (the kiosk unit does); if frames "
                       "are legitimately this slow, raise source_timeout (--source-timeout).")
        else:
            message = (f"The model is stuck: {what} on a frame of {source!r} has not returned for {seconds:.1f} s "
                       f"(limit {limit:g} s), so the stream stopped. Restart the process (the kiosk unit does); if "
                       "the model is legitimately this slow, raise invoke_timeout (--invoke-timeout).")
        return StreamStalledError(message, stage=stage, seconds=seconds)


def watch(clock: StageClock, source: str, stop: threading.Event,
          on_stall: Callable[[StreamStalledError], None]) -> None:
    """Run on the watchdog thread: poll ``clock`` until ``stop`` is set, and report the first stall."""
    interval = clock.poll_interval()
    while not stop.wait(interval):
        error = clock.stalled_error(source)
        if error is not None:
            on_stall(error)
            return
