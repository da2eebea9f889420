"""The starlette app of ``edgeml serve``: TF Serving's REST surface, metrics, probes, live events, kiosk page.

Every error is a JSON ``{"error": "..."}`` with the status TF Serving would use (404 unknown model, 400 bad
request or image, 413 body too large, 401 missing token, 503 busy or timed out) and never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from edgeml._optional import require
from edgeml.errors import EdgemlError, ImageError, InvalidArgumentError, one_line
from edgeml.serve.access import authorized
from edgeml.serve.live import frame_jpeg
from edgeml.serve.requests import parse_instances
from edgeml.serve.state import ServeState

__all__ = ["KEEPALIVE_S", "MAX_EVENT_CLIENTS", "TokenGate", "create_app", "kiosk_page"]

log = logging.getLogger(__name__)
KEEPALIVE_S = 15.0
MAX_EVENT_CLIENTS = 16
_VERBS = ("predict", "classify")


def kiosk_page(preview: bool) -> str:
    """The kiosk page (package data ``edgeml/serve/kiosk.html``), with the preview image on or off."""
    html = resources.files("edgeml.serve").joinpath("kiosk.html").read_text(encoding="utf-8")
    return html.replace("__PREVIEW__", "true" if preview else "false")


class _TooLarge(Exception):
    pass


def create_app(state: ServeState) -> Any:
    """Return the ASGI app serving ``state`` (a ``starlette.applications.Starlette`` behind the token check)."""
    require("starlette", "edgeml serve")
    import anyio
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        ready, reason = state.readiness()
        return JSONResponse({"ready": ready, "reason": reason}, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        body, content_type = state.metrics.render()
        return Response(body, media_type=content_type)

    async def page(request: Request) -> Response:
        return HTMLResponse(kiosk, headers={"Cache-Control": "no-store"})

    async def preview(request: Request) -> Response:
        if not state.preview:
            return error(404, "no preview: start edgeml serve with --preview (loopback addresses only)")
        frame = state.live.latest_frame()
        if frame is None:
            return error(503, "no frame yet")
        body = await anyio.to_thread.run_sync(frame_jpeg, frame)
        return Response(body, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def events(request: Request) -> Response:
        hub = state.hub
        if hub.status()["clients"] >= MAX_EVENT_CLIENTS:  # each holds a connection of uvicorn's limit
            return error(503, f"{MAX_EVENT_CLIENTS} clients already follow /events; try again later")

        async def stream() -> Any:
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

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def body_of(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > state.max_body:
            raise _TooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > state.max_body:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def models(request: Request) -> Response:
        rest: str = request.path_params["rest"]
        path, _, verb = rest.partition(":")
        parts = path.split("/")
        name = parts[0]
        req = state.requests
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
            return await predict(request, verb)
        if verb:
            return error(405, f"POST /v1/models/{name}:{verb}")
        if not tail:
            return JSONResponse(req.status())
        if tail == ["metadata"]:
            return JSONResponse(req.metadata())
        return error(404, f"Not found: /v1/models/{rest}")

    async def predict(request: Request, verb: str) -> Response:
        req = state.requests
        code, response = 200, None
        try:
            instances = parse_instances(await body_of(request), verb)
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

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        return error(status, str(getattr(exc, "detail", "")) or "error")

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("edgeml serve: internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        return error(500, f"internal error: {type(exc).__name__} (the server log has details)")

    kiosk = kiosk_page(state.preview)
    routes = [
        Route("/", page, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/events", events, methods=["GET"]),
        Route("/preview.jpg", preview, methods=["GET"]),
        Route("/v1/models/{rest:path}", models, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: internal_error})
    return TokenGate(app, state.token)


class TokenGate:
    """ASGI middleware: refuse requests without the bearer token (401) before any route runs."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.token is not None:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            if not authorized(self.token, scope.get("path", ""), headers, query, scope.get("method", "GET")):
                from starlette.responses import JSONResponse

                response = JSONResponse({"error": "a valid token is needed: 'Authorization: Bearer TOKEN' (or "
                                                  "?token=TOKEN for the page and /events)"}, status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
