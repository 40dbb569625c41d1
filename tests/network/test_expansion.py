"""One click in the graph: a node's direct ties, filtered, capped for hubs, as Cytoscape.js elements."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from cintel.network import NetworkError
from cintel.network.expansion import expand, graph_risk
from cintel.network.store_graph import StoreNetwork
from tests.network import build

D1, D2 = date(2023, 1, 1), date(2025, 1, 1)


def network(edges: list[tuple[str, str, str, date | None]], flags: dict[str, dict[str, bool]] | None = None,
            seeds: pl.DataFrame | None = None) -> StoreNetwork:
    empty = pl.DataFrame(schema={"node_id": pl.String, "weight": pl.Float64, "date": pl.Date, "reason": pl.String})
    return StoreNetwork(graph=build(edges, flags=flags), seeds=empty if seeds is None else seeds)


STAR = [("entity:A", "phone:1", "has_phone", D1), ("entity:A", "address:a", "has_address", D2),
        ("person:p", "entity:A", "director_of", None), ("entity:A", "declaration:9", "importer_of", D2),
        ("entity:B", "phone:1", "has_phone", D1)]


def ids(answer: dict[str, object]) -> list[str]:
    return [n["data"]["id"] for n in answer["nodes"]]  # type: ignore[attr-defined,index]


def test_the_node_comes_first_then_its_direct_neighbours_and_the_edges_to_them() -> None:
    answer = expand(network(STAR), "entity:A")
    assert ids(answer)[0] == "entity:A"
    assert set(ids(answer)) == {"entity:A", "phone:1", "address:a", "person:p", "declaration:9"}  # not B: 2 hops
    assert (answer["shown"], answer["total"], answer["more"]) == (4, 4, 0)
    edge = next(e["data"] for e in answer["edges"] if e["data"]["kind"] == "has_address")
    assert (edge["source"], edge["target"], edge["date"]) == ("entity:A", "address:a", "2025-01-01")
    assert {"source_kind", "source_key", "records"} <= set(edge)
    node = answer["nodes"][0]["data"]
    assert (node["kind"], node["label"], node["entity_id"], node["degree"]) == ("company", "A", "A", 4)
    phone = next(n["data"] for n in answer["nodes"] if n["data"]["id"] == "phone:1")
    assert phone["entity_id"] is None  # an identifier has no entity page


def test_kinds_and_dates_filter_the_ties_and_undated_ones_pass_any_window() -> None:
    g = network(STAR)
    assert set(ids(expand(g, "entity:A", kinds=["has_phone"]))) == {"entity:A", "phone:1"}
    assert set(ids(expand(g, "entity:A", since=D2))) == {"entity:A", "address:a", "declaration:9", "person:p"}
    assert set(ids(expand(g, "entity:A", until=D1))) == {"entity:A", "phone:1", "person:p"}


def test_a_hub_answers_its_most_telling_neighbours_first_and_counts_the_rest() -> None:
    edges = [("entity:H", f"declaration:{i}", "importer_of", D2) for i in range(20)]
    edges += [("entity:H", "phone:1", "has_phone", D1), ("person:x", "entity:H", "director_of", D1)]
    answer = expand(network(edges, flags={"declaration:7": {"seized": True}}), "entity:H", limit=3)
    assert (answer["shown"], answer["total"], answer["more"]) == (3, 22, 19)
    # the flagged one, then the party, then the identifier; the other declarations wait
    assert set(ids(answer)[1:]) == {"declaration:7", "person:x", "phone:1"}
    assert {e["data"]["target"] for e in answer["edges"]} | {e["data"]["source"] for e in answer["edges"]} \
        <= set(ids(answer))


def test_unknown_nodes_and_kinds_are_refused() -> None:
    with pytest.raises(NetworkError, match="not in the graph"):
        expand(network(STAR), "entity:Z")
    with pytest.raises(NetworkError, match="unknown edge kind"):
        expand(network(STAR), "entity:A", kinds=["friend_of"])


def test_each_node_carries_the_risk_spread_to_it() -> None:
    seeds = pl.DataFrame({"node_id": ["entity:B"], "weight": [1.0], "date": [D1], "reason": ["caught"]})
    g = network(STAR, seeds=seeds)
    risk = graph_risk(g)
    assert risk.shape == (g.graph.n_nodes,)
    assert np.all(risk >= 0)
    answer = expand(g, "entity:A", risk=risk)
    by_id = {n["data"]["id"]: n["data"]["risk"] for n in answer["nodes"]}
    assert by_id["phone:1"] > by_id["address:a"]  # the phone is shared with the seed
