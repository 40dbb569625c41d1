"""The risk queue: one run's declarations (the latest run, or an earlier one chosen), ranked, one page at a
time, sorted by an allow-listed column and filtered (channel, office, HS chapter, origin, rule, assignee);
the select options of those filters; the runs to choose from; every row of a view for an export; and bulk
assignment of queued declarations to inspectors. The queue page, its API and its exports call these.

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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, delete, exists, func, insert, select

from cintel.domain.codes import Channel
from cintel.domain.roles import Role
from cintel.errors import CintelError
from cintel.risk.reasons import why_selected
from cintel.store.case_tables import inspection_assignments
from cintel.store.risk_tables import risk_assessments, risk_runs
from cintel.store.tables import declaration_items, declarations
from cintel.store.web_tables import users

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
MAX_ASSIGN = 500
MAX_EXPORT = 10_000  # rows of one export: a day's queue many times over
RUNS_LISTED = 100  # earlier runs offered in the run choice, newest first
_assigned = inspection_assignments.alias("shown")  # the assignee shown on each row (the filter aliases its own)
# What the queue may be sorted by: a name in the URL -> a column, never a column name from the URL.
SORT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "rank": risk_assessments.c.rank,
    "declaration_id": risk_assessments.c.declaration_id,
    "importer": declarations.c.importer_name,
    "office": risk_assessments.c.office_code,
    "hs": risk_assessments.c.main_hs_code,
    "origin": risk_assessments.c.main_origin,
    "value": risk_assessments.c.customs_value,
    "channel": risk_assessments.c.channel,
    "probability": risk_assessments.c.probability,
    "priority": risk_assessments.c.priority,
    "expected_revenue": risk_assessments.c.expected_revenue,
    "rule_score": risk_assessments.c.rule_score,
    "why": risk_assessments.c.selection_reason,
}
SORT_PATTERN = "^-?(" + "|".join(SORT_COLUMNS) + ")$"
# Patterns of the filter values (the routes validate with them; an empty value is "all").
OFFICE_PATTERN = "^([A-Z0-9]{2,16})?$"
CHAPTER_PATTERN = "^([0-9]{2})?$"
ORIGIN_PATTERN = "^([A-Z]{2})?$"
RULE_PATTERN = "^([A-Za-z0-9_.-]{1,64})?$"
ASSIGNEE_PATTERN = "^(me|[a-z0-9._-]{3,64})?$"


class QueueError(CintelError):
    """A queue request the user can correct (an assignment refused, an unknown run), with why."""


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


_RUN_COLUMNS = (risk_runs.c.run_id, risk_runs.c.kind, risk_runs.c.run_date, risk_runs.c.created_at,
                risk_runs.c.created_by, risk_runs.c.model_id, risk_runs.c.revenue_model_id, risk_runs.c.parameters,
                risk_runs.c.summary)


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite gives it back naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run(row: Any) -> dict[str, Any]:
    run = dict(row)
    parameters = json.loads(run.pop("parameters") or "{}")
    run["summary"] = json.loads(run["summary"])
    run["run_date"] = run["run_date"].isoformat()
    run["created_at"] = as_utc(run["created_at"]).isoformat()
    # What the priority counts: expected revenue (risk x revenue) when a revenue model ranked the run by value.
    run["priority_by_value"] = bool(run["revenue_model_id"]) and parameters.get("rank_by", "value") == "value"
    return run


def latest_run(engine: Engine) -> dict[str, Any] | None:
    """The most recent scoring or selection run, with its summary decoded."""
    return get_run(engine, None)


def get_run(engine: Engine, run_id: int | None) -> dict[str, Any] | None:
    """Run ``run_id`` (the latest when None), with its summary decoded; None when there is no such run."""
    q = select(*_RUN_COLUMNS)
    q = q.where(risk_runs.c.run_id == run_id) if run_id is not None else q.order_by(risk_runs.c.run_id.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    return _run(row) if row is not None else None


def recent_runs(engine: Engine, limit: int = RUNS_LISTED) -> list[dict[str, Any]]:
    """The newest runs (id, kind, day, when and by whom), for choosing which run the queue shows."""
    with engine.connect() as conn:
        rows = conn.execute(select(*_RUN_COLUMNS).order_by(risk_runs.c.run_id.desc()).limit(limit)).mappings().all()
    return [_run(r) for r in rows]


def _contains(engine: Engine, column: Any, needle: str) -> ColumnElement[bool]:
    """``needle`` occurs in ``column``, case-sensitively and without LIKE wildcards (a rule id may hold '_')."""
    if engine.dialect.name == "postgresql":
        return func.strpos(column, needle) > 0
    return func.instr(column, needle) > 0


def filter_clauses(engine: Engine, run_id: int, filters: QueueFilters) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the queue for ``filters``: every value a bound parameter."""
    # The assignments are aliased: the page query also joins them (to show the assignee), and the EXISTS
    # probe must not correlate with that.
    a, i, asg = risk_assessments, declaration_items, inspection_assignments.alias("mine")
    where: list[ColumnElement[bool]] = [a.c.run_id == run_id]
    if filters.channel is not None:
        where.append(a.c.channel == filters.channel.value)
    if filters.office:
        where.append(a.c.office_code == filters.office)
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


