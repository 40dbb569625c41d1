"""The workspace's HTML pages: sign in, sign out and the risk queue."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cintel.domain.codes import Channel
from cintel.domain.roles import QUEUE_READERS
from cintel.web.accounts import LoginFailed, LoginThrottled, verify_login
from cintel.web.queue import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SORT_COLUMNS, SORT_PATTERN, queue_page, record_view
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
    sets the session cookie and goes to the risk queue."""
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
    response = RedirectResponse("/", status_code=303)
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
# A form's "all" option sends an empty value: accepted here as no filter.
ChannelQuery = Annotated[str | None, Query(pattern="^(" + "|".join(Channel.codes()) + ")?$",
                                           description="Only this channel (empty: all)")]
PurposeQuery = Annotated[str, Query(min_length=3, max_length=200, description="Why you are looking (logged)")]


@router.get("/", response_class=HTMLResponse)
async def queue(request: Request, principal: QueueReader, engine: StoreDep, page_no: Annotated[
        int, Query(alias="page", ge=1, le=1_000_000)] = 1, size: SizeQuery = DEFAULT_PAGE_SIZE,
        sort: SortQuery = "rank", channel: ChannelQuery = None, purpose: PurposeQuery = DEFAULT_PURPOSE,
        ) -> HTMLResponse:
    """The risk queue: the latest run's declarations ranked, with channel, probability, priority, the
    reasons and why each was selected; every view is written to the access log with its purpose."""
    chosen = Channel(channel) if channel else None
    result = await run_in_threadpool(queue_page, engine, page=page_no, size=size, sort=sort, channel=chosen)
    await run_in_threadpool(record_view, engine, principal.context(purpose), object_kind="queue",
                            object_id=str(result.run["run_id"]) if result.run else None, route=request.url.path)

    def page_url(number: int) -> str:
        params = {"page": number, "size": size, "sort": sort, "purpose": purpose,
                  **({"channel": channel} if channel else {})}
        return "/?" + urlencode(params)

    return page(request, "queue.html", principal, q=result, channels=list(Channel), sort_columns=list(SORT_COLUMNS),
                purpose=purpose, page_url=page_url)
