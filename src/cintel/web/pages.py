"""The workspace's HTML pages: sign in, sign out, the risk queue, its exports and its bulk assignment to
inspectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from cintel.domain.codes import Channel
from cintel.domain.roles import QUEUE_READERS, Role
from cintel.settings import Settings
from cintel.web.accounts import LoginFailed, LoginThrottled, verify_login
from cintel.web.params import MAX_PAGE, MAX_RECORD_ID
from cintel.web.queue import (
    ASSIGNEE_PATTERN,
    CHAPTER_PATTERN,
    DEFAULT_PAGE_SIZE,
    MAX_ASSIGN,
    MAX_PAGE_SIZE,
    OFFICE_PATTERN,
    ORIGIN_PATTERN,
    RULE_PATTERN,
    SORT_COLUMNS,
    SORT_PATTERN,
    WHY_SELECTED,
    QueueError,
    QueueFilters,
    assign,
    export_csv,
    export_filename,
    export_rows,
    export_xlsx,
    filter_options,
    inspectors,
    queue_page,
    recent_runs,
    record_view,
    view_context,
)
from cintel.web.render import page
from cintel.web.security import (
    SESSION_COOKIE,
    CurrentUser,
    Principal,
    SettingsDep,
    StoreDep,
    clear_login_csrf_cookie,
    clear_session_cookie,
    create_session,
    end_session,
    login_csrf_ok,
    login_csrf_token,
    require_roles,
    set_login_csrf_cookie,
    set_session_cookie,
)

router = APIRouter()
QueueReader = Annotated[Principal, Depends(require_roles(*QUEUE_READERS))]
# Who may hand queued declarations to inspectors: the officers who work the queue and their supervisors.
ASSIGNERS = (Role.TARGETING_OFFICER, Role.SUPERVISOR)
QueueAssigner = Annotated[Principal, Depends(require_roles(*ASSIGNERS))]
DEFAULT_PURPOSE = "risk queue review"


def client_address(request: Request) -> str:
    """The client's address: the connecting one, or the one a trusted proxy forwarded (web_trusted_proxies)."""
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, settings: Settings, *, status_code: int = 200, error: str | None = None,
                username: str = "", headers: dict[str, str] | None = None) -> HTMLResponse:
    """The sign-in form with its pre-session CSRF token (kept from the browser's cookie, or new)."""
    token = login_csrf_token(request, settings)
    response = page(request, "login.html", None, status_code=status_code, error=error, username=username,
                    login_csrf=token)
    response.headers.update(headers or {})
    set_login_csrf_cookie(response, token, settings)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The sign-in form."""
    return _login_page(request, settings)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, engine: StoreDep, settings: SettingsDep,
          username: Annotated[str, Form(max_length=200)], password: Annotated[str, Form(max_length=1024)],
          csrf_token: Annotated[str, Form(max_length=200, description="The sign-in form's CSRF token")] = "",
          ) -> Response:
    """Checks the username and password (a growing wait after repeated failures for the name from this
    address); on success opens a session, sets the session cookie and goes to the dashboard (administrators,
    who may not read it, to the users page). A post that does not echo the form's CSRF token (a cross-site
    form) is refused unchecked."""
    if not login_csrf_ok(request, settings, csrf_token):
        return _login_page(request, settings, status_code=403, username=username,
                           error="the sign-in form had expired or did not come from this site: sign in again")
    try:
        user = verify_login(engine, username, password, client_address(request), settings=settings)
    except LoginThrottled as exc:
        return _login_page(request, settings, status_code=429, error=str(exc), username=username,
                           headers={"Retry-After": str(exc.retry_after)})
    except LoginFailed as exc:
        return _login_page(request, settings, status_code=401, error=str(exc), username=username)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_session(engine, old)
    token = create_session(engine, user.username, settings)
    landing = "/" if user.roles & QUEUE_READERS else "/admin/users" if Role.ADMINISTRATOR in user.roles \
        else "/api/docs"
    response = RedirectResponse(landing, status_code=303)
    set_session_cookie(response, token, settings)
    clear_login_csrf_cookie(response, settings)
    return response


@router.post("/logout")
def logout(request: Request, principal: CurrentUser, engine: StoreDep, settings: SettingsDep) -> Response:
    """Ends the session (it cannot be reused) and clears the cookie."""
    end_session(engine, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings)
    return response


SizeQuery = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Rows per page, at most {MAX_PAGE_SIZE}")]
SortQuery = Annotated[str, Query(pattern=SORT_PATTERN, description=f"One of {', '.join(SORT_COLUMNS)}; "
                                 "'-' first for descending")]
RunQuery = Annotated[int | None, Query(alias="run", ge=1, le=MAX_RECORD_ID,
                                       description="The run to show (default: the latest)")]
# A form's "all" option sends an empty value: accepted here as no filter.
CHANNEL_PATTERN = "^(" + "|".join(Channel.codes()) + ")?$"
ChannelQuery = Annotated[str | None, Query(pattern=CHANNEL_PATTERN, description="Only this channel (empty: all)")]
PurposeQuery = Annotated[str, Query(min_length=3, max_length=200, description="Why you are looking (logged)")]


def queue_filters(channel: ChannelQuery = None,
                  office: Annotated[str | None, Query(pattern=OFFICE_PATTERN, description="Customs office of "
                                                      "lodgement, e.g. NLRTM01 (empty: all)")] = None,
                  chapter: Annotated[str | None, Query(pattern=CHAPTER_PATTERN, description="HS chapter, 2 digits: "
                                                       "any item of the declaration (empty: all)")] = None,
                  origin: Annotated[str | None, Query(pattern=ORIGIN_PATTERN, description="Country of origin "
                                                      "(ISO alpha-2) of any item (empty: all)")] = None,
                  rule: Annotated[str | None, Query(pattern=RULE_PATTERN, description="Only declarations that hit "
                                                    "this rule id (empty: all)")] = None,
                  assigned_to: Annotated[str | None, Query(pattern=ASSIGNEE_PATTERN, description="'me' or a "
                                                           "username: only declarations assigned to them")] = None,
                  ) -> QueueFilters:
    """The queue's filters from the query string, each validated by its pattern; empty means all."""
    return QueueFilters(channel=Channel(channel) if channel else None, office=office or None,
                        chapter=chapter or None, origin=origin or None, rule=rule or None,
                        assigned_to=assigned_to or None)


