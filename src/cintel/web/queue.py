"""The risk queue as the workspace shows it: the latest scored run's declarations, ranked, one page at a
time, sorted by an allow-listed column and filtered (channel, office, HS chapter, origin, rule, assignee);
the select options of those filters; bulk assignment to inspectors; and the access log every view writes.

Every filter is a bound parameter in SQL: nothing from the URL is ever pasted into a statement. Item-level
filters (HS chapter, origin) are EXISTS subqueries probing the items' primary key, so a declaration with
many matching items is still one queue row and the count stays a count of declarations.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, exists, func, insert, select

from cintel.domain.access import AccessContext
from cintel.domain.codes import Channel
from cintel.domain.roles import Role
from cintel.errors import CintelError
from cintel.store.case_tables import inspection_assignments
from cintel.store.risk_tables import risk_assessments, risk_runs
from cintel.store.tables import declaration_items, declarations
from cintel.store.web_tables import access_log, users
from cintel.web.accounts import now

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
MAX_ASSIGN = 500
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
# Patterns of the filter values (the routes validate with them; an empty value is "all").
OFFICE_PATTERN = "^([A-Z0-9]{2,16})?$"
CHAPTER_PATTERN = "^([0-9]{2})?$"
ORIGIN_PATTERN = "^([A-Z]{2})?$"
RULE_PATTERN = "^([A-Za-z0-9_.-]{1,64})?$"
ASSIGNEE_PATTERN = "^(me|[a-z0-9._-]{3,64})?$"
# What each selection_reason code means to an officer: the model's pick is stored as "score".
SELECTION_REASONS = {"rule": "rule", "score": "model", "random": "random", "exploration": "exploration",
                     "none": "not selected"}


class QueueError(CintelError):
    """A queue request the user can correct (an assignment refused, with why)."""


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; None means all. ``assigned_to`` is a username (the route turns "me"
    into the signed-in user's)."""

    channel: Channel | None = None
    office: str | None = None
    chapter: str | None = None
    origin: str | None = None
    rule: str | None = None
    assigned_to: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        values = asdict(self)
        values["channel"] = self.channel.value if self.channel else None
        return values


@dataclass(frozen=True)
class QueuePage:
    run: dict[str, Any] | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    sort: str = "rank"
    filters: QueueFilters = field(default_factory=QueueFilters)

    @property
    def channel(self) -> Channel | None:
        return self.filters.channel

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "items": self.rows, "total": self.total, "page": self.page, "size": self.size,
                "pages": self.pages, "sort": self.sort, "channel": self.channel.value if self.channel else None,
                "filters": self.filters.to_dict()}


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


def _contains(engine: Engine, column: Any, needle: str) -> ColumnElement[bool]:
    """``needle`` occurs in ``column``, case-sensitively and without LIKE wildcards (a rule id may hold '_')."""
    if engine.dialect.name == "postgresql":
        return func.strpos(column, needle) > 0
    return func.instr(column, needle) > 0


