"""Leiden finds planted groups deterministically; centralities single out the brokers."""

from __future__ import annotations

from datetime import date
from itertools import combinations

import numpy as np
import polars as pl
import pytest

from cintel.network import EntityGraph, NetworkError, centrality, communities
from tests.network import build, edge_frame, node_frame

D = date(2024, 1, 1)


def cliques() -> EntityGraph:
    """Two 6-company cliques (paying each other) joined by a single payment."""
    left = [f"entity:L{i}" for i in range(6)]
    right = [f"entity:R{i}" for i in range(6)]
    edges = [(a, b, "paid", D) for group in (left, right) for a, b in combinations(group, 2)]
    return build([*edges, ("entity:L0", "entity:R0", "paid", D)])


def groups(comms: pl.DataFrame) -> set[frozenset[str]]:
    return {frozenset(ids) for ids in comms.group_by("community").agg("node_id")["node_id"].to_list()}


@pytest.mark.parametrize(("method", "resolution"), [("modularity", 1.0), ("cpm", 0.5)])
def test_leiden_finds_two_planted_cliques_joined_by_one_edge(method: str, resolution: float) -> None:
    comms = communities(cliques(), method=method, resolution=resolution)
    assert groups(comms) == {frozenset(f"entity:L{i}" for i in range(6)), frozenset(f"entity:R{i}" for i in range(6))}
    assert comms["size"].to_list() == [6] * 12


def planted(seed: int) -> EntityGraph:
    """Eight groups of 25 companies, dense inside, sparse between."""
    rng = np.random.default_rng(seed)
    n = 200
    group = np.arange(n) // 25
    pairs = [(a, b) for a, b in combinations(range(n), 2)
             if rng.random() < (0.3 if group[a] == group[b] else 0.01)]
    ids = [f"entity:{i:03d}" for i in range(n)]
    return EntityGraph.from_frames(node_frame(ids), edge_frame([(ids[a], ids[b], "paid", D) for a, b in pairs]))


def test_leiden_is_deterministic_per_seed() -> None:
    g = planted(1)
    first = communities(g, seed=7)
    assert communities(g, seed=7).equals(first)
    assert communities(g, seed=7, method="cpm", resolution=0.1).equals(
        communities(g, seed=7, method="cpm", resolution=0.1))
    assert first["community"].n_unique() >= 6  # close to the eight planted groups


def test_communities_on_a_projection_to_some_node_kinds_return_only_those_nodes() -> None:
    g = build([("entity:A", "address:a", "has_address", D), ("entity:B", "address:a", "has_address", D),
               ("declaration:1", "entity:A", "declared_by", D)])
    comms = communities(g, node_kinds={"company", "address"})
    assert set(comms["node_id"].to_list()) == {"entity:A", "entity:B", "address:a"}
    assert comms["community"].n_unique() == 1
    with pytest.raises(NetworkError, match="node kind"):
        communities(g, node_kinds={"firm"})


def test_unknown_method_is_an_error() -> None:
    with pytest.raises(NetworkError, match="louvain"):
        communities(cliques(), method="louvain")


def test_centrality_singles_out_the_bridge_between_groups() -> None:
    cent = centrality(cliques())
    assert cent.columns == ["node_id", "degree", "pagerank", "betweenness"]
    top = cent.sort("betweenness", descending=True)["node_id"].head(2).to_list()
    assert set(top) == {"entity:L0", "entity:R0"}
    assert cent["pagerank"].sum() == pytest.approx(1.0)
    assert cent.filter(pl.col("node_id") == "entity:L0")["degree"].item() == 6


def test_sampled_and_cut_off_betweenness_estimate_the_exact_one() -> None:
    g = planted(2)
    exact = centrality(g, measures=("betweenness",))["betweenness"].to_numpy()
    sampled = centrality(g, measures=("betweenness",), sample=100, seed=1)["betweenness"].to_numpy()
    cut = centrality(g, measures=("betweenness",), cutoff=2)["betweenness"].to_numpy()
    assert np.corrcoef(exact, sampled)[0, 1] > 0.8
    assert sampled.sum() == pytest.approx(exact.sum(), rel=0.25)
    assert np.corrcoef(exact, cut)[0, 1] > 0.5
    with pytest.raises(NetworkError, match="closeness"):
        centrality(g, measures=("closeness",))
