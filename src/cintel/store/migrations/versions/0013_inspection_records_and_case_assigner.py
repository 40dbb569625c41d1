"""inspection records and the case assigner

Revision ID: 0013
Revises: 0012

``inspection_records``: one row per inspection the workspace accepted under the recording rules (the
assigned inspector, or a supervisor with a reason; a second record only as a correction that names the
record it supersedes). The inspection itself stays in ``inspections``; inspections stored through the
workspace before this revision have no row here, so they no longer count as outcomes (they were
recorded by anyone, any number of times) but stay stored and shown.

``cases.assigned_by``: who gave the case to its assignee (the assignee closes a case only when someone
else gave it to them). Filled for assigned cases from their latest assignment event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspection_records",
        sa.Column("inspection_id", sa.String(length=64), nullable=False, comment="the inspections row accepted"),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False,
                  comment="1, 2, ... per declaration: two people recording at once cannot both take the same place"),
        sa.Column("recorded_by", sa.String(length=64), nullable=False, comment="username"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True,
                  comment="the inspector the latest assignment named at the time"),
        sa.Column("reason", sa.Text(), nullable=True,
                  comment="why a supervisor recorded it, or why it corrects the earlier record"),
        sa.Column("supersedes", sa.String(length=64), nullable=True,
                  comment="inspection_id of the record this one corrects"),
        sa.PrimaryKeyConstraint("inspection_id", name=op.f("pk_inspection_records")),
        sa.UniqueConstraint("declaration_id", "sequence",
                            name=op.f("uq_inspection_records_declaration_id_sequence")),
        sa.UniqueConstraint("supersedes", name=op.f("uq_inspection_records_supersedes")),
    )
    with op.batch_alter_table("inspection_records", schema=None) as batch_op:
        batch_op.create_index("ix_inspection_records_declaration", ["declaration_id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_by", sa.String(length=64), nullable=True,
                                      comment="who gave the case to its assignee"))
    op.execute(sa.text(
        "UPDATE cases SET assigned_by = (SELECT e.username FROM case_events e WHERE e.case_id = cases.case_id "
        "AND e.kind = 'assigned' ORDER BY e.event_id DESC LIMIT 1) WHERE assigned_to IS NOT NULL"))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite >= 3.35): copying the table, batch mode's way on SQLite,
    # would drop "cases" while case_items and case_events still refer to it.
    with op.batch_alter_table("cases", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("assigned_by")
    with op.batch_alter_table("inspection_records", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_records_declaration")
    op.drop_table("inspection_records")
