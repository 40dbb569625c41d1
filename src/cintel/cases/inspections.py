"""Recording what an inspection found: by whom, once per declaration, and corrections that supersede.

The rules (``rights`` says what they allow one person on one declaration; ``record`` applies them):

- the inspector named by the declaration's latest assignment records its inspection; a supervisor may
  record it in their place, giving a reason; nobody else;
- a declaration has one current record: another is refused unless it is a correction, which names the
  record it corrects (``corrects``) and says why (``reason``); the corrected record stays stored and is
  shown as superseded, with who corrected it, when and why;
- the record goes through the ingest path (validated and standardised like a file's row: a bad one is
  quarantined and refused field by field), then is accepted with an ``inspection_records`` row.

What counts as an outcome (training labels, hit rates, the feedback loop) is decided in one place,
``cintel.store.case_tables.counted_inspection``: every row of an ingested file, and of the records made
here only those accepted and not superseded.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from cintel.domain.access import AccessContext
from cintel.domain.codes import CodeList, OutcomeType
from cintel.domain.records import RecordKind
from cintel.domain.roles import Role
from cintel.errors import CintelError
from cintel.ingest.rows_in import ingest_rows
from cintel.store.case_tables import WEB_SOURCE, counted_inspection, inspection_assignments, inspection_records
from cintel.store.risk_tables import risk_assessments
from cintel.store.tables import declarations, record_tables

REASON_MIN, REASON_MAX = 3, 2000
FINDINGS_MAX, SEIZED_MAX = 4096, 1024  # the record format's widths
inspections = record_tables[RecordKind.INSPECTIONS]


class InspectionError(CintelError):
    """An inspection that cannot be recorded; ``field`` names the form field at fault, if one is."""

    field: str | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InspectionNotFound(InspectionError):
    """No such declaration, or no such inspection of it (the web answers 404)."""


class InspectionForbidden(InspectionError):
    """The person is neither the assigned inspector nor a supervisor (the web answers 403)."""


class InspectionConflict(InspectionError):
    """The declaration already has a current record, and this is not a correction of it (409)."""


class InspectionRejected(InspectionError):
    """The record does not pass validation; ``problems`` says which field and why (400)."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        first = problems[0] if problems else {"field": None, "message": "rejected"}
        super().__init__(f"the inspection was not recorded: {first['field'] or 'record'}: {first['message']}",
                         first["field"])


class RecordStatus(CodeList):
    CURRENT = ("current", "Counts as the declaration's inspection outcome")
    SUPERSEDED = ("superseded", "Corrected by a later record: kept, no longer counted")
    NOT_ACCEPTED = ("not_accepted", "Stored through the workspace without passing the recording rules (recorded "
                    "before they applied, or at the same moment as another record): kept, not counted")


class InspectionInput(BaseModel):
    """What an inspector records about one inspection of the declaration."""

    model_config = ConfigDict(extra="forbid")

    outcome: OutcomeType = Field(description="What the inspection established")
    channel: Literal["yellow", "red"] = Field(description="yellow: documentary check, red: physical inspection")
    inspection_date: date = Field(default_factory=date.today, description="Date of the inspection (not in the "
                                  "future)")
    findings: str | None = Field(None, max_length=FINDINGS_MAX, description="What the inspector found")
    additional_duty: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False,
                                          description="Additional duty and taxes assessed, national currency")
    seizure: bool = Field(False, description="Goods were seized")
    seized_goods: str | None = Field(None, max_length=SEIZED_MAX, description="What was seized")
    corrects: str | None = Field(None, max_length=64, description="The inspection id of the current record this "
                                 "one corrects (needed when the declaration already has one)")
    reason: str | None = Field(None, max_length=REASON_MAX, description="Why: needed for a correction, and when a "
                               "supervisor records in place of the assigned inspector")

    def as_record(self) -> dict[str, Any]:
        """The fields of an inspection record, as text the ingest path validates and standardises."""
        return {"outcome": self.outcome.value, "channel": self.channel,
                "inspection_date": self.inspection_date.isoformat(), "findings": self.findings or None,
                "additional_duty": None if self.additional_duty is None
                else f"{self.additional_duty:.6f}".rstrip("0").rstrip("."),
                "seizure": "true" if self.seizure else "false", "seized_goods": self.seized_goods or None}


@dataclass(frozen=True)
class RecordingRights:
    """What one person may record on one declaration now."""

    allowed: bool
    refusal: str | None  # why not, when not allowed
    on_behalf: bool  # a supervisor recording in place of the assigned inspector
    assigned_to: str | None
    current: tuple[dict[str, Any], ...]  # the records that count now: a new record must correct one

    @property
    def correcting(self) -> bool:
        return bool(self.current)

    @property
    def needs_reason(self) -> bool:
        return self.on_behalf or self.correcting


