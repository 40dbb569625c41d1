"""Signing in and out, the sign-in throttle and its CSRF guard, sessions, CSRF, API tokens (who issues them,
every use attributable), role checks, the API reference per role and the headers on every response."""

from __future__ import annotations

import re
import time
from http.cookies import SimpleCookie

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.settings import Settings
from cintel.store.web_tables import access_log, api_tokens, login_attempts, web_sessions
from cintel.web.accounts import add_service_account, add_user, create_api_token, list_api_tokens, revoke_api_token
from cintel.web.app import PUBLIC_PATHS, create_app
from cintel.web.security import SECURITY_HEADERS, SESSION_COOKIE
from tests.web.conftest import PASSWORD, post_login, ranked, sign_in, write_run
from tests.web.test_accounts import age_attempts


def session_cookie(response_headers: list[str], name: str = SESSION_COOKIE) -> SimpleCookie:
    [header] = [h for h in response_headers if h.startswith(f"{name}=")]
    cookie = SimpleCookie()
    cookie.load(header)
    return cookie


def outcomes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(login_attempts.c.outcome).order_by(login_attempts.c.id)).scalars())


# --- sign in / out -----------------------------------------------------------------------------------------------

def test_signing_in_opens_a_session_and_goes_to_the_queue(client: TestClient) -> None:
    done = post_login(client, "ann")
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    me = client.get("/api/v1/me")
    assert me.json() == {"username": "ann", "display_name": "Ann Analyst", "roles": ["analyst"],
                         "authenticated_by": "session", "token_id": None}


def test_usernames_are_case_insensitive(client: TestClient) -> None:
    assert post_login(client, "ANN").status_code == 303


def test_the_session_cookie_is_httponly_strict_and_secure(client: TestClient) -> None:
    done = post_login(client, "ann")
    morsel = session_cookie(done.headers.get_list("set-cookie"))[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"


def test_the_cookie_is_not_secure_when_configured_for_plain_http(engine: Engine, app: FastAPI) -> None:
    plain = create_app(engine, settings=Settings(web_secure_cookies=False))
    with TestClient(plain, follow_redirects=False) as http_client:
        done = post_login(http_client, "ann")
        morsel = session_cookie(done.headers.get_list("set-cookie"))[SESSION_COOKIE]
        assert not morsel["secure"]
        assert http_client.get("/api/v1/me").status_code == 200


def test_the_store_keeps_only_the_hash_of_the_session_token(client: TestClient, engine: Engine) -> None:
    done = post_login(client, "ann")
    token = session_cookie(done.headers.get_list("set-cookie"))[SESSION_COOKIE].value
    with engine.connect() as conn:
        ids = conn.execute(select(web_sessions.c.session_id)).scalars().all()
    assert len(ids) == 1
    assert token not in ids[0]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client: TestClient) -> None:
    wrong = post_login(client, "ann", "not the password at all")
    unknown = post_login(client, "nobody")
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong username or password" in wrong.text
    assert "wrong username or password" in unknown.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    assert client.get("/api/v1/me").status_code == 401


def test_repeated_failures_make_the_next_attempt_for_the_name_from_that_address_wait(client: TestClient,
                                                                                     engine: Engine) -> None:
    for _ in range(3):
        assert post_login(client, "ann", "wrong password 123").status_code == 401
    refused = post_login(client, "ann")
    assert refused.status_code == 429
    assert "too many failed sign-ins: wait 2 s" in refused.text
    assert refused.headers["retry-after"] == "2"
    assert outcomes(engine) == ["bad_password"] * 3 + ["throttled"]


def test_wrong_passwords_from_an_attacker_do_not_lock_the_user_out(app: FastAPI, engine: Engine) -> None:
    with TestClient(app, base_url="https://testserver", client=("203.0.113.9", 40000)) as attacker:
        for _ in range(10):
            assert post_login(attacker, "ann", "wrong password 123").status_code in (401, 429)
    with TestClient(app, base_url="https://testserver", client=("198.51.100.7", 40000),
                    follow_redirects=False) as owner:
        assert post_login(owner, "ann").status_code == 303
    with engine.connect() as conn:
        assert set(conn.execute(select(login_attempts.c.address)).scalars()) == {"203.0.113.9", "198.51.100.7"}


