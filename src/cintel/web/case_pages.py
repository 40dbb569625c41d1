"""Case pages and API: open from a declaration, entity or ring; evidence, notes, assignment, status, PDF and CSV export.

Who may do what is decided by ``cintel.cases.service`` (one policy for pages and API): its
``CaseNotFound`` is answered 404 and ``CaseForbidden`` 403 here. Every view or export of a case is
written to the access log with its stated purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cintel.cases import service
from cintel.cases.service import MAX_PAGE_SIZE, PAGE_SIZE, REF_MAX, TEXT_MAX, TITLE_MAX, TITLE_MIN
from cintel.domain.access import AccessContext
from cintel.domain.codes import CaseStatus
from cintel.domain.roles import Role
from cintel.web.case_view import EVIDENCE_KINDS, ExportFile, case_view, export_csv, export_pdf
from cintel.web.pages import PurposeQuery
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.security import Forbidden, Principal, StoreDep, require_roles

router = APIRouter()
CaseReader = Annotated[Principal, Depends(require_roles(
    Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR, Role.INSPECTOR))]
CaseWorker = Annotated[Principal, Depends(require_roles(Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR))]
DEFAULT_PURPOSE = "case work"
WORK_PURPOSE = "case work: changing the case"  # writes are not views, but the context still says why
T = TypeVar("T")

KIND_PATTERN = "^(" + "|".join(k.value for k in EVIDENCE_KINDS) + ")$"
STATUS_PATTERN = "^(" + "|".join(CaseStatus.codes()) + ")$"
StatusQuery = Annotated[str | None, Query(pattern="^(" + "|".join(CaseStatus.codes()) + ")?$",
                                          description="Only cases in this status (empty: all)")]
AssigneeQuery = Annotated[str | None, Query(max_length=64, description="Only cases assigned to this username")]
PageQuery = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]
SizeQuery = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Cases per page, at most {MAX_PAGE_SIZE}")]


async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a case service function in a worker thread; unknown case -> 404, not allowed -> 403."""
    try:
        return await run_in_threadpool(fn, *args, **kwargs)
    except service.CaseNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except service.CaseForbidden as exc:
        raise Forbidden(str(exc)) from None


async def _log(request: Request, engine: Any, ctx: AccessContext, case_id: int) -> None:
    await run_in_threadpool(record_view, engine, ctx, object_kind="case", object_id=str(case_id),
                            route=request.url.path)


def _see(case_id: int) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


# ---- pages ------------------------------------------------------------------------------------------------------

@router.get("/cases", response_class=HTMLResponse)
async def cases_page(request: Request, principal: CaseReader, engine: StoreDep, status: StatusQuery = None,
                     assignee: AssigneeQuery = None, page_no: PageQuery = 1, size: SizeQuery = PAGE_SIZE,
                     ) -> HTMLResponse:
    """The cases, most recently changed first, filtered by status and assignee (inspectors: only theirs);
    analysts, targeting officers and supervisors also get a form to open a new case."""
    ctx = principal.context(DEFAULT_PURPOSE)
    chosen = CaseStatus(status) if status else None
    result = await _call(service.list_cases, engine, ctx, status=chosen, assignee=assignee, page=page_no, size=size)
    worker = service.is_worker(ctx)
    users = await run_in_threadpool(service.assignable_users, engine) if worker else []

    def page_url(number: int) -> str:
        params = {"page": number, "size": size, **({"status": status} if status else {}),
                  **({"assignee": assignee} if assignee else {})}
        return "/cases?" + urlencode(params)

    return page(request, "cases.html", principal, result=result, statuses=list(CaseStatus), users=users,
                can_open=worker, evidence_kinds=EVIDENCE_KINDS, page_url=page_url, title_min=TITLE_MIN,
                title_max=TITLE_MAX)


@router.post("/cases")
async def open_case_form(principal: CaseWorker, engine: StoreDep,
                         origin_kind: Annotated[str, Form(pattern=KIND_PATTERN)],
                         origin_ref: Annotated[str, Form(min_length=1, max_length=REF_MAX * 4)],
                         title: Annotated[str, Form(min_length=TITLE_MIN, max_length=TITLE_MAX)],
                         summary: Annotated[str, Form(max_length=TEXT_MAX)] = "") -> Response:
    """Opens a case (status lead) from a declaration, entity, ring (comma-separated entity ids) or
    container, which becomes its first evidence; goes to the new case."""
    case_id = await _call(service.open_case, engine, principal.context(WORK_PURPOSE), origin_kind, origin_ref,
                          title, summary)
    return _see(case_id)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: int, principal: CaseReader, engine: StoreDep,
                    purpose: PurposeQuery = DEFAULT_PURPOSE) -> HTMLResponse:
    """One case: status, assignee, evidence, notes and history, with the forms to work it; the view is
    logged with its purpose."""
    ctx = principal.context(purpose)
    view = await _call(case_view, engine, ctx, case_id)
    await _log(request, engine, ctx, case_id)
    return page(request, "case.html", principal, purpose=purpose, **view.context())


