"""What the store holds: record counts per table, quarantine and batches; and a day's intake (declarations,
items, customs value and inspection hits per day) against the four weeks before it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, select

from cintel.domain.codes import OutcomeType
from cintel.domain.records import RecordKind
from cintel.store import tables
from cintel.store.case_tables import counted_inspection

TREND_DAYS = 28


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


def intake(engine: Engine, day: date) -> dict[str, Any]:
    """Declarations lodged on ``day`` (count, items, customs value) and the daily average of the four weeks
    before it, plus the 28-day series ending on ``day`` (declarations and inspection hits per day)."""
    d, i, inspections = tables.declarations, tables.declaration_items, tables.record_tables[RecordKind.INSPECTIONS]
    start = day - timedelta(days=TREND_DAYS)
    with engine.connect() as conn:
        per_day = {r.day: (int(r.n), int(r.items or 0)) for r in conn.execute(
            select(d.c.declaration_date.label("day"), func.count().label("n"), func.sum(d.c.n_items).label("items"))
            .where(d.c.declaration_date >= start, d.c.declaration_date <= day).group_by(d.c.declaration_date))}
        value_per_day = {r.day: float(r.value or 0) for r in conn.execute(
            select(d.c.declaration_date.label("day"), func.sum(i.c.customs_value).label("value"))
            .select_from(d.join(i, i.c.declaration_id == d.c.declaration_id))
            .where(d.c.declaration_date >= start, d.c.declaration_date <= day).group_by(d.c.declaration_date))}
        hits_per_day = {r.day: (int(r.n), int(r.hits or 0)) for r in conn.execute(
            select(inspections.c.inspection_date.label("day"), func.count().label("n"),
                   func.sum(case((inspections.c.outcome != OutcomeType.NO_FINDING.value, 1), else_=0)).label("hits"))
            .where(inspections.c.inspection_date > start, inspections.c.inspection_date <= day, counted_inspection())
            .group_by(inspections.c.inspection_date))}
    before = [start + timedelta(days=k) for k in range(TREND_DAYS)]  # the 28 days before `day`
    n, items = per_day.get(day, (0, 0))
    avg_n = sum(per_day.get(x, (0, 0))[0] for x in before) / TREND_DAYS
    avg_items = sum(per_day.get(x, (0, 0))[1] for x in before) / TREND_DAYS
    avg_value = sum(value_per_day.get(x, 0.0) for x in before) / TREND_DAYS
    series_days = [day - timedelta(days=TREND_DAYS - 1 - k) for k in range(TREND_DAYS)]
    return {
        "day": day.isoformat(), "declarations": n, "items": items, "value": round(value_per_day.get(day, 0.0), 2),
        "avg_declarations": round(avg_n, 1), "avg_items": round(avg_items, 1), "avg_value": round(avg_value, 2),
        "vs_avg": round(n / avg_n - 1, 3) if avg_n else None,
        "series": [{"day": x.isoformat(), "declarations": per_day.get(x, (0, 0))[0],
                    "inspections": hits_per_day.get(x, (0, 0))[0], "hits": hits_per_day.get(x, (0, 0))[1]}
                   for x in series_days],
    }
