"""Entity resolution on the store: extract party records, score them, cluster them, keep the result.

`resolve_store` is incremental by default: party records already in the store keep their scored
pairs; only new records are scored, against each other and against the stored ones, and the
clustering is redone over all stored pairs (cheap: it is a graph's connected components). A full
run (`full=True`) re-scores everything with the active model; `retrain=True` trains a new model
first. Analysts' decisions (`merge`, `split`, `not_same`) are stored apart and applied on every
clustering, so they survive both paths.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from cintel.domain.access import AccessContext
from cintel.domain.records import RecordKind
from cintel.entities.cluster import NOT_SAME, SAME, assign_ids, cluster
from cintel.entities.records import comparison_frame, counterparts, party_records
from cintel.entities.resolve import ResolutionError, evidence_in_words, party_spec, score_pairs, train_model
from cintel.settings import get_settings
from cintel.store.bulk import copy_rows
from cintel.store.entity_tables import (
    entities,
    entity_decisions,
    entity_links,
    entity_models,
    entity_record_sources,
    entity_records,
)
from cintel.store.frames import load_headers, load_items, load_records, load_table
from cintel.store.transaction import Bind, transaction

log = logging.getLogger(__name__)
_REWRITE_ABOVE = 20_000
SOURCE_KINDS = (RecordKind.PARTIES, RecordKind.DECLARATIONS, RecordKind.MANIFESTS, RecordKind.FINANCIAL,
                RecordKind.INTEL_REPORTS, RecordKind.WATCHLIST)


@dataclass
class ResolutionReport:
    """What a resolution run did."""

    mode: str  # full or incremental
    model_id: str
    records: int
    new_records: int
    pairs_scored: int
    pairs_stored: int
    entities: int
    multi_record_entities: int
    seconds: float
    evidence: str = ""  # what the store gives resolution to go on, in words


    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_frames(engine: Engine) -> dict[RecordKind, pl.DataFrame]:
    """The stored records every party mention comes from."""
    frames: dict[RecordKind, pl.DataFrame] = {kind: load_records(engine, kind) for kind in SOURCE_KINDS
                                              if kind is not RecordKind.DECLARATIONS}
    frames[RecordKind.DECLARATIONS] = load_headers(engine)
    return frames


_IDENTIFIER_KEYS = {"tax_id_key": "tax numbers", "phone_key": "phones", "email_key": "e-mails",
                    "iban_key": "bank accounts", "imo_key": "IMO numbers", "address_key": "addresses"}


def evidence_summary(compared: pl.DataFrame) -> str:
    """What resolution has to go on, in words: the identifiers two or more records share, else what is left
    ("no shared identifiers: names, countries and counterparts only")."""
    shared = []
    for key, words in _IDENTIFIER_KEYS.items():
        if key in compared.columns:
            n = compared.select(key).drop_nulls().group_by(key).len().filter(pl.col("len") > 1).height
            if n:
                shared.append(f"{n:,} shared {words}")
    rest = ["names"] if compared["name_core"].drop_nulls().len() else []
    rest += ["countries"] if compared["country"].drop_nulls().len() else []
    if "importers" in compared.columns and compared["importers"].drop_nulls().len():
        rest.append("counterparts")
    if shared:
        return "identifiers: " + ", ".join(shared) + (f"; also {', '.join(rest)}" if rest else "")
    return "no shared identifiers: " + (", ".join(rest[:-1]) + " and " + rest[-1] if len(rest) > 1
                                        else "".join(rest) or "nothing") + " only"


def _facts(engine: Engine, sources: pl.DataFrame, headers: pl.DataFrame) -> pl.DataFrame:
    """The counterparts of exporter records (importers, ports of loading, HS chapters) from the store."""
    items = load_items(engine).select("declaration_id", "hs_code") if headers.height else None
    return counterparts(sources, headers, items)


def _active_model(conn: Connection) -> tuple[str, dict[str, Any]] | None:
    row = conn.execute(select(entity_models.c.model_id, entity_models.c.settings)
                       .where(entity_models.c.status == "active")).first()
    return (str(row[0]), json.loads(row[1])) if row else None


def _save_model(conn: Connection, model: dict[str, Any], records: int, user: str) -> str:
    version = int(conn.execute(select(func.coalesce(func.max(entity_models.c.version), 0))).scalar_one()) + 1
    model_id = f"resolution-v{version}"
    conn.execute(update(entity_models).where(entity_models.c.status == "active").values(status="retired"))
    conn.execute(insert(entity_models).values(model_id=model_id, version=version, status="active",
                                              settings=json.dumps(model), trained_on=records, created_by=user,
                                              created_at=datetime.now(UTC)))
    return model_id


def decisions_frame(conn: Bind) -> pl.DataFrame:
    """Analysts' decisions in the order they were taken (record_a, record_b, decision)."""
    with transaction(conn) as c:
        rows = c.execute(select(entity_decisions.c.record_a, entity_decisions.c.record_b,
                                entity_decisions.c.decision).order_by(entity_decisions.c.id)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema={"record_a": pl.String, "record_b": pl.String,
                                                          "decision": pl.String}, orient="row")


