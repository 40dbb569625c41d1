"""The declaration page and API: every field and item, parties linked to entities, the route, the score
with its rule hits and explanation, the importer's history, the assignment, the case form; the views
logged with their purpose; and the inspection form, whose outcomes feed training."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.domain.access import STANDARD_PURPOSES
from cintel.domain.records import RecordKind
from cintel.ingest.rows_in import ingest_rows
from cintel.risk.service import training_frame
from cintel.store import tables
from cintel.store.web_tables import access_log
from tests.conftest import Workspace
from tests.factories import declaration
from tests.web.conftest import HOSTILE, sign_in

Clients = Callable[[str], tuple[TestClient, str]]
inspections = tables.record_tables[RecordKind.INSPECTIONS]


def red(workspace: Workspace, n: int = 0) -> str:
    """A declaration the demo's latest run sent to the red channel."""
    return str(workspace.demo["targeting"]["red_list"][n]["declaration_id"])


def uninspected(workspace: Workspace, skip: int = 0) -> tuple[str, date]:
    """A declaration of the latest day that no inspection mentions yet (and its date)."""
    d = tables.declarations
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(d.c.declaration_id, d.c.declaration_date)
                            .where(d.c.declaration_id.not_in(select(inspections.c.declaration_id)))
                            .order_by(d.c.declaration_date.desc(), d.c.declaration_id).limit(skip + 1)).all()
    return rows[skip][0], rows[skip][1]


def alert(page: str) -> str:
    match = re.search(r'role="alert"[^>]*>([^<]*)<', page)
    assert match is not None, "no error message on the page"
    return html.unescape(match.group(1))


# --- what the page shows ----------------------------------------------------------------------------------------

