"""Search: one box over declarations, entities (fuzzy, transliterated), containers and vessels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from cintel.domain.permissions import Area, readers
from cintel.web.pages import PurposeQuery
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.search_view import KINDS, MAX_QUERY, search_all, searchable
from cintel.web.security import Principal, StoreDep, require_roles

router = APIRouter()
Searcher = Annotated[Principal, Depends(require_roles(*readers(Area.QUEUE)))]
DEFAULT_PURPOSE = "search"
PLURAL = {"declaration": "Declarations", "entity": "Entities", "container": "Containers", "vessel": "Vessels"}
QText = Annotated[str, Query(max_length=MAX_QUERY, description="What to look for: an id, a name, a number")]
# The form's "everything" option sends an empty value: accepted as no filter.
KindQuery = Annotated[str | None, Query(pattern="^(" + "|".join(KINDS) + ")?$",
                                        description=f"Only results of this kind ({', '.join(KINDS)}; empty: all)")]


async def _search(request: Request, principal: Principal, engine: Any, q: str, kind: str | None,
                  purpose: str) -> dict[str, list[dict[str, Any]]]:
    results = await run_in_threadpool(search_all, engine, q, kind or None, roles=principal.user.roles)
    if q.strip():
        # The query itself may be sensitive (a name under investigation): the log keeps the purpose only.
        await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="search",
                                object_id=None, route=request.url.path)
    return results


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, principal: Searcher, engine: StoreDep, q: QText = "", kind: KindQuery = None,
                 purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """Search declarations by id, entities by name (any spelling or script) or identifier, containers by
    number and vessels by IMO or name; results grouped by kind, best first, of the kinds the role may read."""
    results = await _search(request, principal, engine, q, kind, purpose)
    kinds = searchable(principal.user.roles)
    return page(request, "search.html", principal, q=q, kind=kind or "", kinds=kinds, results=results, plural=PLURAL,
                purpose=purpose, searched=bool(q.strip()), not_searched=[k for k in KINDS if k not in kinds])


@router.get("/api/v1/search", tags=["api"])
async def search_api(request: Request, principal: Searcher, engine: StoreDep, q: QText = "",
                     kind: KindQuery = None, purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """The search page's results as JSON: ``{"q", "results": {kind: [{id, label, href, detail}]}}``, of the
    kinds the role may read."""
    results = await _search(request, principal, engine, q, kind, purpose)
    return {"q": q, "results": results}
