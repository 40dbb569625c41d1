"""The role x route matrix, as a security tester runs it: every route of the app, signed out and as the demo
user of every role, answers what the route declares.

Generated from the app's route table and each route's dependencies (``require_roles(...)``, ``current_user``,
or a path in ``PUBLIC_PATHS``), so a route is checked the day it is added and a route that declares nothing
fails. Signed out, a page redirects to /login and the API answers 401; a role the route does not admit gets
403; a role it admits never gets 401, 403 or a 5xx, and a page or API read answers 200. Path parameters are
real ids of the workspace. Unsafe requests carry the CSRF token but no body, so a route that needs input
refuses it (422) after the role check and nothing changes; a route that would act on an empty request gets
ids that name nothing (or, without ids, a session of its own), so the shared workspace stays as it was.
The matrix runs on the SQLite workspace only (``SQLITE_WORKSPACE``: who may call a route is decided before the
store is read). OPTIONS and a missing method (405) answer the methods the path has, from the same table.
"""

from __future__ import annotations

import re
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from cintel.domain.roles import Role
from cintel.settings import Settings
from cintel.web.app import create_app
from cintel.web.security import CurrentUser, Principal, require_roles
from tests.conftest import Workspace
from tests.web.conftest import (
    ROLES,
    SQLITE_WORKSPACE,
    Access,
    Endpoint,
    WorkspaceIds,
    all_routes,
    declared_access,
    https_client,
    route_table,
    sign_in,
)

ENDPOINTS = route_table()
Sessions = dict[Role, tuple[TestClient, str]]


# --- the table itself ----------------------------------------------------------------------------------------

def test_every_route_declares_who_may_call_it() -> None:
    app = create_app(create_engine("sqlite://"), settings=Settings())
    undeclared = [f"{sorted(getattr(r, 'methods', None) or ['*'])} {r.path}" for r in all_routes(app)
                  if declared_access(r) is None]
    assert undeclared == [], "routes without require_roles(...), current_user or a place in PUBLIC_PATHS"


def test_the_table_reads_what_routes_declare() -> None:
    declared = {e.label: e.access for e in ENDPOINTS}
    assert declared["POST /api/v1/queue/assign"] == Access(roles=frozenset({Role.TARGETING_OFFICER, Role.SUPERVISOR}))
    assert declared["GET /api/v1/me"] == Access()
    assert declared["POST /login"] == Access(public=True)
    assert declared["GET /entities/{entity_id}"] == Access(
        roles=frozenset({Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR}))


def test_a_route_that_declares_nothing_is_caught() -> None:
    app = FastAPI()

    @app.get("/open")
    def open_route() -> None: ...

    @app.get("/signed-in")
    def signed_in(principal: CurrentUser) -> None: ...

    @app.get("/both")
    def both(a: Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))],
             b: Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ANALYST))]) -> None: ...

    found = {r.path: declared_access(r) for r in all_routes(app) if r.path in ("/open", "/signed-in", "/both")}
    assert found == {"/open": None, "/signed-in": Access(), "/both": Access(roles=frozenset({Role.SUPERVISOR}))}


# --- the matrix ------------------------------------------------------------------------------------------------

def send(client: TestClient, endpoint: Endpoint, ids: WorkspaceIds, csrf: str | None = None) -> httpx.Response:
    """The endpoint's request as the matrix sends it: real ids and required query values; unsafe requests
    with the CSRF token and no body (ids naming nothing when an empty request would act)."""
    url = ids.url(endpoint, absent=endpoint.acts_on_an_empty_request)
    headers = {"X-CSRF-Token": csrf} if csrf and endpoint.unsafe else {}
    answer: httpx.Response = client.request(endpoint.method, url, params=ids.query(endpoint), headers=headers)
    return answer


def _said(answer: httpx.Response) -> str:
    return f"{answer.status_code} {answer.headers.get('location', '')}{answer.text[:160]!r}"


@SQLITE_WORKSPACE
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.label)
def test_each_role_gets_what_the_route_declares(endpoint: Endpoint, workspace: Workspace, workspace_app: FastAPI,
                                                role_sessions: Sessions, workspace_ids: WorkspaceIds) -> None:
    access = endpoint.access
    assert access is not None, f"{endpoint.label} declares no requirement"
    wrong: list[str] = []
    with https_client(workspace_app) as anonymous:
        answer = send(anonymous, endpoint, workspace_ids)
    if access.public:
        if answer.status_code == 401 or answer.status_code >= 500:
            wrong.append(f"signed out: {_said(answer)}")
    elif endpoint.api:
        if answer.status_code != 401 or answer.headers.get("content-type") != "application/problem+json":
            wrong.append(f"signed out: {_said(answer)} (expected a 401 problem)")
    elif answer.status_code != 303 or answer.headers.get("location") != "/login":
        wrong.append(f"signed out: {_said(answer)} (expected 303 to /login)")

    for role in ROLES:
        if endpoint.acts_on_an_empty_request and not endpoint.path_params:
            # It would act on this very session (sign-out): give it one of its own.
            with https_client(workspace_app) as own:
                answer = send(own, endpoint, workspace_ids, sign_in(own, *workspace.user(role.value)))
        else:
            client, csrf = role_sessions[role]
            answer = send(client, endpoint, workspace_ids, csrf)
        if not access.admits(role):
            if answer.status_code != 403:
                wrong.append(f"{role} (not admitted): {_said(answer)} (expected 403)")
        elif answer.status_code in (401, 403) or answer.status_code >= 500:
            wrong.append(f"{role} (admitted): {_said(answer)}")
        elif endpoint.method == "GET" and answer.status_code != 200:
            wrong.append(f"{role} (admitted): {_said(answer)} (expected 200)")
    assert wrong == [], f"{endpoint.label} ({access}):\n" + "\n".join(wrong)


# --- which methods a path has ------------------------------------------------------------------------------------

def _methods_by_url() -> dict[str, set[str]]:
    """Each route's path with its parameters filled in, and the methods of every route matching it there
    (/api/v1/rules/check is also /api/v1/rules/{rule_id})."""
    urls = {re.sub(r"\{[^}]+\}", "x1", e.path) for e in ENDPOINTS}
    return {url: {e.method for e in ENDPOINTS if e.route.path_regex.match(url)} for url in urls}


METHODS_BY_URL = _methods_by_url()


@pytest.mark.parametrize(("url", "methods"), sorted(METHODS_BY_URL.items()), ids=sorted(METHODS_BY_URL))
def test_options_and_a_missing_method_answer_the_methods_the_path_has(bare_client: TestClient, url: str,
                                                                      methods: set[str]) -> None:
    allow = ", ".join(sorted(methods | {"OPTIONS"}))
    options = bare_client.options(url)
    assert (options.status_code, options.headers.get("allow")) == (204, allow)
    assert options.headers.get("x-content-type-options") == "nosniff"  # it passes the security headers too
    missing = next(m for m in ("DELETE", "PATCH", "PUT", "POST", "GET") if m not in methods)
    refused = bare_client.request(missing, url)
    assert (refused.status_code, refused.headers.get("allow")) == (405, allow)


def test_static_files_answer_get_and_head(bare_client: TestClient) -> None:
    assert bare_client.options("/static/cintel.css").headers.get("allow") == "GET, HEAD, OPTIONS"
    assert bare_client.post("/static/cintel.css").headers.get("allow") == "GET, HEAD, OPTIONS"
