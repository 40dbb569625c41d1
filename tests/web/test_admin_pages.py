"""The administrator's users page: people and service accounts, roles, disabling, tokens with who issued them
and when, revoking; forms that come back as typed with the error beside the field; CSRF on every form."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.domain.roles import Role, UserKind
from cintel.store.web_tables import users
from cintel.web.accounts import (
    LoginFailed,
    add_service_account,
    create_api_token,
    get_user,
    list_api_tokens,
    user_for_token,
    verify_login,
)
from tests.web.conftest import PASSWORD, post_login, sign_in


@pytest.fixture
def admin(client: TestClient) -> tuple[TestClient, str]:
    """The client signed in as the administrator ada, and its CSRF token."""
    return client, sign_in(client, "ada")


def test_an_administrator_lands_on_the_users_page(client: TestClient) -> None:
    landed = post_login(client, "ada")
    assert landed.headers["location"] == "/admin/users"
    page = client.get("/admin/users")
    assert page.status_code == 200
    for name in ("ann", "ada", "ivan"):
        assert f'href="/admin/users/{name}"' in page.text
    assert '<a href="/admin/users">Users</a>' in page.text  # in the navigation


@pytest.mark.parametrize("username", ["ann", "ivan"])
def test_only_administrators_open_the_users_pages(client: TestClient, username: str) -> None:
    csrf = sign_in(client, username)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/ann").status_code == 403
    refused = client.post("/admin/users", data={"csrf_token": csrf, "kind": "person", "username": "mallory",
                                                "password": PASSWORD, "role": "administrator"})
    assert refused.status_code == 403
    assert '<a href="/admin/users">Users</a>' not in client.get("/").text


def test_an_administrator_creates_a_person_who_can_sign_in(admin: tuple[TestClient, str], engine: Engine) -> None:
    client, csrf = admin
    done = client.post("/admin/users", data={"csrf_token": csrf, "kind": "person", "username": "Pia",
                                             "display_name": "Pia Inspector", "password": PASSWORD,
                                             "role": ["inspector", "analyst"]})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/users/pia"
    pia = get_user(engine, "pia")
    assert (pia.kind, pia.roles, pia.created_by) == (UserKind.PERSON, {Role.INSPECTOR, Role.ANALYST}, "ada")
    assert verify_login(engine, "pia", PASSWORD, "10.0.0.1").username == "pia"
    page = client.get("/admin/users/pia").text
    assert "Pia Inspector" in page
    assert "by ada" in page


def test_an_administrator_creates_a_service_account_that_cannot_sign_in(admin: tuple[TestClient, str],
                                                                        engine: Engine) -> None:
    client, csrf = admin
    done = client.post("/admin/users", data={"csrf_token": csrf, "kind": "service", "username": "etl-bot",
                                             "display_name": "Nightly export", "role": "analyst"})
    assert done.status_code == 303
    robot = get_user(engine, "etl-bot")
    assert (robot.kind, robot.created_by) == (UserKind.SERVICE, "ada")
    with engine.connect() as conn:
        assert conn.execute(select(users.c.password_hash).where(users.c.username == "etl-bot")).scalar_one() is None
    with pytest.raises(LoginFailed):
        verify_login(engine, "etl-bot", "", "10.0.0.1")
    assert "service account" in client.get("/admin/users").text


def test_a_form_with_a_mistake_comes_back_as_typed_with_the_error_beside_the_field(
        admin: tuple[TestClient, str], engine: Engine) -> None:
    client, csrf = admin
    done = client.post("/admin/users", data={"csrf_token": csrf, "kind": "service", "username": "etl bot",
                                             "display_name": "Nightly export", "role": ["analyst", "supervisor"]})
    assert done.status_code == 400
    html = done.text
    assert '<form method="post" action="/admin/users"' in html  # the page, not a bare error
    assert re.search(r'id="username"[^>]*value="etl bot"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="username-error"[^>]*>username &#39;etl bot&#39; is not valid', html)
    assert 'value="Nightly export"' in html
    assert re.search(r'id="kind-service"[^>]*checked', html)
    assert re.search(r'value="analyst" checked', html)
    assert re.search(r'value="supervisor" checked', html)
    assert not re.search(r'value="inspector" checked', html)
    assert usernames(engine) == ["ada", "ann", "ivan"]


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"kind": "person", "username": "pia", "password": "short", "role": "inspector"}, "password", "at least 12"),
    ({"kind": "person", "username": "pia", "password": PASSWORD}, "roles", "at least one role"),
    ({"kind": "person", "username": "ANN", "password": PASSWORD, "role": "analyst"}, "username", "already exists"),
    ({"kind": "service", "username": "bot", "password": PASSWORD, "role": "analyst"}, "password", "no password"),
    ({"kind": "robot", "username": "bot", "role": "analyst"}, "kind", "unknown kind"),
])
def test_each_mistake_is_shown_beside_its_field(admin: tuple[TestClient, str], form: dict[str, str], field: str,
                                                message: str) -> None:
    client, csrf = admin
    done = client.post("/admin/users", data={"csrf_token": csrf, **form})
    assert done.status_code == 400
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{message}', done.text), done.text
    assert PASSWORD not in done.text  # a password typed is never sent back


def test_a_service_accounts_token_is_issued_by_the_administrator_and_shown_once(admin: tuple[TestClient, str],
                                                                                engine: Engine) -> None:
    client, csrf = admin
    add_service_account(engine, "etl-bot", ["analyst"])
    done = client.post("/admin/users/etl-bot/tokens", data={"csrf_token": csrf, "label": "nightly export"})
    assert done.status_code == 201
    shown = re.search(r'<code id="issued-token">([^<]+)</code>', done.text)
    assert shown is not None
    robot = user_for_token(engine, shown.group(1))
    assert robot is not None
    assert robot.username == "etl-bot"
    [token] = list_api_tokens(engine, "etl-bot")
    assert token.issued_by == "ada"
    again = client.get("/admin/users/etl-bot").text
    assert shown.group(1) not in again  # shown once
    assert "nightly export" in again
    assert "ada" in again
    assert token.created_at.strftime("%Y-%m-%d %H:%M") in again


def test_no_token_is_issued_on_the_users_page_for_a_person(admin: tuple[TestClient, str], engine: Engine) -> None:
    client, csrf = admin
    assert "Issue token" not in client.get("/admin/users/ann").text
    done = client.post("/admin/users/ann/tokens", data={"csrf_token": csrf, "label": "act as ann"})
    assert done.status_code == 400
    assert re.search(r'id="token-error"[^>]*>[^<]*issued only by that person', done.text)
    assert list_api_tokens(engine) == []


def test_an_empty_token_label_is_shown_beside_the_field(admin: tuple[TestClient, str], engine: Engine) -> None:
    client, csrf = admin
    add_service_account(engine, "etl-bot", ["analyst"])
    done = client.post("/admin/users/etl-bot/tokens", data={"csrf_token": csrf, "label": "  "})
    assert done.status_code == 400
    assert re.search(r'id="label-error"[^>]*>a token needs a label', done.text)


def test_tokens_show_issuer_and_last_use_and_are_revoked_by_the_administrator(admin: tuple[TestClient, str],
                                                                             engine: Engine) -> None:
    client, csrf = admin
    issued = create_api_token(engine, "ann", "laptop")
    user_for_token(engine, issued.token)
    page = client.get("/admin/users/ann").text
    row = re.search(rf"<tr>\s*<td>laptop</td>\s*<td><code>{issued.token_id}</code></td>\s*<td>ann</td>(.*?)</tr>",
                    page, re.S)
    assert row is not None
    assert "never" not in row.group(1)
    done = client.post(f"/admin/tokens/{issued.token_id}/revoke", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/users/ann?done=revoked"
    assert user_for_token(engine, issued.token) is None
    assert list_api_tokens(engine, "ann")[0].revoked_by == "ada"
    assert "by ada" in client.get(done.headers["location"]).text
    assert client.post("/admin/tokens/0123456789abcdef/revoke", data={"csrf_token": csrf}).status_code == 404


def test_roles_are_changed_and_an_administrator_keeps_their_own(admin: tuple[TestClient, str], engine: Engine) -> None:
    client, csrf = admin
    done = client.post("/admin/users/ann/roles", data={"csrf_token": csrf, "role": ["analyst", "supervisor"]})
    assert done.status_code == 303
    assert get_user(engine, "ann").roles == {Role.ANALYST, Role.SUPERVISOR}
    assert "Roles saved." in client.get(done.headers["location"]).text
    refused = client.post("/admin/users/ada/roles", data={"csrf_token": csrf, "role": "supervisor"})
    assert refused.status_code == 400
    assert re.search(r'id="roles-error"[^>]*>you cannot remove your own administrator role', refused.text)
    assert re.search(r'value="supervisor" checked', refused.text)  # as typed
    assert get_user(engine, "ada").roles == {Role.ADMINISTRATOR}


def test_an_account_is_disabled_and_enabled(admin: tuple[TestClient, str], engine: Engine) -> None:
    client, csrf = admin
    assert client.post("/admin/users/ann/disable", data={"csrf_token": csrf}).status_code == 303
    assert get_user(engine, "ann").disabled
    with pytest.raises(LoginFailed):
        verify_login(engine, "ann", PASSWORD, "10.0.0.1")
    assert client.post("/admin/users/ann/enable", data={"csrf_token": csrf}).status_code == 303
    assert not get_user(engine, "ann").disabled
    refused = client.post("/admin/users/ada/disable", data={"csrf_token": csrf})
    assert refused.status_code == 400
    assert "cannot disable your own account" in refused.text
    assert not get_user(engine, "ada").disabled


def test_an_unknown_account_is_not_found(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    assert client.get("/admin/users/nobody").status_code == 404


@pytest.mark.parametrize(("path", "data"), [
    ("/admin/users", {"kind": "person", "username": "mallory", "password": PASSWORD, "role": "administrator"}),
    ("/admin/users/ann/roles", {"role": "administrator"}),
    ("/admin/users/ann/disable", {}),
    ("/admin/users/ann/enable", {}),
    ("/admin/users/ann/tokens", {"label": "x"}),
])
def test_every_users_form_needs_the_csrf_token(admin: tuple[TestClient, str], engine: Engine, path: str,
                                               data: dict[str, str]) -> None:
    client, _ = admin
    assert client.post(path, data=data).status_code == 403
    assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
    assert usernames(engine) == ["ada", "ann", "ivan"]
    assert get_user(engine, "ann").roles == {Role.ANALYST}
    assert not get_user(engine, "ann").disabled


def test_every_form_on_the_users_pages_carries_the_csrf_token(admin: tuple[TestClient, str], engine: Engine) -> None:
    client, csrf = admin
    add_service_account(engine, "etl-bot", ["analyst"])
    create_api_token(engine, "ann", "laptop")
    for path in ("/admin/users", "/admin/users/ann", "/admin/users/etl-bot"):
        html = client.get(path).text
        forms = re.findall(r'<form method="post".*?</form>', html, re.S)
        assert forms, path
        for form in forms:
            assert f'name="csrf_token" value="{csrf}"' in form, (path, form)


def usernames(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(users.c.username).order_by(users.c.username)).scalars())
