"""rulebook four-eyes changes, approval comments and backtest hits

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00

Lookup changes (values added or removed, a list dropped) and the retirement of an approved rule take effect
only once a second officer confirms them: ``risk_rule_changes`` holds each request with its reason, who asked
and when, and who confirmed or refused it, when and with what comment; it is also the history of every list.
``risk_lookup_values.change_id`` says which change added a value. An approval keeps the approver's comment
(``risk_rules.approval_comment``). A recorded backtest keeps the declarations it hit
(``risk_rule_backtest_hits``), so its page lists them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_rule_changes",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="lookup_values, lookup_drop or retirement"),
        sa.Column("lookup", sa.String(length=64), nullable=True, comment="the lookup list changed or dropped"),
        sa.Column("rule_id", sa.String(length=64), nullable=True, comment="the rule to retire"),
        sa.Column("additions", sa.Text(), nullable=False, comment="JSON list of the values to add"),
        sa.Column("removals", sa.Text(), nullable=False, comment="JSON list of the values to remove"),
        sa.Column("reason", sa.Text(), nullable=False, comment="why, as the requester gave it"),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False,
                  comment="pending, confirmed, refused, withdrawn or automatic"),
        sa.Column("decided_by", sa.String(length=64), nullable=True,
                  comment="who confirmed or refused it (never the requester)"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True, comment="the confirmer's or refuser's comment"),
        sa.Column("effect", sa.Text(), nullable=True,
                  comment="JSON: what confirming it did (values added and removed, versions retired)"),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_risk_rule_changes")),
    )
    with op.batch_alter_table("risk_rule_changes", schema=None) as batch_op:
        batch_op.create_index("ix_risk_rule_changes_status", ["status"], unique=False)
        batch_op.create_index("ix_risk_rule_changes_lookup", ["lookup"], unique=False)
        batch_op.create_index("ix_risk_rule_changes_rule_id", ["rule_id"], unique=False)

    op.create_table(
        "risk_rule_backtest_hits",
        sa.Column("backtest_id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("declaration_date", sa.Date(), nullable=False),
        sa.Column("is_fraud", sa.Boolean(), nullable=True,
                  comment="what its inspection found (true: irregular); null if never inspected"),
        sa.Column("revenue", sa.Double(), nullable=True, comment="additional duty its inspection found"),
        sa.ForeignKeyConstraint(["backtest_id"], ["risk_rule_backtests.backtest_id"],
                                name=op.f("fk_risk_rule_backtest_hits_backtest_id_risk_rule_backtests")),
        sa.PrimaryKeyConstraint("backtest_id", "declaration_id", name=op.f("pk_risk_rule_backtest_hits")),
    )
    with op.batch_alter_table("risk_rule_backtest_hits", schema=None) as batch_op:
        batch_op.create_index("ix_risk_rule_backtest_hits_backtest_id_declaration_date",
                              ["backtest_id", "declaration_date"], unique=False)

    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_comment", sa.Text(), nullable=True,
                                      comment="what the approver noted when approving (migration 0012)"))
    # risk_lookup_values is referenced by no other table: SQLite may rebuild it to add the foreign key.
    with op.batch_alter_table("risk_lookup_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_id", sa.Integer(), nullable=True,
                                      comment="the change that added it (null for values added before migration "
                                              "0012)"))
        batch_op.create_foreign_key(op.f("fk_risk_lookup_values_change_id_risk_rule_changes"), "risk_rule_changes",
                                    ["change_id"], ["change_id"])


def downgrade() -> None:
    with op.batch_alter_table("risk_lookup_values", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_risk_lookup_values_change_id_risk_rule_changes"), type_="foreignkey")
        batch_op.drop_column("change_id")
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.drop_column("approval_comment")
    with op.batch_alter_table("risk_rule_backtest_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_rule_backtest_hits_backtest_id_declaration_date")
    op.drop_table("risk_rule_backtest_hits")
    with op.batch_alter_table("risk_rule_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_rule_changes_rule_id")
        batch_op.drop_index("ix_risk_rule_changes_lookup")
        batch_op.drop_index("ix_risk_rule_changes_status")
    op.drop_table("risk_rule_changes")
