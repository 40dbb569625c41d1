"""Interactive questions an analyst asks of the graph: who is around this company, how are these two tied,
which parts hang together; and the Cytoscape.js export the web layer draws.

The neighbourhood and path searches walk the CSR adjacency of ``EntityGraph`` level by level with numpy:
each level gathers the edges of the frontier, filters them by kind and date on those edges only (the
graph is never copied per query) and keeps the unseen neighbours. Hubs - a big port, a broker with
thousands of clients - would drown every answer, so the walk does not pass through nodes with more than
``hub_degree`` edges (``HUB_DEGREE``): they are shown, flagged ``hub``, but not expanded, and the answer
says it was truncated. The node asked about is always expanded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from cintel.network.graph import NO_DATE, EntityGraph, csr_positions

HUB_DEGREE = 1000  # nodes with more edges (all kinds, all dates) are shown but not walked through
MAX_NODES = 500  # a neighbourhood larger than this is cut (in order of discovery) and marked truncated
MAX_PATH_HOPS = 6
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Subgraph:
    """A piece of the graph to show: ``nodes`` (the node columns plus ``hops`` from the centre, ``degree``
    and ``hub``) and ``edges`` (the edge columns plus ``edge_index``, every edge between two shown nodes
    that passes the filters). ``truncated`` says nodes were left out: ``hubs`` lists the hubs not
    expanded; the node cap may also have cut the last level."""

    nodes: pl.DataFrame
    edges: pl.DataFrame
    truncated: bool
    hubs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Path:
    """A chain of ties from one node to another: ``nodes`` in order and ``edges`` with one row per step
    (``step`` 0 links nodes[0] and nodes[1]; the strongest, then earliest, edge of that pair) with its kind,
    date and provenance (``source_kind``, ``source_key``)."""

    nodes: list[str]
    edges: pl.DataFrame

    @property
    def hops(self) -> int:
        return len(self.nodes) - 1


class EdgeFilter:
    """Which edges a query may use (kinds, and a date window in which undated ties always pass), checked on
    gathered edge indices only: ``EdgeFilter(g, kinds, since, until)(edge_indices)`` is a boolean mask."""

    def __init__(self, g: EntityGraph, edge_kinds: Iterable[str] | None, since: date | None, until: date | None):
        self.kinds = None if edge_kinds is None else g.kind_codes(edge_kinds)
        self.since = None if since is None else (since - EPOCH).days
        self.until = None if until is None else (until - EPOCH).days
        self.codes = g.edge_kind_codes if self.kinds is not None else None
        self.days = g.edge_days if (since is not None or until is not None) else None

    def __call__(self, edges: np.ndarray) -> np.ndarray:
        keep = np.ones(edges.shape[0], dtype=bool)
        if self.kinds is not None and self.codes is not None:
            keep &= np.isin(self.codes[edges], self.kinds)
        if self.days is not None:
            d = self.days[edges]
            dated = d != NO_DATE  # undated ties pass any date window: they are not known to fall outside it
            if self.since is not None:
                keep &= ~dated | (d >= self.since)
            if self.until is not None:
                keep &= ~dated | (d <= self.until)
        return keep


def _first_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values in order of first appearance."""
    uniq, first = np.unique(values, return_index=True)
    return uniq[np.argsort(first, kind="stable")]


