"""Declaration pages and API: every field and item, parties, route, score and explanation, rule hits, trader
history, the inspection form; and real-time scoring.

Every view of a stored declaration (page, explanation, API) is written to the access log with its
purpose. Recording an inspection writes one inspection record through the ingest path, so the outcome
is validated like any file's and `cintel train` learns from it.
"""

from __future__ import annotations

import html
import threading
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from cintel.domain.codes import OutcomeType
from cintel.domain.roles import QUEUE_READERS, Role
from cintel.errors import CintelError
from cintel.risk.realtime import MAX_ITEMS, DeclarationRejected
from cintel.web.declaration_view import (
    InspectionRejected,
    NoModel,
    RealtimeScorers,
    declaration_exists,
    declaration_explanation,
    declaration_page,
    record_inspection,
)
from cintel.web.pages import PurposeQuery
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.security import Principal, StoreDep, require_roles

router = APIRouter()
DEFAULT_PURPOSE = "declaration review"
# Inspectors record what they found; supervisors may correct or record on their behalf.
RECORDERS = (Role.INSPECTOR, Role.SUPERVISOR)
SCORERS = (Role.TARGETING_OFFICER, Role.ANALYST, Role.SUPERVISOR)
Reader = Annotated[Principal, Depends(require_roles(*QUEUE_READERS))]
Recorder = Annotated[Principal, Depends(require_roles(*RECORDERS))]
Scorer = Annotated[Principal, Depends(require_roles(*SCORERS))]
FORM_FIELDS = ("outcome", "channel", "inspection_date", "findings", "additional_duty", "seizure", "seized_goods")
_SCORERS_LOCK = threading.Lock()  # creates the app's RealtimeScorers once
DeclarationId = Annotated[str, Path(min_length=1, max_length=64, description="The declaration reference")]


class InspectionInput(BaseModel):
    """What an inspector records about one inspection of the declaration."""

    model_config = ConfigDict(extra="forbid")

    outcome: OutcomeType = Field(description="What the inspection established")
    channel: Literal["yellow", "red"] = Field(description="yellow: documentary check, red: physical inspection")
    inspection_date: date = Field(default_factory=date.today, description="Date of the inspection (not in the "
                                  "future)")
    findings: str | None = Field(None, max_length=4096, description="What the inspector found")
    additional_duty: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False,
                                          description="Additional duty and taxes assessed, national currency")
    seizure: bool = Field(False, description="Goods were seized")
    seized_goods: str | None = Field(None, max_length=1024, description="What was seized")

    def as_record(self) -> dict[str, Any]:
        """The fields of an inspection record, as text the ingest path validates and standardises."""
        return {"outcome": self.outcome.value, "channel": self.channel,
                "inspection_date": self.inspection_date.isoformat(), "findings": self.findings or None,
                "additional_duty": None if self.additional_duty is None
                else f"{self.additional_duty:.6f}".rstrip("0").rstrip("."),
                "seizure": "true" if self.seizure else "false", "seized_goods": self.seized_goods or None}


class InspectionRecorded(BaseModel):
    declaration_id: str
    inspection_id: str
    batch_id: int


class ScoreRequest(BaseModel):
    """One declaration as its item rows (the flat declarations format, as `cintel score --declaration`
    reads it); header fields given beside ``items`` are copied onto every item."""

    model_config = ConfigDict(extra="allow")

    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ITEMS,
                                        description=f"The declaration's items, 1 to {MAX_ITEMS}")

    def rows(self) -> list[dict[str, Any]]:
        header = dict(self.model_extra or {})
        return [{**header, **item} for item in self.items]


