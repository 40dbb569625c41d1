"""The entity graph of the store: resolved entities, the identifiers they share, their declarations.

Nodes are entities (companies, persons, vessels) as resolution left them, the identifiers their
records give (address, phone, e-mail, bank account), declarations and containers. Edges come from
the source records, each with its date and provenance (source kind and key): a declaration's
importer, exporter, declarant and vessel; a company's directors; a record's identifiers; payments;
two subjects named in one intelligence report. Flags say which entities were caught (an
inspection with a finding against a declaration they imported, dated) and which are listed (a
screening hit not dismissed as a false positive, dated by the listing).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine, select

from cintel.domain.codes import OutcomeType, PartyRole
from cintel.domain.records import RecordKind
from cintel.entities.records import comparison_frame
from cintel.network.graph import EdgeKind, EntityGraph, NodeKind
from cintel.settings import get_settings
from cintel.store import tables
from cintel.store.entity_tables import (
    entities,
    entity_record_sources,
    entity_records,
    screening_dispositions,
    screening_hits,
)
from cintel.store.frames import load_inspections, load_table

TRUE_HIT = "true_hit"
CAUGHT_WEIGHT, LISTED_WEIGHT = 1.0, 0.8  # a finding weighs more than a name on a list
EDGE_SCHEMA = {"src": pl.String, "dst": pl.String, "kind": pl.String, "date": pl.Date, "source_kind": pl.String,
               "source_key": pl.String}
# Identifier attribute (normalised column) -> node kind and edge kind.
IDENTIFIERS = {
    "address_key": (NodeKind.ADDRESS, EdgeKind.HAS_ADDRESS),
    "phone_key": (NodeKind.PHONE, EdgeKind.HAS_PHONE),
    "email_key": (NodeKind.EMAIL, EdgeKind.HAS_EMAIL),
    "iban_key": (NodeKind.ACCOUNT, EdgeKind.HAS_ACCOUNT),
}
# Role of a party on a declaration -> edge kind and whether the edge runs from the declaration.
DECLARATION_ROLES = {
    PartyRole.IMPORTER.value: (EdgeKind.IMPORTER_OF, False),
    PartyRole.EXPORTER.value: (EdgeKind.EXPORTER_OF, False),
    PartyRole.DECLARANT.value: (EdgeKind.DECLARED_BY, True),
    PartyRole.VESSEL.value: (EdgeKind.CARRIED_BY, True),
}


@dataclass(frozen=True)
class StoreNetwork:
    """The graph with its frames, and the dated seeds (caught and listed entities) risk spreads from."""

    graph: EntityGraph
    seeds: pl.DataFrame  # node_id, weight, date, reason


def entity_node(entity_id: str) -> str:
    return f"entity:{entity_id}"


def _mentions(engine: Engine) -> pl.DataFrame:
    """Every source mention with the entity its record resolved to."""
    sources = load_table(engine, entity_record_sources)
    records = load_table(engine, entity_records).select("record_id", "entity_id")
    return sources.join(records.drop_nulls("entity_id"), on="record_id").with_columns(
        node=pl.lit("entity:") + pl.col("entity_id"), base_role=pl.col("role").str.split(":").list.first())


def _edges(frame: pl.DataFrame, src: pl.Expr, dst: pl.Expr, kind: EdgeKind, date: pl.Expr, source_kind: pl.Expr,
           source_key: pl.Expr) -> pl.DataFrame:
    return frame.select(src.alias("src"), dst.alias("dst"), pl.lit(kind.value).alias("kind"),
                        date.cast(pl.Date).alias("date"), source_kind.alias("source_kind"),
                        source_key.alias("source_key"))


def _declaration_edges(mentions: pl.DataFrame) -> pl.DataFrame:
    decl = mentions.filter(pl.col("source_kind") == RecordKind.DECLARATIONS.value)
    out = []
    for role, (kind, from_declaration) in DECLARATION_ROLES.items():
        part = decl.filter(pl.col("base_role") == role)
        declaration = pl.lit("declaration:") + pl.col("source_key")
        src, dst = (declaration, pl.col("node")) if from_declaration else (pl.col("node"), declaration)
        out.append(_edges(part, src, dst, kind, pl.col("seen_on"), pl.col("source_kind"), pl.col("source_key")))
    return pl.concat(out)


def _director_edges(mentions: pl.DataFrame) -> pl.DataFrame:
    parties = mentions.filter(pl.col("source_kind") == RecordKind.PARTIES.value)
    directors = parties.filter(pl.col("base_role") == PartyRole.DIRECTOR.value)
    companies = parties.filter(pl.col("base_role") == PartyRole.REGISTERED.value).select(
        "source_key", company=pl.col("node"))
    joined = directors.join(companies, on="source_key")
    return _edges(joined, pl.col("node"), pl.col("company"), EdgeKind.DIRECTOR_OF, pl.col("seen_on"),
                  pl.col("source_kind"), pl.col("source_key"))


def _payment_edges(mentions: pl.DataFrame) -> pl.DataFrame:
    financial = mentions.filter(pl.col("source_kind") == RecordKind.FINANCIAL.value)
    payer = financial.filter(pl.col("base_role") == PartyRole.PAYER.value)
    payee = financial.filter(pl.col("base_role") == PartyRole.PAYEE.value).select("source_key", payee=pl.col("node"))
    joined = payer.join(payee, on="source_key")
    return _edges(joined, pl.col("node"), pl.col("payee"), EdgeKind.PAID, pl.col("seen_on"), pl.col("source_kind"),
                  pl.col("source_key"))


def _report_edges(mentions: pl.DataFrame) -> pl.DataFrame:
    subjects = mentions.filter(pl.col("source_kind") == RecordKind.INTEL_REPORTS.value).select(
        "source_key", "node", "seen_on")
    pairs = subjects.join(subjects, on="source_key", suffix="_r").filter(pl.col("node") < pl.col("node_r"))
    return _edges(pairs, pl.col("node"), pl.col("node_r"), EdgeKind.MENTIONED_IN_REPORT, pl.col("seen_on"),
                  pl.lit(RecordKind.INTEL_REPORTS.value), pl.col("source_key"))


def _identifier_edges(engine: Engine) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Edges from each resolved record to the identifiers it gives, and the identifier nodes."""
    records = load_table(engine, entity_records).drop_nulls("entity_id")
    keys = comparison_frame(records).select("record_id", *IDENTIFIERS)
    raw = [column.removesuffix("_key") for column in IDENTIFIERS]
    keyed = records.select("record_id", "entity_id", "first_seen", *raw).join(keys, on="record_id")
    edges, nodes = [], []
    for column, (node_kind, edge_kind) in IDENTIFIERS.items():
        part = keyed.drop_nulls(column)
        node = pl.lit(f"{node_kind.value}:") + pl.col(column)
        edges.append(_edges(part, pl.lit("entity:") + pl.col("entity_id"), node, edge_kind, pl.col("first_seen"),
                            pl.lit("entity_records"), pl.col("record_id")))
        # Shown as the first spelling met, not the comparison key ("Kanaalweg 100", not "kanaal wg 100").
        nodes.append(part.sort("first_seen", "record_id").select(
            node.alias("node_id"), pl.lit(node_kind.value).alias("kind"),
            pl.col(column.removesuffix("_key")).alias("label")).unique("node_id", keep="first", maintain_order=True))
    return pl.concat(edges), pl.concat(nodes)


