"""The workspace served over real HTTP: every demo user signs in and opens the pages of its role, as
`make demo` checks when it is not run in a terminal; behind a TLS proxy, sign-ins count against the client's
address only when the proxy is trusted."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from cintel.demo import demo_pages
from cintel.settings import Settings
from cintel.store.web_tables import login_attempts
from cintel.web.serve import background, check_pages, sign_in
from tests.conftest import Workspace


def test_every_demo_user_opens_every_page_of_its_role(workspace: Workspace) -> None:
    pages = demo_pages(workspace.engine, workspace.demo)
    with background(workspace.engine, Settings(web_secure_cookies=False)) as url:
        checks = check_pages(url, workspace.users, pages)
    assert {c.username for c in checks} == set(workspace.users)
    assert len(checks) == sum(len(pages[u["role"]]) for u in workspace.users.values())
    assert [c for c in checks if c.status != 200] == []


def test_a_wrong_password_is_reported_as_a_failed_sign_in(workspace: Workspace) -> None:
    username, _ = workspace.user("analyst")
    with background(workspace.engine, Settings(web_secure_cookies=False)) as url:
        checks = check_pages(url, {username: {"role": "analyst", "password": "wrong password here"}},
                             {"analyst": ["/"]})
    assert [(c.path, c.status) for c in checks] == [("/login", 401)]


def attempt_addresses(workspace: Workspace, username: str) -> list[str]:
    with workspace.engine.connect() as conn:
        return list(conn.execute(select(login_attempts.c.address).where(login_attempts.c.username == username)
                                 .order_by(login_attempts.c.id)).scalars())


def test_behind_a_trusted_proxy_sign_ins_count_against_the_forwarded_address(workspace: Workspace) -> None:
    # uvicorn serves the app; the test client is the TLS proxy on 127.0.0.1, forwarding its client's address.
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    with background(workspace.engine, Settings(web_secure_cookies=False, web_trusted_proxies="127.0.0.1")) as url, \
            httpx.Client(base_url=url, headers=forwarded) as proxy:
        assert sign_in(proxy, "proxy-check-1", "wrong password here").status_code == 401
    with background(workspace.engine, Settings(web_secure_cookies=False)) as url, \
            httpx.Client(base_url=url, headers=forwarded) as untrusted:
        assert sign_in(untrusted, "proxy-check-2", "wrong password here").status_code == 401
    assert attempt_addresses(workspace, "proxy-check-1") == ["203.0.113.7"]
    assert attempt_addresses(workspace, "proxy-check-2") == ["127.0.0.1"]  # the header is not believed


def test_a_user_is_not_locked_out_by_failures_behind_the_same_proxy(workspace: Workspace) -> None:
    username, password = workspace.user("inspector")
    with background(workspace.engine, Settings(web_secure_cookies=False, web_trusted_proxies="127.0.0.1")) as url:
        with httpx.Client(base_url=url, headers={"X-Forwarded-For": "203.0.113.66"}) as attacker:
            answers = [sign_in(attacker, username, "wrong password here").status_code for _ in range(6)]
        with httpx.Client(base_url=url, headers={"X-Forwarded-For": "198.51.100.20"}) as owner:
            assert sign_in(owner, username, password).status_code == 303
    assert answers[:3] == [401, 401, 401]
    assert 429 in answers[3:]
