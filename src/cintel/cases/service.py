"""Cases on the store: open one from a declaration, entity, ring or container; add evidence and notes;
assign it; move it from lead to closed with an outcome; reopen it; list and read them.

Every function takes the engine and the ``AccessContext`` of the person acting, and applies the case
policy (``cintel.cases.policy``) itself, so the pages, the API and the command line cannot drift apart:

- analysts, targeting officers and supervisors (``CASE_WORKERS``) open, read, assign, add evidence and
  change the status of any case;
- inspectors read only the cases assigned to them, and may add notes to those; a case someone may not
  read is answered as one that does not exist (``CaseNotFound``), so case ids cannot be probed;
- closing follows one rule, ``closing_refusal``: a supervisor closes any case, its assignee closes it
  only when someone else gave it to them (assigning a case to oneself gives the work, not the decision);
  and closing needs an outcome (``CLOSING_OUTCOMES``);
- a closed case is read-only: notes, evidence, assignment and status changes are refused (``CaseClosed``)
  until a supervisor reopens it with a reason (``reopen``, recorded as a ``reopened`` event).

Status moves along ``TRANSITIONS``: lead -> open (or closed, a lead dismissed), open -> inspection or
closed, inspection -> open or closed. Every change is written only if the case is still as its checks
saw it (the check and the write are one statement), so neither the order of calls nor two people acting
at once get round a rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, insert, select, update

from cintel.cases.policy import (
    CASE_ROLES,
    CLOSING_OUTCOMES,
    REASON_MIN,
    TRANSITIONS,
    CaseError,
    CaseForbidden,
    CaseNotFound,
    closing_refusal,
    is_worker,
    require_changeable,
    require_reader,
    require_view,
    require_worker,
)
from cintel.domain.access import AccessContext
from cintel.domain.codes import CaseEventKind, CaseItemKind, CaseStatus
from cintel.domain.roles import Role
from cintel.store.case_tables import case_events, case_items, cases
from cintel.store.entity_tables import entities
from cintel.store.tables import declaration_containers, declarations
from cintel.store.web_tables import users

TITLE_MIN, TITLE_MAX = 3, 200
TEXT_MAX = 10_000  # a summary, a note or the reason an item is evidence
REF_MAX = 512  # the column's width
PAGE_SIZE, MAX_PAGE_SIZE = 25, 200
RING_MIN_MEMBERS = 2

EVIDENCE_KINDS = (CaseItemKind.DECLARATION, CaseItemKind.ENTITY, CaseItemKind.RING, CaseItemKind.CONTAINER)
CONTAINER = re.compile(r"[A-Z]{4}\d{7}")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    """A stored timestamp as ISO 8601 UTC (SQLite hands them back naive)."""
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()


@dataclass(frozen=True)
class CaseDetail:
    """A case with its evidence and notes (``items``, oldest first) and its history (``events``)."""

    case: dict[str, Any]
    items: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def evidence(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["kind"] != CaseItemKind.NOTE.value]

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["kind"] == CaseItemKind.NOTE.value]

    def refs(self, kind: CaseItemKind) -> list[str]:
        """The distinct refs of one kind of evidence, in the order added (a ring gives its members)."""
        out: list[str] = []
        for item in self.evidence:
            if item["kind"] == kind.value:
                out.extend(r for r in item["ref"].split(",") if r)
        return list(dict.fromkeys(out))

    def to_dict(self) -> dict[str, Any]:
        return {**self.case, "items": self.items, "events": self.events}


@dataclass(frozen=True)
class CaseList:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    size: int = PAGE_SIZE
    status: CaseStatus | None = None
    assignee: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.rows, "total": self.total, "page": self.page, "size": self.size, "pages": self.pages,
                "status": self.status.value if self.status else None, "assignee": self.assignee}


# ---- validation -------------------------------------------------------------------------------------------------

def _text(value: str | None, what: str, field: str, *, minimum: int = 0, maximum: int = TEXT_MAX) -> str:
    cleaned = (value or "").strip()
    if len(cleaned) < minimum:
        raise CaseError(f"{what} is needed: at least {minimum} characters" if minimum else f"{what} is needed",
                        field)
    if len(cleaned) > maximum:
        raise CaseError(f"{what} is too long: at most {maximum} characters, got {len(cleaned)}", field)
    return cleaned


def _kind(value: str, field: str) -> CaseItemKind:
    try:
        return CaseItemKind(value)
    except ValueError:
        raise CaseError(f"unknown evidence kind '{value[:40]}': use one of "
                        f"{', '.join(k.value for k in EVIDENCE_KINDS)}", field) from None


def _exists(engine: Engine, column: Any, values: list[str]) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(column).where(column.in_(values)).distinct()).scalars())


def check_ref(engine: Engine, kind: CaseItemKind, ref: str, field: str = "ref") -> str:
    """The reference in its stored form, once the store is known to hold what it names; ``CaseError`` saying
    what is missing otherwise (about ``field``, the input that gave it)."""
    try:
        return _stored_ref(engine, kind, ref)
    except CaseError as exc:
        raise CaseError(str(exc), field) from None


def _stored_ref(engine: Engine, kind: CaseItemKind, ref: str) -> str:
    ref = (ref or "").strip()
    if not ref:
        raise CaseError(f"give the {kind.value} reference")
    if len(ref) > REF_MAX:
        raise CaseError(f"the {kind.value} reference is too long: at most {REF_MAX} characters")
    if kind is CaseItemKind.DECLARATION:
        if not _exists(engine, declarations.c.declaration_id, [ref]):
            raise CaseError(f"no declaration '{ref[:80]}' in the store")
        return ref
    if kind is CaseItemKind.ENTITY:
        ref = ref.removeprefix("entity:")
        if not _exists(engine, entities.c.entity_id, [ref]):
            raise CaseError(f"no entity '{ref[:80]}' in the store: give a resolved entity id (ENT...)")
        return ref
    if kind is CaseItemKind.RING:
        members = list(dict.fromkeys(m.strip().removeprefix("entity:") for m in ref.split(",") if m.strip()))
        if len(members) < RING_MIN_MEMBERS:
            raise CaseError(f"a ring needs at least {RING_MIN_MEMBERS} entity ids, separated by commas")
        missing = sorted(set(members) - _exists(engine, entities.c.entity_id, members))
        if missing:
            raise CaseError(f"{len(missing)} ring member(s) are not entities in the store, e.g. "
                            f"{', '.join(m[:40] for m in missing[:3])}")
        return ",".join(members)
    if kind is CaseItemKind.CONTAINER:
        number = re.sub(r"\s+", "", ref).upper()
        if not CONTAINER.fullmatch(number):
            raise CaseError(f"'{ref[:40]}' is not a container number: four letters and seven digits (ISO 6346)")
        if not _exists(engine, declaration_containers.c.container_number, [number]):
            raise CaseError(f"no declaration in the store names container {number}")
        return number
    raise CaseError("a note is written with add_note, not added as evidence")


# ---- reading ----------------------------------------------------------------------------------------------------

def _case_row(engine: Engine, case_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.case_id == case_id)).mappings().first()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return _case_dict(row)


def _case_dict(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("created_at", "updated_at"):
        out[key] = _iso(out[key])
    return out


def get_case(engine: Engine, ctx: AccessContext, case_id: int) -> CaseDetail:
    """The case with its items and events; ``CaseNotFound`` for an unknown case and for one ``ctx`` may not
    read (an inspector's case assigned to someone else)."""
    require_reader(ctx)
    case = _case_row(engine, case_id)
    require_view(ctx, case)
    with engine.connect() as conn:
        items = [dict(r) for r in conn.execute(select(case_items).where(case_items.c.case_id == case_id)
                                               .order_by(case_items.c.item_id)).mappings()]
        events = [dict(r) for r in conn.execute(select(case_events).where(case_events.c.case_id == case_id)
                                                .order_by(case_events.c.event_id)).mappings()]
    for item in items:
        item["added_at"] = _iso(item["added_at"])
    for event in events:
        event["at"] = _iso(event["at"])
    return CaseDetail(case=case, items=items, events=events)


def list_cases(engine: Engine, ctx: AccessContext, *, status: CaseStatus | None = None, assignee: str | None = None,
               page: int = 1, size: int = PAGE_SIZE) -> CaseList:
    """One page of cases, most recently changed first; inspectors see only the cases assigned to them."""
    if not 1 <= size <= MAX_PAGE_SIZE or page < 1:
        raise CaseError(f"page must be 1 or more and size between 1 and {MAX_PAGE_SIZE}")
    where = []
    if status is not None:
        where.append(cases.c.status == status.value)
    if assignee:
        where.append(cases.c.assigned_to == assignee.strip().lower())
    require_reader(ctx)
    if not is_worker(ctx):
        where.append(cases.c.assigned_to == ctx.user)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one()
        rows = [_case_dict(r) for r in conn.execute(
            select(cases).where(*where).order_by(cases.c.updated_at.desc(), cases.c.case_id.desc())
            .limit(size).offset((page - 1) * size)).mappings()]
    return CaseList(rows=rows, total=int(total), page=page, size=size, status=status,
                    assignee=assignee.strip().lower() if assignee else None)


def assignable_users(engine: Engine) -> list[dict[str, str]]:
    """Enabled users who may hold a case: username and display name, by username."""
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.username, users.c.display_name, users.c.roles)
                            .where(users.c.disabled.is_(False)).order_by(users.c.username)).all()
    return [{"username": r.username, "display_name": r.display_name} for r in rows
            if set(json.loads(r.roles)) & CASE_ROLES]


