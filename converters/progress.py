"""Progress on the terminal for the host tools: one bar per long step, visible while TensorFlow's text is captured.

- :func:`bar` counts the parts of a step (images, layers) as they are iterated;
- :func:`step` shows a step with no parts to count (loading, exporting) and its running time, once it has taken
  a second;
- :func:`counter` is a bar updated by hand (a Keras callback's batches).

All write to :func:`edgeml._native_log.terminal`, the stderr the user sees, so they stay on screen inside
:func:`edgeml_converters.tf.quiet`, and only when it is a terminal (:func:`edgeml._native_log.on_terminal`):
piped or logged, their ``\\r`` redraws would fill the log, so there they are off. One line is drawn at a time: a
bar or step started inside a step takes its line until it is done, then the outer step's line comes back. Bars
vanish when done (``leave=False``); the command prints its own summary at the end, on a terminal or not.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from edgeml._native_log import on_terminal, terminal
from edgeml._optional import require

__all__ = ["bar", "counter", "step"]

T = TypeVar("T")
_TICK = 1.0  # seconds between redraws of a step's running time


def _tqdm(*, disable: bool = False, **kwargs: Any) -> Any:
    """The one place a tqdm bar is made: on the user's stderr, and silent unless that is a terminal."""
    return require("tqdm").tqdm(file=terminal(), leave=False, dynamic_ncols=True,
                                disable=disable or not on_terminal(), **kwargs)


def bar(iterable: Iterable[T], desc: str, *, enabled: bool = True, total: int | None = None,
        unit: str = "img") -> Iterator[T]:
    """Yield the items of ``iterable`` while a bar counts them (just the items when not ``enabled``)."""
    if not enabled:
        yield from iterable
        return
    with _line_taken(), _tqdm(iterable=iterable, desc=desc, total=total, unit=unit) as shown:
        yield from shown


def counter(desc: str, total: int | None, *, unit: str, enabled: bool = True) -> Any:
    """Return a tqdm bar to ``update()`` and ``close()`` by hand (a silent one when not ``enabled``)."""
    return _tqdm(desc=desc, total=total, unit=unit, disable=not enabled)


class _Step:
    """One step's line: its description and running time, hidden while an inner bar or step has the line.

    The line appears after a second: a step that ends sooner (or fails at once, before a one-line error) leaves
    nothing on the terminal.
    """

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._shown: Any = None
        self._paused = False

    def _text(self) -> str:
        minutes, seconds = divmod(int(time.monotonic() - self.start), 60)
        return f"{self.desc} {minutes}:{seconds:02d}"

    def _draw(self) -> None:  # with the lock held
        if self._paused or time.monotonic() - self.start < _TICK:
            return
        if self._shown is None:
            self._shown = _tqdm(desc=self._text(), bar_format="{desc}")  # drawn as it is made
        else:
            self._shown.set_description_str(self._text())

    def tick(self) -> None:
        with self._lock:
            self._draw()

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self._shown is not None:
                self._shown.close()
                self._shown = None

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._draw()


_steps: list[_Step] = []  # running steps, innermost last; only the innermost one is drawn


@contextlib.contextmanager
def step(desc: str, *, enabled: bool = True) -> Iterator[None]:
    """Show ``desc`` and the time it has taken while the block runs (nothing when not ``enabled``)."""
    if not enabled:
        yield
        return
    with _line_taken():
        current = _Step(desc)
        _steps.append(current)
        stop = threading.Event()
        ticker = threading.Thread(target=_tick, args=(current, stop), name="edgeml-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
            _steps.remove(current)
            current.pause()


def _tick(current: _Step, stop: threading.Event) -> None:
    while not stop.wait(_TICK):
        current.tick()


@contextlib.contextmanager
def _line_taken() -> Iterator[None]:
    """Hide the running step while a new bar or step has the line; show it again afterwards."""
    outer = _steps[-1] if _steps else None
    if outer is not None:
        outer.pause()
    try:
        yield
    finally:
        if outer is not None:
            outer.resume()
