"""The declaration page in a real browser: the route map and the explanation chart render, an inspector
records an outcome and sees it in the history; an analyst has no form and is refused the post."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from cintel.domain.records import RecordKind
from cintel.risk.queue import assign
from cintel.store import tables
from tests.browser.conftest import Live


def red(live: Live, n: int = 0) -> str:
    return str(live.workspace.demo["targeting"]["red_list"][n]["declaration_id"])


def uninspected_red(live: Live) -> str:
    """A declaration of the red list that no inspection record mentions yet (so the form records, not corrects)."""
    inspections = tables.record_tables[RecordKind.INSPECTIONS]
    with live.workspace.engine.connect() as conn:
        seen = set(conn.execute(select(inspections.c.declaration_id)).scalars())
    return next(str(r["declaration_id"]) for r in live.workspace.demo["targeting"]["red_list"]
                if r["declaration_id"] not in seen)


def test_an_inspector_sees_the_map_and_chart_and_records_an_outcome(
        live: Live, login: Callable[[str], Page], shot: Callable[[Page, str], Path]) -> None:
    decl = uninspected_red(live)
    inspector = live.workspace.user("inspector")[0]
    assign(live.workspace.engine, live.workspace.user("supervisor")[0], live.workspace.demo["targeting"]["run_id"],
           [decl], inspector)  # an inspector records the declarations assigned to them
    page = login("inspector")
    page.goto(f"/declarations/{decl}")
    expect(page.get_by_role("heading", name=f"Declaration {decl}")).to_be_visible()
    # The map: Leaflet's SVG overlay with the route's markers, then the country outlines behind them.
    expect(page.locator("#route-map svg path.leaflet-interactive").first).to_be_attached()
    expect(page.locator("#route-map svg path").nth(20)).to_be_attached(timeout=15_000)
    # The explanation comes with the page (kept with the score) and is drawn as an SVG bar chart beside its
    # table; re-scoring with today's rules and model is on request and draws its own chart.
    expect(page.locator("#explanation-chart svg")).to_be_attached(timeout=15_000)
    expect(page.get_by_role("table", name="Reasons and their contribution").first).to_be_visible()
    page.get_by_role("link", name="Re-score with today's rules and model").click()
    expect(page.locator("#rescored-chart svg")).to_be_attached(timeout=60_000)
    expect(page.locator("#rescored")).to_contain_text("Re-scored as of")

    findings = f"Browser test: undeclared goods in {decl}"
    page.get_by_label("Outcome", exact=True).select_option("misdeclared_goods")
    page.get_by_label("Channel", exact=True).select_option("red")
    page.get_by_label("Findings").fill(findings)
    page.get_by_label("Additional duty (national currency)").fill("250")
    page.get_by_label("Goods seized", exact=True).check()
    page.get_by_label("Seized goods", exact=True).fill("sports shoes")
    page.get_by_role("button", name="Record outcome").click()
    page.wait_for_url(f"**/declarations/{decl}/inspections/**")
    expect(page.locator("#recorded")).to_be_visible()
    page.goto(f"/declarations/{decl}#history")
    history = page.locator("#history")
    expect(history.get_by_text(findings).first).to_be_visible()
    expect(history.get_by_text("misdeclared_goods").first).to_be_visible()
    expect(page.locator("#explanation-chart svg")).to_be_attached(timeout=15_000)
    shot(page, "declaration")


def test_an_analyst_has_no_inspection_form_and_is_refused_the_post(live: Live, login: Callable[[str], Page]) -> None:
    page = login("analyst")
    decl = red(live, 1)
    page.goto(f"/declarations/{decl}")
    expect(page.get_by_role("heading", name=f"Declaration {decl}")).to_be_visible()
    expect(page.get_by_role("button", name="Record outcome")).to_have_count(0)
    expect(page.get_by_label("Case title")).to_be_visible()
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = page.request.post(f"/declarations/{decl}/inspection",
                               form={"csrf_token": csrf or "", "outcome": "no_finding", "channel": "red"})
    assert answer.status == 403
