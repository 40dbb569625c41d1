"""rule backtests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 02:19:52.951216

Every backtest of a stored rule version, with its figures: approving a draft needs one of its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_rule_backtests",
        sa.Column("backtest_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column(
            "version", sa.Integer(), nullable=False, comment="the version replayed; approval needs one of its own"
        ),
        sa.Column("window_from", sa.Date(), nullable=False, comment="first day replayed"),
        sa.Column("window_to", sa.Date(), nullable=False, comment="last day replayed, included"),
        sa.Column("declarations", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("labelled", sa.Integer(), nullable=False, comment="hits that were inspected"),
        sa.Column("frauds", sa.Integer(), nullable=False, comment="inspected hits found irregular"),
        sa.Column("revenue", sa.Double(), nullable=False, comment="additional duty found on the hits"),
        sa.Column("new_hits", sa.Integer(), nullable=False, comment="hits no approved rule caught"),
        sa.Column("overlap", sa.Text(), nullable=False, comment="JSON list of {rule_id, shared, share_of_candidate}"),
        sa.Column("run_by", sa.String(length=64), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id", "version"],
            ["risk_rules.rule_id", "risk_rules.version"],
            name=op.f("fk_risk_rule_backtests_rule_id_risk_rules"),
        ),
        sa.PrimaryKeyConstraint("backtest_id", name=op.f("pk_risk_rule_backtests")),
    )
    with op.batch_alter_table("risk_rule_backtests", schema=None) as batch_op:
        batch_op.create_index("ix_risk_rule_backtests_rule_version", ["rule_id", "version"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_rule_backtests", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_rule_backtests_rule_version")

    op.drop_table("risk_rule_backtests")