class ScoreResult(BaseModel):
    declaration_id: str
    day: date = Field(description="The day whose feature state scored it (its declaration date)")
    probability: float | None = Field(description="Fraud probability from the active model")
    expected_revenue: float | None = Field(description="Expected additional revenue, when a revenue model is active")
    risk: float
    priority: float = Field(description="What the queue ranks by")
    rule_hits: list[list[str | int]] = Field(description="[rule id, version] of each rule that hit")
    rule_score: float
    rule_channel: str | None = Field(description="The channel a hitting rule fixes, if any (otherwise the "
                                     "day's capacity-aware selection decides)")
    reasons: list[str]


def _problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    from cintel.web.app import problem  # the app module includes this router: imported when called

    return problem(status, detail, **extra)


def _page_data(engine: Engine, declaration_id: str) -> dict[str, Any]:
    data = declaration_page(engine, declaration_id)
    if data is None:
        raise HTTPException(404, f"no declaration '{declaration_id}' is stored")
    return data


async def _viewed(request: Request, engine: Engine, principal: Principal, declaration_id: str, purpose: str
                  ) -> dict[str, Any]:
    data = await run_in_threadpool(_page_data, engine, declaration_id)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="declaration",
                            object_id=declaration_id, route=request.url.path)
    return data


def _render(request: Request, principal: Principal, data: dict[str, Any], purpose: str, *, status_code: int = 200,
            form: dict[str, Any] | None = None, error: str | None = None) -> HTMLResponse:
    can_record = bool(principal.user.roles & set(RECORDERS))
    return page(request, "declaration.html", principal, status_code=status_code, d=data, purpose=purpose,
                can_record=can_record, outcomes=list(OutcomeType), today=date.today().isoformat(),
                form=form or dict.fromkeys(FORM_FIELDS, ""), form_error=error)