def test_the_page_shows_every_header_field_and_item(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    decl = red(workspace)
    data = client.get(f"/api/v1/declarations/{decl}").json()
    page = client.get(f"/declarations/{decl}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for name, value in data["header"].items():
        assert f">{name}</abbr>" in text
        if value is not None:
            assert str(value) in text
    assert len(data["items"]) == data["n_items"] >= 1
    for item in data["items"]:
        assert item["hs_code"] in text
        assert item["goods_description"] in text
    assert f"source row {data['provenance']['source_row']}" in text


def test_parties_link_to_the_entities_they_resolved_to(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    decl = red(workspace)
    parties = {p["role"]: p for p in client.get(f"/api/v1/declarations/{decl}").json()["parties"]}
    assert set(parties) == {"importer", "exporter", "declarant"}
    importer = parties["importer"]
    assert importer["entity_id"], "the demo resolves every importer"
    page = client.get(f"/declarations/{decl}").text
    assert f'href="/entities/{importer["entity_id"]}"' in page


def test_the_route_has_positions_for_the_map_and_a_text_list(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    decl = red(workspace)
    data = client.get(f"/api/v1/declarations/{decl}").json()
    header, route = data["header"], data["route"]
    codes = [p["code"] for p in route["ports"]]
    expected = [c for c in (header["port_of_loading"], *(header["transshipment_ports"] or "").split(";"),
                            header["port_of_discharge"]) if c]
    assert codes == expected
    assert any(c["kind"] == "origin" and c["lat"] is not None for c in route["countries"])
    page = client.get(f"/declarations/{decl}").text
    match = re.search(r"data-route='([^']*)'", page)
    assert match is not None
    assert json.loads(html.unescape(match.group(1))) == route
    assert 'id="route-map"' in page
    for p in route["ports"]:
        assert f"({p['code']})" in page


def test_the_score_shows_the_latest_assessment_and_each_rule_hit_with_its_reason(
        workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("targeting_officer")
    decl = red(workspace)
    listed = workspace.demo["targeting"]["red_list"][0]
    assessment = client.get(f"/api/v1/declarations/{decl}").json()["assessment"]
    assert assessment["channel"] == "red"
    assert assessment["probability"] == pytest.approx(listed["probability"])
    assert [h["rule_id"] for h in assessment["rule_hits"]] == listed["rule_ids"]
    assert all(h["reason"] for h in assessment["rule_hits"])
    page = html.unescape(client.get(f"/declarations/{decl}").text)
    for hit in assessment["rule_hits"]:
        assert hit["reason"] in page
        assert f'href="/rules/{hit["rule_id"]}"' in page


def test_the_explanation_is_a_chart_and_the_same_numbers_in_a_table(workspace: Workspace,
                                                                   workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    decl = red(workspace)
    page = client.get(f"/declarations/{decl}").text
    assert f'hx-get="/declarations/{decl}/explanation?purpose=' in page
    explained = client.get(f"/api/v1/declarations/{decl}/explanation").json()
    fragment = client.get(f"/declarations/{decl}/explanation")
    assert fragment.status_code == 200
    charted = [r for r in explained["reasons"] if r["contribution"] is not None]
    assert charted, "the demo's red list is explained by the model"
    match = re.search(r"data-reasons='([^']*)'", fragment.text)
    assert match is not None
    assert json.loads(html.unescape(match.group(1))) == charted
    for r in charted:
        assert f"{r['contribution']:+.4f}" in fragment.text


def test_the_history_lists_the_importers_other_declarations_and_counts(workspace: Workspace,
                                                                      workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    decl = red(workspace)
    data = client.get(f"/api/v1/declarations/{decl}").json()
    history = data["history"]
    importer = data["header"]["importer_id"]
    d = tables.declarations
    with workspace.engine.connect() as conn:
        theirs = conn.execute(select(d.c.declaration_id).where(d.c.importer_id == importer)).scalars().all()
    assert history["counts"]["declarations"] == len(theirs)
    assert decl not in [r["declaration_id"] for r in history["declarations"]]
    assert len(history["declarations"]) == min(20, len(theirs) - 1)
    dates = [r["declaration_date"] for r in history["declarations"]]
    assert dates == sorted(dates, reverse=True)
    page = client.get(f"/declarations/{decl}").text
    for r in history["declarations"]:
        assert f'href="/declarations/{r["declaration_id"]}"' in page


def test_the_page_offers_a_case_form_for_the_declaration(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    decl = red(workspace)
    page = client.get(f"/declarations/{decl}").text
    form = page[page.index('action="/cases"'):]
    form = form[:form.index("</form>")]
    assert 'name="origin_kind" value="declaration"' in form
    assert f'name="origin_ref" value="{decl}"' in form
    assert '<label for="case-title">Case title</label>' in form
    assert f'value="{csrf}"' in form


def test_the_api_returns_the_data_the_page_shows(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("supervisor")
    decl = red(workspace, 1)
    data = client.get(f"/api/v1/declarations/{decl}").json()
    assert set(data) >= {"header", "items", "containers", "provenance", "parties", "route", "assessment", "history",
                         "inspections", "assignment"}
    page = html.unescape(client.get(f"/declarations/{decl}").text)
    assert data["declaration_id"] == decl
    for c in data["containers"]:
        assert c in page
    for p in data["parties"]:
        if p["name"]:
            assert p["name"] in page
    for reason in data["assessment"]["reasons"]:
        assert reason in page


def test_an_unknown_declaration_is_404_and_an_overlong_id_422(workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    assert client.get("/declarations/NOPE-0000").status_code == 404
    problem = client.get("/api/v1/declarations/NOPE-0000")
    assert problem.status_code == 404
    assert "NOPE-0000" in problem.json()["detail"]
    assert client.get("/api/v1/declarations/NOPE-0000/explanation").status_code == 404
    assert client.get("/declarations/" + "X" * 65).status_code == 422
    assert client.get("/api/v1/declarations/" + "X" * 65).status_code == 422


# --- access log -------------------------------------------------------------------------------------------------

def test_every_view_is_logged_with_user_and_purpose(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    decl = red(workspace, 2)
    username, _ = workspace.user("analyst")
    client.get(f"/declarations/{decl}", params={"purpose": "case 2026-41 follow-up"})
    client.get(f"/api/v1/declarations/{decl}")
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(access_log).where(access_log.c.object_id == decl, access_log.c.username == username)
                            .order_by(access_log.c.id)).mappings().all()
    assert [(r["object_kind"], r["route"], r["purpose"]) for r in rows][-2:] == [
        ("declaration", f"/declarations/{decl}", "case 2026-41 follow-up"),
        ("declaration", f"/api/v1/declarations/{decl}", "declaration review"),
    ]


def test_the_purpose_is_typed_or_chosen_from_the_standard_list(workspace: Workspace,
                                                               workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    decl = red(workspace, 3)
    page = client.get(f"/declarations/{decl}").text
    assert re.search(r'<input id="purpose" name="purpose" type="text" list="purposes"', page)
    options = re.findall(r'<option value="([^"]+)">', page.split('<datalist id="purposes">')[1].split("</datalist>")[0])
    assert options == list(STANDARD_PURPOSES)
    client.get(f"/declarations/{decl}", params={"purpose": STANDARD_PURPOSES[2]})
    with workspace.engine.connect() as conn:
        logged = conn.execute(select(access_log.c.purpose).where(access_log.c.object_id == decl)
                              .order_by(access_log.c.id.desc())).scalars().first()
    assert logged == STANDARD_PURPOSES[2]
    for url in ("/queue", "/search?q=x", "/network"):
        assert 'list="purposes"' in client.get(url).text, url


def test_a_purpose_too_short_is_refused_and_not_logged(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("analyst")
    assert client.get(f"/declarations/{red(workspace)}", params={"purpose": "x"}).status_code == 422


# --- roles ------------------------------------------------------------------------------------------------------

def test_an_administrator_may_not_read_declarations(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("administrator")
    decl = red(workspace)
    assert client.get(f"/declarations/{decl}").status_code == 403
    assert client.get(f"/api/v1/declarations/{decl}").status_code == 403
    assert client.get(f"/declarations/{decl}/explanation").status_code == 403


@pytest.mark.parametrize("role", ["analyst", "targeting_officer", "administrator"])
def test_only_inspectors_and_supervisors_record_outcomes(role: str, workspace: Workspace,
                                                         workspace_client: Clients) -> None:
    client, csrf = workspace_client(role)
    decl = red(workspace)
    if role != "administrator":
        assert 'action="/declarations/' + decl + '/inspection"' not in client.get(f"/declarations/{decl}").text
    form = client.post(f"/declarations/{decl}/inspection",
                       data={"csrf_token": csrf, "outcome": "no_finding", "channel": "red"})
    assert form.status_code == 403
    api = client.post(f"/api/v1/declarations/{decl}/inspection", json={"outcome": "no_finding", "channel": "red"},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403


def test_recording_needs_the_csrf_token(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("inspector")
    done = client.post(f"/declarations/{red(workspace)}/inspection", data={"outcome": "no_finding", "channel": "red"})
    assert done.status_code == 403


# --- the inspection form ------------------------------------------------------------------------------------------

def test_an_inspector_records_an_outcome_and_sees_it_in_the_history(workspace: Workspace,
                                                                   workspace_client: Clients) -> None:
    client, csrf = workspace_client("inspector")
    decl, _ = uninspected(workspace)
    username, _ = workspace.user("inspector")
    page = client.get(f"/declarations/{decl}").text
    assert f'action="/declarations/{decl}/inspection"' in page
    assert f'value="{date.today().isoformat()}"' in page  # the date defaults to today
    done = client.post(f"/declarations/{decl}/inspection", data={
        "csrf_token": csrf, "outcome": "misdeclared_goods", "channel": "red",
        "inspection_date": date.today().isoformat(), "findings": "Two pallets of trainers declared as T-shirts",
        "additional_duty": "1234.5", "seizure": "on", "seized_goods": "trainers"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/declarations/{decl}#history"
    with workspace.engine.connect() as conn:
        [row] = conn.execute(select(inspections).where(inspections.c.declaration_id == decl)).mappings().all()
        batch = conn.execute(select(tables.batches).where(tables.batches.c.id == row["batch_id"])).mappings().one()
    assert row["inspection_id"].startswith("WEB-")
    assert (row["inspector_id"], row["outcome"], row["additional_duty"]) == (username, "misdeclared_goods", 1234.5)
    assert bool(row["seizure"])
    assert batch["source_path"] == f"web:{username}"
    after = client.get(f"/declarations/{decl}")
    assert "Two pallets of trainers declared as T-shirts" in after.text
    assert row["inspection_id"] in after.text
    data = client.get(f"/api/v1/declarations/{decl}").json()
    assert [i["inspection_id"] for i in data["inspections"]] == [row["inspection_id"]]


def test_the_selection_reason_comes_from_the_latest_assessment(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("supervisor")
    decl = red(workspace, 3)
    assessment = client.get(f"/api/v1/declarations/{decl}").json()["assessment"]
    refused = client.post(f"/api/v1/declarations/{decl}/inspection", json={"outcome": "no_finding", "channel": "red"})
    assert refused.status_code == 403  # a session needs the CSRF header on the API too
    done = client.post(f"/api/v1/declarations/{decl}/inspection", json={"outcome": "no_finding", "channel": "yellow"},
                       headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201, done.text
    recorded = done.json()
    with workspace.engine.connect() as conn:
        row = conn.execute(select(inspections).where(inspections.c.inspection_id == recorded["inspection_id"])
                           ).mappings().one()
    expected = assessment["selection_reason"] + (f" ({assessment['selection_detail']})"
                                                 if assessment["selection_detail"] else "")
    assert row["selection_reason"] == expected
    assert str(row["inspection_date"])[:10] == date.today().isoformat()


def test_a_recorded_outcome_feeds_the_training_labels(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("inspector")
    decl, day = uninspected(workspace, skip=1)
    done = client.post(f"/declarations/{decl}/inspection",
                       data={"csrf_token": csrf, "outcome": "prohibited_goods", "channel": "red",
                             "findings": "counterfeit medicines", "seizure": "on", "seized_goods": "medicines"})
    assert done.status_code == 303
    frame = training_frame(workspace.engine, start=day, end=None)
    labelled = frame.filter(frame["declaration_id"] == decl).to_dicts()
    assert len(labelled) == 1
    assert labelled[0]["is_fraud"] is True
    assert labelled[0]["seized"] is True


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("negative duty", {"additional_duty": "-10"}, "additional_duty"),
    ("duty not a number", {"additional_duty": "lots"}, "additional_duty"),
    ("unknown outcome", {"outcome": "smuggled"}, "outcome"),
    ("green channel", {"channel": "green"}, "channel"),
    ("future date", {"inspection_date": (date.today() + timedelta(days=30)).isoformat()}, "inspection_date"),
    ("date before the validator's bounds", {"inspection_date": "1900-01-01"}, "inspection_date"),
    ("not a date", {"inspection_date": "yesterday"}, "inspection_date"),
    ("10 kB of findings", {"findings": "x" * 10_240}, "findings"),
]


@pytest.mark.parametrize(("case", "change", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_inspection_input_re_shows_the_form_with_why(case: str, change: dict[str, Any], field: str,
                                                              workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("inspector")
    decl = red(workspace)
    before = client.get(f"/api/v1/declarations/{decl}").json()["inspections"]
    answer = client.post(f"/declarations/{decl}/inspection",
                         data={"csrf_token": csrf, "outcome": "no_finding", "channel": "red", **change})
    assert answer.status_code == 400, case
    assert field in alert(answer.text)
    assert 'action="/declarations/' + decl + '/inspection"' in answer.text  # the form is shown again
    assert client.get(f"/api/v1/declarations/{decl}").json()["inspections"] == before


@pytest.mark.parametrize(("case", "change", "field"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_inspection_json_is_a_clear_problem(case: str, change: dict[str, Any], field: str,
                                                     workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("inspector")
    body = {"outcome": "no_finding", "channel": "red", **change}
    answer = client.post(f"/api/v1/declarations/{red(workspace)}/inspection", json=body,
                         headers={"X-CSRF-Token": csrf})
    assert answer.status_code in (400, 422), case
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in problem["detail"]


def test_recording_on_an_unknown_declaration_is_404(workspace_client: Clients) -> None:
    client, csrf = workspace_client("inspector")
    answer = client.post("/declarations/NOPE-0000/inspection",
                         data={"csrf_token": csrf, "outcome": "no_finding", "channel": "red"})
    assert answer.status_code == 404
    api = client.post("/api/v1/declarations/NOPE-0000/inspection", json={"outcome": "no_finding", "channel": "red"},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code == 404


# --- hostile values -------------------------------------------------------------------------------------------------

def test_hostile_values_are_shown_as_text(client: TestClient, engine: Engine) -> None:
    rows = declaration(7, items=1, exporter_name=HOSTILE, goods_description=HOSTILE, declaration_date="2025-06-30")
    assert ingest_rows(engine, RecordKind.DECLARATIONS, rows, source="web:test").rows_stored == 1
    csrf = sign_in(client, "ivan")  # an inspector whose display name is the same script
    page = client.get("/declarations/DEC-0007", params={"purpose": HOSTILE})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert page.text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # name, exporter, goods, purpose
    done = client.post("/declarations/DEC-0007/inspection", data={
        "csrf_token": csrf, "outcome": "no_finding", "channel": "red", "findings": HOSTILE,
        "inspection_date": "2025-07-01"})
    assert done.status_code == 303
    after = client.get("/declarations/DEC-0007").text
    assert "<script>alert" not in after
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</td>" in after


def test_a_declaration_without_an_assessment_or_ports_still_renders(client: TestClient, engine: Engine) -> None:
    rows = declaration(8, items=2, port_of_loading="", port_of_discharge="", transport_mode="3", vessel_imo="",
                       container_numbers="", importer_id="", declaration_date="2025-06-30")
    assert ingest_rows(engine, RecordKind.DECLARATIONS, rows, source="web:test").rows_stored == 2
    sign_in(client, "ann")
    page = client.get("/declarations/DEC-0008")
    assert page.status_code == 200
    assert "has not been scored in any run" in page.text
    assert "No ports declared" in page.text
    assert "Record the inspection outcome" not in page.text  # an analyst
