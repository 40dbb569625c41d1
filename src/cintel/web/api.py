"""The JSON API under /api/v1 (bearer token or session), and its OpenAPI description at /api/docs: each
user is shown the operations their roles may call, read from the routes' own role checks."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from cintel.domain.roles import Role
from cintel.web.accounts import AccountError, TokenRefused, create_api_token, list_api_tokens, revoke_api_token
from cintel.web.pages import (
    DEFAULT_PURPOSE,
    FiltersDep,
    PurposeQuery,
    QueueAssigner,
    QueueReader,
    RunQuery,
    SizeQuery,
    SortQuery,
    resolve_me,
)
from cintel.web.params import MAX_RECORD_ID, PageQuery
from cintel.web.queue import (
    DEFAULT_PAGE_SIZE,
    MAX_ASSIGN,
    QueueError,
    assign,
    filter_options,
    queue_page,
    recent_runs,
    record_view,
)
from cintel.web.render import page
from cintel.web.security import CurrentUser, Forbidden, StoreDep, may_call

router = APIRouter(prefix="/api/v1", tags=["api"])
docs_router = APIRouter(prefix="/api", include_in_schema=False)
TOKEN_ID_PATTERN = r"^[0-9a-f]{1,32}$"  # noqa: S105 (a pattern, not a secret)


class Me(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    authenticated_by: str = Field(description="session or token")
    token_id: str | None = Field(description="The API token of this request (null for a session)")


class TokenRequest(BaseModel):
    username: str | None = Field(None, min_length=3, max_length=64, description="Whose token: yourself "
                                 "(default), or, for an administrator, a service account")
    label: str = Field(min_length=1, max_length=200, description="What the token is for")


class TokenIssued(BaseModel):
    token_id: str
    token: str = Field(description="The bearer token: shown once, never stored")
    username: str
    label: str
    issued_by: str = Field(description="Who issued it: you")
    created_at: datetime


class TokenInfo(BaseModel):
    token_id: str
    username: str = Field(description="Whose token it is")
    label: str
    created_at: datetime = Field(description="When it was issued")
    issued_by: str | None = Field(description="Who issued it (null: not recorded, issued before issuers were)")
    last_used_at: datetime | None = Field(description="The last request made with it")
    revoked: bool
    revoked_at: datetime | None
    revoked_by: str | None


@router.get("/me")
def me(principal: CurrentUser) -> Me:
    """Who you are signed in as, with which roles, and through which API token if any."""
    u = principal.user
    return Me(username=u.username, display_name=u.display_name, roles=sorted(r.value for r in u.roles),
              authenticated_by=principal.via, token_id=principal.token_id)


@router.get("/queue")
async def queue(request: Request, principal: QueueReader, engine: StoreDep, filters: FiltersDep,
                page_no: PageQuery = 1, size: SizeQuery = DEFAULT_PAGE_SIZE, sort: SortQuery = "rank",
                run: RunQuery = None, purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """One page of a run's risk queue (default the latest run; same data, filters and sorts as the queue
    page, each row with why it was selected in words), with the values each filter can take in the run;
    the view is logged."""
    try:
        result = await run_in_threadpool(queue_page, engine, run_id=run, page=page_no, size=size, sort=sort,
                                         filters=resolve_me(filters, principal))
    except QueueError as exc:
        raise HTTPException(404, str(exc)) from None
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="queue",
                            object_id=str(result.run["run_id"]) if result.run else None, route=request.url.path)
    body = result.to_dict()
    body["options"] = await run_in_threadpool(filter_options, engine, result.run["run_id"]) if result.run else {}
    return body


@router.get("/queue/runs")
async def queue_runs(principal: QueueReader, engine: StoreDep) -> list[dict[str, Any]]:
    """The newest scoring and selection runs (id, kind, day, when, by whom, models, summary), newest first:
    the runs the queue can show (``run`` of /api/v1/queue)."""
    return await run_in_threadpool(recent_runs, engine)


class AssignRequest(BaseModel):
    run_id: int = Field(ge=1, le=MAX_RECORD_ID, description="The run the declarations are queued in")
    # The count limit is checked by assign(), which answers 400 with the limit in words.
    declaration_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        description=f"Declarations of the run, at most {MAX_ASSIGN}")
    inspector: str = Field(min_length=1, max_length=64, description="Username of an enabled inspector")


class Assigned(BaseModel):
    run_id: int
    inspector: str
    assigned: int = Field(description="How many declarations were assigned (re-assignments included)")


@router.post("/queue/assign")
def assign_queue(body: AssignRequest, principal: QueueAssigner, engine: StoreDep) -> Assigned:
    """Assigns declarations of a run to an inspector (targeting officers and supervisors); re-assigning
    replaces the earlier inspector. Refuses declarations not in the run and users who are not inspectors."""
    done = assign(engine, principal.username, body.run_id, body.declaration_ids, body.inspector)
    return Assigned(run_id=body.run_id, inspector=body.inspector, assigned=done)


@router.post("/tokens", status_code=201)
def create_token(body: TokenRequest, principal: CurrentUser, engine: StoreDep) -> TokenIssued:
    """Issues an API token, shown in this answer and nowhere else: for yourself, or (administrators) for a
    service account. Nobody issues a token for another person. Sign in to issue one: a token cannot issue
    tokens, so a leaked one cannot outlive its revocation."""
    if principal.via == "token":
        raise Forbidden("sign in to issue API tokens: a token cannot issue tokens")
    try:
        issued = create_api_token(engine, body.username or principal.username, body.label,
                                  issued_by=principal.username)
    except TokenRefused as exc:
        raise Forbidden(str(exc)) from None
    return TokenIssued(**{**issued.to_dict(), "created_at": issued.created_at})


@router.get("/tokens")
def tokens(principal: CurrentUser, engine: StoreDep,
           username: Annotated[str | None, Query(min_length=3, max_length=64, description="Only this account's "
                                                 "(administrators; others see only their own)")] = None,
           ) -> list[TokenInfo]:
    """Your API tokens, newest first, with who issued each, when, and when it was last used; administrators
    see everyone's."""
    if Role.ADMINISTRATOR not in principal.user.roles:
        username = principal.username
    return [TokenInfo(**asdict(t)) for t in list_api_tokens(engine, username)]


