"""Browser tests: the workspace served by uvicorn on a free local port, driven by Playwright in Debian's
Chromium (never a downloaded browser), with screenshots of every page under out/screenshots/.

Chromium starts with the flags that keep it off the network (no background networking, component
updates, sync or QUIC), so a test can only reach the workspace it serves. Any JavaScript error or
Content-Security-Policy violation on a page fails the test that opened it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from cintel.settings import Settings
from cintel.web.serve import background
from tests.conftest import Workspace, _build_workspace, loaded_store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


@pytest.fixture(scope="session")
def browser_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The workspace world on SQLite, the embedded default the demo serves (browser tests run on one back
    end: the pages' data code is tested on both by tests/web)."""
    world = tmp_path_factory.getbasetemp() / "workspace-world"
    for engine in loaded_store("sqlite", tmp_path_factory, lambda e: e):
        yield _build_workspace(engine, world)


@dataclass
class Live:
    base_url: str
    workspace: Workspace


@pytest.fixture(scope="session")
def live(browser_workspace: Workspace) -> Iterator[Live]:
    """The real app under uvicorn in a background thread (plain HTTP on 127.0.0.1: cookies not Secure)."""
    with background(browser_workspace.engine, Settings(web_secure_cookies=False)) as url:
        yield Live(base_url=url, workspace=browser_workspace)


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is needed for the browser tests: `make test` installs it")
    b = playwright_session.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    yield b
    b.close()


@dataclass
class PageProblems:
    """What went wrong in the browser while a test ran: script errors and CSP violations."""

    errors: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        text = message.text
        # A refused request (403/404) is logged by Chromium as "Failed to load resource": tests check those
        # themselves. Scripts that throw and CSP violations are always bugs.
        if message.type == "error" and "Failed to load resource" not in text:
            self.errors.append(text)


@pytest.fixture
def login(browser: Browser, live: Live) -> Iterator[Callable[[str], Page]]:
    """A factory: ``login(role)`` opens a fresh browser context signed in as the demo user with that role,
    on the page the sign-in lands on. Fails the test if any page logs a script error or CSP violation."""
    contexts = []
    problems = PageProblems()

    def sign_in(role: str) -> Page:
        context = browser.new_context(base_url=live.base_url, viewport={"width": 1400, "height": 900},
                                      accept_downloads=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", problems.console)
        page.on("pageerror", lambda exc: problems.errors.append(f"uncaught: {exc}"))
        username, password = live.workspace.user(role)
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield sign_in
    for context in contexts:
        context.close()
    assert not problems.errors, f"the browser reported errors: {problems.errors}"


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """``shot(page, name)`` saves a full-page screenshot as out/screenshots/<name>.png for review."""

    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
