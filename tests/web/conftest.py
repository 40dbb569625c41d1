"""A workspace on each back end: the app on a fresh store, users of every kind, and a scored run."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from cintel.settings import Settings
from cintel.store.risk_tables import risk_assessments, risk_runs
from cintel.web.accounts import add_user
from cintel.web.app import create_app
from tests.conftest import Workspace

PASSWORD = "correct horse battery staple"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def settings() -> Settings:
    return Settings(web_secure_cookies=True)


@pytest.fixture
def app(engine: Engine, settings: Settings) -> FastAPI:
    add_user(engine, "ann", PASSWORD, ["analyst"], "Ann Analyst")
    add_user(engine, "ada", PASSWORD, ["administrator"], "Ada Admin")
    add_user(engine, "ivan", PASSWORD, ["inspector"], HOSTILE)
    return create_app(engine, settings=settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTPS client (so Secure cookies are sent back) that does not follow redirects."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signs in and returns the session's CSRF token, as the queue page's sign-out form renders it."""
    done = client.post("/login", data={"username": username, "password": password})
    assert done.status_code == 303, done.text
    page = client.get("/api/docs")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def write_run(engine: Engine, assessments: list[dict[str, object]], day: date = date(2025, 6, 30)) -> int:
    """A recorded selection run with the given assessments, as `cintel select` writes them."""
    with engine.begin() as conn:
        run_id = conn.execute(insert(risk_runs).values(
            kind="select", run_date=day, created_at=datetime.now(UTC), created_by="ann", model_id="fraud-v1",
            revenue_model_id=None, rule_versions="[]", parameters="{}", summary=json.dumps({"n": len(assessments)}),
        ).returning(risk_runs.c.run_id)).scalar_one()
        conn.execute(insert(risk_assessments), [{
            "run_id": run_id, "declaration_id": a["declaration_id"], "probability": a.get("probability"),
            "expected_revenue": a.get("expected_revenue", 0.0), "priority": a["priority"], "rank": a["rank"],
            "rule_score": a.get("rule_score", 0.0), "rule_hits": json.dumps(a.get("rule_hits", [])),
            "channel": a["channel"], "selection_reason": a.get("selection_reason", "score"),
            "selection_detail": a.get("selection_detail"), "reasons": json.dumps(a.get("reasons", [])),
        } for a in assessments])
    return int(run_id)


def ranked(n: int) -> list[dict[str, object]]:
    """n assessments ranked 1..n: every third red, every third yellow, the rest green."""
    channels = ("red", "yellow", "green")
    return [{"declaration_id": f"26NL{i:010d}", "rank": i, "priority": 1.0 / i,
             "probability": round(1 - i / (n + 1), 3), "channel": channels[i % 3], "reasons": [f"reason {i}"],
             "rule_hits": [["R01", 1]] if i % 2 else []}
            for i in range(1, n + 1)]


@pytest.fixture
def workspace_client(workspace: Workspace) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """A factory: ``workspace_client(role)`` is an HTTPS client signed in as the workspace's demo user with
    that role, and its CSRF token."""
    app = create_app(workspace.engine, settings=Settings(web_secure_cookies=True))
    opened: list[TestClient] = []

    def make(role: str) -> tuple[TestClient, str]:
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        client.__enter__()
        opened.append(client)
        username, password = workspace.user(role)
        return client, sign_in(client, username, password)

    yield make
    for client in opened:
        client.__exit__(None, None, None)
