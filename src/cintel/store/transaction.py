"""One helper for functions that take either an engine or a connection: with an engine they run in a
transaction of their own, with a connection they join the caller's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

Bind = Engine | Connection


@contextmanager
def transaction(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    else:
        yield bind