# ---- writing ----------------------------------------------------------------------------------------------------

def _event(conn: Any, case_id: int, kind: CaseEventKind, text: str, user: str, at: datetime) -> None:
    conn.execute(insert(case_events).values(case_id=case_id, kind=kind.value, text=text, username=user, at=at))


def _still_open(ctx: AccessContext, case: dict[str, Any]) -> list[ColumnElement[bool]]:
    """The guard of an addition (note, evidence): the case is not closed, and still the inspector's."""
    guard = [cases.c.status != CaseStatus.CLOSED.value]
    if not is_worker(ctx):
        guard.append(cases.c.assigned_to == case["assigned_to"])
    return guard


def _unchanged(case: dict[str, Any]) -> list[ColumnElement[bool]]:
    """The guard of a decision (assignment, status): the case has the status, assignee and assigner the
    checks saw."""
    c = cases.c
    return [c.status == case["status"], c.assigned_to.is_not_distinct_from(case["assigned_to"]),
            c.assigned_by.is_not_distinct_from(case["assigned_by"])]


def _touch(conn: Any, case: dict[str, Any], at: datetime, guard: list[ColumnElement[bool]], **values: Any) -> None:
    """Updates the case only if ``guard`` still holds: the check and the write are one statement, so a
    change made meanwhile (by anyone, in any order) makes this one fail rather than slip past a rule."""
    q = update(cases).where(cases.c.case_id == case["case_id"], *guard)
    if conn.execute(q.values(updated_at=at, **values)).rowcount != 1:
        raise CaseError(f"case {case['case_id']} was changed by someone else meanwhile: reload it and try again")


