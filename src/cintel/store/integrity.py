"""Referential checks of the store, in place of per-row foreign keys on the bulk tables."""

from __future__ import annotations

from sqlalchemy import Engine, Table, exists, func, select

from cintel.store import tables


def _orphans(engine: Engine, child: Table, parent: Table, child_col: str, parent_col: str) -> int:
    query = select(func.count()).select_from(child).where(
        ~exists().where(parent.c[parent_col] == child.c[child_col])
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def integrity_report(engine: Engine) -> dict[str, int]:
    """Counts of broken references; all zero in a healthy store."""
    d, i, c, b = tables.declarations, tables.declaration_items, tables.declaration_containers, tables.batches
    report = {
        "items_without_declaration": _orphans(engine, i, d, "declaration_id", "declaration_id"),
        "containers_without_declaration": _orphans(engine, c, d, "declaration_id", "declaration_id"),
        "declarations_without_batch": _orphans(engine, d, b, "batch_id", "id"),
        "items_without_batch": _orphans(engine, i, b, "batch_id", "id"),
    }
    for kind, table in tables.record_tables.items():
        report[f"{kind.value}_without_batch"] = _orphans(engine, table, b, "batch_id", "id")
    counted = select(i.c.declaration_id, func.count().label("n")).group_by(i.c.declaration_id).subquery()
    joined = d.outerjoin(counted, counted.c.declaration_id == d.c.declaration_id)
    mismatched = select(func.count()).select_from(joined).where(func.coalesce(counted.c.n, 0) != d.c.n_items)
    with engine.connect() as conn:
        report["declarations_with_wrong_item_count"] = int(conn.execute(mismatched).scalar_one())
    return report
