"""risk queue indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 22:00:00

Indexes only, for the risk queue on a large store: each sort column of one run's assessments (ties by
rank; declaration_id and channel carried so that filters are checked from the index), and a covering probe
of a declaration's items' HS code and origin (the queue's EXISTS filters).
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> index name -> columns (the benchmark drops these by name to measure what they are worth)
TABLE_INDEXES = {
    "risk_assessments": {
        "ix_risk_assessments_run_rank": ["run_id", "rank", "declaration_id", "channel"],
        "ix_risk_assessments_run_channel_rank": ["run_id", "channel", "rank", "declaration_id"],
        "ix_risk_assessments_run_probability": ["run_id", "probability", "rank", "declaration_id", "channel"],
        "ix_risk_assessments_run_expected_revenue": ["run_id", "expected_revenue", "rank", "declaration_id",
                                                     "channel"],
        "ix_risk_assessments_run_priority": ["run_id", "priority", "rank", "declaration_id", "channel"],
        "ix_risk_assessments_run_rule_score": ["run_id", "rule_score", "rank", "declaration_id", "channel"],
    },
    "declaration_items": {
        "ix_declaration_items_declaration_hs_origin": ["declaration_id", "hs_code", "country_of_origin"],
    },
}
INDEXES = {name: columns for indexes in TABLE_INDEXES.values() for name, columns in indexes.items()}


def upgrade() -> None:
    for table, indexes in TABLE_INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes.items():
                batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, indexes in TABLE_INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in indexes:
                batch_op.drop_index(name)
