"""Schemathesis over the whole /api/v1 OpenAPI, as a security tester runs it, for each role: requests
generated from the app's OpenAPI description (valid and invalid ones), sent in process to the app on a
private copy of the workspace (what they write lands in the copy), a bounded number per operation. Every
answer must be no server error and match the schema the description gives for its status.

The requests run on PostgreSQL (``api_workspace``). Each role runs the operations its role admits (the role
x route matrix proves every other one answers 403, which is decided before any input is read). The
description is read from an app built on an empty store, so the operations are known at collection time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import create_engine

from cintel.domain.roles import Role
from cintel.settings import Settings
from cintel.web.accounts import create_api_token
from cintel.web.app import create_app
from tests.conftest import Workspace, workspace_copy
from tests.web.conftest import ROLES, Endpoint, route_table

EXAMPLES = 15  # per operation and role
CONFIG = schemathesis.Config.from_dict({
    # Random generation only: the coverage phase's boundary cases multiply the requests by about five.
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    "generation": {"mode": "all", "no-shrink": True},
})
API = schemathesis.openapi.from_dict(
    create_app(create_engine("sqlite://"), settings=Settings()).openapi(), config=CONFIG)
ACCESS = {(e.method, e.path): e.access for e in route_table()}


@pytest.fixture(scope="module")
def api_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A private copy of the workspace, where generated requests write freely. On PostgreSQL, the production
    store, whose types are the stricter (32-bit integers, no NUL in text): what passes there passes on SQLite,
    which the route tests cover for the rest."""
    with workspace_copy("postgres", tmp_path_factory) as copy:
        yield copy


@pytest.fixture(scope="module")
def api_app(api_workspace: Workspace) -> FastAPI:
    return create_app(api_workspace.engine, settings=Settings(web_secure_cookies=True))


@pytest.fixture(scope="module")
def bearer(api_workspace: Workspace) -> dict[Role, dict[str, str]]:
    """The Authorization header of the demo user of each role, with a token issued to themself."""
    return {role: {"Authorization": "Bearer " + create_api_token(
        api_workspace.engine, api_workspace.user(role.value)[0], "schemathesis").token} for role in ROLES}


def contract_test(role: Role) -> Callable[..., None]:
    """The test of every /api/v1 operation ``role`` may call, one pytest item per operation."""

    def admitted(ctx: Any) -> bool:
        access = ACCESS[(ctx.operation.method.upper(), ctx.operation.path)]
        return ctx.operation.path.startswith("/api/v1/") and access is not None and access.admits(role)

    @API.include(admitted).parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def test(case: schemathesis.Case[Any], api_app: FastAPI, bearer: dict[Role, dict[str, str]]) -> None:
        case.call_and_validate(app=api_app, headers=bearer[role],
                               checks=[not_a_server_error, response_schema_conformance])

    test.__doc__ = f"Generated requests to the operations a {role.description.split(':')[0]} may call."
    checked: Callable[..., None] = test
    return checked


test_the_api_as_analyst = contract_test(Role.ANALYST)
test_the_api_as_targeting_officer = contract_test(Role.TARGETING_OFFICER)
test_the_api_as_inspector = contract_test(Role.INSPECTOR)
test_the_api_as_supervisor = contract_test(Role.SUPERVISOR)
test_the_api_as_administrator = contract_test(Role.ADMINISTRATOR)



def test_the_description_gives_every_refusal_as_a_problem_document() -> None:
    """The answers the app gives to bad input, no sign-in, a missing role or an unknown id are problem
    documents: the description says so (not FastAPI's default 422 shape), so the checks above hold them to it."""
    refusals = {f"{method.upper()} {path}": {code: list(answer.get("content", {}))
                                            for code, answer in op["responses"].items() if code.startswith("4")}
                for path, ops in API.raw_schema["paths"].items() if path.startswith("/api/v1/")
                for method, op in ops.items()}
    assert refusals
    # A route may name some refusals (409: no model yet); none may give them another shape.
    assert {label: codes for label, codes in refusals.items() if codes.get("4XX") != ["application/problem+json"]
            or any(media not in ([], ["application/problem+json"]) for media in codes.values())} == {}
    assert API.raw_schema["paths"]["/api/v1/me"]["get"]["responses"]["4XX"]["content"][
        "application/problem+json"]["schema"]["required"] == ["type", "title", "status", "detail"]


# --- text that is not UTF-8, wherever it arrives -----------------------------------------------------------------
# A JSON escape of a lone UTF-16 surrogate ("\ud800") parses, but no UTF-8 text can hold it; percent-encoded
# bytes that are not UTF-8 would be decoded with U+FFFD in their place; no text column holds a NUL. Each is
# refused (400) before anything reads it, signed in or not, on every route.

