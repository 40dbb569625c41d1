"""The dashboard: its numbers are what the store holds (recomputed here from the tables), each chart has
its table, it is for queue readers only, and it reads aggregates without writing the access log."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select

from cintel.risk.operations import inspections, reason_group
from cintel.store.risk_tables import risk_assessments, risk_drift, risk_models, risk_runs
from cintel.store.tables import declaration_items, declarations
from cintel.store.web_tables import access_log
from tests.conftest import Workspace
from tests.web.conftest import HOSTILE, ranked, sign_in, write_run

Client = Callable[[str], tuple[TestClient, str]]


def test_the_dashboard_intake_is_what_the_store_holds(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    body = client.get("/api/v1/dashboard").json()
    day = date.fromisoformat(body["day"])
    with workspace.engine.connect() as conn:
        latest_day = conn.execute(select(risk_runs.c.run_date).order_by(risk_runs.c.run_id.desc()).limit(1)).scalar()
        rows = conn.execute(select(declarations.c.declaration_id, declarations.c.declaration_date,
                                   declarations.c.n_items)).all()
        values = conn.execute(select(declaration_items.c.declaration_id, declaration_items.c.customs_value)).all()
    assert day == latest_day
    on_day = {r.declaration_id for r in rows if r.declaration_date == day}
    before = {r.declaration_id for r in rows if day - timedelta(days=28) <= r.declaration_date < day}
    intake = body["intake"]
    assert intake["declarations"] == len(on_day)
    assert intake["items"] == sum(r.n_items for r in rows if r.declaration_id in on_day)
    assert intake["value"] == round(sum(float(v.customs_value) for v in values if v.declaration_id in on_day), 2)
    assert intake["avg_declarations"] == round(len(before) / 28, 1)
    assert len(intake["series"]) == 28
    assert intake["series"][-1] == {**intake["series"][-1], "day": day.isoformat(), "declarations": len(on_day)}


def test_the_channels_are_the_runs_counts_against_its_capacity(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("targeting_officer")
    body = client.get("/api/v1/dashboard").json()
    run_id = body["channels"]["run_id"]
    with workspace.engine.connect() as conn:
        counts = dict(tuple(r) for r in conn.execute(select(risk_assessments.c.channel, func.count())
                                   .where(risk_assessments.c.run_id == run_id)
                                   .group_by(risk_assessments.c.channel)).all())
        parameters = json.loads(conn.execute(select(risk_runs.c.parameters).where(risk_runs.c.run_id == run_id)
                                             ).scalar_one())
    shown = {r["channel"]: (r["count"], r["capacity"]) for r in body["channels"]["rows"]}
    assert shown == {"red": (counts.get("red", 0), parameters["red_capacity"]),
                     "yellow": (counts.get("yellow", 0), parameters["yellow_capacity"]),
                     "green": (counts.get("green", 0), None)}


def test_hits_and_revenue_are_the_inspections_recorded(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("supervisor")
    body = client.get("/api/v1/dashboard").json()
    day = date.fromisoformat(body["day"])
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(inspections.c.inspection_date, inspections.c.outcome,
                                   inspections.c.additional_duty, inspections.c.seizure)).all()
    for window in body["hits"]["windows"]:
        inside = [r for r in rows if day - timedelta(days=window["days"] - 1) <= r.inspection_date <= day]
        found = [r for r in inside if r.outcome != "no_finding"]
        assert window["inspections"] == len(inside)
        assert window["hits"] == len(found)
        assert window["additional_duty"] == round(sum(float(r.additional_duty or 0) for r in inside), 2)
        assert window["seizures"] == sum(1 for r in inside if r.seizure)
    by_reason = body["hits"]["by_reason"]
    assert [r["reason"] for r in by_reason] == ["rule", "model", "random", "exploration", "other"]
    # Shown in the words the queue and the declaration page use for why a declaration was selected.
    assert [r["label"] for r in by_reason] == ["rule", "high risk", "random check", "check to teach the model",
                                               "other"]
    page = client.get("/").text
    assert '<th scope="col">Why selected</th>' in page
    assert '<th scope="row">random check</th>' in page
    assert sum(r["inspections"] for r in by_reason) == body["hits"]["windows"][1]["inspections"]


def test_the_active_models_metrics_are_shown(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    body = client.get("/api/v1/dashboard").json()
    with workspace.engine.connect() as conn:
        active = {r.model_id: json.loads(r.metrics) for r in conn.execute(
            select(risk_models.c.model_id, risk_models.c.metrics).where(risk_models.c.status == "active"))}
    assert {m["model_id"] for m in body["models"]} == set(active)
    for m in body["models"]:
        for w in m["windows"]:
            assert w["auc"] == active[m["model_id"]][w["window"]]["auc"]


def test_the_page_has_charts_with_their_numbers_in_tables(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    for chart in ("trend", "channels", "reasons"):
        assert f'data-chart="{chart}"' in html
    assert html.count("<table") >= 4
    assert '<script src="/static/vendor/echarts.min.js" defer></script>' in html
    assert "style=" not in html
    assert f'<dd>{body_items(client)}</dd>' in html
    for heading in ("Intake on", "Channels against capacity", "Hits and revenue found", "Model performance"):
        assert heading in html


def body_items(client: TestClient) -> int:
    return int(client.get("/api/v1/dashboard").json()["intake"]["items"])


def test_another_day_can_be_chosen_and_a_bad_day_is_refused(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    latest = date.fromisoformat(client.get("/api/v1/dashboard").json()["day"])
    earlier = latest - timedelta(days=3)
    body = client.get(f"/api/v1/dashboard?day={earlier.isoformat()}").json()
    assert body["day"] == earlier.isoformat()
    assert body["channels"] is None  # no run scored that day
    assert "No risk run for" in client.get(f"/?day={earlier.isoformat()}").text
    refused = client.get("/?day=yesterday")
    assert refused.status_code == 422
    # The form again, with what was typed and why beside it.
    assert 'value="yesterday" required aria-invalid="true" aria-describedby="day-error"' in refused.text
    assert "a day as YYYY-MM-DD" in refused.text
    assert client.get("/api/v1/dashboard?day=2025-13-40").status_code == 422


def test_the_dashboard_writes_no_access_log(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("inspector")
    with workspace.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(access_log)).scalar_one()
    client.get("/")
    client.get("/api/v1/dashboard")
    with workspace.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(access_log)).scalar_one() == before


def test_an_administrator_without_a_queue_role_is_refused(client: TestClient) -> None:
    sign_in(client, "ada")
    assert client.get("/").status_code == 403
    assert client.get("/api/v1/dashboard").status_code == 403


def test_an_empty_store_says_so(client: TestClient) -> None:
    sign_in(client, "ann")
    page = client.get("/")
    assert page.status_code == 200
    assert "The store holds no declarations yet" in page.text
    assert client.get("/api/v1/dashboard").json() == {"day": None}


def _model(engine: Engine, model_id: str, status: str) -> None:
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(risk_models).values(
            model_id=model_id, name="fraud", version=int(model_id[-1]), kind="classifier", status=status,
            created_at=at, created_by="ann", train_from=date(2025, 1, 1), train_to=date(2025, 5, 1),
            valid_to=date(2025, 6, 1), test_to=None, data_hash="0" * 64, features="[]", categorical="{}",
            params="{}", metrics=json.dumps({"valid": {"auc": 0.81, "n": 10}}), calibration=None, booster="x"))


def test_drift_alerts_of_the_active_model_are_listed_with_feature_and_psi(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(3))
    _model(engine, "fraud-v1", "retired")
    _model(engine, "fraud-v2", "active")
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(risk_drift), [
            {"model_id": "fraud-v2", "week_start": date(2025, 6, 23), "name": HOSTILE, "psi": 0.412, "alert": True,
             "measured_at": at},
            {"model_id": "fraud-v2", "week_start": date(2025, 6, 23), "name": "unit_value", "psi": 0.05,
             "alert": False, "measured_at": at},
            {"model_id": "fraud-v1", "week_start": date(2025, 6, 23), "name": "old_feature", "psi": 0.9,
             "alert": True, "measured_at": at},
        ])
    sign_in(client, "ann")
    body = client.get("/api/v1/dashboard").json()
    assert body["drift"] == {"measurements": 2, "alerts": [
        {"model_id": "fraud-v2", "week_start": "2025-06-23", "feature": HOSTILE, "psi": 0.412}]}
    assert [m["model_id"] for m in body["models"]] == ["fraud-v2"]
    page = client.get("/").text
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "0.412" in page
    assert "old_feature" not in page


def test_an_inspection_counts_under_the_reason_that_selected_it() -> None:
    assert reason_group("score", "R01 anti-dumping goods") == "model"  # the run's own code wins
    assert reason_group("exploration", None) == "exploration"
    assert reason_group(None, "R06 unit value far below the median") == "rule"
    assert reason_group(None, "random selection") == "random"
    assert reason_group("none", "officer's hunch") == "other"