@router.get("/declarations/{declaration_id}", response_class=HTMLResponse)
async def declaration(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                      purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """One declaration: every field and item, provenance, parties linked to their entities, the route on
    a map, the latest score with its rule hits and the model's explanation, the importer's history, the
    inspection assignment, and (for inspectors and supervisors) the form to record an inspection.
    The view is written to the access log with its purpose."""
    data = await _viewed(request, engine, principal, declaration_id, purpose)
    return _render(request, principal, data, purpose)


@router.get("/declarations/{declaration_id}/explanation", response_class=HTMLResponse)
def explanation_fragment(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                         purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """The model's explanation of the declaration's score (each reason's contribution, as a chart and a
    table): a part of the declaration page, loaded after it because it re-scores the declaration."""
    if not declaration_exists(engine, declaration_id):
        raise HTTPException(404, f"no declaration '{declaration_id}' is stored")
    try:
        explained = declaration_explanation(engine, declaration_id)
    except CintelError as exc:
        # Answered 200 so htmx shows why in place of the explanation (it swaps no error answers).
        return HTMLResponse(f'<p class="alert" role="alert">{html.escape(str(exc))}</p>')
    record_view(engine, principal.context(purpose), object_kind="declaration", object_id=declaration_id,
                route=request.url.path)
    return page(request, "declaration_explanation.html", principal, x=explained)


@router.post("/declarations/{declaration_id}/inspection", response_class=HTMLResponse)
def record_inspection_form(
        request: Request, declaration_id: DeclarationId, principal: Recorder, engine: StoreDep,
        outcome: Annotated[str, Form(max_length=64)] = "", channel: Annotated[str, Form(max_length=16)] = "",
        inspection_date: Annotated[str, Form(max_length=32)] = "",
        findings: Annotated[str, Form(max_length=100_000)] = "",
        additional_duty: Annotated[str, Form(max_length=64)] = "",
        seizure: Annotated[str, Form(max_length=8)] = "",
        seized_goods: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    """Records the outcome of an inspection of the declaration (inspectors and supervisors); on success
    back to the declaration, whose history then shows it. Invalid input re-shows the form with why."""
    form = {"outcome": outcome, "channel": channel, "inspection_date": inspection_date, "findings": findings,
            "additional_duty": additional_duty, "seizure": seizure, "seized_goods": seized_goods}
    if not declaration_exists(engine, declaration_id):
        raise HTTPException(404, f"no declaration '{declaration_id}' is stored")
    error = None
    try:
        given = InspectionInput.model_validate({
            "outcome": outcome, "channel": channel, "inspection_date": inspection_date or date.today(),
            "findings": findings or None, "additional_duty": additional_duty.strip() or None,
            "seizure": seizure in ("on", "true", "1"), "seized_goods": seized_goods or None})
        record_inspection(engine, declaration_id, principal.username, given.as_record())
    except ValidationError as exc:
        error = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
    except InspectionRejected as exc:
        error = str(exc)
    if error is None:
        return RedirectResponse(f"/declarations/{declaration_id}#history", status_code=303)
    purpose = "recording an inspection outcome"
    data = _page_data(engine, declaration_id)
    record_view(engine, principal.context(purpose), object_kind="declaration", object_id=declaration_id,
                route=request.url.path)
    return _render(request, principal, data, purpose, status_code=400, form=form, error=error)


# --- JSON API ------------------------------------------------------------------------------------------------------

@router.get("/api/v1/declarations/{declaration_id}", tags=["api"])
async def declaration_api(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                          purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """The declaration page's data as JSON (all but the model explanation, which is
    /api/v1/declarations/{id}/explanation); the view is logged with its purpose."""
    return await _viewed(request, engine, principal, declaration_id, purpose)


@router.get("/api/v1/declarations/{declaration_id}/explanation", tags=["api"])
def explanation_api(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                    purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """The declaration re-scored as of its date with today's rules and model: probability, rule hits and
    each reason with its contribution to the log-odds; the view is logged with its purpose."""
    if not declaration_exists(engine, declaration_id):
        raise HTTPException(404, f"no declaration '{declaration_id}' is stored")
    explained = declaration_explanation(engine, declaration_id)
    record_view(engine, principal.context(purpose), object_kind="declaration", object_id=declaration_id,
                route=request.url.path)
    return explained


@router.post("/api/v1/declarations/{declaration_id}/inspection", tags=["api"], status_code=201)
def inspection_api(declaration_id: DeclarationId, body: InspectionInput, principal: Recorder,
                   engine: StoreDep) -> InspectionRecorded:
    """Records the outcome of an inspection of the declaration (inspectors and supervisors): one
    inspection record, validated like any ingested one; 400 with the reason when it is rejected."""
    if not declaration_exists(engine, declaration_id):
        raise HTTPException(404, f"no declaration '{declaration_id}' is stored")
    inspection_id, report = record_inspection(engine, declaration_id, principal.username, body.as_record())
    return InspectionRecorded(declaration_id=declaration_id, inspection_id=inspection_id, batch_id=report.batch_id)


@router.post("/api/v1/score", tags=["api"], response_model=ScoreResult,
             responses={409: {"description": "No model is trained yet"},
                        422: {"description": "The declaration does not validate: every problem is listed"}})
def score(request: Request, body: ScoreRequest, principal: Scorer) -> Response | ScoreResult:
    """Scores one declaration in real time, as it is lodged (targeting officers, analysts, supervisors):
    the features from its day's feature state, the rules, the model and the reasons. Nothing is stored."""
    # Not written to the access log: the declaration is data the caller submitted, not a view of stored
    # data; and nothing of it is logged anywhere (it may be commercially sensitive).
    scorers: RealtimeScorers | None = getattr(request.app.state, "realtime_scorers", None)
    if scorers is None:
        with _SCORERS_LOCK:
            scorers = getattr(request.app.state, "realtime_scorers", None)
            if scorers is None:
                scorers = RealtimeScorers(request.app.state.engine)
                request.app.state.realtime_scorers = scorers
    try:
        result = scorers.score(body.rows())
    except DeclarationRejected as exc:
        return _problem(422, str(exc), errors=exc.problems)
    except NoModel as exc:
        return _problem(409, str(exc))
    return ScoreResult.model_validate(result)
