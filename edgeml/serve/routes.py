"""The routes of ``edgeml serve``: TF Serving's REST surface, metrics, probes, live events, kiosk page, preview.

Imported only by :func:`edgeml.serve.app.create_app`, after starlette was found. Every error is a JSON
``{"error": "..."}`` with the status TF Serving would use (404 unknown model, 400 bad request or image, 413 body
too large, 503 busy or timed out) and never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from edgeml.errors import EdgemlError, ImageError, InvalidArgumentError, one_line
from edgeml.serve.live import frame_jpeg
from edgeml.serve.requests import parse_instances
from edgeml.serve.state import ServeState

__all__ = ["KEEPALIVE_S", "MAX_EVENT_CLIENTS", "Routes", "build_app"]

log = logging.getLogger("edgeml.serve.app")
KEEPALIVE_S = 15.0
MAX_EVENT_CLIENTS = 16
_VERBS = ("predict", "classify")


class _TooLarge(Exception):
    pass


def error(status: int, message: str) -> JSONResponse:
    """The JSON error body every route answers with."""
    return JSONResponse({"error": message}, status_code=status)


class Routes:
    """The handlers, over one server's :class:`~edgeml.serve.state.ServeState`."""

    def __init__(self, state: ServeState, kiosk: str) -> None:
        self.state, self.kiosk = state, kiosk

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(self, request: Request) -> Response:
        ready, reason = self.state.readiness()
        return JSONResponse({"ready": ready, "reason": reason}, status_code=200 if ready else 503)

    async def metrics(self, request: Request) -> Response:
        body, content_type = self.state.metrics.render()
        return Response(body, media_type=content_type)

    async def page(self, request: Request) -> Response:
        return HTMLResponse(self.kiosk, headers={"Cache-Control": "no-store"})

    async def preview(self, request: Request) -> Response:
        if not self.state.preview:
            return error(404, "no preview: start edgeml serve with --preview (loopback addresses only)")
        frame = self.state.live.latest_frame()
        if frame is None:
            return error(503, "no frame yet")
        body = await anyio.to_thread.run_sync(frame_jpeg, frame)
        return Response(body, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def events(self, request: Request) -> Response:
        if self.state.hub.status()["clients"] >= MAX_EVENT_CLIENTS:  # each holds a connection of uvicorn's limit
            return error(503, f"{MAX_EVENT_CLIENTS} clients already follow /events; try again later")
        return StreamingResponse(self._event_stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def _event_stream(self) -> AsyncIterator[str]:
        hub = self.state.hub
        client = hub.subscribe()  # here, not before: a generator that never starts never cleans up
        try:
            yield "retry: 2000\n\n"
            for greeting in hub.greeting():
                yield f"data: {greeting}\n\n"
            idle = 0.0
            while not hub.closed:
                try:
                    text: str | None = await asyncio.wait_for(client.queue.get(), timeout=1.0)
                except asyncio.TimeoutError:
                    idle += 1.0
                    if idle >= KEEPALIVE_S:  # a comment keeps proxies and idle timers from closing it
                        idle = 0.0
                        yield ": keep-alive\n\n"
                    continue
                if text is None:
                    break
                idle = 0.0
                yield f"data: {text}\n\n"
        finally:
            hub.unsubscribe(client)

    async def _body(self, request: Request) -> bytes:
        limit = self.state.max_body
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def models(self, request: Request) -> Response:
        rest: str = request.path_params["rest"]
        path, _, verb = rest.partition(":")
        parts = path.split("/")
        name = parts[0]
        req = self.state.requests
        if name != req.name:
            return error(404, f"Servable not found for request: Latest({name}) (this server has {req.name!r})")
        tail = parts[1:]
        if tail[:1] in (["versions"], ["labels"]) and len(tail) >= 2:
            if tail[0] == "versions" and tail[1] != req.version:
                return error(404, f"Servable not found for request: Specific({name}, {tail[1]}) "
                                  f"(loaded: version {req.version})")
            tail = tail[2:]
        if request.method == "POST":
            if tail or verb not in _VERBS:
                return error(404, f"Unknown method {verb!r}: POST /v1/models/{name}:predict or :classify")
            return await self.predict(request, verb)
        if verb:
            return error(405, f"POST /v1/models/{name}:{verb}")
        if not tail:
            return JSONResponse(req.status())
        if tail == ["metadata"]:
            return JSONResponse(req.metadata())
        return error(404, f"Not found: /v1/models/{rest}")

    async def predict(self, request: Request, verb: str) -> Response:
        state, req = self.state, self.state.requests
        code, response = 200, None
        try:
            instances = parse_instances(await self._body(request), verb)
            call = req.predict if verb == "predict" else req.classify
            with anyio.fail_after(state.request_timeout_s + 1.0):
                # abandon_on_cancel: a stuck invoke() cannot be interrupted, but the client gets its answer.
                result = await anyio.to_thread.run_sync(call, instances, abandon_on_cancel=True)
            response = JSONResponse(result)
        except _TooLarge:
            code, response = 413, error(413, f"The request body is larger than {state.max_body} bytes")
        except (ImageError, InvalidArgumentError) as exc:
            code, response = 400, error(400, one_line(exc, 400))
        except TimeoutError as exc:
            message = str(exc) or f"The request took longer than {state.request_timeout_s:g} s"
            code, response = 503, error(503, message)
        except EdgemlError as exc:
            code, response = 500, error(500, one_line(exc, 400))
        state.metrics.requests.labels(verb, str(code)).inc()
        return response


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    return error(status, str(getattr(exc, "detail", "")) or "error")


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("edgeml serve: internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc,
              exc_info=log.isEnabledFor(logging.DEBUG))
    return error(500, f"internal error: {type(exc).__name__} (the server log has details)")


def build_app(state: ServeState, kiosk: str) -> Starlette:
    """The starlette app with every route of ``state``'s server and the JSON error handlers."""
    r = Routes(state, kiosk)
    routes = [
        Route("/", r.page, methods=["GET"]),
        Route("/healthz", r.healthz, methods=["GET"]),
        Route("/readyz", r.readyz, methods=["GET"]),
        Route("/metrics", r.metrics, methods=["GET"]),
        Route("/events", r.events, methods=["GET"]),
        Route("/preview.jpg", r.preview, methods=["GET"]),
        Route("/v1/models/{rest:path}", r.models, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _internal_error})
