"""From scored pairs to entities: clustering under analyst decisions, and stable entity ids.

Clusters are the connected components of the pairs at or above the threshold, with the analysts'
"same" decisions added as certain links and their "not same" decisions removed. A component that
still holds a "not same" pair is rebuilt greedily, strongest link first, refusing any union that
would put the two records of such a pair together. Components are independent of one another, so
clustering all pairs at once or only the components that new records touch gives the same result:
that is what makes the incremental path agree with a full run.

Entity ids outlive re-runs: a cluster keeps the id most of its records had, and a new id is minted
only for a cluster none of whose records had one (or whose id went to a larger part of a split).
"""

from __future__ import annotations

from collections.abc import Iterable

import igraph as ig
import numpy as np
import polars as pl

SAME, NOT_SAME = "same", "not_same"
ANALYST = 2.0  # an analyst's "same" decision outranks every model edge (probabilities are at most 1)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = ig.Graph(n=n, edges=np.column_stack([a, b]) if len(a) else [], directed=False)
    return np.asarray(graph.connected_components().membership, dtype=np.int64)


class _UnionFind:
    def __init__(self, members: Iterable[int]) -> None:
        self.parent = {m: m for m in members}

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root


def _conflict(a: set[str], b: set[str]) -> bool:
    return bool(a) and bool(b) and a != b


def _constrained(members: np.ndarray, edges: list[tuple[float, int, int]], forbidden: set[tuple[int, int]],
                 numbers: dict[int, str], places: dict[int, str]) -> dict[int, int]:
    """Greedy clustering of one component: strongest edge first (analysts' "same" decisions come as
    probability 2, before any model edge), never joining a forbidden pair, and, for model edges, never
    joining two groups with different registration numbers, nor two groups without any whose addresses
    differ (a name-only record must not chain two namesakes living apart)."""
    uf = _UnionFind(members.tolist())
    groups: dict[int, set[int]] = {int(m): {int(m)} for m in members}
    ids = {int(m): {numbers[int(m)]} if int(m) in numbers else set() for m in members}
    addresses = {int(m): {places[int(m)]} if int(m) in places else set() for m in members}
    for probability, x, y in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
        rx, ry = uf.find(x), uf.find(y)
        if rx == ry:
            continue
        if any((min(p, q), max(p, q)) in forbidden for p in groups[rx] for q in groups[ry]):
            continue
        if probability <= 1 and (_conflict(ids[rx], ids[ry]) or (
                not ids[rx] and not ids[ry] and _conflict(addresses[rx], addresses[ry]))):
            continue
        uf.parent[ry] = rx
        groups[rx] |= groups.pop(ry)
        ids[rx] |= ids.pop(ry)
        addresses[rx] |= addresses.pop(ry)
    return {int(m): uf.find(int(m)) for m in members}


def _attribute(labels: pl.DataFrame | None, column: str, ids: pl.Series, index: dict[str, int]) -> dict[int, str]:
    if labels is None or column not in labels.columns:
        return {}
    known = labels.select("record_id", column).drop_nulls().filter(pl.col("record_id").is_in(ids.implode()))
    return {index[r]: str(v) for r, v in known.iter_rows()}


