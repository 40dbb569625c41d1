"""Who is asking: server-side sessions behind the `cintel_session` cookie, bearer API tokens, CSRF,
role checks as `Annotated` dependencies, and the security headers every response carries.

A session cookie holds a random token; the store keeps only its SHA-256, the user, an idle and an
absolute expiry, and a per-session CSRF token that every unsafe request made with the cookie must
echo (hidden form field ``csrf_token`` or header ``X-CSRF-Token``). Bearer-token calls carry no
ambient credential, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine, delete, insert, select, update
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cintel.domain.access import AccessContext
from cintel.domain.roles import Role
from cintel.settings import Settings
from cintel.store.web_tables import users, web_sessions
from cintel.web.accounts import User, _user, as_utc, now, sha256_hex, user_for_token

SESSION_COOKIE = "cintel_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class NotAuthenticated(Exception):
    """No valid session or token: pages redirect to /login, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but not allowed: a role is missing or the CSRF token is missing or wrong."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Principal:
    """The signed-in user of a request and how they proved it."""

    user: User
    via: Literal["session", "token"]
    csrf_token: str | None = None

    @property
    def username(self) -> str:
        return self.user.username

    def context(self, purpose: str) -> AccessContext:
        return AccessContext(user=self.user.username, purpose=purpose,
                             roles=frozenset(r.value for r in self.user.roles))


# --- sessions ----------------------------------------------------------------------------------------------------

def create_session(engine: Engine, username: str, settings: Settings) -> str:
    """Opens a session for a signed-in user; returns the cookie token (only its hash is stored)."""
    token, at = secrets.token_urlsafe(32), now()
    with engine.begin() as conn:
        conn.execute(insert(web_sessions).values(
            session_id=sha256_hex(token), username=username, created_at=at, last_seen_at=at,
            expires_at=at + timedelta(hours=settings.web_session_hours), csrf_token=secrets.token_urlsafe(32)))
    return token


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.session_id == sha256_hex(token)))


def session_user(engine: Engine, token: str, settings: Settings) -> tuple[User, str] | None:
    """The enabled user and CSRF token of a live session, touching its idle clock; None when the
    session is unknown, idle too long or past its absolute expiry (it is then deleted)."""
    session_id = sha256_hex(token)
    q = (select(web_sessions.c.last_seen_at, web_sessions.c.expires_at, web_sessions.c.csrf_token, users)
         .join(users, users.c.username == web_sessions.c.username).where(web_sessions.c.session_id == session_id))
    with engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    at = now()
    idle = timedelta(minutes=settings.web_session_idle_minutes)
    if row.disabled or at >= as_utc(row.expires_at) or at - as_utc(row.last_seen_at) >= idle:
        with engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.session_id == session_id))
        return None
    with engine.begin() as conn:
        conn.execute(update(web_sessions).where(web_sessions.c.session_id == session_id).values(last_seen_at=at))
    return _user(row), row.csrf_token


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(settings.web_session_hours * 3600), path="/",
                        secure=settings.web_secure_cookies, httponly=True, samesite="strict")


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=settings.web_secure_cookies, httponly=True,
                           samesite="strict")


# --- dependencies ------------------------------------------------------------------------------------------------

def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def _csrf_presented(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def current_user(request: Request, engine: StoreDep, settings: SettingsDep) -> Principal:
    """The signed-in user, from a bearer token or the session cookie; unsafe requests made with the
    cookie must carry the session's CSRF token."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <token>'")
        user = await run_in_threadpool(user_for_token, engine, token.strip())
        if user is None:
            raise NotAuthenticated("the API token is unknown or revoked")
        principal = Principal(user=user, via="token")
        request.state.principal = principal
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated("sign in first")
    found = await run_in_threadpool(session_user, engine, cookie, settings)
    if found is None:
        raise NotAuthenticated("the session has expired: sign in again")
    user, csrf = found
    if request.method in UNSAFE_METHODS:
        presented = await _csrf_presented(request)
        if presented is None or not hmac.compare_digest(presented.encode(), csrf.encode()):
            raise Forbidden("the CSRF token is missing or wrong: reload the page and try again")
    principal = Principal(user=user, via="session", csrf_token=csrf)
    request.state.principal = principal  # for error pages
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency admitting users holding at least one of ``roles``."""
    allowed = frozenset(roles)

    async def check(principal: CurrentUser) -> Principal:
        if not principal.user.roles & allowed:
            raise Forbidden(f"this needs one of the roles {', '.join(sorted(r.value for r in allowed))}")
        return principal

    return check


# --- headers -----------------------------------------------------------------------------------------------------

class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
