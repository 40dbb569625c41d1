"""The entity-graph benchmark: build, Leiden and k-hop latency on a synthetic national-scale graph, with
NetworkX baselines measured in the same run.

The generator (``synthetic_frames``) draws a graph shaped like customs data: most nodes are declarations,
each tied to an importer, an exporter, a broker, a container and a vessel; companies and persons hold
addresses, phones, e-mails and accounts; directors direct companies; accounts pay accounts. Endpoints are
drawn with a power law (``floor(N * u ** skew)`` over a random permutation of the kind's nodes), so a few
brokers serve thousands of declarations and a few business-centre addresses host hundreds of companies,
as in real registers. Planted rings (``RING_SIZE`` young companies sharing a director, an address and a
phone, half with a seizure) are the structure an analyst looks for; ``rings_recovered_share`` is the share
of them that Leiden keeps whole in one community.

Baselines (same process, a ``sample_nodes`` graph from the same generator with the same edge/node ratio):
NetworkX ``louvain_communities`` against our Leiden per edge, and ``nx.ego_graph(radius=2)`` against our
``neighbourhood(hops=2)`` with the hub and node caps lifted so that both return the same nodes.
"""

from __future__ import annotations

import logging
import resource
import time
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from cintel.network import EntityGraph, communities, neighbourhood

log = logging.getLogger(__name__)

RING_SIZE = 5
NODES_PER_RING = 2_000  # one planted ring per this many nodes
NODE_SHARES = {"company": 0.20, "person": 0.08, "address": 0.08, "phone": 0.05, "email": 0.04, "account": 0.05,
               "declaration": 0.45, "container": 0.04, "vessel": 0.01}
PREFIX = {"company": "entity:E", "person": "person:P", "address": "address:A", "phone": "phone:+31", "email": "email:m",
          "account": "iban:NL", "declaration": "declaration:26NL", "container": "container:MSCU", "vessel": "vessel:9"}
