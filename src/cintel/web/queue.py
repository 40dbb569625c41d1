"""The risk queue as the workspace shows it: the latest scored run's declarations, ranked, one page at a
time, sorted by an allow-listed column and filtered by channel; and the access log every view writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, insert, select

from cintel.domain.access import AccessContext
from cintel.domain.codes import Channel
from cintel.store.risk_tables import risk_assessments, risk_runs
from cintel.store.web_tables import access_log
from cintel.web.accounts import now

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# What the queue may be sorted by: a name in the URL -> a column, never a column name from the URL.
SORT_COLUMNS = {
    "rank": risk_assessments.c.rank,
    "priority": risk_assessments.c.priority,
    "probability": risk_assessments.c.probability,
    "expected_revenue": risk_assessments.c.expected_revenue,
    "rule_score": risk_assessments.c.rule_score,
    "channel": risk_assessments.c.channel,
    "declaration_id": risk_assessments.c.declaration_id,
}
SORT_PATTERN = "^-?(" + "|".join(SORT_COLUMNS) + ")$"


@dataclass(frozen=True)
class QueuePage:
    run: dict[str, Any] | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    sort: str = "rank"
    channel: Channel | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "items": self.rows, "total": self.total, "page": self.page, "size": self.size,
                "pages": self.pages, "sort": self.sort, "channel": self.channel.value if self.channel else None}


def latest_run(engine: Engine) -> dict[str, Any] | None:
    """The most recent scoring or selection run, with its summary decoded."""
    with engine.connect() as conn:
        row = conn.execute(select(risk_runs.c.run_id, risk_runs.c.kind, risk_runs.c.run_date, risk_runs.c.created_at,
                                  risk_runs.c.created_by, risk_runs.c.model_id, risk_runs.c.summary)
                           .order_by(risk_runs.c.run_id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    run = dict(row)
    run["summary"] = json.loads(run["summary"])
    run["run_date"] = run["run_date"].isoformat()
    run["created_at"] = run["created_at"].isoformat()
    return run


def queue_page(engine: Engine, *, page: int = 1, size: int = DEFAULT_PAGE_SIZE, sort: str = "rank",
               channel: Channel | None = None) -> QueuePage:
    """One page of the latest run's assessments; ``sort`` is a key of SORT_COLUMNS, '-' first for descending."""
    run = latest_run(engine)
    if run is None:
        return QueuePage(run=None, page=page, size=size, sort=sort, channel=channel)
    a = risk_assessments
    where = [a.c.run_id == run["run_id"]]
    if channel is not None:
        where.append(a.c.channel == channel.value)
    column = SORT_COLUMNS[sort.removeprefix("-")]
    order = column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last()
    q = (select(a.c.declaration_id, a.c.rank, a.c.channel, a.c.priority, a.c.probability, a.c.expected_revenue,
                a.c.rule_score, a.c.rule_hits, a.c.selection_reason, a.c.selection_detail, a.c.reasons)
         .where(*where).order_by(order, a.c.rank).limit(size).offset((page - 1) * size))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(a).where(*where)).scalar_one()
        rows = [dict(r) for r in conn.execute(q).mappings()]
    for r in rows:
        r["reasons"] = json.loads(r["reasons"])
        r["rule_ids"] = [hit[0] for hit in json.loads(r.pop("rule_hits"))]
    return QueuePage(run=run, rows=rows, total=int(total), page=page, size=size, sort=sort, channel=channel)


def record_view(engine: Engine, ctx: AccessContext, *, object_kind: str, object_id: str | None, route: str) -> None:
    """Writes who viewed what, when, from which route and for what stated purpose."""
    with engine.begin() as conn:
        conn.execute(insert(access_log).values(username=ctx.user, viewed_at=now(), object_kind=object_kind,
                                               object_id=object_id, purpose=ctx.purpose[:500], route=route[:256]))
