"""The inspection form and API: recorded by the assigned inspector (or a supervisor, with a reason), a second
record only as a correction that supersedes the first visibly, no pre-selected outcome or channel, errors
beside the field with what was typed kept, a page confirming what was recorded, and only accepted records
reaching training."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, insert, select

from cintel.domain.records import RecordKind
from cintel.ingest.rows_in import ingest_rows
from cintel.risk.service import training_frame
from cintel.store import tables
from cintel.store.case_tables import inspection_assignments, inspection_records
from cintel.store.frames import load_inspections
from cintel.store.risk_tables import risk_runs
from cintel.web.accounts import add_user
from tests.conftest import Workspace
from tests.factories import declaration
from tests.web.conftest import HOSTILE, PASSWORD, sign_in

Clients = Callable[[str], tuple[TestClient, str]]
inspections = tables.record_tables[RecordKind.INSPECTIONS]
FOUND = {"outcome": "misdeclared_goods", "channel": "red", "inspection_date": "2025-07-01",
         "findings": "Two pallets of trainers declared as T-shirts", "additional_duty": "1234.5", "seizure": "on",
         "seized_goods": "trainers"}


def assign(engine: Engine, declaration_id: str, inspector: str, run_id: int | None = None) -> None:
    """The declaration assigned to ``inspector`` in run ``run_id`` (default: the latest), replacing any
    assignment in that run, as the queue does."""
    a = inspection_assignments
    with engine.begin() as conn:
        run = run_id or conn.execute(select(func.max(risk_runs.c.run_id))).scalar() or 1
        conn.execute(delete(a).where(a.c.run_id == run, a.c.declaration_id == declaration_id))
        conn.execute(insert(a).values(run_id=run, declaration_id=declaration_id, inspector=inspector,
                                      assigned_by="tom", assigned_at=datetime.now(UTC)))


def stored(engine: Engine, declaration_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(inspections).where(inspections.c.declaration_id == declaration_id)
                                              .order_by(inspections.c.inspection_id)).mappings()]


def field_error(page: str, field: str) -> str:
    """The error shown beside a field of the inspection form."""
    match = re.search(rf'<p class="field-error" id="inspection-{field}-error">([^<]*)</p>', page)
    assert match is not None, f"no error beside {field}"
    return html.unescape(match.group(1))


def selected(page: str, select_id: str) -> list[str]:
    """The values of the selected options of a select on the page."""
    match = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert match is not None, f"no select {select_id}"
    return re.findall(r'<option value="([^"]*)" selected>', match.group(1))


# ---- on a small store: one declaration at a time -----------------------------------------------------------

@pytest.fixture
def declared(engine: Engine, app: FastAPI) -> Engine:
    """DEC-0001 assigned to ivan, DEC-0002 assigned to no one; sue (supervisor) and ines (inspector) besides
    the app's ann, ada and ivan."""
    rows = [*declaration(1, declaration_date="2025-06-30"), *declaration(2, declaration_date="2025-06-30")]
    assert ingest_rows(engine, RecordKind.DECLARATIONS, rows, source="web:test").rows_stored == 4
    add_user(engine, "sue", PASSWORD, ["supervisor"], "Sue Supervisor")
    add_user(engine, "ines", PASSWORD, ["inspector"], "Ines Inspector")
    assign(engine, "DEC-0001", "ivan", run_id=1)
    return engine


@pytest.fixture
def signed_in(app: FastAPI) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """``signed_in(username)``: a client signed in as that user, and its CSRF token."""
    opened: list[TestClient] = []

    def make(username: str) -> tuple[TestClient, str]:
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        client.__enter__()
        opened.append(client)
        return client, sign_in(client, username)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize("declaration_id", ["DEC-0001", "DEC-0002"], ids=["assigned to ivan", "assigned to no one"])
