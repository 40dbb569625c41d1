"""The JSON API under /api/v1 (bearer token or session), and its OpenAPI description at /api/docs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cintel.domain.roles import Role
from cintel.web.accounts import create_api_token
from cintel.web.pages import (
    DEFAULT_PURPOSE,
    FiltersDep,
    PageQuery,
    PurposeQuery,
    QueueAssigner,
    QueueReader,
    SizeQuery,
    SortQuery,
    resolve_me,
)
from cintel.web.queue import DEFAULT_PAGE_SIZE, MAX_ASSIGN, assign, filter_options, queue_page, record_view
from cintel.web.render import page
from cintel.web.security import CurrentUser, Principal, StoreDep, require_roles

router = APIRouter(prefix="/api/v1", tags=["api"])
docs_router = APIRouter(prefix="/api", include_in_schema=False)
Administrator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]


class Me(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    authenticated_by: str = Field(description="session or token")


class TokenRequest(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    label: str = Field(min_length=1, max_length=200, description="What the token is for")


class TokenIssued(BaseModel):
    token_id: str
    token: str = Field(description="The bearer token: shown once, never stored")
    username: str
    label: str


@router.get("/me")
def me(principal: CurrentUser) -> Me:
    """Who you are signed in as, and with which roles."""
    u = principal.user
    return Me(username=u.username, display_name=u.display_name, roles=sorted(r.value for r in u.roles),
              authenticated_by=principal.via)


@router.get("/queue")
async def queue(request: Request, principal: QueueReader, engine: StoreDep, filters: FiltersDep,
                page_no: PageQuery = 1, size: SizeQuery = DEFAULT_PAGE_SIZE, sort: SortQuery = "rank",
                purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """One page of the latest run's risk queue (same data and filters as the queue page), with the values
    each filter can take in the run; the view is logged."""
    result = await run_in_threadpool(queue_page, engine, page=page_no, size=size, sort=sort,
                                     filters=resolve_me(filters, principal))
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="queue",
                            object_id=str(result.run["run_id"]) if result.run else None, route=request.url.path)
    body = result.to_dict()
    body["options"] = await run_in_threadpool(filter_options, engine, result.run["run_id"]) if result.run else {}
    return body


class AssignRequest(BaseModel):
    run_id: int = Field(ge=1, description="The run the declarations are queued in")
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
def create_token(body: TokenRequest, principal: Administrator, engine: StoreDep) -> TokenIssued:
    """Issues an API token for a user (administrators only); the token is in this answer and nowhere else."""
    issued = create_api_token(engine, body.username, body.label)
    return TokenIssued(**issued.to_dict())


@docs_router.get("/openapi.json")
def openapi(request: Request, principal: CurrentUser) -> JSONResponse:
    """The OpenAPI description of the API (signed-in users only)."""
    return JSONResponse(request.app.openapi())


@docs_router.get("/docs", response_class=HTMLResponse)
def docs(request: Request, principal: CurrentUser) -> HTMLResponse:
    """The API reference, rendered from the OpenAPI description (no third-party scripts)."""
    spec = request.app.openapi()
    operations = [{"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                   "description": op.get("description", ""),
                   "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                   "description": p.get("description", "")} for p in op.get("parameters", [])]}
                  for path, methods in spec.get("paths", {}).items() for method, op in methods.items()]
    return page(request, "api_docs.html", principal, operations=operations, title=spec["info"]["title"],
                version=spec["info"]["version"])
