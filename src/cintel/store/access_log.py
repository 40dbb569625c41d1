"""The access log: who viewed or exported what, when, from which route and for what stated purpose.

Every page, API route and export that shows stored declarations, entities, intelligence or cases writes
one row here on behalf of the access context it was given (cintel.governance will later gather the
policy and a tamper-evident log around this same call).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert

from cintel.domain.access import AccessContext
from cintel.store.web_tables import access_log

PURPOSE_LENGTH = 500
ROUTE_LENGTH = 256


def record_view(engine: Engine, ctx: AccessContext, *, object_kind: str, object_id: str | None, route: str,
                token_id: str | None = None) -> None:
    """Writes who viewed what, when, from which route and for what stated purpose (with the API token the
    request was made with, if any)."""
    values = {"username": ctx.user, "viewed_at": datetime.now(UTC), "object_kind": object_kind,
              "object_id": object_id, "purpose": ctx.purpose[:PURPOSE_LENGTH], "route": route[:ROUTE_LENGTH]}
    token = token_id if token_id is not None else ctx.token_id  # a token request's context carries its id
    if token is not None:
        values["token_id"] = token
    with engine.begin() as conn:
        conn.execute(insert(access_log).values(**values))
