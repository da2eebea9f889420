"""``video:PATH``: a video file decoded with OpenCV (FFmpeg), frames BGR as decoded.

By default frames come as fast as the reader asks (``live`` is False: the streaming loop applies back-pressure, so
no frame is decoded only to be dropped and none is skipped). ``realtime=True`` paces them at the file's frame
rate like a camera; a reader that falls behind then skips frames with ``grab()`` (no decode) and the skipped
frames show up as gaps in ``Frame.index``. ``loop=True`` starts again at the end.

A file that ends before the frame count in its header (truncated, e.g. a copy cut short) ends the stream
cleanly; :attr:`VideoSource.truncated` is set and a warning names how many frames were missing. A file OpenCV
cannot open, or that opens but yields no frame at all (empty, cut inside its first frame, not a video), raises
:class:`~edgeml.errors.SourceError`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from edgeml._optional import require
from edgeml.errors import InvalidSourceError, SourceError
from edgeml.frame import BGR, Frame
from edgeml.sources.base import BaseSource, Pacer

__all__ = ["VideoSource", "from_spec"]

log = logging.getLogger(__name__)
_noted: set[str] = set()


def _note_once(message: str) -> None:
    """Log ``message`` at INFO the first time only (a looped or reconnected video reopens its file)."""
    if message not in _noted:
        _noted.add(message)
        log.info("%s", message)


class VideoSource(BaseSource):
    """Frames from a video file.

    Args:
        path: The video file (anything OpenCV's FFmpeg backend reads: AVI, MP4, MKV...).
        loop: Restart at the first frame after the last.
        realtime: Pace frames at the file's frame rate (a camera stand-in) instead of as fast as possible.
        decode_threads: FFmpeg decoder threads; 0 or None: OpenCV's default (one per core). The default, 1, suits
            the stream: the interpreter is the bottleneck, and a decoder pool would compete with its threads
            (vtest.avi decodes in ≈0.6 ms of CPU per frame on one thread).
        name: The source string.
    """

    def __init__(self, path: str | Path, *, loop: bool = False, realtime: bool = False,
                 decode_threads: int | None = 1, name: str = "") -> None:
        super().__init__(name or f"video:{path}", live=realtime)
        self.path = Path(path)
        self.loop = loop
        self.decode_threads = decode_threads
        self.fps = 0.0
        self.frame_count = 0  # from the file's header; 0 when unknown
        self.truncated = False
        self._cap: Any = None
        self._position = 0  # frame number within the file of the next read; a reopen resumes here
        self._pacer: Pacer | None = None

    def open(self) -> None:
        cv2 = require("cv2", "reading video files")
        if not self.path.is_file():
            raise SourceError(f"Video file not found: {str(self.path)!r}. Check the path after 'video:'.")
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, *self._open_params(cv2))
        if not cap.isOpened():
            raise SourceError(f"OpenCV cannot open {str(self.path)!r} as a video (unknown container or codec, "
                              "or a corrupt file). Try playing it with ffplay, or re-encode it.")
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
        self.frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        if self._position:
            cap.set(cv2.CAP_PROP_POS_FRAMES, self._position)
        if self.live:
            self._pacer = Pacer(self.fps)

    def _open_params(self, cv2: Any) -> tuple[list[int], ...]:
        """The ``VideoCapture`` open parameters that set the decoder threads, where this OpenCV has them.

        ``CAP_PROP_N_THREADS`` is OpenCV 4.7+ (the open-parameter overload 4.5.2+): Raspberry Pi OS Bookworm's
        python3-opencv 4.6 and Bullseye's 4.5.1 have neither, and FFmpeg then takes one decoder thread per core.
        The video still plays; the note says why the decoder may compete with the interpreter for cores.
        """
        if not self.decode_threads:
            return ()
        prop = getattr(cv2, "CAP_PROP_N_THREADS", None)
        if prop is None:
            _note_once(f"OpenCV {cv2.__version__} cannot set FFmpeg's decoder threads (CAP_PROP_N_THREADS needs "
                       f"OpenCV 4.7+); decoding {self.path.name} with FFmpeg's default of one thread per core.")
            return ()
        return ([prop, int(self.decode_threads)],)

    def read(self) -> Frame | None:
        if self._cap is None:
            self.open()
        skipped = 0
        if self._pacer is not None:
            skipped = self._pacer.wait(self._next_index)
            for _ in range(skipped):  # a camera does not wait: pass over late frames without decoding them
                if not self._cap.grab():
                    break
                self._position += 1
        ok, pixels = self._cap.read()
        if not ok:
            if not self._end_of_file():
                return None
            ok, pixels = self._cap.read()
            if not ok:
                raise SourceError(f"{str(self.path)!r} yielded no frame after looping back to its start.")
        self._position += 1
        return self._frame(pixels, BGR, skipped=skipped)

    def _end_of_file(self) -> bool:
        """Note a short file; rewind and return True when looping, else return False.

        Raises:
            SourceError: Not a single frame could be decoded from the file.
        """
        if self._position == 0:
            raise SourceError(f"{str(self.path)!r} opened as a video but no frame could be decoded from it (an "
                              "empty, truncated or corrupt file, or not a video). Try playing it with ffplay.")
        if self.frame_count and self._position < self.frame_count and not self.truncated:
            self.truncated = True
            log.warning("%s ended after %d of the %d frames its header announces: the file is truncated.",
                        self.path, self._position, self.frame_count)
        if not self.loop:
            return False
        self.close()
        self._position = 0
        self.open()
        return True

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def from_spec(spec: str, scheme: str, target: str, *, loop: bool = False, realtime: bool = False,
              decode_threads: int | None = 1) -> VideoSource:
    """Build from ``video:PATH``."""
    if not target:
        raise InvalidSourceError(f"{spec!r} names no file. Write video:PATH, e.g. video:street.avi.")
    return VideoSource(target, loop=loop, realtime=realtime, decode_threads=decode_threads, name=spec)
