"""The risk queue page and API: the latest run ranked, paginated, sorted, filtered, escaped and logged."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.store.risk_tables import risk_assessments, risk_runs
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
    assert "<td>rule R03</td>" in page
    assert "<td>random check</td>" in page
    assert "87 %" in page
    assert "41 %" in page
    assert "rules: R03" in page


def test_hostile_text_is_escaped(client: TestClient, engine: Engine) -> None:
    write_run(engine, [{"declaration_id": "26NL0000000001", "rank": 1, "priority": 1.0, "channel": "red",
                        "reasons": [HOSTILE], "selection_reason": "rule", "selection_detail": HOSTILE}])
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


# --- readable for triage ------------------------------------------------------------------------------------------

def test_each_row_shows_importer_office_hs_origin_and_value_from_the_tables(workspace: Workspace,
                                                                            workspace_client: Client) -> None:
    client, _ = workspace_client("targeting_officer")
    body = client.get("/api/v1/queue", params={"size": 30}).json()
    ids = [r["declaration_id"] for r in body["items"]]
    with workspace.engine.connect() as conn:
        header = {r.declaration_id: r for r in conn.execute(select(declarations).where(
            declarations.c.declaration_id.in_(ids)))}
        items = conn.execute(select(declaration_items).where(declaration_items.c.declaration_id.in_(ids))
                             .order_by(declaration_items.c.item_no)).mappings().all()
    page = html_lib.unescape(client.get("/queue", params={"size": 30}).text)
    for row in body["items"]:
        own = [i for i in items if i["declaration_id"] == row["declaration_id"]]
        main = max(own, key=lambda i: float(i["customs_value"]))  # first of the largest on ties
        decl = header[row["declaration_id"]]
        assert (row["importer_name"], row["office_code"]) == (decl.importer_name, decl.office_code)
        assert (row["main_hs_code"], row["main_origin"]) == (main["hs_code"], main["country_of_origin"])
        assert row["customs_value"] == pytest.approx(sum(float(i["customs_value"]) for i in own))
        assert decl.importer_name in page
        assert f"{row['customs_value']:,.0f}" in page
        assert f"{main['hs_code'][:4]}.{main['hs_code'][4:6]}" in page
    headings = re.findall(r'<th scope="col"[^>]*>\s*(?:<a class="sort" href="[^"]*">)?([^<▲▼]+)', page)
    assert [h.strip() for h in headings] == ["Rank", "Declaration", "Importer", "Office", "HS", "Origin", "Value",
                                             "Channel", "Fraud probability", "Priority", "Why selected", "Reasons",
                                             "Assigned to"]


def test_probability_and_priority_are_in_human_units_and_times_to_the_minute(client: TestClient,
                                                                            engine: Engine) -> None:
    write_run(engine, [{"declaration_id": "26NL0000000001", "rank": 1, "priority": 0.8312, "probability": 0.8312,
                        "channel": "red"}])
    sign_in(client, "ann")
    page = client.get("/queue").text
    assert "<td class=\"num\">83 %</td>" in page  # probability
    assert "<td class=\"num\">83.1 %</td>" in page  # a run without a revenue model ranks by risk: a chance
    assert "0.8312" not in page
    made = re.search(r"made (\S+ \S+)\s", page)
    assert made is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", made.group(1)), made.group(1)  # local, no seconds or offset


def test_a_run_ranked_by_expected_revenue_shows_the_priority_as_money(client: TestClient, engine: Engine) -> None:
    run_id = write_run(engine, [{"declaration_id": "26NL0000000001", "rank": 1, "priority": 12345.678,
                                 "probability": 0.5, "channel": "red"}])
    with engine.begin() as conn:
        conn.execute(risk_runs.update().where(risk_runs.c.run_id == run_id).values(
            revenue_model_id="revenue-v1", parameters=json.dumps({"rank_by": "value"})))
    sign_in(client, "ann")
    assert client.get("/api/v1/queue").json()["run"]["priority_by_value"] is True
    page = client.get("/queue").text
    assert "Priority: expected additional revenue if inspected" in page
    assert '<td class="num">12,346</td>' in page


def test_column_headings_sort_the_queue(client: TestClient, engine: Engine) -> None:
    assessments = ranked(6)
    for a, value in zip(assessments, [50.0, 10.0, 60.0, 30.0, 20.0, 40.0], strict=True):
        a["customs_value"] = value
    run_id = write_run(engine, assessments)
    with engine.begin() as conn:
        for a in assessments:
            conn.execute(risk_assessments.update().where(risk_assessments.c.run_id == run_id,
                                                         risk_assessments.c.declaration_id == a["declaration_id"])
                         .values(customs_value=a["customs_value"]))
    sign_in(client, "ann")
    page = client.get("/queue").text
    link = re.search(r'<a class="sort" href="([^"]+)">Value</a>', page)
    assert link is not None
    by_value = client.get(html_lib.unescape(link.group(1))).text
    assert declaration_ids(by_value) == [f"26NL{i:010d}" for i in (2, 5, 4, 6, 1, 3)]
    assert 'aria-sort="ascending"' in by_value
    again = re.search(r'<a class="sort" href="([^"]+)">Value ▲</a>', by_value)
    assert again is not None  # a second click reverses
    descending = client.get(html_lib.unescape(again.group(1))).text
    assert declaration_ids(descending) == [f"26NL{i:010d}" for i in (3, 1, 6, 4, 5, 2)]
    api = client.get("/api/v1/queue", params={"sort": "-value"}).json()["items"]
    assert [r["customs_value"] for r in api] == [60.0, 50.0, 40.0, 30.0, 20.0, 10.0]


def test_an_earlier_run_can_be_chosen(client: TestClient, engine: Engine) -> None:
    first = write_run(engine, [{"declaration_id": "26NL0000000777", "rank": 1, "priority": 1.0, "channel": "red"}])
    latest = write_run(engine, ranked(3))
    sign_in(client, "ann")
    page = client.get("/queue").text
    options = re.findall(r'<option value="(\d+)"[^>]*>run \d+ ', page)
    assert options == [str(latest), str(first)]  # newest first
    earlier = client.get("/queue", params={"run": first}).text
    assert declaration_ids(earlier) == ["26NL0000000777"]
    assert f'<option value="{first}" selected>' in earlier
    assert client.get("/api/v1/queue", params={"run": first}).json()["run"]["run_id"] == first
    assert [r["run_id"] for r in client.get("/api/v1/queue/runs").json()] == [latest, first]
    unknown = client.get("/queue", params={"run": 999_999})
    assert unknown.status_code == 422
    assert "no run 999999" in unknown.text
    assert client.get("/api/v1/queue", params={"run": 999_999}).status_code == 404


def test_why_selected_reads_the_same_on_the_queue_and_the_declaration_page(workspace: Workspace,
                                                                          workspace_client: Client) -> None:
    client, _ = workspace_client("supervisor")
    rows = client.get("/api/v1/queue", params={"sort": "why", "size": 200}).json()["items"]
    seen = set()
    for row in rows:
        if row["selection_reason"] in seen:
            continue
        seen.add(row["selection_reason"])
        assert "draw" not in row["why"]
        assert "score" not in row["why"]
        page = html_lib.unescape(client.get(f"/declarations/{row['declaration_id']}").text)
        assert f'<tr><th scope="row">Why selected</th><td>{row["why"]}</td></tr>' in page
    assert {"score", "none"} <= seen
    assert len(seen) >= 3  # and a rule, random or exploration pick


# --- exports --------------------------------------------------------------------------------------------------------

def test_the_current_view_exports_as_csv_with_every_page(client: TestClient, engine: Engine) -> None:
    assessments = ranked(9)
    assessments[2]["reasons"] = ["=HYPERLINK(\"http://evil\")"]
    run_id = write_run(engine, assessments)
    sign_in(client, "ann")
    done = client.get("/queue/export.csv", params={"channel": "red", "sort": "-rank", "size": 1,
                                                   "purpose": "weekly red list"})
    assert done.status_code == 200
    assert done.headers["content-type"].startswith("text/csv")
    assert f'filename="risk-queue-run-{run_id}-2025-06-30.csv"' in done.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(done.content.decode("utf-8-sig"))))
    assert "3 declarations" in lines[0][0]
    assert "channel red" in lines[0][0]
    assert lines[1][:3] == ["rank", "declaration", "lodged"]
    assert [r[1] for r in lines[2:]] == ["26NL0000000009", "26NL0000000006", "26NL0000000003"]  # all pages, sorted
    reasons = lines[1].index("reasons")
    assert lines[4][reasons] == "'=HYPERLINK(\"http://evil\")"  # shown, never run
    with engine.connect() as conn:
        logged = conn.execute(select(access_log).order_by(access_log.c.id.desc())).mappings().first()
    assert logged is not None
    assert (logged["object_kind"], logged["object_id"], logged["route"], logged["purpose"]) == (
        "queue", str(run_id), "/queue/export.csv", "weekly red list")


def test_the_current_view_exports_as_xlsx_with_numbers_and_text_kept_apart(client: TestClient,
                                                                          engine: Engine) -> None:
    from openpyxl import load_workbook

    assessments = ranked(4)
    assessments[0]["reasons"] = ["=1+1"]
    write_run(engine, assessments)
    sign_in(client, "ann")
    done = client.get("/queue/export.xlsx", params={"sort": "rank"})
    assert done.status_code == 200
    assert done.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(done.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    headings = rows[1]
    assert [r[1] for r in rows[2:]] == [f"26NL{i:010d}" for i in range(1, 5)]
    first = dict(zip(headings, rows[2], strict=True))
    assert first["rank"] == 1
    assert first["fraud probability %"] == pytest.approx(80.0)
    assert first["reasons"] == "'=1+1"
    assert sheet.cell(row=3, column=headings.index("reasons") + 1).data_type == "s"


def test_exports_are_for_queue_readers_and_validate_their_query(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(2))
    sign_in(client, "ada")
    assert client.get("/queue/export.csv").status_code == 403
    sign_in(client, "ann")
    assert client.get("/queue/export.pdf").status_code == 422
    bad = client.get("/queue/export.csv", params={"sort": "password_hash"})
    assert bad.status_code == 422
    assert "choose a sort order from the list" in html_lib.unescape(bad.text)


# --- forms keep what was typed -------------------------------------------------------------------------------------

def test_a_wrong_field_is_shown_again_with_what_was_typed_and_why(client: TestClient, engine: Engine) -> None:
    write_run(engine, ranked(3))
    sign_in(client, "ann")
    page = client.get("/queue", params={"purpose": "x", "size": "500", "channel": "red"})
    assert page.status_code == 422
    text = html_lib.unescape(page.text)
    assert 'name="purpose" type="text" list="purposes" minlength="3" maxlength="200" value="x" aria-invalid="true"' \
        in text
    assert 'id="error-purpose">say why you are looking, in 3 to 200 characters</span>' in text
    assert 'value="500" aria-invalid="true"' in text
    assert "rows per page: 1 to 200" in text
    assert '<option value="red" selected>' in text  # the valid choices are kept too
    assert declaration_ids(page.text) == []  # nothing shown, so nothing logged
    with engine.connect() as conn:
        assert conn.execute(select(access_log)).first() is None


def test_runs_stored_before_the_queue_facts_get_them_when_the_store_is_upgraded(engine: Engine) -> None:
    """Migration 0014 fills the value, HS code and origin of the assessments already stored, from their items;
    their explanation stays unknown (null), which the declaration page says."""
    from alembic import command

    from cintel.domain.records import RecordKind
    from cintel.ingest.rows_in import ingest_rows
    from cintel.store.engine import alembic_config, upgrade
    from tests.factories import declaration

    command.downgrade(alembic_config(engine), "0013")
    rows = declaration(5, items=3)
    for n, (value, hs, origin) in enumerate([("100", "61091000", "CN"), ("900", "85171200", "VN"),
                                             ("900", "64039900", "TR")]):
        rows[n].update(customs_value=value, hs_code=hs, country_of_origin=origin)
    assert ingest_rows(engine, RecordKind.DECLARATIONS, rows, source="test").rows_stored == 3
    run_id = write_run(engine, [{"declaration_id": "DEC-0005", "rank": 1, "priority": 1.0, "channel": "red"}])
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(select(risk_assessments).where(risk_assessments.c.run_id == run_id)).mappings().one()
    assert (row["customs_value"], row["main_hs_code"], row["main_origin"], row["office_code"]) == (
        1900.0, "85171200", "VN", "NLRTM01")
    assert row["explanation"] is None