def count(engine: Engine, run_id: int, filters: QueueFilters, where: Sequence[ColumnElement[bool]] | None = None
          ) -> int:
    """How many declarations of the run pass ``filters`` (cached per run and filters, see above)."""
    key = (run_id, *filters.to_dict().values())
    cacheable = filters.assigned_to is None
    if cacheable:
        with _LOCK:
            cached = _COUNTS.get(engine, OrderedDict()).get(key)
        if cached is not None:
            return cached
    where = where if where is not None else filter_clauses(engine, run_id, filters)
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
               filters: QueueFilters) -> Select[Any]:
    """The SELECT of one page (also what the benchmark times directly, without HTTP)."""
    a, d, asg = risk_assessments, declarations, _assigned
    column = SORT_COLUMNS[sort.removeprefix("-")]
    descending = sort.startswith("-")
    # Ties follow the rank, in the same direction, so that the run's index on (column, rank) gives the
    # order without a sort. NULLs are not placed explicitly: a run's probabilities (and expected revenues)
    # are all set or all null, since the run was scored with a model or without one.
    keys = [column] if column is a.c.rank or column is a.c.declaration_id else [column, a.c.rank]
    orders = [k.desc() if descending else k.asc() for k in keys]
    return (select(a.c.declaration_id, a.c.rank, a.c.channel, a.c.priority, a.c.probability, a.c.expected_revenue,
                   a.c.rule_score, a.c.rule_hits, a.c.selection_reason, a.c.selection_detail, a.c.reasons,
                   a.c.customs_value, a.c.main_hs_code, a.c.main_origin, a.c.office_code, d.c.declaration_date,
                   d.c.importer_name, d.c.importer_id, d.c.n_items, asg.c.inspector.label("assigned_to"))
            .select_from(a.outerjoin(asg, and_(asg.c.run_id == a.c.run_id, asg.c.declaration_id == a.c.declaration_id))
                         .outerjoin(d, d.c.declaration_id == a.c.declaration_id))
            .where(*filter_clauses(engine, run_id, filters))
            .order_by(*orders).limit(size).offset((page - 1) * size))


def _queue_row(row: Any) -> dict[str, Any]:
    r = dict(row)
    r["reasons"] = json.loads(r["reasons"])
    r["rule_ids"] = [hit[0] for hit in json.loads(r.pop("rule_hits"))]
    r["why"] = why_selected(r["selection_reason"], r["selection_detail"])
    if r["declaration_date"] is not None:
        r["declaration_date"] = r["declaration_date"].isoformat()
    return r


def queue_page(engine: Engine, *, run_id: int | None = None, page: int = 1, size: int = DEFAULT_PAGE_SIZE,
               sort: str = "rank", channel: Channel | None = None, filters: QueueFilters | None = None) -> QueuePage:
    """One page of a run's assessments (``run_id``, default the latest run); ``sort`` is a key of
    SORT_COLUMNS, '-' first for descending. An unknown ``run_id`` is a QueueError."""
    filters = filters or QueueFilters(channel=channel)
    run = get_run(engine, run_id)
    if run is None:
        if run_id is not None:
            raise QueueError(f"no run {run_id}")
        return QueuePage(run=None, page=page, size=size, sort=sort, filters=filters)
    where = filter_clauses(engine, run["run_id"], filters)
    total = count(engine, run["run_id"], filters, where)
    with engine.connect() as conn:
        rows = [_queue_row(r) for r in conn.execute(page_query(engine, run["run_id"], page=page, size=size, sort=sort,
                                                               filters=filters)).mappings()]
    return QueuePage(run=run, rows=rows, total=total, page=page, size=size, sort=sort, filters=filters)


def export_rows(engine: Engine, *, run_id: int | None = None, sort: str = "rank",
                filters: QueueFilters | None = None) -> QueuePage:
    """Every row of a view (its run, filters and sort), up to MAX_EXPORT: what an export writes. ``total``
    says how many the view holds, so a cut export can say so."""
    return queue_page(engine, run_id=run_id, page=1, size=MAX_EXPORT, sort=sort, filters=filters)


def filter_options(engine: Engine, run_id: int) -> dict[str, list[str]]:
    """The values the filters can take in a run: its declarations' offices, HS chapters and origins, and
    the rules its assessments hit. Computed once per run (a run never changes) and cached."""
    with _LOCK:
        cached = _OPTIONS.get(engine, {}).get(run_id)
    if cached is not None:
        return cached
    a, i = risk_assessments, declaration_items
    in_run = select(a.c.declaration_id).where(a.c.run_id == run_id)
    with engine.connect() as conn:
        offices = conn.execute(select(a.c.office_code).distinct().where(a.c.run_id == run_id)).scalars().all()
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
    if any(len(i) > 64 for i in ids):
        raise QueueError("a declaration id is at most 64 characters")
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
        at = datetime.now(UTC)
        conn.execute(insert(asg), [{"run_id": run_id, "declaration_id": i, "inspector": inspector,
                                    "assigned_by": actor, "assigned_at": at} for i in ids])
    return len(ids)