def _caught(engine: Engine, mentions: pl.DataFrame) -> pl.DataFrame:
    """Importer entities of declarations whose inspection found an irregularity, dated by the inspection (only
    inspections that count as outcomes: not a superseded record)."""
    inspections = load_inspections(engine)
    found = inspections.filter(pl.col("outcome") != OutcomeType.NO_FINDING.value).select(
        pl.col("declaration_id").alias("source_key"), pl.col("inspection_date").alias("date"))
    importers = mentions.filter((pl.col("source_kind") == RecordKind.DECLARATIONS.value)
                                & (pl.col("base_role") == PartyRole.IMPORTER.value))
    return (importers.join(found, on="source_key").group_by("node").agg(pl.col("date").min())
            .select(pl.col("node").alias("node_id"), weight=pl.lit(CAUGHT_WEIGHT), date="date",
                    reason=pl.lit("caught")))


def _listed(engine: Engine) -> pl.DataFrame:
    """Entities listed: a screening hit an analyst confirmed, or an open one of ``screening_auto_list_score``
    or more (weaker hits wait for an analyst), dated by the entry's listing."""
    hits, records, dispositions = screening_hits, entity_records, screening_dispositions
    watchlist = tables.record_tables[RecordKind.WATCHLIST]
    joined = (hits.join(records, records.c.record_id == hits.c.record_id)
              .join(watchlist, (watchlist.c.list_name == hits.c.list_name) & (watchlist.c.entry_id == hits.c.entry_id))
              .outerjoin(dispositions, (dispositions.c.record_id == hits.c.record_id)
                         & (dispositions.c.list_name == hits.c.list_name)
                         & (dispositions.c.entry_id == hits.c.entry_id)))
    query = (select(records.c.entity_id, watchlist.c.listed_on).select_from(joined)
             .where((dispositions.c.disposition == TRUE_HIT)
                    | (dispositions.c.disposition.is_(None)
                       & (hits.c.score >= get_settings().screening_auto_list_score))))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pl.DataFrame([tuple(r) for r in rows], schema={"entity_id": pl.String, "date": pl.Date}, orient="row")
    return (frame.drop_nulls("entity_id").group_by("entity_id").agg(pl.col("date").min())
            .select((pl.lit("entity:") + pl.col("entity_id")).alias("node_id"), weight=pl.lit(LISTED_WEIGHT),
                    date=pl.col("date").fill_null(pl.date(1990, 1, 1)), reason=pl.lit("listed")))


