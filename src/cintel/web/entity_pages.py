"""Entity and network pages and API: identifiers, aliases, sources, screening hits, timeline, the expandable
graph, merge and split; paths and rings."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from cintel.domain.roles import Role
from cintel.entities import screening_service, service
from cintel.network.cache import network_cache
from cintel.network.graph import EdgeKind, NetworkError
from cintel.store.entity_tables import entity_records, screening_hits
from cintel.web.entity_view import EXPAND_LIMIT, MAX_EXPAND_LIMIT, entity_page, expand_node, path_report, ring_list
from cintel.web.pages import PurposeQuery
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.security import Principal, StoreDep, require_roles

router = APIRouter()
ENTITY_READERS = (Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR)
ENTITY_EDITORS = (Role.ANALYST, Role.SUPERVISOR)
EntityReader = Annotated[Principal, Depends(require_roles(*ENTITY_READERS))]
EntityEditor = Annotated[Principal, Depends(require_roles(*ENTITY_EDITORS))]
DEFAULT_PURPOSE = "entity review"
NETWORK_PURPOSE = "link analysis"
ENTITY_ID = r"^[A-Za-z0-9_.:-]{1,32}$"
EntityId = Annotated[str, Path(pattern=ENTITY_ID, description="The entity id (ENT...)")]
Reason = Annotated[str, Form(min_length=3, max_length=500, description="Why (kept with the decision)")]
OtherEntity = Annotated[str, Form(pattern=ENTITY_ID, description="The other entity's id")]
DISPOSITION_PATTERN = "^(true_hit|false_positive)$"


def _entity_or_404(engine: Engine, principal: Principal, purpose: str, entity_id: str) -> dict[str, Any]:
    data = entity_page(engine, principal.context(purpose), entity_id)
    if data is None:
        raise HTTPException(404, f"no entity '{entity_id}'")
    return data


@router.get("/entities/{entity_id}", response_class=HTMLResponse)
async def entity(request: Request, principal: EntityReader, engine: StoreDep, entity_id: EntityId,
                 purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """One entity: identifiers, aliases, source records, watch-list hits with their dispositions, the weekly
    declarations timeline, the interactive network graph, and merge / split / not-same decisions. The view
    is written to the access log with its purpose."""
    data = await run_in_threadpool(_entity_or_404, engine, principal, purpose, entity_id)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="entity",
                            object_id=entity_id, route=request.url.path)
    can_edit = bool(principal.user.roles & set(ENTITY_EDITORS))
    return page(request, "entity.html", principal, e=data, purpose=purpose, can_edit=can_edit,
                expand_limit=EXPAND_LIMIT)


@router.get("/api/v1/entities/{entity_id}", tags=["api"])
async def entity_api(request: Request, principal: EntityReader, engine: StoreDep, entity_id: EntityId,
                     purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """The entity page's data as JSON (identifiers, aliases, sources, hits, decisions, timeline); logged."""
    data = await run_in_threadpool(_entity_or_404, engine, principal, purpose, entity_id)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="entity",
                            object_id=entity_id, route=request.url.path)
    return data


# --- decisions ----------------------------------------------------------------------------------------------------

def _require_entity(engine: Engine, entity_id: str) -> None:
    with engine.connect() as conn:
        found = conn.execute(select(entity_records.c.record_id).where(entity_records.c.entity_id == entity_id)
                             .limit(1)).first()
    if found is None:
        raise HTTPException(404, f"no entity '{entity_id}'")


def _dispose(engine: Engine, principal: Principal, entity_id: str, hit_id: int, disposition: str,
             reason: str) -> None:
    _require_entity(engine, entity_id)
    q = (select(screening_hits.c.id).join(entity_records, entity_records.c.record_id == screening_hits.c.record_id)
         .where(screening_hits.c.id == hit_id, entity_records.c.entity_id == entity_id))
    with engine.connect() as conn:
        if conn.execute(q).first() is None:
            raise HTTPException(404, f"entity '{entity_id}' has no screening hit {hit_id}")
    screening_service.dispose(engine, principal.context("screening disposition"), hit_id, disposition, reason)
    network_cache(engine).invalidate()


def _merge(engine: Engine, principal: Principal, entity_id: str, other: str, reason: str) -> str:
    _require_entity(engine, entity_id)
    _require_entity(engine, other)
    survivor = service.merge(engine, principal.context("entity merge"), entity_id, other, reason)
    network_cache(engine).invalidate()
    return survivor


def _split(engine: Engine, principal: Principal, entity_id: str, record_ids: list[str], reason: str) -> list[str]:
    _require_entity(engine, entity_id)
    ids = service.split(engine, principal.context("entity split"), entity_id, record_ids, reason)
    network_cache(engine).invalidate()
    return ids


def _not_same(engine: Engine, principal: Principal, entity_id: str, other: str, reason: str) -> None:
    _require_entity(engine, entity_id)
    _require_entity(engine, other)
    service.not_same(engine, principal.context("entity not-same"), entity_id, other, reason)
    network_cache(engine).invalidate()


