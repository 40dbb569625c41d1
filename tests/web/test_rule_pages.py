"""The rules pages and API: the rulebook, the editor's live check at the token and its field catalogue, drafts,
backtests and the declarations they hit, four-eyes approval with a comment, superseded drafts, four-eyes
retirement and lookup changes, lookup lists and profiles; who may do which; refused forms shown back as typed
with the error beside the field; escaped input."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cintel.domain.access import AccessContext
from cintel.domain.codes import Channel
from cintel.domain.roles import Role
from cintel.risk.review import candidate_backtest, default_window
from cintel.risk.rulebook import (
    active_rules,
    add_lookup_values,
    add_rule,
    approve_rule,
    create_lookup,
    load_lookups,
    rule_versions,
)
from cintel.risk.rulebook_changes import list_changes, pending_changes
from cintel.risk.rules import score_declaration
from cintel.store.web_tables import access_log
from cintel.web.accounts import add_user
from tests.conftest import Workspace
from tests.risk.conftest import backtested
from tests.web.conftest import HOSTILE, PASSWORD, sign_in

GOOD = "hs_code LIKE '85%' AND customs_value > 10000"
BAD = "customs_value > AND 3"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
Clients = Callable[[str], tuple[TestClient, str]]


def uid(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def officers(app: FastAPI, engine: Engine) -> Callable[[str], tuple[TestClient, str]]:
    """``officers(username)``: a signed-in client and its CSRF token. Besides the web conftest's ann (analyst),
    ada (administrator) and ivan (inspector): tom and tess (targeting officers) and sam (supervisor)."""
    add_user(engine, "tom", PASSWORD, ["targeting_officer"], "Tom Targeting")
    add_user(engine, "tess", PASSWORD, ["targeting_officer"], "Tess Targeting")
    add_user(engine, "sam", PASSWORD, ["supervisor"], "Sam Supervisor")
    clients: list[TestClient] = []

    def make(username: str) -> tuple[TestClient, str]:
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        clients.append(client)
        return client, sign_in(client, username)

    return make


def draft_form(csrf: str, rule_id: str, expression: str = GOOD, **extra: object) -> dict[str, object]:
    return {"csrf_token": csrf, "rule_id": rule_id, "expression": expression, "reason": "phones under-valued",
            "effect": "weight", "weight": "0.2", "mode": "new", **extra}


def write_draft(engine: Engine, author: str, rule_id: str, expression: str = GOOD, reason: str = "why") -> None:
    add_rule(engine, AccessContext(user=author, purpose="test", roles=frozenset()), rule_id, expression, reason,
             weight=0.2)


def status_of(engine: Engine, rule_id: str) -> list[str]:
    return [r.status.value for r in rule_versions(engine, rule_id)]


# ---------------------------------------------------------------- who may do what


def test_inspectors_and_administrators_are_refused_the_rulebook(officers: Clients) -> None:
    for username in ("ivan", "ada"):
        client, _ = officers(username)
        for url in ("/rules", "/rules/profiles", "/rules/lookups", "/api/v1/rules", "/api/v1/rules/profiles"):
            assert client.get(url).status_code == 403, (username, url)


def test_analysts_read_the_rulebook_but_get_no_editor(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R77")
    client, csrf = officers("ann")
    assert client.get("/rules").status_code == 200
    page = client.get("/rules/R77").text
    assert "Write a new version" not in page
    assert "Retire" not in page
    assert client.get("/rules/new").status_code == 403
    assert client.get("/rules/R77/edit").status_code == 403
    assert client.post("/rules", data=draft_form(csrf, "R78")).status_code == 403
    assert client.post("/api/v1/rules/check", data={"expression": GOOD}, headers={"x-csrf-token": csrf}
                       ).status_code == 403


def test_supervisors_approve_but_do_not_write_rules(officers: Clients) -> None:
    client, csrf = officers("sam")
    assert client.get("/rules/new").status_code == 403
    assert client.post("/rules", data=draft_form(csrf, "R79")).status_code == 403


@pytest.mark.parametrize("username", ["ann", "ivan", "ada"])
def test_only_officers_and_supervisors_approve_retire_or_backtest(officers: Clients, engine: Engine,
                                                                  username: str) -> None:
    write_draft(engine, "tom", "R80")
    client, csrf = officers(username)
    for action in ("approve", "retire", "backtest"):
        assert client.post(f"/rules/R80/{action}", data={"csrf_token": csrf}).status_code == 403, action
        assert client.post(f"/api/v1/rules/R80/{action}", headers={"x-csrf-token": csrf}).status_code == 403
    assert status_of(engine, "R80") == ["draft"]


def test_only_targeting_officers_change_lookups_and_profiles(officers: Clients, engine: Engine) -> None:
    create_lookup(engine, AccessContext(user="tom", purpose="t", roles=frozenset()), "watched", "trader", "d")
    for username in ("ann", "sam"):
        client, csrf = officers(username)
        assert client.post("/rules/lookups/watched/values", data={"csrf_token": csrf, "values": "NL1"}
                           ).status_code == 403
        assert client.post("/rules/lookups", data={"csrf_token": csrf, "name": "x", "kind": "trader",
                                                   "description": "d"}).status_code == 403
        assert client.post("/rules/profiles", data={"csrf_token": csrf, "name": "p", "threat": "ipr"}
                           ).status_code == 403


# ---------------------------------------------------------------- the editor and its live check


def test_the_live_check_marks_the_offending_token(officers: Clients) -> None:
    client, csrf = officers("tom")
    fragment = client.post("/api/v1/rules/check", data={"expression": BAD},
                           headers={"x-csrf-token": csrf, "hx-request": "true"})
    assert fragment.status_code == 200
    assert "<mark>AND</mark>" in fragment.text
    assert "customs_value &gt; <mark>AND</mark> 3" in fragment.text
    assert "line 1, column 17" in fragment.text
    assert "the expression is incomplete" in fragment.text


def test_the_live_check_answers_json_when_asked(officers: Clients) -> None:
    client, csrf = officers("tom")
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    bad = client.post("/api/v1/rules/check", json={"expression": "hs_code = 'x' AND\n  hs_cod = '1'"},
                      headers=headers).json()
    assert bad["valid"] is False
    assert bad["error"]["line"] == 2
    assert bad["error"]["column"] == 3
    assert (bad["error"]["start"], bad["error"]["end"]) == (20, 26)
    assert "unknown column 'hs_cod'" in bad["error"]["message"]
    assert "did you mean 'hs_code'" in bad["error"]["hint"]
    good = client.post("/api/v1/rules/check", data={"expression": GOOD}, headers=headers).json()
    assert good == {"valid": True, "error": None, "fields": ["customs_value", "hs_code"], "lookups": []}


def test_a_valid_expression_is_shown_valid_with_what_it_reads(officers: Clients) -> None:
    client, csrf = officers("tom")
    fragment = client.post("/api/v1/rules/check", data={"expression": GOOD}, headers={"x-csrf-token": csrf}).text
    assert "valid" in fragment
    assert "customs_value, hs_code" in fragment
    assert "<mark>" not in fragment


def test_the_editor_wires_the_live_check(officers: Clients) -> None:
    client, _ = officers("tom")
    page = client.get("/rules/new").text
    assert 'hx-post="/api/v1/rules/check"' in page
    assert "keyup changed delay:300ms" in page
    assert '<label for="expression">' in page
    assert "/static/js/rules.js" in page


def test_a_saved_draft_goes_to_its_page(officers: Clients, engine: Engine) -> None:
    client, csrf = officers("tom")
    rule_id = uid()
    saved = client.post("/rules", data=draft_form(csrf, rule_id, regimes=["IM"], offices="NLRTM, NLAMS",
                                                  valid_from="2025-01-01"))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/rules/{rule_id}"
    (rule,) = rule_versions(engine, rule_id)
    assert (rule.author, rule.status.value, rule.weight, rule.offices) == ("tom", "draft", 0.2,
                                                                           frozenset({"NLRTM", "NLAMS"}))
    page = client.get(saved.headers["location"]).text
    assert "v1" in page
    assert "by tom" in page


def test_an_invalid_draft_comes_back_in_the_editor_with_the_error_at_its_token(officers: Clients,
                                                                               engine: Engine) -> None:
    client, csrf = officers("tom")
    rule_id = uid()
    refused = client.post("/rules", data=draft_form(csrf, rule_id, BAD))
    assert refused.status_code == 400
    assert "<mark>AND</mark>" in refused.text
    assert "The draft was not saved" in refused.text
    assert f'value="{rule_id}"' in refused.text  # what was typed is kept
    assert "phones under-valued" in refused.text
    with pytest.raises(Exception, match="no rule"):
        rule_versions(engine, rule_id)


def test_a_new_version_is_written_from_the_latest_one(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R81")
    client, csrf = officers("tess")
    editor = client.get("/rules/R81/edit").text
    assert "hs_code LIKE &#39;85%&#39;" in editor
    assert "readonly" in editor
    saved = client.post("/rules", data=draft_form(csrf, "R81", "customs_value > 5", mode="edit"))
    assert saved.status_code == 303
    assert [(r.version, r.author) for r in rule_versions(engine, "R81")] == [(1, "tom"), (2, "tess")]


def test_a_new_rule_cannot_take_an_existing_or_reserved_id(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R82")
    client, csrf = officers("tom")
    taken = client.post("/rules", data=draft_form(csrf, "R82"))
    assert taken.status_code == 400
    assert "already exists" in taken.text
    assert client.post("/rules", data=draft_form(csrf, "lookups")).status_code == 400
    assert len(rule_versions(engine, "R82")) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("expression", "", "the rule is empty"),
    ("expression", "customs_value > 1 AND " * 1_000, "limit is 4,000"),
    ("weight", "heavy", "is not a number"),
    ("weight", "7", "in (0, 1]"),
    ("reason", "  ", "needs a reason"),
    ("valid_from", "2025-02-30", "not a YYYY-MM-DD date"),
])
def test_malformed_drafts_are_refused_with_a_clear_message(officers: Clients, field: str, value: str,
                                                           message: str) -> None:
    client, csrf = officers("tom")
    refused = client.post("/rules", data=draft_form(csrf, uid(), **{field: value}))
    assert refused.status_code == 400
    assert message in refused.text


def test_a_bad_rule_id_comes_back_beside_its_field_as_typed(officers: Clients) -> None:
    client, csrf = officers("tom")
    refused = client.post("/rules", data=draft_form(csrf, "bad id!", reason="kept as typed"))
    assert refused.status_code == 400
    assert re.search(r'id="rule_id"[^>]*value="bad id!"[^>]*aria-invalid="true" aria-describedby="draft-rule_id-error"',
                     refused.text)
    assert re.search(r'<p class="field-error" id="draft-rule_id-error" role="alert">[^<]*must be 1-64 letters',
                     refused.text)
    assert "kept as typed" in refused.text


def test_oversized_or_malformed_requests_are_422(officers: Clients) -> None:
    client, csrf = officers("tom")
    assert client.post("/rules", data=draft_form(csrf, uid(), "x" * 200_000)).status_code == 422
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    assert client.post("/api/v1/rules/check", json={"nothing": 1}, headers=headers).status_code == 422
    assert client.post("/api/v1/rules/check", content=b"{", headers={**headers, "content-type": "application/json"}
                       ).status_code == 422
    long = client.post("/api/v1/rules/check", json={"expression": "a" * 20_000}, headers=headers).json()
    assert long["valid"] is False
    assert "limit is 4,000" in long["error"]["message"]


# ---------------------------------------------------------------- hostile text


def test_a_hostile_reason_and_expression_are_shown_as_text(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R83", reason=HOSTILE)
    client, _ = officers("ann")
    for url in ("/rules", "/rules/R83"):
        page = client.get(url).text
        assert HOSTILE not in page
        assert ESCAPED in page
    tom, tom_csrf = officers("tom")
    echo = tom.post("/api/v1/rules/check", data={"expression": f"hs_code = '{HOSTILE}' AND"},
                    headers={"x-csrf-token": tom_csrf}).text
    assert HOSTILE not in echo
    assert ESCAPED in echo
    refused = tom.post("/rules", data=draft_form(tom_csrf, uid(), f"{HOSTILE} = 1", reason=HOSTILE))
    assert refused.status_code == 400
    assert HOSTILE not in refused.text
    assert ESCAPED in refused.text


# ---------------------------------------------------------------- CSRF and unknown ids


def test_forms_without_the_csrf_token_are_refused(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R84")
    client, _ = officers("sam")
    assert client.post("/rules/R84/approve", data={}).status_code == 403
    assert client.post("/rules/R84/retire", data={"csrf_token": "forged"}).status_code == 403
    tom, _ = officers("tom")
    assert tom.post("/rules", data={k: v for k, v in draft_form("", uid()).items() if k != "csrf_token"}
                    ).status_code == 403
    assert tom.post("/api/v1/rules/check", data={"expression": GOOD}).status_code == 403
    assert status_of(engine, "R84") == ["draft"]


def test_unknown_rules_and_lists_are_404(officers: Clients) -> None:
    client, csrf = officers("tom")
    for url in ("/rules/nope", "/rules/nope/edit", "/api/v1/rules/nope", "/rules/lookups/nope",
                "/api/v1/rules/lookups/nope"):
        assert client.get(url).status_code == 404, url
    for action in ("approve", "retire", "backtest"):
        assert client.post(f"/rules/nope/{action}", data={"csrf_token": csrf}).status_code == 404, action
    assert client.post("/rules", data=draft_form(csrf, "nope", mode="edit")).status_code == 404


# ---------------------------------------------------------------- four eyes and retirement


def test_the_author_sees_the_approve_button_disabled_and_is_refused(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R85")
    client, csrf = officers("tom")
    page = client.get("/rules/R85").text
    assert re.search(r'<button type="button" disabled aria-describedby="four-eyes">Approve v1</button>', page)
    assert "another officer must approve it (four eyes)" in page
    refused = client.post("/rules/R85/approve", data={"csrf_token": csrf, "version": "1"})
    assert refused.status_code == 400
    assert "four eyes" in refused.text
    api = client.post("/api/v1/rules/R85/approve", json={"version": 1}, headers={"x-csrf-token": csrf})
    assert api.status_code == 400
    assert status_of(engine, "R85") == ["draft"]


def test_another_officer_must_backtest_the_draft_before_approving_it(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R86")
    client, csrf = officers("sam")
    page = client.get("/rules/R86").text
    assert "Run a backtest of v1 before approving" in page
    assert "Backtest v1" in page
    assert "No backtest recorded yet" in page
    assert "Approve v1</button>" not in page
    refused = client.post("/rules/R86/approve", data={"csrf_token": csrf, "version": "1"})
    assert refused.status_code == 400
    assert "has not been backtested" in refused.text
    api = client.post("/api/v1/rules/R86/approve", json={"version": 1}, headers={"x-csrf-token": csrf})
    assert (api.status_code, api.headers["content-type"]) == (400, "application/problem+json")
    assert status_of(engine, "R86") == ["draft"]
    backtested(engine, "R86", by="tess")
    page = client.get("/rules/R86").text
    assert "Approve v1</button>" in page
    assert re.search(r"<td>v1</td><td>2024-01-01 to 2024-02-25</td><td>1,000</td><td>12</td><td>40.0%</td>"
                     r"<td>1,500</td><td>3</td><td>tess</td>", page)
    assert [b["run_by"] for b in client.get("/api/v1/rules/R86").json()["backtests"]] == ["tess"]
    done = client.post("/rules/R86/approve", data={"csrf_token": csrf, "version": "1"})
    assert done.status_code == 303
    (rule,) = rule_versions(engine, "R86")
    assert (rule.status.value, rule.approved_by) == ("approved", "sam")
    assert "by sam at" in client.get("/rules/R86").text


def test_a_rule_never_approved_is_retired_at_once_with_a_reason(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R87")
    client, csrf = officers("sam")
    refused = client.post("/rules/R87/retire", data={"csrf_token": csrf, "reason": "  "})
    assert refused.status_code == 400
    assert 'id="retire-reason-error"' in refused.text
    assert "give the reason" in refused.text
    assert status_of(engine, "R87") == ["draft"]
    assert client.post("/rules/R87/retire", data={"csrf_token": csrf, "reason": "never used"}).status_code == 303
    assert status_of(engine, "R87") == ["retired"]
    page = client.get("/rules/R87").text
    assert "Retire R87</button>" not in page
    assert "never used" in page  # the reason, in the rule's history
    assert client.post("/rules/R87/retire", data={"csrf_token": csrf, "reason": "again"}).status_code == 400


def _approved(engine: Engine, rule_id: str, expression: str = GOOD, channel: str | None = None) -> None:
    add_rule(engine, AccessContext(user="tom", purpose="t", roles=frozenset()), rule_id, expression, "why",
             weight=None if channel else 0.2, channel=channel)
    backtested(engine, rule_id, by="tess")
    approve_rule(engine, AccessContext(user="sam", purpose="t", roles=frozenset({Role.SUPERVISOR})), rule_id)


def test_one_officer_cannot_retire_an_approved_rule_a_second_one_confirms(officers: Clients, engine: Engine) -> None:
    _approved(engine, "R92")
    sam, sam_csrf = officers("sam")
    assert sam.post("/rules/R92/retire", data={"csrf_token": sam_csrf, "reason": "too broad"}).status_code == 303
    assert status_of(engine, "R92") == ["approved"]  # asked for, not done
    (change,) = pending_changes(engine, rule_id="R92")
    page = sam.get("/rules/R92").text
    assert "You asked for this change: another officer must confirm it (four eyes)" in page
    assert f"Confirm #{change.change_id}</button>" not in page
    own = sam.post(f"/rules/changes/{change.change_id}/confirm", data={"csrf_token": sam_csrf})
    assert own.status_code == 400
    assert "another officer must confirm it (four eyes)" in own.text
    assert status_of(engine, "R92") == ["approved"]
    tess, tess_csrf = officers("tess")
    assert f"Confirm #{change.change_id}</button>" in tess.get("/rules/R92").text
    assert tess.post(f"/rules/changes/{change.change_id}/confirm",
                     data={"csrf_token": tess_csrf, "comment": "agreed"}).status_code == 303
    assert status_of(engine, "R92") == ["retired"]
    page = tess.get("/rules/R92").text
    assert "too broad" in page
    assert "agreed" in page
    assert "by tess at" in page


def test_the_api_asks_for_a_retirement_and_a_second_officer_confirms(officers: Clients, engine: Engine) -> None:
    _approved(engine, "R93")
    sam, sam_csrf = officers("sam")
    assert sam.post("/api/v1/rules/R93/retire", json={"reason": ""}, headers={"x-csrf-token": sam_csrf}
                    ).status_code == 400
    asked = sam.post("/api/v1/rules/R93/retire", json={"reason": "moved to screening"},
                     headers={"x-csrf-token": sam_csrf})
    assert (asked.status_code, asked.json()["status"], asked.json()["requested_by"]) == (202, "pending", "sam")
    change_id = asked.json()["change_id"]
    assert sam.post(f"/api/v1/rules/changes/{change_id}/confirm", headers={"x-csrf-token": sam_csrf}
                    ).status_code == 400
    assert [c["change_id"] for c in sam.get("/api/v1/rules/changes?status=pending").json()] == [change_id]
    tess, tess_csrf = officers("tess")
    done = tess.post(f"/api/v1/rules/changes/{change_id}/confirm", json={"comment": "ok"},
                     headers={"x-csrf-token": tess_csrf})
    assert (done.status_code, done.json()["status"], done.json()["effect"]) == (200, "confirmed",
                                                                                {"retired_versions": [1]})
    assert status_of(engine, "R93") == ["retired"]


def test_a_refusal_needs_a_comment_and_is_shown(officers: Clients, engine: Engine) -> None:
    _approved(engine, "R94")
    sam, sam_csrf = officers("sam")
    sam.post("/rules/R94/retire", data={"csrf_token": sam_csrf, "reason": "too broad"})
    (change,) = pending_changes(engine, rule_id="R94")
    tess, tess_csrf = officers("tess")
    bare = tess.post(f"/rules/changes/{change.change_id}/refuse", data={"csrf_token": tess_csrf, "comment": ""})
    assert bare.status_code == 400
    assert f'id="change-{change.change_id}-comment-error"' in bare.text
    assert tess.post(f"/rules/changes/{change.change_id}/refuse",
                     data={"csrf_token": tess_csrf, "comment": HOSTILE}).status_code == 303
    assert status_of(engine, "R94") == ["approved"]
    page = tess.get("/rules/changes").text
    assert ESCAPED in page
    assert HOSTILE not in page
    assert "refused" in page


def test_the_changes_page_lists_what_waits_for_whom(officers: Clients, engine: Engine) -> None:
    _approved(engine, "R95")
    sam, sam_csrf = officers("sam")
    sam.post("/rules/R95/retire", data={"csrf_token": sam_csrf, "reason": "too broad"})
    (change,) = pending_changes(engine)
    analyst, _ = officers("ann")
    page = analyst.get("/rules/changes").text
    assert "retire rule R95" in page
    assert "Confirm #" not in page  # analysts read, they do not decide
    assert analyst.post(f"/rules/changes/{change.change_id}/confirm", data={"csrf_token": _}).status_code == 403
    assert "1 rulebook change waits for a second officer" in analyst.get("/rules").text
    inspector, _ = officers("ivan")
    assert inspector.get("/rules/changes").status_code == 403
    tess, tess_csrf = officers("tess")
    assert tess.post("/rules/changes/99999/confirm", data={"csrf_token": tess_csrf}).status_code == 404
    assert tess.post("/api/v1/rules/changes/99999/refuse", json={"comment": "x"},
                     headers={"x-csrf-token": tess_csrf}).status_code == 404
    back = tess.post(f"/rules/changes/{change.change_id}/withdraw", data={"csrf_token": tess_csrf, "back": "changes"})
    assert back.status_code == 400  # only sam may withdraw it
    assert "only they can withdraw it" in back.text
    assert sam.post(f"/rules/changes/{change.change_id}/withdraw",
                    data={"csrf_token": sam_csrf, "back": "changes"}).headers["location"] == "/rules/changes"
    assert pending_changes(engine) == []


# ---------------------------------------------------------------- approval comments and superseded drafts


def test_an_approval_takes_a_comment_kept_and_shown(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R96")
    backtested(engine, "R96", by="tess")
    sam, csrf = officers("sam")
    assert 'id="approve-comment"' in sam.get("/rules/R96").text
    assert sam.post("/rules/R96/approve", data={"csrf_token": csrf, "version": "1",
                                                "comment": f"hit rate fine {HOSTILE}"}).status_code == 303
    (rule,) = rule_versions(engine, "R96")
    assert rule.approval_comment == f"hit rate fine {HOSTILE}"
    page = sam.get("/rules/R96").text
    assert f'<q class="rule-comment">hit rate fine {ESCAPED}</q>' in page
    assert sam.get("/api/v1/rules/R96").json()["versions"][0]["approval_comment"] == rule.approval_comment


def test_after_v2_is_approved_the_page_no_longer_offers_to_approve_v1(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R97")
    write_draft(engine, "tom", "R97", "customs_value > 5")
    backtested(engine, "R97", version=1, by="tess")
    backtested(engine, "R97", version=2, by="tess")
    sam, csrf = officers("sam")
    page = sam.get("/rules/R97").text
    assert "Approve v2</button>" in page
    assert "Approve v1</button>" not in page
    assert sam.post("/rules/R97/approve", data={"csrf_token": csrf, "version": "2"}).status_code == 303
    page = sam.get("/rules/R97").text
    assert "Approve v1" not in page
    assert "superseded by v2" in page
    old = sam.post("/rules/R97/approve", data={"csrf_token": csrf, "version": "1", "comment": "late"})
    assert old.status_code == 400
    assert "v1 is superseded by approved v2" in old.text
    assert status_of(engine, "R97") == ["draft", "approved"]
    assert sam.get("/api/v1/rules/R97").json()["draft"] is None


# ---------------------------------------------------------------- the field catalogue


def test_the_editor_lists_the_fields_with_their_meaning_and_unit(officers: Clients) -> None:
    client, csrf = officers("tom")
    page = client.get("/rules/new").text
    assert re.search(r"<tr><th scope=\"row\"><code>unit_value_ratio_hs6_origin</code></th><td>number</td>\s*"
                     r"<td>× peer median <span class=\"meta\">\(1 is the peers&#39; median", page)
    assert re.search(r"<code>customs_value</code></th><td>number</td>\s*<td>national currency</td>\s*"
                     r"<td>Customs value in national currency <span class=\"meta\">\(per item\)</span>", page)
    assert "<code>importer_age_days</code>" in page
    assert "days" in page
    fragment = client.post("/api/v1/rules/check", data={"expression": "importer_age_days < 30"},
                           headers={"x-csrf-token": csrf}).text
    assert "<code>importer_age_days</code>: Days since the importer&#39;s first declaration" in fragment
    assert "(days)" in fragment


# ---------------------------------------------------------------- the list and the API


def test_the_rulebook_is_filtered_by_status_and_the_api_matches(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R88")
    write_draft(engine, "tom", "R89")
    client, csrf = officers("sam")
    backtested(engine, "R89")
    assert client.post("/rules/R89/approve", data={"csrf_token": csrf}).status_code == 303
    drafts = client.get("/rules?status=draft").text
    assert "R88" in drafts
    assert "R89" not in drafts
    assert client.get("/rules?status=lost").status_code == 422
    api = client.get("/api/v1/rules").json()
    assert [(r["rule_id"], r["status"]) for r in api] == [("R88", "draft"), ("R89", "approved")]
    page = client.get("/rules").text
    assert [r["rule_id"] for r in api] == re.findall(r'<a href="/rules/(R8\d)">', page)
    detail = client.get("/api/v1/rules/R89").json()
    assert [v["version"] for v in detail["versions"]] == [1]
    assert detail["versions"][0]["approved_by"] == "sam"
    assert detail["draft"] is None


def test_the_api_creates_drafts_and_says_where_an_expression_fails(officers: Clients, engine: Engine) -> None:
    client, csrf = officers("tom")
    headers = {"x-csrf-token": csrf}
    rule_id = uid()
    created = client.post("/api/v1/rules", json={"rule_id": rule_id, "expression": GOOD, "reason": "r",
                                                 "channel": "red"}, headers=headers)
    assert created.status_code == 201
    assert (created.json()["status"], created.json()["channel"]) == ("draft", "red")
    refused = client.post("/api/v1/rules", json={"rule_id": rule_id, "expression": BAD, "reason": "r",
                                                 "weight": 0.1}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["start"] == 16
    assert len(rule_versions(engine, rule_id)) == 1


def test_viewing_rules_is_not_logged(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R90")
    client, _ = officers("ann")
    for url in ("/rules", "/rules/R90", "/api/v1/rules", "/api/v1/rules/R90", "/rules/profiles", "/rules/lookups"):
        assert client.get(url).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(access_log)).first() is None


# ---------------------------------------------------------------- lookup lists and profiles


def test_lookup_values_are_asked_for_confirmed_paginated_logged_and_removed(officers: Clients,
                                                                             engine: Engine) -> None:
    client, csrf = officers("tom")
    assert client.post("/rules/lookups", data={"csrf_token": csrf, "name": "watched", "kind": "trader",
                                               "description": "traders to watch"}).status_code == 303
    values = "\n".join(f"NL{i:04d}" for i in range(150)) + f", {HOSTILE}"
    assert client.post("/rules/lookups/watched/values", data={"csrf_token": csrf, "values": values,
                                                              "reason": "case 12"}).status_code == 303
    assert load_lookups(engine)["watched"] == frozenset()  # asked for: nothing in effect yet
    (change,) = pending_changes(engine, lookup="watched")
    waiting = client.get("/rules/lookups/watched").text
    assert "add 151 values (watched)" in waiting
    assert "You asked for this change" in waiting
    tess, tess_csrf = officers("tess")
    assert tess.post(f"/rules/changes/{change.change_id}/confirm", data={"csrf_token": tess_csrf}
                     ).headers["location"] == "/rules/lookups/watched"
    assert "151" in client.get("/rules/lookups").text
    first = client.get("/rules/lookups/watched").text
    assert "Page 1 of 2" in first
    assert ESCAPED in first  # '<' sorts first
    assert "NL0000" in first
    second = client.get("/rules/lookups/watched?page=2&purpose=case 12 follow-up").text
    assert "NL0149" in second
    api = client.get("/api/v1/rules/lookups/watched?page=2").json()
    assert (api["total"], api["pages"], len(api["values"])) == (151, 2, 51)
    assert [c["status"] for c in api["changes"]] == ["confirmed"]
    with engine.connect() as conn:
        rows = conn.execute(select(access_log).order_by(access_log.c.id)).mappings().all()
    assert [(r["username"], r["object_kind"], r["object_id"], r["purpose"]) for r in rows] == [
        ("tom", "lookup", "watched", "rulebook lookup list review"),
        ("tom", "lookup", "watched", "rulebook lookup list review"),
        ("tom", "lookup", "watched", "case 12 follow-up"),
        ("tom", "lookup", "watched", "rulebook lookup list review"),
    ]
    assert client.post("/rules/lookups/watched/values", data={"csrf_token": csrf, "values": "NL0000, NL0001",
                                                              "action": "remove", "reason": "closed"}
                       ).status_code == 303
    assert client.get("/api/v1/rules/lookups/watched").json()["total"] == 151
    (removal,) = pending_changes(engine, lookup="watched")
    tess.post(f"/rules/changes/{removal.change_id}/confirm", data={"csrf_token": tess_csrf})
    assert client.get("/api/v1/rules/lookups/watched").json()["total"] == 149


def test_one_officer_removing_a_value_no_longer_stops_a_fixed_red_rule(officers: Clients, engine: Engine) -> None:
    tom_ctx = AccessContext(user="tom", purpose="t", roles=frozenset({Role.TARGETING_OFFICER}))
    create_lookup(engine, tom_ctx, "sanctioned", "trader", "parties on a sanctions list")
    add_lookup_values(engine, tom_ctx, "sanctioned", ["NL0042"], note="screening")
    _approved(engine, "R98", "importer_id IN LOOKUP('sanctioned')", channel="red")
    item = {"declaration_id": "D1", "declaration_date": "2025-03-03", "importer_id": "NL0042"}

    def channel() -> Channel | None:
        return score_declaration(active_rules(engine, date(2025, 3, 3)), [item], load_lookups(engine)).channel

    assert channel() is Channel.RED
    tom, csrf = officers("tom")
    assert tom.post("/rules/lookups/sanctioned/values", data={"csrf_token": csrf, "values": "NL0042",
                                                              "action": "remove", "reason": "a friend"}
                    ).status_code == 303
    assert channel() is Channel.RED  # one officer alone changes nothing that scores
    api = tom.post("/api/v1/rules/lookups/sanctioned/values", json={"remove": ["NL0042"], "reason": "again"},
                   headers={"x-csrf-token": csrf})
    assert (api.status_code, api.json()["status"]) == (202, "pending")
    assert channel() is Channel.RED
    for change in pending_changes(engine, lookup="sanctioned"):
        assert tom.post(f"/rules/changes/{change.change_id}/confirm", data={"csrf_token": csrf}).status_code == 400
    assert channel() is Channel.RED
    assert [c.requested_by for c in pending_changes(engine, lookup="sanctioned")] == ["tom", "tom"]
    assert list_changes(engine, lookup="sanctioned")[-1].reason == "screening"  # the feed that filled it


def test_a_lookup_change_without_a_reason_comes_back_as_typed(officers: Clients, engine: Engine) -> None:
    create_lookup(engine, AccessContext(user="tom", purpose="t", roles=frozenset()), "watched", "trader", "d")
    client, csrf = officers("tom")
    refused = client.post("/rules/lookups/watched/values", data={"csrf_token": csrf, "values": "NL1\nNL2",
                                                                 "action": "remove", "reason": " "})
    assert refused.status_code == 400
    assert re.search(r'<textarea id="lk-values"[^>]*>NL1\nNL2</textarea>', refused.text)
    assert re.search(r'id="lk-remove" name="action" value="remove" checked', refused.text)
    assert re.search(r'<p class="field-error" id="values-reason-error" role="alert">give the reason', refused.text)
    absent = client.post("/rules/lookups/watched/values", data={"csrf_token": csrf, "values": "NL1",
                                                                "action": "remove", "reason": "closed"})
    assert absent.status_code == 400
    assert re.search(r'id="values-values-error" role="alert">&#39;NL1&#39; is not on lookup list', absent.text)
    assert 'value="closed"' in absent.text
    assert client.post("/api/v1/rules/lookups/watched/values", json={"add": ["NL1"], "reason": ""},
                       headers={"x-csrf-token": csrf}).status_code == 400
    assert pending_changes(engine) == []


def test_a_refused_lookup_form_keeps_what_was_typed(officers: Clients) -> None:
    client, csrf = officers("tom")
    refused = client.post("/rules/lookups", data={"csrf_token": csrf, "name": "bad name!", "kind": "country",
                                                  "description": "kept"})
    assert refused.status_code == 400
    assert re.search(r'id="lk-name"[^>]*value="bad name!"[^>]*aria-invalid="true"', refused.text)
    assert re.search(r'<p class="field-error" id="create-name-error" role="alert">[^<]*must be 1-64 letters',
                     refused.text)
    assert '<option value="country" selected>' in refused.text
    assert 'value="kept"' in refused.text


def test_a_rule_can_use_a_lookup_list_once_it_exists(officers: Clients) -> None:
    client, csrf = officers("tom")
    headers = {"x-csrf-token": csrf, "accept": "application/json"}
    expression = "importer_id IN LOOKUP('listed')"
    before = client.post("/api/v1/rules/check", json={"expression": expression}, headers=headers).json()
    assert "unknown lookup list 'listed'" in before["error"]["message"]
    client.post("/api/v1/rules/lookups", json={"name": "listed", "kind": "trader", "description": "d"},
                headers=headers)
    after = client.post("/api/v1/rules/check", json={"expression": expression}, headers=headers).json()
    assert (after["valid"], after["lookups"]) == (True, ["listed"])


def test_profiles_are_created_and_given_rules(officers: Clients, engine: Engine) -> None:
    write_draft(engine, "tom", "R91")
    client, csrf = officers("tom")
    assert client.post("/rules/profiles", data={"csrf_token": csrf, "name": "phones", "threat": "undervaluation",
                                                "description": HOSTILE, "offices": "NLRTM"}).status_code == 303
    assert client.post("/rules/profiles/rules", data={"csrf_token": csrf, "profile": "phones", "rule_id": "R91"}
                       ).status_code == 303
    page = client.get("/rules/profiles").text
    assert ESCAPED in page
    assert '<a href="/rules/R91">R91</a>' in page
    assert client.get("/api/v1/rules/profiles").json()[0]["rules"] == ["R91"]
    assert "phones (undervaluation)" in client.get("/rules").text
    bad = client.post("/rules/profiles", data={"csrf_token": csrf, "name": "bad name!", "threat": "ipr",
                                               "offices": "NLRTM"})
    assert bad.status_code == 400
    assert 'id="profile-name-error"' in bad.text
    assert 'value="bad name!"' in bad.text
    assert '<option value="ipr" selected>' in bad.text
    threat = client.post("/rules/profiles", data={"csrf_token": csrf, "name": "x", "threat": "piracy"})
    assert threat.status_code == 400
    assert 'id="profile-threat-error"' in threat.text


# ---------------------------------------------------------------- backtests on the workspace's real data


def test_a_supervisor_backtests_a_draft_then_approves_it(workspace: Workspace, workspace_client: Clients) -> None:
    officer, officer_csrf = workspace_client("targeting_officer")
    supervisor, csrf = workspace_client("supervisor")
    rule_id = uid("BT")
    assert officer.post("/rules", data=draft_form(officer_csrf, rule_id)).status_code == 303
    result = supervisor.post(f"/rules/{rule_id}/backtest", data={"csrf_token": csrf, "version": "1"})
    assert result.status_code == 200, result.text
    first, last = default_window(workspace.engine)
    assert f"{first.isoformat()} to {last.isoformat()}" in result.text
    for label in ("Hits", "Load", "Hit rate among inspected", "Revenue found", "Overlap with approved rules"):
        assert label in result.text
    assert "Approve v1</button>" in result.text
    api = supervisor.post(f"/api/v1/rules/{rule_id}/backtest", json={"from": first.isoformat(),
                                                                     "to": last.isoformat()},
                          headers={"x-csrf-token": csrf}).json()
    direct = candidate_backtest(workspace.engine, rule_versions(workspace.engine, rule_id)[-1], first,
                                last + timedelta(days=1))
    assert api["hits"] == direct["hits"]
    assert api["overlap"] == direct["overlap"]
    assert f"<td>{direct['hits']:,}</td>" in result.text
    recorded = supervisor.get(f"/api/v1/rules/{rule_id}").json()["backtests"]
    assert recorded[0]["backtest_id"] == api["backtest_id"]  # newest first
    assert len(recorded) == 2  # the page's run and the API's, each recorded
    assert supervisor.post(f"/rules/{rule_id}/approve", data={"csrf_token": csrf, "version": "1"}
                           ).status_code == 303
    assert rule_versions(workspace.engine, rule_id)[-1].status.value == "approved"


def test_the_author_gets_no_approve_button_after_a_backtest(workspace_client: Clients) -> None:
    officer, csrf = workspace_client("targeting_officer")
    rule_id = uid("BT")
    officer.post("/rules", data=draft_form(csrf, rule_id))
    result = officer.post(f"/rules/{rule_id}/backtest", data={"csrf_token": csrf})
    assert result.status_code == 200
    assert 'disabled aria-describedby="four-eyes"' in result.text


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2025-13-45", "", "is not a YYYY-MM-DD date"),
    ("2025-03-01", "2025-02-01", "is before"),
    ("1990-01-01", "1990-01-31", "no declarations stored"),
])
def test_a_bad_backtest_window_is_refused_clearly(workspace_client: Clients, start: str, end: str,
                                                  message: str) -> None:
    officer, csrf = workspace_client("targeting_officer")
    rule_id = uid("BT")
    officer.post("/rules", data=draft_form(csrf, rule_id))
    refused = officer.post(f"/rules/{rule_id}/backtest", data={"csrf_token": csrf, "from": start, "to": end})
    assert refused.status_code == 400
    assert message in refused.text
    assert re.search(rf'id="bt-from"[^>]*value="{start}"', refused.text)  # what was typed, on the rule's page
    assert 'id="backtest-form-error"' in refused.text
    version = officer.post(f"/rules/{rule_id}/backtest", data={"csrf_token": csrf, "version": "9"})
    assert (version.status_code, "has no version 9" in version.text) == (400, True)


def test_a_backtest_lists_the_declarations_it_hit(workspace: Workspace, workspace_client: Clients) -> None:
    from cintel.store.tables import declaration_items, declarations

    officer, officer_csrf = workspace_client("targeting_officer")
    supervisor, csrf = workspace_client("supervisor")
    rule_id = uid("BT")
    officer.post("/rules", data=draft_form(officer_csrf, rule_id))
    result = supervisor.post(f"/rules/{rule_id}/backtest", data={"csrf_token": csrf})
    assert result.status_code == 200
    (recorded,) = supervisor.get(f"/api/v1/rules/{rule_id}").json()["backtests"]
    link = f"/rules/{rule_id}/backtests/{recorded['backtest_id']}"
    assert f'<a href="{link}">' in result.text
    assert recorded["listed_hits"] == recorded["hits"] > 0
    api = supervisor.get(f"/api/v1{link}/hits?size=1000").json()
    assert api["total"] == recorded["hits"]
    # The same declarations as the rule's own terms, asked of the store directly.
    first, last = date.fromisoformat(recorded["window_from"]), date.fromisoformat(recorded["window_to"])
    with workspace.engine.connect() as conn:
        expected = set(conn.execute(
            select(declaration_items.c.declaration_id).distinct()
            .join(declarations, declarations.c.declaration_id == declaration_items.c.declaration_id)
            .where(declaration_items.c.hs_code.like("85%"), declaration_items.c.customs_value > 10000,
                   declarations.c.declaration_date.between(first, last))).scalars())
    listed = [h["declaration_id"] for h in api["hits"]]
    assert set(listed) == expected
    page = supervisor.get(link)
    assert page.status_code == 200
    shown = re.findall(r'<a href="/declarations/([^"]+)">', page.text)
    assert shown == listed[:100]  # newest first, a page at a time
    assert f"page 1 of {-(-len(listed) // 100)}" in page.text
    with workspace.engine.connect() as conn:
        logged = set(conn.execute(select(access_log.c.object_id).where(access_log.c.object_kind == "backtest"))
                     .scalars())
    assert str(recorded["backtest_id"]) in logged
    assert supervisor.get(f"/rules/{rule_id}/backtests/999999").status_code == 404
    assert supervisor.get(f"/rules/OTHER{rule_id}/backtests/{recorded['backtest_id']}").status_code == 404


def test_a_lone_surrogate_is_refused_with_a_message_never_a_500(officers: Clients, engine: Engine) -> None:
    client, csrf = officers("tom")
    as_json = {"x-csrf-token": csrf, "content-type": "application/json", "accept": "application/json"}
    surrogate = '"hs_code = \'\\ud800\'"'  # JSON may carry a lone surrogate; UTF-8 cannot
    create_lookup(engine, AccessContext(user="tom", purpose="t", roles=frozenset()), "watched", "trader", "d")
    for url, body in (("/api/v1/rules/check", f'{{"expression": {surrogate}}}'),
                      ("/api/v1/rules", f'{{"rule_id": "{uid()}", "expression": "TRUE", "reason": {surrogate}, '
                                        '"weight": 0.1}'),
                      ("/api/v1/rules/lookups/watched/values", f'{{"add": [{surrogate}], "reason": "r"}}')):
        done = client.post(url, content=body, headers=as_json)
        assert done.status_code == 400, url
        assert done.json()["detail"], url
    assert pending_changes(engine) == []
