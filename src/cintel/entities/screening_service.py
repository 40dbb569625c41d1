"""Watch-list screening on the store: every party record against the stored lists, with dispositions.

`screen_store` screens the party records (all of them, or those not screened yet) against the
stored watch-list entries (all lists, or one) and replaces the open hits of what it screened.
A hit an analyst has disposed of is never raised again for the same record and entry: a false
positive stays quiet, a true hit stays on record (and marks the entity as listed in the network).

Screening runs per party *record*, but an analyst judges a *party*: an entity resolved from nine records
that all name the same listed company is one hit, not nine. ``open_hits`` and ``party_hits`` therefore
answer one hit per party (the entity, or the record when it is not resolved) and list entry, and a
disposition (``dispose``, ``dispose_many``) covers every record hit of that party and entry at once.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, and_, delete, select, tuple_

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
from cintel.store.tables import record_tables

PAIR = ("list_name", "entry_id")


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


REASON_MIN, REASON_MAX = 3, 500


class DispositionError(ScreeningError):
    """A disposition that cannot be recorded as given: ``problems`` maps each field (``hit_ids``,
    ``disposition``, ``reason``) to what is wrong with it, so a form can say it beside the field."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def disposition_problems(hit_ids: list[int], disposition: str, reason: str) -> dict[str, str]:
    """What is wrong with a disposition as given (empty when nothing is), field by field."""
    problems = {}
    if not hit_ids:
        problems["hit_ids"] = "choose at least one hit"
    if disposition not in DISPOSITIONS:
        problems["disposition"] = (f"disposition must be one of {', '.join(sorted(DISPOSITIONS))}, "
                                   f"got '{disposition[:40]}'" if disposition else "choose true hit or false positive")
    cleaned = reason.strip()
    if not REASON_MIN <= len(cleaned) <= REASON_MAX:
        problems["reason"] = (f"give a reason for the disposition, {REASON_MIN} to {REASON_MAX} characters"
                              + (f" (got {len(cleaned)})" if cleaned else ""))
    return problems


def _per_party(hits: pl.DataFrame) -> pl.DataFrame:
    """Record hits grouped to one row per party (``entity_id``, else the record) and list entry: the best
    scoring record hit gives ``id``, ``record_id``, ``score``, ``matched_name`` and ``explanation``;
    ``records`` counts the party's records that hit the entry, ``record_ids`` and ``hit_ids`` list them;
    ``open`` when any of them is."""
    party = pl.coalesce("entity_id", pl.lit("record:") + pl.col("record_id")).alias("party")
    ranked = hits.with_columns(party).sort(["score", "id"], descending=[True, False])
    return (ranked.group_by("party", *PAIR, maintain_order=True)
            .agg(pl.all().exclude("open", "record_id", "id").first(), pl.col("id").first(),
                 pl.col("record_id").first(), pl.col("open").any(),
                 pl.col("record_id").unique().sort().alias("record_ids"),
                 pl.col("id").sort().alias("hit_ids"), pl.col("record_id").n_unique().alias("records"))
            .drop("party"))


def open_hits(engine: Engine, ctx: AccessContext, *, list_name: str | None = None, limit: int = 100) -> pl.DataFrame:
    """Open hits, best first, one per party and list entry (see the module docstring), with the best record's
    name and the party's entity."""
    del ctx
    hits = load_table(engine, screening_hits, screening_hits.c.open.is_(True))
    if list_name is not None:
        hits = hits.filter(pl.col("list_name") == list_name)
    records = load_table(engine, entity_records).select("record_id", "entity_id", "name")
    return (_per_party(hits.join(records, on="record_id", how="left"))
            .sort(["score", "id"], descending=[True, False]).head(limit))