def _back(entity_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/entities/{entity_id}{anchor}", status_code=303)


@router.post("/entities/{entity_id}/hits/{hit_id}/disposition")
async def dispose_hit(principal: EntityEditor, engine: StoreDep, entity_id: EntityId,
                      hit_id: Annotated[int, Path(ge=1)],
                      disposition: Annotated[str, Form(pattern=DISPOSITION_PATTERN)], reason: Reason) -> Response:
    """Records a watch-list hit's disposition (true hit or false positive) with its reason, then returns to
    the entity."""
    await run_in_threadpool(_dispose, engine, principal, entity_id, hit_id, disposition, reason)
    return _back(entity_id, "#hits")


@router.post("/entities/{entity_id}/merge")
async def merge_entity(principal: EntityEditor, engine: StoreDep, entity_id: EntityId, other: OtherEntity,
                       reason: Reason) -> Response:
    """Merges another entity into this one (the analyst says they are one party); goes to the survivor."""
    survivor = await run_in_threadpool(_merge, engine, principal, entity_id, other, reason)
    return _back(survivor)


@router.post("/entities/{entity_id}/split")
async def split_entity(principal: EntityEditor, engine: StoreDep, entity_id: EntityId,
                       record_ids: Annotated[list[str], Form(min_length=1, max_length=500)],
                       reason: Reason) -> Response:
    """Splits the chosen records off the entity (they are another party); returns to what remains."""
    ids = await run_in_threadpool(_split, engine, principal, entity_id, record_ids, reason)
    keep = entity_id if entity_id in ids else ids[0]
    return _back(keep)


@router.post("/entities/{entity_id}/not-same")
async def not_same_entity(principal: EntityEditor, engine: StoreDep, entity_id: EntityId, other: OtherEntity,
                          reason: Reason) -> Response:
    """Records that another entity is a different party, so no later resolution merges them."""
    await run_in_threadpool(_not_same, engine, principal, entity_id, other, reason)
    return _back(entity_id)


class DecisionBody(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class MergeBody(DecisionBody):
    other: str = Field(pattern=ENTITY_ID)


class SplitBody(DecisionBody):
    record_ids: list[str] = Field(min_length=1, max_length=500)


class DispositionBody(DecisionBody):
    disposition: str = Field(pattern=DISPOSITION_PATTERN)


@router.post("/api/v1/entities/{entity_id}/merge", tags=["api"])
async def merge_api(principal: EntityEditor, engine: StoreDep, entity_id: EntityId, body: MergeBody
                    ) -> dict[str, str]:
    """Merges ``other`` into the entity; answers the surviving entity id."""
    return {"entity_id": await run_in_threadpool(_merge, engine, principal, entity_id, body.other, body.reason)}


@router.post("/api/v1/entities/{entity_id}/split", tags=["api"])
async def split_api(principal: EntityEditor, engine: StoreDep, entity_id: EntityId, body: SplitBody
                    ) -> dict[str, list[str]]:
    """Splits records off the entity; answers the entity ids the records now belong to."""
    return {"entity_ids": await run_in_threadpool(_split, engine, principal, entity_id, body.record_ids,
                                                  body.reason)}


@router.post("/api/v1/entities/{entity_id}/not-same", tags=["api"])
async def not_same_api(principal: EntityEditor, engine: StoreDep, entity_id: EntityId, body: MergeBody
                       ) -> dict[str, str]:
    """Records that ``other`` is a different party from the entity."""
    await run_in_threadpool(_not_same, engine, principal, entity_id, body.other, body.reason)
    return {"entity_id": entity_id, "not_same": body.other}


@router.post("/api/v1/entities/{entity_id}/hits/{hit_id}/disposition", tags=["api"])
async def dispose_api(principal: EntityEditor, engine: StoreDep, entity_id: EntityId,
                      hit_id: Annotated[int, Path(ge=1)], body: DispositionBody) -> dict[str, Any]:
    """Records a hit's disposition (true_hit or false_positive) with its reason."""
    await run_in_threadpool(_dispose, engine, principal, entity_id, hit_id, body.disposition, body.reason)
    return {"hit_id": hit_id, "disposition": body.disposition}


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
async def expand(request: Request, principal: EntityReader, engine: StoreDep,
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

Ref = Annotated[str | None, Query(max_length=200, description="Entity id, node id or name")]
TopQuery = Annotated[int, Query(ge=1, le=50, description="How many rings")]


def _path(engine: Engine, source: str, target: str) -> dict[str, Any]:
    try:
        return path_report(engine, source, target)
    except NetworkError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/network", response_class=HTMLResponse)
async def network(request: Request, principal: EntityReader, engine: StoreDep, source: Ref = None,
                  target: Ref = None, node: Ref = None, top: TopQuery = 10,
                  purpose: PurposeQuery = NETWORK_PURPOSE) -> HTMLResponse:
    """Link analysis: the shortest paths between two entities (ids or names), each tie with its provenance;
    the ranked suspected rings with their evidence; and the graph around any node (``node``)."""
    path = None
    error = None
    if source and target:
        try:
            path = await run_in_threadpool(path_report, engine, source, target)
        except NetworkError as exc:
            error = str(exc)
    rings = await run_in_threadpool(ring_list, engine, top)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="network",
                            object_id=None, route=request.url.path)
    return page(request, "network.html", principal, path=path, error=error, rings=rings, source=source or "",
                target=target or "", node=node or "", top=top, purpose=purpose,
                edge_kinds=[{"kind": k.value, "description": k.description} for k in EdgeKind],
                expand_limit=EXPAND_LIMIT)


@router.get("/api/v1/network/path", tags=["api"])
async def network_path(request: Request, principal: EntityReader, engine: StoreDep,
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
async def network_rings(request: Request, principal: EntityReader, engine: StoreDep, top: TopQuery = 10,
                        purpose: PurposeQuery = NETWORK_PURPOSE) -> dict[str, Any]:
    """The suspected rings, most suspicious first, with members, score parts, summary and evidence."""
    rings = await run_in_threadpool(ring_list, engine, top)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="network",
                            object_id=None, route=request.url.path)
    return {"rings": rings}