def filter_clauses(engine: Engine, run_id: int, filters: QueueFilters) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the queue for ``filters``: every value a bound parameter."""
    # The assignments are aliased: the page query also joins them (to show the assignee).
    a, d, i, asg = risk_assessments, declarations, declaration_items, inspection_assignments.alias("mine")
    where: list[ColumnElement[bool]] = [a.c.run_id == run_id]
    if filters.channel is not None:
        where.append(a.c.channel == filters.channel.value)
    if filters.office:
        where.append(exists().where(d.c.declaration_id == a.c.declaration_id, d.c.office_code == filters.office))
    if filters.chapter:
        # A range on hs_code (not substr) so the probe stays inside the items' covering index.
        chapter = [i.c.hs_code >= filters.chapter]
        if filters.chapter != "99":
            chapter.append(i.c.hs_code < f"{int(filters.chapter) + 1:02d}")
        where.append(exists().where(i.c.declaration_id == a.c.declaration_id, *chapter))
    if filters.origin:
        where.append(exists().where(i.c.declaration_id == a.c.declaration_id,
                                    i.c.country_of_origin == filters.origin))
    if filters.rule:
        # rule_hits is the JSON text '[["R03", 2], ...]': a rule id is matched whole with its quotes.
        where.append(_contains(engine, a.c.rule_hits, "[" + json.dumps(filters.rule) + ","))
    if filters.assigned_to:
        where.append(exists().where(asg.c.run_id == a.c.run_id, asg.c.declaration_id == a.c.declaration_id,
                                    asg.c.inspector == filters.assigned_to))
    return where


# A run's assessments never change once written, so the count of a filter combination is cached per run
# (the assignee filter changes with every assignment and is never cached). Keyed by engine so that two
# stores in one process never share numbers.
_COUNTS: weakref.WeakKeyDictionary[Engine, OrderedDict[tuple[Any, ...], int]] = weakref.WeakKeyDictionary()
_OPTIONS: weakref.WeakKeyDictionary[Engine, dict[int, dict[str, list[str]]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_COUNT_CACHE_SIZE = 512


def _count(engine: Engine, run_id: int, filters: QueueFilters, where: Sequence[ColumnElement[bool]]) -> int:
    key = (run_id, *filters.to_dict().values())
    cacheable = filters.assigned_to is None
    if cacheable:
        with _LOCK:
            cached = _COUNTS.get(engine, OrderedDict()).get(key)
        if cached is not None:
            return cached
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(risk_assessments).where(*where)).scalar_one())
    if cacheable:
        with _LOCK:
            counts = _COUNTS.setdefault(engine, OrderedDict())
            counts[key] = total
            while len(counts) > _COUNT_CACHE_SIZE:
                counts.popitem(last=False)
    return total


def page_query(engine: Engine, run_id: int, *, page: int, size: int, sort: str,
               filters: QueueFilters) -> Any:
    """The SELECT of one page (also what the benchmark times directly, without HTTP)."""
    a, asg = risk_assessments, inspection_assignments
    column = SORT_COLUMNS[sort.removeprefix("-")]
    descending = sort.startswith("-")
    # Ties follow the rank, in the same direction, so that the run's index on (column, rank) gives the
    # order without a sort. NULLs are not placed explicitly: a run's probabilities (and expected revenues)
    # are all set or all null, since the run was scored with a model or without one.
    keys = [column] if column is a.c.rank or column is a.c.declaration_id else [column, a.c.rank]
    orders = [k.desc() if descending else k.asc() for k in keys]
    return (select(a.c.declaration_id, a.c.rank, a.c.channel, a.c.priority, a.c.probability, a.c.expected_revenue,
                   a.c.rule_score, a.c.rule_hits, a.c.selection_reason, a.c.selection_detail, a.c.reasons,
                   asg.c.inspector.label("assigned_to"))
            .select_from(a.outerjoin(asg, and_(asg.c.run_id == a.c.run_id,
                                               asg.c.declaration_id == a.c.declaration_id)))
            .where(*filter_clauses(engine, run_id, filters))
            .order_by(*orders).limit(size).offset((page - 1) * size))


def queue_page(engine: Engine, *, page: int = 1, size: int = DEFAULT_PAGE_SIZE, sort: str = "rank",
               channel: Channel | None = None, filters: QueueFilters | None = None) -> QueuePage:
    """One page of the latest run's assessments; ``sort`` is a key of SORT_COLUMNS, '-' first for descending."""
    filters = filters or QueueFilters(channel=channel)
    run = latest_run(engine)
    if run is None:
        return QueuePage(run=None, page=page, size=size, sort=sort, filters=filters)
    where = filter_clauses(engine, run["run_id"], filters)
    total = _count(engine, run["run_id"], filters, where)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(page_query(engine, run["run_id"], page=page, size=size, sort=sort,
                                                         filters=filters)).mappings()]
    for r in rows:
        r["reasons"] = json.loads(r["reasons"])
        r["rule_ids"] = [hit[0] for hit in json.loads(r.pop("rule_hits"))]
        r["why"] = SELECTION_REASONS.get(r["selection_reason"], r["selection_reason"])
    return QueuePage(run=run, rows=rows, total=total, page=page, size=size, sort=sort, filters=filters)


