"""`cintel users` (accounts and API tokens of the web workspace) and `cintel serve` (the workspace).
Register with `register(app)`."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from sqlalchemy import Engine

from cintel.cli.common import TOKEN_ENV, Act, JsonOpt, UserError, acting_context, emit, out, read_secret_line, table
from cintel.cli.common import engine as open_engine
from cintel.domain.roles import Role

users_app = typer.Typer(help="Web workspace accounts (people and service accounts): add, list, disable, enable, "
                             "reset passwords, API tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create (shown once, issued by an authenticated owner or, for a service "
                             "account, administrator), list with issuers and last use, revoke.",
                        no_args_is_help=True)
users_app.add_typer(token_app, name="token")

UsernameArg = Annotated[str, typer.Argument(help="Username: 3-64 letters, digits, '.', '_' or '-'.")]
PasswordStdinOpt = Annotated[bool, typer.Option("--password-stdin",
                                                help="Read the password from the first line of stdin.")]


AsAdminOpt = Annotated[str | None, typer.Option(
    "--as", help="The administrator doing it, proved by their password (asked, or the first line of stdin with "
                 "--password-stdin); or set CINTEL_TOKEN to an administrator's token. Not needed while the store has "
                 "no enabled administrator (the first accounts of a new store).")]
ADMINISTRATION = Act(what="managing accounts", purpose="account administration",
                     roles=frozenset({Role.ADMINISTRATOR}))


def _administrator(engine: Engine, as_user: str | None, password_stdin: bool) -> str | None:
    """The authenticated administrator managing accounts, or None while no enabled administrator exists: then
    whoever holds the store sets it up (they could write its tables anyway), and creating the first
    administrator ends that."""
    from cintel.web.accounts import list_users

    if not any(Role.ADMINISTRATOR in u.roles and not u.disabled and not u.is_service for u in list_users(engine)):
        return None
    return acting_context(engine, ADMINISTRATION, as_user, password_stdin).user


def _password(from_stdin: bool) -> str:
    """The new password: from stdin for scripts, else prompted twice without echo."""
    if from_stdin:
        return read_secret_line()
    prompted: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return prompted


@users_app.command("add")
def add(
    username: UsernameArg,
    role: Annotated[list[str], typer.Option("--role", help=f"Role (repeatable): {', '.join(Role.codes())}.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the workspace (default: username).")] = None,
    service: Annotated[bool, typer.Option("--service", help="A service account: no password, so it cannot sign "
                                          "in; it acts only through API tokens an administrator issues.")] = False,
    password_stdin: PasswordStdinOpt = False,
    admin: AsAdminOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Creates a workspace account with its roles: a person, whose password is stored only as an argon2id hash,
    or (--service) a service account, which has none. Done by an authenticated administrator (--as), except for
    the first accounts of a store without one. With --password-stdin the administrator's password, when asked,
    is the first line and the new account's password the next."""
    from cintel.web.accounts import add_service_account, add_user, check_password, normalise_username, parse_roles

    normalise_username(username)
    parse_roles(role)
    engine = open_engine()
    by = _administrator(engine, admin, password_stdin)
    if service:
        if password_stdin and by is None:
            raise UserError("a service account has no password: leave out --password-stdin")
        user = add_service_account(engine, username, role, display_name, created_by=by)
    else:
        password = _password(password_stdin)
        check_password(password)
        user = add_user(engine, username, password, role, display_name, created_by=by)
    emit(as_json, user.to_dict(), lambda: out.print(
        f"added {'service account' if user.is_service else 'user'} {user.username} "
        f"({', '.join(sorted(r.value for r in user.roles))})", highlight=False))


