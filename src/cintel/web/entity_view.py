"""What the entity, graph and network pages show, assembled from the store and the cached entity graph.

Plain functions on an Engine (or a ``StoreNetwork``), JSON-ready dicts out: the pages and the API render the
same dicts. The graph comes from ``cintel.network.cache`` so a click in the browser never rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import ColumnElement, Engine, and_, or_, select

from cintel.domain.access import AccessContext
from cintel.domain.codes import OutcomeType
from cintel.domain.records import FORMATS, RecordKind
from cintel.entities.service import entity_view
from cintel.network.cache import network_cache
from cintel.network.graph import NO_DATE, EdgeKind, NetworkError, NodeKind, csr_positions
from cintel.network.propagation import propagate_risk
from cintel.network.queries import shortest_paths
from cintel.network.rings import Ring
from cintel.network.service import node_of, party_graph
from cintel.network.store_graph import StoreNetwork, entity_node
from cintel.network.ties import ring_communities
from cintel.settings import get_settings
from cintel.store import tables
from cintel.store.entity_tables import entities, screening_dispositions, screening_hits

IDENTIFIER_FIELDS = ("tax_id", "address", "phone", "email", "iban", "imo")
EXPAND_LIMIT = 50  # neighbours shown per expansion by default
MAX_EXPAND_LIMIT = 500
SOURCE_LIMIT = 200
TIMELINE_DECLARATIONS = 50  # most recent declarations listed under the timeline
# Which neighbours of a hub are shown first: flagged ones, then parties, identifiers, containers, declarations.
KIND_RANK = {NodeKind.COMPANY.value: 0, NodeKind.PERSON.value: 0, NodeKind.VESSEL.value: 1,
             NodeKind.ACCOUNT.value: 2, NodeKind.PHONE.value: 2, NodeKind.EMAIL.value: 2, NodeKind.ADDRESS.value: 2,
             NodeKind.CONTAINER.value: 3, NodeKind.DECLARATION.value: 4}
EPOCH = date(1970, 1, 1)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


# --- the entity ---------------------------------------------------------------------------------------------------

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


def _hits(engine: Engine, record_ids: list[str]) -> list[dict[str, Any]]:
    """Every screening hit of the records, open or disposed, with the entry and the disposition."""
    h, d = screening_hits, screening_dispositions
    watchlist = tables.record_tables[RecordKind.WATCHLIST]
    q = (select(h.c.id, h.c.record_id, h.c.list_name, h.c.entry_id, h.c.score, h.c.matched_name, h.c.open,
                h.c.screened_at, watchlist.c.program, watchlist.c.listed_on, d.c.disposition, d.c.reason,
                d.c.decided_by, d.c.decided_at)
         .select_from(h.outerjoin(watchlist, and_(watchlist.c.list_name == h.c.list_name,
                                                  watchlist.c.entry_id == h.c.entry_id))
                      .outerjoin(d, and_(d.c.record_id == h.c.record_id, d.c.list_name == h.c.list_name,
                                         d.c.entry_id == h.c.entry_id)))
         .where(h.c.record_id.in_(record_ids)).order_by(h.c.open.desc(), h.c.score.desc(), h.c.id))
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    out = []
    for r in rows:
        row = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
        row["score"] = round(float(r["score"]), 3)
        out.append(row)
    return out


def timeline(engine: Engine, record_ids: list[str]) -> dict[str, Any]:
    """Declarations naming the entity per ISO week (Monday), with how many were inspected and how many found
    something; and the most recent declarations, each with its role and inspection outcome."""
    from cintel.store.entity_tables import entity_record_sources as src

    inspections = tables.record_tables[RecordKind.INSPECTIONS]
    q = (select(src.c.source_key.label("declaration_id"), src.c.role, src.c.seen_on, inspections.c.outcome)
         .select_from(src.outerjoin(inspections, inspections.c.declaration_id == src.c.source_key))
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


def entity_page(engine: Engine, ctx: AccessContext, entity_id: str) -> dict[str, Any] | None:
    """Everything the entity page shows (None when the entity is unknown): the entity, its identifiers,
    aliases (names its records give), source records with their batch and row, screening hits with their
    dispositions, the analysts' decisions, the weekly declaration timeline and the graph's start node."""
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
        "node_id": entity_node(entity_id),
        "identifiers": identifiers,
        "aliases": [{"name": n, "records": c, "countries": list(cs)} for n, c, cs in aliases.iter_rows()],
        "records": _rows(records.select("record_id", "entity_type", "name", "country", "tax_id", "first_seen",
                                        "sources", "roles")),
        "sources": _rows(sources.select("source_kind", "source_key", "role", "record_id", "seen_on", "batch_id",
                                        "source_row")),
        "sources_shown": sources.height,
        "hits": _hits(engine, record_ids),
        "decisions": _rows(view.decisions.select("id", "record_a", "record_b", "decision", "reason", "decided_by",
                                                 "decided_at")),
        "timeline": timeline(engine, record_ids),
        "edge_kinds": [{"kind": k.value, "description": k.description} for k in EdgeKind],
    }


# --- graph expansion ----------------------------------------------------------------------------------------------

def _risk(network: StoreNetwork) -> np.ndarray:
    """Per vertex, the risk spread from caught and listed parties as of the day after the latest tie."""
    g = network.graph
    days = g.edge_days[g.edge_days != NO_DATE]
    as_of = EPOCH + timedelta(days=int(days.max()) + 1) if days.shape[0] else date.today()
    risk = propagate_risk(g, network.seeds, as_of=as_of, half_life_days=get_settings().network_half_life_days)
    ids = g.nodes.select("node_id").join(risk.select("node_id", "risk"), on="node_id", how="left",
                                         maintain_order="left")
    values: np.ndarray = ids["risk"].fill_null(0.0).to_numpy()
    return values


def node_risk(engine: Engine) -> np.ndarray:
    """The cached per-vertex risk of the current graph."""
    return network_cache(engine).derived("risk", _risk)


def _node_data(network: StoreNetwork, index: np.ndarray, risk: np.ndarray | None) -> list[dict[str, Any]]:
    g = network.graph
    part = g.nodes[index].select("node_id", "kind", "label", "seized", "watchlisted")
    degree = g.degree[index]
    out = []
    for i, row in enumerate(part.iter_rows(named=True)):
        out.append({"data": {"id": row["node_id"], "kind": row["kind"], "label": row["label"] or row["node_id"],
                             "caught": bool(row["seized"]), "listed": bool(row["watchlisted"]),
                             "risk": round(float(risk[index[i]]), 4) if risk is not None else None,
                             "degree": int(degree[i]),
                             "entity_id": row["node_id"].removeprefix("entity:")
                             if row["node_id"].startswith("entity:") else None}})
    return out


def expand(network: StoreNetwork, node_id: str, *, kinds: Iterable[str] | None = None, since: date | None = None,
           until: date | None = None, limit: int = EXPAND_LIMIT, risk: np.ndarray | None = None
           ) -> dict[str, Any]:
    """The 1-hop neighbourhood of ``node_id`` as Cytoscape elements: the node, at most ``limit`` neighbours
    (flagged ones first, then parties before identifiers before declarations, then the most recent tie) and
    every edge from the node to them that passes the kind and date filters; ``more`` counts the neighbours
    left out. ``NetworkError`` when the node is unknown or a kind is not an edge kind."""
    g = network.graph
    start = g.index_of(node_id)
    wanted = None if kinds is None else g.kind_codes(kinds)
    indptr, neighbour, edge = g.csr
    pos = csr_positions(indptr, np.array([start], dtype=np.int64))
    eids, nbrs = edge[pos].astype(np.int64), neighbour[pos].astype(np.int64)
    keep = np.ones(eids.shape[0], dtype=bool)
    if wanted is not None:
        keep &= np.isin(g.edge_kind_codes[eids], wanted)
    if since is not None or until is not None:
        d = g.edge_days[eids]
        dated = d != NO_DATE  # an undated tie is not known to fall outside the window
        if since is not None:
            keep &= ~dated | (d >= (since - EPOCH).days)
        if until is not None:
            keep &= ~dated | (d <= (until - EPOCH).days)
    eids, nbrs = eids[keep], nbrs[keep]
    self_loop = nbrs == start
    eids, nbrs = eids[~self_loop], nbrs[~self_loop]
    distinct = np.unique(nbrs)
    total = int(distinct.shape[0])
    if total > limit:
        # Rank the neighbours (vectorised: a hub has thousands) and keep the top ``limit``.
        flagged = (g.nodes["seized"].to_numpy()[distinct] | g.nodes["watchlisted"].to_numpy()[distinct])
        kind_rank = g.nodes["kind"].gather(distinct).replace_strict(KIND_RANK, default=5).to_numpy()
        latest = np.full(distinct.shape[0], NO_DATE, dtype=np.int64)
        np.maximum.at(latest, np.searchsorted(distinct, nbrs), g.edge_days[eids].astype(np.int64))
        order = np.lexsort((distinct, -latest, kind_rank, ~flagged))
        shown = np.sort(distinct[order[:limit]])
        mask = np.isin(nbrs, shown)
        eids, nbrs = eids[mask], nbrs[mask]
    else:
        shown = distinct
    edges = g.edges[eids].select("src", "dst", "kind", "date", "source_kind", "source_key", "records")
    edge_rows = [{"data": {"id": f"e{e}", "source": r["src"], "target": r["dst"], "kind": r["kind"],
                           "date": _iso(r["date"]), "source_kind": r["source_kind"], "source_key": r["source_key"],
                           "records": r["records"]}}
                 for e, r in zip(eids.tolist(), edges.iter_rows(named=True), strict=True)]
    return {"node": node_id, "nodes": _node_data(network, np.concatenate([[start], shown]).astype(np.int64), risk),
            "edges": edge_rows, "shown": int(shown.shape[0]), "total": total, "more": total - int(shown.shape[0])}


def expand_node(engine: Engine, node_id: str, *, kinds: Iterable[str] | None = None, since: date | None = None,
                until: date | None = None, limit: int = EXPAND_LIMIT) -> dict[str, Any]:
    """``expand`` on the cached graph of the store, with the cached risk."""
    cache = network_cache(engine)
    network = cache.network()
    found = expand(network, node_id, kinds=kinds, since=since, until=until, limit=limit, risk=node_risk(engine))
    return {**found, "graph": graph_status(engine)}


def graph_status(engine: Engine) -> dict[str, Any]:
    """When the graph answered was built (ISO time, UTC) and whether a newer one is being built: the
    cache answers the graph it holds while it rebuilds after the store changed."""
    status = network_cache(engine).status()
    built = status["built_at"]
    return {"as_of": datetime.fromtimestamp(built, UTC).isoformat(timespec="seconds") if built else None,
            "refreshing": status["refreshing"]}


# --- paths and rings ----------------------------------------------------------------------------------------------

def resolve_ref(engine: Engine, network: StoreNetwork, ref: str) -> str:
    """The node an analyst's reference names: an id the graph knows (entity, declaration or node id), or else
    the best entity a name search finds. ``NetworkError`` when neither works."""
    try:
        return node_of(network, ref)
    except NetworkError:
        from cintel.entities.search import search_entities

        found = search_entities(engine, ref, limit=1)
        if found:
            return entity_node(found[0]["entity_id"])
        raise


def path_report(engine: Engine, source: str, target: str, *, limit: int = 5) -> dict[str, Any]:
    """The shortest chains of ties between two references, each step with its kind, date and provenance."""
    network = network_cache(engine).network()
    a, b = resolve_ref(engine, network, source), resolve_ref(engine, network, target)
    found = shortest_paths(network.graph, a, b, limit=limit)
    labels = dict(network.graph.nodes.filter(pl.col("node_id").is_in(
        sorted({n for p in found for n in p.nodes} | {a, b}))).select("node_id", "label").iter_rows())
    paths = []
    for p in found:
        steps = _rows(p.edges.select("step", "src", "dst", "kind", "date", "source_kind", "source_key", "records"))
        for s in steps:
            s["src_label"], s["dst_label"] = labels.get(s["src"]), labels.get(s["dst"])
        paths.append({"hops": p.hops, "nodes": [{"id": n, "label": labels.get(n)} for n in p.nodes],
                      "steps": steps})
    return {"source": {"id": a, "label": labels.get(a)}, "target": {"id": b, "label": labels.get(b)},
            "paths": paths}


def _rings(network: StoreNetwork, top: int) -> list[Ring]:
    from cintel.network.rings import rings

    graph = party_graph(network.graph)
    return rings(graph, ring_communities(graph, seed=0), min_size=2, top=top)


MAX_RINGS = 50


def ring_list(engine: Engine, top: int = 20) -> list[dict[str, Any]]:
    """The ranked rings of ``network.service.ring_report``, on the cached graph (ranked once per graph)."""
    ranked = network_cache(engine).derived(("rings", MAX_RINGS), lambda n: _rings(n, MAX_RINGS))
    out = []
    for r in ranked[:top]:
        members = r.members.with_columns(
            entity_id=pl.col("node_id").str.strip_prefix("entity:"))
        out.append({"ring_id": r.ring_id, "score": round(r.score, 3), "summary": r.summary,
                    "parts": {k: round(v, 3) for k, v in r.parts.items()},
                    "members": _rows(members.select("node_id", "entity_id", "kind", "label", "seized", "watchlisted",
                                                    "first_seen")),
                    "evidence": _rows(r.evidence)})
    return out
