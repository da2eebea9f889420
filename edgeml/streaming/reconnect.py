"""When a stream's source fails: how long to wait before reopening it, and when to give up.

- A source that **has delivered frames** (a camera unplugged, then plugged back) is reopened with exponential
  back-off, 0.1 s doubling to 5 s: forever for live sources, ``retries`` times in a row for files and folders.
- A source that **never delivered a frame** (an absent ``usb:7``, a file that is not a video) gets at most
  ``startup_retries`` retries (and never more than ``retries``): then the stream ends with one
  :class:`~edgeml.errors.SourceError` instead of retrying a camera that is not there.
- A missing package or a bad source string is not retried at all: reopening cannot fix it.
"""

from __future__ import annotations

import time

from edgeml.errors import EdgemlError, InvalidSourceError, MissingDependencyError, SourceError

__all__ = ["STARTUP_RETRIES", "UNFIXABLE", "Reconnect"]

STARTUP_RETRIES = 5  # a source that never delivered a frame: 6 attempts over 3.1 s of back-off, then SourceError
UNFIXABLE = (MissingDependencyError, InvalidSourceError)
_FIRST_DELAY, _MAX_DELAY = 0.1, 5.0


class Reconnect:
    """The retry state of one source.

    Args:
        name: The source string, for messages.
        retries: Consecutive failures tolerated once frames have arrived (None: forever).
        startup_retries: Consecutive failures tolerated before the first frame (capped by ``retries``).
    """

    def __init__(self, name: str, retries: int | None, startup_retries: int = STARTUP_RETRIES) -> None:
        self.name = name
        self.retries = retries
        self.startup_retries = startup_retries if retries is None else min(startup_retries, retries)
        self.failures = 0
        self.delivered = False
        self._first_failure = 0.0

    def frame_arrived(self) -> None:
        """A frame came: the source works (again)."""
        self.failures, self.delivered = 0, True

    def failed(self, exc: Exception) -> float:
        """Count a failure; return the seconds to wait before reopening.

        Raises:
            SourceError: (or ``exc`` itself when it is an EdgemlError) the source failed too often to go on.
        """
        self.failures += 1
        if self.failures == 1:
            self._first_failure = time.monotonic()
        limit = self.retries if self.delivered else self.startup_retries
        if limit is not None and self.failures > limit:
            error = self._give_up(exc)
            if error is exc:
                raise exc
            raise error from exc
        return min(_MAX_DELAY, _FIRST_DELAY * 2 ** (self.failures - 1))

    def _give_up(self, exc: Exception) -> Exception:
        if not self.delivered:
            seconds = time.monotonic() - self._first_failure
            return SourceError(f"{self.name!r} never delivered a frame: {self.failures} attempts failed over "
                               f"{seconds:.1f} s; giving up. Last error: {' '.join(str(exc).split())}")
        if isinstance(exc, EdgemlError):
            return exc
        return SourceError(f"{self.name!r} failed {self.failures} times in a row; giving up. Last error: {exc}")
