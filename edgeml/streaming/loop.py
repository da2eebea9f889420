"""Classify a stream of frames: capture on one thread, inference on another, results as an iterator or callback.

::

    for result in edgeml.stream("picamera2", clf, top_k=3):
        print(result.index, result.results[0].label, result.latency_ms)

How frames travel from the capture thread to the inference thread depends on the source:

- live sources (cameras, ``realtime`` files) use a **latest-frame slot**: a new frame replaces one not yet taken,
  and the replaced one is counted in ``stats.dropped``. Nothing queues up, so results never fall behind reality.
- finite sources read as fast as possible (files, folders) use a **two-frame queue with back-pressure**: the
  reader waits for the interpreter, so no frame is decoded only to be dropped and none is skipped.

Frames go through the classifier's :class:`~edgeml.inference.pipeline.Pipeline`, the same composition and fast path as
``Classifier.run``. By default the capture thread also turns each frame into the model's input values with the
pipeline's cached plan (crop, resize and colour conversion of the region used) into a reused staging buffer, so that
work overlaps the previous frame's ``invoke()`` and the inference thread only copies it in, runs the interpreter and
picks the top classes (``prepare="capture"``). ``prepare="inference"`` writes straight into the interpreter's input
tensor on the inference thread instead (no copy, no overlap).

When the source fails (camera unplugged, read error) the capture thread closes it and reopens it with exponential
back-off, counting ``read_failures`` and ``reconnects``: forever for a camera that has delivered frames, a bounded
number of times (``startup_retries``) for a source that never has (an absent ``usb:7`` fails with a
:class:`~edgeml.errors.SourceError` instead of retrying forever). An unreadable item (a corrupt image) is delivered
as a result with ``error`` set. Every wait is bounded: threads poll a stop event, joins have timeouts, queues are
bounded, and a watchdog (:mod:`~edgeml.streaming.watchdog`) stops the stream with
:class:`~edgeml.errors.StreamStalledError` when a source call or an ``invoke()`` does not return in time.

A classifier opened from the model store (``store:NAME``) is kept in step with it by a
:class:`~edgeml.streaming.swap.ModelWatcher`: a new ``current`` version is built and warmed beside the running one
and swapped in between two frames, a pending version is committed after its health window or reverted after
failed invokes, and a canary request is shadowed. Each result says which model made it (``model``) and carries
the store's events (``events``).
:meth:`Stream.stop` is safe from a signal handler; the CLI installs SIGINT/SIGTERM/SIGHUP handlers, the library
never does.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from edgeml.errors import ImageError, InvalidArgumentError, ModelFormatError, StreamStalledError
from edgeml.inference.classifier import Classifier
from edgeml.inference.pipeline import Pipeline
from edgeml.postprocess.classification import check_request
from edgeml.sources import FrameSource, open_source
from edgeml.streaming.capture import Capture, Item, recycle
from edgeml.streaming.channel import POLL, Channel, Closed
from edgeml.streaming.reconnect import STARTUP_RETRIES
from edgeml.streaming.stats import StreamResult, StreamStats
from edgeml.streaming.swap import POLL_S, ModelWatcher
from edgeml.streaming.watchdog import INVOKE_TIMEOUT, SOURCE_TIMEOUT, StageClock, watch

if TYPE_CHECKING:
    from edgeml.inference.base import ImageModel

__all__ = ["PREPARE", "Stream", "StreamResult", "StreamStats", "stream"]

PREPARE = ("auto", "capture", "inference")

log = logging.getLogger(__name__)
_JOIN_TIMEOUT = 5.0


class Stream:
    """A running capture → classify loop. Iterate it, or pass ``on_result``, or call :meth:`run`.

    Args:
        source: A source string (see :func:`edgeml.sources.open_source`) or a :class:`FrameSource`.
        classifier: The :class:`edgeml.Classifier` (or :class:`edgeml.Embedder`: each result then holds one
            :class:`~edgeml.postprocess.embedding.Embedding`) whose :class:`~edgeml.inference.pipeline.Pipeline`
            runs the frames.
        top_k: Classes per result.
        threshold: Drop classes scoring below this.
        max_frames: Stop after this many results (None: until the source ends or :meth:`stop`).
        fps: Classify at most this many frames per second (live sources drop the rest; files are read slower).
        retries: Consecutive source failures tolerated before giving up (None: forever for live sources, 3 for
            files and folders). Back-off doubles from 0.1 s up to 5 s between attempts
            (:mod:`~edgeml.streaming.reconnect`).
        startup_retries: At most this many retries (and never more than ``retries``) while the source has not
            delivered its first frame: a camera that is absent fails instead of being retried forever.
        source_timeout: Seconds one source ``open()``/``read()``/``close()`` may take before the watchdog stops
            the stream with :class:`~edgeml.errors.StreamStalledError` (None: not watched). Default 20; keep it
            above the frame interval of a paced source (a ``realtime`` video at 0.1 fps waits 10 s in ``read()``).
        invoke_timeout: Seconds one classification (copy in, ``invoke()``, decode) may take (None: not watched).
            Default 10.
        keep_frames: Keep each frame in its result (for a preview); off by default so frames die young.
        prepare: Where a frame becomes the input values (resize, colour conversion, quantization): ``"capture"``
            overlaps it with the previous frame's ``invoke()`` on the capture thread (then one copy into the
            interpreter); ``"inference"`` writes straight into the input tensor on the inference thread.
            ``"auto"``: ``"capture"``.
        on_result: Called on the inference thread with each result; then iterating yields nothing.
        hot_swap: Follow the model store (:mod:`~edgeml.streaming.swap`): None (default) does so for a classifier
            opened from ``store:NAME`` and not for ``store:NAME@VERSION`` or a file; False never.
        poll_s: Seconds between two looks at the store's ``current`` pointer (:meth:`check_model` looks at once).
        on_event: Called with each model-store event (swap, commit, revert, canary outcome) as it happens, on the
            stream's threads; the same events ride on the next result's ``events``.
        count_start: For a stream that follows the store, count this start of a pending version when the stream
            starts (:func:`edgeml.store.health.count_store_start`: a version that has had its starts is reverted,
            and the stream then swaps to the one reverted to). :func:`edgeml.run.open_run` counts before it loads
            the model instead, and passes False.
        source_options: Passed to ``open_source`` when ``source`` is a string.
    """

    def __init__(self, source: str | FrameSource, classifier: ImageModel, *, top_k: int = 5, threshold: float = 0.0,
                 max_frames: int | None = None, fps: float | None = None, retries: int | None = None,
                 startup_retries: int = STARTUP_RETRIES, source_timeout: float | None = SOURCE_TIMEOUT,
                 invoke_timeout: float | None = INVOKE_TIMEOUT, keep_frames: bool = False,
                 on_result: Callable[[StreamResult], None] | None = None, prepare: str = "auto",
                 hot_swap: bool | None = None, poll_s: float = POLL_S,
                 on_event: Callable[[dict[str, Any]], None] | None = None, count_start: bool = True,
                 **source_options: Any) -> None:
        if prepare not in PREPARE:
            raise InvalidArgumentError(f"prepare must be 'auto', 'capture' or 'inference'. Received: {prepare!r}")
        _check_options(top_k, threshold, max_frames, fps, retries, startup_retries, source_timeout, invoke_timeout)
        self.source: FrameSource = open_source(source, **source_options) if isinstance(source, str) else source
        self.classifier = classifier
        self.pipeline: Pipeline = classifier.pipeline
        self.channels = classifier.channels
        self.top_k, self.threshold = top_k, threshold
        self.max_frames, self.fps = max_frames, fps
        self.retries = retries if retries is not None else (None if self.source.live else 3)
        self.startup_retries = startup_retries
        self.keep_frames, self.on_result = keep_frames, on_result
        self.prepare = "capture" if prepare == "auto" else prepare
        self.stats = StreamStats()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._clock = StageClock({"source": source_timeout, "invoke": invoke_timeout})
        self._stalled = threading.Event()
        self._channel = Channel(self.source.live, self.stats, self._stop, on_demand=bool(fps),
                                on_drop=lambda item: recycle(item, self.pipeline))
        self._out: queue.Queue[StreamResult] = queue.Queue(maxsize=8)
        self._threads: list[threading.Thread] = []
        ident = classifier.identity
        follow = hot_swap if hot_swap is not None else bool(ident is not None and not ident.pinned)
        self.on_event = on_event
        # Only a Classifier hot-swaps (it can reopen itself with its settings); an Embedder keeps its version.
        self._watcher = (ModelWatcher(classifier, poll_s=poll_s)
                         if isinstance(classifier, Classifier) and follow and ident is not None else None)
        self.model = classifier.model_info
        self._count_start = count_start and self._watcher is not None

    # -- control ---------------------------------------------------------------------------------------------
    def start(self) -> Stream:
        """Start the capture and inference threads (idempotent)."""
        if not self._threads:
            self.stats = self._channel.stats = StreamStats()
            capture = Capture(self.source, self._channel, self._clock, self._stop, stats=lambda: self.stats,
                              pipeline=lambda: self.pipeline, prepare=self.prepare == "capture",
                              retries=self.retries, startup_retries=self.startup_retries, on_error=self._failed)
            self._threads = [threading.Thread(target=capture.run, name="edgeml-capture", daemon=True),
                             threading.Thread(target=self._infer, name="edgeml-infer", daemon=True)]
            if self._clock.watching:
                self._threads.append(threading.Thread(target=watch, name="edgeml-watchdog", daemon=True,
                                                      args=(self._clock, self.source.name, self._stop,
                                                            self._on_stall)))
            for t in self._threads:
                t.start()
            if self._watcher is not None:
                if self._count_start:
                    self._count_start = False
                    self._begin_store_run()
                self._watcher.start()
        return self

    def _begin_store_run(self) -> None:
        from edgeml.store.health import count_store_start

        ident = self.classifier.identity
        assert ident is not None  # a watcher follows a store model
        note = count_store_start(f"store:{ident.name}", ident.store)
        if note:
            log.warning("edgeml.stream: %s", note)

    @property
    def watching(self) -> bool:
        """True when the stream follows the model store (hot swap, canary, commit or revert)."""
        return self._watcher is not None

    def check_model(self) -> bool:
        """Look at the model store now (the CLI calls this on SIGHUP); False when the stream does not follow it."""
        if self._watcher is None:
            return False
        self._watcher.check_now()
        return True

    def _failed(self, error: BaseException) -> None:
        """Called by the capture thread when the source cannot go on (its last error, or the retries ran out)."""
        self.error = error

    def _on_stall(self, error: StreamStalledError) -> None:
        """Called by the watchdog thread: record why, and stop waiting for the stuck thread."""
        self.error = error
        self._stalled.set()
        self._stop.set()

    @property
    def stalled(self) -> bool:
        """True when the watchdog stopped the stream (a thread is stuck in a source call or ``invoke()``)."""
        return self._stalled.is_set()

    def stop(self) -> None:
        """Ask both threads to finish; returns at once (safe in a signal handler)."""
        self._stop.set()

    def join(self, timeout: float = _JOIN_TIMEOUT) -> bool:
        """Wait up to ``timeout`` s for the threads; return True when all ended."""
        if self.stalled:  # the stuck thread will not end: do not wait for it
            timeout = min(timeout, POLL)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive and not self.stalled:
            log.warning("stream threads still running after %.1f s: %s (a source read is blocked)", timeout, alive)
        return not alive

    @property
    def running(self) -> bool:
        """True while the inference thread runs (and the watchdog has not given up on it)."""
        return self._threads[1].is_alive() and not self.stalled if self._threads else False

    def __iter__(self) -> Iterator[StreamResult]:
        self.start()
        try:
            while True:
                try:
                    yield self._out.get(timeout=POLL)
                except queue.Empty:
                    if not self.running and self._out.empty():
                        break
        finally:
            self.stop()
            self.join()
        if self.error is not None:
            raise self.error

    def run(self) -> StreamStats:
        """Run to the end (source exhausted, ``max_frames`` or :meth:`stop`) and return the stats."""
        for _ in self:
            pass
        return self.stats

    def __enter__(self) -> Stream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()

    # -- threads ---------------------------------------------------------------------------------------------
    def _infer(self) -> None:
        period = 1.0 / self.fps if self.fps else 0.0
        next_due = time.monotonic()
        try:
            while not self._stop.is_set():
                if period:
                    if self._stop.wait(max(0.0, next_due - time.monotonic())):
                        break
                    next_due = max(next_due + period, time.monotonic() - period)
                try:
                    item = self._channel.get()
                except Closed:
                    break
                self._swap_if_ready()
                self._clock.begin("invoke", "invoke()")
                try:
                    result = self._classify_or_report(item)
                finally:
                    self._clock.end("invoke")
                if isinstance(item, Item):
                    self.stats.record(result.latency_ms)
                    if self._watcher is not None and result.error is None:
                        self._watcher.observe(result, item.frame)
                self._emit(self._with_events(result))
                if self.max_frames is not None and self.stats.frames >= self.max_frames:
                    break
        except BaseException as exc:
            self.error = exc
        finally:
            self._stop.set()
            if self._watcher is not None:
                self._watcher.stop()

    def _swap_if_ready(self) -> None:
        """Between two frames: take the new classifier the watcher built and warmed, if there is one."""
        if self._watcher is None:
            return
        new = self._watcher.take(self.classifier)  # type: ignore[arg-type]  # a watcher exists only for a Classifier
        if new is not None:
            self.classifier, self.pipeline, self.channels = new, new.pipeline, new.channels
            self.model = new.model_info

    def _with_events(self, result: StreamResult) -> StreamResult:
        if self._watcher is None:
            return result
        events = self._watcher.events()
        if not events:
            return result
        if self.on_event is not None:
            for event in events:
                self.on_event(event)
        return dataclasses.replace(result, events=events)

    def _classify_or_report(self, item: Item | ImageError) -> StreamResult:
        """Classify; a model error on a version the store can revert becomes an error result, not the end."""
        try:
            return self._classify(item)
        except ModelFormatError as exc:
            if self._watcher is None or not isinstance(item, Item) or not self._watcher.failed(exc):
                raise
            self.stats.add("errors")
            log.warning("%s", exc)
            frame = item.frame
            return StreamResult(frame.index, time.time(), (), (time.monotonic() - frame.timestamp) * 1000.0,
                                frame.source, error=str(exc), model=self.model)

    def _classify(self, item: Item | ImageError) -> StreamResult:
        if not isinstance(item, Item):
            return StreamResult(-1, time.time(), (), 0.0, self.source.name, error=str(item), model=self.model)
        frame = item.frame
        if item.tensor is not None and item.pipeline is self.pipeline:
            try:
                prediction = self.pipeline.run_prepared(item.tensor, self.top_k, self.threshold, item.preprocess_s)
            finally:
                recycle(item, self.pipeline)
        else:  # not prepared, or prepared for the model a hot swap just replaced: straight into this one
            recycle(item, self.pipeline)
            prediction = self.pipeline.run(frame, self.top_k, self.threshold)
        now = time.monotonic()
        return StreamResult(frame.index, time.time() - (now - frame.timestamp), tuple(prediction.results),
                            (now - frame.timestamp) * 1000.0, frame.source,
                            frame=frame if self.keep_frames else None, timings=prediction.timings.to_dict(),
                            model=self.model)

    def _emit(self, result: StreamResult) -> None:
        if self.on_result is not None:
            self.on_result(result)
            return
        while not self._stop.is_set():
            try:
                self._out.put(result, timeout=POLL)
                return
            except queue.Full:
                continue


def _check_options(top_k: int, threshold: float, max_frames: int | None, fps: float | None,
                   retries: int | None, startup_retries: int, source_timeout: float | None,
                   invoke_timeout: float | None) -> None:
    """Refuse options no stream could honour, before any thread or device is touched."""
    check_request(top_k, threshold)
    problems = [f"{name} must be {rule}. Received: {value!r}" for name, value, ok, rule in (
        ("max_frames", max_frames, max_frames is None or max_frames >= 1, ">= 1 (or None)"),
        ("fps", fps, fps is None or fps > 0, "> 0 (or None)"),
        ("retries", retries, retries is None or retries >= 0, ">= 0 (or None)"),
        ("startup_retries", startup_retries, isinstance(startup_retries, int) and startup_retries >= 0, ">= 0"),
        ("source_timeout", source_timeout, source_timeout is None or source_timeout > 0, "> 0 (or None)"),
        ("invoke_timeout", invoke_timeout, invoke_timeout is None or invoke_timeout > 0, "> 0 (or None)"),
    ) if not ok]
    if problems:
        raise InvalidArgumentError("; ".join(problems))


def stream(source: str | FrameSource, classifier: ImageModel, **kwargs: Any) -> Stream:
    """Return a :class:`Stream` classifying ``source`` with ``classifier``; iterate it to get results.

    Example::

        clf = edgeml.Classifier("model_int8.tflite")
        for result in edgeml.stream("video:street.avi", clf, top_k=3, max_frames=100):
            print(result.to_dict())

    Keyword arguments are those of :class:`Stream` (``top_k``, ``max_frames``, ``fps``, ``on_result``, ...) and
    the source options of :func:`edgeml.sources.open_source` (``loop``, ``realtime``, ``size``, ...).
    """
    return Stream(source, classifier, **kwargs)
