"""A workspace on each back end: the app on a fresh store, users of every kind, and a scored run."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi import params as fastapi_params
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, insert, select

from cintel.domain.roles import Role
from cintel.settings import Settings
from cintel.store.entity_tables import entity_records, screening_hits
from cintel.store.risk_tables import risk_assessments, risk_runs
from cintel.web.accounts import add_user
from cintel.web.app import PUBLIC_PATHS, create_app
from cintel.web.security import current_user, require_roles
from tests.conftest import Workspace

PASSWORD = "correct horse battery staple"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def settings() -> Settings:
    return Settings(web_secure_cookies=True)


@pytest.fixture
def app(engine: Engine, settings: Settings) -> FastAPI:
    add_user(engine, "ann", PASSWORD, ["analyst"], "Ann Analyst")
    add_user(engine, "ada", PASSWORD, ["administrator"], "Ada Admin")
    add_user(engine, "ivan", PASSWORD, ["inspector"], HOSTILE)
    return create_app(engine, settings=settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTPS client (so Secure cookies are sent back) that does not follow redirects."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


def post_login(client: TestClient, username: str, password: str = PASSWORD,
               headers: dict[str, str] | None = None) -> httpx.Response:
    """Posts the sign-in form as a browser does: opens it first (its pre-session CSRF cookie and field)."""
    form = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert match is not None, form.text
    return client.post("/login", data={"username": username, "password": password, "csrf_token": match.group(1)},
                       headers=headers)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signs in and returns the session's CSRF token, as the queue page's sign-out form renders it."""
    done = post_login(client, username, password)
    assert done.status_code == 303, done.text
    page = client.get("/api/docs")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def write_run(engine: Engine, assessments: list[dict[str, object]], day: date = date(2025, 6, 30)) -> int:
    """A recorded selection run with the given assessments, as `cintel select` writes them."""
    with engine.begin() as conn:
        run_id = conn.execute(insert(risk_runs).values(
            kind="select", run_date=day, created_at=datetime.now(UTC), created_by="ann", model_id="fraud-v1",
            revenue_model_id=None, rule_versions="[]", parameters="{}", summary=json.dumps({"n": len(assessments)}),
        ).returning(risk_runs.c.run_id)).scalar_one()
        conn.execute(insert(risk_assessments), [{
            "run_id": run_id, "declaration_id": a["declaration_id"], "probability": a.get("probability"),
            "expected_revenue": a.get("expected_revenue", 0.0), "priority": a["priority"], "rank": a["rank"],
            "rule_score": a.get("rule_score", 0.0), "rule_hits": json.dumps(a.get("rule_hits", [])),
            "channel": a["channel"], "selection_reason": a.get("selection_reason", "score"),
            "selection_detail": a.get("selection_detail"), "reasons": json.dumps(a.get("reasons", [])),
        } for a in assessments])
    return int(run_id)


def ranked(n: int) -> list[dict[str, object]]:
    """n assessments ranked 1..n: every third red, every third yellow, the rest green."""
    channels = ("red", "yellow", "green")
    return [{"declaration_id": f"26NL{i:010d}", "rank": i, "priority": 1.0 / i,
             "probability": round(1 - i / (n + 1), 3), "channel": channels[i % 3], "reasons": [f"reason {i}"],
             "rule_hits": [["R01", 1]] if i % 2 else []}
            for i in range(1, n + 1)]


@pytest.fixture
def workspace_client(workspace: Workspace) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """A factory: ``workspace_client(role)`` is an HTTPS client signed in as the workspace's demo user with
    that role, and its CSRF token."""
    app = create_app(workspace.engine, settings=Settings(web_secure_cookies=True))
    opened: list[TestClient] = []

    def make(role: str) -> tuple[TestClient, str]:
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        client.__enter__()
        opened.append(client)
        username, password = workspace.user(role)
        return client, sign_in(client, username, password)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


# --- the route table, as the security checks read it (role x route matrix, CSRF, schemathesis) --------------------

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLES = tuple(Role)


@dataclass(frozen=True)
class Access:
    """Who a route admits, as its dependencies declare it: public, any signed-in user (``roles`` None), or the
    holders of ``roles``."""

    public: bool = False
    roles: frozenset[Role] | None = None

    def admits(self, role: Role) -> bool:
        return self.public or self.roles is None or role in self.roles


# require_roles() builds one closure per call; its qualified name identifies every role check.
_ROLE_CHECK = require_roles().__qualname__


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def declared_access(route: RouteContext) -> Access | None:
    """What the route declares: public (its path is in ``PUBLIC_PATHS``), the roles of its ``require_roles``
    checks (all must pass: their intersection), any signed-in user (it depends on ``current_user``), or None
    when it declares nothing."""
    if route.path in PUBLIC_PATHS:
        return Access(public=True)
    dependant = getattr(route, "dependant", None)
    if dependant is None:  # a mount: it cannot declare roles
        return None
    calls = [d.call for d in _dependants(dependant) if d.call is not None]
    role_sets = [_roles_of(call) for call in calls if getattr(call, "__qualname__", "") == _ROLE_CHECK]
    if role_sets:
        return Access(roles=frozenset.intersection(*role_sets))
    if current_user in calls:
        return Access()
    return None


