"""The web app: `create_app()` builds it on a store (run with `cintel serve`, or
`uvicorn --factory cintel.web.app:create_app`).

Errors under /api/ are RFC 9457 problem documents (type, title, status, detail), and the OpenAPI
description says so; elsewhere an HTML page. A missing or expired sign-in redirects pages to /login and
answers 401 on the API. A request whose text is not UTF-8 is refused (400) before anything reads it. OPTIONS,
and a method a path does not have (405), answer with the methods the path does have (``Allow``).
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from cintel.errors import CintelError
from cintel.settings import Settings, get_settings
from cintel.web import (
    admin_pages,
    api,
    case_pages,
    dashboard,
    declaration_pages,
    entity_pages,
    pages,
    rule_pages,
    search_pages,
)
from cintel.web.render import STATIC_DIR, page
from cintel.web.security import Forbidden, NotAuthenticated, SecurityHeaders, StoreDep, security_headers

log = logging.getLogger(__name__)
PUBLIC_PATHS = frozenset({"/health", "/login", "/static"})
"""Paths answered without signing in; every other route requires a user (tests check it)."""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem(status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    """An RFC 9457 problem document."""
    phrase = HTTPStatus(status).phrase
    body = {"type": "about:blank", "title": title or phrase, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def _error(request: Request, status: int, detail: str, headers: dict[str, str] | None = None,
           **extra: Any) -> Response:
    if _is_api(request):
        return problem(status, detail, headers=headers, **extra)
    principal = getattr(request.state, "principal", None)
    response = page(request, "error.html", principal, status_code=status, status=status,
                    title=HTTPStatus(status).phrase, detail=detail)
    response.headers.update(headers or {})  # e.g. Allow on a 405
    return response


async def _not_authenticated(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="cintel"'})
    return RedirectResponse("/login", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return _error(request, 403, exc.detail if isinstance(exc, Forbidden) else str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # The router names only the first route matching the path; the path may have others.
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
    return _error(request, exc.status_code, str(exc.detail), headers=headers)


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods the request's path answers: those of every route matching it, and OPTIONS."""
    methods = {"OPTIONS"}
    # Matched afresh from the app's root: a mount has already rewritten the request's own scope for its app.
    fresh = {"type": "http", "method": scope["method"], "path": scope["path"], "headers": scope["headers"],
             "root_path": scope.get("app_root_path", "")}
    for route in iter_route_contexts(app.routes):
        match, _ = route.matches(fresh)
        if match is not Match.NONE:
            methods |= route.methods or (STATIC_METHODS if isinstance(route.app, StaticFiles) else set())
    return sorted(methods)


STATIC_METHODS = {"GET", "HEAD"}


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "request", "message": e.get("msg", "")}
              for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    if _is_api(request):
        return problem(422, detail, errors=errors)
    return _error(request, 422, detail)


