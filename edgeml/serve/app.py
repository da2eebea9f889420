"""The ASGI app of ``edgeml serve``: the routes (:mod:`edgeml.serve.routes`) behind the bearer-token gate.

Every error is a JSON ``{"error": "..."}`` with the status TF Serving would use (404 unknown model, 400 bad
request or image, 413 body too large, 401 missing token, 503 busy or timed out) and never a traceback.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import parse_qsl

from edgeml._optional import require
from edgeml.serve.access import authorized
from edgeml.serve.state import ServeState

__all__ = ["TokenGate", "create_app", "kiosk_page"]


def kiosk_page(preview: bool) -> str:
    """The kiosk page (package data ``edgeml/serve/kiosk.html``), with the preview image on or off."""
    html = resources.files("edgeml.serve").joinpath("kiosk.html").read_text(encoding="utf-8")
    return html.replace("__PREVIEW__", "true" if preview else "false")


class _TooLarge(Exception):
    pass


def create_app(state: ServeState) -> Any:
    """Return the ASGI app serving ``state`` (a ``starlette.applications.Starlette`` behind the token check)."""
    require("starlette", "edgeml serve")
    from edgeml.serve.routes import build_app

    return TokenGate(build_app(state, kiosk_page(state.preview)), state.token)


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
