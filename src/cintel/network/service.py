"""Link analysis on the store, for the command line and (later) the web workspace.

References an analyst types are resolved to graph nodes: an entity id (``ENT00000042``), a
declaration id, or a node id as the graph names it (``phone:+31201234567``). Rings are searched
in the graph of parties and the identifiers they share (declarations, containers and vessels
left out: a port or a liner would tie half the world together).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine

from cintel.domain.access import AccessContext
from cintel.network.communities import communities
from cintel.network.graph import EntityGraph, NetworkError, NodeKind
from cintel.network.propagation import propagate_risk
from cintel.network.queries import Path, Subgraph, neighbourhood, shortest_paths
from cintel.network.rings import Ring, rings
from cintel.network.store_graph import StoreNetwork, load_network
from cintel.network.ties import ring_communities
from cintel.settings import get_settings

RING_NODE_KINDS = frozenset({NodeKind.COMPANY.value, NodeKind.PERSON.value, NodeKind.ADDRESS.value,
                             NodeKind.PHONE.value, NodeKind.EMAIL.value, NodeKind.ACCOUNT.value})
_PREFIXES = (*[f"{k.value}:" for k in NodeKind], "entity:")


def node_of(network: StoreNetwork, ref: str) -> str:
    """The node id an analyst's reference names; NetworkError when the graph has no such node."""
    ref = ref.strip()
    candidates = [ref] if ref.startswith(_PREFIXES) else [f"entity:{ref}", f"declaration:{ref}", ref]
    known = set(network.graph.nodes.filter(pl.col("node_id").is_in(candidates))["node_id"].to_list())
    for candidate in candidates:
        if candidate in known:
            return candidate
    raise NetworkError(f"'{ref[:80]}' is not in the network: give an entity id (ENT...), a declaration id or a node "
                       "id such as phone:+31...; run `cintel entities resolve` after new ingests")


def neighbours(engine: Engine, ctx: AccessContext, ref: str, *, hops: int = 2, edge_kinds: set[str] | None = None,
               since: date | None = None, until: date | None = None, max_nodes: int = 500) -> Subgraph:
    """The neighbourhood of a node to ``hops``, optionally by edge kind and date."""
    del ctx
    if not 1 <= hops <= 4:
        raise NetworkError(f"hops must be between 1 and 4, got {hops}")
    network = load_network(engine)
    return neighbourhood(network.graph, node_of(network, ref), hops=hops, edge_kinds=edge_kinds, since=since,
                         until=until, max_nodes=max_nodes)


def paths(engine: Engine, ctx: AccessContext, a: str, b: str, *, max_hops: int = 6,
          edge_kinds: set[str] | None = None, limit: int = 5) -> list[Path]:
    """Shortest paths between two nodes, each step with its provenance."""
    del ctx
    network = load_network(engine)
    return shortest_paths(network.graph, node_of(network, a), node_of(network, b), max_hops=max_hops,
                          edge_kinds=edge_kinds, limit=limit)


def party_graph(graph: EntityGraph) -> EntityGraph:
    """Parties and the identifiers they share, without declarations, containers and vessels."""
    nodes = graph.nodes.filter(pl.col("kind").is_in(sorted(RING_NODE_KINDS)))
    ids = nodes["node_id"].implode()
    edges = graph.edges.filter(pl.col("src").is_in(ids) & pl.col("dst").is_in(ids))
    return EntityGraph.from_frames(nodes, edges.select("src", "dst", "kind", "date", "source_kind", "source_key"))


@dataclass(frozen=True)
class CommunityReport:
    communities: pl.DataFrame  # node_id, community
    sizes: pl.DataFrame  # community, size, companies, seized, watchlisted


def community_report(engine: Engine, ctx: AccessContext, *, method: str = "modularity", resolution: float = 1.0,
                     seed: int = 0) -> CommunityReport:
    """Leiden communities of the party graph with their size and flagged members."""
    del ctx
    graph = party_graph(load_network(engine).graph)
    comms = communities(graph, method=method, resolution=resolution, seed=seed)
    flags = comms.join(graph.nodes.select("node_id", "kind", "seized", "watchlisted"), on="node_id")
    sizes = flags.group_by("community").agg(
        pl.len().alias("size"), (pl.col("kind") == NodeKind.COMPANY.value).sum().alias("companies"),
        pl.col("seized").sum().alias("seized"), pl.col("watchlisted").sum().alias("watchlisted"),
    ).sort(["size", "community"], descending=[True, False])
    return CommunityReport(communities=comms, sizes=sizes)


def ring_report(engine: Engine, ctx: AccessContext, *, top: int = 20, seed: int = 0) -> list[Ring]:
    """Suspected rings, most suspicious first, each with its members and the links that tie them."""
    del ctx
    graph = party_graph(load_network(engine).graph)
    # Communities hold companies only (persons tie them), so two companies sharing enough are a candidate.
    return rings(graph, ring_communities(graph, seed=seed), min_size=2, top=top)


def risk_scores(engine: Engine, ctx: AccessContext, *, as_of: date, limit: int = 50) -> pl.DataFrame:
    """Entities ranked by the risk spread to them from caught and listed parties known before ``as_of``."""
    del ctx
    network = load_network(engine)
    risk = propagate_risk(network.graph, network.seeds, as_of=as_of,
                          half_life_days=get_settings().network_half_life_days)
    entities = network.graph.nodes.filter(pl.col("kind").is_in([NodeKind.COMPANY.value, NodeKind.PERSON.value]))
    return (risk.join(entities.select("node_id", "kind", "label", "seized", "watchlisted"), on="node_id")
            .sort("risk", descending=True).head(limit))
