"""Rings: companies tied by shared directors, addresses and phones rank above groups that merely trade alike."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from cintel.network import EntityGraph, NetworkError, communities, rings
from tests.network import build

D = date(2024, 1, 1)
RING = [f"entity:R{i}" for i in range(4)]
TRADERS = [f"entity:T{i}" for i in range(4)]


def world() -> EntityGraph:
    """A ring of 4 young companies (one seized) sharing director J. Smit, an address and a phone; and 4 older
    traders using one broker, two of them in one business centre."""
    edges = []
    for c in RING:
        edges += [("person:smit", c, "director_of", D), (c, "address:keizersgracht-1", "has_address", D),
                  (c, "phone:+31201234567", "has_phone", D)]
    for n, c in enumerate(TRADERS):
        edges += [(c, f"declaration:{n}", "importer_of", D), (f"declaration:{n}", "entity:broker", "declared_by", D),
                  (c, f"address:street-{min(n, 2)}", "has_address", D)]
    flags: dict[str, dict[str, Any]] = {c: {"first_seen": date(2024, 1 + 2 * i, 1)} for i, c in enumerate(RING)}
    flags |= {c: {"first_seen": date(2010 + i, 1, 1)} for i, c in enumerate(TRADERS)}
    flags["entity:R2"]["seized"] = True
    flags["person:smit"] = {}
    return build(edges, flags=flags)


def planted_communities() -> pl.DataFrame:
    ring = [*RING, "person:smit", "address:keizersgracht-1", "phone:+31201234567"]
    traders = [*TRADERS, "entity:broker", "address:street-0", "address:street-1", "address:street-2"]
    return pl.DataFrame({"node_id": ring + traders, "community": [0] * len(ring) + [1] * len(traders)})


def test_a_planted_ring_ranks_above_a_community_of_equal_size() -> None:
    ranked = rings(world(), planted_communities(), as_of=date(2025, 1, 1))
    assert [r.community for r in ranked] == [0, 1]
    ring, traders = ranked
    assert ring.score > traders.score
    assert ring.parts["ties"] == 1.0
    assert ring.parts["variety"] == 1.0
    assert traders.parts["ties"] == pytest.approx(1 / 10)  # one pair of the five companies shares an address


def test_a_ring_lists_its_members_and_the_shared_identifiers_that_tie_them() -> None:
    ring = rings(world(), planted_communities(), as_of=date(2025, 1, 1))[0]
    assert ring.ring_id == "ring-0"
    assert set(ring.members["node_id"].to_list()) == {*RING, "person:smit"}
    ev = ring.evidence
    assert ev.height == 3 * 6  # three identifiers, each shared by the six pairs of four companies
    assert set(ev["identifier"].to_list()) == {"person:smit", "address:keizersgracht-1", "phone:+31201234567"}
    assert ev.filter(pl.col("company_a") >= pl.col("company_b")).is_empty()
    assert ev["source_key_a"].null_count() == 0
    assert ev["source_key_b"].null_count() == 0


def test_a_ring_summary_says_in_words_why() -> None:
    summary = rings(world(), planted_communities())[0].summary
    assert summary == ("4 companies registered within 6 months share director smit, address keizersgracht-1 "
                       "and phone +31201234567; 1 seized")


def test_huge_and_tiny_communities_are_not_rings() -> None:
    assert rings(world(), planted_communities(), max_size=4) == []  # both have 5 companies and persons
    assert rings(world(), planted_communities(), min_size=6) == []


def test_communities_without_a_shared_identifier_are_not_rings() -> None:
    g = build([("entity:A", "declaration:1", "importer_of", D), ("entity:B", "declaration:1", "exporter_of", D),
               ("entity:C", "declaration:1", "declared_by", D)])
    comms = pl.DataFrame({"node_id": ["entity:A", "entity:B", "entity:C"], "community": [0, 0, 0]})
    assert rings(g, comms) == []


def test_leiden_then_rings_finds_the_planted_ring_first() -> None:
    g = world()
    comms = communities(g, node_kinds={"company", "person", "address", "phone"})
    top = rings(g, comms, min_size=3)[0]
    assert set(RING) <= set(top.members["node_id"].to_list())


def test_communities_frame_must_name_nodes_and_communities() -> None:
    with pytest.raises(NetworkError, match="community"):
        rings(world(), pl.DataFrame({"node_id": ["entity:R0"]}))


def test_a_ring_is_drawn_as_its_companies_around_what_they_share() -> None:
    from cintel.network.rings import ring_elements

    ring = rings(world(), planted_communities(), as_of=date(2025, 1, 1))[0]
    elements = ring_elements(ring)
    nodes = {n["data"]["id"]: n["data"] for n in elements["nodes"]}
    assert set(nodes) == {*RING, "person:smit", "address:keizersgracht-1", "phone:+31201234567"}
    assert all(nodes[c]["member"] and nodes[c]["entity_id"] == c.removeprefix("entity:") for c in RING)
    assert nodes["entity:R2"]["caught"]
    assert nodes["address:keizersgracht-1"]["label"] == "keizersgracht-1"
    ties = {(e["data"]["source"], e["data"]["target"], e["data"]["kind"]) for e in elements["edges"]}
    # one edge per company and what it shares; a director's edge runs person -> company, as in the graph
    assert ties == {*{("person:smit", c, "director_of") for c in RING},
                    *{(c, "address:keizersgracht-1", "has_address") for c in RING},
                    *{(c, "phone:+31201234567", "has_phone") for c in RING}}
    assert len({e["data"]["id"] for e in elements["edges"]}) == len(elements["edges"]) == 12
    assert {e["data"]["source"] for e in elements["edges"]} | {e["data"]["target"] for e in elements["edges"]} \
        <= set(nodes)


def test_what_ties_a_ring_is_said_in_words_with_its_sources() -> None:
    from cintel.network.rings import ring_ties

    ring = rings(world(), planted_communities(), as_of=date(2025, 1, 1))[0]
    ties = ring_ties(ring)
    assert [t["kind"] for t in ties] == ["director", "address", "phone"]  # all four share each: by kind order
    director = ties[0]
    assert (director["label"], director["companies"], director["since"]) == ("smit", ["R0", "R1", "R2", "R3"], D)
    # the hand-built edges come from "parties" records rec-<n>: named as the company register, never a hash
    assert director["sources"]
    assert all(s.startswith("company register rec-") for s in director["sources"])
