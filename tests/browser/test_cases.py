"""Casework in a real browser: an analyst opens a case on a declaration of the latest run and works it; a
supervisor gives it to her, she closes it and downloads its PDF report; the closed case is read-only until
the supervisor reopens it; an inspector cannot open one."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live


def test_an_analyst_works_a_case_from_lead_to_closed_and_exports_it(
        login: Callable[[str], Page], live: Live, shot: Callable[[Page, str], Path]) -> None:
    declaration = live.workspace.demo["targeting"]["red_list"][0]["declaration_id"]
    analyst, _ = live.workspace.user("analyst")
    page = login("analyst")
    page.goto("/cases")
    page.get_by_label("Open from").select_option("declaration")
    page.get_by_label("Reference").fill(declaration)
    page.get_by_label("Title").fill("Red-listed shipment <b>check</b>")
    page.get_by_role("button", name="Open case").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Red-listed shipment <b>check</b>")
    expect(page.get_by_role("link", name=declaration).first).to_have_attribute("href", f"/declarations/{declaration}")

    page.get_by_label("New note").fill("Importer shares a phone number with a seized trader.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Importer shares a phone number with a seized trader.").first).to_be_visible()
    page.get_by_label("Assign to").select_option(analyst)
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_text(f"assigned to {analyst}")).to_be_visible()
    page.get_by_label("New status").select_option("open")
    page.get_by_role("button", name="Change status").click()
    # Assigning the case to herself gave her the work, not the decision: closing is not offered.
    expect(page.locator("#new-status option[value=closed]")).to_have_count(0)
    expect(page.locator("#close-refusal")).to_contain_text("to yourself")
    case_url = page.url
    boss = login("supervisor")
    boss.goto(case_url)
    boss.get_by_label("Assign to").select_option(analyst)
    boss.get_by_role("button", name="Assign").click()
    expect(boss.locator(".case-facts")).to_contain_text(analyst)
    page.reload()
    page.get_by_label("New status").select_option("closed")
    page.get_by_label("Outcome").select_option("undervaluation")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator(".case-facts .case-status")).to_have_text("closed")
    expect(page.get_by_text("it is read-only until a supervisor reopens it")).to_be_visible()
    expect(page.get_by_role("button", name="Add note")).to_have_count(0)
    shot(page, "case")

    with page.expect_download(timeout=60_000) as download:  # the first report builds the store's network graph
        page.get_by_role("link", name="PDF report").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000  # the network and the map are inside
    assert re.fullmatch(r"case-\d+-red-listed-shipment-b-check-b\.pdf", download.value.suggested_filename)

    page.goto("/cases")
    expect(page.get_by_role("cell", name="Red-listed shipment <b>check</b>").first).to_be_visible()
    shot(page, "cases")

    boss.goto(case_url)
    boss.get_by_label("Why reopen it").fill("The importer's broker sent new invoices.")
    boss.get_by_role("button", name="Reopen the case").click()
    expect(boss.locator(".case-facts .case-status")).to_have_text("open")
    expect(boss.get_by_text("The importer's broker sent new invoices.")).to_be_visible()


def test_an_inspector_cannot_open_a_case(login: Callable[[str], Page], live: Live) -> None:
    page = login("inspector")
    page.goto("/cases")
    expect(page.get_by_role("button", name="Open case")).to_have_count(0)
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = page.request.post("/cases", form={
        "csrf_token": csrf or "", "origin_kind": "declaration", "title": "Not allowed",
        "origin_ref": live.workspace.demo["targeting"]["red_list"][0]["declaration_id"]})
    assert answer.status == 403
