"""The dashboard: today's intake, channels against capacity, hits and revenue found, model performance and drift."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from cintel.risk.operations import REASON_GROUPS, day_figures, reason_label
from cintel.web.pages import QueueReader
from cintel.web.render import page
from cintel.web.security import StoreDep

router = APIRouter()
DayQuery = Annotated[date | None, Query(description="The day to show (YYYY-MM-DD); default: the latest run's day")]

# No access_log row is written here: the dashboard shows only aggregates (counts, sums, rates and model
# metrics), never a declaration, party or person, and the log records views of those objects.


@router.get("/", response_class=HTMLResponse)
async def dashboard_page(request: Request, principal: QueueReader, engine: StoreDep,
                         day: Annotated[str, Query(max_length=32, description="The day to show (YYYY-MM-DD); "
                                                   "default: the latest run's day")] = "") -> HTMLResponse:
    """The dashboard for a day (default: the latest risk run's): intake against the four weeks before,
    channels against capacity, inspection hits and revenue found, model performance and drift alerts,
    each chart with its numbers in a table. A day that is not a date is shown again with why."""
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        return page(request, "dashboard.html", principal, status_code=422, d={"day": None}, typed_day=day,
                    day_error="a day as YYYY-MM-DD, e.g. 2025-06-30", reason_groups=REASON_GROUPS,
                    reason_label=reason_label)
    data = await run_in_threadpool(day_figures, engine, chosen)
    return page(request, "dashboard.html", principal, d=data, typed_day=data["day"] or "", day_error=None,
                reason_groups=REASON_GROUPS, reason_label=reason_label)


@router.get("/api/v1/dashboard", tags=["api"])
async def dashboard_api(principal: QueueReader, engine: StoreDep, day: DayQuery = None) -> dict[str, Any]:
    """The dashboard's numbers for a day as JSON (the same data the dashboard page shows)."""
    return await run_in_threadpool(day_figures, engine, day)
