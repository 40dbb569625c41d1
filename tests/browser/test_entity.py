"""The entity page, its graph and timeline, the network page's rings and search in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select

from cintel.store.entity_tables import entity_record_sources, entity_records
from tests.browser.conftest import Live

Shot = Callable[[Page, str], object]
# Read from the Cytoscape instance the page's script keeps on its container (model coordinates).
POSITIONS = "el => el.cintelGraph.nodes().map(n => [n.id(), n.position('x'), n.position('y')])"
LABEL_BOXES = ("el => el.cintelGraph.nodes().map(n => { const b = n.boundingBox({includeLabels: true, "
               "includeOverlays: false}); return [n.id(), b.x1, b.y1, b.x2, b.y2]; })")


def overlapping(boxes: list[list[object]]) -> list[tuple[object, object]]:
    """Pairs of nodes whose boxes (shape and label) overlap by more than a pixel."""
    out = []
    for i, (a, ax1, ay1, ax2, ay2) in enumerate(boxes):
        for b, bx1, by1, bx2, by2 in boxes[i + 1:]:
            if min(ax2, bx2) - max(ax1, bx1) > 1 and min(ay2, by2) - max(ay1, by1) > 1:  # type: ignore[operator]
                out.append((a, b))
    return out


def wait_for_more(items: Locator, before: int) -> None:
    for _ in range(50):  # polled from Python: the page's CSP forbids evaluating strings in the page
        if items.count() > before:
            return
        items.page.wait_for_timeout(100)


def test_an_analyst_opens_a_ring_member_and_expands_its_graph(login: Callable[[str], Page], live: Live,
                                                              shot: Shot) -> None:
    page = login("analyst")
    page.goto("/network")
    expect(page.get_by_role("heading", name="Suspected rings")).to_be_visible()
    company = live.workspace.demo["entities"]["rings"][0]["companies"][0]
    page.get_by_role("link", name=company, exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(company)
    expect(page.get_by_text(re.compile(r"Member of suspected ring 1"))).to_be_visible()
    canvas = page.locator("#graph-canvas canvas").first
    expect(canvas).to_be_attached()
    items = page.locator("#graph-list li")
    expect(items.first).to_be_visible()
    before = items.count()
    assert before > 1
    graph = page.locator("#graph")
    placed = {n: (x, y) for n, x, y in graph.evaluate(POSITIONS)}
    assert not overlapping(graph.evaluate(LABEL_BOXES))
    # Expand a neighbour from the accessible list, with the keyboard.
    # The ring's companies share an address: expanding it brings in the other companies.
    neighbour = page.locator('#graph-list button[aria-label$="(address)"]').first
    neighbour.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#graph-status")).to_contain_text("shown")
    expect(page.locator("#graph-as-of")).to_contain_text(re.compile(r"Ties as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
    wait_for_more(items, before)
    assert items.count() > before
    # The graph grew around the address: nothing shown before moved, and no label covers another.
    after = {n: (x, y) for n, x, y in graph.evaluate(POSITIONS)}
    assert set(placed) < set(after)
    assert all(after[n] == pytest.approx(placed[n], abs=0.01) for n in placed)
    assert not overlapping(graph.evaluate(LABEL_BOXES))
    edges_before = int(page.locator("#graph-edge-count").inner_text())
    shot(page, "entity")
    # Unticking a tie kind present removes its edges (re-queried); the nodes that stay keep their places.
    box = page.get_by_role("checkbox", name=re.compile("^has address$"))
    box.uncheck()
    expect(page.locator("#graph-status")).to_contain_text("Filters applied")
    assert int(page.locator("#graph-edge-count").inner_text()) < edges_before
    kept = {n: (x, y) for n, x, y in graph.evaluate(POSITIONS)}
    assert all(kept[n] == pytest.approx(after[n], abs=0.01) for n in kept if n in after)


def test_the_timeline_of_an_entity_with_declarations_is_drawn(login: Callable[[str], Page], live: Live,
                                                               shot: Shot) -> None:
    with live.workspace.engine.connect() as conn:
        entity_id = conn.execute(
            select(entity_records.c.entity_id)
            .join(entity_record_sources, entity_record_sources.c.record_id == entity_records.c.record_id)
            .where(entity_record_sources.c.source_kind == "declarations", entity_records.c.entity_id.is_not(None))
            .group_by(entity_records.c.entity_id).order_by(func.count().desc()).limit(1)).scalar_one()
    page = login("analyst")
    page.goto(f"/entities/{entity_id}")
    expect(page.get_by_role("heading", name=re.compile(r"^Declarations \(\d+\)"))).to_be_visible()
    # ECharts draws SVG: bars for the weeks and the legend's three series
    expect(page.locator("#timeline svg")).to_be_attached()
    expect(page.locator("#timeline svg path").nth(10)).to_be_attached()
    expect(page.locator("#timeline svg text", has_text="Declarations").first).to_be_attached()
    shot(page, "entity-timeline")


def test_the_network_page_draws_each_ring_with_its_labels_apart(login: Callable[[str], Page], live: Live,
                                                                shot: Shot) -> None:
    page = login("analyst")
    page.goto("/network")
    drawings = page.locator(".ring-graph")
    expect(drawings.first.locator("canvas").first).to_be_attached()
    assert drawings.count() > 0
    top = drawings.first
    boxes = top.evaluate(LABEL_BOXES)
    labels = top.evaluate("el => el.cintelGraph.nodes().map(n => n.data('label'))")
    assert set(live.workspace.demo["entities"]["rings"][0]["companies"]) <= set(labels)
    for n in range(drawings.count()):
        assert not overlapping(drawings.nth(n).evaluate(LABEL_BOXES)), f"ring {n + 1}: labels overlap"
    assert len(boxes) > len(live.workspace.demo["entities"]["rings"][0]["companies"])  # and what they share
    expect(page.get_by_role("heading", name="What ties them").first).to_be_visible()
    shot(page, "network")


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