def _store_records(conn: Connection, records: pl.DataFrame, sources: pl.DataFrame) -> int:
    known = load_table(conn, entity_records).select("record_id") if records.height else records
    new = records.join(known, on="record_id", how="anti")
    copy_rows(conn, entity_records, new.with_columns(entity_id=pl.lit(None, dtype=pl.String)))
    known_sources = load_table(conn, entity_record_sources).select("source_kind", "source_key", "role")
    copy_rows(conn, entity_record_sources,
              sources.join(known_sources, on=["source_kind", "source_key", "role"], how="anti"))
    return new.height


def _recluster(conn: Connection, threshold: float, compared: pl.DataFrame | None = None) -> pl.DataFrame:
    """Cluster every stored record, keep entity ids where clusters keep them, rewrite `entities`."""
    records = load_table(conn, entity_records)
    links = load_table(conn, entity_links).select("record_a", "record_b", "probability")
    # A resolution run has just normalised every stored record; analysts' decisions have not.
    compared = compared if compared is not None else comparison_frame(records)
    labels = compared.select("record_id", pl.col("tax_id_key").alias("label"),
                             pl.col("address_key").alias("address"))
    clusters = cluster(records["record_id"], links, decisions_frame(conn), threshold, labels)
    previous = records.select("record_id", "entity_id").drop_nulls()
    highest = previous["entity_id"].str.slice(3).cast(pl.Int64, strict=False).max() if previous.height else 0
    assigned, _ = assign_ids(clusters, previous, int(highest or 0) + 1)  # type: ignore[arg-type]
    changed = assigned.join(previous, on="record_id", how="left", suffix="_old").filter(
        pl.col("entity_id_old").is_null() | (pl.col("entity_id") != pl.col("entity_id_old")))
    if changed.height > _REWRITE_ABOVE:  # a first or full run: rewriting the table beats row updates
        conn.execute(delete(entity_records))
        copy_rows(conn, entity_records, records.drop("entity_id").join(assigned, on="record_id"))
    elif changed.height:
        conn.execute(update(entity_records).where(entity_records.c.record_id == bindparam("rid"))
                     .values(entity_id=bindparam("eid")),
                     [{"rid": r, "eid": e} for r, e in changed.select("record_id", "entity_id").iter_rows()])
    summary = _entity_rows(records.drop("entity_id").join(assigned, on="record_id"))
    conn.execute(delete(entities))
    copy_rows(conn, entities, summary.with_columns(updated_at=pl.lit(datetime.now(UTC))))
    return summary


def _entity_rows(records: pl.DataFrame) -> pl.DataFrame:
    """One row per entity: its type (the most specific its records give), label, country, size."""
    known_type = pl.col("entity_type").filter(pl.col("entity_type") != "unknown")
    return (records.group_by("entity_id").agg(
        known_type.mode().sort().first().fill_null("company").alias("entity_type"),
        pl.col("name").drop_nulls().mode().sort().first().fill_null(pl.col("imo").drop_nulls().first())
        .fill_null(pl.col("tax_id").drop_nulls().first()).fill_null("(no name)").alias("label"),
        pl.col("country").drop_nulls().mode().sort().first().alias("country"),
        pl.len().cast(pl.Int64).alias("records"),
        pl.col("first_seen").min(),
    ).sort("entity_id"))


