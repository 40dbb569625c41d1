"""The entity page and API: who may see it, what it shows, escaping, the access log, and decisions' checks."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from cintel.domain.permissions import Area, may_read
from cintel.domain.roles import Role
from cintel.store.entity_tables import (
    entities,
    entity_record_sources,
    entity_records,
    screening_dispositions,
    screening_hits,
)
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
                 'data-start="entity:' + entity_id + '"', f'action="/entities/{entity_id}/case"', "Suspected rings"):
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
    answer = client.post(f"/entities/{entity_id}/hits/disposition",
                         data={"csrf_token": csrf, "hit_ids": "99999999", "disposition": "true_hit",
                               "reason": "confirmed by register"})
    assert answer.status_code == 404
    api = client.post(f"/api/v1/entities/{entity_id}/hits/99999999/disposition", headers={"X-CSRF-Token": csrf},
                      json={"disposition": "true_hit", "reason": "confirmed by register"})
    assert api.status_code == 404


def test_a_split_of_a_record_not_in_the_entity_is_refused_clearly(workspace: Workspace,
                                                                   workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    entity_id = ring_entity(workspace)
    answer = client.post(f"/entities/{entity_id}/split", data={"csrf_token": csrf, "record_ids": "not-a-record",
                                                               "reason": "different registration"})
    assert answer.status_code == 400
    assert "not in entity" in answer.text


# --- watch-list hits: one per party and list entry, no default, several at once -------------------------------

LIST = "TEST-LIST"


@pytest.fixture
def listed(workspace: Workspace) -> dict[str, object]:
    """An entity of its own (the demo's hits are left as they are): three records that all hit entry T-1 of
    a list, and one that also hits T-2."""
    tag = uuid.uuid4().hex[:8]
    entity_id, records = f"ENTL{tag}", [f"{tag}{n:024d}" for n in range(3)]
    now = datetime.now(UTC)
    with workspace.engine.begin() as conn:
        conn.execute(insert(entity_records), [{"record_id": r, "entity_type": "company", "name": f"Listed {tag} BV",
                                                "country": "NL", "first_seen": date(2025, 1, 1), "entity_id": entity_id}
                                               for r in records])
        conn.execute(insert(entities).values(entity_id=entity_id, entity_type="company", label=f"Listed {tag} BV",
                                             records=3, updated_at=now))
        conn.execute(insert(screening_hits), [
            {"record_id": r, "list_name": LIST, "entry_id": entry, "list_version": "1", "score": score,
             "matched_name": f"Listed {tag} B.V.", "explanation": "{}", "screened_at": now, "open": True}
            for r, entry, score in [(records[0], "T-1", 0.91), (records[1], "T-1", 0.97), (records[2], "T-1", 0.88),
                                    (records[2], "T-2", 0.75)]])
    return {"entity_id": entity_id, "records": records}


def hits_of(workspace: Workspace, entity_id: str) -> list[dict[str, object]]:
    with workspace.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(screening_hits).join(entity_records, entity_records.c.record_id == screening_hits.c.record_id)
            .where(entity_records.c.entity_id == entity_id).order_by(screening_hits.c.id)).mappings()]


def test_a_party_has_one_hit_per_list_entry_however_many_of_its_records_match(
        workspace: Workspace, workspace_client: Client, listed: dict[str, object]) -> None:
    client, _ = workspace_client("analyst")
    entity_id = str(listed["entity_id"])
    hits = client.get(f"/api/v1/entities/{entity_id}").json()["hits"]
    assert [(h["entry_id"], h["records"], h["score"]) for h in hits] == [("T-1", 3, 0.97), ("T-2", 1, 0.75)]
    page = client.get(f"/entities/{entity_id}").text
    assert page.count("<td>T-1</td>") == page.count("<td>T-2</td>") == 1
    # the demo's own data: a listed party resolved from many records shows each entry once
    with workspace.engine.connect() as conn:
        busiest = conn.execute(
            select(entity_records.c.entity_id).join(screening_hits, screening_hits.c.record_id
                                                    == entity_records.c.record_id)
            .group_by(entity_records.c.entity_id, screening_hits.c.entry_id)
            .order_by(func.count().desc()).limit(1)).scalar_one()
    entries = [(h["list_name"], h["entry_id"]) for h in client.get(f"/api/v1/entities/{busiest}").json()["hits"]]
    assert entries
    assert len(entries) == len(set(entries))


def test_the_disposition_form_chooses_nothing_for_the_analyst(workspace_client: Client,
                                                             listed: dict[str, object]) -> None:
    client, _ = workspace_client("analyst")
    page = client.get(f"/entities/{listed['entity_id']}").text
    form = page[page.index('id="hits-form"'):]
    form = form[:form.index("</form>")]
    assert "<select" not in form
    assert len(re.findall(r'type="radio" name="disposition"', form)) == 2
    assert " checked" not in form  # no disposition and no hit chosen in advance
    assert len(re.findall(r'type="checkbox" id="hit-\d+" name="hit_ids"', form)) == 2


def test_several_hits_take_one_disposition_and_one_reason(workspace: Workspace, workspace_client: Client,
                                                          listed: dict[str, object]) -> None:
    client, csrf = workspace_client("analyst")
    entity_id = str(listed["entity_id"])
    chosen = [h["id"] for h in client.get(f"/api/v1/entities/{entity_id}").json()["hits"]]
    answer = client.post(f"/entities/{entity_id}/hits/disposition",
                         data={"csrf_token": csrf, "hit_ids": [str(i) for i in chosen],
                               "disposition": "false_positive", "reason": "another company, same name"})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/entities/{entity_id}#hits"
    assert not any(h["open"] for h in hits_of(workspace, entity_id))  # all four record hits closed
    with workspace.engine.connect() as conn:
        verdicts = conn.execute(select(screening_dispositions.c.record_id, screening_dispositions.c.entry_id,
                                       screening_dispositions.c.disposition, screening_dispositions.c.reason,
                                       screening_dispositions.c.decided_by)
                                .where(screening_dispositions.c.list_name == LIST,
                                       screening_dispositions.c.record_id.in_(listed["records"]))).all()
    records = list(listed["records"])  # type: ignore[call-overload]
    assert sorted((r, e) for r, e, *_ in verdicts) == sorted(
        [(records[0], "T-1"), (records[1], "T-1"), (records[2], "T-1"), (records[2], "T-2")])
    assert {tuple(v[2:]) for v in verdicts} == {("false_positive", "another company, same name", "demo-analyst")}
    page = client.get(f"/entities/{entity_id}").text
    assert page.count("<strong>false positive</strong> by demo-analyst") == 2


def test_a_disposition_with_errors_comes_back_as_typed_with_the_errors_beside_the_fields(
        workspace: Workspace, workspace_client: Client, listed: dict[str, object]) -> None:
    client, csrf = workspace_client("analyst")
    entity_id = str(listed["entity_id"])
    first = client.get(f"/api/v1/entities/{entity_id}").json()["hits"][0]["id"]
    answer = client.post(f"/entities/{entity_id}/hits/disposition",
                         data={"csrf_token": csrf, "hit_ids": [str(first)], "reason": "no"})
    assert answer.status_code == 422
    page = answer.text
    assert f'id="hit-{first}" name="hit_ids" value="{first}" checked' in page  # the choice kept
    assert re.search(r'id="hits-reason"[^>]*value="no"[^>]*aria-invalid="true"', page, re.S)
    assert 'id="hits-disposition-error"' in page
    assert "choose true hit or false positive" in page
    assert 'id="hits-reason-error"' in page
    assert "3 to 500 characters" in page
    assert all(h["open"] for h in hits_of(workspace, entity_id))  # nothing recorded
    nothing = client.post(f"/entities/{entity_id}/hits/disposition",
                          data={"csrf_token": csrf, "disposition": "true_hit", "reason": "confirmed by register"})
    assert nothing.status_code == 422
    assert 'id="hits-hit_ids-error"' in nothing.text
    assert "choose at least one hit" in nothing.text
    assert 'value="confirmed by register"' in nothing.text
    assert re.search(r'value="true_hit" required checked', nothing.text)


def test_a_hit_of_another_entity_cannot_be_disposed_from_this_one(workspace: Workspace, workspace_client: Client,
                                                                 listed: dict[str, object]) -> None:
    client, csrf = workspace_client("analyst")
    other = ring_entity(workspace)
    first = client.get(f"/api/v1/entities/{listed['entity_id']}").json()["hits"][0]["id"]
    answer = client.post(f"/entities/{other}/hits/disposition",
                         data={"csrf_token": csrf, "hit_ids": [str(first)], "disposition": "true_hit",
                               "reason": "confirmed by register"})
    assert answer.status_code == 404
    assert all(h["open"] for h in hits_of(workspace, str(listed["entity_id"])))


def test_the_api_disposes_of_several_hits_at_once(workspace: Workspace, workspace_client: Client,
                                                  listed: dict[str, object]) -> None:
    client, csrf = workspace_client("supervisor")
    entity_id = str(listed["entity_id"])
    chosen = [h["id"] for h in client.get(f"/api/v1/entities/{entity_id}").json()["hits"]]
    answer = client.post(f"/api/v1/entities/{entity_id}/hits/disposition", headers={"X-CSRF-Token": csrf},
                         json={"hit_ids": chosen, "disposition": "true_hit", "reason": "register and address agree"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["disposed"] == 2
    hits = client.get(f"/api/v1/entities/{entity_id}").json()["hits"]
    assert [(h["disposition"], h["decided_by"], h["open"]) for h in hits] == [
        ("true_hit", "demo-supervisor", False)] * 2
    refused = client.post(f"/api/v1/entities/{entity_id}/hits/disposition", headers={"X-CSRF-Token": csrf},
                          json={"hit_ids": [], "disposition": "true_hit", "reason": "register and address agree"})
    assert refused.status_code == 422


# --- rings, the timeline, the case form, the permission rule -----------------------------------------------------

def test_the_entity_page_says_which_ring_the_entity_is_in(workspace: Workspace, workspace_client: Client,
                                                          hostile_entity: str) -> None:
    client, _ = workspace_client("analyst")
    entity_id = ring_entity(workspace)
    data = client.get(f"/api/v1/entities/{entity_id}").json()
    summary = workspace.demo["entities"]["rings"][0]["summary"]
    assert [(r["rank"], r["summary"]) for r in data["rings"]][:1] == [(1, summary)]
    page = client.get(f"/entities/{entity_id}").text
    assert "Member of suspected ring 1" in page
    assert summary.replace("'", "&#39;") in page
    assert f'href="/network?top=10#{data["rings"][0]["ring_id"]}"' in page
    assert "Not a member of any suspected ring" in client.get(f"/entities/{hostile_entity}").text


def test_the_timeline_reaches_the_script_as_json_in_a_script_element(workspace: Workspace,
                                                                     workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    with workspace.engine.connect() as conn:
        entity_id = conn.execute(
            select(entity_records.c.entity_id)
            .join(entity_record_sources, entity_record_sources.c.record_id == entity_records.c.record_id)
            .where(entity_record_sources.c.source_kind == "declarations", entity_records.c.entity_id.is_not(None))
            .group_by(entity_records.c.entity_id).order_by(func.count().desc()).limit(1)).scalar_one()
    weeks = client.get(f"/api/v1/entities/{entity_id}").json()["timeline"]["weeks"]
    assert len(weeks) > 1
    page = client.get(f"/entities/{entity_id}").text
    assert "data-weeks" not in page  # JSON in a double-quoted attribute was cut at its first quote
    match = re.search(r'<script type="application/json" id="timeline-data">(.*?)</script>', page, re.S)
    assert match is not None
    assert json.loads(match.group(1)) == weeks


def test_a_case_title_refused_comes_back_typed_with_the_error_beside_it(workspace: Workspace,
                                                                       workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    entity_id = ring_entity(workspace)
    refused = client.post(f"/entities/{entity_id}/case", data={"csrf_token": csrf, "title": "  ab  "})
    assert refused.status_code == 422
    assert re.search(r'id="case-title"[^>]*value="  ab  "[^>]*aria-invalid="true"', refused.text, re.S)
    assert 'id="case-title-error"' in refused.text
    assert "at least 3 characters" in unescape(refused.text)
    opened = client.post(f"/entities/{entity_id}/case", data={"csrf_token": csrf, "title": "Shared phone lead"})
    assert opened.status_code == 303
    assert re.fullmatch(r"/cases/\d+", opened.headers["location"])


@pytest.mark.parametrize("role", Role.codes())
def test_the_entity_pages_admit_exactly_the_roles_the_permission_rule_names(workspace: Workspace,
                                                                            workspace_client: Client,
                                                                            role: str) -> None:
    client, _ = workspace_client(role)
    entity_id = ring_entity(workspace)
    allowed = may_read({role}, Area.ENTITIES)
    for path in (f"/entities/{entity_id}", f"/api/v1/entities/{entity_id}"):
        assert client.get(path).status_code == (200 if allowed else 403)