async def _user_error(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    response = _error(request, 500, "something went wrong on our side; the error has been logged")
    # Unexpected errors are answered outside the middleware stack: add the headers here.
    response.headers.update(security_headers(request.app.state.settings))
    return response


# --- text that is not UTF-8 --------------------------------------------------------------------------------------

_FORM = "application/x-www-form-urlencoded"
_JSON = re.compile(r"application/([\w.+-]+\+)?json\b")
# A JSON escape of a surrogate or of NUL: only a body holding one needs parsing to be checked.
_CHECKED_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")


def _is_text(data: bytes, *, form: bool = False) -> bool:
    """Whether ``data``, percent-decoded (and '+' read as a space in a form), is UTF-8 without a NUL."""
    try:
        decoded = unquote_to_bytes(data.replace(b"+", b" ") if form else data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in decoded


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _json_is_text(body: bytes) -> bool:
    """Whether a JSON body is UTF-8 (RFC 8259) and names no lone surrogate and no NUL: ``"\\ud800"`` parses,
    but no UTF-8 text can hold what it names, and no text column can hold a NUL."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if b"\x00" in body:
        return False
    if not _CHECKED_ESCAPE.search(body):
        return True
    try:
        parsed = json.loads(body)
    except ValueError:
        return True  # not JSON at all: the route says so
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")  # a lone surrogate, key or value, cannot
    except UnicodeEncodeError:
        return False
    return not _holds_nul(parsed)


def _not_text_part(scope: Scope, body: bytes | None) -> str | None:
    """Which part of the request is not UTF-8 text free of NUL characters (None: all is)."""
    if not _is_text(scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")):
        return "the path"
    if not _is_text(scope.get("query_string", b""), form=True):
        return "the query string"
    if body is not None:
        content_type = _content_type(scope)
        if content_type.startswith(_FORM) and not _is_text(body, form=True):
            return "the form"
        if _JSON.match(content_type) and not _json_is_text(body):
            return "the JSON body"
    return None


def _content_type(scope: Scope) -> str:
    return next((v.decode("latin-1").lower() for k, v in scope["headers"] if k == b"content-type"), "")


class Utf8Text:
    """ASGI middleware refusing (400) a request whose path, query string, form or JSON body is not UTF-8 text
    or holds a NUL, before any route reads it: a lone surrogate would fail deep inside a handler, bytes that
    are not UTF-8 would be read with U+FFFD in their place, and PostgreSQL text cannot hold a NUL. A form or
    JSON body is read whole to be checked (the routes read it whole anyway), then handed on; other bodies
    (uploads) pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = None
        content_type = _content_type(scope)
        if content_type.startswith(_FORM) or _JSON.match(content_type):
            body, receive = await _read_body(receive)
        part = _not_text_part(scope, body)
        if part is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response = _error(request, 400, f"{part} is not valid UTF-8 text (a lone surrogate such as \\ud800, "
                                        "bytes that are not UTF-8, or a NUL character)")
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that hands it on as one message (then listens for a disconnect)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


# --- the OpenAPI description -------------------------------------------------------------------------------------

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem", "type": "object", "required": ["type", "title", "status", "detail"],
    "description": "An RFC 9457 problem document; a refused input also names its fields (errors).",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {"4XX": {
    "description": "Refused: a problem document (bad input, not signed in, not allowed, not found, ...)",
    "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}}
"""Every route's refusals, as the description gives them (in place of FastAPI's 422, which the app never
answers in that shape)."""


def create_app(engine: Engine | None = None, *, settings: Settings | None = None) -> FastAPI:
    """The workspace on ``engine`` (default: the configured store, migrated)."""
    if engine is None:
        from cintel.store.engine import open_store

        engine = open_store()
    app = FastAPI(title="cintel", version=version("cintel"), docs_url=None, redoc_url=None, openapi_url=None,
                  description="Customs intelligence workspace API. Authenticate with 'Authorization: Bearer "
                              "<token>' (tokens: `cintel users token create`).")
    app.state.engine = engine
    app.state.settings = settings or get_settings()
    app.add_middleware(Utf8Text)  # inside SecurityHeaders, so its refusals carry the headers too
    app.add_middleware(SecurityHeaders)
    if app.state.settings.web_trusted_proxies.strip():  # the client address is the one they forwarded
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=app.state.settings.web_trusted_proxies)
    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(CintelError, _user_error)
    app.add_exception_handler(Exception, _unexpected)

    @app.get("/health")
    async def health(store: StoreDep) -> JSONResponse:
        """Public liveness check: the app answers, and whether the store does."""
        def ping() -> bool:
            try:
                with store.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("store does not answer", exc_info=True)
                return False

        ok = await run_in_threadpool(ping)
        return JSONResponse({"status": "ok" if ok else "degraded", "store": "ok" if ok else "unavailable"},
                            status_code=200 if ok else 503)

    app.include_router(pages.router)
    for area in (dashboard, declaration_pages, entity_pages, rule_pages, case_pages, search_pages, admin_pages):
        app.include_router(area.router, responses=PROBLEM_RESPONSES)
    app.include_router(api.router, responses=PROBLEM_RESPONSES)
    app.include_router(api.docs_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
