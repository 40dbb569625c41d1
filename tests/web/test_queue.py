"""The risk queue page and API: the latest run ranked, paginated, sorted, filtered, escaped and logged."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.store.risk_tables import risk_assessments
from cintel.store.tables import declaration_items, declarations
from cintel.store.web_tables import access_log
from tests.conftest import Workspace
from tests.web.conftest import HOSTILE, ranked, sign_in, write_run

Client = Callable[[str], tuple[TestClient, str]]


def declaration_ids(html: str) -> list[str]:
    return re.findall(r'<a class="decl" href="/declarations/(26NL\d+)">', html)


def test_without_a_run_the_page_says_how_to_make_one(client: TestClient) -> None:
    sign_in(client, "ann")
    page = client.get("/queue")
    assert page.status_code == 200
    assert "No declarations have been scored yet" in page.text
    assert "cintel select --date" in page.text


def test_the_queue_shows_the_latest_run_ranked_with_reasons(client: TestClient, engine: Engine) -> None:
    write_run(engine, [{"declaration_id": "26NL0000000999", "rank": 1, "priority": 1.0, "channel": "red"}])
    write_run(engine, [
        {"declaration_id": "26NL0000000002", "rank": 2, "priority": 0.5, "probability": 0.41, "channel": "yellow",
         "selection_reason": "random", "reasons": ["unit value far below peers"]},
        {"declaration_id": "26NL0000000001", "rank": 1, "priority": 0.9, "probability": 0.87, "channel": "red",
         "selection_reason": "rule", "selection_detail": "R03", "rule_hits": [["R03", 2]],
         "reasons": ["trader's hit rate is high"]},
    ])
    sign_in(client, "ann")
    page = client.get("/queue").text
    assert declaration_ids(page) == ["26NL0000000001", "26NL0000000002"]  # the older run is not shown
    assert "trader&#39;s hit rate is high" in page
    assert "rule (R03)" in page
    assert "0.87" in page
    assert "rules: R03" in page


def test_hostile_text_is_escaped(client: TestClient, engine: Engine) -> None:
    write_run(engine, [{"declaration_id": "26NL0000000001", "rank": 1, "priority": 1.0, "channel": "red",
                        "reasons": [HOSTILE], "selection_detail": HOSTILE}])
    sign_in(client, "ivan")  # whose display name is the same script
    page = client.get("/queue").text
    assert HOSTILE not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # name, reason, selection detail


def test_the_queue_is_paginated(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(25))
    sign_in(client, "ann")
    second = client.get("/queue?page=2&size=10").text
    assert declaration_ids(second) == [f"26NL{i:010d}" for i in range(11, 21)]
    assert "Page 2 of 3" in second
    assert 'rel="prev"' in second
    assert 'rel="next"' in second
    beyond = client.get("/queue?page=9&size=10")
    assert beyond.status_code == 200
    assert declaration_ids(beyond.text) == []


def test_a_page_size_beyond_the_limit_is_refused_clearly(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(3))
    sign_in(client, "ann")
    page = client.get("/queue?size=100000")
    assert page.status_code == 422
    assert "size" in page.text
    assert "200" in page.text
    api = client.get("/api/v1/queue?size=100000")
    assert api.status_code == 422
    problem = api.json()
    assert problem["status"] == 422
    assert problem["title"] == "Unprocessable Entity"
    assert problem["errors"][0]["field"] == "size"
    assert client.get("/api/v1/queue?page=0").status_code == 422


def test_sorting_takes_only_allowed_columns(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(5))
    sign_in(client, "ann")
    by_probability = client.get("/api/v1/queue?sort=probability").json()["items"]
    assert [r["rank"] for r in by_probability] == [5, 4, 3, 2, 1]
    by_rank_desc = client.get("/queue?sort=-rank").text
    assert declaration_ids(by_rank_desc)[0] == "26NL0000000005"
    refused = client.get("/api/v1/queue", params={"sort": "rank; DROP TABLE users"})
    assert refused.status_code == 422
    assert client.get("/api/v1/queue?sort=password_hash").status_code == 422


def test_the_queue_is_filtered_by_channel(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(9))
    sign_in(client, "ann")
    red = client.get("/api/v1/queue?channel=red").json()
    assert red["total"] == 3
    assert {r["channel"] for r in red["items"]} == {"red"}
    assert len(declaration_ids(client.get("/queue?channel=yellow").text)) == 3
    assert len(declaration_ids(client.get("/queue?channel=").text)) == 9  # the form's "all"
    assert client.get("/queue?channel=purple").status_code == 422


def test_the_api_returns_the_same_page_as_json(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, ranked(7))
    sign_in(client, "ann")
    body = client.get("/api/v1/queue?page=2&size=3").json()
    assert body["run"]["run_id"] == run_id
    assert (body["total"], body["page"], body["size"], body["pages"]) == (7, 2, 3, 3)
    assert [r["rank"] for r in body["items"]] == [4, 5, 6]
    assert body["items"][0]["reasons"] == ["reason 4"]


def test_every_view_of_the_queue_is_logged_with_its_purpose(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, ranked(2))
    sign_in(client, "ann")
    client.get("/queue")
    client.get("/queue?purpose=case 2025-117 follow-up")
    with engine.connect() as conn:
        rows = conn.execute(select(access_log).order_by(access_log.c.id)).mappings().all()
    assert [(r["username"], r["object_kind"], r["object_id"], r["route"], r["purpose"]) for r in rows] == [
        ("ann", "queue", str(run_id), "/queue", "risk queue review"),
        ("ann", "queue", str(run_id), "/queue", "case 2025-117 follow-up"),
    ]
    assert all(r["viewed_at"] is not None for r in rows)


def test_a_refused_view_is_not_logged_as_a_view(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(2))
    sign_in(client, "ada")
    client.get("/queue")
    with engine.connect() as conn:
        assert conn.execute(select(access_log)).first() is None


# --- filters on the demo workspace (real declarations and items), each checked against the tables ----------------

def _expected(workspace: Workspace, run_id: int) -> dict[str, dict[str, Any]]:
    """Per declaration of the run: channel, rules hit, office, item chapters and origins, read from the tables."""
    engine = workspace.engine
    with engine.connect() as conn:
        rows = conn.execute(select(risk_assessments.c.declaration_id, risk_assessments.c.channel,
                                   risk_assessments.c.rule_hits).where(risk_assessments.c.run_id == run_id)).all()
        ids = [r.declaration_id for r in rows]
        offices = dict(tuple(r) for r in conn.execute(select(declarations.c.declaration_id, declarations.c.office_code)
                                                      .where(declarations.c.declaration_id.in_(ids))))
        items = conn.execute(select(declaration_items.c.declaration_id, declaration_items.c.hs_code,
                                    declaration_items.c.country_of_origin)
                             .where(declaration_items.c.declaration_id.in_(ids))).all()
    out = {r.declaration_id: {"channel": r.channel, "rules": {h[0] for h in json.loads(r.rule_hits)},
                              "office": offices.get(r.declaration_id), "chapters": set(), "origins": set()}
           for r in rows}
    for i in items:
        out[i.declaration_id]["chapters"].add(i.hs_code[:2])
        out[i.declaration_id]["origins"].add(i.country_of_origin)
    return out


def _all_ids(client: TestClient, **params: str) -> tuple[int, list[str]]:
    body = client.get("/api/v1/queue", params={**params, "size": 200}).json()
    ids = [r["declaration_id"] for r in body["items"]]
    for page in range(2, body["pages"] + 1):
        ids += [r["declaration_id"] for r in client.get("/api/v1/queue", params={
            **params, "size": 200, "page": page}).json()["items"]]
    assert len(ids) == body["total"]
    return body["run"]["run_id"], ids


def test_every_filter_selects_what_the_tables_say(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    body = client.get("/api/v1/queue").json()
    run_id, options = body["run"]["run_id"], body["options"]
    expected = _expected(workspace, run_id)
    checks: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
        "channel": ("red", lambda d: d["channel"] == "red"),
        "office": (options["offices"][0], lambda d: d["office"] == options["offices"][0]),
        "chapter": (options["chapters"][-1], lambda d: options["chapters"][-1] in d["chapters"]),
        "origin": (options["origins"][0], lambda d: options["origins"][0] in d["origins"]),
        "rule": (options["rules"][0], lambda d: options["rules"][0] in d["rules"]),
    }
    for name, (value, keep) in checks.items():
        shown_run, ids = _all_ids(client, **{name: value})
        assert shown_run == run_id
        want = {k for k, d in expected.items() if keep(d)}
        assert want, name
        assert set(ids) == want, name
        assert len(ids) == len(set(ids)), f"{name}: a declaration with several matching items is listed once"
    # filters combine (AND), and the page shows the same as the API
    _, both = _all_ids(client, channel="red", rule=options["rules"][0])
    assert set(both) == {k for k, d in expected.items() if d["channel"] == "red" and options["rules"][0] in d["rules"]}
    html = client.get("/queue", params={"office": options["offices"][0], "size": 200}).text
    _, api_ids = _all_ids(client, office=options["offices"][0])
    assert declaration_ids(html) == api_ids[:200]


def test_filter_options_are_the_runs_values(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("targeting_officer")
    body = client.get("/api/v1/queue").json()
    expected = _expected(workspace, body["run"]["run_id"])
    assert body["options"] == {
        "offices": sorted({d["office"] for d in expected.values()}),
        "chapters": sorted(set().union(*(d["chapters"] for d in expected.values()))),
        "origins": sorted(set().union(*(d["origins"] for d in expected.values()))),
        "rules": sorted(set().union(*(d["rules"] for d in expected.values()))),
    }
    page = client.get("/queue").text
    for label in ("Channel", "Office", "HS chapter", "Origin", "Rule hit", "Assigned", "Sort by", "Purpose"):
        assert f">{label}</label>" in page


@pytest.mark.parametrize(("name", "value"), [
    ("office", "nl rtm"), ("office", "' OR 1=1 --"), ("chapter", "6"), ("chapter", "6a"), ("chapter", "610"),
    ("origin", "cn"), ("origin", "CHN"), ("rule", "R01%"), ("rule", "R0'1"), ("assigned_to", "Robert'); --"),
    ("channel", "RED"), ("sort", "rank desc"), ("sort", "(select 1)"), ("page", "-1"), ("size", "0"),
])
def test_bad_filter_values_are_refused(client: TestClient, engine: Engine, name: str, value: str) -> None:
    write_run(engine, ranked(3))
    sign_in(client, "ann")
    page = client.get("/queue", params={name: value})
    assert page.status_code == 422
    assert name in page.text
    api = client.get("/api/v1/queue", params={name: value})
    assert api.status_code == 422
    assert api.json()["errors"][0]["field"] == name


def test_the_rule_filter_matches_whole_rule_ids(client: TestClient, engine: Engine) -> None:
    write_run(engine, [
        {"declaration_id": "26NL0000000001", "rank": 1, "priority": 0.9, "channel": "red",
         "rule_hits": [["R1", 1]]},
        {"declaration_id": "26NL0000000002", "rank": 2, "priority": 0.8, "channel": "red",
         "rule_hits": [["R10", 1], ["X_1", 2]]},
        {"declaration_id": "26NL0000000003", "rank": 3, "priority": 0.7, "channel": "red",
         "rule_hits": [["r1", 1], ["XA1", 1]]},
    ])
    sign_in(client, "ann")

    def ids(rule: str) -> list[str]:
        return [r["declaration_id"] for r in client.get(f"/api/v1/queue?rule={rule}").json()["items"]]

    assert ids("R1") == ["26NL0000000001"]  # not R10, not r1
    assert ids("R10") == ["26NL0000000002"]
    assert ids("X_1") == ["26NL0000000002"]  # '_' is not a wildcard
    assert ids("R2") == []
    assert client.get("/api/v1/queue").json()["options"]["rules"] == sorted(["R1", "R10", "X_1", "XA1", "r1"])


def test_pagination_bounds(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(201))
    sign_in(client, "ann")
    last = client.get("/api/v1/queue?size=200&page=2").json()
    assert (last["total"], last["pages"], [r["rank"] for r in last["items"]]) == (201, 2, [201])
    assert client.get("/api/v1/queue?size=200&page=3").json()["items"] == []
    assert client.get("/api/v1/queue?page=1000000").status_code == 200
    assert client.get("/api/v1/queue?page=1000001").status_code == 422
    assert client.get("/api/v1/queue?size=201").status_code == 422
    first = client.get("/queue?size=200").text
    assert 'rel="prev"' not in first
    assert "Page 1 of 2" in first


def test_the_queue_benchmark_runs_in_smoke_mode() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(root / "bench" / "bench_web_queue.py"), "--smoke", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=root, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loads"] == 20
    assert result["synthetic_run"]["assessments"] > 0
    assert result["page_ms"]["p95"] > 0
    assert result["ratio_p95"] > 0