def party_hits(engine: Engine, ctx: AccessContext, entity_id: str) -> list[dict[str, Any]]:
    """Every screening hit of the entity's records, open or closed, one per list entry (open first, then the
    strongest): the entry's program and listing date, how many of its records hit it, and the latest
    disposition (who, when, why) or why it was closed without one (the entry was delisted)."""
    del ctx
    h, d = screening_hits, screening_dispositions
    watchlist = record_tables[RecordKind.WATCHLIST]
    q = (select(h.c.id, h.c.record_id, entity_records.c.entity_id, h.c.list_name, h.c.entry_id, h.c.list_version,
                h.c.score, h.c.matched_name, h.c.open, h.c.screened_at, h.c.closed_reason, watchlist.c.program,
                watchlist.c.listed_on)
         .select_from(h.join(entity_records, entity_records.c.record_id == h.c.record_id)
                      .outerjoin(watchlist, and_(watchlist.c.list_name == h.c.list_name,
                                                 watchlist.c.entry_id == h.c.entry_id)))
         .where(entity_records.c.entity_id == entity_id))
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
        verdicts = conn.execute(
            select(d.c.list_name, d.c.entry_id, d.c.disposition, d.c.reason, d.c.decided_by, d.c.decided_at)
            .join(entity_records, entity_records.c.record_id == d.c.record_id)
            .where(entity_records.c.entity_id == entity_id).order_by(d.c.decided_at)).mappings().all()
    if not rows:
        return []
    latest = {(v["list_name"], v["entry_id"]): dict(v) for v in verdicts}  # ordered by time: the last one wins
    frame = _per_party(pl.DataFrame(rows, infer_schema_length=None))
    out = []
    for hit in frame.sort(["open", "score", "id"], descending=[True, True, False]).iter_rows(named=True):
        verdict = latest.get((hit["list_name"], hit["entry_id"]), {})
        out.append({**{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in hit.items()},
                    "score": round(float(hit["score"]), 3),
                    **{k: verdict.get(k) for k in ("disposition", "reason", "decided_by")},
                    "decided_at": verdict["decided_at"].isoformat() if verdict.get("decided_at") else None})
    return out


def _record_hits(conn: Connection, hit_ids: list[int]) -> list[dict[str, Any]]:
    """Every record hit of the same party and list entry as each of ``hit_ids``; ScreeningError naming the
    first id that is no hit."""
    chosen = conn.execute(select(screening_hits.c.id, screening_hits.c.record_id, screening_hits.c.list_name,
                                 screening_hits.c.entry_id, entity_records.c.entity_id)
                          .outerjoin(entity_records, entity_records.c.record_id == screening_hits.c.record_id)
                          .where(screening_hits.c.id.in_(hit_ids))).mappings().all()
    missing = sorted(set(hit_ids) - {r["id"] for r in chosen})
    if missing:
        raise ScreeningError(f"no screening hit {missing[0]}")
    pairs = {(r["entity_id"], r["list_name"], r["entry_id"]) for r in chosen if r["entity_id"] is not None}
    by_record = [dict(r) for r in chosen if r["entity_id"] is None]
    if pairs:
        h, e = screening_hits, entity_records
        by_record += [dict(r) for r in conn.execute(
            select(h.c.id, h.c.record_id, h.c.list_name, h.c.entry_id, e.c.entity_id)
            .join(e, e.c.record_id == h.c.record_id)
            .where(tuple_(e.c.entity_id, h.c.list_name, h.c.entry_id).in_(sorted(pairs)))).mappings()]
    return by_record


def dispose_many(engine: Engine, ctx: AccessContext, hit_ids: list[int], disposition: str, reason: str, *,
                 entity_id: str | None = None) -> int:
    """Records one verdict, with one reason, on several hits at once: each covers every record hit of the same
    party and list entry, and the (record, entry) pairs are remembered for later runs. With ``entity_id``,
    every hit must be one of that entity's (ScreeningError otherwise). Answers the party hits disposed."""
    problems = disposition_problems(hit_ids, disposition, reason)
    if problems:
        raise DispositionError(problems)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        hits = _record_hits(conn, sorted(set(hit_ids)))
        if entity_id is not None and any(h["entity_id"] != entity_id for h in hits):
            stranger = next(h["id"] for h in hits if h["entity_id"] != entity_id)
            raise ScreeningError(f"entity '{entity_id}' has no screening hit {stranger}")
        keys = sorted({(h["record_id"], h["list_name"], h["entry_id"]) for h in hits})
        d = screening_dispositions
        conn.execute(delete(d).where(tuple_(d.c.record_id, d.c.list_name, d.c.entry_id).in_(keys)))
        conn.execute(d.insert(), [{"record_id": r, "list_name": ln, "entry_id": e, "disposition": disposition,
                                   "reason": reason.strip(), "decided_by": ctx.user, "decided_at": now}
                                  for r, ln, e in keys])
        conn.execute(screening_hits.update().where(screening_hits.c.id.in_(sorted({h["id"] for h in hits})))
                     .values(open=False))
    return len({(h["entity_id"] or h["record_id"], h["list_name"], h["entry_id"]) for h in hits})


def dispose(engine: Engine, ctx: AccessContext, hit_id: int, disposition: str, reason: str) -> None:
    """Record an analyst's verdict on a hit (and every hit of the same party and entry); the pairs (record,
    entry) are remembered for later runs."""
    dispose_many(engine, ctx, [hit_id], disposition, reason)