def neighbourhood(g: EntityGraph, node_id: str, *, hops: int = 2, edge_kinds: set[str] | None = None,
                  since: date | None = None, until: date | None = None, max_nodes: int = MAX_NODES,
                  hub_degree: int | None = HUB_DEGREE) -> Subgraph:
    """Everything within ``hops`` ties of ``node_id``, using only edges of ``edge_kinds`` dated between
    ``since`` and ``until`` (inclusive; undated edges always pass), walking through no hub (more than
    ``hub_degree`` edges; None: no limit) and showing at most ``max_nodes`` nodes.
    ``NetworkError`` if the node is unknown."""
    start = g.index_of(node_id)
    indptr, neighbour, edge = g.csr
    degree = g.degree
    accept = EdgeFilter(g, edge_kinds, since, until)
    members = [np.array([start], dtype=np.int64)]
    levels = [np.zeros(1, dtype=np.int64)]
    seen = np.zeros(g.n_nodes, dtype=bool)
    seen[start] = True
    count, truncated = 1, False
    hubs: list[np.ndarray] = []
    frontier = members[0]
    for level in range(1, hops + 1):
        if level > 1 and hub_degree is not None:
            is_hub = degree[frontier] > hub_degree
            if is_hub.any():
                hubs.append(frontier[is_hub])
                frontier = frontier[~is_hub]
        pos = csr_positions(indptr, frontier)
        pos = pos[accept(edge[pos])]
        found = neighbour[pos]
        found = _first_unique(found[~seen[found]])
        room = max_nodes - count
        if found.shape[0] > room:
            found, truncated = found[:room], True
        if not found.shape[0]:
            break
        seen[found] = True
        members.append(found.astype(np.int64))
        levels.append(np.full(found.shape[0], level, dtype=np.int64))
        count += found.shape[0]
        frontier = found
    index = np.concatenate(members)
    hub_index = np.concatenate(hubs) if hubs else np.zeros(0, dtype=np.int64)
    truncated = truncated or bool(hub_index.shape[0])
    # every accepted edge between two shown nodes (each found from both ends: deduplicated)
    pos = csr_positions(indptr, index)
    pos = pos[seen[neighbour[pos]]]
    eids = np.unique(edge[pos])
    eids = eids[accept(eids)]
    nodes = g.nodes[index].with_columns(
        pl.Series("hops", np.concatenate(levels), dtype=pl.Int32),
        pl.Series("degree", degree[index], dtype=pl.Int64))
    hub = pl.col("degree") > hub_degree if hub_degree is not None else pl.lit(False)
    nodes = nodes.with_columns(hub.alias("hub"))
    edges = g.edges[eids].drop("s", "t").with_columns(pl.Series("edge_index", eids, dtype=pl.Int64))
    return Subgraph(nodes=nodes, edges=edges, truncated=truncated, hubs=g.node_ids(hub_index))


def _bfs_distances(g: EntityGraph, start: int, target: int, accept: EdgeFilter, max_hops: int,
                   hub_degree: int | None) -> np.ndarray:
    """Distance from ``start`` of every vertex reached before ``target`` (-1: not reached), hubs other than
    the ends not walked through."""
    indptr, neighbour, edge = g.csr
    dist = np.full(g.n_nodes, -1, dtype=np.int16)
    dist[start] = 0
    frontier = np.array([start], dtype=np.int64)
    for level in range(1, max_hops + 1):
        if level > 1 and hub_degree is not None:
            frontier = frontier[g.degree[frontier] <= hub_degree]
        pos = csr_positions(indptr, frontier)
        pos = pos[accept(edge[pos])]
        found = neighbour[pos]
        found = np.unique(found[dist[found] < 0])
        if not found.shape[0]:
            break
        dist[found] = level
        if dist[target] >= 0:
            break
        frontier = found.astype(np.int64)
    return dist


