"""What the store holds: record counts per table, quarantine and batches."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from cintel.store import tables


def store_stats(engine: Engine) -> dict[str, object]:
    """Counts of stored records, open quarantine entries (by error code) and batches."""
    with engine.connect() as conn:
        def count(table: object, *where: object) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]

        q = tables.quarantine
        by_code = dict(tuple(r) for r in conn.execute(
            select(q.c.code, func.count()).where(q.c.status == "open").group_by(q.c.code).order_by(q.c.code)
        ).all())
        b = tables.batches
        by_status = dict(tuple(r) for r in conn.execute(select(b.c.status, func.count()).group_by(b.c.status)).all())
        return {
            "declarations": count(tables.declarations),
            "items": count(tables.declaration_items),
            "containers": count(tables.declaration_containers),
            **{kind.value: count(table) for kind, table in tables.record_tables.items()},
            "quarantined": count(q, q.c.status == "open"),
            "quarantine_resolved": count(q, q.c.status == "resolved"),
            "quarantine_by_code": by_code,
            "batches": count(b),
            "batches_by_status": by_status,
        }
