"""Everything one ``edgeml serve`` process shares between its routes, its stream and its dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edgeml.errors import InvalidArgumentError
from edgeml.serve.hub import EventHub
from edgeml.serve.live import LiveState
from edgeml.serve.metrics import Metrics
from edgeml.serve.requests import RequestClassifier
from edgeml.sinks.emit import EmitPolicy
from edgeml.sinks.events import EventStamp

if TYPE_CHECKING:
    from edgeml.inference.classifier import Classifier
    from edgeml.streaming.stats import StreamResult

__all__ = ["MAX_BODY", "READY_AFTER_S", "ServeState"]

MAX_BODY = 8 * 1024 * 1024
READY_AFTER_S = 10.0  # Frigate restarts a detector with no result for 10 s; /readyz says so first
REQUEST_TIMEOUT_S = 10.0


@dataclass
class ServeState:
    """The parts of a running server (build it with :meth:`create`).

    Attributes:
        requests: Answers the REST requests on the server's own classifier.
        live: The stream's latest result and rate (what the kiosk and ``/readyz`` read).
        hub: The live event fan-out of ``/events``.
        metrics: The Prometheus registry of ``/metrics``.
        token: The bearer token every route but ``/healthz`` needs (None: none).
        preview: Serve ``/preview.jpg`` (the stream keeps its latest frame).
        ready_after_s: ``/readyz`` fails when a running stream has had no result for this long.
        max_body: Request bodies above this many bytes are refused (413).
        request_timeout_s: Seconds a prediction request may take (then 503).
    """

    requests: RequestClassifier
    live: LiveState
    hub: EventHub
    metrics: Metrics
    token: str | None = None
    preview: bool = False
    ready_after_s: float = READY_AFTER_S
    max_body: int = MAX_BODY
    request_timeout_s: float = REQUEST_TIMEOUT_S
    observers: list[Callable[[StreamResult], Any]] = field(default_factory=list)

    @classmethod
    def create(cls, classifier: Classifier, name: str, *, streaming: bool = False,
               stream_stats: Callable[[], dict[str, Any]] | None = None, token: str | None = None,
               preview: bool = False, top_k: int = 5, threshold: float = 0.0, device: str | None = None,
               ready_after_s: float = READY_AFTER_S, max_body: int = MAX_BODY,
               request_timeout_s: float = REQUEST_TIMEOUT_S, stream_model: dict[str, Any] | None = None,
               hold: int = 3, min_score: float = 0.5) -> ServeState:
        """Wire the parts: ``observers`` is what the dispatcher must call with each stream result.

        Args:
            classifier: The server's own classifier for REST requests (never the stream's: interpreters are not
                thread-safe).
            name: The model name in ``/v1/models/NAME``.
            streaming: A stream feeds :attr:`observers` (``/readyz`` then wants fresh results).
            stream_stats: Returns the stream's counters (``lambda: stream.stats.to_dict()``).
            stream_model: The stream's model before its first result (default: the request classifier's).
            hold, min_score: The emit policy's ``change`` rule for the kiosk's label (``--emit-hold``,
                ``--emit-min-score``): a new top label is shown once it has held ``hold`` frames in a row, each
                scoring at least ``min_score``.
        """
        if ready_after_s <= 0 or max_body <= 0 or request_timeout_s <= 0:
            raise InvalidArgumentError(f"ready_after_s, max_body and request_timeout_s must be > 0. Received: "
                                       f"{ready_after_s!r}, {max_body!r}, {request_timeout_s!r}")
        requests = RequestClassifier(classifier, name, top_k=top_k, threshold=threshold,
                                     timeout_s=request_timeout_s)
        model = stream_model or requests.model
        live = LiveState(model, keep_frames=preview, streaming=streaming)

        def heartbeat_stats() -> dict[str, Any]:
            stats = dict(stream_stats()) if stream_stats is not None else {}
            stats["fps"] = round(live.fps(), 2)
            return stats

        hub = EventHub(EventStamp(device), stats=heartbeat_stats,
                       hold=EmitPolicy("change", hold=hold, min_score=min_score))
        metrics = Metrics(model, stream_stats=stream_stats if streaming else None, fps=live.fps if streaming else None,
                          hub_status=hub.status)
        return cls(requests, live, hub, metrics, token=token, preview=preview, ready_after_s=ready_after_s,
                   max_body=max_body, request_timeout_s=request_timeout_s,
                   observers=[live.observe, metrics.observe, hub.observe, lambda r: requests.follow(r.model)])

    def readiness(self) -> tuple[bool, str]:
        """``(ready, reason)``: the model is loaded and, when a stream runs, a result arrived recently."""
        live = self.live
        if not live.streaming:
            return True, "model loaded"
        if live.ended is not None:
            return False, f"the stream stopped: {live.ended}"
        age = live.age_s()
        if age is None:
            return False, "no stream result yet"
        if age > self.ready_after_s:
            return False, f"no stream result for {age:.1f} s (limit {self.ready_after_s:g} s)"
        return True, f"latest stream result {age:.2f} s ago"
