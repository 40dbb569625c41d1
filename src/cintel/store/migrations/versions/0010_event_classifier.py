"""event classifier and DCSA fields

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:50:00

Transport events keep what a DCSA Track & Trace event says beside its code: whether it is planned,
estimated or actual (``event_classifier``), its DCSA event type (``event_category``), whether the
container was empty, the facility, the event it retracts, and the documents it relates to. Events
stored before keep a null classifier: their source did not say, so they are unknown, not actual.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("event_classifier", sa.String(length=32)),
    ("event_category", sa.String(length=32)),
    ("empty_indicator", sa.String(length=32)),
    ("facility_code", sa.String(length=16)),
    ("retracted_event_id", sa.String(length=64)),
    ("document_reference", sa.Text()),
    ("document_reference_raw", sa.Text()),
]


def upgrade() -> None:
    with op.batch_alter_table("transport_events", schema=None) as batch_op:
        for name, kind in COLUMNS:
            comment = "verbatim value when it differs" if name.endswith("_raw") else None
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))


def downgrade() -> None:
    with op.batch_alter_table("transport_events", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
