"""Tables of casework: cases from lead to closed, the evidence they hold, their history, and the
assignment of queued declarations to inspectors."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from cintel.store.tables import metadata

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