ENDPOINTS = route_table()
NOT_UTF8_JSON = [b'{"expression": "\\ud800"}', b'{"expression": "\xed\xa0\x80"}', b'{"\\udfff": 1}',
                 b'[["x", "a\\uDBFFb"]]', b'{"text": "\xff"}', b'{"reason": "a\\u0000b"}', b'{"a\\u0000": 1}',
                 b'{"reason": "a\x00b"}']
UTF8_JSON = [b'{"expression": "\\ud83d\\ude00"}', b'{"expression": "\\\\ud800"}', b'{"x": "\\\\u0000"}',
             "{\"x\": \"\u00e9\"}".encode()]


def _url(endpoint: Endpoint) -> str:
    return re.sub(r"\{[^}]+\}", "x1", endpoint.path)


def _refused_as_not_utf8(answer: httpx.Response, api: bool) -> bool:
    if answer.status_code != 400 or "UTF-8" not in answer.text or "x-content-type-options" not in answer.headers:
        return False
    return answer.headers["content-type"] == ("application/problem+json" if api else "text/html; charset=utf-8")


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.unsafe and e.api], ids=lambda e: e.label)
def test_a_json_body_that_is_not_utf8_is_refused(bare_client: TestClient, endpoint: Endpoint) -> None:
    for body in NOT_UTF8_JSON:
        answer = bare_client.request(endpoint.method, _url(endpoint), content=body,
                                     headers={"content-type": "application/json"})
        assert _refused_as_not_utf8(answer, api=True), (body, answer.status_code, answer.text[:200])
    for body in UTF8_JSON:  # a surrogate pair, an escaped backslash, plain UTF-8: the sign-in check answers
        answer = bare_client.request(endpoint.method, _url(endpoint), content=body,
                                     headers={"content-type": "application/json"})
        assert answer.status_code == 401, (body, answer.status_code, answer.text[:200])


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.form], ids=lambda e: e.label)
def test_a_form_that_is_not_utf8_is_refused(bare_client: TestClient, endpoint: Endpoint) -> None:
    for body in (b"reason=%ED%A0%80", b"a=1&reason=%FF", b"reason=a%00b"):
        answer = bare_client.request(endpoint.method, _url(endpoint), content=body,
                                     headers={"content-type": "application/x-www-form-urlencoded"})
        assert _refused_as_not_utf8(answer, endpoint.api), (body, answer.status_code, answer.text[:200])


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if not e.unsafe], ids=lambda e: e.label)
def test_a_query_or_path_that_is_not_utf8_is_refused(bare_client: TestClient, endpoint: Endpoint) -> None:
    for url in (_url(endpoint) + "?q=%ED%A0%80", _url(endpoint) + "?purpose=%C3%28&q=1",
                _url(endpoint) + "?purpose=case%00work"):
        answer = bare_client.get(url)
        assert _refused_as_not_utf8(answer, endpoint.api), (url, answer.status_code, answer.text[:200])
    if endpoint.path_params:
        answer = bare_client.get(re.sub(r"\{[^}]+\}", "%FF", endpoint.path, count=1))
        assert _refused_as_not_utf8(answer, endpoint.api), (answer.status_code, answer.text[:200])
    fine = bare_client.get(_url(endpoint) + "?q=%F0%9F%98%80")
    assert fine.status_code in (200, 303, 401), (fine.status_code, fine.text[:200])


def test_checking_a_rule_with_a_lone_surrogate_is_a_400_not_a_500(api_app: FastAPI,
                                                                   bearer: dict[Role, dict[str, str]]) -> None:
    with TestClient(api_app, raise_server_exceptions=False) as client:
        answer = client.post("/api/v1/rules/check", content=b'{"expression": "\\ud800"}', headers={
            **bearer[Role.TARGETING_OFFICER], "content-type": "application/json", "accept": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert "UTF-8" in answer.json()["detail"]


@pytest.mark.parametrize(("role", "method", "url"), [
    (Role.ANALYST, "GET", "/api/v1/cases/8174132581"),
    (Role.SUPERVISOR, "POST", "/api/v1/cases/8174132581/status"),
    (Role.ANALYST, "GET", "/api/v1/queue?run=8174132581"),
    (Role.ANALYST, "POST", "/api/v1/entities/x1/hits/8174132581/disposition"),
])
def test_an_id_beyond_sql_integers_is_a_422_not_a_500(api_app: FastAPI, bearer: dict[Role, dict[str, str]],
                                                     role: Role, method: str, url: str) -> None:
    """PostgreSQL integers are 32-bit: a larger id names nothing and is refused before the store sees it."""
    with TestClient(api_app, raise_server_exceptions=False) as client:
        answer = client.request(method, url, json={"status": "open", "disposition": "true_hit", "reason": "r"},
                                headers=bearer[role])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