FiltersDep = Annotated[QueueFilters, Depends(queue_filters)]


def resolve_me(filters: QueueFilters, principal: Principal) -> QueueFilters:
    """Turns assigned_to=me into the signed-in user's name."""
    if filters.assigned_to == "me":
        return replace(filters, assigned_to=principal.username)
    return filters


class QueueForm(BaseModel):
    """The queue page's form (filters, sort, page, run, purpose). The page validates it itself, so that a
    wrong value is shown beside its field with what was typed, instead of an error page."""

    model_config = ConfigDict(extra="ignore")

    run: int | None = Field(None, ge=1, le=MAX_RECORD_ID)
    page: int = Field(1, ge=1, le=MAX_PAGE)
    size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    sort: str = Field("rank", pattern=SORT_PATTERN)
    channel: str = Field("", pattern=CHANNEL_PATTERN)
    office: str = Field("", pattern=OFFICE_PATTERN)
    chapter: str = Field("", pattern=CHAPTER_PATTERN)
    origin: str = Field("", pattern=ORIGIN_PATTERN)
    rule: str = Field("", pattern=RULE_PATTERN)
    assigned_to: str = Field("", pattern=ASSIGNEE_PATTERN)
    purpose: str = Field(DEFAULT_PURPOSE, min_length=3, max_length=200)
    assigned: int | None = Field(None, ge=0, le=MAX_ASSIGN)

    def filters(self) -> QueueFilters:
        return QueueFilters(channel=Channel(self.channel) if self.channel else None, office=self.office or None,
                            chapter=self.chapter or None, origin=self.origin or None, rule=self.rule or None,
                            assigned_to=self.assigned_to or None)

    def link(self, path: str = "/queue", **change: Any) -> str:
        """A link to ``path`` with this form's values and ``change`` (empty values left out)."""
        values = {**self.model_dump(exclude={"assigned"}), **change}
        if values.get("purpose") == DEFAULT_PURPOSE:
            values.pop("purpose")
        return path + "?" + urlencode({k: v for k, v in values.items() if v not in (None, "")})


