"""Everything known of one entity, as the entity page and its API show it: its identifiers and the names its
records give, where it was seen (each source record with its batch and row), its watch-list hits (one per
list entry), the analysts' decisions and its declarations week by week. JSON-ready dicts."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Engine, and_, or_, select

from cintel.domain.access import AccessContext
from cintel.domain.codes import OutcomeType
from cintel.domain.records import FORMATS, RecordKind
from cintel.entities.screening_service import party_hits
from cintel.entities.service import entity_view
from cintel.store import tables
from cintel.store.case_tables import counted_inspection
from cintel.store.entity_tables import entities, entity_record_sources

IDENTIFIER_FIELDS = ("tax_id", "address", "phone", "email", "iban", "imo")
SOURCE_LIMIT = 200
TIMELINE_DECLARATIONS = 50  # most recent declarations listed under the timeline


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def find_entity(engine: Engine, entity_id: str) -> dict[str, Any] | None:
    """The entity's summary row, or None when no entity has this id."""
    with engine.connect() as conn:
        row = conn.execute(select(entities).where(entities.c.entity_id == entity_id)).mappings().first()
    return {k: _iso(v) for k, v in row.items() if k != "updated_at"} if row else None


def _provenance(engine: Engine, sources: pl.DataFrame) -> pl.DataFrame:
    """``sources`` with the ``batch_id`` and ``source_row`` of the stored source record (null when the record
    is not in the store any more)."""
    found: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for kind_value, part in sources.group_by("source_kind"):
            kind = RecordKind(str(kind_value[0]))
            fmt = FORMATS[kind]
            table = tables.declarations if kind is RecordKind.DECLARATIONS else tables.record_tables.get(kind)
            if table is None:
                continue
            key = list(fmt.group or fmt.key)
            keys = part["source_key"].unique().to_list()
            where: ColumnElement[bool]
            if len(key) == 1:
                where = table.c[key[0]].in_(keys)
            else:
                where = or_(*[and_(*[table.c[c] == v for c, v in zip(key, k.split("|"), strict=False)])
                              for k in keys])
            q = select(*[table.c[c] for c in key], table.c.batch_id, table.c.source_row).where(where)
            for row in conn.execute(q):
                found.append({"source_kind": kind.value, "source_key": "|".join(str(v) for v in row[:len(key)]),
                              "batch_id": row[-2], "source_row": row[-1]})
    prov = pl.DataFrame(found, schema={"source_kind": pl.String, "source_key": pl.String, "batch_id": pl.Int64,
                                       "source_row": pl.Int64}).unique(["source_kind", "source_key"], keep="first")
    return sources.join(prov, on=["source_kind", "source_key"], how="left")


def timeline(engine: Engine, record_ids: list[str]) -> dict[str, Any]:
    """Declarations naming the entity per ISO week (Monday), with how many were inspected and how many found
    something; and the most recent declarations, each with its role and inspection outcome."""
    src = entity_record_sources
    inspections = tables.record_tables[RecordKind.INSPECTIONS]
    q = (select(src.c.source_key.label("declaration_id"), src.c.role, src.c.seen_on, inspections.c.outcome)
         .select_from(src.outerjoin(inspections, and_(inspections.c.declaration_id == src.c.source_key,
                                                       counted_inspection())))
         .where(src.c.record_id.in_(record_ids), src.c.source_kind == RecordKind.DECLARATIONS.value))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    frame = pl.DataFrame([tuple(r) for r in rows], orient="row", schema={
        "declaration_id": pl.String, "role": pl.String, "seen_on": pl.Date, "outcome": pl.String})
    per_declaration = (frame.with_columns(pl.col("role").str.split(":").list.first())
                       .group_by("declaration_id")
                       .agg(pl.col("seen_on").min(), pl.col("role").unique().sort().str.join(", "),
                            pl.col("outcome").drop_nulls().first())
                       .with_columns(inspected=pl.col("outcome").is_not_null(),
                                     found=pl.col("outcome").is_not_null()
                                     & (pl.col("outcome") != OutcomeType.NO_FINDING.value)))
    weeks = (per_declaration.drop_nulls("seen_on")
             .group_by(pl.col("seen_on").dt.truncate("1w").alias("week"))
             .agg(pl.len().alias("declarations"), pl.col("inspected").sum(), pl.col("found").sum())
             .sort("week"))
    recent = per_declaration.sort(["seen_on", "declaration_id"], descending=True,
                                  nulls_last=True).head(TIMELINE_DECLARATIONS)
    return {"weeks": _rows(weeks), "declarations": _rows(recent), "total": per_declaration.height}


def entity_profile(engine: Engine, ctx: AccessContext, entity_id: str) -> dict[str, Any] | None:
    """Everything the entity page shows (None when the entity is unknown): the entity, its identifiers,
    aliases (names its records give), source records with their batch and row, screening hits (one per list
    entry) with their dispositions, the analysts' decisions and the weekly declaration timeline."""
    entity = find_entity(engine, entity_id)
    if entity is None:
        return None
    view = entity_view(engine, ctx, entity_id, source_limit=SOURCE_LIMIT)
    records = view.records
    record_ids = records["record_id"].to_list()
    identifiers = []
    for fieldname in IDENTIFIER_FIELDS:
        values = records.drop_nulls(fieldname).group_by(fieldname).agg(pl.len().alias("records")).sort(
            ["records", fieldname], descending=[True, False])
        identifiers += [{"kind": fieldname, "value": v, "records": n} for v, n in values.iter_rows()]
    aliases = (records.drop_nulls("name").group_by("name").agg(pl.len().alias("records"),
                                                               pl.col("country").drop_nulls().unique().sort())
               .sort(["records", "name"], descending=[True, False]))
    sources = _provenance(engine, view.sources)
    return {
        "entity": entity,
        "identifiers": identifiers,
        "aliases": [{"name": n, "records": c, "countries": list(cs)} for n, c, cs in aliases.iter_rows()],
        "records": _rows(records.select("record_id", "entity_type", "name", "country", "tax_id", "first_seen",
                                        "sources", "roles")),
        "sources": _rows(sources.select("source_kind", "source_key", "role", "record_id", "seen_on", "batch_id",
                                        "source_row")),
        "sources_shown": sources.height,
        "hits": party_hits(engine, ctx, entity_id),
        "decisions": _rows(view.decisions.select("id", "record_a", "record_b", "decision", "reason", "decided_by",
                                                 "decided_at")),
        "timeline": timeline(engine, record_ids),
    }
