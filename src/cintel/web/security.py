"""Who is asking: server-side sessions behind the `cintel_session` cookie, bearer API tokens, CSRF,
role checks as `Annotated` dependencies, and the security headers every response carries.

A session cookie holds a random token; the store keeps only its SHA-256, the user, an idle and an
absolute expiry, and a per-session CSRF token that every unsafe request made with the cookie must
echo (hidden form field ``csrf_token`` or header ``X-CSRF-Token``). Bearer-token calls carry no
ambient credential, so they need no CSRF token; the principal of one knows the token's id, so every
use is attributable. The sign-in form, posted before any session exists, is protected by a double
submit: a random pre-session cookie (``__Host-`` prefixed when cookies are Secure, so no other site or
subdomain can plant it) that the form must echo.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from sqlalchemy import Engine, delete, insert, select, update
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cintel.domain.access import AccessContext
from cintel.domain.roles import Role
from cintel.settings import Settings
from cintel.store.web_tables import users, web_sessions
from cintel.web.accounts import User, _user, as_utc, now, sha256_hex, token_use

SESSION_COOKIE = "cintel_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A year; without includeSubDomains, which would bind every other host of the organisation's domain.
HSTS = "max-age=31536000"
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
    token_id: str | None = None  # the API token of a token request

    @property
    def username(self) -> str:
        return self.user.username

    def context(self, purpose: str) -> AccessContext:
        return AccessContext(user=self.user.username, purpose=purpose, roles=self.user.roles,
                             token_id=self.token_id)


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
    # A service account cannot sign in: a session of one can only be forged, never honoured.
    if row.disabled or row.password_hash is None or at >= as_utc(row.expires_at) \
            or at - as_utc(row.last_seen_at) >= idle:
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


# --- sign-in CSRF (before any session) ---------------------------------------------------------------------------

def login_csrf_cookie(settings: Settings) -> str:
    """The pre-session cookie's name: ``__Host-`` binds it to this host, HTTPS and path / (browsers refuse a
    ``__Host-`` cookie set otherwise), which plain-HTTP test setups cannot have."""
    return "__Host-cintel_login" if settings.web_secure_cookies else "cintel_login"


def login_csrf_token(request: Request, settings: Settings) -> str:
    """The sign-in form's CSRF token: the browser's pre-session cookie when it has a well-formed one (several
    open sign-in tabs keep working), else a new random one."""
    current = request.cookies.get(login_csrf_cookie(settings), "")
    return current if len(current) == 43 and current.isascii() else secrets.token_urlsafe(32)


def set_login_csrf_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(login_csrf_cookie(settings), token, path="/", secure=settings.web_secure_cookies,
                        httponly=True, samesite="strict")


def clear_login_csrf_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(login_csrf_cookie(settings), path="/", secure=settings.web_secure_cookies,
                           httponly=True, samesite="strict")


def login_csrf_ok(request: Request, settings: Settings, presented: str) -> bool:
    """True when the posted sign-in form echoes the browser's pre-session cookie. A cross-site form cannot:
    it can neither read the cookie nor, SameSite=Strict, have it sent."""
    cookie = request.cookies.get(login_csrf_cookie(settings), "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), presented.encode())


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
        use = await run_in_threadpool(token_use, engine, token.strip())
        if use is None:
            raise NotAuthenticated("the API token is unknown or revoked")
        principal = Principal(user=use.user, via="token", token_id=use.token_id)
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


RoleCheck = Callable[[Principal], Coroutine[Any, Any, Principal]]
# Each check require_roles made, with the roles it admits: what the API reference reads to show a user only the
# operations they may call.
ROLE_CHECKS: dict[RoleCheck, frozenset[Role]] = {}


def require_roles(*roles: Role) -> RoleCheck:
    """A dependency admitting users holding at least one of ``roles``."""
    allowed = frozenset(roles)

    async def check(principal: CurrentUser) -> Principal:
        if not principal.user.roles & allowed:
            raise Forbidden(f"this needs one of the roles {', '.join(sorted(r.value for r in allowed))}")
        return principal

    ROLE_CHECKS[check] = allowed
    return check


def _role_checks(dependant: Dependant) -> Iterator[frozenset[Role]]:
    for sub in dependant.dependencies:
        if sub.call in ROLE_CHECKS:
            yield ROLE_CHECKS[sub.call]
        yield from _role_checks(sub)


def may_call(roles: frozenset[Role], dependant: Dependant) -> bool:
    """True when ``roles`` pass every role check among a route's dependencies (``route.dependant``)."""
    return all(roles & allowed for allowed in _role_checks(dependant))


# --- headers -----------------------------------------------------------------------------------------------------

def security_headers(settings: Settings) -> dict[str, str]:
    """The headers every response carries; Strict-Transport-Security exactly when cookies are Secure (the
    workspace is then served over HTTPS only)."""
    return {**SECURITY_HEADERS, "strict-transport-security": HSTS} if settings.web_secure_cookies \
        else SECURITY_HEADERS


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response, errors included (the app's
    settings say whether Strict-Transport-Security is one of them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        settings: Settings = scope["app"].state.settings
        added = security_headers(settings)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added.items():
                    headers[name] = value
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