def _roles_of(check: Callable[..., Any]) -> frozenset[Role]:
    allowed = inspect.getclosurevars(check).nonlocals.get("allowed")
    shape = "require_roles() changed shape: teach tests/web/conftest.py how to read the roles it admits"
    assert isinstance(allowed, frozenset), shape
    assert all(isinstance(r, Role) for r in allowed), shape
    return allowed


@dataclass(frozen=True)
class Endpoint:
    """One method of one route of the app."""

    method: str
    route: RouteContext

    @property
    def path(self) -> str:
        return str(self.route.path)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def access(self) -> Access | None:
        return declared_access(self.route)

    @property
    def unsafe(self) -> bool:
        return self.method in UNSAFE_METHODS

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{([^}:]+)", self.path)

    @property
    def form(self) -> bool:
        """Whether the route takes a form (rather than JSON)."""
        return any(isinstance(f.field_info, fastapi_params.Form) for f in self.route.dependant.body_params)

    @property
    def acts_on_an_empty_request(self) -> bool:
        """An unsafe route none of whose body fields is required would act on a request without a body."""
        return self.unsafe and not any(f.field_info.is_required() for f in self.route.dependant.body_params)


def all_routes(app: FastAPI) -> list[RouteContext]:
    """Every route of the app, included routers and mounts too."""
    return list(iter_route_contexts(app.routes))


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, route) of the app's API routes (HEAD, answered as GET, left out)."""
    return [Endpoint(method, route) for route in all_routes(app) if getattr(route, "dependant", None) is not None
            for method in sorted(route.methods or ()) if method != "HEAD"]


@cache
def route_table() -> list[Endpoint]:
    """The app's endpoints, read from an app built on an empty store (building it touches no data), so tests
    can be parametrised with them at collection time (one list for every caller: do not change it)."""
    return endpoints(create_app(create_engine("sqlite://"), settings=Settings()))


@dataclass(frozen=True)
class WorkspaceIds:
    """Real ids of the workspace, to fill path parameters with; each object is one every role that may work
    on its kind may reach (the declaration, its inspection and the case are the demo inspector's)."""

    run_id: int
    declaration_id: str
    inspection_id: str
    entity_id: str
    hit_id: int
    case_id: int
    rule_id: str
    backtest_id: int
    lookup: str
    profile: str
    inspector: str

    def path_value(self, path: str, param: str, *, absent: bool = False) -> str:
        """The value of path parameter ``param`` of ``path``, named by the collection before it (``name`` is a
        lookup list after /lookups/ and a profile after /profiles/); ``absent``: a well-formed id that names
        nothing. Kinds that only routes that act take (a rule change, a token) have only absent ids: the matrix never
        lets such a route act."""
        collection = path.split("{" + param)[0].rstrip("/").rsplit("/", 1)[-1]
        known: dict[tuple[str, str], tuple[object, str]] = {
            ("declarations", "declaration_id"): (self.declaration_id, "26XX0000000000000000"),
            ("inspections", "inspection_id"): (self.inspection_id, "no-such-inspection"),
            ("entities", "entity_id"): (self.entity_id, "ENT99999999"),
            ("hits", "hit_id"): (self.hit_id, "999999999"),
            ("cases", "case_id"): (self.case_id, "999999999"),
            ("rules", "rule_id"): (self.rule_id, "no-such-rule"),
            ("backtests", "backtest_id"): (self.backtest_id, "999999999"),
            ("changes", "change_id"): (None, "999999999"),
            ("lookups", "name"): (self.lookup, "no_such_lookup"),
            ("profiles", "name"): (self.profile, "no_such_profile"),
            ("users", "username"): (self.inspector, "no-such-user"),
            ("tokens", "token_id"): (None, "0" * 32),
            ("export.", "extension"): ("csv", "csv"),
            ("{change_id}", "decision"): ("confirm", "confirm"),
        }
        assert (collection, param) in known, (
            f"no workspace id for {{{param}}} after /{collection}/ in {path}: add one to WorkspaceIds")
        real, missing = known[(collection, param)]
        return missing if absent or real is None else str(real)

    def query(self, endpoint: Endpoint) -> dict[str, str]:
        """Values for the route's required query parameters."""
        known = {"node": f"entity:{self.entity_id}", "source": self.entity_id, "target": self.entity_id}
        required = [p.alias for p in endpoint.route.dependant.query_params if p.field_info.is_required()]
        missing = [name for name in required if name not in known]
        assert not missing, f"no value for the required query parameters {missing} of {endpoint.label}"
        return {name: known[name] for name in required}

    def url(self, endpoint: Endpoint, *, absent: bool = False) -> str:
        path = endpoint.path
        for param in endpoint.path_params:
            path = re.sub(r"\{" + param + r"(:[^}]*)?\}", self.path_value(endpoint.path, param, absent=absent), path)
        return path


