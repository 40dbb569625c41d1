"""stored explanations and queue facts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 07:00:00

Each risk assessment keeps, from the moment its run scored it, the reasons with the model's contribution
of each (``explanation``), so that the declaration page shows why without re-scoring the declaration (which
needs a year of history: seconds per view). Runs stored before this revision keep a null explanation: the
page then offers to re-score on request.

The queue shows, filters and sorts by the declaration's total customs value, the commodity code and origin
of its largest-value item and its office; they are stored with the assessment (``customs_value``,
``main_hs_code``, ``main_origin``, ``office_code``; codes and amounts, no party's name), indexed per run like
the other sort columns (0006), and filled here for the assessments already stored, from their declarations.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS: list[tuple[str, sa.types.TypeEngine[Any], str]] = [
    ("explanation", sa.Text(), "JSON list of [feature, contribution to the log-odds of fraud or null for a rule, "
     "reason in words], strongest first; null for runs made before it was stored"),
    ("customs_value", sa.Double(), "total customs value of the declaration's items"),
    ("main_hs_code", sa.String(length=10), "commodity code of the largest-value item"),
    ("main_origin", sa.String(length=2), "country of origin of the largest-value item"),
    ("office_code", sa.String(length=16), "customs office of lodgement"),
]
# The queue sorts one run by each of these (ties by rank), as migration 0006's indexes do for the others.
SORTED = ("customs_value", "main_hs_code", "main_origin", "office_code", "selection_reason")
INDEXES = {f"ix_risk_assessments_run_{c}": ["run_id", c, "rank", "declaration_id", "channel"] for c in SORTED}

# The largest-value item of the assessed declaration (ties: the first item), as the features' "main" item.
# FILL is public: the queue benchmark fills its synthetic runs with it.
FILL = """
UPDATE risk_assessments SET
  customs_value = (SELECT SUM(i.customs_value) FROM declaration_items i
                   WHERE i.declaration_id = risk_assessments.declaration_id),
  main_hs_code = (SELECT i.hs_code FROM declaration_items i WHERE i.declaration_id = risk_assessments.declaration_id
                  ORDER BY i.customs_value DESC, i.item_no LIMIT 1),
  main_origin = (SELECT i.country_of_origin FROM declaration_items i
                 WHERE i.declaration_id = risk_assessments.declaration_id
                 ORDER BY i.customs_value DESC, i.item_no LIMIT 1),
  office_code = (SELECT d.office_code FROM declarations d WHERE d.declaration_id = risk_assessments.declaration_id)
"""


def upgrade() -> None:
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        for name, kind, comment in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    op.execute(FILL)


def downgrade() -> None:
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        for name, _, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
