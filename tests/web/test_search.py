"""Search: one box over declarations, entities, containers and vessels, grouped, escaped and logged."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cintel.store.entity_tables import entities, entity_records
from cintel.store.tables import declaration_containers, declarations
from cintel.store.web_tables import access_log
from tests.conftest import Workspace

Client = Callable[[str], tuple[TestClient, str]]


def some_company(workspace: Workspace) -> tuple[str, str]:
    label = workspace.demo["entities"]["rings"][0]["companies"][0]
    with workspace.engine.connect() as conn:
        entity_id = conn.execute(select(entities.c.entity_id).where(entities.c.label == label)).scalars().first()
    return str(entity_id), label


def test_an_empty_query_shows_the_form_only(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    page = client.get("/search")
    assert page.status_code == 200
    assert 'id="q"' in page.text
    assert "Declarations (" not in page.text


def test_a_declaration_is_found_by_id_and_prefix(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    with workspace.engine.connect() as conn:
        declaration_id = conn.execute(select(declarations.c.declaration_id).limit(1)).scalar_one()
    exact = client.get("/api/v1/search", params={"q": declaration_id, "kind": "declaration"}).json()
    assert exact["results"]["declaration"][0]["id"] == declaration_id
    assert exact["results"]["declaration"][0]["href"] == f"/declarations/{declaration_id}"
    prefix = client.get("/api/v1/search", params={"q": declaration_id[:-2].lower()}).json()["results"]["declaration"]
    assert declaration_id in [r["id"] for r in prefix]
    assert len(prefix) <= 20


def test_an_entity_is_found_by_a_misspelt_name(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    entity_id, label = some_company(workspace)
    typo = label.upper().replace("A", "Á", 1)
    found = client.get("/api/v1/search", params={"q": typo}).json()["results"]["entity"]
    assert entity_id in [r["id"] for r in found[:5]]
    page = client.get("/search", params={"q": typo}).text
    assert f'href="/entities/{entity_id}"' in page


def test_an_entity_is_found_by_an_identifier(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    with workspace.engine.connect() as conn:
        entity_id, tax_id = conn.execute(select(entity_records.c.entity_id, entity_records.c.tax_id)
                                         .where(entity_records.c.tax_id.is_not(None),
                                                entity_records.c.entity_type == "company").limit(1)).one()
    spaced = " ".join(tax_id[i:i + 3] for i in range(0, len(tax_id), 3)).lower()
    found = client.get("/api/v1/search", params={"q": spaced, "kind": "entity"}).json()["results"]["entity"]
    assert entity_id in [r["id"] for r in found]


def test_a_container_is_found_by_its_number(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    with workspace.engine.connect() as conn:
        number = conn.execute(select(declaration_containers.c.container_number).limit(1)).scalar_one()
    found = client.get("/api/v1/search", params={"q": f"{number[:4]} {number[4:]}"}).json()["results"]["container"]
    assert [r["id"] for r in found] == [number]


def test_results_are_grouped_and_capped_per_kind(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    body = client.get("/api/v1/search", params={"q": "trading"}).json()
    assert set(body["results"]) == {"declaration", "entity", "container", "vessel"}
    assert all(len(rows) <= 20 for rows in body["results"].values())
    only = client.get("/api/v1/search", params={"q": "trading", "kind": "entity"}).json()
    assert set(only["results"]) == {"entity"}
    assert client.get("/search", params={"q": "trading", "kind": ""}).status_code == 200  # the form's "everything"


def test_a_role_that_may_not_read_entities_is_not_told_whom_a_name_or_identifier_belongs_to(
        workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("inspector")
    entity_id, label = some_company(workspace)
    with workspace.engine.connect() as conn:
        iban = conn.execute(select(entity_records.c.iban).where(entity_records.c.entity_id == entity_id,
                                                                entity_records.c.iban.is_not(None))).scalars().first()
    assert iban
    for q in (label, iban):
        page = client.get("/search", params={"q": q})
        assert page.status_code == 200
        results = page.text[page.text.index('class="search-results"'):]  # the query itself is echoed above
        assert label.replace("'", "&#39;") not in results
        assert entity_id not in page.text
        if q == iban:  # the finding: an IBAN search named the company
            assert label.replace("'", "&#39;") not in page.text
        assert "Not searched for your role: entities, vessels." in results
        body = client.get("/api/v1/search", params={"q": q}).json()
        assert set(body["results"]) == {"declaration", "container"}
        assert label not in json.dumps(body["results"])
    # the analyst asking the same is told
    analyst, _ = workspace_client("analyst")
    found = analyst.get("/api/v1/search", params={"q": iban}).json()["results"]["entity"]
    assert [r["id"] for r in found] == [entity_id]
    assert found[0]["label"] == label


def test_a_container_links_to_the_network_only_for_those_who_may_read_it(workspace: Workspace,
                                                                         workspace_client: Client) -> None:
    with workspace.engine.connect() as conn:
        number = conn.execute(select(declaration_containers.c.container_number).limit(1)).scalar_one()
    inspector, _ = workspace_client("inspector")
    analyst, _ = workspace_client("analyst")
    seen = inspector.get("/api/v1/search", params={"q": number}).json()["results"]["container"][0]
    assert seen["href"].startswith("/declarations/")
    assert inspector.get(seen["href"]).status_code == 200
    linked = analyst.get("/api/v1/search", params={"q": number}).json()["results"]["container"][0]
    assert linked["href"] == f"/network?node=container:{number}"


def test_administrators_are_refused(workspace_client: Client) -> None:
    client, _ = workspace_client("administrator")
    assert client.get("/search?q=x").status_code == 403


@pytest.mark.parametrize("params", [{"q": "x" * 201}, {"q": "a", "kind": "person"}])
def test_malformed_queries_are_refused(workspace_client: Client, params: dict[str, str]) -> None:
    client, _ = workspace_client("analyst")
    assert client.get("/search", params=params).status_code == 422
    assert client.get("/api/v1/search", params=params).status_code == 422


def test_hostile_queries_are_shown_escaped(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    page = client.get("/search", params={"q": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_searches_are_logged_with_the_purpose_but_not_the_query(workspace: Workspace,
                                                                 workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    client.get("/search", params={"q": "secret suspect name", "purpose": "case 9 lookup"})
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(access_log).where(access_log.c.purpose == "case 9 lookup")).mappings().all()
    assert [(r["object_kind"], r["object_id"], r["route"]) for r in rows] == [("search", None, "/search")]
    with workspace.engine.connect() as conn:
        logged = conn.execute(select(access_log.c.object_id, access_log.c.purpose)).all()
    assert not any("secret suspect" in str(v) for row in logged for v in row)
