"""item containers and customs fields

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:40:00

Containers belong to goods items (UCC Annex B DE 19 07, SAD box 31): ``container_numbers`` moves from
the declaration header to its items, each item keeping the containers its declaration had (the only
reading the old model allowed). The fields customs needs that the flat format lacked are added
(procedures, preference, destination, duties and taxes, documents, packages, and the representative,
consignee, seller and buyer). A declaration may name its importer by identifier alone and its
exporter not at all. Quarantine entries keep the source they were mapped from (an EDIFACT message's
segments), and party records every identifier they give.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

HEADER_COLUMNS: list[tuple[str, Any]] = [
    ("country_of_destination", sa.String(length=2)),
    ("total_packages", sa.BigInteger()),
    ("documents", sa.Text()),
    ("documents_raw", sa.Text()),
    ("representative_id", sa.String(length=64)),
    ("representative_name", sa.Text()),
    ("representative_name_raw", sa.Text()),
    ("consignee_id", sa.String(length=64)),
    ("consignee_name", sa.Text()),
    ("consignee_name_raw", sa.Text()),
    ("consignee_country", sa.String(length=2)),
    ("seller_id", sa.String(length=64)),
    ("seller_name", sa.Text()),
    ("seller_name_raw", sa.Text()),
    ("seller_country", sa.String(length=2)),
    ("buyer_id", sa.String(length=64)),
    ("buyer_name", sa.Text()),
    ("buyer_name_raw", sa.Text()),
    ("buyer_country", sa.String(length=2)),
]
ITEM_COLUMNS: list[tuple[str, Any]] = [
    ("container_numbers", sa.Text()),
    ("procedure_code", sa.String(length=8)),
    ("previous_procedure", sa.String(length=8)),
    ("preference_code", sa.String(length=8)),
    ("duties", sa.Text()),
    ("duties_raw", sa.Text()),
    ("item_documents", sa.Text()),
    ("item_documents_raw", sa.Text()),
    ("packages", sa.BigInteger()),
    ("package_kind", sa.String(length=8)),
    ("package_marks", sa.Text()),
    ("package_marks_raw", sa.Text()),
    ("warehouse_id", sa.String(length=64)),
]
RAW_COMMENT = "verbatim value when it differs"


def _column(name: str, kind: Any) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=True, comment=RAW_COMMENT if name.endswith("_raw") else None)


def upgrade() -> None:
    with op.batch_alter_table("declaration_items", schema=None) as batch_op:
        for name, kind in ITEM_COLUMNS:
            batch_op.add_column(_column(name, kind))
    op.execute(
        "UPDATE declaration_items SET container_numbers = (SELECT d.container_numbers FROM declarations d "
        "WHERE d.declaration_id = declaration_items.declaration_id)"
    )
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        for name, kind in HEADER_COLUMNS:
            batch_op.add_column(_column(name, kind))
        batch_op.drop_column("container_numbers")
        batch_op.alter_column("importer_name", existing_type=sa.Text(), nullable=True)
        batch_op.alter_column("exporter_name", existing_type=sa.Text(), nullable=True)
        batch_op.alter_column("exporter_country", existing_type=sa.String(length=2), nullable=True)
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "source_text", sa.Text(), nullable=True,
            comment="the source the row was mapped from, when it is not the row itself (the segments of an "
                    "EDIFACT message)"))
    with op.batch_alter_table("entity_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "identifiers", sa.Text(), nullable=True,
            comment="every identifier the record gives (tax, VAT, EORI, register, ...), ';'-joined"))
    # A stored record gave one identifier, its tax_id: that is all it is known to give.
    op.execute("UPDATE entity_records SET identifiers = tax_id WHERE tax_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("entity_records", schema=None) as batch_op:
        batch_op.drop_column("identifiers")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_column("source_text")
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("container_numbers", sa.Text(), nullable=True))
        for name, _ in HEADER_COLUMNS:
            batch_op.drop_column(name)
    # The header gets the union of its items' containers, in item order, each once.
    items = sa.table("declaration_items", sa.column("declaration_id"), sa.column("item_no"),
                     sa.column("container_numbers"))
    conn = op.get_bind()
    union: dict[str, list[str]] = {}
    for declaration_id, numbers in conn.execute(
            sa.select(items.c.declaration_id, items.c.container_numbers)
            .where(items.c.container_numbers.is_not(None)).order_by(items.c.declaration_id, items.c.item_no)):
        seen = union.setdefault(declaration_id, [])
        seen.extend(n for n in numbers.split(";") if n and n not in seen)
    declarations = sa.table("declarations", sa.column("declaration_id"), sa.column("container_numbers"))
    for declaration_id, numbers in union.items():
        conn.execute(declarations.update().where(declarations.c.declaration_id == declaration_id)
                     .values(container_numbers=";".join(numbers)))
    with op.batch_alter_table("declaration_items", schema=None) as batch_op:
        for name, _ in ITEM_COLUMNS:
            batch_op.drop_column(name)
    # Importer and exporter names stay nullable: declarations stored since may lack them.
