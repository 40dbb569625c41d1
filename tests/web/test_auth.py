"""Signing in and out, sessions, CSRF, API tokens, role checks and the headers on every response."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from cintel.settings import Settings
from cintel.store.web_tables import login_attempts, web_sessions
from cintel.web.accounts import create_api_token, revoke_api_token
from cintel.web.app import PUBLIC_PATHS, create_app
from cintel.web.security import SECURITY_HEADERS, SESSION_COOKIE
from tests.web.conftest import PASSWORD, sign_in


def session_cookie(response_headers: list[str]) -> SimpleCookie:
    [header] = [h for h in response_headers if h.startswith(f"{SESSION_COOKIE}=")]
    cookie = SimpleCookie()
    cookie.load(header)
    return cookie


# --- sign in / out -----------------------------------------------------------------------------------------------

def test_signing_in_opens_a_session_and_goes_to_the_queue(client: TestClient) -> None:
    done = client.post("/login", data={"username": "ann", "password": PASSWORD})
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    me = client.get("/api/v1/me")
    assert me.json() == {"username": "ann", "display_name": "Ann Analyst", "roles": ["analyst"],
                         "authenticated_by": "session"}


def test_usernames_are_case_insensitive(client: TestClient) -> None:
    assert client.post("/login", data={"username": "ANN", "password": PASSWORD}).status_code == 303


def test_the_session_cookie_is_httponly_strict_and_secure(client: TestClient) -> None:
    done = client.post("/login", data={"username": "ann", "password": PASSWORD})
    morsel = session_cookie(done.headers.get_list("set-cookie"))[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"


def test_the_cookie_is_not_secure_when_configured_for_plain_http(engine: Engine, app: FastAPI) -> None:
    plain = create_app(engine, settings=Settings(web_secure_cookies=False))
    with TestClient(plain, follow_redirects=False) as http_client:
        done = http_client.post("/login", data={"username": "ann", "password": PASSWORD})
        morsel = session_cookie(done.headers.get_list("set-cookie"))[SESSION_COOKIE]
        assert not morsel["secure"]
        assert http_client.get("/api/v1/me").status_code == 200


def test_the_store_keeps_only_the_hash_of_the_session_token(client: TestClient, engine: Engine) -> None:
    done = client.post("/login", data={"username": "ann", "password": PASSWORD})
    token = session_cookie(done.headers.get_list("set-cookie"))[SESSION_COOKIE].value
    with engine.connect() as conn:
        ids = conn.execute(select(web_sessions.c.session_id)).scalars().all()
    assert len(ids) == 1
    assert token not in ids[0]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client: TestClient) -> None:
    wrong = client.post("/login", data={"username": "ann", "password": "not the password at all"})
    unknown = client.post("/login", data={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong username or password" in wrong.text
    assert "wrong username or password" in unknown.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    assert client.get("/api/v1/me").status_code == 401


def test_sign_in_is_throttled_after_five_failures_for_a_username(client: TestClient, engine: Engine) -> None:
    for _ in range(5):
        assert client.post("/login", data={"username": "ann", "password": "wrong password 123"}).status_code == 401
    refused = client.post("/login", data={"username": "ann", "password": PASSWORD})
    assert refused.status_code == 429
    assert "too many failed sign-ins" in refused.text
    with engine.connect() as conn:
        outcomes = conn.execute(select(login_attempts.c.outcome).order_by(login_attempts.c.id)).scalars().all()
    assert outcomes == ["bad_password"] * 5 + ["throttled"]


def test_sign_in_is_throttled_after_five_failures_from_an_address(client: TestClient) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5"):
        client.post("/login", data={"username": name, "password": "wrong password 123"})
    assert client.post("/login", data={"username": "ann", "password": PASSWORD}).status_code == 429


def test_throttling_ends_when_the_window_has_passed(client: TestClient, engine: Engine) -> None:
    for _ in range(5):
        client.post("/login", data={"username": "ann", "password": "wrong password 123"})
    with engine.begin() as conn:  # the failures happened 16 minutes ago
        conn.execute(update(login_attempts).values(attempted_at=login_attempts.c.attempted_at - timedelta(minutes=16)))
    assert client.post("/login", data={"username": "ann", "password": PASSWORD}).status_code == 303


def test_signing_out_ends_the_session_for_good(client: TestClient) -> None:
    csrf = sign_in(client, "ann")
    token = client.cookies.get(SESSION_COOKIE)
    done = client.post("/logout", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    client.cookies.set(SESSION_COOKIE, token or "", domain="testserver")  # a stolen copy of the cookie
    assert client.get("/api/v1/me").status_code == 401


def test_an_idle_session_expires(engine: Engine, app: FastAPI) -> None:
    idle = create_app(engine, settings=Settings(web_session_idle_minutes=0.0001))
    with TestClient(idle, base_url="https://testserver", follow_redirects=False) as c:
        c.post("/login", data={"username": "ann", "password": PASSWORD})
        time.sleep(0.02)
        assert c.get("/").headers["location"] == "/login"


# --- CSRF --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "wrong"])
def test_sign_out_without_the_right_csrf_token_is_refused(client: TestClient, token: str | None) -> None:
    sign_in(client, "ann")
    done = client.post("/logout", data={"csrf_token": token} if token else {})
    assert done.status_code == 403
    assert client.get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("token", [None, "wrong"])
def test_api_writes_with_a_cookie_need_the_csrf_header(client: TestClient, token: str | None) -> None:
    sign_in(client, "ada")
    done = client.post("/api/v1/tokens", json={"username": "ann", "label": "etl"},
                       headers={"X-CSRF-Token": token} if token else {})
    assert done.status_code == 403
    assert done.headers["content-type"] == "application/problem+json"
    assert done.json()["status"] == 403


def test_api_writes_with_a_cookie_and_the_csrf_header_succeed(client: TestClient) -> None:
    csrf = sign_in(client, "ada")
    done = client.post("/api/v1/tokens", json={"username": "ann", "label": "etl"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201
    assert done.json()["username"] == "ann"
    assert done.json()["token"]


# --- bearer tokens -----------------------------------------------------------------------------------------------

def test_a_bearer_token_works_without_csrf(client: TestClient, engine: Engine) -> None:
    issued = create_api_token(engine, "ada", "automation")
    auth = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/api/v1/me", headers=auth).json()["authenticated_by"] == "token"
    done = client.post("/api/v1/tokens", json={"username": "ann", "label": "etl"}, headers=auth)
    assert done.status_code == 201
    new = done.json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new}"}).json()["username"] == "ann"


def test_a_revoked_token_is_refused(client: TestClient, engine: Engine) -> None:
    issued = create_api_token(engine, "ann", "automation")
    revoke_api_token(engine, issued.token_id)
    done = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.token}"})
    assert done.status_code == 401
    assert done.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic YW5uOnB3", "Bearer "])
def test_a_bad_authorization_header_is_refused(client: TestClient, header: str) -> None:
    assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401


# --- every route is protected -----------------------------------------------------------------------------------

def protected_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the app but the public ones; path parameters filled with a dummy value."""
    found: list[tuple[str, str]] = []
    for route in iter_route_contexts(app.routes):
        if route.path is None or route.path in PUBLIC_PATHS:
            continue
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        methods = route.methods or {"GET"}  # a mount answers every method
        found.extend((method, path) for method in sorted(methods) if method != "HEAD")
    return found