# edge kind: (share of edges, source kinds, source skew, target kind, target skew, record kind)
EDGE_PLAN: dict[str, tuple[float, tuple[str, ...], float, str, float, str]] = {
    "importer_of": (0.14, ("company",), 2.0, "declaration", 1.0, "declarations"),
    "exporter_of": (0.10, ("company",), 2.0, "declaration", 1.0, "declarations"),
    "declared_by": (0.12, ("declaration",), 1.0, "company", 3.0, "declarations"),
    "in_container": (0.08, ("declaration",), 1.0, "container", 1.5, "declarations"),
    "carried_by": (0.06, ("declaration",), 1.0, "vessel", 2.5, "declarations"),
    "has_address": (0.12, ("company", "person"), 1.0, "address", 2.0, "parties"),
    "has_phone": (0.09, ("company", "person"), 1.0, "phone", 1.5, "parties"),
    "has_email": (0.06, ("company", "person"), 1.0, "email", 1.5, "parties"),
    "has_account": (0.08, ("company", "person"), 1.0, "account", 1.5, "financial"),
    "director_of": (0.08, ("person",), 2.0, "company", 1.0, "parties"),
    "paid": (0.05, ("account",), 1.5, "account", 1.5, "financial"),
    "same_as": (0.01, ("company",), 1.0, "company", 1.0, "parties"),
    "mentioned_in_report": (0.01, ("company",), 1.0, "person", 1.0, "intel_reports"),
}
KINDS = list(EDGE_PLAN)
RECORDS = sorted({plan[5] for plan in EDGE_PLAN.values()})
FIRST_DAY, LAST_DAY = date(2018, 1, 1), date(2025, 12, 31)
UNDATED_SHARE = 0.05
SEIZED_SHARE = 0.003


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def synthetic_frames(nodes: int, edges: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """(nodes, edges, rings): store-shaped frames of about ``nodes`` nodes and exactly ``edges`` edge records
    (duplicates included, merged by ``from_frames``), and the planted rings' company indices (rings x size)."""
    rng = np.random.default_rng(seed)
    counts = {k: max(RING_SIZE, int(nodes * share)) for k, share in NODE_SHARES.items()}
    offset, start = 0, {}
    for kind, count in counts.items():
        start[kind] = offset
        offset += count
    total = offset
    node_parts = []
    for kind, count in counts.items():
        node_parts.append(pl.DataFrame({"i": np.arange(count)}).select(
            pl.format(PREFIX[kind] + "{}", pl.col("i")).alias("node_id"), pl.lit(kind).alias("kind"),
            pl.format(kind + " {}", pl.col("i")).alias("label")))
    node_frame = pl.concat(node_parts)

    def pick(kind: str, k: int, skew: float) -> np.ndarray:
        n = counts[kind]
        drawn = np.minimum((n * rng.random(k) ** skew).astype(np.int64), n - 1)
        return start[kind] + rng.permutation(n)[drawn]

    n_rings = max(1, nodes // NODES_PER_RING)
    ring_edges = n_rings * RING_SIZE * 3
    budget = max(0, edges - ring_edges)
    src_parts, dst_parts, kind_parts, record_parts = [], [], [], []
    plan = list(EDGE_PLAN.items())
    allotted = [int(budget * share) for _, (share, *_rest) in plan]
    allotted[0] += budget - sum(allotted)
    for (kind, (_, sources, s_skew, target, t_skew, record)), k in zip(plan, allotted, strict=True):
        source_kind = rng.choice(len(sources), size=k, p=[0.8, 0.2] if len(sources) == 2 else [1.0])
        src = np.empty(k, dtype=np.int64)
        for j, sk in enumerate(sources):
            mask = source_kind == j
            src[mask] = pick(sk, int(mask.sum()), s_skew)
        src_parts.append(src)
        dst_parts.append(pick(target, k, t_skew))
        kind_parts.append(np.full(k, KINDS.index(kind)))
        record_parts.append(np.full(k, RECORDS.index(record)))
    # planted rings: companies from the tail of the register, each ring with its own director, address, phone
    ring_companies = start["company"] + rng.choice(counts["company"], size=(n_rings, RING_SIZE), replace=False)
    people = start["person"] + rng.choice(counts["person"], size=n_rings, replace=False)
    addresses = start["address"] + rng.choice(counts["address"], size=n_rings, replace=False)
    phones = start["phone"] + rng.choice(counts["phone"], size=n_rings, replace=False)
    flat = ring_companies.ravel()
    for kind, ident, record in (("director_of", people, "parties"), ("has_address", addresses, "parties"),
                                ("has_phone", phones, "parties")):
        shared = np.repeat(ident, RING_SIZE)
        src_parts.append(shared if kind == "director_of" else flat)
        dst_parts.append(flat if kind == "director_of" else shared)
        kind_parts.append(np.full(flat.shape[0], KINDS.index(kind)))
        record_parts.append(np.full(flat.shape[0], RECORDS.index(record)))
    src_all, dst_all = np.concatenate(src_parts), np.concatenate(dst_parts)
    m = src_all.shape[0]
    day = rng.integers(_days(FIRST_DAY), _days(LAST_DAY), size=m).astype(np.int32)
    undated = np.less(rng.random(m), UNDATED_SHARE)
    ids = node_frame["node_id"]
    edge_frame = pl.DataFrame({
        "src": ids.gather(src_all), "dst": ids.gather(dst_all),
        "kind": pl.Series(KINDS).gather(np.concatenate(kind_parts)),
        "date": pl.Series(day).cast(pl.Date),
        "source_kind": pl.Series(RECORDS).gather(np.concatenate(record_parts))}).with_columns(
        pl.when(pl.Series(undated)).then(None).otherwise(pl.col("date")).alias("date"),
        pl.format("{}:{}", pl.col("source_kind"), pl.int_range(pl.len())).alias("source_key"))
    # flags: a few seizures; rings young (first seen within 9 months of 2024) and half of them with a seizure
    company = np.zeros(total, dtype=bool)
    company[start["company"]:start["company"] + counts["company"]] = True
    seized = company & (rng.random(total) < SEIZED_SHARE)
    seized[ring_companies[rng.random(n_rings) < 0.5, 0]] = True
    first = rng.integers(_days(date(2000, 1, 1)), _days(LAST_DAY), size=total).astype(np.int32)
    first[flat] = rng.integers(_days(date(2024, 1, 1)), _days(date(2024, 10, 1)), size=flat.shape[0])
    node_frame = node_frame.with_columns(
        pl.Series("seized", seized), pl.Series("watchlisted", np.zeros(total, dtype=bool)),
        pl.when(pl.Series(company)).then(pl.Series(first).cast(pl.Date)).alias("first_seen"))
    return node_frame, edge_frame, ring_companies


def _build(nodes: pl.DataFrame, edges: pl.DataFrame) -> tuple[EntityGraph, float]:
    t0 = time.perf_counter()
    g = EntityGraph.from_frames(nodes, edges)
    _ = g.csr, g.degree, g.edge_kind_codes, g.edge_days, g._index, g.graph
    return g, time.perf_counter() - t0


def _khop_ms(g: EntityGraph, ids: list[str], **caps: Any) -> np.ndarray:
    neighbourhood(g, ids[0], hops=2, **caps)  # warm-up
    times = []
    for node in ids:
        t0 = time.perf_counter()
        neighbourhood(g, node, hops=2, **caps)
        times.append((time.perf_counter() - t0) * 1000)
    return np.array(times)


def _company_ids(nodes: pl.DataFrame, k: int, seed: int) -> list[str]:
    companies = nodes.filter(pl.col("kind") == "company")["node_id"]
    return companies.sample(min(k, companies.len()), seed=seed).to_list()


def _networkx_baseline(sample_nodes: int, sample_edges: int, seed: int, queries: int) -> dict[str, Any]:
    import networkx as nx

    nodes, edges, _ = synthetic_frames(sample_nodes, sample_edges, seed)
    g, build_s = _build(nodes, edges)
    t0 = time.perf_counter()
    ours = communities(g, method="modularity", seed=seed)
    leiden_s = time.perf_counter() - t0
    nxg = nx.Graph()
    nxg.add_nodes_from(nodes["node_id"].to_list())
    nxg.add_edges_from(zip(g.edges["src"].to_list(), g.edges["dst"].to_list(), strict=True))
    t0 = time.perf_counter()
    louvain = nx.community.louvain_communities(nxg, seed=seed)
    louvain_s = time.perf_counter() - t0
    ids = _company_ids(nodes, queries, seed)
    ego = []
    for node in ids:
        t1 = time.perf_counter()
        nx.ego_graph(nxg, node, radius=2)
        ego.append((time.perf_counter() - t1) * 1000)
    uncapped = _khop_ms(g, ids, hub_degree=None, max_nodes=g.n_nodes)
    leiden_parts = [set(p) for p in ours.group_by("community").agg("node_id")["node_id"].to_list()]
    return {"nodes": g.n_nodes, "edges": g.n_edges, "build_seconds": build_s, "leiden_seconds": leiden_s,
            "leiden_modularity": nx.community.modularity(nxg, leiden_parts),
            "louvain_seconds": louvain_s, "louvain_modularity": nx.community.modularity(nxg, louvain),
            "khop_uncapped_p50_ms": float(np.percentile(uncapped, 50)),
            "ego_graph_p50_ms": float(np.percentile(ego, 50)), "ego_graph_p95_ms": float(np.percentile(ego, 95))}


def run_graph(nodes: int = 1_000_000, edges: int = 5_000_000, seed: int = 0, queries: int = 200,
              sample_nodes: int = 50_000) -> dict[str, Any]:
    """Build, Leiden (modularity) and k=2 neighbourhood latency on a ``nodes`` x ``edges`` synthetic graph,
    and the NetworkX baselines on a ``sample_nodes`` graph of the same generator. JSON-ready figures;
    ratios below 1 mean cintel is faster."""
    t0 = time.perf_counter()
    node_frame, edge_frame, planted = synthetic_frames(nodes, edges, seed)
    generate_s = time.perf_counter() - t0
    g, build_s = _build(node_frame, edge_frame)
    log.info("graph built: %d nodes, %d edges in %.1f s", g.n_nodes, g.n_edges, build_s)
    del edge_frame
    t0 = time.perf_counter()
    comms = communities(g, method="modularity", seed=seed)
    leiden_s = time.perf_counter() - t0
    membership = comms["community"].to_numpy()
    recovered = float(np.mean([np.unique(membership[ring]).shape[0] == 1 for ring in planted]))
    times = _khop_ms(g, _company_ids(node_frame, queries, seed))
    sample_n = min(sample_nodes, nodes)
    base = _networkx_baseline(sample_n, int(edges * sample_n / nodes), seed, min(queries, 100))
    result: dict[str, Any] = {
        "nodes": g.n_nodes, "edges": g.n_edges, "edge_records": edges, "generate_seconds": generate_s,
        "build_seconds": build_s, "leiden_seconds": leiden_s, "communities": int(membership.max()) + 1,
        "rings_planted": int(planted.shape[0]), "rings_recovered_share": recovered,
        "khop_p50_ms": float(np.percentile(times, 50)), "khop_p95_ms": float(np.percentile(times, 95)),
        "khop_max_ms": float(times.max()), "queries": len(times), "baseline": base,
        "ratio_leiden_vs_networkx_per_edge": (leiden_s / g.n_edges) / (base["louvain_seconds"] / base["edges"]),
        "ratio_leiden_vs_networkx_same_sample": base["leiden_seconds"] / base["louvain_seconds"],
        "ratio_khop_vs_networkx": base["khop_uncapped_p50_ms"] / base["ego_graph_p50_ms"],
        "ratio_khop_full_vs_networkx_sample": float(np.percentile(times, 50)) / base["ego_graph_p50_ms"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    return result
