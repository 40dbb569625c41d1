"""Declaration pages and API: every field and item, parties, route, score and explanation, rule hits, trader
history, the inspection form; and real-time scoring.

Every view of a stored declaration (page, explanation, API) is written to the access log with its
purpose. Recording an inspection is `cintel.cases.inspections.record` (the assigned inspector, or a
supervisor with a reason; a second record only as a correction): one inspection record through the
ingest path, validated like any file's, which `cintel train` then learns from.
"""

from __future__ import annotations

import html
import threading
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from cintel.cases import inspections
from cintel.cases.inspections import InspectionInput
from cintel.domain.codes import OutcomeType
from cintel.domain.roles import QUEUE_READERS, Role
from cintel.errors import CintelError
from cintel.risk.realtime import MAX_ITEMS, DeclarationRejected, NoModel, RealtimeScorers
from cintel.web.declaration_view import (
    declaration_exists,
    declaration_explanation,
    declaration_page,
    latest_explanation,
)
from cintel.web.pages import PurposeQuery
from cintel.web.queue import WHY_SELECTED, local_time, percent, record_view
from cintel.web.render import page
from cintel.web.security import Forbidden, Principal, StoreDep, require_roles

router = APIRouter()
DEFAULT_PURPOSE = "declaration review"
# Inspectors record what they found; supervisors may correct or record on their behalf.
RECORDERS = (Role.INSPECTOR, Role.SUPERVISOR)
SCORERS = (Role.TARGETING_OFFICER, Role.ANALYST, Role.SUPERVISOR)
Reader = Annotated[Principal, Depends(require_roles(*QUEUE_READERS))]
Recorder = Annotated[Principal, Depends(require_roles(*RECORDERS))]
Scorer = Annotated[Principal, Depends(require_roles(*SCORERS))]
FORM_FIELDS = ("outcome", "channel", "inspection_date", "findings", "additional_duty", "seizure", "seized_goods",
               "corrects", "reason")
RECORDING_PURPOSE = "inspection outcome recording"
# What the form says for a choice left empty (the form pre-selects no outcome and no channel).
CHOOSE = {"outcome": "choose what the inspection established",
          "channel": "choose the channel of the check: yellow (documentary) or red (physical)"}
_SCORERS_LOCK = threading.Lock()  # creates the app's RealtimeScorers once
DeclarationId = Annotated[str, Path(min_length=1, max_length=64, description="The declaration reference")]
InspectionId = Annotated[str, Path(min_length=1, max_length=64, description="The inspection reference")]


class InspectionRecorded(BaseModel):
    declaration_id: str
    inspection_id: str
    batch_id: int
    supersedes: str | None = Field(description="The record this one corrects (now shown as superseded)")
    record: dict[str, Any] = Field(description="The record as stored, with its status and who recorded it")


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
            form: dict[str, Any] | None = None, error: str | None = None,
            errors: dict[str, str] | None = None) -> HTMLResponse:
    can_record = bool(principal.user.roles & set(RECORDERS))
    recording = inspections.rights(principal.context(purpose), data["assignment"], data["inspections"])
    return page(request, "declaration.html", principal, status_code=status_code, d=data, purpose=purpose,
                can_record=can_record, recording=recording, outcomes=list(OutcomeType),
                today=date.today().isoformat(), form=form or dict.fromkeys(FORM_FIELDS, ""), form_error=error,
                form_errors=errors or {}, explained=data["explanation"],
                percent=percent, local_time=local_time, why_selected=WHY_SELECTED)


PURPOSE_ERROR = "say why you are looking, in 3 to 200 characters (it is logged)"


@router.get("/declarations/{declaration_id}", response_class=HTMLResponse)
async def declaration(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                      purpose: Annotated[str, Query(max_length=1000, description="Why you are looking (logged), "
                                                    "3 to 200 characters")] = DEFAULT_PURPOSE) -> HTMLResponse:
    """One declaration: every field and item, provenance, parties linked to their entities, the route on
    a map, the latest score with why it was selected, its rule hits and the model's explanation (kept with
    the score when its run scored; re-scoring with today's rules and model on request), the importer's
    history, the inspection assignment, and (for inspectors and supervisors) the form to record an
    inspection. The view is written to the access log with its purpose; a purpose too short or too long is
    shown again with why, and nothing of the declaration is shown or logged."""
    if not 3 <= len(purpose) <= 200:
        return page(request, "declaration_purpose_page.html", principal, status_code=422,
                    declaration_id=declaration_id, purpose=purpose, purpose_error=PURPOSE_ERROR)
    data = await _viewed(request, engine, principal, declaration_id, purpose)
    return _render(request, principal, data, purpose)