def shortest_paths(g: EntityGraph, a: str, b: str, *, max_hops: int = MAX_PATH_HOPS,
                   edge_kinds: set[str] | None = None, limit: int = 5,
                   hub_degree: int | None = HUB_DEGREE) -> list[Path]:
    """Up to ``limit`` shortest chains of ties from ``a`` to ``b`` of at most ``max_hops`` steps, using
    only ``edge_kinds`` and not passing through hubs (``hub_degree``; the two ends may be hubs).
    An empty list when there is none; ``NetworkError`` when ``a`` or ``b`` is unknown."""
    start, target = g.index_of(a), g.index_of(b)
    if start == target:
        return [Path(nodes=[a], edges=_step_frame(g, []))]
    accept = EdgeFilter(g, edge_kinds, None, None)
    dist = _bfs_distances(g, start, target, accept, max_hops, hub_degree)
    if dist[target] < 0:
        return []
    indptr, neighbour, edge = g.csr

    def back(v: int) -> list[tuple[int, int]]:
        """(predecessor, best edge) one level closer to ``start``, each predecessor once."""
        pos = np.arange(indptr[v], indptr[v + 1])
        pos = pos[accept(edge[pos])]
        pos = pos[dist[neighbour[pos]] == dist[v] - 1]
        if hub_degree is not None:
            u = neighbour[pos]
            pos = pos[(g.degree[u] <= hub_degree) | (u == start)]
        best: dict[int, int] = {}
        weights = g.edges["weight"]
        for p in pos.tolist():
            u, e = int(neighbour[p]), int(edge[p])
            if u not in best or weights[e] > weights[best[u]]:
                best[u] = e
        return sorted(best.items())

    found: list[list[tuple[int, int]]] = []

    def walk(v: int, steps: list[tuple[int, int]]) -> None:
        if len(found) >= limit:
            return
        if v == start:
            found.append(list(reversed(steps)))
            return
        for u, e in back(v):
            walk(u, [*steps, (u, e)])

    walk(target, [])
    paths = []
    for steps in found:
        vertices = [start] + [_other(g, e, u) for u, e in steps]
        paths.append(Path(nodes=g.node_ids(np.array(vertices)), edges=_step_frame(g, [e for _, e in steps])))
    return paths


def _other(g: EntityGraph, e: int, u: int) -> int:
    s, t = g.endpoints
    return int(t[e]) if int(s[e]) == u else int(s[e])


def _step_frame(g: EntityGraph, eids: list[int]) -> pl.DataFrame:
    frame = g.edges[np.array(eids, dtype=np.int64)] if eids else g.edges.clear()
    return frame.drop("s", "t").with_columns(
        pl.Series("edge_index", eids, dtype=pl.Int64), pl.int_range(pl.len(), dtype=pl.Int32).alias("step"))


def components(g: EntityGraph) -> pl.DataFrame:
    """Connected components: ``node_id``, ``component`` (0 = the largest, then by decreasing size) and
    ``size`` (its number of nodes)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    s, t = g.endpoints
    n = g.n_nodes
    adjacency = coo_matrix((np.ones(s.shape[0], dtype=np.int8), (s, t)), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.lexsort((np.arange(sizes.shape[0]), -sizes))] = np.arange(sizes.shape[0])
    return pl.DataFrame({"node_id": g.nodes["node_id"], "component": pl.Series(rank[labels], dtype=pl.Int64),
                         "size": pl.Series(sizes[labels], dtype=pl.Int64)})


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def export_cytoscape(sub: Subgraph) -> dict[str, list[dict[str, Any]]]:
    """The subgraph as Cytoscape.js elements: ``{"nodes": [{"data": {id, label, kind, ...}}], "edges":
    [{"data": {id, source, target, kind, date, source_kind, source_key, ...}}]}``; dates as ISO strings,
    every other node and edge column carried in ``data``. JSON-ready."""
    nodes = []
    for row in sub.nodes.iter_rows(named=True):
        data = {"id": row.pop("node_id"), "label": row.pop("label"), "kind": row.pop("kind")}
        data.update({k: _json_value(v) for k, v in row.items()})
        nodes.append({"data": data})
    edges = []
    for row in sub.edges.iter_rows(named=True):
        index = row.pop("edge_index")
        data = {"id": f"e{index}", "source": row.pop("src"), "target": row.pop("dst"), "kind": row.pop("kind")}
        data.update({k: _json_value(v) for k, v in row.items()})
        edges.append({"data": data})
    return {"nodes": nodes, "edges": edges}
