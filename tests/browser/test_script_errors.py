"""The net under every browser test (tests/browser/conftest.py): a page that throws, logs an error on the
console, breaks the Content-Security-Policy or fails to load a script fails the test that opened it.

Each kind of failure is injected into a real page here - the workspace's own script for the entity page is
replaced, in the browser, by one that fails - and the net must report it. A net that lets one through is
how the entity timeline stayed broken while every browser test passed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, Route
from sqlalchemy import select

from cintel.store.entity_tables import entities
from tests.browser.conftest import BrowserNet, Live, WatchedBrowser, new_context, sign_in

ENTITY_SCRIPT = "**/static/js/entity.js"


@pytest.fixture
def context(browser: WatchedBrowser, live: Live) -> Iterator[BrowserContext]:
    """A context opened the way any test opens one (so the net watches it), closed at the end."""
    opened = new_context(browser, live)
    yield opened
    opened.close()


def entity_url(live: Live) -> str:
    label = live.workspace.demo["entities"]["rings"][0]["companies"][0]
    with live.workspace.engine.connect() as conn:
        entity_id = conn.execute(select(entities.c.entity_id).where(entities.c.label == label)).scalars().first()
    return f"/entities/{entity_id}"


def serve_script(body: str, status: int = 200):  # type: ignore[no-untyped-def]
    def fulfil(route: Route) -> None:
        route.fulfill(status=status, content_type="text/javascript", body=body)
    return fulfil


def caught(net: BrowserNet) -> str:
    """What the net reports (it must report something); then cleared, so the test's own net check passes."""
    with pytest.raises(AssertionError) as failure:
        net.check()
    net.errors.clear()
    return str(failure.value)


@pytest.mark.parametrize(("script", "reported"), [
    # The entity timeline's own failure: JSON cut short (it sat in a double-quoted attribute) does not parse.
    ("JSON.parse('[{');", "uncaught SyntaxError"),
    ("document.addEventListener('DOMContentLoaded', function () { undefinedFunction(); });", "ReferenceError"),
    ("setTimeout(function () { throw new Error('failed after the page loaded'); }, 50);",
     "failed after the page loaded"),
    ("Promise.reject(new Error('a promise nobody caught'));", "a promise nobody caught"),
    ("console.error('something went wrong');", "console error: something went wrong"),
    # An inline script is refused by the CSP: Chromium says so on the console.
    ("var s = document.createElement('script'); s.textContent = 'window.x = 1'; document.head.appendChild(s);",
     "Content Security Policy"),
    ("this is not JavaScript", "uncaught SyntaxError"),
])
def test_a_script_error_on_a_page_fails_the_test(context: BrowserContext, live: Live, net: BrowserNet, script: str,
                                                 reported: str) -> None:
    page = sign_in(context.new_page(), live, "analyst")
    context.route(ENTITY_SCRIPT, serve_script(script))
    page.goto(entity_url(live))
    page.wait_for_timeout(300)  # the late failures happen after the load
    assert reported in caught(net)


def test_a_script_that_does_not_load_fails_the_test(context: BrowserContext, live: Live, net: BrowserNet) -> None:
    page = sign_in(context.new_page(), live, "analyst")
    context.route(ENTITY_SCRIPT, serve_script("", status=404))
    page.goto(entity_url(live))
    assert "script" in (report := caught(net))
    assert "/static/js/entity.js answered 404" in report
    context.unroute(ENTITY_SCRIPT)
    context.route(ENTITY_SCRIPT, lambda route: route.abort("failed"))
    page.goto(entity_url(live))
    assert "/static/js/entity.js failed: net::ERR_FAILED" in caught(net)


def test_errors_in_a_second_page_of_the_context_are_caught_too(context: BrowserContext, live: Live,
                                                               net: BrowserNet) -> None:
    sign_in(context.new_page(), live, "analyst")
    context.route(ENTITY_SCRIPT, serve_script("throw new Error('in the other tab');"))
    other: Page = context.new_page()
    other.goto(entity_url(live))
    assert "in the other tab" in caught(net)


def test_a_refused_page_is_the_tests_to_judge_but_a_server_error_is_always_caught(
        context: BrowserContext, live: Live, net: BrowserNet) -> None:
    page = sign_in(context.new_page(), live, "inspector")
    answer = page.goto(entity_url(live))
    assert answer is not None
    assert answer.status == 403  # the test asserts it; the net lets a refused page through
    net.check()
    context.route("**/entities/*", lambda route: route.fulfill(status=500, body="boom"))
    page.goto(entity_url(live))
    assert "answered 500" in caught(net)


def test_a_clean_page_passes(context: BrowserContext, live: Live, net: BrowserNet) -> None:
    page = sign_in(context.new_page(), live, "analyst")
    page.goto(entity_url(live))
    page.locator("#graph-list li").first.wait_for()
    net.check()
