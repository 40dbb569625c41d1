"""Network features of the risk engine: point in time, the same in batch and in real time, null without a network."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy import Engine

from cintel.risk.features import History, build_features, feature_state, state_features
from cintel.risk.features_network import NETWORK_COLUMNS, NetworkContext, network_features
from cintel.risk.network_context import network_context
from cintel.store.frames import load_inspections, load_items, load_tariff
from tests.entities.conftest import FIRST, load_kinds


def _history(engine: Engine, day: date, context: NetworkContext | None) -> History:
    return History(load_items(engine, None, day), load_inspections(engine, day), load_tariff(engine), context)


def _busiest_day(engine: Engine) -> date:
    items = load_items(engine)
    late = items.filter(pl.col("declaration_date") >= items["declaration_date"].max() - timedelta(days=40))
    return late.group_by("declaration_date").len().sort(["len", "declaration_date"], descending=True)[
        "declaration_date"][0]


def test_real_time_state_gives_the_batch_network_values(resolved_store: Engine) -> None:
    context = network_context(resolved_store)
    assert context is not None
    day = _busiest_day(resolved_store)
    items = load_items(resolved_store, day, day + timedelta(days=1))
    _, expected = build_features(items, _history(resolved_store, day, context))
    _, got = state_features(items, feature_state(_history(resolved_store, day, context), day, same_day=items))
    nulls = expected.select(list(NETWORK_COLUMNS)).null_count().sum_horizontal()[0]
    assert nulls < expected.height * len(NETWORK_COLUMNS)
    assert_frame_equal(got.select("declaration_id", *NETWORK_COLUMNS),
                       expected.select("declaration_id", *NETWORK_COLUMNS), rel_tol=1e-9)


def test_seeds_known_only_later_do_not_change_a_days_features(resolved_store: Engine) -> None:
    context = network_context(resolved_store)
    assert context is not None
    day = _busiest_day(resolved_store)
    frame = build_features(load_items(resolved_store, day, day + timedelta(days=1)),
                           _history(resolved_store, day, context))[1].select("importer_key", "declaration_date")
    company = context.importers["node_id"][0]
    later = pl.DataFrame({"node_id": [company], "weight": [1.0], "date": [day + timedelta(days=1)]})
    future = NetworkContext(context.graph, pl.concat([context.seeds, later]), context.importers)
    fresh = NetworkContext(context.graph, context.seeds, context.importers)
    assert_frame_equal(network_features(future, frame), network_features(fresh, frame))


def test_ring_importers_are_tied_to_other_companies(resolved_store: Engine, entity_world: Path) -> None:
    context = network_context(resolved_store)
    assert context is not None
    truth = pl.read_parquet(entity_world / "truth" / "declarations_truth.parquet")
    items = load_items(resolved_store)
    decls = (items.unique("declaration_id").join(truth.select("declaration_id", "ring_id"), on="declaration_id")
             .with_columns(importer_key=pl.coalesce("importer_id", pl.lit("name:") + pl.col("importer_name")
                                                    .str.to_lowercase())))
    features = network_features(context, decls.select("importer_key", "declaration_date", "ring_id"))
    by_ring = features.group_by(pl.col("ring_id").is_not_null().alias("ring")).agg(
        pl.col("network_tied_companies").mean())
    tied = dict(by_ring.iter_rows())
    assert tied[True] > 1.0 > tied[False]


def test_without_a_resolved_network_the_columns_are_null(engine: Engine, entity_world: Path) -> None:
    load_kinds(engine, entity_world, FIRST)
    assert network_context(engine) is None
    frame = pl.DataFrame({"importer_key": ["NL1"], "declaration_date": [date(2025, 3, 3)]})
    out = network_features(None, frame)
    assert out.columns == ["importer_key", "declaration_date", *NETWORK_COLUMNS]
    assert out.select(list(NETWORK_COLUMNS)).null_count().sum_horizontal()[0] == len(NETWORK_COLUMNS)
