"""What every command shares: consoles, JSON output, progress bars, the store, tables, and who acts."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine

from cintel.domain.access import AccessContext, local_operator
from cintel.domain.records import RecordKind
from cintel.domain.roles import Role, UserKind
from cintel.errors import CintelError
from cintel.windows import parse_day as parse_day
from cintel.windows import parse_window as parse_window

if TYPE_CHECKING:
    from cintel.web.accounts import User

out = Console()
# soft_wrap: an error is one line however narrow the terminal or log it lands in.
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("cintel")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


class UserError(CintelError):
    """A bad argument or state the user must fix."""


def emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    """Print payload as JSON on stdout, or call human to print it for people."""
    if as_json:
        sys.stdout.write(json.dumps(payload, default=str, indent=2) + "\n")
    else:
        human()


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def engine() -> Engine:
    from cintel.store.engine import open_store

    return open_store()


def record_kind(value: str | None) -> RecordKind | None:
    if value is None:
        return None
    try:
        return RecordKind(value)
    except ValueError:
        raise UserError(f"unknown record kind '{value}'; use one of {', '.join(k.value for k in RecordKind)}") from None


def table(rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    out_table = Table(title=title)
    for i, c in enumerate(columns):
        out_table.add_column(c, no_wrap=i == 0)
    for r in rows:
        out_table.add_row(*(str(r.get(c, "")) for c in columns))
    out.print(out_table)


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --- who acts -------------------------------------------------------------------------------------------------------

TOKEN_ENV = "CINTEL_TOKEN"  # noqa: S105 (the variable's name, not a secret)
# The "address" password sign-ins from the command line are recorded and throttled under.
CLI_ADDRESS = "cli"

AsOpt = Annotated[str | None, typer.Option(
    "--as", help=f"Act as this account, authenticated by its password (asked without echo, or read with "
                 f"--password-stdin) or by its API token in {TOKEN_ENV}.")]
PasswordStdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password of the --as account from the first line of stdin.")]


class NotAuthorised(UserError):
    """The acting person could not be authenticated, or may not do what the command does."""


@dataclass(frozen=True)
class Act:
    """What a command does on someone's behalf.

    A person's act (approving a rule, merging entities, ...) is done only by an authenticated account of a
    person holding one of ``roles``. Any other command (a read, a batch run) acts as the authenticated account
    when credentials are given, else as the local operator (the OS user, no role), as it always has.
    """

    what: str  # for refusals: "approving a rule"
    purpose: str  # the access context's purpose
    roles: frozenset[Role] = frozenset()  # one of them is needed (a person's act); empty: no role is checked
    person: bool = True


def read_secret_line() -> str:
    """The first line of stdin, without its line end: how scripts pass a password."""
    line = sys.stdin.readline()
    secret = line.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise UserError("no password on stdin")
    return secret


def _password(username: str, from_stdin: bool) -> str:
    if from_stdin:
        return read_secret_line()
    if not sys.stdin.isatty():
        raise NotAuthorised(f"no terminal to ask the password of {username}: pipe it with --password-stdin, or "
                            f"set {TOKEN_ENV} to an API token of the account")
    return getpass.getpass(f"password of {username}: ")


def _authenticate(engine: Engine, as_user: str | None, password_stdin: bool) -> User:
    """The account the credentials prove, as cintel.web.accounts.User."""
    from cintel.web.accounts import AccountError, user_for_token, verify_login

    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        if password_stdin:
            raise UserError(f"give {TOKEN_ENV} or --password-stdin, not both")
        user = user_for_token(engine, token)
        if user is None:
            raise NotAuthorised(f"{TOKEN_ENV} is not a live API token (unknown, revoked, or its account is "
                                "disabled)")
        if as_user is not None and as_user.strip().lower() != user.username:
            raise NotAuthorised(f"the API token in {TOKEN_ENV} is {user.username}'s, not {as_user[:64]}'s")
        return user
    if as_user is None:
        raise UserError("--password-stdin needs --as USER")
    name = as_user.strip()[:64]
    try:
        return verify_login(engine, name, _password(name, password_stdin), CLI_ADDRESS)
    except AccountError as exc:  # wrong password, unknown or disabled account, throttled
        raise NotAuthorised(f"cannot act as {name}: {exc}") from None


def acting_context(engine: Engine, act: Act, as_user: str | None, password_stdin: bool = False) -> AccessContext:
    """Who acts for a command: the account proved by the API token in CINTEL_TOKEN, or by the password of
    ``as_user`` (hidden prompt on a terminal, or stdin with ``password_stdin``), with its stored roles. Refuses
    (NotAuthorised) wrong credentials, a disabled account, a service account doing a person's act, and an
    account without one of the act's roles. Without credentials only an act that needs no person proceeds, as
    the local operator."""
    if not (as_user or password_stdin or os.environ.get(TOKEN_ENV, "").strip()):
        if act.person:
            raise NotAuthorised(f"{act.what} needs an authenticated person: set {TOKEN_ENV} to your API token, "
                                "or give --as USER to be asked your password")
        return local_operator(act.purpose)
    user = _authenticate(engine, as_user, password_stdin)
    if user.disabled:  # the account checks refuse these already; an act must never rest on that alone
        raise NotAuthorised(f"account {user.username} is disabled")
    if act.person and user.kind is UserKind.SERVICE:
        raise NotAuthorised(f"{user.username} is a service account: {act.what} needs a person")
    if act.roles and not user.roles & act.roles:
        held = ", ".join(sorted(user.roles)) or "none"
        raise NotAuthorised(f"{act.what} needs the role {' or '.join(sorted(act.roles))}; {user.username} "
                            f"has {held}")
    return AccessContext(user=user.username, purpose=act.purpose, roles=user.roles)
