"""Ties between companies through what they share, weighted by how telling each shared thing is.

Two companies that share a phone number used by no one else are far more likely to be run by the
same people than two that share a director's name borne by fifteen company directors (homonyms are
common, and a person node resolved on a name alone gathers them). Each shared identifier therefore
adds ``1 / log2(1 + k)`` to the tie, where ``k`` is the number of companies it links, halved for a
director's name; identifiers shared by more than ``MAX_SHARING`` companies (a broker's office, a
registered-agent address) are left out altogether. Ring candidates are the Leiden communities of
the companies tied at ``MIN_TIE`` or more.
"""

from __future__ import annotations

import igraph as ig
import numpy as np
import polars as pl

from cintel.network.communities import seeded
from cintel.network.graph import SHARED_IDENTIFIER_KINDS, EdgeKind, EntityGraph, NodeKind

MAX_SHARING = 25
MIN_TIE = 0.35  # above a director's name shared by two companies alone (0.32)
DIRECTOR_FACTOR = 0.5


def weighted_links(g: EntityGraph) -> pl.DataFrame:
    """(``company``, ``thing``, ``w``): each company's shared identifiers and directors, with the weight each
    adds to a tie (identifiers held by one company, or by more than ``MAX_SHARING``, are left out)."""
    companies = g.nodes.filter(pl.col("kind") == NodeKind.COMPANY.value).select("node_id")
    shared = g.edges.filter(pl.col("kind").is_in(sorted(SHARED_IDENTIFIER_KINDS)))
    # An identifier edge runs company -> identifier; a director edge runs person -> company.
    is_director = pl.col("kind") == EdgeKind.DIRECTOR_OF.value
    links = (shared.select(pl.when(is_director).then(pl.col("dst")).otherwise(pl.col("src")).alias("company"),
                           pl.when(is_director).then(pl.col("src")).otherwise(pl.col("dst")).alias("thing"),
                           "kind").unique()
             .join(companies, left_on="company", right_on="node_id", how="semi"))
    links = links.with_columns(k=pl.col("company").n_unique().over("thing")).filter(
        (pl.col("k") >= 2) & (pl.col("k") <= MAX_SHARING))
    return links.select("company", "thing", w=(1 / (1 + pl.col("k")).log(2)) * pl.when(is_director)
                        .then(DIRECTOR_FACTOR).otherwise(1.0))


def company_ties(g: EntityGraph) -> pl.DataFrame:
    """Pairs of companies (``a`` < ``b``) with the weight of everything they share (``tie``)."""
    links = weighted_links(g)
    pairs = (links.join(links.select("thing", b="company"), on="thing").filter(pl.col("company") < pl.col("b"))
             .group_by(pl.col("company").alias("a"), "b").agg(pl.col("w").sum().alias("tie")))
    return pairs.sort(["a", "b"])


def ring_communities(g: EntityGraph, *, seed: int = 0, min_tie: float = MIN_TIE) -> pl.DataFrame:
    """Leiden communities (``node_id``, ``community``) of the companies tied at ``min_tie`` or more."""
    ties = company_ties(g).filter(pl.col("tie") >= min_tie)
    ids = pl.concat([ties["a"], ties["b"]]).unique().sort()
    if ids.is_empty():
        return pl.DataFrame(schema={"node_id": pl.String, "community": pl.Int64})
    index = {v: i for i, v in enumerate(ids.to_list())}
    edges = np.array([(index[a], index[b]) for a, b in ties.select("a", "b").iter_rows()], dtype=np.int64)
    graph = ig.Graph(n=len(ids), edges=edges, directed=False)
    with seeded(seed):
        membership = graph.community_leiden(objective_function="modularity", weights=ties["tie"].to_list(),
                                            n_iterations=-1).membership
    return pl.DataFrame({"node_id": ids, "community": pl.Series(membership, dtype=pl.Int64)})