@dataclass(frozen=True)
class Recorded:
    declaration_id: str
    inspection_id: str
    batch_id: int
    supersedes: str | None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


# ---- reading ----------------------------------------------------------------------------------------------------

def latest_assignment(conn: Connection, declaration_id: str) -> dict[str, Any] | None:
    """The declaration's assignment in the latest run that assigned it (who is to inspect it), or None."""
    a = inspection_assignments
    row = conn.execute(select(a).where(a.c.declaration_id == declaration_id)
                       .order_by(a.c.run_id.desc(), a.c.assigned_at.desc()).limit(1)).mappings().first()
    return {k: _plain(v) for k, v in row.items()} if row else None


def declaration_records(conn: Connection, declaration_id: str) -> list[dict[str, Any]]:
    """Every stored inspection of the declaration, latest first, with its ``status`` (RecordStatus), who
    recorded it and why, and for a superseded one the correction that superseded it (id, by, at, why)."""
    r, nxt = inspection_records, inspection_records.alias("correction")
    rows = conn.execute(
        select(inspections.c.inspection_id, inspections.c.declaration_id, inspections.c.inspection_date,
               inspections.c.channel, inspections.c.outcome, inspections.c.findings, inspections.c.additional_duty,
               inspections.c.seizure, inspections.c.seized_goods, inspections.c.inspector_id,
               inspections.c.selection_reason, r.c.recorded_by, r.c.recorded_at, r.c.reason, r.c.supersedes,
               nxt.c.inspection_id.label("superseded_by"), nxt.c.recorded_by.label("superseded_by_user"),
               nxt.c.recorded_at.label("superseded_at"), nxt.c.reason.label("superseded_because"),
               counted_inspection().label("counted"))
        .outerjoin(r, r.c.inspection_id == inspections.c.inspection_id)
        .outerjoin(nxt, nxt.c.supersedes == inspections.c.inspection_id)
        .where(inspections.c.declaration_id == declaration_id)
        .order_by(inspections.c.inspection_date.desc(), r.c.sequence.desc(), inspections.c.inspection_id.desc())
    ).mappings().all()
    out = []
    for row in rows:
        item = {k: _plain(v) for k, v in row.items() if k != "counted"}
        item["seizure"] = bool(row["seizure"]) if row["seizure"] is not None else None
        status = (RecordStatus.SUPERSEDED if row["superseded_by"] else
                  RecordStatus.CURRENT if row["counted"] else RecordStatus.NOT_ACCEPTED)
        item["status"], item["status_description"] = status.value, status.description
        out.append(item)
    return out


def rights(ctx: AccessContext, assignment: Mapping[str, Any] | None,
           records: list[dict[str, Any]]) -> RecordingRights:
    """What ``ctx`` may record on a declaration with this latest assignment and these stored records."""
    assigned = assignment["inspector"] if assignment else None
    current = tuple(r for r in records if r["status"] == RecordStatus.CURRENT.value)
    if Role.INSPECTOR.value in ctx.roles and assigned == ctx.user:
        return RecordingRights(True, None, False, assigned, current)
    if Role.SUPERVISOR.value in ctx.roles:
        return RecordingRights(True, None, True, assigned, current)
    whose = f"assigned to {assigned}" if assigned else "not assigned to any inspector"
    if Role.INSPECTOR.value in ctx.roles:
        refusal = (f"this declaration is {whose}: its inspection is recorded by the inspector it is assigned to, "
                   "or by a supervisor giving a reason")
    else:
        refusal = "recording an inspection needs the role inspector or supervisor"
    return RecordingRights(False, refusal, False, assigned, current)


def recording_rights(engine: Engine, ctx: AccessContext, declaration_id: str) -> RecordingRights:
    with engine.connect() as conn:
        return rights(ctx, latest_assignment(conn, declaration_id), declaration_records(conn, declaration_id))


def inspection_detail(engine: Engine, declaration_id: str, inspection_id: str) -> dict[str, Any]:
    """One stored inspection of the declaration, as ``declaration_records`` shows it; InspectionNotFound."""
    with engine.connect() as conn:
        found = [r for r in declaration_records(conn, declaration_id) if r["inspection_id"] == inspection_id]
    if not found:
        raise InspectionNotFound(f"no inspection '{inspection_id[:64]}' of declaration '{declaration_id[:64]}'")
    return found[0]


# ---- recording --------------------------------------------------------------------------------------------------

