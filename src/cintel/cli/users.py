"""`cintel users` (accounts and API tokens of the web workspace) and `cintel serve` (the workspace).
Register with `register(app)`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cintel.cli.common import JsonOpt, UserError, emit, out, table
from cintel.cli.common import engine as open_engine
from cintel.domain.roles import Role

users_app = typer.Typer(help="Web workspace accounts: add, list, disable, reset passwords, API tokens.",
                        no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create (shown once) and revoke.", no_args_is_help=True)
users_app.add_typer(token_app, name="token")

UsernameArg = Annotated[str, typer.Argument(help="Username: 3-64 letters, digits, '.', '_' or '-'.")]
PasswordStdinOpt = Annotated[bool, typer.Option("--password-stdin",
                                                help="Read the password from the first line of stdin.")]


def _password(from_stdin: bool) -> str:
    """The new password: from stdin for scripts, else prompted twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise UserError("no password on stdin")
        return password
    prompted: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return prompted


@users_app.command("add")
def add(
    username: UsernameArg,
    role: Annotated[list[str], typer.Option("--role", help=f"Role (repeatable): {', '.join(Role.codes())}.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the workspace (default: username).")] = None,
    password_stdin: PasswordStdinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Creates a workspace account with its roles; the password is stored only as an argon2id hash."""
    from cintel.web.accounts import add_user, check_password, normalise_username, parse_roles

    normalise_username(username)
    parse_roles(role)
    password = _password(password_stdin)
    check_password(password)
    user = add_user(open_engine(), username, password, role, display_name)
    emit(as_json, user.to_dict(), lambda: out.print(
        f"added user {user.username} ({', '.join(sorted(r.value for r in user.roles))})", highlight=False))


@users_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Lists the accounts with their roles and whether they are disabled."""
    from cintel.web.accounts import list_users

    rows = [u.to_dict() for u in list_users(open_engine())]
    emit(as_json, rows, lambda: table([{**r, "roles": ", ".join(r["roles"])} for r in rows],
                                      ["username", "display_name", "roles", "disabled", "created_at"], "users"))


@users_app.command("disable")
def disable(username: UsernameArg, as_json: JsonOpt = False) -> None:
    """Disables an account: it can no longer sign in; its sessions end and its API tokens stop working."""
    from cintel.web.accounts import disable_user

    user = disable_user(open_engine(), username)
    emit(as_json, user.to_dict(), lambda: out.print(f"disabled user {user.username}", highlight=False))


@users_app.command("reset-password")
def reset(username: UsernameArg, password_stdin: PasswordStdinOpt = False, as_json: JsonOpt = False) -> None:
    """Sets a new password for an account and ends its open sessions."""
    from cintel.web.accounts import get_user, reset_password

    engine = open_engine()
    get_user(engine, username)
    user = reset_password(engine, username, _password(password_stdin))
    emit(as_json, user.to_dict(), lambda: out.print(f"password of {user.username} reset", highlight=False))


@token_app.command("create")
def token_create(
    username: UsernameArg,
    label: Annotated[str, typer.Option(help="What the token is for (kept with it).")],
    as_json: JsonOpt = False,
) -> None:
    """Issues an API bearer token for a user and prints it once; only its hash is kept."""
    from cintel.web.accounts import create_api_token

    issued = create_api_token(open_engine(), username, label)
    emit(as_json, issued.to_dict(), lambda: out.print(
        f"token {issued.token_id} for {issued.username}: {issued.token}\n(shown once: store it now)",
        highlight=False))


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (not the token).")],
                 as_json: JsonOpt = False) -> None:
    """Revokes an API token: requests carrying it are refused from now on."""
    from cintel.web.accounts import revoke_api_token

    revoke_api_token(open_engine(), token_id)
    emit(as_json, {"token_id": token_id, "revoked": True},
         lambda: out.print(f"token {token_id} revoked", highlight=False))


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: CINTEL_WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default: CINTEL_WEB_PORT).")] = None,
) -> None:
    """Runs the analyst web workspace (risk queue, API) on the configured store."""
    import uvicorn

    from cintel.settings import get_settings

    settings = get_settings()
    open_engine()  # migrate (and fail with one line) before listening
    uvicorn.run("cintel.web.app:create_app", factory=True, host=host or settings.web_host,
                port=port or settings.web_port, proxy_headers=False, server_header=False)


def register(app: typer.Typer) -> None:
    """Adds `users` and `serve` to the main app."""
    app.add_typer(users_app, name="users")
    app.command("serve")(serve)
