"""The case pages and API: opened from real declarations, entities and rings of the workspace, worked
through allowed steps by allowed roles, escaped, logged and exported."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cintel.store.web_tables import access_log
from tests.conftest import Workspace

Client = Callable[[str], tuple[TestClient, str]]
HOSTILE = "<script>alert(1)</script> <b>bold</b> & co"


def declaration_of(workspace: Workspace, n: int = 0) -> str:
    return str(workspace.demo["targeting"]["red_list"][n]["declaration_id"])


def ring_of(workspace: Workspace) -> list[str]:
    evidence = workspace.demo["entities"]["rings"][0]["evidence"]
    return sorted({row[side].removeprefix("entity:") for row in evidence for side in ("company_a", "company_b")})


def open_case(client: TestClient, csrf: str, origin_kind: str, origin_ref: str, title: str = "A lead",
              summary: str = "") -> int:
    done = client.post("/cases", data={"csrf_token": csrf, "origin_kind": origin_kind, "origin_ref": origin_ref,
                                       "title": title, "summary": summary})
    assert done.status_code == 303, done.text
    match = re.fullmatch(r"/cases/(\d+)", done.headers["location"])
    assert match is not None
    return int(match.group(1))


def pictures(pdf: bytes) -> int:
    """Images drawn in the PDF: image objects, less the soft masks of transparent PNGs (one object, shared by
    the images whose masks are the same)."""
    return pdf.count(b"/Subtype /Image") - len(set(re.findall(rb"/SMask (\d+) 0 R", pdf)))


def views(workspace: Workspace, case_id: int) -> list[tuple[str, str, str]]:
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(access_log.c.username, access_log.c.purpose, access_log.c.route)
                            .where(access_log.c.object_kind == "case", access_log.c.object_id == str(case_id))
                            .order_by(access_log.c.id)).all()
    return [(r[0], r[1], r[2]) for r in rows]


def test_an_analyst_opens_a_case_from_a_declaration(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    declaration = declaration_of(workspace)
    case_id = open_case(client, csrf, "declaration", declaration, "Undervalued phones", "look at the price")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "Undervalued phones" in page.text
    assert f'href="/declarations/{declaration}"' in page.text
    assert ">lead</span>" in page.text
    assert "opened from declaration" in page.text


def test_a_case_opens_from_a_ring_and_links_each_member(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("targeting_officer")
    members = ring_of(workspace)
    case_id = open_case(client, csrf, "ring", ",".join(members), "Front companies")
    page = client.get(f"/cases/{case_id}").text
    for member in members:
        assert f'href="/entities/{member}"' in page


def test_an_unknown_origin_is_refused_with_a_clear_message(workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    answer = client.post("/cases", data={"csrf_token": csrf, "origin_kind": "declaration",
                                         "origin_ref": "NO-SUCH-DECL", "title": "A lead"})
    assert answer.status_code == 400
    assert "no declaration &#39;NO-SUCH-DECL&#39; in the store" in answer.text
    api = client.post("/api/v1/cases", json={"origin_kind": "entity", "origin_ref": "ENT404", "title": "A lead"},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code == 400
    assert "no entity 'ENT404'" in api.json()["detail"]


@pytest.mark.parametrize(("field", "value"), [("title", "ab"), ("title", "x" * 201), ("origin_kind", "vessel")])
def test_malformed_forms_come_back_with_the_error_beside_the_field(workspace: Workspace, workspace_client: Client,
                                                                   field: str, value: str) -> None:
    client, csrf = workspace_client("analyst")
    form = {"csrf_token": csrf, "origin_kind": "declaration", "origin_ref": declaration_of(workspace),
            "title": "A lead", field: value}
    answer = client.post("/cases", data=form)
    assert answer.status_code == 400
    assert f'<p class="field-error" id="open-{field}-error" role="alert">' in answer.text  # beside the field
    assert f'aria-describedby="open-{field}-error"' in answer.text
    assert f'value="{form["origin_ref"]}"' in answer.text  # what was typed is kept


@pytest.mark.parametrize("role", ["inspector", "administrator"])
def test_inspectors_and_administrators_cannot_open_cases(workspace: Workspace, workspace_client: Client,
                                                          role: str) -> None:
    client, csrf = workspace_client(role)
    answer = client.post("/cases", data={"csrf_token": csrf, "origin_kind": "declaration",
                                         "origin_ref": declaration_of(workspace), "title": "A lead"})
    assert answer.status_code == 403


def test_administrators_do_not_read_cases(workspace_client: Client) -> None:
    client, _ = workspace_client("administrator")
    assert client.get("/cases").status_code == 403
    assert client.get("/api/v1/cases").status_code == 403


def test_unknown_cases_are_not_found(workspace_client: Client) -> None:
    client, csrf = workspace_client("supervisor")
    for path in ("/cases/999999", "/cases/999999/export.pdf", "/cases/999999/export.csv", "/api/v1/cases/999999"):
        assert client.get(path).status_code == 404, path
    assert client.post("/cases/999999/notes", data={"csrf_token": csrf, "text": "x"}).status_code == 404
    assert client.post("/api/v1/cases/999999/status", json={"status": "open"},
                       headers={"X-CSRF-Token": csrf}).status_code == 404


def test_a_case_is_worked_from_lead_to_closed(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    boss, boss_csrf = workspace_client("supervisor")
    analyst, _ = workspace.user("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    steps = [(client, csrf, "notes", {"text": "broker called back"}),
             (client, csrf, "evidence", {"kind": "ring", "ref": ",".join(ring_of(workspace)),
                                         "note": "shares a phone"}),
             (boss, boss_csrf, "assign", {"username": analyst}),
             (client, csrf, "status", {"status": "open"}),
             (client, csrf, "status", {"status": "closed", "outcome": "undervaluation"})]
    for who, token, action, form in steps:
        done = who.post(f"/cases/{case_id}/{action}", data={"csrf_token": token, **form})
        assert done.status_code == 303, (action, done.text)
        assert done.headers["location"] == f"/cases/{case_id}"
    page = client.get(f"/cases/{case_id}").text
    assert ">closed</span>" in page
    assert "undervaluation" in page
    assert "broker called back" in page
    assert f"assigned to {analyst}" in page
    assert "open -&gt; closed (outcome: undervaluation)" in page


def test_bad_transitions_are_refused_with_a_clear_message(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("supervisor")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    answer = client.post(f"/cases/{case_id}/status", data={"csrf_token": csrf, "status": "inspection"})
    assert answer.status_code == 400
    assert "cannot go from lead to inspection; from lead it may go to closed, open" in answer.text
    closing = client.post(f"/api/v1/cases/{case_id}/status", json={"status": "closed"},
                          headers={"X-CSRF-Token": csrf})
    assert closing.status_code == 400
    assert "closing needs an outcome" in closing.json()["detail"]


def test_closing_needs_the_supervisor_or_the_assignee(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    refused = client.post(f"/cases/{case_id}/status", data={"csrf_token": csrf, "status": "closed",
                                                           "outcome": "no_case"})
    assert refused.status_code == 403
    assert "only a supervisor or the assignee" in refused.text
    boss, boss_csrf = workspace_client("supervisor")
    assert boss.post(f"/cases/{case_id}/status", data={"csrf_token": boss_csrf, "status": "closed",
                                                       "outcome": "no_case"}).status_code == 303


def test_inspectors_see_only_their_cases_and_may_only_add_notes(workspace: Workspace,
                                                                 workspace_client: Client) -> None:
    analyst, csrf = workspace_client("analyst")
    inspector_name, _ = workspace.user("inspector")
    theirs = open_case(analyst, csrf, "declaration", declaration_of(workspace, 0), "For the inspector")
    other = open_case(analyst, csrf, "declaration", declaration_of(workspace, 1), "Not theirs")
    analyst.post(f"/cases/{theirs}/assign", data={"csrf_token": csrf, "username": inspector_name})
    inspector, icsrf = workspace_client("inspector")
    listed = inspector.get("/cases")
    assert listed.status_code == 200
    assert f'href="/cases/{theirs}"' in listed.text
    assert f'href="/cases/{other}"' not in listed.text
    assert {c["case_id"] for c in inspector.get("/api/v1/cases").json()["items"]} >= {theirs}
    assert other not in {c["case_id"] for c in inspector.get("/api/v1/cases?size=200").json()["items"]}
    assert inspector.get(f"/cases/{other}").status_code == 404
    assert inspector.get(f"/cases/{other}/export.pdf").status_code == 404
    page = inspector.get(f"/cases/{theirs}")
    assert page.status_code == 200
    assert "Change status" not in page.text
    assert inspector.post(f"/cases/{theirs}/notes", data={"csrf_token": icsrf, "text": "seal intact"}
                          ).status_code == 303
    for action, form in (("status", {"status": "open"}), ("assign", {"username": inspector_name}),
                         ("evidence", {"kind": "declaration", "ref": declaration_of(workspace, 1), "note": "x"})):
        assert inspector.post(f"/cases/{theirs}/{action}", data={"csrf_token": icsrf, **form}).status_code == 403


def test_hostile_text_is_escaped_on_the_page_and_in_the_list(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace), HOSTILE, HOSTILE)
    client.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf, "text": HOSTILE})
    for path in (f"/cases/{case_id}", "/cases?size=200"):
        text = client.get(path).text
        assert "<script>alert" not in text
        assert "<b>bold" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt; &amp; co" in text


def test_views_and_exports_are_logged_with_their_purpose(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    username, _ = workspace.user("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    assert client.get(f"/cases/{case_id}?purpose=weekly+review").status_code == 200
    assert client.get(f"/cases/{case_id}/export.csv?purpose=for+the+prosecutor").status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}?purpose=api+check").status_code == 200
    assert views(workspace, case_id) == [
        (username, "weekly review", f"/cases/{case_id}"),
        (username, "for the prosecutor", f"/cases/{case_id}/export.csv"),
        (username, "api check", f"/api/v1/cases/{case_id}")]
    assert client.get(f"/cases/{case_id}?purpose=x").status_code == 422  # a purpose says something


def test_the_csv_export_is_an_attachment_that_neutralises_formulas(workspace: Workspace,
                                                                   workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace), "=cmd|' /C calc'!A0")
    client.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf, "text": "@SUM(1+1)"})
    answer = client.get(f"/cases/{case_id}/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    disposition = answer.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="case-{case_id}-cmd-c-calc-a0\.csv"', disposition), disposition
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[1][rows[0].index("title")] == "'=cmd|' /C calc'!A0"
    assert "'@SUM(1+1)" in [r[rows[0].index("text")] for r in rows]


def test_the_pdf_export_is_an_attachment_with_the_pictures(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("supervisor")
    case_id = open_case(client, csrf, "ring", ",".join(ring_of(workspace)), HOSTILE)
    answer = client.get(f"/cases/{case_id}/export.pdf?purpose=court+file")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="case-{case_id}-script-alert-1-script-b-bold-b-co.pdf"')
    assert answer.content.startswith(b"%PDF")
    assert answer.content.count(b"/Subtype /Image") >= 2
    assert len(answer.content) > 10_000


def test_the_api_answers_what_the_pages_show(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("targeting_officer")
    headers = {"X-CSRF-Token": csrf}
    made = client.post("/api/v1/cases", json={"origin_kind": "declaration", "origin_ref": declaration_of(workspace),
                                              "title": "Via the API", "summary": "from a script"}, headers=headers)
    assert made.status_code == 201, made.text
    case_id = made.json()["case_id"]
    assert client.post(f"/api/v1/cases/{case_id}/notes", json={"text": "api note"}, headers=headers).status_code == 201
    evidence = {"kind": "entity", "ref": ring_of(workspace)[0], "note": "the importer"}
    assert client.post(f"/api/v1/cases/{case_id}/evidence", json=evidence, headers=headers).status_code == 201
    officer, _ = workspace.user("targeting_officer")
    assert client.post(f"/api/v1/cases/{case_id}/assign", json={"username": officer}, headers=headers).json()[
        "assigned_to"] == officer
    case = client.post(f"/api/v1/cases/{case_id}/status", json={"status": "open"}, headers=headers).json()
    assert case["status"] == "open"
    assert client.get(f"/api/v1/cases/{case_id}").json() == case
    page = client.get(f"/cases/{case_id}").text
    for item in case["items"]:
        assert item["note"] in page
    for event in case["events"]:
        assert event["text"].replace(">", "&gt;") in page
    listed = client.get("/api/v1/cases?status=open&size=200").json()
    assert case_id in [c["case_id"] for c in listed["items"]]
    listed_page = client.get("/cases?status=open&size=200").text
    for c in listed["items"]:
        assert f'href="/cases/{c["case_id"]}"' in listed_page


# ---- closing: one rule whatever the order; a closed case is read-only until reopened ------------------------------

def test_assigning_a_case_to_oneself_does_not_let_one_close_it(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    analyst, _ = workspace.user("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    assert client.post(f"/cases/{case_id}/assign", data={"csrf_token": csrf, "username": analyst}).status_code == 303
    page = client.get(f"/cases/{case_id}").text
    assert '<option value="closed">' not in page
    assert "you assigned case" in page
    refused = client.post(f"/api/v1/cases/{case_id}/status", json={"status": "closed", "outcome": "no_case"},
                          headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert "to yourself" in refused.json()["detail"]
    boss, boss_csrf = workspace_client("supervisor")
    boss.post(f"/cases/{case_id}/assign", data={"csrf_token": boss_csrf, "username": analyst})
    assert '<option value="closed">' in client.get(f"/cases/{case_id}").text
    assert client.post(f"/cases/{case_id}/status", data={"csrf_token": csrf, "status": "closed",
                                                         "outcome": "no_case"}).status_code == 303


def test_a_closed_case_is_read_only_until_a_supervisor_reopens_it(workspace: Workspace,
                                                                  workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    boss, boss_csrf = workspace_client("supervisor")
    officer, _ = workspace.user("targeting_officer")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    assert boss.post(f"/cases/{case_id}/status", data={"csrf_token": boss_csrf, "status": "closed",
                                                       "outcome": "referred"}).status_code == 303
    page = client.get(f"/cases/{case_id}").text
    assert "read-only until a supervisor reopens it" in page
    for form in ('action="/cases/{0}/notes"', 'action="/cases/{0}/evidence"', 'action="/cases/{0}/assign"',
                 'action="/cases/{0}/status"', 'action="/cases/{0}/reopen"'):
        assert form.format(case_id) not in page
    for action, form in (("notes", {"text": "one more thing"}), ("assign", {"username": officer}),
                         ("evidence", {"kind": "declaration", "ref": declaration_of(workspace, 1), "note": "x"}),
                         ("status", {"status": "open"})):
        answer = client.post(f"/cases/{case_id}/{action}", data={"csrf_token": csrf, **form})
        assert answer.status_code == 409, action
    assert client.post(f"/api/v1/cases/{case_id}/notes", json={"text": "x"},
                       headers={"X-CSRF-Token": csrf}).status_code == 409
    assert client.post(f"/cases/{case_id}/reopen", data={"csrf_token": csrf, "reason": "new facts"}
                       ).status_code == 403
    assert f'action="/cases/{case_id}/reopen"' in boss.get(f"/cases/{case_id}").text
    too_short = boss.post(f"/cases/{case_id}/reopen", data={"csrf_token": boss_csrf, "reason": "x"})
    assert too_short.status_code == 400
    assert 'id="reopen-reason-error"' in too_short.text
    reopened = boss.post(f"/api/v1/cases/{case_id}/reopen", json={"reason": "the broker sent new invoices"},
                         headers={"X-CSRF-Token": boss_csrf})
    assert reopened.status_code == 200, reopened.text
    case = reopened.json()
    assert (case["status"], case["outcome"]) == ("open", None)
    assert (case["events"][-1]["kind"], case["events"][-1]["text"]) == (
        "reopened", "closed -> open (outcome was referred): the broker sent new invoices")
    assert client.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf, "text": "again"}).status_code == 303


# ---- what the role may read ----------------------------------------------------------------------------------

def test_a_case_the_inspector_may_not_see_is_answered_like_one_that_does_not_exist(
        workspace: Workspace, workspace_client: Client) -> None:
    analyst, csrf = workspace_client("analyst")
    other = open_case(analyst, csrf, "declaration", declaration_of(workspace), "Not the inspector's")
    inspector, icsrf = workspace_client("inspector")
    for case_id in (other, 999_999):
        for path in (f"/cases/{case_id}", f"/cases/{case_id}/export.pdf", f"/cases/{case_id}/export.csv"):
            assert inspector.get(path).status_code == 404, path
        api = inspector.get(f"/api/v1/cases/{case_id}")
        assert (api.status_code, api.json()["detail"]) == (404, f"no case {case_id}")
        assert inspector.post(f"/cases/{case_id}/notes", data={"csrf_token": icsrf, "text": "x"}).status_code == 404


def test_the_inspector_gets_no_entity_links_and_no_network_in_the_pdf(workspace: Workspace,
                                                                     workspace_client: Client) -> None:
    analyst, csrf = workspace_client("analyst")
    inspector_name, _ = workspace.user("inspector")
    members = ring_of(workspace)
    case_id = open_case(analyst, csrf, "ring", ",".join(members), "Front companies")
    analyst.post(f"/cases/{case_id}/evidence", data={"csrf_token": csrf, "kind": "declaration",
                                                     "ref": declaration_of(workspace), "note": "their shipment"})
    analyst.post(f"/cases/{case_id}/assign", data={"csrf_token": csrf, "username": inspector_name})
    full = analyst.get(f"/cases/{case_id}/export.pdf")
    assert pictures(full.content) == 2  # the network and the map
    inspector, _ = workspace_client("inspector")
    page = inspector.get(f"/cases/{case_id}").text
    assert 'href="/entities/' not in page
    for member in members:
        assert member in page  # named as evidence, not linked
    assert f'href="/declarations/{declaration_of(workspace)}"' in page
    pdf = inspector.get(f"/cases/{case_id}/export.pdf")
    assert pdf.status_code == 200
    assert pictures(pdf.content) == 1  # the map only: the network is withheld
    assert len(pdf.content) < len(full.content)


def test_a_10000_character_note_still_makes_a_pdf(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    for note in ("word " * 2_000, "x" * 10_000):
        assert client.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf, "text": note}).status_code == 303
    answer = client.get(f"/cases/{case_id}/export.pdf")
    assert answer.status_code == 200
    assert answer.content.startswith(b"%PDF")


def test_a_fullwidth_equals_sign_is_neutralised_in_the_csv(workspace: Workspace, workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace), "\uff1dHYPERLINK(\"http://x\")")
    client.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf, "text": "\ufe66cmd|' /C calc'!A0"})
    rows = list(csv.reader(io.StringIO(client.get(f"/cases/{case_id}/export.csv").content.decode("utf-8-sig"))))
    header = rows[0]
    assert rows[1][header.index("title")] == "'\uff1dHYPERLINK(\"http://x\")"
    assert "'\ufe66cmd|' /C calc'!A0" in [r[header.index("text")] for r in rows]


def test_a_refused_note_comes_back_typed_with_the_error_beside_it(workspace: Workspace,
                                                                  workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    case_id = open_case(client, csrf, "declaration", declaration_of(workspace))
    answer = client.post(f"/cases/{case_id}/evidence", data={"csrf_token": csrf, "kind": "entity",
                                                             "ref": "ENT404", "note": "the importer"})
    assert answer.status_code == 400
    assert "no entity &#39;ENT404&#39; in the store" in answer.text
    assert 'id="evidence-ref-error"' in answer.text
    assert 'value="the importer"' in answer.text
    blank = client.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf, "text": "   "})
    assert blank.status_code == 400
    assert 'id="note-text-error"' in blank.text
