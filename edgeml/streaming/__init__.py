"""Classify a stream of frames: capture on one thread, inference on another (``edgeml.stream(...)``).

- :mod:`~edgeml.streaming.loop`: :class:`Stream` and :func:`stream`;
- :mod:`~edgeml.streaming.channel`: the hand-over between the two threads (latest-frame slot or bounded FIFO);
- :mod:`~edgeml.streaming.stats`: :class:`StreamResult` per frame, :class:`StreamStats` for the run.
"""

from __future__ import annotations

from edgeml.streaming.loop import Stream, stream
from edgeml.streaming.stats import StreamResult, StreamStats

__all__ = ["Stream", "StreamResult", "StreamStats", "stream"]
