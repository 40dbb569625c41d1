"""The administrator's pages: the accounts (people and service accounts), their roles, and their API tokens
with who issued each and when.

An administrator creates people (with a first password) and service accounts (no password: they cannot
sign in), changes roles, disables and enables accounts, issues tokens for service accounts (a person
issues their own) and revokes any token. A form with a mistake comes back as typed, with the error
beside the field at fault.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from cintel.domain.roles import Role, UserKind
from cintel.web.accounts import (
    AccountError,
    IssuedToken,
    add_service_account,
    add_user,
    create_api_token,
    disable_user,
    enable_user,
    get_user,
    list_api_tokens,
    list_users,
    revoke_api_token,
    set_roles,
)
from cintel.web.render import page
from cintel.web.security import Principal, SettingsDep, StoreDep, require_roles

router = APIRouter(prefix="/admin", include_in_schema=False)
Administrator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
UsernamePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{3,64}$", description="The account's username")]
TokenIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$", description="The token's id")]
# Generous bounds: the service functions say what is wrong with a value, beside its field.
TextField = Annotated[str, Form(max_length=4096)]
RolesField = Annotated[list[str] | None, Form(alias="role", description="Role codes (repeated)")]

# What a redirect after a change says on the account's page (PRG: reloading it changes nothing again).
NOTICES = {"roles": "Roles saved.", "disabled": "Account disabled: its sessions ended and its tokens stopped "
           "working.", "enabled": "Account enabled.", "revoked": "Token revoked."}
NEW_ACCOUNT = {"kind": UserKind.PERSON.value, "username": "", "display_name": "", "roles": [], "password": ""}


def _errors(exc: AccountError) -> dict[str, str]:
    return {exc.field or "form": str(exc)}


def _users_page(request: Request, principal: Principal, engine: Engine, *, form: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    accounts = list_users(engine)
    live: dict[str, int] = {}
    for token in list_api_tokens(engine):
        if not token.revoked:
            live[token.username] = live.get(token.username, 0) + 1
    return page(request, "admin_users.html", principal, status_code=status_code, accounts=accounts, live=live,
                roles=list(Role), kinds=list(UserKind), form=form or NEW_ACCOUNT, errors=errors or {})


def _user_page(request: Request, principal: Principal, engine: Engine, username: str, *, status_code: int = 200,
               errors: dict[str, str] | None = None, roles: list[str] | None = None, label: str = "",
               issued: IssuedToken | None = None, notice: str | None = None) -> HTMLResponse:
    try:
        account = get_user(engine, username)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None
    return page(request, "admin_user.html", principal, status_code=status_code, account=account,
                tokens=list_api_tokens(engine, account.username), all_roles=list(Role),
                checked=set(roles) if roles is not None else {r.value for r in account.roles},
                errors=errors or {}, label=label, issued=issued, notice=notice)


@router.get("/users", response_class=HTMLResponse)
async def users_page(request: Request, principal: Administrator, engine: StoreDep) -> HTMLResponse:
    """Every account (people and service accounts) with its roles, state and live tokens, and the forms to
    create a person or a service account."""
    return await run_in_threadpool(_users_page, request, principal, engine)


@router.post("/users", response_class=HTMLResponse)
def create_account(request: Request, principal: Administrator, engine: StoreDep, settings: SettingsDep,
                   username: TextField, kind: Annotated[str, Form(max_length=16)] = UserKind.PERSON.value,
                   display_name: TextField = "", password: TextField = "", role: RolesField = None) -> Response:
    """Creates a person (with a first password, kept only as its hash) or a service account (no password, so
    no sign-in), recording who created it; then opens the account's page."""
    roles = role or []
    form = {"kind": kind, "username": username, "display_name": display_name, "roles": roles, "password": ""}
    try:
        if kind == UserKind.SERVICE.value:
            if password:
                raise AccountError("a service account has no password: leave it empty", field="password")
            made = add_service_account(engine, username, roles, display_name or None, created_by=principal.username)
        elif kind == UserKind.PERSON.value:
            made = add_user(engine, username, password, roles, display_name or None, settings=settings,
                            created_by=principal.username)
        else:
            raise AccountError(f"unknown kind of account '{kind[:20]}'", field="kind")
    except AccountError as exc:
        return _users_page(request, principal, engine, form=form, errors=_errors(exc), status_code=400)
    return RedirectResponse(f"/admin/users/{made.username}", status_code=303)


@router.get("/users/{username}", response_class=HTMLResponse)
async def user_page(request: Request, principal: Administrator, engine: StoreDep, username: UsernamePath,
                    done: Annotated[str | None, Query(pattern="^(" + "|".join(NOTICES) + ")$",
                                                      description="The change just made (shown as a notice)")]
                    = None) -> HTMLResponse:
    """One account: what it is, who created it, its roles (changeable), disabling or enabling it, and its
    API tokens with who issued each, when, and when it was last used (revocable); a service account's page
    issues tokens for it."""
    return await run_in_threadpool(_user_page, request, principal, engine, username, notice=NOTICES.get(done or ""))


def _done(username: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users/{username.lower()}?done={what}", status_code=303)


@router.post("/users/{username}/roles", response_class=HTMLResponse)
def change_roles(request: Request, principal: Administrator, engine: StoreDep, username: UsernamePath,
                 role: RolesField = None) -> Response:
    """Replaces the account's roles (effective at its next request); you cannot drop your own administrator
    role."""
    try:
        set_roles(engine, username, role or [], by=principal.username)
    except AccountError as exc:
        return _user_page(request, principal, engine, username, status_code=400, errors=_errors(exc),
                          roles=role or [])
    return _done(username, "roles")


@router.post("/users/{username}/disable", response_class=HTMLResponse)
def disable(request: Request, principal: Administrator, engine: StoreDep, username: UsernamePath) -> Response:
    """Disables the account: it cannot sign in, its sessions end and its tokens stop working."""
    try:
        disable_user(engine, username, by=principal.username)
    except AccountError as exc:
        return _user_page(request, principal, engine, username, status_code=400, errors={"state": str(exc)})
    return _done(username, "disabled")


@router.post("/users/{username}/enable", response_class=HTMLResponse)
def enable(principal: Administrator, engine: StoreDep, username: UsernamePath) -> Response:
    """Enables the account again (its password and unrevoked tokens work again)."""
    try:
        enable_user(engine, username)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None
    return _done(username, "enabled")


@router.post("/users/{username}/tokens", response_class=HTMLResponse)
def issue_token(request: Request, principal: Administrator, engine: StoreDep, username: UsernamePath,
                label: TextField = "") -> Response:
    """Issues an API token for a service account, issued by you; it is shown on this answer only. A person's
    tokens are issued by that person (`POST /api/v1/tokens` once signed in, or `cintel users token create`)."""
    try:
        issued = create_api_token(engine, username, label, issued_by=principal.username)
    except AccountError as exc:
        field = "label" if exc.field == "label" else "token"
        return _user_page(request, principal, engine, username, status_code=400, errors={field: str(exc)},
                          label=label)
    return _user_page(request, principal, engine, username, status_code=201, issued=issued)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke(principal: Administrator, engine: StoreDep, token_id: TokenIdPath) -> Response:
    """Revokes an API token (recording that you did); then goes back to its account's page."""
    try:
        revoked = revoke_api_token(engine, token_id, by=principal.username)
    except AccountError as exc:
        raise HTTPException(404, str(exc)) from None
    return _done(revoked.username, "revoked")