def test_an_inspector_may_not_record_a_declaration_not_assigned_to_them(
        declared: Engine, signed_in: Callable[[str], tuple[TestClient, str]], declaration_id: str) -> None:
    client, csrf = signed_in("ines")
    page = client.get(f"/declarations/{declaration_id}").text
    assert f'action="/declarations/{declaration_id}/inspection"' not in page
    assert "You cannot record this inspection" in page
    form = client.post(f"/declarations/{declaration_id}/inspection", data={"csrf_token": csrf, **FOUND})
    assert form.status_code == 403
    api = client.post(f"/api/v1/declarations/{declaration_id}/inspection",
                      json={"outcome": "no_finding", "channel": "red"}, headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403
    assert "inspector it is assigned to" in api.json()["detail"]
    assert stored(declared, declaration_id) == []


def test_the_assigned_inspector_records_and_the_page_confirms_what_was_recorded(
        declared: Engine, signed_in: Callable[[str], tuple[TestClient, str]]) -> None:
    client, csrf = signed_in("ivan")
    done = client.post("/declarations/DEC-0001/inspection", data={"csrf_token": csrf, **FOUND})
    assert done.status_code == 303, done.text
    [row] = stored(declared, "DEC-0001")
    assert done.headers["location"] == f"/declarations/DEC-0001/inspections/{row['inspection_id']}?recorded=1"
    assert (row["inspector_id"], row["outcome"], row["channel"], row["additional_duty"]) == (
        "ivan", "misdeclared_goods", "red", 1234.5)
    confirmed = client.get(done.headers["location"])
    assert confirmed.status_code == 200
    text = confirmed.text
    assert "Inspection recorded" in text
    for shown in ("misdeclared_goods", "Two pallets of trainers declared as T-shirts", "1,234.50", "yes: trainers",
                  "2025-07-01", ">current</strong>: recorded by ivan"):
        assert shown in text, shown
    page = client.get("/declarations/DEC-0001").text
    assert f'href="/declarations/DEC-0001/inspections/{row["inspection_id"]}"' in page
    assert "Correct the inspection record" in page  # the form now offers only a correction


def test_the_form_preselects_no_outcome_and_no_channel_and_says_what_is_missing(
        declared: Engine, signed_in: Callable[[str], tuple[TestClient, str]]) -> None:
    client, csrf = signed_in("ivan")
    page = client.get("/declarations/DEC-0001").text
    assert selected(page, "outcome") == [""]
    assert selected(page, "inspection-channel") == [""]
    typed = {"findings": "seal broken", "additional_duty": "10"}
    answer = client.post("/declarations/DEC-0001/inspection", data={"csrf_token": csrf, **typed})
    assert answer.status_code == 400
    assert field_error(answer.text, "outcome") == "choose what the inspection established"
    assert "choose the channel" in field_error(answer.text, "channel")
    assert 'aria-describedby="inspection-outcome-error"' in answer.text
    assert ">seal broken</textarea>" in answer.text  # what was typed is kept
    assert 'value="10"' in answer.text
    assert stored(declared, "DEC-0001") == []


@pytest.mark.parametrize(("change", "field"), [
    ({"additional_duty": "-10"}, "additional_duty"),
    ({"additional_duty": "lots"}, "additional_duty"),
    ({"outcome": "smuggled"}, "outcome"),
    ({"channel": "green"}, "channel"),
    ({"inspection_date": (date.today() + timedelta(days=30)).isoformat()}, "inspection_date"),
    ({"inspection_date": "1900-01-01"}, "inspection_date"),
    ({"inspection_date": "yesterday"}, "inspection_date"),
    ({"findings": "x" * 10_240}, "findings"),
], ids=["negative duty", "duty not a number", "unknown outcome", "green channel", "future date",
        "date before the validator's bounds", "not a date", "10 kB of findings"])
def test_a_malformed_record_comes_back_with_the_error_beside_its_field(
        declared: Engine, signed_in: Callable[[str], tuple[TestClient, str]], change: dict[str, str],
        field: str) -> None:
    client, csrf = signed_in("ivan")
    answer = client.post("/declarations/DEC-0001/inspection", data={"csrf_token": csrf, **FOUND, **change})
    assert answer.status_code == 400
    assert field_error(answer.text, field)
    assert 'action="/declarations/DEC-0001/inspection"' in answer.text
    assert stored(declared, "DEC-0001") == []
    api = client.post("/api/v1/declarations/DEC-0001/inspection", json={**FOUND, "seizure": True, **change},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code in (400, 422)
    assert api.headers["content-type"].startswith("application/problem+json")
    assert field in api.json()["detail"]


def test_a_second_record_is_refused_and_a_correction_supersedes_the_first_visibly(
        declared: Engine, signed_in: Callable[[str], tuple[TestClient, str]]) -> None:
    client, csrf = signed_in("ivan")
    client.post("/declarations/DEC-0001/inspection", data={"csrf_token": csrf, **FOUND})
    [first] = stored(declared, "DEC-0001")
    again = client.post("/api/v1/declarations/DEC-0001/inspection", json={"outcome": "no_finding", "channel": "red"},
                        headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
    assert first["inspection_id"] in again.json()["detail"]
    no_reason = client.post("/declarations/DEC-0001/inspection", data={
        "csrf_token": csrf, **FOUND, "outcome": "no_finding", "corrects": first["inspection_id"]})
    assert no_reason.status_code == 400
    assert "why it is corrected" in field_error(no_reason.text, "reason")
    assert selected(no_reason.text, "outcome") == ["no_finding"]  # what was chosen is kept
    done = client.post("/declarations/DEC-0001/inspection", data={
        "csrf_token": csrf, **FOUND, "outcome": "no_finding", "corrects": first["inspection_id"],
        "reason": "the trainers were on the packing list"})
    assert done.status_code == 303
    second = next(r for r in stored(declared, "DEC-0001") if r["inspection_id"] != first["inspection_id"])
    confirmed = client.get(done.headers["location"]).text
    assert "it corrects" in confirmed
    assert first["inspection_id"] in confirmed
    earlier = client.get(f"/declarations/DEC-0001/inspections/{first['inspection_id']}").text
    assert ">superseded</strong> by" in earlier
    assert second["inspection_id"] in earlier
    assert "the trainers were on the packing list" in earlier
    api = client.get("/api/v1/declarations/DEC-0001").json()["inspections"]
    assert {r["inspection_id"]: r["status"] for r in api} == {first["inspection_id"]: "superseded",
                                                               second["inspection_id"]: "current"}
    assert load_inspections(declared)["inspection_id"].to_list() == [second["inspection_id"]]


def test_a_supervisor_records_in_place_of_the_inspector_only_with_a_reason(
        declared: Engine, signed_in: Callable[[str], tuple[TestClient, str]]) -> None:
    client, csrf = signed_in("sue")
    page = client.get("/declarations/DEC-0002").text
    assert "as a supervisor you may record its inspection, saying why" in page
    refused = client.post("/declarations/DEC-0002/inspection", data={"csrf_token": csrf, **FOUND})
    assert refused.status_code == 400
    assert "why you record it" in field_error(refused.text, "reason")
    api = client.post("/api/v1/declarations/DEC-0002/inspection",
                      json={"outcome": "no_finding", "channel": "yellow", "reason": "recorded from the paper form"},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code == 201, api.text
    record = api.json()["record"]
    assert (record["status"], record["recorded_by"], record["reason"]) == (
        "current", "sue", "recorded from the paper form")
    with declared.connect() as conn:
        assert conn.execute(select(inspection_records.c.recorded_by)).scalars().all() == ["sue"]


def test_an_unknown_declaration_or_inspection_is_404(declared: Engine,
                                                     signed_in: Callable[[str], tuple[TestClient, str]]) -> None:
    client, csrf = signed_in("ivan")
    assert client.post("/declarations/NOPE-0000/inspection", data={"csrf_token": csrf, **FOUND}).status_code == 404
    assert client.post("/api/v1/declarations/NOPE-0000/inspection", json={"outcome": "no_finding", "channel": "red"},
                       headers={"X-CSRF-Token": csrf}).status_code == 404
    assert client.get("/declarations/DEC-0001/inspections/WEB-nope").status_code == 404


def test_hostile_findings_are_shown_as_text(declared: Engine,
                                            signed_in: Callable[[str], tuple[TestClient, str]]) -> None:
    client, csrf = signed_in("ivan")
    done = client.post("/declarations/DEC-0001/inspection", data={"csrf_token": csrf, **FOUND, "findings": HOSTILE})
    assert done.status_code == 303
    for path in (done.headers["location"], "/declarations/DEC-0001"):
        text = client.get(path).text
        assert "<script>alert" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# ---- on the workspace: roles, CSRF and training ----------------------------------------------------------------

def uninspected(workspace: Workspace, skip: int = 0) -> tuple[str, date]:
    """A declaration of the latest day that no inspection mentions yet (and its date)."""
    d = tables.declarations
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(d.c.declaration_id, d.c.declaration_date)
                            .where(d.c.declaration_id.not_in(select(inspections.c.declaration_id)))
                            .order_by(d.c.declaration_date.desc(), d.c.declaration_id).limit(skip + 1)).all()
    return rows[skip][0], rows[skip][1]


@pytest.mark.parametrize("role", ["analyst", "targeting_officer", "administrator"])
def test_only_inspectors_and_supervisors_record_outcomes(role: str, workspace: Workspace,
                                                         workspace_client: Clients) -> None:
    client, csrf = workspace_client(role)
    decl, _ = uninspected(workspace)
    if role != "administrator":
        assert f'action="/declarations/{decl}/inspection"' not in client.get(f"/declarations/{decl}").text
    form = client.post(f"/declarations/{decl}/inspection", data={"csrf_token": csrf, **FOUND})
    assert form.status_code == 403
    api = client.post(f"/api/v1/declarations/{decl}/inspection", json={"outcome": "no_finding", "channel": "red"},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403


def test_recording_needs_the_csrf_token(workspace: Workspace, workspace_client: Clients) -> None:
    client, _ = workspace_client("inspector")
    decl, _ = uninspected(workspace)
    assign(workspace.engine, decl, workspace.user("inspector")[0])
    assert client.post(f"/declarations/{decl}/inspection", data=FOUND).status_code == 403
    assert client.post(f"/api/v1/declarations/{decl}/inspection",
                       json={"outcome": "no_finding", "channel": "red"}).status_code == 403


def test_the_selection_reason_comes_from_the_latest_assessment(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("supervisor")
    decl = str(workspace.demo["targeting"]["red_list"][3]["declaration_id"])
    assessment = client.get(f"/api/v1/declarations/{decl}").json()["assessment"]
    done = client.post(f"/api/v1/declarations/{decl}/inspection",
                       json={"outcome": "no_finding", "channel": "yellow", "reason": "checked the documents myself"},
                       headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201, done.text
    record = done.json()["record"]
    expected = assessment["selection_reason"] + (f" ({assessment['selection_detail']})"
                                                 if assessment["selection_detail"] else "")
    assert record["selection_reason"] == expected
    assert record["inspection_date"] == date.today().isoformat()


def test_an_accepted_record_feeds_the_training_labels_and_a_refused_one_does_not(
        workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("inspector")
    inspector, _ = workspace.user("inspector")
    decl, day = uninspected(workspace, skip=1)
    other, _ = uninspected(workspace, skip=2)
    assign(workspace.engine, decl, inspector)
    done = client.post(f"/declarations/{decl}/inspection", data={
        "csrf_token": csrf, "outcome": "prohibited_goods", "channel": "red", "findings": "counterfeit medicines",
        "seizure": "on", "seized_goods": "medicines"})
    assert done.status_code == 303
    assert client.post(f"/declarations/{other}/inspection", data={"csrf_token": csrf, **FOUND}).status_code == 403
    frame = training_frame(workspace.engine, start=day, end=None)
    labelled = frame.filter(frame["declaration_id"] == decl).to_dicts()
    assert len(labelled) == 1
    assert labelled[0]["is_fraud"] is True
    assert labelled[0]["seized"] is True
    assert frame.filter(frame["declaration_id"] == other).height == 0
