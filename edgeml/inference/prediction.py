"""What one classification run returns when asked for more than the classes: the results plus stage timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["STAGES", "Prediction", "Result", "Timings"]

STAGES = ("decode", "preprocess", "invoke", "postprocess")


@dataclass(frozen=True)
class Timings:
    """Wall-clock seconds spent in each stage of one run (``time.perf_counter`` differences).

    Attributes:
        decode: Reading a file or PIL image into pixels (≈0 for arrays and frames).
        preprocess: Crop, colour conversion, resize and quantization into the input tensor.
        invoke: The interpreter's ``invoke()``.
        postprocess: Threshold, top-k, dequantization and labels.
    """

    decode: float = 0.0
    preprocess: float = 0.0
    invoke: float = 0.0
    postprocess: float = 0.0

    @property
    def total(self) -> float:
        """Sum of all stages, in seconds."""
        return self.decode + self.preprocess + self.invoke + self.postprocess

    def to_dict(self) -> dict[str, float]:
        """Return ``{stage: milliseconds}`` for every stage plus ``"total"``."""
        d = {name: getattr(self, name) * 1000.0 for name in STAGES}
        d["total"] = self.total * 1000.0
        return d


class Result(Protocol):
    """What a runner's decoder returns per result: a :class:`~edgeml.Classification` or an
    :class:`~edgeml.Embedding`."""

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Result)


@dataclass(frozen=True)
class Prediction(Generic[R]):
    """The result of :meth:`edgeml.Classifier.run` (``Prediction[Classification]``) and :meth:`edgeml.Embedder.run`
    (``Prediction[Embedding]``, one result).

    Attributes:
        results: The classes, best first (what ``classify()`` returns), or the one embedding.
        timings: Seconds per stage.
    """

    results: list[R] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)

    @property
    def top(self) -> R | None:
        """The best class (or the embedding), or None when every class fell below the threshold."""
        return self.results[0] if self.results else None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict: results and per-stage milliseconds."""
        return {"results": [r.to_dict() for r in self.results], "timings_ms": self.timings.to_dict()}
