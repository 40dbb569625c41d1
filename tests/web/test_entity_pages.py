"""The entity page and API: who may see it, what it shows, escaping, the access log, and decisions' checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from cintel.store.entity_tables import entities, entity_records
from cintel.store.web_tables import access_log
from tests.conftest import Workspace

Client = Callable[[str], tuple[TestClient, str]]


def ring_entity(workspace: Workspace) -> str:
    """A company of the demo's top ring (by label: ids are the store's)."""
    label = workspace.demo["entities"]["rings"][0]["companies"][0]
    with workspace.engine.connect() as conn:
        return str(conn.execute(select(entities.c.entity_id).where(entities.c.label == label)).scalars().first())


@pytest.fixture
def hostile_entity(workspace: Workspace) -> str:
    """An entity named like a script (added: the demo's data is left as it is)."""
    entity_id = "ENTXSS00001"
    with workspace.engine.begin() as conn:
        if conn.execute(select(entities.c.entity_id).where(entities.c.entity_id == entity_id)).first() is None:
            from datetime import UTC, date, datetime
            conn.execute(insert(entity_records).values(record_id="xss-record-1", entity_type="company",
                                                       name="<script>alert(1)</script>", country="NL",
                                                       first_seen=date(2025, 1, 1), entity_id=entity_id))
            conn.execute(insert(entities).values(entity_id=entity_id, entity_type="company",
                                                 label="<script>alert(1)</script>", records=1,
                                                 updated_at=datetime.now(UTC)))
    return entity_id


@pytest.mark.parametrize("role", ["analyst", "targeting_officer", "supervisor"])
def test_entity_readers_see_the_page(workspace: Workspace, workspace_client: Client, role: str) -> None:
    client, _ = workspace_client(role)
    entity_id = ring_entity(workspace)
    page = client.get(f"/entities/{entity_id}")
    assert page.status_code == 200
    for part in ("Identifiers", "Names seen", "Watch-list hits", "Declarations", "Source records", 'id="graph-canvas"',
                 'data-start="entity:' + entity_id + '"', 'name="origin_kind" value="entity"',
                 f'name="origin_ref" value="{entity_id}"'):
        assert part in page.text


@pytest.mark.parametrize("role", ["inspector", "administrator"])
def test_inspectors_and_administrators_are_refused(workspace: Workspace, workspace_client: Client, role: str) -> None:
    client, csrf = workspace_client(role)
    entity_id = ring_entity(workspace)
    assert client.get(f"/entities/{entity_id}").status_code == 403
    assert client.get(f"/api/v1/entities/{entity_id}").status_code == 403
    assert client.get(f"/api/v1/network/expand?node=entity:{entity_id}").status_code == 403
    refused = client.post(f"/entities/{entity_id}/merge", data={"csrf_token": csrf, "other": "ENT1", "reason": "same"})
    assert refused.status_code == 403


def test_only_analysts_and_supervisors_see_the_decision_forms(workspace: Workspace, workspace_client: Client) -> None:
    entity_id = ring_entity(workspace)
    officer, csrf = workspace_client("targeting_officer")
    assert "/merge" not in officer.get(f"/entities/{entity_id}").text
    assert officer.post(f"/entities/{entity_id}/merge",
                        data={"csrf_token": csrf, "other": "ENT1", "reason": "same co"}).status_code == 403
    analyst, _ = workspace_client("analyst")
    assert f'action="/entities/{entity_id}/merge"' in analyst.get(f"/entities/{entity_id}").text


def test_an_unknown_entity_is_404(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    assert client.get("/entities/ENT99999999").status_code == 404
    assert client.get("/api/v1/entities/ENT99999999").json()["status"] == 404
    assert client.get("/entities/bad%20id%3B").status_code == 422


def test_the_api_answers_the_page_data(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    entity_id = ring_entity(workspace)
    data = client.get(f"/api/v1/entities/{entity_id}").json()
    page = client.get(f"/entities/{entity_id}").text
    assert data["entity"]["entity_id"] == entity_id
    assert data["identifiers"]
    for i in data["identifiers"]:
        assert str(i["value"]).replace("'", "&#39;") in page
    for s in data["sources"]:
        assert s["source_key"] in page
        assert s["batch_id"] is not None
    assert data["timeline"]["total"] >= 0


def test_hostile_names_are_escaped(workspace_client: Client, hostile_entity: str) -> None:
    client, _ = workspace_client("analyst")
    page = client.get(f"/entities/{hostile_entity}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_every_view_is_logged_with_its_purpose(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("supervisor")
    entity_id = ring_entity(workspace)
    client.get(f"/entities/{entity_id}?purpose=audit sample 42")
    client.get(f"/api/v1/entities/{entity_id}?purpose=audit sample 43")
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(access_log).where(access_log.c.object_kind == "entity",
                                                     access_log.c.object_id == entity_id,
                                                     access_log.c.purpose.like("audit sample 4%"))
                            .order_by(access_log.c.id)).mappings().all()
    assert [(r["username"], r["purpose"], r["route"]) for r in rows][-2:] == [
        ("demo-supervisor", "audit sample 42", f"/entities/{entity_id}"),
        ("demo-supervisor", "audit sample 43", f"/api/v1/entities/{entity_id}")]


@pytest.mark.parametrize(("action", "fields"), [
    ("merge", {"other": "ENT00000001"}),
    ("not-same", {"other": "ENT00000001"}),
    ("split", {"record_ids": "r1"}),
])
def test_decisions_without_a_reason_are_refused(workspace: Workspace, workspace_client: Client, action: str,
                                                fields: dict[str, str]) -> None:
    client, csrf = workspace_client("analyst")
    entity_id = ring_entity(workspace)
    for reason in (None, "", "no"):
        data = {"csrf_token": csrf, **fields, **({"reason": reason} if reason is not None else {})}
        answer = client.post(f"/entities/{entity_id}/{action}", data=data)
        assert answer.status_code == 422, answer.text
        assert "reason" in answer.text
    api = client.post(f"/api/v1/entities/{entity_id}/{action}", headers={"X-CSRF-Token": csrf},
                      json={**({"record_ids": ["r1"]} if action == "split" else fields), "reason": "x" * 501})
    assert api.status_code == 422


def test_decisions_on_unknown_entities_are_404(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    entity_id = ring_entity(workspace)
    answer = client.post(f"/entities/{entity_id}/merge", data={"csrf_token": csrf, "other": "ENT99999999",
                                                               "reason": "same phone and director"})
    assert answer.status_code == 404
    answer = client.post(f"/entities/{entity_id}/hits/99999999/disposition",
                         data={"csrf_token": csrf, "disposition": "true_hit", "reason": "confirmed by register"})
    assert answer.status_code == 404
    bad = client.post(f"/entities/{entity_id}/hits/1/disposition",
                      data={"csrf_token": csrf, "disposition": "maybe", "reason": "confirmed by register"})
    assert bad.status_code == 422


def test_a_split_of_a_record_not_in_the_entity_is_refused_clearly(workspace: Workspace,
                                                                   workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    entity_id = ring_entity(workspace)
    answer = client.post(f"/entities/{entity_id}/split", data={"csrf_token": csrf, "record_ids": "not-a-record",
                                                               "reason": "different registration"})
    assert answer.status_code == 400
    assert "not in entity" in answer.text