@router.delete("/tokens/{token_id}")
def revoke_token(principal: CurrentUser, engine: StoreDep,
                 token_id: Annotated[str, Path(pattern=TOKEN_ID_PATTERN, description="The token's id")]) -> TokenInfo:
    """Revokes one of your API tokens (administrators: anyone's); requests carrying it are refused from now on."""
    try:
        revoked = revoke_api_token(engine, token_id, by=principal.username)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None
    return TokenInfo(**asdict(revoked))


_SPECS: WeakKeyDictionary[FastAPI, dict[frozenset[Role], dict[str, Any]]] = WeakKeyDictionary()


def role_spec(app: FastAPI, roles: frozenset[Role]) -> dict[str, Any]:
    """The OpenAPI description of the API operations (under /api/v1) ``roles`` may call: those whose every
    role check passes. Built once per app and set of roles."""
    cache = _SPECS.setdefault(app, {})
    if roles not in cache:
        routes = [r for r in iter_route_contexts(app.routes) if (r.path or "").startswith(router.prefix + "/")
                  and (dependant := getattr(r, "dependant", None)) is not None and may_call(roles, dependant)]
        cache[roles] = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=routes)
    return cache[roles]


@docs_router.get("/openapi.json")
def openapi(request: Request, principal: CurrentUser) -> JSONResponse:
    """The OpenAPI description of the operations you may call (signed-in users only)."""
    return JSONResponse(role_spec(request.app, principal.user.roles))


@docs_router.get("/docs", response_class=HTMLResponse)
def docs(request: Request, principal: CurrentUser) -> HTMLResponse:
    """The API reference of the operations your roles may call, rendered from the OpenAPI description (no
    third-party scripts)."""
    spec = role_spec(request.app, principal.user.roles)
    operations = [{"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                   "description": op.get("description", ""),
                   "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                   "description": p.get("description", "")} for p in op.get("parameters", [])]}
                  for path, methods in spec.get("paths", {}).items() for method, op in methods.items()]
    return page(request, "api_docs.html", principal, operations=operations, title=spec["info"]["title"],
                version=spec["info"]["version"])
