"""Neighbourhoods, paths and components answer an analyst's questions with the filters and caps promised."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from cintel.network import NetworkError, components, export_cytoscape, neighbourhood, shortest_paths
from tests.network import build

D1, D2, D3 = date(2023, 1, 1), date(2024, 1, 1), date(2025, 1, 1)

# A and B share a phone (2023) and an address (2025); B's director also directs C; D is alone with E.
WORLD = [("entity:A", "phone:1", "has_phone", D1), ("entity:B", "phone:1", "has_phone", D1),
         ("entity:A", "address:a", "has_address", D3), ("entity:B", "address:a", "has_address", D3),
         ("person:p", "entity:B", "director_of", D2), ("person:p", "entity:C", "director_of", None),
         ("entity:D", "entity:E", "paid", D2)]


def ids(frame: pl.DataFrame) -> set[str]:
    return set(frame["node_id"].to_list())


def test_neighbourhood_reaches_k_hops_and_says_how_far_each_node_is() -> None:
    g = build(WORLD)
    one = neighbourhood(g, "entity:A", hops=1)
    assert ids(one.nodes) == {"entity:A", "phone:1", "address:a"}
    two = neighbourhood(g, "entity:A", hops=2)
    assert dict(two.nodes.select("node_id", "hops").iter_rows()) == {
        "entity:A": 0, "phone:1": 1, "address:a": 1, "entity:B": 2}
    assert two.edges.height == 4  # every edge between shown nodes
    assert not two.truncated


def test_neighbourhood_uses_only_the_edge_kinds_asked_for() -> None:
    sub = neighbourhood(build(WORLD), "entity:A", hops=4, edge_kinds={"has_phone", "director_of"})
    assert ids(sub.nodes) == {"entity:A", "phone:1", "entity:B", "person:p", "entity:C"}
    assert set(sub.edges["kind"].to_list()) == {"has_phone", "director_of"}


def test_neighbourhood_date_window_drops_ties_outside_it_but_keeps_undated_ones() -> None:
    g = build(WORLD)
    early = neighbourhood(g, "entity:A", hops=4, until=D2)
    assert ids(early.nodes) == {"entity:A", "phone:1", "entity:B", "person:p", "entity:C"}
    late = neighbourhood(g, "entity:A", hops=4, since=D3)
    assert ids(late.nodes) == {"entity:A", "address:a", "entity:B"}
    assert set(late.edges["date"].to_list()) == {D3}


def test_neighbourhood_does_not_walk_through_hubs_and_says_so() -> None:
    port = [(f"entity:C{i}", "address:port", "has_address", D1) for i in range(10)]
    g = build([("entity:A", "address:port", "has_address", D1), ("entity:A", "phone:1", "has_phone", D1),
               ("entity:B", "phone:1", "has_phone", D1), *port])
    sub = neighbourhood(g, "entity:A", hops=2, hub_degree=5)
    assert ids(sub.nodes) == {"entity:A", "address:port", "phone:1", "entity:B"}
    assert sub.truncated
    assert sub.hubs == ["address:port"]
    assert sub.nodes.filter(pl.col("hub"))["node_id"].to_list() == ["address:port"]
    # the hub itself, when asked about, is expanded
    assert neighbourhood(g, "address:port", hops=1, hub_degree=5).nodes.height == 12


def test_neighbourhood_is_capped_at_max_nodes() -> None:
    g = build([("entity:A", f"phone:{i}", "has_phone", D1) for i in range(20)])
    sub = neighbourhood(g, "entity:A", hops=1, max_nodes=5)
    assert sub.nodes.height == 5
    assert sub.truncated


def test_unknown_nodes_are_an_error() -> None:
    g = build(WORLD)
    with pytest.raises(NetworkError, match="entity:Z"):
        neighbourhood(g, "entity:Z")
    with pytest.raises(NetworkError, match="entity:Z"):
        shortest_paths(g, "entity:A", "entity:Z")


def test_shortest_path_lists_each_step_with_its_provenance() -> None:
    [path] = shortest_paths(build(WORLD), "entity:A", "entity:C", edge_kinds={"has_phone", "director_of"})
    assert path.nodes == ["entity:A", "phone:1", "entity:B", "person:p", "entity:C"]
    assert path.hops == 4
    steps = path.edges
    assert steps["kind"].to_list() == ["has_phone", "has_phone", "director_of", "director_of"]
    assert steps["source_key"].to_list() == ["rec-0", "rec-1", "rec-4", "rec-5"]
    assert steps["src"].to_list()[2] == "person:p"  # the record's own direction is kept for display


def test_all_shortest_paths_up_to_the_limit() -> None:
    g = build(WORLD)
    paths = shortest_paths(g, "entity:A", "entity:B")
    assert sorted(p.nodes[1] for p in paths) == ["address:a", "phone:1"]
    assert len(shortest_paths(g, "entity:A", "entity:B", limit=1)) == 1


def test_no_path_is_an_empty_list() -> None:
    g = build(WORLD)
    assert shortest_paths(g, "entity:A", "entity:D") == []
    assert shortest_paths(g, "entity:A", "entity:C", max_hops=3) == []


def test_paths_do_not_pass_through_hubs() -> None:
    port = [(f"entity:C{i}", "address:port", "has_address", D1) for i in range(10)]
    g = build([("entity:A", "address:port", "has_address", D1), ("entity:B", "address:port", "has_address", D1),
               *port])
    assert shortest_paths(g, "entity:A", "entity:B", hub_degree=5) == []
    assert len(shortest_paths(g, "entity:A", "entity:B", hub_degree=None)) == 1


def test_components_numbered_by_decreasing_size() -> None:
    comp = components(build(WORLD, extra_nodes=["vessel:9074729"]))
    sizes = dict(comp.select("node_id", "size").iter_rows())
    numbers = dict(comp.select("node_id", "component").iter_rows())
    assert sizes["entity:A"] == 6
    assert numbers["entity:A"] == 0
    assert numbers["entity:D"] == numbers["entity:E"] == 1
    assert sizes["vessel:9074729"] == 1


def test_export_cytoscape_gives_json_ready_elements() -> None:
    elements = export_cytoscape(neighbourhood(build(WORLD), "entity:A", hops=2))
    assert set(elements) == {"nodes", "edges"}
    node = elements["nodes"][0]["data"]
    assert {"id", "label", "kind", "hops"} <= set(node)
    edge = elements["edges"][0]["data"]
    assert {"id", "source", "target", "kind", "date", "source_kind", "source_key"} <= set(edge)
    assert {e["data"]["source"] for e in elements["edges"]} <= {n["data"]["id"] for n in elements["nodes"]}
    assert len({e["data"]["id"] for e in elements["edges"]}) == len(elements["edges"])
    json.dumps(elements)
    assert isinstance(edge["date"], str)
