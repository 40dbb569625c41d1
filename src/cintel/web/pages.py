"""The workspace's HTML pages: sign in, sign out, the risk queue and its bulk assignment to inspectors."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cintel.domain.codes import Channel
from cintel.domain.roles import QUEUE_READERS, Role
from cintel.web.accounts import LoginFailed, LoginThrottled, verify_login
from cintel.web.queue import (
    ASSIGNEE_PATTERN,
    CHAPTER_PATTERN,
    DEFAULT_PAGE_SIZE,
    MAX_ASSIGN,
    MAX_PAGE_SIZE,
    OFFICE_PATTERN,
    ORIGIN_PATTERN,
    RULE_PATTERN,
    SELECTION_REASONS,
    SORT_COLUMNS,
    SORT_PATTERN,
    QueueError,
    QueueFilters,
    assign,
    filter_options,
    inspectors,
    queue_page,
    record_view,
)
from cintel.web.render import page
from cintel.web.security import (
    SESSION_COOKIE,
    CurrentUser,
    Principal,
    SettingsDep,
    StoreDep,
    clear_session_cookie,
    create_session,
    end_session,
    require_roles,
    set_session_cookie,
)

router = APIRouter()
QueueReader = Annotated[Principal, Depends(require_roles(*QUEUE_READERS))]
# Who may hand queued declarations to inspectors: the officers who work the queue and their supervisors.
ASSIGNERS = (Role.TARGETING_OFFICER, Role.SUPERVISOR)
QueueAssigner = Annotated[Principal, Depends(require_roles(*ASSIGNERS))]
DEFAULT_PURPOSE = "risk queue review"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return page(request, "login.html", None, error=None, username="")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, engine: StoreDep, settings: SettingsDep,
          username: Annotated[str, Form(max_length=200)], password: Annotated[str, Form(max_length=1024)]) -> Response:
    """Checks the username and password (throttled after repeated failures); on success opens a session,
    sets the session cookie and goes to the dashboard (administrators, who may not read it, to the API)."""
    try:
        user = verify_login(engine, username, password, client_address(request), settings=settings)
    except LoginThrottled as exc:
        return page(request, "login.html", None, status_code=429, error=str(exc), username=username)
    except LoginFailed as exc:
        return page(request, "login.html", None, status_code=401, error=str(exc), username=username)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_session(engine, old)
    token = create_session(engine, user.username, settings)
    landing = "/" if user.roles & QUEUE_READERS else "/api/docs"
    response = RedirectResponse(landing, status_code=303)
    set_session_cookie(response, token, settings)
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
PageQuery = Annotated[int, Query(alias="page", ge=1, le=1_000_000, description="Page number, from 1")]
# A form's "all" option sends an empty value: accepted here as no filter.
ChannelQuery = Annotated[str | None, Query(pattern="^(" + "|".join(Channel.codes()) + ")?$",
                                           description="Only this channel (empty: all)")]
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


def queue_url(*, page_no: int = 1, size: int = DEFAULT_PAGE_SIZE, sort: str = "rank", purpose: str | None = None,
              filters: dict[str, str | None] | None = None) -> str:
    """A link to the queue with these settings (empty filters left out)."""
    params: dict[str, str | int] = {"page": page_no, "size": size, "sort": sort}
    params.update({k: v for k, v in (filters or {}).items() if v})
    if purpose:
        params["purpose"] = purpose
    return "/queue?" + urlencode(params)


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, principal: QueueReader, engine: StoreDep, filters: FiltersDep,
                page_no: PageQuery = 1, size: SizeQuery = DEFAULT_PAGE_SIZE, sort: SortQuery = "rank",
                purpose: PurposeQuery = DEFAULT_PURPOSE, assigned: Annotated[int | None, Query(
                    ge=0, le=MAX_ASSIGN, description="How many were just assigned (shown as a notice)")] = None,
                ) -> HTMLResponse:
    """The risk queue: the latest run's declarations ranked, with channel, probability, priority, the
    reasons, why each was selected and who is assigned; filtered by channel, office, HS chapter, origin,
    rule or assignee, sorted and paginated. Every view is written to the access log with its purpose."""
    shown = filters.to_dict()  # as the user typed them ("me" stays "me" in links)
    resolved = resolve_me(filters, principal)
    result = await run_in_threadpool(queue_page, engine, page=page_no, size=size, sort=sort, filters=resolved)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="queue",
                            object_id=str(result.run["run_id"]) if result.run else None, route=request.url.path)
    options = await run_in_threadpool(filter_options, engine, result.run["run_id"]) if result.run else {}
    can_assign = bool(principal.user.roles & set(ASSIGNERS))
    people = await run_in_threadpool(inspectors, engine) if can_assign else []

    def page_url(number: int) -> str:
        return queue_url(page_no=number, size=size, sort=sort, purpose=purpose, filters=shown)

    return page(request, "queue.html", principal, q=result, channels=list(Channel), sort_columns=list(SORT_COLUMNS),
                purpose=purpose, page_url=page_url, filters=shown, options=options, can_assign=can_assign,
                inspectors=people, is_inspector=Role.INSPECTOR in principal.user.roles, assigned=assigned,
                reasons=SELECTION_REASONS, max_assign=MAX_ASSIGN)


@router.post("/queue/assign")
def assign_form(principal: QueueAssigner, engine: StoreDep,
                run_id: Annotated[int, Form(ge=1, description="The run the declarations are queued in")],
                inspector: Annotated[str, Form(min_length=1, max_length=64, description="Inspector's username")],
                declaration_id: Annotated[list[str], Form(description="Declarations to assign (repeated)")],
                sort: Annotated[str, Form(pattern=SORT_PATTERN)] = "rank",
                size: Annotated[int, Form(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
                page_no: Annotated[int, Form(alias="page", ge=1, le=1_000_000)] = 1,
                channel: Annotated[str, Form(pattern="^(" + "|".join(Channel.codes()) + ")?$")] = "",
                office: Annotated[str, Form(pattern=OFFICE_PATTERN)] = "",
                chapter: Annotated[str, Form(pattern=CHAPTER_PATTERN)] = "",
                origin: Annotated[str, Form(pattern=ORIGIN_PATTERN)] = "",
                rule: Annotated[str, Form(pattern=RULE_PATTERN)] = "",
                assigned_to: Annotated[str, Form(pattern=ASSIGNEE_PATTERN)] = "") -> Response:
    """Assigns the ticked declarations of a run to an inspector (targeting officers and supervisors), then
    goes back to the queue with the same filters. Re-assigning replaces the earlier inspector."""
    if any(len(d) > 64 for d in declaration_id):
        raise QueueError("a declaration id is at most 64 characters")
    done = assign(engine, principal.username, run_id, declaration_id, inspector)
    back = queue_url(page_no=page_no, size=size, sort=sort, filters={
        "channel": channel, "office": office, "chapter": chapter, "origin": origin, "rule": rule,
        "assigned_to": assigned_to, "assigned": str(done)})
    return RedirectResponse(back, status_code=303)
