"""Building the entity graph from the store's frames: vertex <-> node id maps, merged duplicates, errors that
name the offending ids, point-in-time views."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cintel.network import EdgeKind, EntityGraph, NetworkError, NodeKind
from tests.network import build, edge_frame, node_frame

D1, D2, D3 = date(2024, 1, 1), date(2024, 6, 1), date(2025, 1, 1)


def test_vertices_map_to_node_ids_and_edges_keep_their_direction() -> None:
    g = build([("person:p1", "entity:A", "director_of", D1)])
    assert g.n_nodes == 2
    assert g.n_edges == 1
    assert g.index_of("entity:A") == 1
    assert g.node_ids(g.indices_of(["entity:A", "person:p1"])) == ["entity:A", "person:p1"]
    row = g.edges.row(0, named=True)
    assert (row["src"], row["dst"], row["kind"]) == ("person:p1", "entity:A", "director_of")
    assert not g.graph.is_directed()


def test_edges_naming_missing_nodes_are_an_error_listing_them() -> None:
    nodes = node_frame(["entity:A"])
    edges = edge_frame([("entity:A", "phone:+31", "has_phone", D1), ("entity:B", "entity:A", "same_as", None)])
    with pytest.raises(NetworkError, match=r"2 edge\(s\).*entity:B.*phone:\+31"):
        EntityGraph.from_frames(nodes, edges)


def test_duplicate_edges_merge_into_one_with_the_earliest_date_and_a_weight_of_their_count() -> None:
    edges = [("entity:A", "address:a", "has_address", D2), ("entity:A", "address:a", "has_address", D1),
             ("entity:A", "address:a", "has_address", None), ("entity:A", "phone:1", "has_phone", D3)]
    g = build(edges)
    merged = g.edges.filter(pl.col("kind") == "has_address").row(0, named=True)
    assert g.n_edges == 2
    assert merged["date"] == D1
    assert merged["source_key"] == "rec-1"  # the provenance of the earliest record
    assert merged["weight"] == 3.0
    assert merged["records"] == 3


def test_unknown_kinds_and_duplicate_node_ids_are_errors() -> None:
    with pytest.raises(NetworkError, match=r"unknown edge kind.*shares_address"):
        build([("entity:A", "address:a", "shares_address", D1)])
    nodes = pl.concat([node_frame(["entity:A"]), node_frame(["entity:A"])])
    with pytest.raises(NetworkError, match=r"more than once.*entity:A"):
        EntityGraph.from_frames(nodes, edge_frame([]))
    bad = node_frame(["entity:A"]).with_columns(kind=pl.lit("firm"))
    with pytest.raises(NetworkError, match=r"unknown node kind.*firm"):
        EntityGraph.from_frames(bad, edge_frame([]))


def test_missing_optional_columns_get_defaults() -> None:
    nodes = pl.DataFrame({"node_id": ["entity:A", "entity:B"], "kind": ["company"] * 2, "label": ["A", "B"]})
    edges = pl.DataFrame({"src": ["entity:A"], "dst": ["entity:B"], "kind": ["paid"]})
    g = EntityGraph.from_frames(nodes, edges)
    assert g.nodes["seized"].to_list() == [False, False]
    assert g.edges.row(0, named=True)["weight"] == 1.0
    assert g.edges["date"].null_count() == 1


def test_as_of_keeps_edges_dated_before_the_day_and_undated_ones_and_every_node() -> None:
    g = build([("entity:A", "phone:1", "has_phone", D1), ("entity:A", "phone:2", "has_phone", D2),
               ("entity:A", "phone:3", "has_phone", None)])
    past = g.as_of(D2)
    assert past.n_nodes == 4
    assert sorted(past.edges["dst"].to_list()) == ["phone:1", "phone:3"]  # D2 itself is not yet known
    assert past.graph.ecount() == 2


def test_with_edge_kinds_keeps_only_those_kinds() -> None:
    g = build([("entity:A", "phone:1", "has_phone", D1), ("entity:A", "address:a", "has_address", D1)])
    assert g.with_edge_kinds({EdgeKind.HAS_PHONE}).edges["kind"].to_list() == ["has_phone"]
    with pytest.raises(NetworkError, match="unknown edge kind"):
        g.with_edge_kinds({"knows"})


def test_csr_lists_every_edge_from_both_ends() -> None:
    g = build([("entity:A", "phone:1", "has_phone", D1), ("entity:B", "phone:1", "has_phone", D1)])
    indptr, neighbour, edge = g.csr
    phone = g.index_of("phone:1")
    assert sorted(neighbour[indptr[phone]:indptr[phone + 1]].tolist()) == [g.index_of("entity:A"),
                                                                           g.index_of("entity:B")]
    assert sorted(edge.tolist()) == [0, 0, 1, 1]
    assert g.degree.tolist() == [1, 2, 1]


def test_every_kind_has_a_description() -> None:
    assert all(k.description for k in NodeKind)
    assert all(k.description for k in EdgeKind)
    assert "has_address" in EdgeKind.codes()
