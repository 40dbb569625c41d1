"""The network of a resolved store: typed, dated edges with provenance, seeds, analyst queries and rings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from cintel.benchmarks.entities import ring_scores
from cintel.network.graph import EdgeKind, NetworkError
from cintel.network.service import neighbours, node_of, paths, ring_report, risk_scores
from cintel.network.store_graph import load_network
from tests.entities.conftest import ANALYST


def test_the_graph_holds_every_kind_of_link_with_its_source(resolved_store: Engine) -> None:
    network = load_network(resolved_store)
    kinds = set(network.graph.edges["kind"].unique().to_list())
    assert {EdgeKind.IMPORTER_OF.value, EdgeKind.EXPORTER_OF.value, EdgeKind.DIRECTOR_OF.value,
            EdgeKind.HAS_ADDRESS.value, EdgeKind.PAID.value, EdgeKind.IN_CONTAINER.value} <= kinds
    edges = network.graph.edges
    assert edges["source_kind"].null_count() == 0
    assert edges["source_key"].null_count() == 0
    importer = edges.filter(pl.col("kind") == EdgeKind.IMPORTER_OF.value).row(0, named=True)
    assert importer["source_kind"] == "declarations"
    assert importer["dst"] == f"declaration:{importer['source_key']}"


def test_seeds_are_caught_and_listed_parties_with_their_dates(resolved_store: Engine) -> None:
    seeds = load_network(resolved_store).seeds
    assert set(seeds["reason"].unique().to_list()) == {"caught", "listed"}
    assert seeds["date"].null_count() == 0


def test_a_declaration_leads_to_its_importer_and_on_to_what_it_shares(resolved_store: Engine) -> None:
    network = load_network(resolved_store)
    decl = network.graph.nodes.filter(pl.col("kind") == "declaration")["label"][0]
    sub = neighbours(resolved_store, ANALYST, decl, hops=2)
    assert {"declaration", "company"} <= set(sub.nodes["kind"].unique().to_list())


def test_paths_run_between_ring_members(resolved_store: Engine) -> None:
    ring = ring_report(resolved_store, ANALYST, top=1)[0]
    companies = ring.members.filter(pl.col("kind") == "company")["node_id"].to_list()
    found = paths(resolved_store, ANALYST, companies[0], companies[1], max_hops=4)
    assert found
    assert found[0].edges["source_key"].null_count() == 0


def test_references_an_analyst_types_are_resolved_or_refused(resolved_store: Engine) -> None:
    network = load_network(resolved_store)
    entity = network.graph.nodes.filter(pl.col("kind") == "company")["node_id"][0]
    assert node_of(network, entity.removeprefix("entity:")) == entity
    with pytest.raises(NetworkError, match="not in the network"):
        node_of(network, "ENT99999999")
    with pytest.raises(NetworkError, match="hops"):
        neighbours(resolved_store, ANALYST, entity, hops=9)


def test_planted_rings_are_found_and_top_rings_are_real(resolved_store: Engine, entity_world: Path) -> None:
    scores = ring_scores(resolved_store, entity_world)
    assert scores["planted_rings"] >= 2
    assert scores["ring_recall"] >= 0.66
    assert scores["false_rings_top_planted"] <= 0.34


def test_risk_spreads_from_seeds_to_their_neighbours(resolved_store: Engine) -> None:
    network = load_network(resolved_store)
    day = network.seeds["date"].max()
    ranked = risk_scores(resolved_store, ANALYST, as_of=day, limit=200)
    assert ranked["risk"].max() > 0
    assert ranked.filter(~pl.col("seized") & ~pl.col("watchlisted")).height > 0
