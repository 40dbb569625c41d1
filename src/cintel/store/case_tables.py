"""Tables of casework: cases from lead to closed, the evidence they hold, their history, the
assignment of queued declarations to inspectors, and the inspections recorded under the recording rules.

Inspection records themselves stay in the ``inspections`` record table (generated from the domain's
record format, and filled from files and from the workspace alike). What the workspace adds about a
record it accepted (who recorded it, on whose assignment, why, and which earlier record it corrects)
is a separate table, ``inspection_records``: the record format stays the format of an inspection file,
and a correction never rewrites the record it supersedes.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    not_,
    select,
)

from cintel.domain.records import RecordKind
from cintel.store.tables import batches, metadata, record_tables

cases = Table(
    "cases",
    metadata,
    Column("case_id", Integer, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, comment="what the case is about, as its author put it"),
    Column("status", String(16), nullable=False, comment="cintel.domain.codes.CaseStatus"),
    Column("outcome", Text, comment="how it was closed: an OutcomeType code or free text"),
    Column("origin_kind", String(16), nullable=False, comment="what it was opened from: CaseItemKind"),
    Column("origin_ref", String(512), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("assigned_to", String(64), comment="username of the assignee"),
    Column("assigned_by", String(64), comment="who gave the case to its assignee"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_cases_status", "status"),
    Index("ix_cases_assigned_to", "assigned_to"),
)

case_items = Table(
    "case_items",
    metadata,
    Column("item_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.case_id"), nullable=False),
    Column("kind", String(16), nullable=False, comment="cintel.domain.codes.CaseItemKind"),
    Column("ref", String(512), nullable=False, comment="the id of the object (empty for a note)"),
    Column("note", Text, nullable=False, comment="why it is evidence"),
    Column("added_by", String(64), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Index("ix_case_items_case", "case_id"),
    Index("ix_case_items_ref", "kind", "ref"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.case_id"), nullable=False),
    Column("kind", String(16), nullable=False, comment="cintel.domain.codes.CaseEventKind"),
    Column("text", Text, nullable=False),
    Column("username", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_case_events_case", "case_id"),
)

inspection_assignments = Table(
    "inspection_assignments",
    metadata,
    Column("run_id", Integer, primary_key=True, comment="the selection run the declaration was queued in"),
    Column("declaration_id", String(64), primary_key=True),
    Column("inspector", String(64), nullable=False, comment="username"),
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Index("ix_inspection_assignments_inspector", "inspector"),
    Index("ix_inspection_assignments_declaration", "declaration_id"),
)

WEB_SOURCE = "web:"
"""How the source of a batch of rows given through the workspace begins (``web:<username>``,
``cintel.ingest.rows_in``): an inspection stored from such a batch counts only once accepted."""

inspection_records = Table(
    "inspection_records",
    metadata,
    Column("inspection_id", String(64), primary_key=True, comment="the inspections row accepted"),
    Column("declaration_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False,
           comment="1, 2, ... per declaration: two people recording at once cannot both take the same place"),
    Column("recorded_by", String(64), nullable=False, comment="username"),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("assigned_to", String(64), comment="the inspector the latest assignment named at the time"),
    Column("reason", Text, comment="why a supervisor recorded it, or why it corrects the earlier record"),
    Column("supersedes", String(64), unique=True, comment="inspection_id of the record this one corrects"),
    UniqueConstraint("declaration_id", "sequence"),
    Index("ix_inspection_records_declaration", "declaration_id"),
)


def counted_inspection() -> ColumnElement[bool]:
    """True for the rows of the ``inspections`` table that count as outcomes (training labels, hit-rate
    features, feedback): every row of an ingested file, and of the rows given through the workspace only
    those it accepted (an ``inspection_records`` row); never a record a later correction superseded."""
    ins, r = record_tables[RecordKind.INSPECTIONS], inspection_records
    # correlate(None): the subqueries stand alone even inside a query that joins inspection_records itself.
    web_batches = (select(batches.c.id).where(batches.c.kind == RecordKind.INSPECTIONS.value,
                                              batches.c.source_path.startswith(WEB_SOURCE, autoescape=True))
                   .correlate(None))
    accepted = select(r.c.inspection_id).correlate(None)
    superseded = select(r.c.supersedes).where(r.c.supersedes.is_not(None)).correlate(None)
    return and_(not_(and_(ins.c.batch_id.in_(web_batches), ins.c.inspection_id.not_in(accepted))),
                ins.c.inspection_id.not_in(superseded))