def cluster(record_ids: pl.Series, pairs: pl.DataFrame, decisions: pl.DataFrame, threshold: float,
            labels: pl.DataFrame | None = None) -> pl.DataFrame:
    """Cluster number per record (``record_id``, ``cluster``), clusters numbered by their smallest record id.

    ``pairs``: record_a, record_b, probability. ``decisions``: record_a, record_b, decision
    (``same`` / ``not_same``); the latest decision on a pair wins, so they arrive in decision order.
    ``labels`` (record_id, label, and optionally address): registration numbers and address keys; the
    model never puts two different numbers in one entity (two registered legal persons are two parties,
    however much they share: that is what front companies do), nor, where no record has a number, two
    different addresses; an analyst's "same" decision may.
    """
    ids = record_ids.unique().sort()
    index = {v: i for i, v in enumerate(ids.to_list())}
    latest = (decisions.with_columns(pl.min_horizontal("record_a", "record_b").alias("a"),
                                     pl.max_horizontal("record_a", "record_b").alias("b"))
              .unique(["a", "b"], keep="last", maintain_order=True)
              .filter(pl.col("a").is_in(ids.implode()) & pl.col("b").is_in(ids.implode())))
    not_same = latest.filter(pl.col("decision") == NOT_SAME)
    same = latest.filter(pl.col("decision") == SAME).select("a", "b", probability=pl.lit(ANALYST))
    edges = (pairs.filter(pl.col("probability") >= threshold)
             .select(a=pl.min_horizontal("record_a", "record_b"), b=pl.max_horizontal("record_a", "record_b"),
                     probability="probability")
             .join(not_same.select("a", "b"), on=["a", "b"], how="anti"))
    edges = pl.concat([edges, same]).filter(pl.col("a").is_in(ids.implode()) & pl.col("b").is_in(ids.implode()))
    a = np.array([index[v] for v in edges["a"].to_list()], dtype=np.int64)
    b = np.array([index[v] for v in edges["b"].to_list()], dtype=np.int64)
    label = _components(len(ids), a, b)
    forbidden = {(min(index[x], index[y]), max(index[x], index[y]))
                 for x, y in not_same.select("a", "b").iter_rows()}
    numbers, places = _attribute(labels, "label", ids, index), _attribute(labels, "address", ids, index)
    troubled = {int(label[x]) for x, y in forbidden if label[x] == label[y]}
    for attribute in (numbers, places):
        if attribute:
            frame = pl.DataFrame({"component": label[list(attribute)], "value": list(attribute.values())})
            troubled |= set(frame.group_by("component").agg(pl.col("value").n_unique().alias("n"))
                            .filter(pl.col("n") > 1)["component"].to_list())
    if troubled:
        probability = edges["probability"].to_numpy()
        next_label = int(label.max()) + 1
        for component in sorted(troubled):
            members = np.flatnonzero(label == component)
            inside = np.flatnonzero(label[a] == component)
            roots = _constrained(members, [(float(probability[k]), int(a[k]), int(b[k])) for k in inside],
                                 forbidden, numbers, places)
            parts = sorted(set(roots.values()))
            relabel = {parts[0]: component} | {root: next_label + k for k, root in enumerate(parts[1:])}
            next_label += len(parts) - 1
            for member, root in roots.items():
                label[member] = relabel[root]
    # Number clusters by their smallest record id, so the labels do not depend on processing order.
    frame = pl.DataFrame({"record_id": ids, "label": label})
    first = frame.group_by("label").agg(pl.col("record_id").min().alias("first")).sort("first")
    numbering = first.with_row_index("cluster").select("label", pl.col("cluster").cast(pl.Int64))
    return frame.join(numbering, on="label").select("record_id", "cluster").sort("record_id")


def assign_ids(clusters: pl.DataFrame, previous: pl.DataFrame, next_number: int,
               prefix: str = "ENT") -> tuple[pl.DataFrame, int]:
    """Entity id per record, reusing previous ids (``record_id``, ``entity_id``) where clusters keep them.

    Each previous id goes to the cluster holding most of its records (ties: the cluster with the
    smallest number); a cluster that wins several keeps the smallest. Returns the records with
    ``entity_id`` and the next free number.
    """
    joined = clusters.join(previous.select("record_id", pl.col("entity_id").alias("old")), on="record_id",
                           how="left")
    votes = (joined.drop_nulls("old").group_by("cluster", "old").len()
             .sort(["len", "cluster", "old"], descending=[True, False, False]))
    taken: dict[int, str] = {}
    used: set[str] = set()
    for cluster_no, old, _ in votes.iter_rows():
        if cluster_no in taken or old in used:
            continue
        taken[int(cluster_no)] = str(old)
        used.add(str(old))
    fresh: dict[int, str] = {}
    for cluster_no in clusters["cluster"].unique().sort().to_list():
        if cluster_no not in taken:
            fresh[cluster_no] = f"{prefix}{next_number:08d}"
            next_number += 1
    mapping = pl.DataFrame({"cluster": list(taken) + list(fresh),
                            "entity_id": list(taken.values()) + list(fresh.values())},
                           schema={"cluster": pl.Int64, "entity_id": pl.String})
    return clusters.join(mapping, on="cluster", how="left").select("record_id", "entity_id"), next_number