def filter_options(engine: Engine, run_id: int) -> dict[str, list[str]]:
    """The values the filters can take in a run: its declarations' offices, HS chapters and origins, and
    the rules its assessments hit. Computed once per run (a run never changes) and cached."""
    with _LOCK:
        cached = _OPTIONS.get(engine, {}).get(run_id)
    if cached is not None:
        return cached
    a, d, i = risk_assessments, declarations, declaration_items
    in_run = select(a.c.declaration_id).where(a.c.run_id == run_id)
    with engine.connect() as conn:
        offices = conn.execute(select(d.c.office_code).distinct()
                               .where(d.c.declaration_id.in_(in_run))).scalars().all()
        chapters = conn.execute(select(func.substr(i.c.hs_code, 1, 2)).distinct()
                                .where(i.c.declaration_id.in_(in_run))).scalars().all()
        origins = conn.execute(select(i.c.country_of_origin).distinct()
                               .where(i.c.declaration_id.in_(in_run))).scalars().all()
        # Few distinct combinations of hits exist in a run: decode those, not every assessment.
        hit_lists = conn.execute(select(a.c.rule_hits).distinct().where(a.c.run_id == run_id)).scalars().all()
    rules = {hit[0] for text in hit_lists for hit in json.loads(text)}
    options = {"offices": sorted(o for o in offices if o), "chapters": sorted(c for c in chapters if c),
               "origins": sorted(o for o in origins if o), "rules": sorted(rules)}
    with _LOCK:
        _OPTIONS.setdefault(engine, {})[run_id] = options
    return options


def inspectors(engine: Engine) -> list[dict[str, str]]:
    """Enabled users holding the inspector role (username, display name), for the assignment select."""
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.username, users.c.display_name, users.c.roles)
                            .where(users.c.disabled.is_(False)).order_by(users.c.username)).all()
    return [{"username": r.username, "display_name": r.display_name} for r in rows
            if Role.INSPECTOR.value in json.loads(r.roles)]


def assign(engine: Engine, actor: str, run_id: int, declaration_ids: Sequence[str], inspector: str) -> int:
    """Assigns declarations of a run to an inspector (re-assigning replaces); who and when are recorded in
    the row. Refuses an unknown run, declarations not in it, an unknown or non-inspector user and more than
    MAX_ASSIGN at once. Returns how many were assigned."""
    ids = list(dict.fromkeys(declaration_ids))
    if not ids:
        raise QueueError("select at least one declaration to assign")
    if len(ids) > MAX_ASSIGN:
        raise QueueError(f"at most {MAX_ASSIGN} declarations can be assigned at once, got {len(ids)}")
    if inspector not in {u["username"] for u in inspectors(engine)}:
        raise QueueError(f"'{inspector[:64]}' is not an enabled user with the inspector role")
    a, asg = risk_assessments, inspection_assignments
    with engine.begin() as conn:
        if conn.execute(select(risk_runs.c.run_id).where(risk_runs.c.run_id == run_id)).first() is None:
            raise QueueError(f"no run {run_id}")
        found = set(conn.execute(select(a.c.declaration_id).where(a.c.run_id == run_id,
                                                                  a.c.declaration_id.in_(ids))).scalars())
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(m[:64] for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise QueueError(f"{len(missing)} declaration(s) are not in run {run_id}: {shown}")
        conn.execute(delete(asg).where(asg.c.run_id == run_id, asg.c.declaration_id.in_(ids)))
        at = now()
        conn.execute(insert(asg), [{"run_id": run_id, "declaration_id": i, "inspector": inspector,
                                    "assigned_by": actor, "assigned_at": at} for i in ids])
    return len(ids)


def record_view(engine: Engine, ctx: AccessContext, *, object_kind: str, object_id: str | None, route: str) -> None:
    """Writes who viewed what, when, from which route and for what stated purpose."""
    with engine.begin() as conn:
        conn.execute(insert(access_log).values(username=ctx.user, viewed_at=now(), object_kind=object_kind,
                                               object_id=object_id, purpose=ctx.purpose[:500], route=route[:256]))