SQLITE_WORKSPACE = pytest.mark.parametrize("workspace", ["sqlite"], indirect=True)
"""For the role x route matrix and the CSRF checks: who may call a route is decided before the store is
read, so the PostgreSQL workspace would double their time and check nothing more (each page's own tests run
on both back ends)."""


@pytest.fixture(scope="session")
def workspace_app(workspace: Workspace) -> FastAPI:
    """One app on the workspace, shared by the security checks."""
    return create_app(workspace.engine, settings=Settings(web_secure_cookies=True))


def https_client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture(scope="session")
def bare_client() -> Iterator[TestClient]:
    """A client of the app on an empty store, signed out: for what is decided before any data is read (which
    methods a path has, whether a request's text is UTF-8)."""
    with https_client(create_app(create_engine("sqlite://"), settings=Settings())) as client:
        yield client


@pytest.fixture(scope="session")
def role_sessions(workspace: Workspace, workspace_app: FastAPI) -> Iterator[dict[Role, tuple[TestClient, str]]]:
    """A client signed in as the workspace's demo user of each role, with its CSRF token; tests must not end
    these sessions (sign a fresh client in for that)."""
    sessions: dict[Role, tuple[TestClient, str]] = {}
    for role in ROLES:
        client = https_client(workspace_app).__enter__()
        sessions[role] = (client, sign_in(client, *workspace.user(role.value)))
    yield sessions
    for client, _ in sessions.values():
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def workspace_ids(workspace: Workspace, role_sessions: dict[Role, tuple[TestClient, str]]) -> WorkspaceIds:
    """Ids of real objects of the workspace, for path parameters: a queued declaration assigned to the demo
    inspector with the inspection they recorded, a case on it assigned to them too, an entity with a screening
    hit, a rule with a backtest, a lookup list and a profile. Made through the API, as users make them."""
    officer, officer_csrf = role_sessions[Role.TARGETING_OFFICER]
    analyst, analyst_csrf = role_sessions[Role.ANALYST]
    inspector = workspace.user(Role.INSPECTOR.value)[0]
    queue = officer.get("/api/v1/queue", params={"size": 20}).json()
    run_id = queue["run"]["run_id"]
    recorder, recorder_csrf = role_sessions[Role.INSPECTOR]
    for item in queue["items"]:  # the first queued declaration not inspected yet
        declaration_id = item["declaration_id"]
        done = officer.post("/api/v1/queue/assign", headers={"X-CSRF-Token": officer_csrf},
                            json={"run_id": run_id, "declaration_ids": [declaration_id], "inspector": inspector})
        assert done.status_code == 200, done.text
        recorded = recorder.post(f"/api/v1/declarations/{declaration_id}/inspection", headers={
            "X-CSRF-Token": recorder_csrf}, json={"outcome": "no_finding", "channel": "red"})
        if recorded.status_code != 409:  # 409: it has its record already
            break
    assert recorded.status_code == 201, recorded.text
    opened = analyst.post("/api/v1/cases", headers={"X-CSRF-Token": analyst_csrf}, json={
        "origin_kind": "declaration", "origin_ref": declaration_id, "title": "Route matrix case"})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    given = analyst.post(f"/api/v1/cases/{case_id}/assign", headers={"X-CSRF-Token": analyst_csrf},
                         json={"username": inspector})
    assert given.status_code == 200, given.text
    rule_id = officer.get("/api/v1/rules").json()[0]["rule_id"]
    backtest = officer.post(f"/api/v1/rules/{rule_id}/backtest", headers={"X-CSRF-Token": officer_csrf}, json={})
    assert backtest.status_code == 200, backtest.text
    with workspace.engine.connect() as conn:
        hit = conn.execute(select(screening_hits.c.id, entity_records.c.entity_id)
                           .join(entity_records, entity_records.c.record_id == screening_hits.c.record_id)
                           .order_by(screening_hits.c.id).limit(1)).one()
    return WorkspaceIds(
        run_id=run_id, declaration_id=declaration_id, inspection_id=recorded.json()["inspection_id"],
        entity_id=hit.entity_id, hit_id=hit.id, case_id=case_id, rule_id=rule_id,
        backtest_id=backtest.json()["backtest_id"], lookup=officer.get("/api/v1/rules/lookups").json()[0]["name"],
        profile=officer.get("/api/v1/rules/profiles").json()[0]["name"], inspector=inspector)


@pytest.fixture
def store_writes(workspace: Workspace) -> Iterator[list[str]]:
    """The statements that change the workspace's store while the test runs (the sessions' idle-clock touch
    left out: every signed-in request makes it)."""
    writes: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if _WRITE.match(statement) and not _IDLE_CLOCK.match(statement):
            writes.append(statement)

    event.listen(workspace.engine, "before_cursor_execute", record)
    yield writes
    event.remove(workspace.engine, "before_cursor_execute", record)


_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_IDLE_CLOCK = re.compile(r"\s*UPDATE web_sessions SET last_seen_at=\S+ WHERE", re.IGNORECASE)

