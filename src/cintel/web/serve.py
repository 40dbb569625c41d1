"""Running the workspace: under uvicorn in the foreground (`cintel serve`, `cintel demo --serve`) or in
a background thread for a check that signs in as each demo user and opens every page over real HTTP."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from sqlalchemy import Engine

from cintel.settings import Settings
from cintel.web.app import create_app


def run(engine: Engine, settings: Settings, host: str, port: int) -> None:
    """Serves the workspace until interrupted."""
    app = create_app(engine, settings=settings)
    # uvicorn's own proxy headers would trust 127.0.0.1 by default; the app trusts web_trusted_proxies only.
    uvicorn.run(app, host=host, port=port, proxy_headers=False, server_header=False, log_level="info")


@contextmanager
def background(engine: Engine, settings: Settings, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """The workspace served in a daemon thread for the duration of the block; yields its base URL."""
    config = uvicorn.Config(create_app(engine, settings=settings), host=host, port=port, log_level="warning",
                            server_header=False, proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the workspace did not start")
        time.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class PageCheck:
    username: str
    path: str
    status: int
    ms: float


LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """Signs in as a browser does: opens the form (which sets its pre-session CSRF cookie), posts it back."""
    form = client.get("/login")
    found = LOGIN_CSRF.search(form.text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": found.group(1) if found else ""})


def check_pages(base_url: str, accounts: Mapping[str, Mapping[str, str]],
                pages: Mapping[str, Sequence[str]]) -> list[PageCheck]:
    """Signs in as each account and opens the pages listed for its role; one result per page."""
    results = []
    for username, account in accounts.items():
        with httpx.Client(base_url=base_url, follow_redirects=False, timeout=60) as client:
            signed = sign_in(client, username, account["password"])
            if signed.status_code != 303:
                results.append(PageCheck(username, "/login", signed.status_code, 0.0))
                continue
            for path in pages.get(account["role"], ()):
                started = time.perf_counter()
                answer = client.get(path)
                results.append(PageCheck(username, path, answer.status_code, (time.perf_counter() - started) * 1000))
    return results

