"""Case pages and API: open from a declaration, entity or ring; evidence, notes, assignment, status,
reopening, PDF and CSV export.

Who may do what is decided by ``cintel.cases`` (one policy for pages and API): ``CaseNotFound`` (an
unknown case, or one the reader may not see: the same answer) is answered 404, ``CaseForbidden`` 403
and ``CaseClosed`` (a closed case is read-only) 409 here. Every view or export of a case is written to
the access log with its stated purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cintel.cases import policy, service
from cintel.cases.export import ExportFile, export_csv, export_pdf
from cintel.cases.policy import REASON_MIN
from cintel.cases.service import MAX_PAGE_SIZE, PAGE_SIZE, REF_MAX, TEXT_MAX, TITLE_MAX, TITLE_MIN
from cintel.domain.access import AccessContext
from cintel.domain.codes import CaseStatus
from cintel.domain.roles import Role
from cintel.store.access_log import record_view
from cintel.web.case_view import EVIDENCE_KINDS, case_view
from cintel.web.form_state import NO_FORM, FormState
from cintel.web.pages import PurposeQuery
from cintel.web.params import PageQuery, RecordId
from cintel.web.render import page
from cintel.web.security import Forbidden, Principal, StoreDep, require_roles

router = APIRouter()
CaseReader = Annotated[Principal, Depends(require_roles(
    Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR, Role.INSPECTOR))]
CaseWorker = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))]
DEFAULT_PURPOSE = "case work"
WORK_PURPOSE = "case work: changing the case"  # writes are not views, but the context still says why
T = TypeVar("T")

KIND_PATTERN = "^(" + "|".join(k.value for k in EVIDENCE_KINDS) + ")$"
STATUS_PATTERN = "^(" + "|".join(CaseStatus.codes()) + ")$"
StatusQuery = Annotated[str | None, Query(pattern="^(" + "|".join(CaseStatus.codes()) + ")?$",
                                          description="Only cases in this status (empty: all)")]
AssigneeQuery = Annotated[str | None, Query(max_length=64, description="Only cases assigned to this username")]
SizeQuery = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Cases per page, at most {MAX_PAGE_SIZE}")]


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a case service function in a worker thread; unknown (or unseen) case -> 404, not allowed -> 403,
    closed -> 409."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except policy.CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except policy.CaseForbidden as exc:
        raise Forbidden(str(exc)) from None
    except policy.CaseClosed as exc:
        raise HTTPException(409, str(exc)) from None


async def _log(request: Request, engine: Any, ctx: AccessContext, case_id: RecordId) -> None:
    await run_in_threadpool(record_view, engine, ctx, object_kind="case", object_id=str(case_id),
                            route=request.url.path)


def _see(case_id: RecordId) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


# ---- pages ------------------------------------------------------------------------------------------------------

# Form fields are taken as typed (capped) and checked by the case service, so that a refusal comes back to the
# form with what was typed and the error beside its field, instead of a bare error page.
Typed = Annotated[str, Form(max_length=4 * TEXT_MAX)]


async def _cases_list(request: Request, principal: Principal, engine: Any, *, status: str | None = None,
                      assignee: str | None = None, page_no: int = 1, size: int = PAGE_SIZE, form: FormState = NO_FORM,
                      status_code: int = 200) -> HTMLResponse:
    ctx = principal.context(DEFAULT_PURPOSE)
    chosen = CaseStatus(status) if status else None
    result = await _call(service.list_cases, engine, ctx, status=chosen, assignee=assignee, page=page_no, size=size)
    worker = policy.is_worker(ctx)
    users = await run_in_threadpool(service.assignable_users, engine) if worker else []

    def page_url(number: int) -> str:
        params = {"page": number, "size": size, **({"status": status} if status else {}),
                  **({"assignee": assignee} if assignee else {})}
        return "/cases?" + urlencode(params)

    return page(request, "cases.html", principal, status_code=status_code, result=result, statuses=list(CaseStatus),
                users=users, can_open=worker, evidence_kinds=EVIDENCE_KINDS, page_url=page_url, title_min=TITLE_MIN,
                title_max=TITLE_MAX, form=form)


async def _case(request: Request, principal: Principal, engine: Any, case_id: RecordId, purpose: str, *,
                form: FormState = NO_FORM, status_code: int = 200) -> HTMLResponse:
    ctx = principal.context(purpose)
    view = await _call(case_view, engine, ctx, case_id)
    await _log(request, engine, ctx, case_id)
    return page(request, "case.html", principal, status_code=status_code, purpose=purpose, form=form,
                **view.context())


async def _change(request: Request, principal: Principal, engine: Any, case_id: RecordId, form: str,
                  values: dict[str, str], fn: Callable[..., Any], *args: Any) -> Response:
    """Makes a change from one of the case page's forms: back to the case when done; refused, the case page
    again (400) with what was typed and the error beside its field."""
    try:
        await _call(fn, engine, principal.context(WORK_PURPOSE), case_id, *args)
    except policy.CaseError as exc:
        typed = FormState(name=form, values=values, errors={exc.field or "form": str(exc)})
        return await _case(request, principal, engine, case_id, WORK_PURPOSE, form=typed, status_code=400)
    return _see(case_id)


@router.get("/cases", response_class=HTMLResponse)
async def cases_page(request: Request, principal: CaseReader, engine: StoreDep, status: StatusQuery = None,
                     assignee: AssigneeQuery = None, page_no: PageQuery = 1, size: SizeQuery = PAGE_SIZE,
                     ) -> HTMLResponse:
    """The cases, most recently changed first, filtered by status and assignee (inspectors: only theirs);
    analysts, targeting officers and supervisors also get a form to open a new case."""
    return await _cases_list(request, principal, engine, status=status, assignee=assignee, page_no=page_no,
                             size=size)


@router.post("/cases")
async def open_case_form(request: Request, principal: CaseWorker, engine: StoreDep, origin_kind: Typed = "",
                         origin_ref: Typed = "", title: Typed = "", summary: Typed = "") -> Response:
    """Opens a case (status lead) from a declaration, entity, ring (comma-separated entity ids) or
    container, which becomes its first evidence; goes to the new case. Refused, the form comes back with
    what was typed and the error beside its field."""
    try:
        case_id = await _call(service.open_case, engine, principal.context(WORK_PURPOSE), origin_kind, origin_ref,
                              title, summary)
    except policy.CaseError as exc:
        typed = FormState(name="open", errors={exc.field or "form": str(exc)},
                          values={"origin_kind": origin_kind, "origin_ref": origin_ref, "title": title,
                                  "summary": summary})
        return await _cases_list(request, principal, engine, form=typed, status_code=400)
    return _see(case_id)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: RecordId, principal: CaseReader, engine: StoreDep,
                    purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """One case: status, assignee, evidence, notes and history, with the forms its reader may use (none but
    a supervisor's reopening once it is closed); the view is logged with its purpose."""
    return await _case(request, principal, engine, case_id, purpose)


@router.post("/cases/{case_id}/notes")
async def note_form(request: Request, case_id: RecordId, principal: CaseReader, engine: StoreDep,
                    text: Typed = "") -> Response:
    """Writes a note on the case (inspectors may, on the cases assigned to them)."""
    return await _change(request, principal, engine, case_id, "note", {"text": text}, service.add_note, text)


@router.post("/cases/{case_id}/evidence")
async def evidence_form(request: Request, case_id: RecordId, principal: CaseWorker, engine: StoreDep,
                        kind: Typed = "", ref: Typed = "", note: Typed = "") -> Response:
    """Adds a declaration, entity, ring or container to the case, with why it is evidence."""
    return await _change(request, principal, engine, case_id, "evidence", {"kind": kind, "ref": ref, "note": note},
                         service.add_evidence, kind, ref, note)


@router.post("/cases/{case_id}/assign")
async def assign_form(request: Request, case_id: RecordId, principal: CaseWorker, engine: StoreDep,
                      username: Typed = "") -> Response:
    """Gives the case to an enabled user."""
    return await _change(request, principal, engine, case_id, "assign", {"username": username}, service.assign,
                         username)


@router.post("/cases/{case_id}/status")
async def status_form(request: Request, case_id: RecordId, principal: CaseWorker, engine: StoreDep,
                      status: Typed = "", outcome: Typed = "") -> Response:
    """Moves the case to another status; closing needs a supervisor, or the assignee someone else gave the
    case to, and an outcome."""
    return await _change(request, principal, engine, case_id, "status", {"status": status, "outcome": outcome},
                         service.set_status, status, outcome or None)


@router.post("/cases/{case_id}/reopen")
async def reopen_form(request: Request, case_id: RecordId, principal: Supervisor, engine: StoreDep,
                      reason: Typed = "") -> Response:
    """Reopens a closed case (supervisors), with the reason kept in its history."""
    return await _change(request, principal, engine, case_id, "reopen", {"reason": reason}, service.reopen, reason)


def _attachment(file: ExportFile) -> Response:
    return Response(file.content, media_type=file.media_type,
                    headers={"content-disposition": f'attachment; filename="{file.filename}"'})


@router.get("/cases/{case_id}/export.csv")
async def export_case_csv(request: Request, case_id: RecordId, principal: CaseReader, engine: StoreDep,
                          purpose: PurposeQuery = "case export") -> Response:
    """The case, its evidence, notes and history as one CSV file (spreadsheet formulas neutralised);
    the export is logged with its purpose."""
    ctx = principal.context(purpose)
    file = await _call(export_csv, engine, ctx, case_id)
    await _log(request, engine, ctx, case_id)
    return _attachment(file)


@router.get("/cases/{case_id}/export.pdf")
async def export_case_pdf(request: Request, case_id: RecordId, principal: CaseReader, engine: StoreDep,
                          purpose: PurposeQuery = "case export") -> Response:
    """The case report as PDF, with the network around its entities and the map of its routes; the
    export is logged with its purpose."""
    ctx = principal.context(purpose)
    file = await _call(export_pdf, engine, ctx, case_id)
    await _log(request, engine, ctx, case_id)
    return _attachment(file)


# ---- API --------------------------------------------------------------------------------------------------------

class CaseCreate(BaseModel):
    origin_kind: str = Field(pattern=KIND_PATTERN, description="declaration, entity, ring or container")
    origin_ref: str = Field(min_length=1, max_length=REF_MAX * 4,
                            description="Its id; for a ring, the member entity ids separated by commas")
    title: str = Field(min_length=TITLE_MIN, max_length=TITLE_MAX)
    summary: str = Field("", max_length=TEXT_MAX)


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=TEXT_MAX)