@router.get("/declarations/{declaration_id}/explanation", response_class=HTMLResponse)
def explanation_fragment(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                         purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """The declaration re-scored as of its date with today's rules and model, and the model's explanation
    (each reason's contribution, as a chart and a table): loaded into the declaration page on request,
    since re-scoring reads a year of history (seconds)."""
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
        seized_goods: Annotated[str, Form(max_length=100_000)] = "",
        corrects: Annotated[str, Form(max_length=64)] = "",
        reason: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    """Records the outcome of an inspection of the declaration: by the inspector it is assigned to, or a
    supervisor giving a reason; a declaration already recorded takes only a correction (naming the record
    it corrects, with a reason), which supersedes that record. On success to the record's page, which
    confirms what was recorded; otherwise the form again, with what was typed and the error beside each
    field."""
    form = {"outcome": outcome, "channel": channel, "inspection_date": inspection_date, "findings": findings,
            "additional_duty": additional_duty, "seizure": seizure, "seized_goods": seized_goods,
            "corrects": corrects, "reason": reason}
    status, errors = 400, dict[str, str]()
    try:
        given = InspectionInput.model_validate({
            "outcome": outcome, "channel": channel, "inspection_date": inspection_date or date.today(),
            "findings": findings or None, "additional_duty": additional_duty.strip() or None,
            "seizure": seizure in ("on", "true", "1"), "seized_goods": seized_goods or None,
            "corrects": corrects or None, "reason": reason or None})
        recorded = inspections.record(engine, principal.context(RECORDING_PURPOSE), declaration_id, given)
    except ValidationError as exc:
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else "form"
            errors.setdefault(field, CHOOSE[field] if field in CHOOSE and not form[field] else e["msg"])
    except inspections.InspectionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except inspections.InspectionForbidden as exc:
        raise Forbidden(str(exc)) from None
    except inspections.InspectionRejected as exc:
        for p in exc.problems:
            errors.setdefault(p["field"] if p["field"] in FORM_FIELDS else "form", p["message"])
    except inspections.InspectionConflict as exc:
        status, errors = 409, {exc.field or "form": str(exc)}
    else:
        return RedirectResponse(f"/declarations/{declaration_id}/inspections/{recorded.inspection_id}?recorded=1",
                                status_code=303)
    data = _page_data(engine, declaration_id)
    record_view(engine, principal.context(RECORDING_PURPOSE), object_kind="declaration", object_id=declaration_id,
                route=request.url.path)
    summary = "the inspection was not recorded: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
    return _render(request, principal, data, RECORDING_PURPOSE, status_code=status, form=form, error=summary,
                   errors=errors)


@router.get("/declarations/{declaration_id}/inspections/{inspection_id}", response_class=HTMLResponse)
def inspection_page(request: Request, declaration_id: DeclarationId, inspection_id: InspectionId,
                    principal: Reader, engine: StoreDep, purpose: PurposeQuery = RECORDING_PURPOSE,
                    recorded: Annotated[bool, Query(description="Just recorded: say so")] = False) -> HTMLResponse:
    """One inspection record of the declaration: what it says, who recorded it, when and why, and whether it
    is the declaration's current record or was superseded (by whom, when, why). After recording, the
    confirmation of what was recorded. The view is logged with its purpose."""
    try:
        record = inspections.inspection_detail(engine, declaration_id, inspection_id)
    except inspections.InspectionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    record_view(engine, principal.context(purpose), object_kind="inspection", object_id=inspection_id,
                route=request.url.path)
    return page(request, "declaration_inspection.html", principal, r=record, declaration_id=declaration_id,
                recorded=recorded, purpose=purpose)


# --- JSON API ------------------------------------------------------------------------------------------------------

@router.get("/api/v1/declarations/{declaration_id}", tags=["api"])
async def declaration_api(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                          purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """The declaration page's data as JSON (all but the model explanation, which is
    /api/v1/declarations/{id}/explanation); the view is logged with its purpose."""
    return await _viewed(request, engine, principal, declaration_id, purpose)


@router.get("/api/v1/declarations/{declaration_id}/explanation", tags=["api"])
def explanation_api(request: Request, declaration_id: DeclarationId, principal: Reader, engine: StoreDep,
                    purpose: PurposeQuery = DEFAULT_PURPOSE,
                    rescore: Annotated[bool, Query(description="Re-score with today's rules and model (reads a "
                                                   "year of history: seconds) instead of returning the latest "
                                                   "assessment's stored explanation")] = False) -> dict[str, Any]:
    """Why the declaration scored as it did: probability, rule hits and each reason with its contribution to
    the log-odds. By default the explanation kept with the latest assessment (``source`` "assessment"); with
    ``rescore``, or when none is kept (never assessed, or assessed before explanations were kept), the
    declaration re-scored as of its date with today's rules and model (``source`` "re-scored"). The view
    is logged with its purpose."""
    if not declaration_exists(engine, declaration_id):
        raise HTTPException(404, f"no declaration '{declaration_id}' is stored")
    stored = None if rescore else latest_explanation(engine, declaration_id)
    explained = stored if stored is not None else declaration_explanation(engine, declaration_id)
    record_view(engine, principal.context(purpose), object_kind="declaration", object_id=declaration_id,
                route=request.url.path)
    return explained


@router.post("/api/v1/declarations/{declaration_id}/inspection", tags=["api"], status_code=201,
             response_model=InspectionRecorded,
             responses={400: {"description": "The record does not validate: every problem is listed"},
                        403: {"description": "Not the assigned inspector, nor a supervisor"},
                        409: {"description": "The declaration already has a current record: send a correction"}})
def inspection_api(declaration_id: DeclarationId, body: InspectionInput, principal: Recorder,
                   engine: StoreDep) -> Response | InspectionRecorded:
    """Records the outcome of an inspection of the declaration: by the inspector it is assigned to, or a
    supervisor giving a ``reason``; a declaration already recorded takes only a correction (``corrects``
    names the current record, ``reason`` says why), which supersedes it. One inspection record, validated
    like any ingested one; answers the record as stored."""
    try:
        recorded = inspections.record(engine, principal.context(RECORDING_PURPOSE), declaration_id, body)
    except inspections.InspectionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except inspections.InspectionForbidden as exc:
        raise Forbidden(str(exc)) from None
    except inspections.InspectionRejected as exc:
        return _problem(400, str(exc), errors=exc.problems)
    except inspections.InspectionConflict as exc:
        return _problem(409, str(exc), field=exc.field)
    record = inspections.inspection_detail(engine, declaration_id, recorded.inspection_id)
    return InspectionRecorded(declaration_id=declaration_id, inspection_id=recorded.inspection_id,
                              batch_id=recorded.batch_id, supersedes=recorded.supersedes, record=record)


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