def open_case(engine: Engine, ctx: AccessContext, origin_kind: str, origin_ref: str, title: str,
              summary: str = "") -> int:
    """Opens a case (status lead) from what it was opened on, which becomes its first evidence; returns its id."""
    require_worker(ctx, "opening a case")
    kind = _kind(origin_kind, "origin_kind")
    if kind is CaseItemKind.NOTE:
        raise CaseError("a case is opened from a declaration, entity, ring or container, not a note", "origin_kind")
    title = _text(title, "a title", "title", minimum=TITLE_MIN, maximum=TITLE_MAX)
    summary = _text(summary, "the summary", "summary")
    ref = check_ref(engine, kind, origin_ref, "origin_ref")
    at = _now()
    with engine.begin() as conn:
        case_id = int(conn.execute(insert(cases).values(
            title=title, summary=summary, status=CaseStatus.LEAD.value, outcome=None, origin_kind=kind.value,
            origin_ref=ref, created_by=ctx.user, created_at=at, assigned_to=None, assigned_by=None, updated_at=at,
        ).returning(cases.c.case_id)).scalar_one())
        conn.execute(insert(case_items).values(case_id=case_id, kind=kind.value, ref=ref,
                                               note="the case was opened from it", added_by=ctx.user, added_at=at))
        _event(conn, case_id, CaseEventKind.CREATED, f"opened from {kind.value} {ref}", ctx.user, at)
    return case_id


def add_evidence(engine: Engine, ctx: AccessContext, case_id: int, kind: str, ref: str, note: str) -> int:
    """Adds a declaration, entity, ring or container to the case with why it is evidence; returns the item id."""
    require_reader(ctx)
    case = _case_row(engine, case_id)
    require_view(ctx, case)
    require_worker(ctx, "adding evidence")
    require_changeable(case)
    item_kind = _kind(kind, "kind")
    if item_kind is CaseItemKind.NOTE:
        raise CaseError("write a note with the note form, not as evidence", "kind")
    stored = check_ref(engine, item_kind, ref, "ref")
    why = _text(note, "why it is evidence", "note", minimum=1)
    at = _now()
    with engine.begin() as conn:
        _touch(conn, case, at, _still_open(ctx, case))
        item_id = int(conn.execute(insert(case_items).values(
            case_id=case_id, kind=item_kind.value, ref=stored, note=why, added_by=ctx.user, added_at=at,
        ).returning(case_items.c.item_id)).scalar_one())
        _event(conn, case_id, CaseEventKind.EVIDENCE, f"{item_kind.value} {stored}: {why}", ctx.user, at)
    return item_id


