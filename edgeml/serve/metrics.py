"""Prometheus metrics of ``edgeml serve``, in a registry of their own (never prometheus-client's global one).

Two kinds of figures:

- per result, on the dispatcher's thread (:meth:`Metrics.observe`): ``edgeml_results_total``, the stage histograms
  ``edgeml_stage_seconds{stage=decode|preprocess|invoke|postprocess|total}`` from ``result.timings``, the
  end-to-end ``edgeml_latency_seconds`` (capture to result) and ``edgeml_model_info{name, version} 1`` (the
  version changes on a hot swap; the old series is removed);
- read at scrape time from snapshots (a collector): the stream's counters (``edgeml_frames_total``,
  ``edgeml_captured_total``, ``edgeml_errors_total``, ``edgeml_dropped_total``, ``edgeml_read_failures_total``,
  ``edgeml_reconnects_total``), the results rate ``edgeml_fps``, the dispatcher's ``edgeml_dispatch_dropped_total``
  and each sink's ``edgeml_outbox_depth{sink}``, ``edgeml_outbox_dropped_total{sink}``,
  ``edgeml_sink_reconnects_total{sink}``, and the live event clients' ``edgeml_sse_clients`` and
  ``edgeml_sse_dropped_total``. Snapshots are never double-counted and cost nothing between scrapes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from edgeml._optional import require
from edgeml.serve.live import model_version

if TYPE_CHECKING:
    from edgeml.streaming.stats import StreamResult

__all__ = ["STAGES", "Metrics"]

STAGES = ("decode", "preprocess", "invoke", "postprocess", "total")
# Seconds: 0.25 ms .. 1 s covers a Coral invoke (2-3 ms) up to a slow CPU model on a Pi Zero.
BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_STREAM_COUNTERS = (("frames", "Frames classified"), ("captured", "Frames read from the source"),
                    ("errors", "Items that could not be read or classified"),
                    ("dropped", "Frames never classified (stale frames replaced, gaps reported by the source)"),
                    ("read_failures", "Times the source itself failed"),
                    ("reconnects", "Successful source re-opens after a failure"))

Snapshot = Callable[[], dict[str, Any]]


class Metrics:
    """The metrics registry, fed by :meth:`observe` and by snapshot callables read at scrape time.

    Args:
        model: The model before any result: ``{"name": ..., "version": ...}``.
        stream_stats: Returns the stream's counters (``lambda: stream.stats.to_dict()``); None without a stream.
        dispatcher_status: Returns :meth:`~edgeml.sinks.dispatch.Dispatcher.status`; None without a dispatcher.
        fps: Returns the recent results rate.
        hub_status: Returns ``{"clients": n, "dropped": n}`` of the live event clients.
    """

    def __init__(self, model: dict[str, Any], *, stream_stats: Snapshot | None = None,
                 dispatcher_status: Snapshot | None = None, fps: Callable[[], float] | None = None,
                 hub_status: Snapshot | None = None) -> None:
        prom = require("prometheus_client", "edgeml serve's /metrics")
        self._prom = prom
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.results = prom.Counter("edgeml_results", "Stream results delivered (errors included)", registry=r)
        self.stage = prom.Histogram("edgeml_stage_seconds", "Seconds per classifier stage of a stream result",
                                    ["stage"], buckets=BUCKETS, registry=r)
        self.latency = prom.Histogram("edgeml_latency_seconds", "Capture to result, seconds (waiting included)",
                                      buckets=(*BUCKETS, 2.5, 5.0), registry=r)
        self.model_info = prom.Gauge("edgeml_model_info", "The model classifying the stream (value 1)",
                                     ["name", "version"], registry=r)
        self.requests = prom.Counter("edgeml_http_requests", "Prediction requests (predict, classify) by status",
                                     ["method", "code"], registry=r)
        self._model_lock = threading.Lock()
        self._model: tuple[str, str] | None = None
        self.set_model(model)
        # Read at scrape time; settable later (the dispatcher is built after the observers that feed it).
        self.stream_stats, self.dispatcher_status = stream_stats, dispatcher_status
        self.fps, self.hub_status = fps, hub_status
        r.register(_SnapshotCollector(prom.metrics_core, self))

    def set_model(self, model: dict[str, Any] | None) -> None:
        """Point ``edgeml_model_info`` at ``model`` (only one series at a time)."""
        key = (str((model or {}).get("name") or ""), model_version(model))
        with self._model_lock:
            if key == self._model:
                return
            self.model_info.clear()
            self.model_info.labels(*key).set(1)
            self._model = key

    def observe(self, result: StreamResult) -> None:
        """Count one stream result and its timings (a dispatcher observer)."""
        self.results.inc()
        if result.model is not None:
            self.set_model(result.model)
        if result.error is not None:
            return
        for stage in STAGES:
            ms = result.timings.get(stage)
            if ms is not None:
                self.stage.labels(stage).observe(ms / 1000.0)
        self.latency.observe(result.latency_ms / 1000.0)

    def render(self) -> tuple[bytes, str]:
        """Return the exposition (body, content type)."""
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST


class _SnapshotCollector:
    """Yield the snapshot figures at scrape time (a prometheus-client custom collector)."""

    def __init__(self, core: Any, metrics: Metrics) -> None:
        self._core, self._metrics = core, metrics

    def describe(self) -> list[Any]:
        return []  # names are known only at scrape time (one per sink); nothing to clash with

    def collect(self) -> Iterator[Any]:
        core, m = self._core, self._metrics
        if m.stream_stats is not None:
            stats = m.stream_stats()
            for name, doc in _STREAM_COUNTERS:
                yield core.CounterMetricFamily(f"edgeml_{name}", doc, value=float(stats.get(name, 0)))
        if m.fps is not None:
            yield core.GaugeMetricFamily("edgeml_fps", "Stream results per second over the last 2 s",
                                         value=float(m.fps()))
        if m.dispatcher_status is not None:
            status = m.dispatcher_status()
            yield core.CounterMetricFamily("edgeml_dispatch_dropped", "Results dropped before the sinks (queue "
                                           "full)", value=float(status.get("dispatch_dropped", 0)))
            families = {
                "sent": core.CounterMetricFamily("edgeml_sink_sent", "Events a sink sent", labels=["sink"]),
                "outbox_depth": core.GaugeMetricFamily("edgeml_outbox_depth", "Events waiting in a sink's outbox",
                                                       labels=["sink"]),
                "outbox_dropped": core.CounterMetricFamily("edgeml_outbox_dropped", "Events a sink's outbox dropped",
                                                           labels=["sink"]),
                "reconnects": core.CounterMetricFamily("edgeml_sink_reconnects", "A sink's reconnects",
                                                       labels=["sink"]),
            }
            for sink, figures in status.get("sinks", {}).items():
                for key, family in families.items():  # each sink reports what applies to it
                    value = figures.get(key)
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        family.add_metric([sink], float(value))
            yield from families.values()
        if m.hub_status is not None:
            hub = m.hub_status()
            yield core.GaugeMetricFamily("edgeml_sse_clients", "Connected /events clients",
                                         value=float(hub.get("clients", 0)))
            yield core.CounterMetricFamily("edgeml_sse_dropped", "Events dropped for slow /events clients",
                                           value=float(hub.get("dropped", 0)))
