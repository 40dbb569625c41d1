"""Risk by association: seizures and watch-list hits spread risk to what is tied to them.

Each seed (a node with a seizure, a watch-list hit, ...) carries a ``weight`` that halves every
``half_life_days`` since it became known. The risk of a node is the personalised PageRank of the graph as
it stood on ``as_of`` (``EntityGraph.as_of``), restarted at the seeds in proportion to their decayed
weights, walked undirected with the edge ``weight``.

Normalisation (what makes figures comparable across days and across nodes): igraph returns a
distribution summing to 1, which would dilute every node's risk as seeds accumulate elsewhere, and an
undirected walk piles up on well-connected nodes (a port next to a seizure is not a suspect). The score
returned is instead

    risk(v) = W * ppr(v) / strength(v),   W = the sum of the decayed seed weights,

strength(v) being the summed weight of v's ties. By linearity of PageRank this equals the sum over seeds s
of ``w_s * ppr_s(v) / strength(v)``: each seed contributes in proportion to its own decayed weight,
independently of how many unrelated seeds exist, so the same neighbourhood scores the same on any day;
and the same seed half a life older gives exactly half of everything. Dividing by strength makes the
score fall with distance: a node that is not a seed scores at most ``damping`` times the best of its
neighbours (its score is ``damping`` times a weighted average of theirs). A seed without ties keeps its
own decayed weight as risk (an isolated fresh seed of weight 1 has risk 1) and spreads nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

import numpy as np
import polars as pl

from cintel.network.graph import EntityGraph, NetworkError, csr_positions

log = logging.getLogger(__name__)

HALF_LIFE_DAYS = 180.0
DAMPING = 0.85
MAX_SEED_HOPS = 6  # hops_to_seed is null beyond this


def decayed_seeds(seeds: pl.DataFrame, *, as_of: date, half_life_days: float = HALF_LIFE_DAYS) -> pl.DataFrame:
    """Seeds known before ``as_of`` (undated seeds cannot be placed in time and are left out), one row per
    node: ``node_id``, ``weight`` = the sum over its seeds of weight * 0.5 ** (age_days / half_life_days)."""
    missing = [c for c in ("node_id", "weight", "date") if c not in seeds.columns]
    if missing:
        raise NetworkError(f"seeds frame lacks column(s) {', '.join(missing)}")
    if half_life_days <= 0:
        raise NetworkError(f"half_life_days must be positive, got {half_life_days}")
    undated = seeds["date"].null_count()
    if undated:
        log.warning("%d seed(s) without a date left out of risk propagation", undated)
    age = (pl.lit(as_of) - pl.col("date")).dt.total_days()
    return (seeds.filter(pl.col("date") < as_of)
            .with_columns((pl.col("weight").cast(pl.Float64) * 0.5 ** (age / half_life_days)).alias("weight"))
            .group_by("node_id", maintain_order=True).agg(pl.col("weight").sum())
            .filter(pl.col("weight") > 0))


def hops_from(g: EntityGraph, sources: np.ndarray, max_hops: int = MAX_SEED_HOPS) -> np.ndarray:
    """Per vertex, the number of ties to the nearest of ``sources`` (-1: farther than ``max_hops`` or
    unreachable); every edge of ``g`` is walked, hubs included."""
    indptr, neighbour, _ = g.csr
    dist = np.full(g.n_nodes, -1, dtype=np.int32)
    frontier = np.unique(sources)
    dist[frontier] = 0
    for level in range(1, max_hops + 1):
        found = neighbour[csr_positions(indptr, frontier)]
        found = np.unique(found[dist[found] < 0])
        if not found.shape[0]:
            break
        dist[found] = level
        frontier = found.astype(np.int64)
    return dist


def propagate_risk(g: EntityGraph, seeds: pl.DataFrame, *, as_of: date, half_life_days: float = HALF_LIFE_DAYS,
                   damping: float = DAMPING, edge_kinds: Iterable[str] | None = None) -> pl.DataFrame:
    """Per node, the risk it inherits from the seeds known before ``as_of``: ``node_id``, ``risk`` (see the
    module docstring for its scale), ``hops_to_seed`` (ties to the nearest seed, null when unreachable or
    more than ``MAX_SEED_HOPS``) and ``seed_weight`` (its own decayed seed weight, 0 if not a seed); highest
    risk first. Only edges known before ``as_of`` (and of ``edge_kinds``, if given) carry risk.
    ``NetworkError`` if a seed names an unknown node."""
    if not 0 < damping < 1:
        raise NetworkError(f"damping must be between 0 and 1, got {damping}")
    known = decayed_seeds(seeds, as_of=as_of, half_life_days=half_life_days)
    view = g.as_of(as_of).with_edge_kinds(edge_kinds)
    index = g.indices_of(known["node_id"])
    reset = np.zeros(g.n_nodes)
    np.add.at(reset, index, known["weight"].to_numpy())
    s, t = view.endpoints
    weight = view.edges["weight"].to_numpy()
    strength = np.bincount(s, weight, minlength=g.n_nodes) + np.bincount(t, weight, minlength=g.n_nodes)
    lonely = (reset > 0) & (strength <= 0)  # a seed without ties: igraph would send its walk to the other seeds
    risk = np.where(lonely, reset, 0.0)
    spread = np.where(lonely, 0.0, reset)
    total = float(spread.sum())
    if total > 0:
        ppr = np.asarray(view.graph.personalized_pagerank(directed=False, damping=damping, reset=spread.tolist(),
                                                          weights="weight"))
        np.divide(ppr * total, strength, out=risk, where=strength > 0)
    hops = hops_from(view, index) if index.shape[0] else np.full(g.n_nodes, -1, dtype=np.int32)
    out = pl.DataFrame({"node_id": g.nodes["node_id"], "risk": pl.Series(risk, dtype=pl.Float64),
                        "hops_to_seed": pl.Series(hops, dtype=pl.Int32), "seed_weight": pl.Series(reset)})
    return (out.with_columns(pl.when(pl.col("hops_to_seed") >= 0).then(pl.col("hops_to_seed")).alias("hops_to_seed"))
            .sort("risk", "node_id", descending=[True, False]))
