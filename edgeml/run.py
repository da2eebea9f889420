"""One run, composed once for the library and every command: board → store start → runner → settings → stream.

``edgeml classify``, ``edgeml serve`` and ``edgeml bench`` describe what they want as a :class:`RunSpec` and call
:func:`open_run` (or :func:`open_runner` for a runner alone); Python callers can do the same. The order is the one a
kiosk needs:

1. the board is resolved once (detection reads /proc and /sys): :func:`resolve_board`;
2. a ``store:NAME`` model that follows the store counts its start *before* it is loaded, so a version that crashes
   the process on load is reverted after its allowed starts instead of crash-looping:
   :func:`edgeml.store.health.count_store_start`;
3. the runner (a :class:`~edgeml.Classifier`, or an :class:`~edgeml.Embedder`) resolves its settings against the
   model's metadata;
4. the source side (``--source``, ``--camera-format``, the board's camera) is resolved against the same board, and
   :attr:`Run.settings` holds both sides with where each value came from;
5. the :class:`~edgeml.streaming.Stream` is built with the source options that follow from them (cameras asked for
   frames at the model's input size, picamera2's format).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgeml.settings import RunSettings, resolve_settings

if TYPE_CHECKING:
    from edgeml.inference.base import ImageModel
    from edgeml.streaming.loop import Stream

__all__ = ["Run", "RunSpec", "open_run", "open_runner", "resolve_board", "source_options"]

log = logging.getLogger("edgeml")

SIZED_SOURCES = ("picamera2", "usb", "v4l2")  # cameras asked for frames at the model's input size


@dataclass(frozen=True)
class RunSpec:
    """What a run is asked to do: the model and where it runs, and (for a stream) the source and its options.

    ``board`` is ``"auto"`` (detect this machine; a machine no profile matches runs without one, with a warning), a
    profile name, None (no board rung), or an already resolved profile/detection. The stream options are those of
    :class:`~edgeml.streaming.Stream`; ``window`` opens picamera2's own preview window.
    """

    model: Any
    labels: str | os.PathLike[str] | Sequence[str] | None = None
    store: str | os.PathLike[str] | None = None
    threads: int | None = None
    device: str | None = None
    fallback: str | None = None
    board: Any = "auto"
    source: str | None = None
    camera_format: str | None = None
    top_k: int = 5
    threshold: float = 0.0
    max_frames: int | None = None
    fps: float | None = None
    realtime: bool = False
    loop: bool = False
    keep_frames: bool = False
    window: bool = False
    source_timeout: float | None = 20.0
    invoke_timeout: float | None = 10.0


@dataclass
class Run:
    """An opened run: its runner, the settings of both sides, the stream (None without a source), and what the
    store said at the start (a revert, a pending version) for the caller to show."""

    runner: Any
    settings: RunSettings
    board: Any = None
    stream: Stream | None = None
    start_note: str | None = None


def resolve_board(board: Any) -> Any:
    """Resolve a board name or ``"auto"`` once (None stays None; a resolved profile is returned as it is).

    ``"auto"`` on a machine no profile matches runs without a board (the interpreter's defaults), with a warning;
    an unknown name raises :class:`~edgeml.errors.BoardProfileError`.
    """
    if not isinstance(board, str):
        return board
    from edgeml.boards import resolve_board as resolve
    from edgeml.errors import BoardProfileError

    try:
        profile, detection = resolve(board)
    except BoardProfileError as exc:
        if board != "auto":
            raise
        log.warning("edgeml: no board profile for this machine (%s); using the interpreter's defaults.",
                    str(exc).split(". ")[0])
        return None
    return detection or profile


def open_runner(spec: RunSpec, board: Any = None, runner: Callable[..., ImageModel] | None = None) -> Any:
    """The runner ``spec`` asks for, on an already resolved ``board`` (default: a :class:`~edgeml.Classifier`)."""
    if runner is None:
        from edgeml.inference.classifier import Classifier

        return Classifier(spec.model, labels=spec.labels, num_threads=spec.threads, device=spec.device,
                          fallback=spec.fallback, board=board, store=spec.store)
    return runner(spec.model, num_threads=spec.threads, device=spec.device, fallback=spec.fallback, board=board)


def _with_source(model_side: RunSettings, spec: RunSpec, board: Any) -> RunSettings:
    """The runner's settings with the source side resolved against the same board (one RunSettings for the run)."""
    source = resolve_settings(source=spec.source, camera_format=spec.camera_format, board=board)
    origins = {**model_side.origins, **{k: v for k, v in source.origins.items() if k in ("source", "camera_format")}}
    return dataclasses.replace(model_side, source=source.source, camera_format=source.camera_format,
                               origins=origins)


def source_options(spec: RunSpec, runner: Any, settings: RunSettings) -> dict[str, Any]:
    """The ``open_source`` options of a run: loop/realtime, the model's input size for cameras, and picamera2's
    format and preview window."""
    scheme = str(settings.source).partition(":")[0]
    options: dict[str, Any] = {"loop": spec.loop, "realtime": spec.realtime}
    if scheme in SIZED_SOURCES:
        options["size"] = (runner.width, runner.height)
    if scheme == "picamera2":
        options["preview"] = spec.window
        options["lores_format"] = settings.camera_format
    return options


def open_run(spec: RunSpec, *, runner: Callable[..., ImageModel] | None = None,
             on_result: Callable[..., Any] | None = None) -> Run:
    """Compose the run ``spec`` describes, in the order of the module docstring.

    Args:
        spec: What to run.
        runner: Build something other than a Classifier (``edgeml.Embedder``); called like it.
        on_result: Passed to the stream (then results go there instead of to iteration).

    Returns:
        The :class:`Run`; its stream is built but not started (iterate it, or call ``start()``).
    """
    from edgeml.store.health import count_store_start

    board = resolve_board(spec.board)
    note = count_store_start(spec.model, spec.store) if spec.source is not None else None
    model = open_runner(spec, board, runner)
    if spec.source is None:
        return Run(model, model.settings, board, None, note)
    settings = _with_source(model.settings, spec, board)
    from edgeml.streaming.loop import Stream

    stream = Stream(str(settings.source), model, top_k=spec.top_k, threshold=spec.threshold,
                    max_frames=spec.max_frames, fps=spec.fps, keep_frames=spec.keep_frames,
                    source_timeout=spec.source_timeout, invoke_timeout=spec.invoke_timeout, on_result=on_result,
                    count_start=False, **source_options(spec, model, settings))
    return Run(model, settings, board, stream, note)