def resolve_store(engine: Engine, ctx: AccessContext, *, full: bool = False, retrain: bool = False,
                  threshold: float | None = None) -> ResolutionReport:
    """Resolve every party in the store into entities; incremental unless ``full`` or ``retrain``."""
    started = time.perf_counter()
    settings = get_settings()
    threshold = threshold if threshold is not None else settings.entity_match_threshold
    frames = source_frames(engine)
    records, sources = party_records(frames)
    if records.height < 2:
        raise ResolutionError(f"nothing to resolve: the store gives {records.height} party record(s); "
                              "ingest parties, declarations, manifests or watch lists first")
    with engine.begin() as conn:
        known = load_table(conn, entity_record_sources)
    facts = _facts(engine, pl.concat([known, sources], how="vertical_relaxed").unique(
        ["source_kind", "source_key", "role"]), frames[RecordKind.DECLARATIONS])
    with engine.begin() as conn:
        active = _active_model(conn)
        stored = load_table(engine, entity_records).select("record_id")
        if active is None or retrain:
            model = train_model(comparison_frame(records, facts), party_spec())
            model_id = _save_model(conn, model, records.height, ctx.user)
            full = True
        else:
            model_id, model = active
        new_count = _store_records(conn, records, sources)
        everything = comparison_frame(load_table(conn, entity_records), facts)
        if full:
            pairs = score_pairs(model, everything, floor=settings.entity_link_floor)
            conn.execute(delete(entity_links))
        else:
            new_ids = records.join(stored, on="record_id", how="anti").select("record_id")
            old = everything.join(new_ids, on="record_id", how="anti")
            new = everything.join(new_ids, on="record_id", how="semi")
            pairs = score_pairs(model, old, new=new, floor=settings.entity_link_floor) if new.height else \
                pl.DataFrame(schema={"record_a": pl.String})
        if pairs.height:
            copy_rows(conn, entity_links, pairs.with_columns(model_id=pl.lit(model_id)))
        summary = _recluster(conn, threshold, everything)
        total_links = int(conn.execute(select(func.count()).select_from(entity_links)).scalar_one())
    return ResolutionReport(
        mode="full" if full else "incremental", model_id=model_id, records=everything.height,
        new_records=new_count, pairs_scored=pairs.height, pairs_stored=total_links, entities=summary.height,
        multi_record_entities=summary.filter(pl.col("records") > 1).height,
        seconds=round(time.perf_counter() - started, 2), evidence=evidence_summary(everything))


def decide(engine: Engine, ctx: AccessContext, record_a: str, record_b: str, decision: str, reason: str) -> None:
    """Record an analyst's decision on a pair of records; it overrides the model from now on."""
    if decision not in (SAME, NOT_SAME):
        raise ResolutionError(f"decision must be '{SAME}' or '{NOT_SAME}', got '{decision}'")
    with engine.begin() as conn:
        conn.execute(insert(entity_decisions).values(
            record_a=min(record_a, record_b), record_b=max(record_a, record_b), decision=decision,
            reason=reason, decided_by=ctx.user, decided_at=datetime.now(UTC)))


def _entity_records(conn: Connection, entity_id: str) -> pl.DataFrame:
    records = load_table(conn, entity_records, entity_records.c.entity_id == entity_id)
    if records.is_empty():
        raise ResolutionError(f"no entity '{entity_id}'; `cintel entities resolve` first, or check the id")
    return records.sort("record_id")


def _check_records(records: pl.DataFrame, wanted: list[str], entity_id: str) -> None:
    missing = sorted(set(wanted) - set(records["record_id"].to_list()))
    if missing:
        raise ResolutionError(f"record(s) {', '.join(missing[:3])} are not in entity {entity_id}")


def merge(engine: Engine, ctx: AccessContext, entity_a: str, entity_b: str, reason: str) -> str:
    """Merge two entities: the analyst says they are one. Returns the surviving entity id."""
    if entity_a == entity_b:
        raise ResolutionError("merge needs two different entities")
    _require_reason(reason)
    with engine.begin() as conn:
        a, b = _entity_records(conn, entity_a), _entity_records(conn, entity_b)
        _decide(conn, ctx, [(a["record_id"][0], b["record_id"][0])], SAME, reason)
        _recluster(conn, _threshold())
        row = conn.execute(select(entity_records.c.entity_id)
                           .where(entity_records.c.record_id == a["record_id"][0])).scalar_one()
    return str(row)


