"""The graph benchmark runs end to end on a small graph and reports every figure with sane values."""

from __future__ import annotations

import json

import polars as pl

from cintel.benchmarks.graph import run_graph, synthetic_frames
from cintel.network import EntityGraph

KEYS = ("build_seconds", "leiden_seconds", "khop_p50_ms", "khop_p95_ms", "ratio_leiden_vs_networkx_per_edge",
        "ratio_khop_vs_networkx", "peak_rss_mb")


def test_synthetic_frames_are_store_shaped_with_hubs_and_planted_rings() -> None:
    nodes, edges, rings = synthetic_frames(5_000, 20_000, seed=3)
    g = EntityGraph.from_frames(nodes, edges)  # every endpoint exists, every kind is known
    assert edges.height == 20_000
    assert {"seized", "first_seen", "watchlisted"} <= set(nodes.columns)
    assert edges["date"].null_count() > 0
    assert g.degree.max() > 20 * g.degree.mean()  # power-law: a few hubs
    assert rings.shape == (2, 5)
    ring_ids = nodes["node_id"].gather(rings.ravel())
    assert nodes.filter(pl.col("node_id").is_in(ring_ids.implode()))["kind"].unique().to_list() == ["company"]


def test_smoke_run_reports_every_key_with_sane_values() -> None:
    result = run_graph(nodes=5_000, edges=20_000, queries=20)
    json.dumps(result)
    for key in KEYS:
        assert result[key] > 0, key
    assert result["khop_p50_ms"] <= result["khop_p95_ms"]
    assert result["queries"] == 20
    assert result["nodes"] >= 5_000
    assert 0 < result["edges"] <= 20_000
    assert 0.0 <= result["rings_recovered_share"] <= 1.0
    assert result["baseline"]["nodes"] == result["nodes"]  # the sample is capped at the graph's size