def _summary(r: Mapping[str, Any]) -> str:
    who = r.get("recorded_by") or r.get("inspector_id") or "an ingested file"
    return f"{r['inspection_id']} ({r['outcome']}, {r['inspection_date']}, by {who})"


def _checked_reason(allowed: RecordingRights, declaration_id: str, given: InspectionInput) -> str | None:
    """The reason to keep with the record, once ``given`` is within what ``allowed`` permits."""
    if not allowed.allowed:
        raise InspectionForbidden(allowed.refusal or "not allowed")
    current = {r["inspection_id"]: r for r in allowed.current}
    if given.corrects is None and current:
        shown = ", ".join(_summary(r) for r in current.values())
        raise InspectionConflict(f"declaration {declaration_id} already has its inspection recorded: {shown}; to "
                                 "change it, record a correction of that record with the reason", "corrects")
    if given.corrects is not None and given.corrects not in current:
        whose = ", ".join(current) or "none"
        raise InspectionConflict(f"'{given.corrects[:64]}' is not a current inspection record of declaration "
                                 f"{declaration_id} (current: {whose}): only a current record is corrected",
                                 "corrects")
    reason = (given.reason or "").strip()
    if allowed.needs_reason and len(reason) < REASON_MIN:
        why = ("why it is corrected" if allowed.correcting
               else f"why you record it in place of {allowed.assigned_to or 'an assigned inspector'}")
        raise InspectionRejected([{"field": "reason", "message": f"say {why} (at least {REASON_MIN} characters)"}])
    return reason or None


def _selection_reason(conn: Connection, declaration_id: str) -> str | None:
    """Why the latest assessment selected the declaration, as the inspection record keeps it."""
    a = risk_assessments
    latest = conn.execute(select(a.c.selection_reason, a.c.selection_detail)
                          .where(a.c.declaration_id == declaration_id).order_by(a.c.run_id.desc()).limit(1)).first()
    if latest is None or not latest.selection_reason:
        return None
    reason = str(latest.selection_reason) + (f" ({latest.selection_detail})" if latest.selection_detail else "")
    return reason[:256]  # the record format's width


def record(engine: Engine, ctx: AccessContext, declaration_id: str, given: InspectionInput) -> Recorded:
    """Records the inspection of the declaration by ``ctx`` under the rules above: stored through the
    ingest path (a bad record is quarantined and raised as InspectionRejected), then accepted. Raises
    InspectionNotFound, InspectionForbidden, InspectionConflict or InspectionRejected."""
    with engine.connect() as conn:
        if conn.execute(select(declarations.c.declaration_id)
                        .where(declarations.c.declaration_id == declaration_id)).first() is None:
            raise InspectionNotFound(f"no declaration '{declaration_id[:64]}' is stored")
        selected = _selection_reason(conn, declaration_id)
        reason = _checked_reason(rights(ctx, latest_assignment(conn, declaration_id),
                                        declaration_records(conn, declaration_id)), declaration_id, given)
    inspection_id = f"WEB-{uuid.uuid4().hex}"
    row = {"inspection_id": inspection_id, "declaration_id": declaration_id, "inspector_id": ctx.user,
           "selection_reason": selected, **given.as_record()}
    report = ingest_rows(engine, RecordKind.INSPECTIONS, [row], source=f"{WEB_SOURCE}{ctx.user}")
    if report.rows_stored != 1:
        raise InspectionRejected(report.problems)
    r = inspection_records
    try:
        with engine.begin() as conn:
            # Checked again with what is stored now: someone may have recorded meanwhile. If so this record
            # stays stored but not accepted (shown so, never counted), and the error says why.
            assignment = latest_assignment(conn, declaration_id)
            allowed = rights(ctx, assignment, declaration_records(conn, declaration_id))
            reason = _checked_reason(allowed, declaration_id, given)
            last = conn.execute(select(func.max(r.c.sequence)).where(r.c.declaration_id == declaration_id)).scalar()
            conn.execute(insert(r).values(
                inspection_id=inspection_id, declaration_id=declaration_id, sequence=int(last or 0) + 1,
                recorded_by=ctx.user, recorded_at=datetime.now(UTC), assigned_to=allowed.assigned_to,
                reason=reason, supersedes=given.corrects))
    except IntegrityError:
        raise InspectionConflict(f"another inspection of declaration {declaration_id} was recorded at the same "
                                 "moment: reload the declaration to see it", "corrects") from None
    return Recorded(declaration_id=declaration_id, inspection_id=inspection_id, batch_id=report.batch_id,
                    supersedes=given.corrects)
