"""The web app: `create_app()` builds it on a store (run with `cintel serve`, or
`uvicorn --factory cintel.web.app:create_app`).

Errors under /api/ are RFC 9457 problem documents (type, title, status, detail); elsewhere an HTML
page. A missing or expired sign-in redirects pages to /login and answers 401 on the API.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cintel.errors import CintelError
from cintel.settings import Settings, get_settings
from cintel.web import api, case_pages, dashboard, declaration_pages, entity_pages, pages, rule_pages, search_pages
from cintel.web.render import STATIC_DIR, page
from cintel.web.security import SECURITY_HEADERS, Forbidden, NotAuthenticated, SecurityHeaders, StoreDep

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
    return page(request, "error.html", principal, status_code=status, status=status,
                title=HTTPStatus(status).phrase, detail=detail, headers=headers)


async def _not_authenticated(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="cintel"'})
    return RedirectResponse("/login", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return _error(request, 403, exc.detail if isinstance(exc, Forbidden) else str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return _error(request, exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


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
    response.headers.update(SECURITY_HEADERS)
    return response


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
    app.add_middleware(SecurityHeaders)
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
    for area in (dashboard, declaration_pages, entity_pages, rule_pages, case_pages, search_pages):
        app.include_router(area.router)
    app.include_router(api.router)
    app.include_router(api.docs_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