def split(engine: Engine, ctx: AccessContext, entity_id: str, record_ids: list[str], reason: str) -> list[str]:
    """Split the given records off an entity: they are not the same party as the rest.

    The records split off stay together (the analyst's "same" decisions bind them). Returns the
    entity ids the records now belong to.
    """
    _require_reason(reason)
    with engine.begin() as conn:
        records = _entity_records(conn, entity_id)
        _check_records(records, record_ids, entity_id)
        rest = [r for r in records["record_id"].to_list() if r not in set(record_ids)]
        if not rest or not record_ids:
            raise ResolutionError("split needs some, but not all, of the entity's records")
        _decide(conn, ctx, [(x, y) for x in record_ids for y in rest], NOT_SAME, reason)
        _decide(conn, ctx, [(record_ids[0], x) for x in record_ids[1:]], SAME, reason)
        _decide(conn, ctx, [(rest[0], x) for x in rest[1:]], SAME, reason)
        _recluster(conn, _threshold())
        ids = conn.execute(select(entity_records.c.entity_id).distinct()
                           .where(entity_records.c.record_id.in_(records["record_id"].to_list()))).scalars()
        return sorted(str(i) for i in ids)


def not_same(engine: Engine, ctx: AccessContext, entity_a: str, entity_b: str, reason: str) -> None:
    """Record that two entities are different parties, so no later run merges them."""
    _require_reason(reason)
    with engine.begin() as conn:
        a, b = _entity_records(conn, entity_a), _entity_records(conn, entity_b)
        _decide(conn, ctx, [(x, y) for x in a["record_id"] for y in b["record_id"]], NOT_SAME, reason)
        _recluster(conn, _threshold())


def _threshold() -> float:
    return get_settings().entity_match_threshold


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ResolutionError("give a reason: analysts' decisions are kept with why they were taken")


def _decide(conn: Connection, ctx: AccessContext, pairs: list[tuple[str, str]], decision: str, reason: str) -> None:
    now = datetime.now(UTC)
    rows = [{"record_a": min(x, y), "record_b": max(x, y), "decision": decision, "reason": reason,
             "decided_by": ctx.user, "decided_at": now} for x, y in pairs if x != y]
    if rows:
        conn.execute(insert(entity_decisions), rows)


@dataclass
class EntityView:
    """One entity as an analyst sees it: its records, where they come from, and why they were joined."""

    entity: dict[str, Any]
    records: pl.DataFrame  # record_id, entity_type, name, country, tax_id, ..., sources
    sources: pl.DataFrame  # source_kind, source_key, role, record_id, seen_on
    links: pl.DataFrame  # pairs inside the entity: record_a, record_b, probability, match_weight, explanation,
    # evidence (the explanation in words)
    decisions: pl.DataFrame  # analysts' decisions touching its records


def entity_view(engine: Engine, ctx: AccessContext, entity_id: str, *, source_limit: int = 200) -> EntityView:
    """Everything known about one entity (for `cintel entities show|explain`)."""
    del ctx  # the access context is the audit log's, recorded by the caller's layer in a later issue
    with engine.connect() as conn:
        records = _entity_records(conn, entity_id)
        ids = records["record_id"].to_list()
        row = conn.execute(select(entities).where(entities.c.entity_id == entity_id)).mappings().first()
        sources = load_table(conn, entity_record_sources, entity_record_sources.c.record_id.in_(ids))
        links = load_table(conn, entity_links, entity_links.c.record_a.in_(ids) & entity_links.c.record_b.in_(ids))
        decided = load_table(conn, entity_decisions,
                             entity_decisions.c.record_a.in_(ids) | entity_decisions.c.record_b.in_(ids))
    counts = sources.group_by("record_id").agg(pl.len().alias("sources"),
                                               pl.col("role").str.split(":").list.first().unique().sort()
                                               .str.join(",").alias("roles"))
    records = records.join(counts, on="record_id", how="left").with_columns(pl.col("sources").fill_null(0))
    return EntityView(entity=dict(row) if row else {"entity_id": entity_id}, records=records,
                      sources=sources.sort(["seen_on", "source_kind", "source_key"]).head(source_limit),
                      links=links.sort("probability", descending=True).with_columns(
                          pl.col("explanation").map_elements(evidence_in_words, return_dtype=pl.String)
                          .alias("evidence")), decisions=decided.sort("id"))
