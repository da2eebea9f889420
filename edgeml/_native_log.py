"""Keep the text native libraries write straight to file descriptors 1 and 2 off the user's terminal.

Python's logging cannot reach what C++ writes to fd 2 (TensorFlow's logging, the converter's
``fully_quantize: 0, ...`` line, TFLite's XNNPACK notice), so both tools here work on descriptors:

- :func:`filtered_stderr` (the runtime): capture fd 2 around one call and write back every line that is not known
  noise (TFLite's INFO line on every interpreter start, TensorFlow's absl notice on import).
- :func:`quiet_output` (the host tools): capture fd 1 *and* fd 2 for a whole conversion or training run into one
  in-memory file, in writing order: C++ logging, Keras's ``print`` of every exported endpoint, Python warnings and
  the log records of TensorFlow's own loggers. The text is logged at DEBUG (``edgeml -v`` shows it) and stays
  readable for error messages (:meth:`Captured.text`). Our own output still reaches the user: progress bars write
  to :func:`terminal` (the saved stderr), and for the block every logging handler that wrote to fd 1 or 2 writes
  to the saved descriptor instead, passing edgeml's records and putting everyone else's into the capture.

Descriptors are process-wide: :func:`quiet_output` is for one thread at a time (nested blocks share one capture).
Where ``sys.stdout``/``sys.stderr`` are not descriptors 1 and 2 (a notebook), Python-level text is left alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any, TextIO, cast

__all__ = ["TENSORFLOW_NOISE", "TFLITE_NOISE", "Captured", "filtered_stderr", "on_terminal", "quiet_output",
           "terminal"]

TFLITE_NOISE = (b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)
# Lines TensorFlow 2.16-2.21 prints on import through absl before its logging is initialised.
TENSORFLOW_NOISE = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"oneDNN custom operations are on.",
)
# Loggers whose records still reach the terminal inside quiet_output: ours.
_OUR_LOGGERS = ("edgeml", "edgeml_converters")


def _capture_file(name: str = "edgeml-stderr") -> IO[bytes]:
    """An anonymous in-memory file (Linux memfd) where available, so capturing writes nothing to disk."""
    if hasattr(os, "memfd_create"):
        try:
            return os.fdopen(os.memfd_create(name, getattr(os, "MFD_CLOEXEC", 0)), "w+b")
        except OSError:
            pass
    import tempfile  # only where memfd is missing (macOS)

    return tempfile.TemporaryFile()


@contextlib.contextmanager
def filtered_stderr(noise: Iterable[bytes]) -> Iterator[None]:
    """Drop lines of fd 2 that contain any of ``noise`` while the block runs; pass everything else through."""
    patterns = tuple(noise)
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced by a non-file (e.g. a notebook)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with _capture_file() as capture:
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().splitlines(keepends=True)
                    if not any(p in line for p in patterns)]
            if kept:
                os.write(fd, b"".join(kept))


class Captured:
    """What was written to fd 1 and fd 2 since one :func:`quiet_output` block began."""

    def __init__(self, capture: _Capture | None) -> None:
        self._capture = capture
        self._start = capture.size() if capture is not None else 0

    def text(self) -> str:
        """Return the captured text so far (Python's buffered streams flushed first), decoded as UTF-8."""
        if self._capture is None:
            return ""
        return self._capture.read(self._start).decode("utf-8", "replace")


_active: _Capture | None = None
_depth = 0


@contextlib.contextmanager
def quiet_output(logger: logging.Logger) -> Iterator[Captured]:
    """Capture fd 1 and fd 2 while the block runs; log what was written to ``logger`` at DEBUG when it ends.

    Nested blocks share the outer capture; each logs what arrived since the last one logged, so with DEBUG on,
    the text shows up right after the step that wrote it. Use :func:`terminal` for output the user must see.

    WRONG (the bar is captured with TensorFlow's text)::

        with quiet_output(log):
            for x in tqdm(images): ...

    RIGHT::

        with quiet_output(log):
            for x in tqdm(images, file=terminal()): ...
    """
    global _active, _depth
    if _active is None:
        try:
            _active = _Capture()
        except OSError:  # fd 1 or 2 closed (a daemon): nothing to capture, nothing to protect
            _active = None
            yield Captured(None)
            return
    capture = _active
    _depth += 1
    try:
        yield Captured(capture)
    finally:
        _depth -= 1
        try:
            capture.log_new(logger)
        finally:
            if _depth == 0:
                _active = None
                capture.close()


def terminal() -> TextIO:
    """Return the stream the user sees as stderr: the saved fd 2 inside :func:`quiet_output`, else ``sys.stderr``."""
    return cast(TextIO, _active.stderr) if _active is not None else sys.stderr


def on_terminal() -> bool:
    """True when :func:`terminal` is an interactive terminal: progress bars are drawn there only.

    A bar redraws its line with ``\\r`` several times a second; a pipe, a log file or journald keeps every redraw.
    """
    try:
        return bool(terminal().isatty())
    except (AttributeError, OSError, ValueError):  # closed, or an object without isatty
        return False


def _fileno(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def _line_buffer(stream: Any) -> bool:
    """Make a block-buffered text stream line-buffered; True when it was changed (so it is changed back)."""
    if getattr(stream, "line_buffering", True) or getattr(stream, "write_through", False):
        return False
    try:
        stream.reconfigure(line_buffering=True)
    except (AttributeError, OSError, ValueError):  # not an io.TextIOWrapper (a notebook's), or closed
        return False
    return True


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()


class _Console:
    """Unbuffered text to a saved terminal descriptor; remembers whether a progress bar holds the current line."""

    def __init__(self, fd: int, encoding: str) -> None:
        self._fd: int | None = fd
        self.encoding = encoding
        self.mid_line = False  # the last write left the cursor after text (a bar), not at a line start

    @property
    def closed(self) -> bool:
        return self._fd is None

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self._fd is None:
            raise ValueError("I/O operation on closed file")
        return self._fd

    def isatty(self) -> bool:
        return self._fd is not None and os.isatty(self._fd)

    def write(self, s: str) -> int:
        if self._fd is None or not s:  # a bar drawn after the block ended: nowhere to go
            return len(s)
        data = s.encode(self.encoding, "backslashreplace")
        while data:
            data = data[os.write(self._fd, data):]
        self.mid_line = not s.endswith(("\n", "\r"))
        return len(s)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _LogConsole(_Console):
    """The console as logging handlers see it: a record never continues the line a progress bar is drawn on."""

    def __init__(self, console: _Console) -> None:
        super().__init__(os.dup(console.fileno()), console.encoding)
        self._console = console

    def write(self, s: str) -> int:
        if self._console.mid_line:
            super().write("\r\x1b[K" if self.isatty() else "\n")  # clear the bar's line; the bar redraws below
            self._console.mid_line = False
        return super().write(s)


class _Divert(logging.Filter):
    """Let edgeml's records through one handler; write everyone else's, formatted by it, into the capture."""

    def __init__(self, handler: logging.Handler, capture_fd: int) -> None:
        super().__init__()
        self._handler = handler
        self._fd = capture_fd

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in _OUR_LOGGERS:
            return True
        with contextlib.suppress(Exception):  # a record that cannot be formatted is dropped, as logging would
            os.write(self._fd, (self._handler.format(record) + "\n").encode("utf-8", "replace"))
        return False


class _Capture:
    """fds 1 and 2 pointed at one in-memory file; the saved originals; logging handlers pointed at those."""

    def __init__(self) -> None:
        _flush_python_streams()
        self.saved: dict[int, int] = {}
        try:
            for fd in (1, 2):
                self.saved[fd] = os.dup(fd)
        except OSError:
            for saved in self.saved.values():
                os.close(saved)
            raise
        self.file = _capture_file("edgeml-output")
        self.logged = 0  # bytes of the capture already logged
        encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
        # Bars follow sys.stderr: the saved fd 2 when that is what it writes to, else the object itself (a notebook).
        self._consoles = {fd: _Console(os.dup(saved), encoding) for fd, saved in self.saved.items()}
        self.stderr: TextIO | _Console = self._consoles[2] if _fileno(sys.stderr) == 2 else sys.stderr
        for fd in (1, 2):
            os.dup2(self.file.fileno(), fd)
        # Python's own print()s reach the capture in writing order with the native writes only if each line goes
        # out when printed: a piped stdout is block-buffered (unless PYTHONUNBUFFERED is set), and a Keras listing
        # would otherwise land after the C++ lines written between its prints.
        self._buffered: list[Any] = [s for s in (sys.stdout, sys.stderr) if _line_buffer(s)]  # TextIOWrappers
        self._handlers: list[tuple[logging.StreamHandler[Any], Any, _Divert]] = []
        self._last_resort = logging.lastResort
        try:
            self._retarget_handlers()
        except BaseException:
            self.close()
            raise

    def _retarget_handlers(self) -> None:
        loggers = [logging.getLogger(), *(lg for lg in list(logging.Logger.manager.loggerDict.values())
                                          if isinstance(lg, logging.Logger))]
        seen: set[int] = set()
        for lg in loggers:
            for handler in list(lg.handlers):
                if id(handler) in seen or not isinstance(handler, logging.StreamHandler) \
                        or isinstance(handler, logging.FileHandler):
                    continue
                seen.add(id(handler))
                fd = _fileno(handler.stream)
                if fd not in self._consoles:
                    continue
                try:
                    old = handler.setStream(_LogConsole(self._consoles[fd]))
                except AttributeError:  # a handler whose stream is a read-only property
                    continue
                divert = _Divert(handler, self.file.fileno())
                handler.addFilter(divert)
                self._handlers.append((handler, old, divert))
        # The handler of last resort (logging not configured) looks sys.stderr up per record: into the capture.
        if self._last_resort is not None:
            last: logging.StreamHandler[Any] = logging.StreamHandler(_LogConsole(self._consoles[2]))
            last.setLevel(self._last_resort.level)
            last.addFilter(_Divert(last, self.file.fileno()))
            logging.lastResort = last

    def size(self) -> int:
        _flush_python_streams()
        return os.fstat(self.file.fileno()).st_size

    def read(self, start: int, end: int | None = None) -> bytes:
        """Return the captured bytes ``[start, end)`` without moving the offset the descriptors write at."""
        stop = self.size() if end is None else end
        chunks = []
        while start < stop:
            chunk = os.pread(self.file.fileno(), stop - start, start)
            if not chunk:
                break
            chunks.append(chunk)
            start += len(chunk)
        return b"".join(chunks)

    def log_new(self, logger: logging.Logger) -> None:
        """Log what arrived since the last call at DEBUG (when ``logger`` is enabled for it)."""
        end = self.size()
        if end > self.logged and logger.isEnabledFor(logging.DEBUG):
            text = self.read(self.logged, end).decode("utf-8", "replace").strip("\n")
            if text.strip():
                logger.debug("captured output:\n%s", text)
        self.logged = max(self.logged, end)

    def close(self) -> None:
        _flush_python_streams()
        for stream in self._buffered:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                stream.reconfigure(line_buffering=False)
        for fd, saved in self.saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        for handler, old, divert in self._handlers:
            handler.removeFilter(divert)
            replaced = handler.setStream(old)
            if replaced is not None:
                replaced.close()
        if logging.lastResort is not self._last_resort:
            stream = getattr(logging.lastResort, "stream", None)
            logging.lastResort = self._last_resort
            if stream is not None:
                stream.close()
        for console in self._consoles.values():
            console.close()
        self.file.close()
