"""The entity page, its graph, the network page and search in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live

Shot = Callable[[Page, str], object]


def test_an_analyst_opens_a_ring_member_and_expands_its_graph(login: Callable[[str], Page], live: Live,
                                                              shot: Shot) -> None:
    page = login("analyst")
    page.goto("/network")
    expect(page.get_by_role("heading", name="Suspected rings")).to_be_visible()
    shot(page, "network")
    company = live.workspace.demo["entities"]["rings"][0]["companies"][0]
    page.get_by_role("link", name=company, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(company)
    canvas = page.locator("#graph-canvas canvas").first
    expect(canvas).to_be_attached()
    items = page.locator("#graph-list li")
    expect(items.first).to_be_visible()
    before = items.count()
    assert before > 1
    # Expand a neighbour from the accessible list, with the keyboard.
    # The ring's companies share an address: expanding it brings in the other companies.
    neighbour = page.locator('#graph-list button[aria-label$="(address)"]').first
    neighbour.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#graph-status")).to_contain_text("shown")
    expect(page.locator("#graph-as-of")).to_contain_text(re.compile(r"Ties as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
    for _ in range(50):  # polled from Python: the page's CSP forbids evaluating strings
        if items.count() > before:
            break
        page.wait_for_timeout(100)
    assert items.count() > before
    edges_before = int(page.locator("#graph-edge-count").inner_text())
    shot(page, "entity")
    # Unticking a tie kind present removes its edges (re-queried).
    box = page.get_by_role("checkbox", name=re.compile("^has address$"))
    box.uncheck()
    expect(page.locator("#graph-status")).to_contain_text("Filters applied")
    assert int(page.locator("#graph-edge-count").inner_text()) < edges_before


def test_search_finds_an_entity_by_name(login: Callable[[str], Page], live: Live, shot: Shot) -> None:
    page = login("analyst")
    company = live.workspace.demo["entities"]["rings"][0]["companies"][0]
    page.goto("/search")
    page.get_by_label("Declaration id, name, identifier, container or vessel").fill(company.upper())
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Entities \("))).to_be_visible()
    expect(page.get_by_role("link", name=company).first).to_be_visible()
    shot(page, "search")


def test_an_inspector_is_refused_the_entity_page(login: Callable[[str], Page], live: Live) -> None:
    page = login("inspector")
    answer = page.goto("/entities/ENT00000001")
    assert answer is not None
    assert answer.status == 403
