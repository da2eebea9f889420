"""Gate classifications like Frigate's custom classes: a minimum score and a multi-frame consensus, else unknown.

A single frame can be ambiguous (motion blur, a hand in front of the object). The gate answers a label only when
the best class scores at least ``min_score`` and the same label won the last ``consensus`` frames; otherwise it
answers :data:`UNKNOWN`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from edgeml.errors import InvalidArgumentError
from edgeml.postprocess.classification import Classification

__all__ = ["UNKNOWN", "Gate"]

UNKNOWN = "unknown"


class Gate:
    """Turn per-frame classifications into a gated answer.

    Args:
        min_score: The best class must score at least this (0..1); below it the frame votes :data:`UNKNOWN`.
        consensus: How many consecutive frames must agree (1: every frame answers for itself).

    Example::

        gate = Gate(min_score=0.7, consensus=3)
        for result in edgeml.stream("camera", clf, top_k=1):
            label = gate.update(result.results)     # "unknown" until 3 frames in a row agree at >= 0.7
    """

    def __init__(self, min_score: float = 0.0, consensus: int = 1) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise InvalidArgumentError(f"min_score must be in [0, 1]. Received: {min_score!r}")
        if isinstance(consensus, bool) or not isinstance(consensus, int) or consensus < 1:
            raise InvalidArgumentError(f"consensus must be an integer >= 1. Received: {consensus!r}")
        self.min_score, self.consensus = min_score, consensus
        self._votes: deque[str] = deque(maxlen=consensus)

    def vote(self, results: Sequence[Classification]) -> str:
        """Return this frame's vote: the best label when it scores >= ``min_score``, else :data:`UNKNOWN`."""
        best = results[0] if results else None
        return best.label if best is not None and best.score >= self.min_score else UNKNOWN

    def update(self, results: Sequence[Classification]) -> str:
        """Add one frame's classifications (best first); return the gated answer so far."""
        self._votes.append(self.vote(results))
        if len(self._votes) < self.consensus or len(set(self._votes)) != 1:
            return UNKNOWN
        return self._votes[0]

    def reset(self) -> None:
        """Forget the frames seen so far."""
        self._votes.clear()
