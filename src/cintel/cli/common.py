"""What every command shares: consoles, JSON output, progress bars, the store, tables."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

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

from cintel.domain.records import RecordKind
from cintel.errors import CintelError
from cintel.windows import parse_day as parse_day
from cintel.windows import parse_window as parse_window

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


AsOpt = Annotated[str | None, typer.Option("--as", help="Who acts (default: the OS user).")]


