"""Bulk assignment of queued declarations to inspectors: who may, what is refused and why, and what the
queue shows afterwards."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.store.case_tables import inspection_assignments
from cintel.web.accounts import add_user, disable_user
from tests.web.conftest import HOSTILE, PASSWORD, ranked, sign_in, write_run


@pytest.fixture
def people(engine: Engine, client: TestClient) -> None:
    """Besides ann (analyst), ada (administrator) and ivan (inspector, hostile display name): an officer,
    a supervisor, a second inspector and a disabled one."""
    add_user(engine, "tom", PASSWORD, ["targeting_officer"], "Tom Targeting")
    add_user(engine, "sue", PASSWORD, ["supervisor"], "Sue Supervisor")
    add_user(engine, "ines", PASSWORD, ["inspector"], "Ines Inspector")
    add_user(engine, "olga", PASSWORD, ["inspector"], "Olga Gone")
    disable_user(engine, "olga")


def assignments(engine: Engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        return {r.declaration_id: (r.inspector, r.assigned_by) for r in conn.execute(select(inspection_assignments))}


def form(csrf: str, run_id: int, ids: list[str], inspector: str, **extra: str) -> dict[str, object]:
    return {"csrf_token": csrf, "run_id": run_id, "declaration_id": ids, "inspector": inspector, **extra}


@pytest.mark.usefixtures("people")
def test_an_officer_assigns_ticked_rows_and_returns_to_the_same_filters(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, ranked(6))
    csrf = sign_in(client, "tom")
    done = client.post("/queue/assign", data=form(csrf, run_id, ["26NL0000000003", "26NL0000000006"], "ines",
                                                  channel="red", sort="-probability", size="20"))
    assert done.status_code == 303
    location = done.headers["location"]
    assert location.startswith("/queue?")
    for part in ("channel=red", "sort=-probability", "size=20", "assigned=2"):
        assert part in location
    assert assignments(engine) == {"26NL0000000003": ("ines", "tom"), "26NL0000000006": ("ines", "tom")}
    page = client.get(location).text
    assert "2 declarations assigned." in page
    assert page.count("<td>ines</td>") == 2


@pytest.mark.usefixtures("people")
def test_reassigning_replaces_the_inspector(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, ranked(3))
    csrf = sign_in(client, "sue")
    client.post("/queue/assign", data=form(csrf, run_id, ["26NL0000000001"], "ines"))
    client.post("/queue/assign", data=form(csrf, run_id, ["26NL0000000001", "26NL0000000002"], "ivan"))
    assert assignments(engine) == {"26NL0000000001": ("ivan", "sue"), "26NL0000000002": ("ivan", "sue")}


@pytest.mark.usefixtures("people")
def test_the_api_assigns_with_json(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, ranked(3))
    csrf = sign_in(client, "tom")
    done = client.post("/api/v1/queue/assign", headers={"X-CSRF-Token": csrf},
                       json={"run_id": run_id, "declaration_ids": ["26NL0000000002"], "inspector": "ines"})
    assert done.status_code == 200, done.text
    assert done.json() == {"run_id": run_id, "inspector": "ines", "assigned": 1}
    assert assignments(engine) == {"26NL0000000002": ("ines", "tom")}


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("user", ["ann", "ivan", "ada"])
def test_analysts_inspectors_and_administrators_may_not_assign(client: TestClient, engine: Engine, user: str) -> None:
    run_id = write_run(engine, ranked(2))
    csrf = sign_in(client, user)
    assert client.post("/queue/assign", data=form(csrf, run_id, ["26NL0000000001"], "ines")).status_code == 403
    api = client.post("/api/v1/queue/assign", headers={"X-CSRF-Token": csrf},
                      json={"run_id": run_id, "declaration_ids": ["26NL0000000001"], "inspector": "ines"})
    assert api.status_code == 403
    assert assignments(engine) == {}


@pytest.mark.usefixtures("people")
def test_an_analyst_sees_no_assignment_controls(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(2))
    sign_in(client, "ann")
    page = client.get("/queue").text
    assert 'action="/queue/assign"' not in page
    assert 'type="checkbox"' not in page


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(("ids", "inspector", "message"), [
    (["26NL0000000001", "26NL0000009999"], "ines", "1 declaration(s) are not in run"),
    (["26NL0000000001"], "nobody", "'nobody' is not an enabled user with the inspector role"),
    (["26NL0000000001"], "ann", "'ann' is not an enabled user with the inspector role"),
    (["26NL0000000001"], "olga", "'olga' is not an enabled user with the inspector role"),
    ([f"26NL{i:010d}" for i in range(501)], "ines", "at most 500 declarations can be assigned at once, got 501"),
])
def test_bad_assignments_are_refused_with_a_clear_message(client: TestClient, engine: Engine, ids: list[str],
                                                          inspector: str, message: str) -> None:
    run_id = write_run(engine, ranked(3))
    csrf = sign_in(client, "tom")
    page = client.post("/queue/assign", data=form(csrf, run_id, ids, inspector))
    assert page.status_code == 400
    assert message in html.unescape(page.text)
    api = client.post("/api/v1/queue/assign", headers={"X-CSRF-Token": csrf},
                      json={"run_id": run_id, "declaration_ids": ids, "inspector": inspector})
    assert api.status_code == 400
    assert message in api.text
    assert assignments(engine) == {}


@pytest.mark.usefixtures("people")
def test_declarations_of_an_older_run_are_refused_in_the_latest(client: TestClient, engine: Engine) -> None:
    old = write_run(engine, [{"declaration_id": "26NL0000000777", "rank": 1, "priority": 1.0, "channel": "red"}])
    latest = write_run(engine, ranked(2))
    csrf = sign_in(client, "tom")
    refused = client.post("/queue/assign", data=form(csrf, latest, ["26NL0000000777"], "ines"))
    assert refused.status_code == 400
    assert f"not in run {latest}" in refused.text
    assert client.post("/queue/assign", data=form(csrf, 999_999, ["26NL0000000001"], "ines")).status_code == 400
    assert client.post("/queue/assign", data=form(csrf, old, ["26NL0000000777"], "ines")).status_code == 303


@pytest.mark.usefixtures("people")
def test_malformed_assignment_input_is_refused_not_crashed(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, ranked(2))
    csrf = sign_in(client, "tom")
    assert client.post("/queue/assign", data={"csrf_token": csrf, "run_id": run_id, "inspector": "ines"}
                       ).status_code == 422  # no declaration ticked
    assert client.post("/queue/assign", data=form(csrf, run_id, ["26NL0000000001"], "ines", sort="rank;--")
                       ).status_code == 422
    assert client.post("/queue/assign", data=form(csrf, "x", ["26NL0000000001"], "ines")).status_code == 422  # type: ignore[arg-type]
    assert client.post("/queue/assign", data=form(csrf, run_id, ["x" * 65], "ines")).status_code == 400
    assert client.post("/queue/assign", data=form("wrong", run_id, ["26NL0000000001"], "ines")).status_code == 403
    assert assignments(engine) == {}


@pytest.mark.usefixtures("people")
def test_an_inspector_sees_their_assignments(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, ranked(5))
    csrf = sign_in(client, "tom")
    client.post("/queue/assign", data=form(csrf, run_id, ["26NL0000000002", "26NL0000000004"], "ines"))
    client.post("/queue/assign", data=form(csrf, run_id, ["26NL0000000005"], "ivan"))
    client.post("/logout", data={"csrf_token": csrf})
    sign_in(client, "ines")
    mine = client.get("/api/v1/queue?assigned_to=me").json()
    assert [r["declaration_id"] for r in mine["items"]] == ["26NL0000000002", "26NL0000000004"]
    assert mine["total"] == 2
    page = client.get("/queue?assigned_to=me").text
    assert re.findall(r'href="/declarations/(26NL\d{10})"', page) == ["26NL0000000002", "26NL0000000004"]
    assert 'href="/queue?assigned_to=me"' in page  # the "My assignments" link
    assert client.get("/queue?assigned_to=ME!").status_code == 422


@pytest.mark.usefixtures("people")
def test_the_inspector_select_escapes_hostile_display_names(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(2))
    sign_in(client, "tom")
    page = client.get("/queue").text
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (ivan)" in page
    options = re.findall(r'<option value="([a-z]+)">', page)
    assert {"ines", "ivan"} <= set(options)
    assert "olga" not in options  # disabled
    assert "ann" not in options  # not an inspector
