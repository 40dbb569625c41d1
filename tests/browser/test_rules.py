"""The rules editor in a real browser: the error appears at its token as the officer types, the fields a rule
can read are listed with their unit and found by typing, a fixed rule is saved as a draft, its author cannot
approve it, a supervisor backtests it, opens the declarations it hit and approves it with a comment; retiring it
takes a second officer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live

Shot = Callable[[Page, str], object]


def test_an_officer_sees_the_rule_error_then_a_supervisor_backtests_and_approves(
        login: Callable[[str], Page], live: Live, shot: Shot) -> None:
    rule_id = f"BR{uuid.uuid4().hex[:8]}"
    officer = login("targeting_officer")
    officer.goto("/rules")
    expect(officer.get_by_role("heading", name="Rules", exact=True)).to_be_visible()
    shot(officer, "rules")

    officer.get_by_role("link", name="New rule").click()
    officer.get_by_label("Rule id").fill(rule_id)
    expression = officer.get_by_label("Expression")
    expression.press_sequentially("customs_value > AND 3")
    check = officer.locator("#rule-check")
    expect(check).to_contain_text("the expression is incomplete")  # shown without submitting
    expect(check.locator("mark")).to_have_text("AND")
    expect(check).to_contain_text("line 1, column 17")
    shot(officer, "rule_editor")
    fields = officer.locator("#rule-fields-table tbody tr")
    officer.get_by_label("Find a field").fill("unit_value_ratio")
    expect(fields.filter(visible=True)).to_have_count(1)
    expect(fields.filter(visible=True)).to_contain_text("× peer median")
    officer.get_by_label("Find a field").fill("")

    expression.fill("")
    expression.press_sequentially("customs_value > 3000 AND hs_code LIKE '85%'")
    expect(check).to_contain_text("valid")
    expect(check.locator("mark")).to_have_count(0)
    officer.get_by_label("Reason").fill("electronics declared far below their value")
    officer.get_by_label("Weight (share of hits expected to be fraudulent, 0–1)").fill("0.2")
    officer.get_by_role("button", name="Save draft").click()
    officer.wait_for_url(re.compile(rf"/rules/{rule_id}$"))
    expect(officer.get_by_role("button", name="Approve v1")).to_be_disabled()
    expect(officer.get_by_text("another officer must approve it (four eyes)")).to_be_visible()

    supervisor = login("supervisor")
    supervisor.goto(f"/rules/{rule_id}")
    expect(supervisor.get_by_text("Run a backtest of v1 before approving")).to_be_visible()
    expect(supervisor.get_by_role("button", name="Approve v1")).to_have_count(0)
    supervisor.get_by_role("button", name="Backtest v1").click()
    expect(supervisor.get_by_role("heading", name=f"Backtest of {rule_id} v1")).to_be_visible()
    expect(supervisor.get_by_role("rowheader", name="Hit rate among inspected")).to_be_visible()
    shot(supervisor, "rule_backtest")
    supervisor.get_by_role("link", name=re.compile(r"declarations? it hit")).click()
    expect(supervisor.get_by_role("heading", name=f"Declarations hit by {rule_id} v1")).to_be_visible()
    first = supervisor.locator(".rule-hits tbody th a").first
    expect(first).to_have_attribute("href", re.compile(r"^/declarations/"))
    shot(supervisor, "rule_backtest_hits")
    supervisor.goto(f"/rules/{rule_id}")  # the rule's page offers the approval too, once backtested
    supervisor.get_by_label("Comment (kept with the approval)").fill("hit rate acceptable; watch the load")
    supervisor.get_by_role("button", name="Approve v1").click()
    supervisor.wait_for_url(re.compile(rf"/rules/{rule_id}$"))
    expect(supervisor.locator(".rule-version").first).to_contain_text("approved")
    expect(supervisor.locator(".rule-version").first).to_contain_text("hit rate acceptable; watch the load")
    expect(supervisor.locator(".rule-backtests tbody tr")).to_have_count(1)  # the run the approval rests on

    supervisor.get_by_label("Reason").fill("replaced by a profile rule")
    supervisor.get_by_role("button", name=f"Retire {rule_id}").click()
    supervisor.wait_for_url(re.compile(rf"/rules/{rule_id}$"))
    expect(supervisor.get_by_text("You asked for this change: another officer must confirm it")).to_be_visible()
    expect(supervisor.locator(".rule-version").first).to_contain_text("approved")
    officer.goto(f"/rules/{rule_id}")
    officer.get_by_role("button", name=re.compile(r"^Confirm #\d+$")).click()
    officer.wait_for_url(re.compile(rf"/rules/{rule_id}$"))
    expect(officer.locator(".rule-version").first).to_contain_text("retired")
    expect(officer.get_by_text("replaced by a profile rule")).to_be_visible()
    shot(officer, "rule_retired")


def test_an_analyst_reads_the_rulebook_but_is_refused_the_editor(login: Callable[[str], Page]) -> None:
    analyst = login("analyst")
    analyst.goto("/rules")
    expect(analyst.get_by_role("link", name="New rule")).to_have_count(0)
    response = analyst.goto("/rules/new")
    assert response is not None
    assert response.status == 403
