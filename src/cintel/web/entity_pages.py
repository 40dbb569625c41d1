"""Entity pages and API: identifiers, aliases, sources, watch-list hits (one per list entry, disposed one by
one or several at once), the timeline, the expandable graph, the rings the entity is in, merge and split.

The pages render what ``entities.profile`` and ``network.reports`` answer. A form that cannot be honoured
(no hit chosen, no reason, a title of blanks) comes back with what was typed and the error beside the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from cintel.cases.policy import CaseError
from cintel.domain.permissions import Area, readers
from cintel.domain.roles import Role
from cintel.entities import screening_service, service
from cintel.entities.profile import entity_profile
from cintel.entities.screen import ScreeningError
from cintel.entities.screening_service import REASON_MAX, DispositionError
from cintel.network.cache import network_cache
from cintel.network.expansion import EXPAND_LIMIT
from cintel.network.graph import EdgeKind
from cintel.network.reports import rings_of
from cintel.network.store_graph import entity_node
from cintel.store.entity_tables import entity_records
from cintel.web.form_state import NO_FORM, FormState, LooseText
from cintel.web.network_pages import open_case
from cintel.web.network_pages import router as network_router
from cintel.web.pages import PurposeQuery
from cintel.web.params import MAX_RECORD_ID, RecordId, RecordIdField
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.security import Principal, StoreDep, require_roles

router = APIRouter()
ENTITY_EDITORS = (Role.ANALYST, Role.SUPERVISOR)
EntityReader = Annotated[Principal, Depends(require_roles(*readers(Area.ENTITIES)))]
EntityEditor = Annotated[Principal, Depends(require_roles(*ENTITY_EDITORS))]
DEFAULT_PURPOSE = "entity review"
HITS_PURPOSE = "watch-list hit review"
ENTITY_ID = r"^[A-Za-z0-9_.:-]{1,32}$"
EntityId = Annotated[str, Path(pattern=ENTITY_ID, description="The entity id (ENT...)")]
Reason = Annotated[str, Form(min_length=3, max_length=500, description="Why (kept with the decision)")]
OtherEntity = Annotated[str, Form(pattern=ENTITY_ID, description="The other entity's id")]
DISPOSITION_PATTERN = "^(true_hit|false_positive)$"
EDGE_KINDS = [{"kind": k.value, "description": k.description} for k in EdgeKind]


def entity_page_data(engine: Engine, principal: Principal, purpose: str, entity_id: str) -> dict[str, Any]:
    """What the entity page shows: the entity's profile, the graph's start node and tie kinds, and the rings
    it is in; 404 when there is no such entity."""
    data = entity_profile(engine, principal.context(purpose), entity_id)
    if data is None:
        raise HTTPException(404, f"no entity '{entity_id}'")
    return {**data, "node_id": entity_node(entity_id), "edge_kinds": EDGE_KINDS, "rings": rings_of(engine, entity_id)}


async def render_entity(request: Request, principal: Principal, engine: Engine, entity_id: str, purpose: str, *,
                        form: FormState = NO_FORM, status_code: int = 200) -> HTMLResponse:
    """The entity page (logged as a view with its purpose), with ``form`` sent back when it had errors."""
    data = await run_in_threadpool(entity_page_data, engine, principal, purpose, entity_id)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="entity",
                            object_id=entity_id, route=request.url.path)
    can_edit = bool(principal.user.roles & set(ENTITY_EDITORS))
    return page(request, "entity.html", principal, status_code=status_code, e=data, purpose=purpose,
                can_edit=can_edit, expand_limit=EXPAND_LIMIT, form=form, reason_max=REASON_MAX)


@router.get("/entities/{entity_id}", response_class=HTMLResponse)
async def entity(request: Request, principal: EntityReader, engine: StoreDep, entity_id: EntityId,
                 purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """One entity: identifiers, aliases, source records, watch-list hits with their dispositions, the weekly
    declarations timeline, the suspected rings it belongs to, the interactive network graph, and merge /
    split / not-same decisions. The view is written to the access log with its purpose."""
    return await render_entity(request, principal, engine, entity_id, purpose)


@router.get("/api/v1/entities/{entity_id}", tags=["api"])
async def entity_api(request: Request, principal: EntityReader, engine: StoreDep, entity_id: EntityId,
                     purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """The entity page's data as JSON (identifiers, aliases, sources, hits, decisions, timeline, rings);
    logged."""
    data = await run_in_threadpool(entity_page_data, engine, principal, purpose, entity_id)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="entity",
                            object_id=entity_id, route=request.url.path)
    return data


# --- watch-list hits ----------------------------------------------------------------------------------------------

def _dispose(engine: Engine, principal: Principal, entity_id: str, hit_ids: list[int], disposition: str,
             reason: str) -> int:
    """``screening_service.dispose_many`` on the entity's hits; 404 when a hit is not the entity's."""
    _require_entity(engine, entity_id)
    try:
        disposed = screening_service.dispose_many(engine, principal.context(HITS_PURPOSE), hit_ids, disposition,
                                                  reason, entity_id=entity_id)
    except DispositionError:
        raise
    except ScreeningError as exc:  # a hit that is not this entity's, or no hit at all
        raise HTTPException(404, str(exc)) from None
    network_cache(engine).invalidate()
    return disposed


def _hit_ids(raw: list[str]) -> list[int] | None:
    """The hit ids a form sent, or None when one is not a record id."""
    try:
        ids = [int(v) for v in raw]
    except ValueError:
        return None
    return ids if all(1 <= i <= MAX_RECORD_ID for i in ids) else None


@router.post("/entities/{entity_id}/hits/disposition", response_class=HTMLResponse)
async def dispose_hits(request: Request, principal: EntityEditor, engine: StoreDep, entity_id: EntityId,
                       hit_ids: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006 - FastAPI's default
                       disposition: LooseText = "", reason: LooseText = "") -> Response:
    """Records one disposition (true hit or false positive), with one reason, on every hit chosen; each covers
    all the entity's records that hit the same list entry. Returns to the entity's hits; on an error, the
    page comes back with the choices kept and the error beside the field."""
    ids = _hit_ids(hit_ids)
    if ids is None:
        raise HTTPException(422, "hit_ids must be numbers")
    try:
        await run_in_threadpool(_dispose, engine, principal, entity_id, ids, disposition, reason)
    except DispositionError as exc:
        form = FormState("hits", {"hit_ids": ids, "disposition": disposition, "reason": reason}, exc.problems)
        return await render_entity(request, principal, engine, entity_id, HITS_PURPOSE, form=form,
                                   status_code=422)
    return _back(entity_id, "#hits")


class DecisionBody(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class DispositionBody(DecisionBody):
    disposition: str = Field(pattern=DISPOSITION_PATTERN)


class DispositionsBody(DispositionBody):
    hit_ids: list[RecordIdField] = Field(min_length=1, max_length=500, description="Hits of the entity (ids)")


@router.post("/api/v1/entities/{entity_id}/hits/disposition", tags=["api"])
async def dispose_hits_api(principal: EntityEditor, engine: StoreDep, entity_id: EntityId, body: DispositionsBody
                           ) -> dict[str, Any]:
    """Records one disposition (true_hit or false_positive) with its reason on several hits of the entity;
    answers how many party hits (one per list entry) it covered."""
    disposed = await run_in_threadpool(_dispose, engine, principal, entity_id, body.hit_ids, body.disposition,
                                       body.reason)
    return {"hit_ids": body.hit_ids, "disposition": body.disposition, "disposed": disposed}


@router.post("/api/v1/entities/{entity_id}/hits/{hit_id}/disposition", tags=["api"])
async def dispose_api(principal: EntityEditor, engine: StoreDep, entity_id: EntityId,
                      hit_id: RecordId, body: DispositionBody) -> dict[str, Any]:
    """Records a hit's disposition (true_hit or false_positive) with its reason; it covers every record of
    the entity that hit the same list entry."""
    await run_in_threadpool(_dispose, engine, principal, entity_id, [hit_id], body.disposition, body.reason)
    return {"hit_id": hit_id, "disposition": body.disposition}


# --- decisions ----------------------------------------------------------------------------------------------------

def _require_entity(engine: Engine, entity_id: str) -> None:
    with engine.connect() as conn:
        found = conn.execute(select(entity_records.c.record_id).where(entity_records.c.entity_id == entity_id)
                             .limit(1)).first()
    if found is None:
        raise HTTPException(404, f"no entity '{entity_id}'")


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


class MergeBody(DecisionBody):
    other: str = Field(pattern=ENTITY_ID)


class SplitBody(DecisionBody):
    record_ids: list[str] = Field(min_length=1, max_length=500)


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


# --- opening a case from the entity ---------------------------------------------------------------------------

@router.post("/entities/{entity_id}/case", response_class=HTMLResponse)
async def case_from_entity(request: Request, principal: EntityReader, engine: StoreDep, entity_id: EntityId,
                           title: LooseText = "") -> Response:
    """Opens a case (status lead) on the entity and goes to it; on an error the entity page comes back with
    the title kept and the error beside it."""
    try:
        case_id = await run_in_threadpool(open_case, engine, principal, "entity", entity_id, title)
    except CaseError as exc:
        form = FormState("case", {"title": title}, {"title": str(exc)})
        return await render_entity(request, principal, engine, entity_id, DEFAULT_PURPOSE, form=form,
                                   status_code=422)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


router.include_router(network_router)  # the network pages (graph expansion, paths, rings) share this router
