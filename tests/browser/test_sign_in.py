"""Signing in and out in a real browser, and what the pages refuse."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Live


def test_a_visitor_is_sent_to_sign_in_and_a_wrong_password_is_refused(browser: Browser, live: Live,
                                                                       shot: Callable[[Page, str], object]) -> None:
    context = browser.new_context(base_url=live.base_url)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(f"{live.base_url}/login")
    shot(page, "login")
    page.get_by_label("Username").fill(live.workspace.user("analyst")[0])
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    context.close()


def test_a_signed_in_user_sees_the_navigation_and_can_sign_out(login: Callable[[str], Page]) -> None:
    page = login("analyst")
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Dashboard", "Risk queue", "Search", "Network", "Rules", "Cases"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Username")).to_be_visible()
    page.goto("/")
    expect(page.get_by_label("Username")).to_be_visible()