@users_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Lists the accounts with their kind (person or service), roles and whether they are disabled."""
    from cintel.web.accounts import list_users

    rows = [u.to_dict() for u in list_users(open_engine())]
    emit(as_json, rows, lambda: table([{**r, "roles": ", ".join(r["roles"])} for r in rows],
                                      ["username", "display_name", "kind", "roles", "disabled", "created_at"],
                                      "users"))


@users_app.command("disable")
def disable(username: UsernameArg, admin: AsAdminOpt = None, password_stdin: PasswordStdinOpt = False,
            as_json: JsonOpt = False) -> None:
    """Disables an account: it can no longer sign in; its sessions end and its API tokens stop working. Done by
    an authenticated administrator (--as)."""
    from cintel.web.accounts import disable_user

    engine = open_engine()
    user = disable_user(engine, username, by=_administrator(engine, admin, password_stdin))
    emit(as_json, user.to_dict(), lambda: out.print(f"disabled user {user.username}", highlight=False))


@users_app.command("enable")
def enable(username: UsernameArg, admin: AsAdminOpt = None, password_stdin: PasswordStdinOpt = False,
           as_json: JsonOpt = False) -> None:
    """Enables a disabled account again: its password and its tokens that are not revoked work again. Done by
    an authenticated administrator (--as), except while the store has no enabled administrator."""
    from cintel.web.accounts import enable_user

    engine = open_engine()
    _administrator(engine, admin, password_stdin)
    user = enable_user(engine, username)
    emit(as_json, user.to_dict(), lambda: out.print(f"enabled user {user.username}", highlight=False))


@users_app.command("reset-password")
def reset(username: UsernameArg, password_stdin: PasswordStdinOpt = False, admin: AsAdminOpt = None,
          as_json: JsonOpt = False) -> None:
    """Sets a new password for a person's account and ends its open sessions (a service account has none).
    Done by an authenticated administrator (--as); with --password-stdin their password is the first line and
    the new password the next."""
    from cintel.web.accounts import get_user, reset_password

    engine = open_engine()
    account = get_user(engine, username)
    if account.is_service:  # refused before asking a password it could never take
        raise UserError(f"{account.username} is a service account: it has no password and cannot be given one")
    _administrator(engine, admin, password_stdin)
    user = reset_password(engine, username, _password(password_stdin))
    emit(as_json, user.to_dict(), lambda: out.print(f"password of {user.username} reset", highlight=False))


@token_app.command("create")
def token_create(
    username: UsernameArg,
    label: Annotated[str, typer.Option(help="What the token is for (kept with it).")],
    issuer: Annotated[str | None, typer.Option(
        "--as", help="Who issues it, authenticated by their password: the owner (default), or an administrator "
                     "for a service account.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the issuer's password from the first line of stdin.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Issues an API bearer token and prints it once (only its hash is kept), recording who issued it: the owner
    for themself, or an administrator for a service account, proved by their password (asked, or read with
    --password-stdin). Nobody issues a token for another person."""
    from cintel.web.accounts import create_api_token, get_user

    if os.environ.get(TOKEN_ENV, "").strip():
        raise UserError(f"issuing a token needs the issuer's password, and a token cannot issue tokens: unset "
                        f"{TOKEN_ENV}")
    engine = open_engine()
    if issuer is None and get_user(engine, username).is_service:
        raise UserError(f"{username.lower()} is a service account: an administrator issues its tokens (--as ADMIN)")
    act = Act(what="issuing an API token", purpose="API token issue")
    by = acting_context(engine, act, issuer or username, password_stdin).user
    issued = create_api_token(engine, username, label, issued_by=by)
    emit(as_json, issued.to_dict(), lambda: out.print(
        f"token {issued.token_id} for {issued.username}, issued by {issued.issued_by}: {issued.token}\n"
        "(shown once: store it now)", highlight=False))


@token_app.command("list")
def token_list(username: Annotated[str | None, typer.Argument(help="Only this account's tokens.")] = None,
               as_json: JsonOpt = False) -> None:
    """Lists API tokens (never the tokens themselves): whose, what for, who issued each and when, when it was
    last used, and whether and by whom it was revoked."""
    from cintel.web.accounts import list_api_tokens

    rows = [t.to_dict() for t in list_api_tokens(open_engine(), username)]
    emit(as_json, rows, lambda: table(
        [{**r, "issued_by": r["issued_by"] or "not recorded", "last_used_at": r["last_used_at"] or "never"}
         for r in rows],
        ["token_id", "username", "label", "issued_by", "created_at", "last_used_at", "revoked"], "API tokens"))


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (not the token).")],
                 user: Annotated[str | None, typer.Option(
                     "--as", help="Who revokes it, proved by their password (or CINTEL_TOKEN): its owner or an "
                                  "administrator.")] = None,
                 password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Revokes an API token: requests carrying it are refused from now on. Done by its owner or an
    administrator, authenticated."""
    from cintel.web.accounts import revoke_api_token

    engine = open_engine()
    by = acting_context(engine, Act(what="revoking an API token", purpose="API token revocation"), user,
                        password_stdin).user
    revoked = revoke_api_token(engine, token_id, by=by)
    emit(as_json, revoked.to_dict(), lambda: out.print(f"token {token_id} revoked", highlight=False))


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: CINTEL_WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: CINTEL_WEB_PORT).")] = None,
) -> None:
    """Runs the analyst web workspace (risk queue, API) on the configured store. Behind a TLS proxy, set
    CINTEL_WEB_TRUSTED_PROXIES to its address so sign-ins are counted per real client address."""
    import uvicorn

    from cintel.settings import get_settings

    settings = get_settings()
    open_engine()  # migrate (and fail with one line) before listening
    uvicorn.run("cintel.web.app:create_app", factory=True, host=host or settings.web_host,
                # The app believes forwarded addresses from web_trusted_proxies only (uvicorn's would trust 127.0.0.1).
                port=port or settings.web_port, proxy_headers=False, server_header=False)


def register(app: typer.Typer) -> None:
    """Adds `users` and `serve` to the main app."""
    app.add_typer(users_app, name="users")
    app.command("serve")(serve)
