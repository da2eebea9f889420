"""A canary: a candidate model run in shadow on live frames, compared with the model that serves them.

The inference thread offers every ``every``-th frame it has classified (:meth:`Canary.offer`: a copy of the frame,
the served top-1 and its ``invoke()`` time) and never waits: the hand-over holds one frame, and a frame offered
while the candidate is still busy is skipped (counted). The candidate runs on its own thread at a lower CPU
priority (nice +10, Linux), so the shadow costs at most one candidate ``invoke()`` per ``every`` frames and yields
to the stream. After ``frames`` comparisons the outcome, with its figures, goes to ``on_done``:

- ``agreement``: the share of compared frames whose top-1 label is the served model's;
- ``latency_ms_p50`` / ``current_latency_ms_p50``: median ``invoke()`` of the candidate (in shadow, niced: an upper
  bound) and of the served model over the same frames, and their ratio;
- ``passed``: agreement >= ``min_agreement``, no candidate error, and (if asked) the ratio <= ``max_latency_ratio``;
  ``reason`` says why not, or what passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeml.frame import Frame
from edgeml.streaming.channel import POLL
from edgeml.streaming.stats import StreamResult

if TYPE_CHECKING:
    from edgeml.inference.classifier import Classifier

__all__ = ["Canary"]

log = logging.getLogger("edgeml.store")


class Canary:
    """Shadow ``candidate`` on live frames as the request says (see the module docstring).

    Args:
        candidate: The candidate version's classifier (built and warmed beside the served one).
        request: The store's canary request: ``version``, ``frames``, ``every``, ``min_agreement``,
            ``max_latency_ratio``.
        against: The served version it is compared with.
        on_done: Called once, on the canary's thread, with the outcome.
    """

    def __init__(self, candidate: Classifier, request: dict[str, Any], against: int,
                 on_done: Callable[[dict[str, Any]], None]) -> None:
        self.candidate, self.request, self.against = candidate, request, against
        self.version = int(request["version"])
        self.frames, self.every = int(request["frames"]), max(1, int(request.get("every") or 1))
        self.on_done = on_done
        self.offered = self.skipped = self.compared = self.agreed = self.errors = 0
        self._ms: list[float] = []
        self._served_ms: list[float] = []
        self._slot: queue.Queue[tuple[Frame, str | None, float]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="edgeml-canary", daemon=True)
        self._thread.start()

    def offer(self, result: StreamResult, frame: Frame) -> None:
        """Called on the inference thread after each good result; never blocks."""
        self.offered += 1
        if self.offered % self.every or self._stop.is_set():
            return
        served = result.results[0].label if result.results else None
        copy = dataclasses.replace(frame, pixels=frame.pixels.copy())
        try:
            self._slot.put_nowait((copy, served, float(result.timings.get("invoke", 0.0))))
        except queue.Full:
            self.skipped += 1

    def stop(self) -> None:
        """Stop shadowing (the outcome, if not reached, is never reported) and close the candidate."""
        self._stop.set()
        self._thread.join(5.0)

    def _work(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # Linux: per thread
        try:
            while not self._stop.is_set() and self.compared < self.frames:
                try:
                    frame, served, served_ms = self._slot.get(timeout=POLL)
                except queue.Empty:
                    continue
                self._compare(frame, served, served_ms)
            if not self._stop.is_set():
                self.on_done(self.outcome())
        finally:
            self.candidate.close()

    def _compare(self, frame: Frame, served: str | None, served_ms: float) -> None:
        try:
            prediction = self.candidate.run(frame, top_k=1)
        except Exception as exc:  # a candidate that fails is an outcome, not a crash of the stream
            self.errors += 1
            self.compared += 1
            log.warning("canary %d failed on a frame: %s", self.version, exc)
            return
        top = prediction.results[0].label if prediction.results else None
        self.compared += 1
        self.agreed += int(top == served)
        self._ms.append(prediction.timings.invoke * 1000.0)
        self._served_ms.append(served_ms)

    def outcome(self) -> dict[str, Any]:
        """The figures so far, and whether they pass the request."""
        agreement = self.agreed / self.compared if self.compared else 0.0
        ms = float(np.median(self._ms)) if self._ms else None
        served = float(np.median(self._served_ms)) if self._served_ms else None
        ratio = ms / served if ms is not None and served else None
        need, limit = float(self.request.get("min_agreement", 0.95)), self.request.get("max_latency_ratio")
        if self.errors:
            passed, reason = False, f"{self.errors} of {self.compared} shadow runs failed"
        elif agreement < need:
            passed, reason = False, f"top-1 agreed on {agreement:.1%} of {self.compared} frames (needs {need:.1%})"
        elif limit is not None and ratio is not None and ratio > float(limit):
            passed, reason = False, f"invoke() {ratio:.2f}x the current model's (limit {float(limit):.2f}x)"
        else:
            passed, reason = True, f"top-1 agreed on {agreement:.1%} of {self.compared} frames (needs {need:.1%})"
        return {"version": self.version, "against": self.against, "passed": passed, "reason": reason,
                "frames": self.compared, "agreement": round(agreement, 4), "min_agreement": need,
                "errors": self.errors, "latency_ms_p50": _round(ms), "current_latency_ms_p50": _round(served),
                "latency_ratio": _round(ratio), "every": self.every, "skipped": self.skipped}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