def add_note(engine: Engine, ctx: AccessContext, case_id: int, text: str) -> int:
    """Writes a note on the case (inspectors too, on their own cases); returns the item id."""
    require_reader(ctx)
    case = _case_row(engine, case_id)
    require_view(ctx, case)
    require_changeable(case)
    body = _text(text, "the note", "text", minimum=1)
    at = _now()
    with engine.begin() as conn:
        _touch(conn, case, at, _still_open(ctx, case))
        item_id = int(conn.execute(insert(case_items).values(
            case_id=case_id, kind=CaseItemKind.NOTE.value, ref="", note=body, added_by=ctx.user, added_at=at,
        ).returning(case_items.c.item_id)).scalar_one())
        _event(conn, case_id, CaseEventKind.NOTE, body, ctx.user, at)
    return item_id


def assign(engine: Engine, ctx: AccessContext, case_id: int, username: str) -> None:
    """Gives the case to an enabled user who may hold cases; who gave it is kept (see ``closing_refusal``)."""
    require_worker(ctx, "assigning a case")
    case = _case_row(engine, case_id)
    require_changeable(case)
    name = (username or "").strip().lower()
    if not any(u["username"] == name for u in assignable_users(engine)):
        raise CaseError(f"'{name[:64]}' cannot hold a case: give an enabled user with the role "
                        f"{', '.join(sorted(CASE_ROLES))}", "username")
    at = _now()
    with engine.begin() as conn:
        _touch(conn, case, at, _unchanged(case), assigned_to=name, assigned_by=ctx.user)
        _event(conn, case_id, CaseEventKind.ASSIGNED, f"assigned to {name}", ctx.user, at)


def set_status(engine: Engine, ctx: AccessContext, case_id: int, status: str, outcome: str | None = None) -> None:
    """Moves the case along ``TRANSITIONS``; closing follows ``closing_refusal`` and needs an outcome."""
    require_worker(ctx, "changing a case's status")
    case = _case_row(engine, case_id)
    require_changeable(case)
    try:
        target = CaseStatus(status)
    except ValueError:
        raise CaseError(f"unknown status '{status[:40]}': use one of {', '.join(CaseStatus.codes())}",
                        "status") from None
    current = CaseStatus(case["status"])
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        raise CaseError(f"case {case_id} cannot go from {current.value} to {target.value}; from {current.value} "
                        f"it may go to {allowed}", "status")
    outcome = (outcome or "").strip() or None
    if target is CaseStatus.CLOSED:
        refusal = closing_refusal(ctx, case)
        if refusal is not None:
            raise CaseForbidden(refusal)
        if outcome not in CLOSING_OUTCOMES:
            raise CaseError(f"closing needs an outcome: one of {', '.join(CLOSING_OUTCOMES)}", "outcome")
    elif outcome is not None:
        raise CaseError("an outcome is given only when closing the case", "outcome")
    at = _now()
    text = f"{current.value} -> {target.value}" + (f" (outcome: {outcome})" if outcome else "")
    with engine.begin() as conn:
        _touch(conn, case, at, _unchanged(case), status=target.value, outcome=outcome)
        _event(conn, case_id, CaseEventKind.STATUS, text, ctx.user, at)


def reopen(engine: Engine, ctx: AccessContext, case_id: int, reason: str) -> None:
    """Reopens a closed case (status open, outcome cleared): a supervisor's decision, with the reason kept
    in the case's history as a ``reopened`` event."""
    if Role.SUPERVISOR.value not in ctx.roles:
        raise CaseForbidden("reopening a closed case needs a supervisor")
    case = _case_row(engine, case_id)
    if case["status"] != CaseStatus.CLOSED.value:
        raise CaseError(f"case {case_id} is {case['status']}, not closed: only a closed case is reopened")
    why = _text(reason, "the reason for reopening", "reason", minimum=REASON_MIN, maximum=TEXT_MAX)
    at = _now()
    text = f"closed -> open (outcome was {case['outcome']}): {why}"
    with engine.begin() as conn:
        _touch(conn, case, at, _unchanged(case), status=CaseStatus.OPEN.value, outcome=None)
        _event(conn, case_id, CaseEventKind.REOPENED, text, ctx.user, at)