def test_sign_in_from_an_address_trying_many_names_is_refused(engine: Engine, app: FastAPI) -> None:
    strict = create_app(engine, settings=Settings(web_login_address_max_failures=5))
    with TestClient(strict, base_url="https://testserver", follow_redirects=False) as c:
        for name in ("u1", "u2", "u3", "u4", "u5"):
            assert post_login(c, name, "wrong password 123").status_code == 401
        assert post_login(c, "ann").status_code == 429
    with TestClient(strict, base_url="https://testserver", client=("198.51.100.7", 1), follow_redirects=False) as c:
        assert post_login(c, "ann").status_code == 303


def test_the_wait_ends(client: TestClient, engine: Engine) -> None:
    for _ in range(3):
        post_login(client, "ann", "wrong password 123")
    age_attempts(engine, 3)  # the failures happened 3 seconds ago: the 2 s wait is over
    assert post_login(client, "ann").status_code == 303


@pytest.mark.parametrize("trusted", [True, False])
def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(engine: Engine, app: FastAPI,
                                                                   trusted: bool) -> None:
    proxied = create_app(engine, settings=Settings(web_trusted_proxies="10.0.0.0/24" if trusted else ""))
    with TestClient(proxied, base_url="https://testserver", client=("10.0.0.5", 40000)) as proxy:
        post_login(proxy, "ann", "wrong password 123", headers={"X-Forwarded-For": "203.0.113.9"})
    with engine.connect() as conn:
        assert conn.execute(select(login_attempts.c.address)).scalar_one() == ("203.0.113.9" if trusted else "10.0.0.5")


def test_a_proxy_outside_the_trusted_ones_cannot_forge_the_address(engine: Engine, app: FastAPI) -> None:
    proxied = create_app(engine, settings=Settings(web_trusted_proxies="10.0.0.1"))
    with TestClient(proxied, base_url="https://testserver", client=("192.0.2.50", 40000)) as other:
        post_login(other, "ann", "wrong password 123", headers={"X-Forwarded-For": "203.0.113.9"})
    with engine.connect() as conn:
        assert conn.execute(select(login_attempts.c.address)).scalar_one() == "192.0.2.50"


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(web_trusted_proxies="10.0.0.1, proxy.example")


# --- sign-in CSRF ------------------------------------------------------------------------------------------------

def test_a_cross_site_sign_in_post_is_refused(client: TestClient, engine: Engine) -> None:
    # Another site's form can post the fields, but has neither the pre-session cookie nor its value.
    done = client.post("/login", data={"username": "ann", "password": PASSWORD},
                       headers={"Origin": "https://evil.example"})
    assert done.status_code == 403
    assert "did not come from this site" in done.text
    assert SESSION_COOKIE not in done.headers.get("set-cookie", "")
    assert client.get("/api/v1/me").status_code == 401
    assert outcomes(engine) == []  # refused before the password is even looked at


@pytest.mark.parametrize("field", ["", "a-guessed-value-of-the-right-length-43-chars"])
def test_a_sign_in_post_must_echo_the_forms_cookie(client: TestClient, field: str) -> None:
    client.get("/login")  # the browser has the cookie...
    done = client.post("/login", data={"username": "ann", "password": PASSWORD, "csrf_token": field})
    assert done.status_code == 403  # ...but the post does not carry its value
    assert 'value="ann"' in done.text  # the form comes back as typed