class EvidenceCreate(BaseModel):
    kind: str = Field(pattern=KIND_PATTERN, description="declaration, entity, ring or container")
    ref: str = Field(min_length=1, max_length=REF_MAX * 4)
    note: str = Field(min_length=1, max_length=TEXT_MAX, description="Why it is evidence")


class Assignment(BaseModel):
    username: str = Field(min_length=1, max_length=64)


class Reopening(BaseModel):
    reason: str = Field(min_length=REASON_MIN, max_length=TEXT_MAX, description="Why the closed case is reopened")


class StatusChange(BaseModel):
    status: str = Field(pattern=STATUS_PATTERN)
    outcome: str | None = Field(None, max_length=64, description="Needed when closing: an outcome type, "
                                "no_case or referred")


async def _case_json(engine: Any, ctx: AccessContext, case_id: RecordId) -> dict[str, Any]:
    detail = await _call(service.get_case, engine, ctx, case_id)
    return detail.to_dict()


@router.get("/api/v1/cases", tags=["api"])
async def api_cases(principal: CaseReader, engine: StoreDep, status: StatusQuery = None,
                    assignee: AssigneeQuery = None, page_no: PageQuery = 1, size: SizeQuery = PAGE_SIZE,
                    ) -> dict[str, Any]:
    """One page of cases (same data as the cases page; inspectors see only theirs)."""
    chosen = CaseStatus(status) if status else None
    result = await _call(service.list_cases, engine, principal.context(DEFAULT_PURPOSE), status=chosen,
                         assignee=assignee, page=page_no, size=size)
    return result.to_dict()