_FORM_MESSAGES = {
    "run": "choose a run from the list",
    "page": "a page number from 1",
    "size": f"rows per page: 1 to {MAX_PAGE_SIZE}",
    "sort": "choose a sort order from the list",
    "channel": "choose a channel from the list",
    "office": "an office code: 2 to 16 capital letters or digits, e.g. NLRTM01",
    "chapter": "an HS chapter: 2 digits, e.g. 61",
    "origin": "a country code: 2 capital letters, e.g. CN",
    "rule": "a rule id: letters, digits, '.', '_' or '-'",
    "assigned_to": "'me' or a username",
    "purpose": "say why you are looking, in 3 to 200 characters",
}


def read_queue_form(values: Mapping[str, str]) -> tuple[QueueForm, dict[str, str], dict[str, str]]:
    """The form from a query string: (the valid form, the values as typed, an error per field). A wrong field
    falls back to its default in the form; ``typed`` keeps what the user entered so the page can show it."""
    typed = {name: values[name][:1000] for name in QueueForm.model_fields if name in values}
    given = {k: v for k, v in typed.items() if v != "" or k not in ("run", "page", "size", "assigned")}
    try:
        return QueueForm.model_validate(given), typed, {}
    except ValidationError as exc:
        errors = {str(e["loc"][0]): _FORM_MESSAGES.get(str(e["loc"][0]), e["msg"]) for e in exc.errors() if e["loc"]}
    return QueueForm.model_validate({k: v for k, v in given.items() if k not in errors}), typed, errors


async def _queue_view(request: Request, principal: Principal, engine: Engine, form: QueueForm, typed: dict[str, str],
                      errors: dict[str, str], *, ticked: Sequence[str] = (), inspector: str = "",
                      assign_error: str | None = None, assign_status: int = 400) -> HTMLResponse:
    """The queue page for a valid form (logged), or the form with its errors and no rows (nothing shown, so
    nothing logged)."""
    can_assign = bool(principal.user.roles & set(ASSIGNERS))
    context: dict[str, Any] = {
        "form": form, "typed": typed, "errors": errors, "channels": list(Channel), "sort_columns": list(SORT_COLUMNS),
        "can_assign": can_assign, "is_inspector": Role.INSPECTOR in principal.user.roles, "max_assign": MAX_ASSIGN,
        "ticked": set(ticked), "chosen_inspector": inspector, "assign_error": assign_error,
        "runs": await run_in_threadpool(recent_runs, engine), "why_selected": WHY_SELECTED,
        "channel_labels": {c.value: f"{c.value} – {c.description}" for c in Channel}}
    result = None
    if not errors:
        try:
            result = await run_in_threadpool(queue_page, engine, run_id=form.run, page=form.page, size=form.size,
                                             sort=form.sort, filters=resolve_me(form.filters(), principal))
        except QueueError as exc:
            errors = {**errors, "run": str(exc)}
            context["errors"] = errors
    if result is None:
        return page(request, "queue.html", principal, status_code=422, q=None, options={}, inspectors=[],
                    **view_context(None), **context)
    await run_in_threadpool(record_view, engine, principal.context(form.purpose), object_kind="queue",
                            object_id=str(result.run["run_id"]) if result.run else None, route=request.url.path)
    options = await run_in_threadpool(filter_options, engine, result.run["run_id"]) if result.run else {}
    people = await run_in_threadpool(inspectors, engine) if can_assign else []
    return page(request, "queue.html", principal, status_code=assign_status if assign_error else 200, q=result,
                options=options,
                inspectors=people, **view_context(result.run), **context)


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, principal: QueueReader, engine: StoreDep) -> HTMLResponse:
    """The risk queue: a run's declarations (the latest, or one chosen from the earlier runs) ranked, with
    importer, office, HS code, origin, value, channel, fraud probability, priority, the reasons, why each was
    selected and who is assigned; filtered by channel, office, HS chapter, origin, rule or assignee, sorted by
    any column heading and paginated; exported as CSV or XLSX. Every view is written to the access log with
    its purpose. Query: run, page, size, sort, channel, office, chapter, origin, rule, assigned_to, purpose."""
    form, typed, errors = read_queue_form(request.query_params)
    return await _queue_view(request, principal, engine, form, typed, errors)


