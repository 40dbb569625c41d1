"""The dashboard and the risk queue in a real browser: filter, sort, keyboard, bulk assignment, and what an
analyst may not do."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live


def test_an_officer_filters_sorts_and_assigns_and_the_inspector_sees_them(
        login: Callable[[str], Page], shot: Callable[[Page, str], object], live: Live) -> None:
    page = login("targeting_officer")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator("#chart-channels svg")).to_be_visible()  # ECharts drew from the data attributes
    shot(page, "dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Risk queue").click()
    page.get_by_label("Channel").select_option("red")
    page.get_by_label("Sort by").select_option("-probability")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"channel=red"))
    rows = page.locator("tbody tr.queue-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 2
    channels = page.locator("tbody tr.queue-row .channel").all_inner_texts()
    assert set(channels) == {"red"}

    # Keyboard: Tab reaches the first row's checkbox and link; j/k move between rows; x ticks.
    first_link = rows.nth(0).locator("a.decl")
    first_link.focus()
    expect(first_link).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1).locator("a.decl")).to_be_focused()
    page.keyboard.press("k")
    expect(first_link).to_be_focused()
    page.keyboard.press("x")
    expect(rows.nth(0).get_by_role("checkbox")).to_be_checked()
    page.keyboard.press("Tab")  # on to the next row's checkbox
    expect(rows.nth(1).get_by_role("checkbox")).to_be_focused()
    page.keyboard.press("Space")
    expect(rows.nth(1).get_by_role("checkbox")).to_be_checked()
    picked = [rows.nth(i).locator("a.decl").inner_text() for i in (0, 1)]
    expect(page.get_by_text("j next row")).to_be_visible()
    shot(page, "queue")

    inspector = live.workspace.user("inspector")[0]
    page.get_by_label("Assign ticked declarations to").select_option(inspector)
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("2 declarations assigned")
    expect(page).to_have_url(re.compile(r"channel=red"))

    other = login("inspector")
    other.goto("/queue")
    other.get_by_role("link", name="My assignments").click()
    mine = other.locator("tbody tr.queue-row a.decl").all_inner_texts()
    assert set(picked) <= set(mine)
    shot(other, "queue-my-assignments")


def test_an_analyst_reads_the_queue_without_assignment_controls(login: Callable[[str], Page], live: Live) -> None:
    page = login("analyst")
    page.goto("/queue")
    expect(page.get_by_role("table")).to_be_visible()
    expect(page.get_by_label("Assign ticked declarations to")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    answer = page.request.post(f"{live.base_url}/api/v1/queue/assign", headers={"X-CSRF-Token": token},
                               data={"run_id": 1, "declaration_ids": ["x"], "inspector": "demo-inspector"})
    assert answer.status == 403


def test_a_column_heading_sorts_the_queue_and_the_view_exports(login: Callable[[str], Page], live: Live) -> None:
    page = login("analyst")
    page.goto("/queue")
    table = page.locator("#queue-table")
    for heading in ("Importer", "Office", "HS", "Origin", "Value", "Fraud probability", "Priority", "Why selected"):
        expect(table.get_by_role("columnheader", name=heading)).to_be_visible()
    table.get_by_role("link", name="Value", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=value"))
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("Value")
    column = [c.get_attribute("aria-sort") for c in page.locator("#queue-table thead th").all()].index("ascending")
    cells = page.locator(f"tbody tr.queue-row td:nth-child({column + 1})").all_inner_texts()
    values = [float(v.replace(",", "")) for v in cells]
    assert values == sorted(values)
    table.get_by_role("link", name="Value ▲").click()  # again: descending
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Value")

    with page.expect_download() as done:
        page.get_by_role("link", name="CSV").click()
    path = done.value.path()
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("rank,declaration,lodged,importer")
    assert len(lines) - 2 == int(re.search(r"(\d[\d,]*) declarations", lines[0]).group(1).replace(",", ""))  # type: ignore[union-attr]