@router.post("/cases/{case_id}/notes")
async def note_form(case_id: int, principal: CaseReader, engine: StoreDep,
                    text: Annotated[str, Form(min_length=1, max_length=TEXT_MAX)]) -> Response:
    """Writes a note on the case (inspectors may, on the cases assigned to them)."""
    await _call(service.add_note, engine, principal.context(WORK_PURPOSE), case_id, text)
    return _see(case_id)


@router.post("/cases/{case_id}/evidence")
async def evidence_form(case_id: int, principal: CaseWorker, engine: StoreDep,
                        kind: Annotated[str, Form(pattern=KIND_PATTERN)],
                        ref: Annotated[str, Form(min_length=1, max_length=REF_MAX * 4)],
                        note: Annotated[str, Form(min_length=1, max_length=TEXT_MAX)]) -> Response:
    """Adds a declaration, entity, ring or container to the case, with why it is evidence."""
    await _call(service.add_evidence, engine, principal.context(WORK_PURPOSE), case_id, kind, ref, note)
    return _see(case_id)


@router.post("/cases/{case_id}/assign")
async def assign_form(case_id: int, principal: CaseWorker, engine: StoreDep,
                      username: Annotated[str, Form(min_length=1, max_length=64)]) -> Response:
    """Gives the case to an enabled user."""
    await _call(service.assign, engine, principal.context(WORK_PURPOSE), case_id, username)
    return _see(case_id)


@router.post("/cases/{case_id}/status")
async def status_form(case_id: int, principal: CaseWorker, engine: StoreDep,
                      status: Annotated[str, Form(pattern=STATUS_PATTERN)],
                      outcome: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Moves the case to another status; closing needs a supervisor or the assignee, and an outcome."""
    await _call(service.set_status, engine, principal.context(WORK_PURPOSE), case_id, status, outcome or None)
    return _see(case_id)


def _attachment(file: ExportFile) -> Response:
    return Response(file.content, media_type=file.media_type,
                    headers={"content-disposition": f'attachment; filename="{file.filename}"'})


@router.get("/cases/{case_id}/export.csv")
async def export_case_csv(request: Request, case_id: int, principal: CaseReader, engine: StoreDep,
                          purpose: PurposeQuery = "case export") -> Response:
    """The case, its evidence, notes and history as one CSV file (spreadsheet formulas neutralised);
    the export is logged with its purpose."""
    ctx = principal.context(purpose)
    file = await _call(export_csv, engine, ctx, case_id)
    await _log(request, engine, ctx, case_id)
    return _attachment(file)


@router.get("/cases/{case_id}/export.pdf")
async def export_case_pdf(request: Request, case_id: int, principal: CaseReader, engine: StoreDep,
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


class StatusChange(BaseModel):
    status: str = Field(pattern=STATUS_PATTERN)
    outcome: str | None = Field(None, max_length=64, description="Needed when closing: an outcome type, "
                                "no_case or referred")


async def _case_json(engine: Any, ctx: AccessContext, case_id: int) -> dict[str, Any]:
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
async def api_case(request: Request, case_id: int, principal: CaseReader, engine: StoreDep,
                   purpose: PurposeQuery = DEFAULT_PURPOSE) -> dict[str, Any]:
    """One case with its items (evidence and notes) and events; the view is logged with its purpose."""
    ctx = principal.context(purpose)
    answer = await _case_json(engine, ctx, case_id)
    await _log(request, engine, ctx, case_id)
    return answer


@router.post("/api/v1/cases/{case_id}/notes", tags=["api"], status_code=201)
async def api_note(case_id: int, body: NoteCreate, principal: CaseReader, engine: StoreDep) -> dict[str, Any]:
    """Writes a note on the case; answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.add_note, engine, ctx, case_id, body.text)
    return await _case_json(engine, ctx, case_id)


@router.post("/api/v1/cases/{case_id}/evidence", tags=["api"], status_code=201)
async def api_evidence(case_id: int, body: EvidenceCreate, principal: CaseWorker, engine: StoreDep,
                       ) -> dict[str, Any]:
    """Adds evidence to the case; answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.add_evidence, engine, ctx, case_id, body.kind, body.ref, body.note)
    return await _case_json(engine, ctx, case_id)


@router.post("/api/v1/cases/{case_id}/assign", tags=["api"])
async def api_assign(case_id: int, body: Assignment, principal: CaseWorker, engine: StoreDep) -> dict[str, Any]:
    """Assigns the case to an enabled user; answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.assign, engine, ctx, case_id, body.username)
    return await _case_json(engine, ctx, case_id)


@router.post("/api/v1/cases/{case_id}/status", tags=["api"])
async def api_status(case_id: int, body: StatusChange, principal: CaseWorker, engine: StoreDep) -> dict[str, Any]:
    """Moves the case to another status (closing needs an outcome); answers the case."""
    ctx = principal.context(WORK_PURPOSE)
    await _call(service.set_status, engine, ctx, case_id, body.status, body.outcome)
    return await _case_json(engine, ctx, case_id)
