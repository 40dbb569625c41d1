"""Network pages and API: a node's ties for the interactive graph, the shortest paths between two parties,
and the suspected rings drawn as graphs with what ties them; a case opened on a ring.

The pages render what ``network.expansion`` and ``network.reports`` answer. Who may read them is
``domain.permissions``' rule for the network area, the same rule every other view of the network follows.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from cintel.cases import service as cases
from cintel.cases.policy import CaseError, CaseForbidden
from cintel.domain.permissions import Area, readers
from cintel.network.expansion import EXPAND_LIMIT, MAX_EXPAND_LIMIT, expand_node
from cintel.network.graph import EdgeKind, NetworkError
from cintel.network.reports import MAX_RINGS, path_report, ring_list
from cintel.web.form_state import NO_FORM, FormState, LooseText
from cintel.web.pages import PurposeQuery
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.security import Forbidden, Principal, StoreDep, require_roles

router = APIRouter()
NetworkReader = Annotated[Principal, Depends(require_roles(*readers(Area.NETWORK)))]
NETWORK_PURPOSE = "link analysis"
CASE_PURPOSE = "case work: changing the case"
EDGE_KINDS = [{"kind": k.value, "description": k.description} for k in EdgeKind]
Ref = Annotated[str | None, Query(max_length=200, description="Entity id, node id or name")]
TopQuery = Annotated[int, Query(ge=1, le=MAX_RINGS, description="How many rings")]
DEFAULT_TOP = 10


def open_case(engine: Engine, principal: Principal, origin_kind: str, origin_ref: str, title: str) -> int:
    """``cases.service.open_case``: a refusal of the role is a 403; any other ``CaseError`` is for the form."""
    try:
        return cases.open_case(engine, principal.context(CASE_PURPOSE), origin_kind, origin_ref, title)
    except CaseForbidden as exc:
        raise Forbidden(str(exc)) from None


# --- the graph ----------------------------------------------------------------------------------------------------

def _expand(engine: Engine, node: str, kinds: list[EdgeKind] | None, since: date | None, until: date | None,
            limit: int) -> dict[str, Any]:
    if since is not None and until is not None and since > until:
        raise HTTPException(422, "since must not be after until")
    try:
        return expand_node(engine, node, kinds=[k.value for k in kinds] if kinds else None, since=since,
                           until=until, limit=limit)
    except NetworkError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/api/v1/network/expand", tags=["api"])
async def expand(request: Request, principal: NetworkReader, engine: StoreDep,
                 node: Annotated[str, Query(min_length=3, max_length=300, description="Node id (entity:ENT..., "
                                                                                      "phone:+31..., ...)")],
                 kinds: Annotated[list[EdgeKind] | None, Query(description="Only these edge kinds (repeat)")] = None,
                 since: Annotated[date | None, Query(description="Ties dated on or after")] = None,
                 until: Annotated[date | None, Query(description="Ties dated on or before")] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_EXPAND_LIMIT)] = EXPAND_LIMIT,
                 purpose: PurposeQuery = NETWORK_PURPOSE) -> dict[str, Any]:
    """A node's direct ties as Cytoscape.js elements (nodes with kind, label, risk, listed and caught flags;
    edges with kind, date and provenance), filtered by edge kind and date. A hub answers its ``limit`` most
    telling neighbours and counts the rest (``more``). Logged as a view of the node."""
    data = await run_in_threadpool(_expand, engine, node, kinds, since, until, limit)
    kind, _, ref = node.partition(":")
    await run_in_threadpool(record_view, engine, principal.context(purpose),
                            object_kind="entity" if kind == "entity" else "network",
                            object_id=(ref if kind == "entity" else node)[:256], route=request.url.path)
    return data


# --- the network page ---------------------------------------------------------------------------------------------

def _path(engine: Engine, source: str, target: str) -> dict[str, Any]:
    try:
        return path_report(engine, source, target)
    except NetworkError as exc:
        raise HTTPException(404, str(exc)) from None


async def render_network(request: Request, principal: Principal, engine: Engine, *, source: str | None = None,
                         target: str | None = None, node: str | None = None, top: int = DEFAULT_TOP,
                         purpose: str = NETWORK_PURPOSE, form: FormState = NO_FORM,
                         status_code: int = 200) -> HTMLResponse:
    """The network page (logged as a view of the network), with ``form`` sent back when it had errors."""
    path = error = None
    if source and target:
        try:
            path = await run_in_threadpool(path_report, engine, source, target)
        except NetworkError as exc:
            error = str(exc)
    rings = await run_in_threadpool(ring_list, engine, top)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="network",
                            object_id=None, route=request.url.path)
    return page(request, "network.html", principal, status_code=status_code, path=path, error=error, rings=rings,
                source=source or "", target=target or "", node=node or "", top=top, purpose=purpose,
                edge_kinds=EDGE_KINDS, expand_limit=EXPAND_LIMIT, form=form, max_rings=MAX_RINGS)


@router.get("/network", response_class=HTMLResponse)
async def network(request: Request, principal: NetworkReader, engine: StoreDep, source: Ref = None,
                  target: Ref = None, node: Ref = None, top: TopQuery = DEFAULT_TOP,
                  purpose: PurposeQuery = NETWORK_PURPOSE) -> HTMLResponse:
    """Link analysis: the shortest paths between two entities (ids or names), each tie with its provenance;
    the ranked suspected rings, each drawn as a graph of its companies and what they share; and the graph
    around any node (``node``)."""
    return await render_network(request, principal, engine, source=source, target=target, node=node, top=top,
                                purpose=purpose)


@router.post("/network/rings/case", response_class=HTMLResponse)
async def case_from_ring(request: Request, principal: NetworkReader, engine: StoreDep, ring_id: LooseText = "",
                         origin_ref: LooseText = "", title: LooseText = "", top: LooseText = "") -> Response:
    """Opens a case (status lead) on a ring (its member entities are its evidence) and goes to it; on an error
    the network page comes back with the title kept and the error beside it."""
    try:
        case_id = await run_in_threadpool(open_case, engine, principal, "ring", origin_ref, title)
    except CaseError as exc:
        shown = int(top) if top.isdigit() and 1 <= int(top) <= MAX_RINGS else DEFAULT_TOP
        form = FormState(ring_id, {"title": title}, {"title": str(exc)})
        return await render_network(request, principal, engine, top=shown, purpose=CASE_PURPOSE, form=form,
                                    status_code=422)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.get("/api/v1/network/path", tags=["api"])
async def network_path(request: Request, principal: NetworkReader, engine: StoreDep,
                       source: Annotated[str, Query(min_length=1, max_length=200)],
                       target: Annotated[str, Query(min_length=1, max_length=200)],
                       purpose: PurposeQuery = NETWORK_PURPOSE) -> dict[str, Any]:
    """The shortest chains of ties between two entities (ids, node ids or names), each step with its kind,
    date and provenance; 404 when a reference finds nothing."""
    data = await run_in_threadpool(_path, engine, source, target)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="network",
                            object_id=None, route=request.url.path)
    return data


@router.get("/api/v1/network/rings", tags=["api"])
async def network_rings(request: Request, principal: NetworkReader, engine: StoreDep, top: TopQuery = DEFAULT_TOP,
                        purpose: PurposeQuery = NETWORK_PURPOSE) -> dict[str, Any]:
    """The suspected rings, most suspicious first: members, score parts, summary, what ties them, the drawing
    (Cytoscape.js elements) and the evidence with both ties' provenance."""
    rings = await run_in_threadpool(ring_list, engine, top)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="network",
                            object_id=None, route=request.url.path)
    return {"rings": rings}
