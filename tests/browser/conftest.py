"""Browser tests: the workspace served by uvicorn on a free local port, driven by Playwright in Debian's
Chromium (never a downloaded browser), with screenshots of every page under out/screenshots/.

Chromium starts with the flags that keep it off the network (no background networking, component
updates, sync or QUIC), so a test can only reach the workspace it serves.

The net: every browser context a test opens (through ``login`` or ``browser.new_context``) is watched, and
the test fails when any of its pages throws (an uncaught exception or a script that does not parse), logs
an error on the console (a CSP violation, ``console.error``), fails to load a script, stylesheet, image or
API call (a 4xx or 5xx, or a failed request), or is answered a 5xx for the page itself. A test asserts the
status of the pages it opens itself (a 403 for a refused role), so a refused *page* is not an error.
tests/browser/test_script_errors.py injects each kind of failure and shows the net catches it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

from cintel.settings import Settings
from cintel.web.serve import background
from tests.conftest import Workspace, workspace_copy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
# Chromium's own line for any response >= 400; the response itself is judged by BrowserNet.response.
LOAD_FAILED = "Failed to load resource"
# A request the browser dropped because the page navigated away from it: not a failure of the page.
ABORTED = "net::ERR_ABORTED"


@pytest.fixture(scope="session")
def browser_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The workspace world on SQLite, the embedded default the demo serves (browser tests run on one back
    end: the pages' data code is tested on both by tests/web)."""
    with workspace_copy("sqlite", tmp_path_factory) as copy:  # the session's workspace world, copied
        yield copy


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


@dataclass
class BrowserNet:
    """What went wrong in the pages of the contexts it watches (see the module docstring)."""

    errors: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> BrowserContext:
        """Watches every page ``context`` opens from now on (new tabs and pop-ups included)."""
        context.on("page", self.watch_page)
        return context

    def watch_page(self, page: Page) -> None:
        self.pages.append(page)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc.name}: {exc.message}"))
        page.on("console", lambda message: self.console(page, message))
        page.on("response", self.response)
        page.on("requestfailed", self.request_failed)

    def console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error" and LOAD_FAILED not in message.text:
            self.errors.append(f"{page.url}: console error: {message.text}")

    def response(self, response: Response) -> None:
        kind = response.request.resource_type
        if response.status >= 500 or (response.status >= 400 and kind != "document"):
            self.errors.append(f"{kind} {response.url} answered {response.status}")

    def request_failed(self, request: Request) -> None:
        if request.failure != ABORTED:
            self.errors.append(f"{request.resource_type} {request.url} failed: {request.failure}")

    def settle(self) -> None:
        """Lets every open page finish loading and delivers the events already sent (a round trip per page)."""
        for page in self.pages:
            if page.is_closed():
                continue
            try:
                page.wait_for_load_state("load")
                page.title()
            except Error:  # closed meanwhile, with its context: its events have been delivered
                continue

    def check(self) -> None:
        """Raises AssertionError listing every problem seen so far."""
        self.settle()
        assert not self.errors, "the browser reported errors:\n" + "\n".join(self.errors)


class WatchedBrowser:
    """The session's Browser, whose ``new_context`` puts each new context under the running test's net."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.net: BrowserNet | None = None

    def new_context(self, **options: Any) -> BrowserContext:
        context = self.browser.new_context(**options)
        if self.net is not None:
            self.net.watch(context)
        return context

    def __getattr__(self, name: str) -> Any:
        return getattr(self.browser, name)


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[WatchedBrowser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is needed for the browser tests: `make test` installs it")
    b = playwright_session.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    yield WatchedBrowser(b)
    b.close()


@pytest.fixture(autouse=True)
def net(browser: WatchedBrowser) -> Iterator[BrowserNet]:
    """The running test's net over every context it opens; the test fails if the net caught anything."""
    watching = BrowserNet()
    browser.net = watching
    yield watching
    browser.net = None
    watching.check()


def sign_in(page: Page, live: Live, role: str) -> Page:
    """Signs ``page`` in as the demo user holding ``role``; returns it on the page the sign-in lands on."""
    username, password = live.workspace.user(role)
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def new_context(browser: WatchedBrowser, live: Live) -> BrowserContext:
    """A fresh context on the live workspace, as every browser test uses one."""
    context = browser.new_context(base_url=live.base_url, viewport={"width": 1400, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def login(browser: WatchedBrowser, live: Live, net: BrowserNet) -> Iterator[Callable[[str], Page]]:
    """A factory: ``login(role)`` opens a fresh browser context signed in as the demo user with that role,
    on the page the sign-in lands on. The test's net watches it (see the module docstring)."""
    contexts: list[BrowserContext] = []

    def open_signed_in(role: str) -> Page:
        context = new_context(browser, live)
        contexts.append(context)
        return sign_in(context.new_page(), live, role)

    yield open_signed_in
    net.settle()  # before the contexts close, so the last page's events are seen
    for context in contexts:
        context.close()


@pytest.fixture
def shot() -> Callable[[Page, str], Path]:
    """``shot(page, name)`` saves a full-page screenshot as out/screenshots/<name>.png for review."""

    def take(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
