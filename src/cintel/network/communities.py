"""Groups and positions in the graph: Leiden communities and centralities, on igraph's C core.

Leiden (Traag, van Eck & Waltman 2019) is igraph's ``community_leiden``, weighted by the edge ``weight``
(the number of records evidencing the tie). Two objectives:

- ``"modularity"``: communities denser than a random graph with the same degrees would give; ``resolution``
  above 1 gives smaller communities. The default; no threshold to choose.
- ``"cpm"`` (Constant Potts Model): a community is a set whose internal density exceeds ``resolution``
  (e.g. 0.1: one tie in ten possible pairs). No resolution limit, so small dense rings stay separate in a
  large graph; the resolution must be chosen for the density sought (1.0 demands complete cliques).

Determinism: Leiden is randomised; the run uses its own ``random.Random(seed)`` as igraph's generator and
restores the previous generator afterwards, so the same graph and seed give the same partition.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence

import igraph as ig
import numpy as np
import polars as pl

from cintel.network.graph import EntityGraph, NetworkError, NodeKind

log = logging.getLogger(__name__)

LEIDEN_ITERATIONS = 2  # igraph's default; each further iteration refines, -1 runs until stable
EXACT_BETWEENNESS_MAX_NODES = 20_000  # above this, betweenness counts only paths of <= BETWEENNESS_CUTOFF hops
BETWEENNESS_CUTOFF = 4
MEASURES = ("degree", "pagerank", "betweenness")


class seeded:
    """igraph's random generator set to ``random.Random(seed)`` for the duration of a block."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        ig.set_random_number_generator(random.Random(self.seed))

    def __exit__(self, *exc: object) -> None:
        ig.set_random_number_generator(random)


def _vertices_of_kinds(g: EntityGraph, node_kinds: Iterable[str] | None) -> np.ndarray | None:
    if node_kinds is None:
        return None
    wanted = {str(k) for k in node_kinds}
    unknown = wanted - set(NodeKind.codes())
    if unknown:
        raise NetworkError(f"unknown node kind(s): {', '.join(sorted(unknown))}")
    return np.flatnonzero(g.nodes["kind"].is_in(sorted(wanted)).to_numpy())


def _renumber_by_size(membership: np.ndarray) -> np.ndarray:
    """Community ids 0.. by decreasing size (ties: by first member), so that ids are stable and readable."""
    if not membership.shape[0]:
        return membership
    sizes = np.bincount(membership)
    first = np.full(sizes.shape[0], membership.shape[0])
    np.minimum.at(first, membership, np.arange(membership.shape[0]))
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return np.asarray(rank[membership])


def communities(g: EntityGraph, *, method: str = "modularity", resolution: float = 1.0, seed: int = 0,
                node_kinds: set[str] | None = None, n_iterations: int = LEIDEN_ITERATIONS) -> pl.DataFrame:
    """Leiden communities: ``node_id``, ``community`` (0 = the largest), ``size``. ``method`` is
    ``"modularity"`` or ``"cpm"`` (see the module docstring for ``resolution``). With ``node_kinds``, the
    partition is of the subgraph induced by nodes of those kinds (edges between two of them); only those
    nodes are returned. Include the identifier kinds that tie companies (person, address, phone, account,
    email) and leave out declarations, containers and vessels to find who is organised together rather
    than who trades alike."""
    objective = {"modularity": "modularity", "cpm": "CPM"}.get(method.lower())
    if objective is None:
        raise NetworkError(f"unknown community method {method!r}; expected 'modularity' or 'cpm'")
    vertices = _vertices_of_kinds(g, node_kinds)
    graph = g.graph if vertices is None else g.graph.induced_subgraph(vertices.tolist(), implementation="auto")
    with seeded(seed):
        clustering = graph.community_leiden(objective_function=objective, weights="weight", resolution=resolution,
                                            n_iterations=n_iterations)
    membership = _renumber_by_size(np.asarray(clustering.membership, dtype=np.int64))
    log.debug("leiden %s: %d communities, quality %.4f", method, int(membership.max(initial=-1)) + 1,
              clustering.quality)
    ids = g.nodes["node_id"] if vertices is None else g.nodes["node_id"].gather(vertices)
    sizes = np.bincount(membership)[membership] if membership.shape[0] else membership
    return pl.DataFrame({"node_id": ids, "community": pl.Series(membership, dtype=pl.Int64),
                         "size": pl.Series(sizes, dtype=pl.Int64)})


def centrality(g: EntityGraph, *, measures: Sequence[str] = MEASURES, sample: int | None = None,
               cutoff: int | None = None, seed: int = 0) -> pl.DataFrame:
    """Per node, the requested centralities (``node_id`` then one column per measure):

    - ``degree``: number of ties (all kinds);
    - ``pagerank``: weighted PageRank (damping 0.85), summing to 1;
    - ``betweenness``: how many shortest paths pass through the node - the brokers between groups.
      Exact (Brandes) up to ``EXACT_BETWEENNESS_MAX_NODES`` nodes; above that, or when ``cutoff`` is given,
      only paths of at most ``cutoff`` (default ``BETWEENNESS_CUTOFF``) hops count, which keeps it near
      linear and ranks local brokers as the exact measure does. With ``sample``, paths are counted from
      ``sample`` random source nodes only (seeded) and scaled by n / sample: an unbiased estimate.
    """
    unknown = set(measures) - set(MEASURES)
    if unknown:
        raise NetworkError(f"unknown centrality measure(s): {', '.join(sorted(unknown))}; "
                           f"expected some of {', '.join(MEASURES)}")
    graph = g.graph
    out: dict[str, pl.Series] = {"node_id": g.nodes["node_id"]}
    if "degree" in measures:
        out["degree"] = pl.Series(graph.degree(), dtype=pl.Int64)
    if "pagerank" in measures:
        out["pagerank"] = pl.Series(graph.pagerank(directed=False, weights="weight"), dtype=pl.Float64)
    if "betweenness" in measures:
        n = g.n_nodes
        if cutoff is None and n > EXACT_BETWEENNESS_MAX_NODES:
            cutoff = BETWEENNESS_CUTOFF
            log.info("betweenness on %d nodes: paths of at most %d hops only", n, cutoff)
        if sample is not None and sample < n:
            sources = np.random.default_rng(seed).choice(n, size=sample, replace=False)
            values = np.asarray(graph.betweenness(directed=False, cutoff=cutoff, sources=sources.tolist(),
                                                  targets=None)) * (n / sample)
        else:
            values = np.asarray(graph.betweenness(directed=False, cutoff=cutoff))
        out["betweenness"] = pl.Series(values, dtype=pl.Float64)
    return pl.DataFrame(out)
