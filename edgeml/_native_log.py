"""Quiet the start-up chatter that native libraries write straight to file descriptor 2.

TFLite prints an INFO line on every interpreter start, and TensorFlow's absl logging prints its oneDNN notice on
import whatever ``TF_CPP_MIN_LOG_LEVEL`` says. Neither is a problem, and Python's logging cannot reach them, so
:func:`filtered_stderr` captures fd 2 around the call and writes back every line that is not known noise.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

__all__ = ["TENSORFLOW_NOISE", "TFLITE_NOISE", "filtered_stderr"]

TFLITE_NOISE = (b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)
# Lines TensorFlow 2.16-2.21 prints on import through absl before its logging is initialised.
TENSORFLOW_NOISE = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"oneDNN custom operations are on.",
)


def _capture_file() -> IO[bytes]:
    """An anonymous in-memory file (Linux memfd) where available, so capturing writes nothing to disk."""
    if hasattr(os, "memfd_create"):
        try:
            return os.fdopen(os.memfd_create("edgeml-stderr", getattr(os, "MFD_CLOEXEC", 0)), "w+b")
        except OSError:
            pass
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
