"""``edgeml serve``: a small HTTP server beside the stream, for existing clients, Prometheus and a kiosk screen.

::

    GET  /v1/models/NAME            TF Serving's model status
    GET  /v1/models/NAME/metadata   labels, input tensor, version
    POST /v1/models/NAME:predict    {"instances": [{"b64": "<JPEG/PNG>"}, ...]} -> {"predictions": [[p, ...]]}
    POST /v1/models/NAME:classify   -> {"result": [[["label", score], ...]]}
    GET  /metrics                   Prometheus text format (its own registry, not the global one)
    GET  /healthz  /readyz          alive; model loaded and a fresh stream result
    GET  /events                    server-sent events: schema-1 events (:mod:`edgeml.sinks.events`), live
    GET  /                          the kiosk page (large live label, score, fps, model version)
    GET  /preview.jpg               the latest frame, only with ``--preview`` on a loopback address

Modules: :mod:`~edgeml.serve.access` (who may connect), :mod:`~edgeml.serve.live` (the latest result and the
results rate), :mod:`~edgeml.serve.metrics`, :mod:`~edgeml.serve.hub` (the fan-out to event-stream clients),
:mod:`~edgeml.serve.requests` (TF Serving requests on the server's own classifier), :mod:`~edgeml.serve.app`
(the starlette routes) and :mod:`~edgeml.serve.server` (uvicorn). Nothing is imported here: starlette, uvicorn
and prometheus-client are needed only by ``app``, ``server`` and ``metrics`` (``pip install "edgeml[serve]"``).
"""

from __future__ import annotations

__all__: list[str] = []
