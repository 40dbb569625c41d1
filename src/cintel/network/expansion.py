"""One click in the browser's graph: a node's direct ties, filtered by kind and date, as Cytoscape.js elements.

A hub (a broker, a port, a registered-agent address) has thousands of ties; ``expand`` answers its ``limit``
most telling neighbours - flagged ones first, then parties before identifiers before declarations, then the
most recently tied - and counts the rest. Each node carries the risk spread to it from caught and listed
parties (``graph_risk``), computed once per graph by the cache, never per click.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine

from cintel.network.cache import network_cache
from cintel.network.graph import NO_DATE, NodeKind, csr_positions
from cintel.network.propagation import propagate_risk
from cintel.network.queries import EdgeFilter, Subgraph, export_cytoscape
from cintel.network.store_graph import StoreNetwork
from cintel.settings import get_settings

EXPAND_LIMIT = 50  # neighbours shown per expansion by default
MAX_EXPAND_LIMIT = 500
EPOCH = date(1970, 1, 1)
# Which neighbours of a hub are shown first: flagged ones, then parties, identifiers, containers, declarations.
KIND_RANK = {NodeKind.COMPANY.value: 0, NodeKind.PERSON.value: 0, NodeKind.VESSEL.value: 1,
             NodeKind.ACCOUNT.value: 2, NodeKind.PHONE.value: 2, NodeKind.EMAIL.value: 2, NodeKind.ADDRESS.value: 2,
             NodeKind.CONTAINER.value: 3, NodeKind.DECLARATION.value: 4}
OTHER_RANK = 5


def graph_risk(network: StoreNetwork) -> np.ndarray:
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
    """The per-vertex risk of the store's cached graph (computed once per graph)."""
    return network_cache(engine).derived("risk", graph_risk)


def _ranked(network: StoreNetwork, distinct: np.ndarray, nbrs: np.ndarray, eids: np.ndarray,
            limit: int) -> np.ndarray:
    """The ``limit`` most telling of ``distinct`` neighbours (vectorised: a hub has thousands), sorted."""
    g = network.graph
    flagged = g.nodes["seized"].to_numpy()[distinct] | g.nodes["watchlisted"].to_numpy()[distinct]
    kind_rank = g.nodes["kind"].gather(distinct).replace_strict(KIND_RANK, default=OTHER_RANK).to_numpy()
    latest = np.full(distinct.shape[0], NO_DATE, dtype=np.int64)
    np.maximum.at(latest, np.searchsorted(distinct, nbrs), g.edge_days[eids].astype(np.int64))
    order = np.lexsort((distinct, -latest, kind_rank, ~flagged))
    return np.sort(distinct[order[:limit]])


def _elements(network: StoreNetwork, index: np.ndarray, eids: np.ndarray,
              risk: np.ndarray | None) -> dict[str, list[dict[str, Any]]]:
    """Cytoscape elements of vertices ``index`` and edges ``eids``: each node with its kind, label, flags
    (``caught``, ``listed``), ``risk``, ``degree`` and ``entity_id`` (the page it opens, if any)."""
    g = network.graph
    nodes = g.nodes[index].select(
        "node_id", "kind", pl.col("label").fill_null(pl.col("node_id")),
        pl.col("seized").alias("caught"), pl.col("watchlisted").alias("listed"),
        pl.Series("risk", np.round(risk[index], 4) if risk is not None else [None] * index.shape[0],
                  dtype=pl.Float64),
        pl.Series("degree", g.degree[index], dtype=pl.Int64),
        pl.when(pl.col("node_id").str.starts_with("entity:"))
        .then(pl.col("node_id").str.strip_prefix("entity:")).alias("entity_id"))
    edges = g.edges[eids].select("src", "dst", "kind", "date", "source_kind", "source_key", "records").with_columns(
        pl.Series("edge_index", eids, dtype=pl.Int64))
    return export_cytoscape(Subgraph(nodes=nodes, edges=edges, truncated=False))


def expand(network: StoreNetwork, node_id: str, *, kinds: Iterable[str] | None = None, since: date | None = None,
           until: date | None = None, limit: int = EXPAND_LIMIT, risk: np.ndarray | None = None
           ) -> dict[str, Any]:
    """The 1-hop neighbourhood of ``node_id`` as Cytoscape elements: the node (first), at most ``limit``
    neighbours and every edge from the node to them that passes the kind and date filters (undated ties pass
    any window); ``shown``, ``total`` and ``more`` (neighbours left out). ``NetworkError`` when the node is
    unknown or a kind is not an edge kind."""
    g = network.graph
    start = g.index_of(node_id)
    indptr, neighbour, edge = g.csr
    pos = csr_positions(indptr, np.array([start], dtype=np.int64))
    eids, nbrs = edge[pos].astype(np.int64), neighbour[pos].astype(np.int64)
    keep = EdgeFilter(g, kinds, since, until)(eids) & (nbrs != start)
    eids, nbrs = eids[keep], nbrs[keep]
    distinct = np.unique(nbrs)
    total = int(distinct.shape[0])
    shown = _ranked(network, distinct, nbrs, eids, limit) if total > limit else distinct
    if total > limit:
        mask = np.isin(nbrs, shown)
        eids = eids[mask]
    elements = _elements(network, np.concatenate([[start], shown]).astype(np.int64), eids, risk)
    return {"node": node_id, **elements, "shown": int(shown.shape[0]), "total": total,
            "more": total - int(shown.shape[0])}


def graph_status(engine: Engine) -> dict[str, Any]:
    """When the graph answered was built (ISO time, UTC) and whether a newer one is being built: the cache
    answers the graph it holds while it rebuilds after the store changed."""
    status = network_cache(engine).status()
    built = status["built_at"]
    return {"as_of": datetime.fromtimestamp(built, UTC).isoformat(timespec="seconds") if built else None,
            "refreshing": status["refreshing"]}


def expand_node(engine: Engine, node_id: str, *, kinds: Iterable[str] | None = None, since: date | None = None,
                until: date | None = None, limit: int = EXPAND_LIMIT) -> dict[str, Any]:
    """``expand`` on the store's cached graph with its cached risk, and the graph's ``graph_status``."""
    network = network_cache(engine).network()
    found = expand(network, node_id, kinds=kinds, since=since, until=until, limit=limit, risk=node_risk(engine))
    return {**found, "graph": graph_status(engine)}
