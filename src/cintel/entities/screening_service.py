"""Watch-list screening on the store: every party record against the stored lists, with dispositions.

`screen_store` screens the party records (all of them, or those not screened yet) against the
stored watch-list entries (all lists, or one) and replaces the open hits of what it screened.
A hit an analyst has disposed of is never raised again for the same record and entry: a false
positive stays quiet, a true hit stays on record (and marks the entity as listed in the network).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, select

from cintel.domain.access import AccessContext
from cintel.domain.records import RecordKind
from cintel.entities.screen import DISPOSITIONS, ScreeningError, apply_dispositions, build_index, screen
from cintel.settings import get_settings
from cintel.store.bulk import copy_rows
from cintel.store.entity_tables import (
    entity_record_sources,
    entity_records,
    screening_dispositions,
    screening_hits,
)
from cintel.store.frames import load_records, load_table


@dataclass
class ScreeningReport:
    """What a screening run did."""

    lists: list[str]
    entries: int
    records: int
    hits: int
    suppressed: int  # hits not raised because an analyst disposed of that pair before
    threshold: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parties(engine: Engine) -> pl.DataFrame:
    """Party records seen in trade, finance or intelligence (a list's own entries are not screened)."""
    records = load_table(engine, entity_records).filter(pl.col("name").is_not_null() | pl.col("imo").is_not_null()
                                                        | pl.col("tax_id").is_not_null())
    seen = load_table(engine, entity_record_sources, entity_record_sources.c.source_kind
                      != RecordKind.WATCHLIST.value).select("record_id").unique()
    return records.join(seen, on="record_id", how="semi").select(
        pl.col("record_id").alias("party_key"), "name",
        pl.col("entity_type").replace("unknown", None).alias("entity_type"), "country",
        pl.lit(None, dtype=pl.String).alias("birth_date"),
        # Every identifier the record gives (register number, EORI, VAT, ...), not only the first.
        pl.concat_str([pl.col("identifiers"), pl.col("tax_id")], separator=";", ignore_nulls=True)
        .alias("identifiers"), "imo")


def screen_store(engine: Engine, ctx: AccessContext, *, list_name: str | None = None,
                 threshold: float | None = None) -> ScreeningReport:
    """Screen every party record against the stored watch lists (or the one named)."""
    del ctx  # recorded by the audit layer of a later issue
    started = time.perf_counter()
    threshold = threshold if threshold is not None else get_settings().screening_threshold
    if not 0 < threshold <= 1:
        raise ScreeningError(f"threshold must be in (0, 1], got {threshold}")
    entries = load_records(engine, RecordKind.WATCHLIST)
    if list_name is not None:
        known = sorted(entries["list_name"].unique().to_list())
        entries = entries.filter(pl.col("list_name") == list_name)
        if entries.is_empty():
            raise ScreeningError(f"no watch list named '{list_name}' in the store; lists: {', '.join(known) or 'none'}")
    if entries.is_empty():
        raise ScreeningError("no watch-list entries in the store; import a list with `cintel watchlist import`")
    parties = _parties(engine)
    if parties.is_empty():
        raise ScreeningError("no party records to screen; run `cintel entities resolve` first")
    hits = screen(build_index(entries.with_columns(pl.col(pl.Date).cast(pl.String))), parties, threshold=threshold)
    dispositions = load_table(engine, screening_dispositions).select(
        pl.col("record_id").alias("party_key"), "list_name", "entry_id", "disposition")
    kept = apply_dispositions(hits, dispositions)
    fresh = kept.filter(pl.col("disposition").is_null())
    lists = sorted(entries["list_name"].unique().to_list())
    with engine.begin() as conn:
        conn.execute(delete(screening_hits).where(screening_hits.c.list_name.in_(lists)
                                                  & screening_hits.c.open.is_(True)))
        copy_rows(conn, screening_hits, fresh.select(
            pl.col("party_key").alias("record_id"), "list_name", "entry_id", "list_version", "score",
            "matched_name", "explanation", screened_at=pl.lit(datetime.now(UTC)), open=pl.lit(True)))
    return ScreeningReport(lists=lists, entries=entries.height, records=parties.height, hits=fresh.height,
                           suppressed=hits.height - fresh.height, threshold=threshold,
                           seconds=round(time.perf_counter() - started, 2))


def open_hits(engine: Engine, ctx: AccessContext, *, list_name: str | None = None, limit: int = 100) -> pl.DataFrame:
    """Open hits, best first, with the party record's name and entity."""
    del ctx
    hits = load_table(engine, screening_hits, screening_hits.c.open.is_(True))
    if list_name is not None:
        hits = hits.filter(pl.col("list_name") == list_name)
    records = load_table(engine, entity_records).select("record_id", "entity_id", "name")
    return (hits.join(records, on="record_id", how="left").sort(["score", "id"], descending=[True, False])
            .head(limit))


def dispose(engine: Engine, ctx: AccessContext, hit_id: int, disposition: str, reason: str) -> None:
    """Record an analyst's verdict on a hit; the pair (record, entry) is remembered for later runs."""
    if disposition not in DISPOSITIONS:
        raise ScreeningError(f"disposition must be one of {', '.join(sorted(DISPOSITIONS))}, got '{disposition}'")
    if not reason.strip():
        raise ScreeningError("give a reason for the disposition")
    with engine.begin() as conn:
        hit = conn.execute(select(screening_hits).where(screening_hits.c.id == hit_id)).mappings().first()
        if hit is None:
            raise ScreeningError(f"no screening hit {hit_id}")
        key = {"record_id": hit["record_id"], "list_name": hit["list_name"], "entry_id": hit["entry_id"]}
        conn.execute(delete(screening_dispositions).where(
            (screening_dispositions.c.record_id == key["record_id"])
            & (screening_dispositions.c.list_name == key["list_name"])
            & (screening_dispositions.c.entry_id == key["entry_id"])))
        conn.execute(screening_dispositions.insert().values(**key, disposition=disposition, reason=reason,
                                                            decided_by=ctx.user, decided_at=datetime.now(UTC)))
        conn.execute(screening_hits.update().where(
            (screening_hits.c.record_id == key["record_id"]) & (screening_hits.c.list_name == key["list_name"])
            & (screening_hits.c.entry_id == key["entry_id"])).values(open=False))
