"""The risk queue page and API: the latest run ranked, paginated, sorted, filtered, escaped and logged."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.store.web_tables import access_log
from tests.web.conftest import HOSTILE, ranked, sign_in, write_run


def declaration_ids(html: str) -> list[str]:
    return re.findall(r"<td>(26NL\d{10})</td>", html)


def test_without_a_run_the_page_says_how_to_make_one(client: TestClient) -> None:
    sign_in(client, "ann")
    page = client.get("/")
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
    page = client.get("/").text
    assert declaration_ids(page) == ["26NL0000000001", "26NL0000000002"]  # the older run is not shown
    assert "trader&#39;s hit rate is high" in page
    assert "rule (R03)" in page
    assert "0.87" in page
    assert "rules: R03" in page


def test_hostile_text_is_escaped(client: TestClient, engine: Engine) -> None:
    write_run(engine, [{"declaration_id": "26NL0000000001", "rank": 1, "priority": 1.0, "channel": "red",
                        "reasons": [HOSTILE], "selection_detail": HOSTILE}])
    sign_in(client, "ivan")  # whose display name is the same script
    page = client.get("/").text
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # name, reason, selection detail


def test_the_queue_is_paginated(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(25))
    sign_in(client, "ann")
    second = client.get("/?page=2&size=10").text
    assert declaration_ids(second) == [f"26NL{i:010d}" for i in range(11, 21)]
    assert "Page 2 of 3" in second
    assert 'rel="prev"' in second
    assert 'rel="next"' in second
    beyond = client.get("/?page=9&size=10")
    assert beyond.status_code == 200
    assert declaration_ids(beyond.text) == []


def test_a_page_size_beyond_the_limit_is_refused_clearly(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(3))
    sign_in(client, "ann")
    page = client.get("/?size=100000")
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
    by_rank_desc = client.get("/?sort=-rank").text
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
    assert len(declaration_ids(client.get("/?channel=yellow").text)) == 3
    assert len(declaration_ids(client.get("/?channel=").text)) == 9  # the form's "all"
    assert client.get("/?channel=purple").status_code == 422


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
    client.get("/")
    client.get("/?purpose=case 2025-117 follow-up")
    with engine.connect() as conn:
        rows = conn.execute(select(access_log).order_by(access_log.c.id)).mappings().all()
    assert [(r["username"], r["object_kind"], r["object_id"], r["route"], r["purpose"]) for r in rows] == [
        ("ann", "queue", str(run_id), "/", "risk queue review"),
        ("ann", "queue", str(run_id), "/", "case 2025-117 follow-up"),
    ]
    assert all(r["viewed_at"] is not None for r in rows)


def test_a_refused_view_is_not_logged_as_a_view(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(2))
    sign_in(client, "ada")
    client.get("/")
    with engine.connect() as conn:
        assert conn.execute(select(access_log)).first() is None