def test_the_sign_in_cookie_is_host_only_secure_httponly_and_strict(client: TestClient) -> None:
    form = client.get("/login")
    morsel = session_cookie(form.headers.get_list("set-cookie"), "__Host-cintel_login")["__Host-cintel_login"]
    assert (morsel["secure"], morsel["httponly"], morsel["samesite"].lower(), morsel["path"]) == (
        True, True, "strict", "/")
    assert not morsel["domain"]
    assert f'name="csrf_token" value="{morsel.value}"' in form.text


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
        post_login(c, "ann")
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
    sign_in(client, "ann")
    done = client.post("/api/v1/tokens", json={"label": "etl"}, headers={"X-CSRF-Token": token} if token else {})
    assert done.status_code == 403
    assert done.headers["content-type"] == "application/problem+json"
    assert done.json()["status"] == 403


def test_api_writes_with_a_cookie_and_the_csrf_header_succeed(client: TestClient) -> None:
    csrf = sign_in(client, "ann")
    done = client.post("/api/v1/tokens", json={"label": "etl"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201
    assert done.json()["username"] == "ann"
    assert done.json()["token"]


# --- bearer tokens -----------------------------------------------------------------------------------------------

def test_a_bearer_token_works_without_csrf(client: TestClient, engine: Engine) -> None:
    issued = create_api_token(engine, "ann", "automation")
    auth = {"Authorization": f"Bearer {issued.token}"}
    me = client.get("/api/v1/me", headers=auth).json()
    assert (me["authenticated_by"], me["token_id"]) == ("token", issued.token_id)
    done = client.delete(f"/api/v1/tokens/{issued.token_id}", headers=auth)
    assert done.status_code == 200
    assert done.json()["revoked_by"] == "ann"


def test_an_administrator_cannot_mint_a_token_for_a_person(client: TestClient, engine: Engine) -> None:
    csrf = sign_in(client, "ada")
    done = client.post("/api/v1/tokens", json={"username": "ann", "label": "act as ann"},
                       headers={"X-CSRF-Token": csrf})
    assert done.status_code == 403
    assert done.headers["content-type"] == "application/problem+json"
    assert "issued only by that person" in done.json()["detail"]
    assert list_api_tokens(engine) == []


def test_a_person_cannot_mint_a_token_for_another(client: TestClient, engine: Engine) -> None:
    csrf = sign_in(client, "ivan")
    done = client.post("/api/v1/tokens", json={"username": "ann", "label": "x"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 403
    assert list_api_tokens(engine) == []


def test_a_signed_in_person_issues_their_own_token_and_sees_who_issued_it_and_when(client: TestClient) -> None:
    csrf = sign_in(client, "ann")
    issued = client.post("/api/v1/tokens", json={"label": "nightly export"}, headers={"X-CSRF-Token": csrf}).json()
    assert (issued["username"], issued["issued_by"]) == ("ann", "ann")
    [listed] = client.get("/api/v1/tokens").json()
    assert {k: listed[k] for k in ("token_id", "username", "label", "issued_by", "revoked")} == {
        "token_id": issued["token_id"], "username": "ann", "label": "nightly export", "issued_by": "ann",
        "revoked": False}
    assert listed["created_at"] == issued["created_at"]
    assert "token" not in listed


def test_an_administrator_issues_a_service_accounts_token(client: TestClient, engine: Engine) -> None:
    add_service_account(engine, "etl-bot", ["analyst"])
    csrf = sign_in(client, "ada")
    done = client.post("/api/v1/tokens", json={"username": "etl-bot", "label": "nightly"},
                       headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201
    assert (done.json()["username"], done.json()["issued_by"]) == ("etl-bot", "ada")
    robot = client.get("/api/v1/me", headers={"Authorization": f"Bearer {done.json()['token']}"}).json()
    assert robot["username"] == "etl-bot"
    assert [t["issued_by"] for t in client.get("/api/v1/tokens", params={"username": "etl-bot"}).json()] == ["ada"]


def test_a_token_cannot_issue_tokens(client: TestClient, engine: Engine) -> None:
    issued = create_api_token(engine, "ann", "automation")
    done = client.post("/api/v1/tokens", json={"label": "another"}, headers={"Authorization": f"Bearer {issued.token}"})
    assert done.status_code == 403
    assert len(list_api_tokens(engine, "ann")) == 1


def test_a_person_sees_and_revokes_only_their_own_tokens(client: TestClient, engine: Engine) -> None:
    ivans = create_api_token(engine, "ivan", "handheld")
    anns = create_api_token(engine, "ann", "etl")
    auth = {"Authorization": f"Bearer {anns.token}"}
    assert [t["token_id"] for t in client.get("/api/v1/tokens", params={"username": "ivan"}, headers=auth).json()] \
        == [anns.token_id]
    refused = client.delete(f"/api/v1/tokens/{ivans.token_id}", headers=auth)
    assert refused.status_code == 404
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {ivans.token}"}).status_code == 200


def test_every_token_request_is_attributable_to_its_token(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(3))
    issued = create_api_token(engine, "ann", "etl")
    done = client.get("/api/v1/queue", params={"purpose": "nightly export"},
                      headers={"Authorization": f"Bearer {issued.token}"})
    assert done.status_code == 200
    with engine.connect() as conn:
        logged = conn.execute(select(access_log.c.username, access_log.c.token_id)).one()
        last_used = conn.execute(select(api_tokens.c.last_used_at)).scalar_one()
    assert tuple(logged) == ("ann", issued.token_id)
    assert last_used is not None
    csrf = sign_in(client, "ann")  # a session's views carry no token
    assert csrf
    client.get("/api/v1/queue")
    with engine.connect() as conn:
        assert conn.execute(select(access_log.c.token_id).order_by(access_log.c.id.desc())).first() == (None,)


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
               post_login(client, "ann", "wrong password 123")]
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


def test_sign_in_lands_on_the_dashboard_or_for_administrators_on_the_users_page(client: TestClient) -> None:
    analyst = post_login(client, "ann")
    assert analyst.headers["location"] == "/"
    client.cookies.clear()
    admin = post_login(client, "ada")
    assert admin.headers["location"] == "/admin/users"


def test_hsts_is_sent_exactly_when_cookies_are_secure(client: TestClient, engine: Engine, app: FastAPI) -> None:
    for done in (client.get("/health"), client.get("/login"), client.get("/no/such/page"), client.get("/")):
        assert done.headers["strict-transport-security"] == "max-age=31536000", done.request.url
    plain = create_app(engine, settings=Settings(web_secure_cookies=False))
    with TestClient(plain) as http_client:
        assert "strict-transport-security" not in http_client.get("/login").headers


# --- the API reference, per role ----------------------------------------------------------------------------------

def test_the_api_reference_lists_only_the_operations_the_role_may_call(client: TestClient, engine: Engine) -> None:
    add_user(engine, "olga", PASSWORD, ["targeting_officer"])
    seen: dict[str, set[str]] = {}
    for username in ("ann", "ada", "olga"):
        client.cookies.clear()
        sign_in(client, username)
        spec = client.get("/api/openapi.json").json()
        seen[username] = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops}
        html = client.get("/api/docs").text
        assert all(f"<code>{op}</code>" in html for op in seen[username]), username
    everyone = {"GET /api/v1/me", "POST /api/v1/tokens", "GET /api/v1/tokens", "DELETE /api/v1/tokens/{token_id}"}
    assert everyone <= seen["ann"] & seen["ada"] & seen["olga"]
    assert "GET /api/v1/queue" in seen["ann"] & seen["olga"]
    assert "GET /api/v1/queue" not in seen["ada"]  # refused to administrators, so not shown to them
    assert "POST /api/v1/queue/assign" in seen["olga"]
    assert "POST /api/v1/queue/assign" not in seen["ann"]


def test_every_operation_the_reference_shows_a_role_is_one_it_may_call(client: TestClient) -> None:
    sign_in(client, "ada")
    spec = client.get("/api/openapi.json").json()
    for path, ops in spec["paths"].items():
        if "get" in ops and "{" not in path and not any(p.get("required") for p in ops["get"].get("parameters", [])):
            assert client.get(path).status_code != 403, path