def test_the_app_has_protected_routes_to_check(app: FastAPI) -> None:
    checked = protected_routes(app)
    assert ("GET", "/") in checked
    assert ("POST", "/api/v1/tokens") in checked
    assert ("GET", "/api/docs") in checked


def test_no_route_but_the_public_ones_answers_without_signing_in(client: TestClient, app: FastAPI) -> None:
    for method, path in protected_routes(app):
        done = client.request(method, path)
        if path.startswith("/api/"):
            assert done.status_code == 401, (method, path)
            assert done.headers["content-type"] == "application/problem+json", (method, path)
            assert set(done.json()) >= {"type", "title", "status", "detail"}
        else:
            assert done.status_code == 303, (method, path)
            assert done.headers["location"] == "/login", (method, path)


def test_public_routes_answer_without_signing_in(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "store": "ok"}
    assert client.get("/login").status_code == 200
    assert client.get("/static/cintel.css").status_code == 200


# --- roles -------------------------------------------------------------------------------------------------------

def test_an_inspector_cannot_create_tokens(client: TestClient, engine: Engine) -> None:
    issued = create_api_token(engine, "ivan", "handheld")
    done = client.post("/api/v1/tokens", json={"username": "ivan", "label": "x"},
                       headers={"Authorization": f"Bearer {issued.token}"})
    assert done.status_code == 403
    assert "administrator" in done.json()["detail"]


def test_a_user_without_a_queue_role_is_refused_the_queue(client: TestClient) -> None:
    sign_in(client, "ada")
    page = client.get("/queue")
    assert page.status_code == 403
    assert "analyst" in page.text
    assert client.get("/api/v1/queue").status_code == 403


def test_an_inspector_may_read_the_queue(client: TestClient) -> None:
    sign_in(client, "ivan")
    assert client.get("/queue").status_code == 200


# --- headers -----------------------------------------------------------------------------------------------------

def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    answers = [client.get("/health"), client.get("/login"), client.get("/"), client.get("/api/v1/me"),
               client.get("/no/such/page"), client.get("/static/cintel.css"),
               client.post("/login", data={"username": "ann", "password": "wrong password 123"})]
    sign_in(client, "ann")
    answers += [client.get("/"), client.get("/?size=0"), client.get("/api/v1/queue?size=100000"),
                client.post("/logout")]
    for done in answers:
        for name, value in SECURITY_HEADERS.items():
            assert done.headers.get(name) == value, (done.request.url, name)


def test_pages_load_no_inline_script_or_style(client: TestClient) -> None:
    sign_in(client, "ann")
    for path in ("/login", "/", "/queue", "/api/docs"):
        html = client.get(path).text
        # Scripts come from /static files only: a <script> without src would be inline.
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        assert "style=" not in html
        assert "<style" not in html


def test_sign_in_lands_on_the_dashboard_or_for_administrators_on_the_api(client: TestClient) -> None:
    analyst = client.post("/login", data={"username": "ann", "password": PASSWORD})
    assert analyst.headers["location"] == "/"
    client.cookies.clear()
    admin = client.post("/login", data={"username": "ada", "password": PASSWORD})
    assert admin.headers["location"] == "/api/docs"