@router.get("/queue/export.{extension}", response_class=Response)
async def queue_export(request: Request, principal: QueueReader, engine: StoreDep,
                       extension: Annotated[str, FastPath(pattern="^(csv|xlsx)$", description="csv or xlsx")]
                       ) -> Response:
    """The current view of the queue (its run, filters and sort; every page, up to the export limit) as a
    CSV or Excel file, values in the queue's words and units. The export is written to the access log with
    its purpose. Takes the queue page's query."""
    form, typed, errors = read_queue_form(request.query_params)
    if errors:
        return await _queue_view(request, principal, engine, form, typed, errors)
    try:
        view = await run_in_threadpool(export_rows, engine, run_id=form.run, sort=form.sort,
                                       filters=resolve_me(form.filters(), principal))
    except QueueError as exc:
        return await _queue_view(request, principal, engine, form, typed, {"run": str(exc)})
    if view.run is None:
        raise HTTPException(404, "no run to export: no declarations have been scored yet")
    await run_in_threadpool(record_view, engine, principal.context(form.purpose), object_kind="queue",
                            object_id=str(view.run["run_id"]), route=request.url.path)
    if extension == "csv":
        body: bytes = export_csv(view).encode("utf-8-sig")  # the BOM makes spreadsheets read it as UTF-8
        media = "text/csv; charset=utf-8"
    else:
        body = await run_in_threadpool(export_xlsx, view)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{export_filename(view, extension)}"'})


@router.post("/queue/assign", response_class=HTMLResponse)
async def assign_form(request: Request, principal: QueueAssigner, engine: StoreDep) -> Response:
    """Assigns the ticked declarations of a run to an inspector (targeting officers and supervisors), then
    goes back to the queue with the same run, filters, sort and page. Re-assigning replaces the earlier
    inspector. When the assignment is refused, the queue is shown again with the ticks and the chosen
    inspector kept and the reason beside the inspector field. Form: run_id, inspector, declaration_id
    (repeated), and the queue's own fields."""
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k != "declaration_id"}
    ticked = [v for v in posted.getlist("declaration_id") if isinstance(v, str)]
    inspector = values.get("inspector", "")[:64]
    form, typed, errors = read_queue_form(values)
    run_id = int(values["run_id"]) if values.get("run_id", "").isdigit() else 0
    refused, status = None, 400
    if errors or not run_id or not ticked:
        # Not a request the queue can act on: nothing is assigned, and the page says what to correct.
        refused, status = ("tick at least one declaration to assign" if not ticked
                           else "the form lost its run: reload the queue"), 422
    else:
        try:
            done = await run_in_threadpool(assign, engine, principal.username, run_id, ticked, inspector)
        except QueueError as exc:
            refused = str(exc)
        else:
            return RedirectResponse(form.link(assigned=done), status_code=303)
    return await _queue_view(request, principal, engine, form, typed, errors, ticked=ticked, inspector=inspector,
                             assign_error=refused, assign_status=status)
