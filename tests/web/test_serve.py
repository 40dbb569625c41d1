"""The workspace served over real HTTP: every demo user signs in and opens the pages of its role, as
`make demo` checks when it is not run in a terminal."""

from __future__ import annotations

from cintel.demo import demo_pages
from cintel.settings import Settings
from cintel.web.serve import background, check_pages
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
