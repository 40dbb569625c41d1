"""Real-time scoring over HTTP: POST /api/v1/score answers what `RealtimeScorer.score` answers, for the
roles that target, with clear problems for bad declarations, one scorer per app, and nothing logged."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from cintel.risk.realtime import RealtimeScorer, RealtimeScorers
from cintel.risk.service import last_declaration_day
from cintel.settings import Settings
from cintel.store.frames import load_items
from cintel.store.web_tables import access_log
from cintel.web.accounts import create_api_token
from cintel.web.app import create_app
from tests.conftest import Workspace
from tests.web.conftest import HOSTILE, sign_in

Clients = Callable[[str], tuple[TestClient, str]]
BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_web_scoring.py"


def lodged(workspace: Workspace, n: int = 0) -> list[dict[str, Any]]:
    """The item rows of the n-th declaration of the latest day, as a client sends them."""
    day = last_declaration_day(workspace.engine)
    items = load_items(workspace.engine, day, day + timedelta(days=1))
    part = items.partition_by("declaration_id", maintain_order=True)[n]
    return [{k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()} for r in part.iter_rows(named=True)]


def post(client: TestClient, csrf: str, body: object) -> Any:
    return client.post("/api/v1/score", json=body, headers={"X-CSRF-Token": csrf})


def test_a_declaration_is_scored_as_the_scorer_scores_it(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("targeting_officer")
    items = lodged(workspace)
    answer = post(client, csrf, {"items": items})
    assert answer.status_code == 200, answer.text
    got = answer.json()
    day = date.fromisoformat(items[0]["declaration_date"])
    expected = RealtimeScorer.from_store(workspace.engine, day).score(items)
    assert got["declaration_id"] == items[0]["declaration_id"]
    assert got["probability"] == pytest.approx(expected["probability"])
    assert got["priority"] == pytest.approx(expected["priority"])
    assert got["rule_hits"] == expected["rule_hits"]
    assert got["reasons"] == expected["reasons"]
    assert got["rule_channel"] == expected["rule_channel"]


def test_header_fields_beside_the_items_are_copied_onto_each(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    items = lodged(workspace, 1)
    header = {k: items[0][k] for k in ("declaration_id", "declaration_date", "importer_name", "office_code")}
    slim = [{k: v for k, v in i.items() if k not in header} for i in items]
    assert post(client, csrf, {**header, "items": slim}).json() == post(client, csrf, {"items": items}).json()


def test_a_bearer_token_scores_without_a_session(workspace: Workspace) -> None:
    username, _ = workspace.user("targeting_officer")
    token = create_api_token(workspace.engine, username, "test realtime").token
    with TestClient(create_app(workspace.engine, settings=Settings(web_secure_cookies=True)),
                    base_url="https://testserver") as client:
        answer = client.post("/api/v1/score", json={"items": lodged(workspace)},
                             headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        unknown = client.post("/api/v1/score", json={"items": lodged(workspace)},
                              headers={"Authorization": "Bearer not-a-token"})
        assert unknown.status_code == 401


@pytest.mark.parametrize("role", ["inspector", "administrator"])
def test_roles_that_do_not_target_may_not_score(role: str, workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client(role)
    assert post(client, csrf, {"items": lodged(workspace)}).status_code == 403


def test_scoring_is_not_written_to_the_access_log(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("supervisor")
    username, _ = workspace.user("supervisor")

    def logged() -> int:
        with workspace.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(access_log)
                                    .where(access_log.c.username == username)).scalar_one())

    before = logged()
    assert post(client, csrf, {"items": lodged(workspace, 2)}).status_code == 200
    assert logged() == before


def test_bad_json_is_a_problem_document(workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    answer = client.post("/api/v1/score", content=b"{not json", headers={"X-CSRF-Token": csrf,
                                                                         "Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 422


@pytest.mark.parametrize("body", [{}, {"items": []}, {"items": "all"}, {"items": [1, 2]}, [], None],
                         ids=["no items", "empty", "text", "numbers", "a list", "null"])
def test_a_body_without_items_is_refused_clearly(body: object, workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    answer = post(client, csrf, body)
    assert answer.status_code == 422
    assert "items" in answer.json()["detail"] or answer.json()["errors"]


def test_more_than_999_items_are_refused(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    one = lodged(workspace)[0]
    answer = post(client, csrf, {"items": [{**one, "item_no": n} for n in range(1, 1001)]})
    assert answer.status_code == 422
    assert "999" in answer.json()["detail"]


def test_missing_fields_are_listed_each_with_why(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    item = {k: v for k, v in lodged(workspace)[0].items() if k not in ("hs_code", "importer_name")}
    answer = post(client, csrf, {"items": [item]})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["title"] == "Unprocessable Entity"
    assert {"hs_code", "importer_name"} <= {e["field"] for e in problem["errors"]}
    assert all(e["message"] for e in problem["errors"])


def test_hostile_strings_are_refused_as_data_not_executed(workspace: Workspace, workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    item = {**lodged(workspace)[0], "hs_code": HOSTILE, "port_of_loading": "'; DROP TABLE declarations; --",
            "goods_description": "\x1b[31m" + HOSTILE, HOSTILE: "x"}
    answer = post(client, csrf, {"items": [item]})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in answer.json()["errors"]}
    assert {"hs_code", "port_of_loading"} <= fields
    # No text column holds a NUL: refused before the route reads the body, whatever field carries it.
    nul = post(client, csrf, {"items": [{**item, "goods_description": "\x00" + HOSTILE}]})
    assert nul.status_code == 400, nul.text
    assert "NUL" in nul.json()["detail"]


def test_a_declaration_of_another_day_is_scored_with_that_days_state(workspace: Workspace,
                                                                    workspace_client: Clients) -> None:
    client, csrf = workspace_client("analyst")
    day = last_declaration_day(workspace.engine) - timedelta(days=1)
    items = load_items(workspace.engine, day, day + timedelta(days=1)).partition_by("declaration_id")[0]
    rows = [{k: v.isoformat() if isinstance(v, date) else v for k, v in r.items()} for r in items.iter_rows(named=True)]
    answer = post(client, csrf, {"items": rows})
    assert answer.status_code == 200
    assert answer.json()["day"] == day.isoformat()


def test_without_a_trained_model_scoring_is_409(client: TestClient, engine: Engine) -> None:
    csrf = sign_in(client, "ann")
    answer = post(client, csrf, {"items": [{"declaration_id": "DEC-1"}]})
    assert answer.status_code == 409
    assert answer.json()["detail"] == "no model is trained yet: run cintel train"


def test_the_app_keeps_one_scorer_and_reloads_it_when_the_models_change(workspace: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[date] = []
    original = RealtimeScorer.from_store

    def counted(engine: Engine, day: date | None = None) -> RealtimeScorer:
        loads.append(day or date.today())
        return original(engine, day)

    monkeypatch.setattr(RealtimeScorer, "from_store", staticmethod(counted))
    scorers = RealtimeScorers(workspace.engine, check_seconds=0.0)
    items = lodged(workspace)
    first = scorers.score(items)
    assert scorers.score(items) == first
    assert len(loads) == 1  # loaded once, on first use
    _, rules = scorers._current()
    monkeypatch.setattr(scorers, "_current", lambda: ((("fraud", "another-model"),), rules))
    scorers.score(items)
    assert len(loads) == 2  # the active models changed: loaded again


def test_the_benchmark_runs_end_to_end() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--smoke", "--json"], capture_output=True, text=True,
                          check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    for path in ("http_ms", "in_process_ms"):
        figures = result[path]
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"]
    assert math.isfinite(result["ratio_p99"])
    assert result["ratio_p99"] > 0
    assert result["requests"] == 20
