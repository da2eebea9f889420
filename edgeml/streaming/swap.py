"""Keep a running stream's model in step with the store: hot swap, canary, commit or revert.

A :class:`ModelWatcher` runs one background thread beside a :class:`~edgeml.streaming.Stream` whose classifier
came from ``store:NAME`` (not pinned to a version). Every ``poll_s`` seconds (and at once on :meth:`check_now`,
which the CLI calls on SIGHUP) it stats the ``current`` pointer and ``state.json`` (two syscalls), and:

- **hot swap**: when ``current`` names another version, it builds the new :class:`~edgeml.Classifier` *on this
  thread*, beside the running one, with the same settings (:meth:`~edgeml.Classifier.reopen`), warms it with one
  frame of the stream's own geometry (plan cache, tensors, first ``invoke()``), then leaves it in a slot. The
  inference thread picks it up between two frames (:meth:`take`: a lock-free swap of one reference), so frame
  indices run on and no frame waits for a model to load. The old classifier is closed here, afterwards. A
  version that fails to load is marked bad and ``current`` goes back to the running version.
- **commit or revert**: while the running version is pending, it counts frames classified without a model error
  (:meth:`observe`); after the version's health window it commits it. ``max_failures`` failed invokes
  (:meth:`failed`) revert it to the committed version (which is then swapped in like any other).
- **canary**: a canary request in ``state.json`` builds the candidate and shadows it
  (:class:`~edgeml.streaming.canary.Canary`); its outcome promotes it (``current`` moves, so it is swapped in) or
  marks it bad.

Every change becomes an event (``{"event": "model_swapped", ...}``): logged, attached to the next result
(:attr:`StreamResult.events`, the ``events`` of a ``--json`` line) and passed to the stream's ``on_event``.
Store writes happen on this thread, never on the inference thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeml.errors import EdgemlError, InvalidArgumentError, one_line
from edgeml.frame import Frame
from edgeml.store import health
from edgeml.store.layout import PointerStamp, StoreLayout
from edgeml.streaming.canary import Canary
from edgeml.streaming.stats import StreamResult

if TYPE_CHECKING:
    from edgeml.inference.classifier import Classifier

__all__ = ["POLL_S", "ModelWatcher"]

log = logging.getLogger("edgeml.store")
POLL_S = 0.5


@dataclass
class _Window:
    """The health window of a pending version, counted on the inference thread."""

    version: int
    needed: int
    max_failures: int
    good: int = 0
    failures: int = 0
    closed: bool = False  # commit or revert asked for: count no more


class ModelWatcher:
    """See the module docstring. ``classifier`` must come from the store (``classifier.identity`` set); the
    stream decides whether to follow it (not for ``store:NAME@VERSION``)."""

    def __init__(self, classifier: Classifier, *, poll_s: float = POLL_S) -> None:
        ident = classifier.identity
        if ident is None:
            raise InvalidArgumentError("ModelWatcher needs a classifier opened from the model store; open it as "
                                       "Classifier(\"store:NAME\") to follow the store's current version.")
        self.layout, self.name, self.poll_s = StoreLayout(ident.store), ident.name, poll_s
        self.version = ident.version  # what the inference thread runs (after take())
        self._loaded = ident.version  # what it runs or will run once it takes the slot
        self._ready: tuple[Classifier, _Window | None] | None = None
        self._window = self._window_for(ident.version)
        self._retired: list[Classifier] = []
        self._failed: set[int] = set()
        self._events: deque[dict[str, Any]] = deque(maxlen=64)
        self._commands: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._canary: Canary | None = None
        self._template = classifier
        self._geometry: tuple[tuple[int, ...], str, int, int] | None = None
        self._stamp: PointerStamp | None = None
        self._fatal = False
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="edgeml-model-watch", daemon=True)

    def start(self) -> ModelWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5.0)
        if self._canary is not None:
            self._canary.stop()
        self._close_retired()

    def check_now(self) -> None:
        """Look at the store now instead of at the next poll (safe in a signal handler)."""
        self._wake.set()

    # -- the inference thread's side: cheap, never blocking -------------------------------------------------
    def take(self, running: Classifier) -> Classifier | None:
        """Return the classifier to swap in before the next frame, or None; ``running`` is retired."""
        ready, self._ready = self._ready, None
        if ready is None:
            return None
        new, window = ready
        previous = self.version
        self.version, self._window = new.identity.version if new.identity else self.version, window
        self._retired.append(running)
        self._event("model_swapped", previous=previous, version=self.version)
        return new

    def observe(self, result: StreamResult, frame: Frame) -> None:
        """Count a result of the running version (health window) and offer its frame to a canary."""
        self._geometry = (frame.pixels.shape, frame.format, frame.width, frame.height)
        w = self._window
        if w is not None and not w.closed:
            w.good += 1
            if w.good >= w.needed:
                w.closed = True
                self._command("commit", (w.version, w.good))
        canary = self._canary
        if canary is not None and result.results:
            canary.offer(result, frame)

    def failed(self, exc: BaseException) -> bool:
        """A model error on the running version: True when the stream should go on (a revert is on its way)."""
        w = self._window
        if w is None or self._fatal:
            return False
        w.good = 0
        w.failures += 1
        if w.failures >= w.max_failures and not w.closed:
            w.closed = True
            self._command("revert", (w.version, f"failed {w.failures} invokes in a row ({one_line(exc)})",
                                     {"failures": w.failures}))
        return True

    def events(self) -> tuple[dict[str, Any], ...]:
        """Events since the last call (for the next result)."""
        out = []
        while self._events:
            out.append(self._events.popleft())
        return tuple(out)

    # -- the watcher thread -----------------------------------------------------------------------------------
    def _command(self, kind: str, args: Any) -> None:
        self._commands.put((kind, args))
        self._wake.set()

    def _event(self, kind: str, **details: Any) -> None:
        event = {"event": kind, "model": self.name, **details}
        self._events.append(event)
        (log.warning if kind in ("model_reverted", "canary_rejected", "model_load_failed") else log.info)(
            "%s", " ".join([kind, *(f"{k}={v}" for k, v in event.items() if k != "event")]))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                self._step()
            except EdgemlError as exc:  # the store is unreadable for a moment: the stream goes on as it is
                log.warning("model store check failed: %s", one_line(exc))
            except OSError as exc:
                log.warning("model store check failed: %s", exc)
        try:  # a commit or revert asked for just before the stream ended is still written
            self._do_commands()
        except (EdgemlError, OSError) as exc:
            log.warning("model store update failed: %s", one_line(exc))

    def _do_commands(self) -> None:
        while not self._commands.empty():
            kind, args = self._commands.get_nowait()
            getattr(self, f"_do_{kind}")(*args)

    def _step(self) -> None:
        self._do_commands()
        self._close_retired()
        stamp = self.layout.stamp(self.name)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self._sync_canary()
        target = stamp.current
        if target is not None and target != self._loaded and target not in self._failed and self._ready is None:
            self._prepare(target)

    def _prepare(self, version: int) -> None:
        try:
            new = self._template.reopen(f"store:{self.name}@{version}")
            self._warm(new)
        except Exception as exc:
            self._failed.add(version)
            self._event("model_load_failed", version=version, error=one_line(exc))
            event = health.revert(self.layout, self.name, version, f"failed to load in a running stream: "
                                  f"{one_line(exc)}", {}, to=self.version)
            if event is not None:
                self._event("model_reverted", version=self.version, previous=version, reason=event["reason"])
            return
        self._loaded = version
        self._ready = (new, self._window_for(version))

    def _warm(self, clf: Classifier) -> None:
        """One run on a frame of the stream's geometry: plans, allocations and the first invoke() happen here."""
        if self._geometry is None:
            clf.run(Frame(np.zeros((clf.height, clf.width, 3), np.uint8)))
            return
        shape, fmt, width, height = self._geometry
        clf.run(Frame(np.zeros(shape, np.uint8), fmt, width, height))

    def _window_for(self, version: int) -> _Window | None:
        pending = health.status(self.layout, self.name)["pending"]
        if pending is None or pending.get("version") != version:
            return None
        return _Window(version, int(pending["health_frames"]), int(pending["max_failures"]))

    def _do_commit(self, version: int, frames: int) -> None:
        if health.commit(self.layout, self.name, version, frames):
            self._event("model_committed", version=version, frames=frames)

    def _do_revert(self, version: int, reason: str, figures: dict[str, Any]) -> None:
        event = health.revert(self.layout, self.name, version, reason, figures)
        if event is None:
            self._fatal = True  # nothing to go back to: the next model error ends the stream
            return
        self._event("model_reverted", version=event["version"], previous=version, reason=reason)

    def _do_canary(self, version: int, outcome: dict[str, Any]) -> None:
        self._canary = None
        verdict = health.finish_canary(self.layout, self.name, version, outcome)
        if verdict is not None:
            self._event(f"canary_{verdict}", version=version, figures=outcome)

    def _sync_canary(self) -> None:
        request = self.layout.state(self.name).canary
        running = self._canary
        if running is not None and (request is None or request.get("version") != running.version):
            running.stop()
            self._canary = None
        if request is None or self._canary is not None or int(request["version"]) in self._failed:
            return
        version = int(request["version"])
        try:
            candidate = self._template.reopen(f"store:{self.name}@{version}")
            self._warm(candidate)
        except Exception as exc:
            self._failed.add(version)
            outcome = {"version": version, "passed": False, "reason": f"failed to load: {one_line(exc)}",
                       "frames": 0}
            self._do_canary(version, outcome)
            return
        self._canary = Canary(candidate, request, self.version,
                              lambda outcome: self._command("canary", (outcome["version"], outcome)))
        self._event("canary_started", version=version, against=self.version, frames=request["frames"],
                    every=request.get("every"))

    def _close_retired(self) -> None:
        while self._retired:
            self._retired.pop().close()