@router.post("/api/v1/cases", tags=["api"], status_code=201)
async def api_open_case(body: CaseCreate, principal: CaseWorker, engine: StoreDep) -> dict[str, Any]:
    """Opens a case from a declaration, entity, ring or container; answers the new case."""
    ctx = principal.context(WORK_PURPOSE)
    case_id = await _call(service.open_case, engine, ctx, body.origin_kind, body.origin_ref, body.title,
                          body.summary)
    return await _case_json(engine, ctx, case_id)


@router.get("/api/v1/cases/{case_id}", tags=["api"])
async def api_case(request: Request, case_id: RecordId, principal: CaseReader, engine: StoreDep,
                   purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """One case with its items (evidence and notes) and events; the view is logged with its purpose."""
    ctx = principal.context(purpose)
    answer = await _case_json(engine, ctx, case_id)
    await _log(request, engine, ctx, case_id)
    return answer


@router.post("/api/v1/cases/{case_id}/notes", tags=["api"], status_code=201)
async def api_note(case_id: RecordId, body: NoteCreate, principal: CaseReader, engine: StoreDep) -> dict[str, Any]:
    """Writes a note on the case; answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.add_note, engine, ctx, case_id, body.text)
    return await _case_json(engine, ctx, case_id)


@router.post("/api/v1/cases/{case_id}/evidence", tags=["api"], status_code=201)
async def api_evidence(case_id: RecordId, body: EvidenceCreate, principal: CaseWorker, engine: StoreDep,
                       ) -> dict[str, Any]:
    """Adds evidence to the case; answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.add_evidence, engine, ctx, case_id, body.kind, body.ref, body.note)
    return await _case_json(engine, ctx, case_id)


@router.post("/api/v1/cases/{case_id}/assign", tags=["api"])
async def api_assign(case_id: RecordId, body: Assignment, principal: CaseWorker, engine: StoreDep) -> dict[str, Any]:
    """Assigns the case to an enabled user; answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.assign, engine, ctx, case_id, body.username)
    return await _case_json(engine, ctx, case_id)


@router.post("/api/v1/cases/{case_id}/status", tags=["api"])
async def api_status(case_id: RecordId, body: StatusChange, principal: CaseWorker, engine: StoreDep) -> dict[str, Any]:
    """Moves the case to another status (closing needs an outcome); answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.set_status, engine, ctx, case_id, body.status, body.outcome)
    return await _case_json(engine, ctx, case_id)


@router.post("/api/v1/cases/{case_id}/reopen", tags=["api"])
async def api_reopen(case_id: RecordId, body: Reopening, principal: Supervisor, engine: StoreDep) -> dict[str, Any]:
    """Reopens a closed case (supervisors), with the reason kept in its history; answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.reopen, engine, ctx, case_id, body.reason)
    return await _case_json(engine, ctx, case_id)
