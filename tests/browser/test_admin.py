"""The administrator's users page in a real browser: landing on it, a form that comes back as typed with the
error beside the field, a service account created, a token issued for it (shown once) and revoked."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live


def test_an_administrator_manages_a_service_account_and_its_token(login: Callable[[str], Page], live: Live,
                                                                  shot: Callable[[Page, str], object]) -> None:
    page = login("administrator")
    expect(page).to_have_url(f"{live.base_url}/admin/users")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=live.workspace.user("analyst")[0])).to_be_visible()
    shot(page, "admin-users")

    page.get_by_label("service account (no password, API tokens only)").check()
    page.get_by_label("Username").fill("nightly export")  # a space: not a valid username
    page.get_by_label("Name shown in the workspace").fill("Nightly export robot")
    page.get_by_label("analyst").check()
    page.get_by_role("button", name="Create account").click()
    error = page.locator("#username-error")
    expect(error).to_contain_text("is not valid")
    expect(page.get_by_label("Username")).to_have_attribute("aria-describedby", "username-error")
    # What was typed is still there.
    expect(page.get_by_label("Username")).to_have_value("nightly export")
    expect(page.get_by_label("Name shown in the workspace")).to_have_value("Nightly export robot")
    expect(page.get_by_label("service account (no password, API tokens only)")).to_be_checked()
    expect(page.get_by_label("analyst")).to_be_checked()
    shot(page, "admin-users-error")

    page.get_by_label("Username").fill("nightly-export")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{live.base_url}/admin/users/nightly-export")
    expect(page.get_by_text("service account: no password, cannot sign in")).to_be_visible()

    page.get_by_label("Label of a new token (what it is for)").fill("warehouse load")
    page.get_by_role("button", name="Issue token").click()
    token = page.locator("#issued-token")
    expect(token).to_have_text(re.compile(r"^cin_\S{20,}$"))
    admin = live.workspace.user("administrator")[0]
    row = page.get_by_role("row").filter(has_text="warehouse load")
    expect(row).to_contain_text(admin)  # who issued it
    expect(row).to_contain_text("never")  # not used yet
    shot(page, "admin-user-token")

    row.get_by_role("button", name="Revoke token warehouse load").click()
    expect(page.get_by_role("status")).to_contain_text("Token revoked.")
    expect(page.get_by_role("row").filter(has_text="warehouse load")).to_contain_text(f"by {admin}")
    expect(page.locator("#issued-token")).to_have_count(0)  # the token was shown once