def load_network(engine: Engine) -> StoreNetwork:
    """The entity graph of the whole store, with its seeds. Run `cintel entities resolve` first."""
    mentions = _mentions(engine)
    id_edges, id_nodes = _identifier_edges(engine)
    containers = load_table(engine, tables.declaration_containers)
    decl_dates = mentions.filter(pl.col("source_kind") == RecordKind.DECLARATIONS.value).group_by("source_key").agg(
        pl.col("seen_on").min())
    container_edges = _edges(containers.join(decl_dates, left_on="declaration_id", right_on="source_key"),
                             pl.lit("declaration:") + pl.col("declaration_id"),
                             pl.lit("container:") + pl.col("container_number"), EdgeKind.IN_CONTAINER,
                             pl.col("seen_on"), pl.lit(RecordKind.DECLARATIONS.value), pl.col("declaration_id"))
    edges = pl.concat([_declaration_edges(mentions), _director_edges(mentions), _payment_edges(mentions),
                       _report_edges(mentions), id_edges, container_edges]).filter(pl.col("src") != pl.col("dst"))
    caught, listed = _caught(engine, mentions), _listed(engine)
    entity_rows = load_table(engine, entities)
    entity_nodes = entity_rows.select(
        (pl.lit("entity:") + pl.col("entity_id")).alias("node_id"), pl.col("entity_type").alias("kind"),
        pl.col("label"), pl.col("first_seen"))
    declaration_nodes = decl_dates.select((pl.lit("declaration:") + pl.col("source_key")).alias("node_id"),
                                          kind=pl.lit(NodeKind.DECLARATION.value), label=pl.col("source_key"),
                                          first_seen=pl.col("seen_on"))
    container_nodes = containers.select((pl.lit("container:") + pl.col("container_number")).alias("node_id"),
                                        kind=pl.lit(NodeKind.CONTAINER.value),
                                        label=pl.col("container_number")).unique("node_id")
    nodes = pl.concat([entity_nodes, id_nodes, declaration_nodes, container_nodes], how="diagonal_relaxed")
    nodes = nodes.with_columns(
        seized=pl.col("node_id").is_in(caught["node_id"].implode()),
        watchlisted=pl.col("node_id").is_in(listed["node_id"].implode()))
    seeds = pl.concat([caught, listed]).sort(["node_id", "date"])
    return StoreNetwork(graph=EntityGraph.from_frames(nodes, edges), seeds=seeds)
