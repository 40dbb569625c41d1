"""CSRF on every unsafe route, as a security tester checks it: a request made with a session cookie but
without the session's CSRF token, or with a wrong one (made up, or another session's), is refused with 403
before the route does anything, and the store is left as it was; the same request with the token gets past
the check. Bearer-token calls carry no ambient credential and need no token (as designed in security.py).

Generated from the app's route table: each route is called by a user of a role it admits, with real ids
from the workspace, so the CSRF check is the only thing that can refuse it (SQLite workspace only, as the
matrix: the check reads no data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cintel.domain.roles import Role
from cintel.web.accounts import create_api_token
from tests.conftest import Workspace
from tests.web.conftest import ROLES, SQLITE_WORKSPACE, Endpoint, WorkspaceIds, https_client, route_table, sign_in

Sessions = dict[Role, tuple[TestClient, str]]
SessionFor = Callable[[Endpoint], tuple[TestClient, str]]
UNSAFE = [e for e in route_table() if e.unsafe and e.access is not None and not e.access.public]
CSRF_MESSAGE = "CSRF token is missing or wrong"


def admitted(endpoint: Endpoint) -> Role:
    """A role the route admits (so that the role check passes and only the CSRF check can refuse)."""
    assert endpoint.access is not None
    return next(role for role in ROLES if endpoint.access.admits(role))


def test_every_unsafe_route_is_checked() -> None:
    labels = {e.label for e in UNSAFE}
    assert {"POST /logout", "POST /api/v1/tokens", "POST /cases/{case_id}/status",
            "POST /api/v1/rules/{rule_id}/retire"} <= labels
    assert len(UNSAFE) > 30


@pytest.fixture
def session_for(workspace: Workspace, workspace_app: FastAPI, role_sessions: Sessions) -> Iterator[SessionFor]:
    """``session_for(endpoint)``: a client signed in with a role the endpoint admits, and its CSRF token. A
    route that would act on an empty request without ids (sign-out) gets a session of its own."""
    own: list[TestClient] = []

    def make(endpoint: Endpoint) -> tuple[TestClient, str]:
        role = admitted(endpoint)
        if endpoint.acts_on_an_empty_request and not endpoint.path_params:
            client = https_client(workspace_app).__enter__()
            own.append(client)
            return client, sign_in(client, *workspace.user(role.value))
        return role_sessions[role]

    yield make
    for client in own:
        client.__exit__(None, None, None)


def call(client: TestClient, endpoint: Endpoint, ids: WorkspaceIds, **kwargs: Any) -> httpx.Response:
    """The endpoint called with real ids, or ids naming nothing when an empty request would act on them."""
    url = ids.url(endpoint, absent=endpoint.acts_on_an_empty_request)
    answer: httpx.Response = client.request(endpoint.method, url, params=ids.query(endpoint), **kwargs)
    return answer


@SQLITE_WORKSPACE
@pytest.mark.parametrize("endpoint", UNSAFE, ids=lambda e: e.label)
def test_a_session_request_without_the_right_csrf_token_is_refused_and_changes_nothing(
        endpoint: Endpoint, session_for: SessionFor, role_sessions: Sessions, workspace_ids: WorkspaceIds,
        store_writes: list[str]) -> None:
    client, csrf = session_for(endpoint)
    store_writes.clear()  # signing a fresh client in writes; what counts is what the refused requests do
    others = next(token for _, token in role_sessions.values() if token != csrf)
    attempts: dict[str, dict[str, Any]] = {
        "no token": {},
        "made-up header": {"headers": {"X-CSRF-Token": "x" * len(csrf)}},
        "another session's token": {"headers": {"X-CSRF-Token": others}},
    }
    if endpoint.form:
        attempts["made-up form field"] = {"data": {"csrf_token": "x" * len(csrf)}}
    for what, kwargs in attempts.items():
        answer = call(client, endpoint, workspace_ids, **kwargs)
        assert answer.status_code == 403, (what, answer.status_code, answer.text[:300])
        assert CSRF_MESSAGE in answer.text, (what, answer.text[:300])
        if endpoint.api:
            assert answer.headers["content-type"] == "application/problem+json"
    assert store_writes == [], "a refused request wrote to the store"

    passed = call(client, endpoint, workspace_ids, headers={"X-CSRF-Token": csrf})
    assert passed.status_code not in (401, 403), (passed.status_code, passed.text[:300])


@pytest.fixture(scope="module")
def role_tokens(workspace: Workspace) -> dict[Role, str]:
    """A bearer token of the workspace's demo user of each role, issued to themself."""
    return {role: create_api_token(workspace.engine, workspace.user(role.value)[0], "csrf checks").token
            for role in ROLES}


@SQLITE_WORKSPACE
@pytest.mark.parametrize("endpoint", [e for e in UNSAFE if e.api], ids=lambda e: e.label)
def test_a_bearer_token_call_needs_no_csrf_token(endpoint: Endpoint, workspace_app: FastAPI,
                                                 workspace_ids: WorkspaceIds, role_tokens: dict[Role, str]) -> None:
    with https_client(workspace_app) as client:
        answer = call(client, endpoint, workspace_ids,
                      headers={"Authorization": f"Bearer {role_tokens[admitted(endpoint)]}"})
    assert answer.status_code not in (401, 403), (answer.status_code, answer.text[:300])
