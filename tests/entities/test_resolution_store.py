"""Entity resolution on the store: quality against the world's truth, incremental = full, overrides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from cintel.benchmarks.entities import labelled_records, pairwise_scores
from cintel.entities.resolve import ResolutionError
from cintel.entities.service import ResolutionReport, entity_view, merge, not_same, resolve_store, split
from cintel.store.entity_tables import entity_links, entity_records
from cintel.store.frames import load_table
from tests.conftest import BACKENDS, StoreTemplate, store_template
from tests.entities.conftest import ANALYST, FIRST, LATER, load_kinds


@pytest.fixture(scope="module", params=BACKENDS)
def first_resolution(request: pytest.FixtureRequest, entity_world: Path) -> tuple[StoreTemplate, ResolutionReport]:
    """The world's first record kinds loaded and resolved, once per back end, and that first run's report: the
    state most tests here start from. Each test resolves further on its own copy (``resolved``)."""

    def load(engine: Engine) -> ResolutionReport:
        load_kinds(engine, entity_world, FIRST)
        return resolve_store(engine, ANALYST)

    return store_template(request.param, load)


@pytest.fixture
def resolved(first_resolution: tuple[StoreTemplate, ResolutionReport], tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the store after the first resolution of the world's first record kinds."""
    with first_resolution[0].copy(tmp_path) as engine:
        yield engine


def _partition(engine: Engine) -> set[frozenset[str]]:
    records = load_table(engine, entity_records)
    groups = records.group_by("entity_id").agg(pl.col("record_id"))
    return {frozenset(ids) for ids in groups["record_id"].to_list()}


def test_resolution_finds_the_worlds_parties(resolved_world: tuple[StoreTemplate, ResolutionReport],
                                             resolved_store: Engine, entity_world: Path) -> None:
    # The shared resolved world is this resolution: every record kind loaded, then one full run.
    report = resolved_world[1]
    assert report.mode == "full"
    assert report.entities < report.records
    assert pairwise_scores(labelled_records(resolved_store, entity_world))["f1"] >= 0.93


def test_incremental_resolution_equals_a_full_run(resolved: Engine, entity_world: Path,
                                                  first_resolution: tuple[StoreTemplate, ResolutionReport]) -> None:
    first = first_resolution[1]
    load_kinds(resolved, entity_world, LATER)
    incremental = resolve_store(resolved, ANALYST)
    assert incremental.mode == "incremental"
    assert incremental.new_records > 0
    assert incremental.model_id == first.model_id
    after_incremental = _partition(resolved)
    full = resolve_store(resolved, ANALYST, full=True)
    assert full.model_id == first.model_id
    assert _partition(resolved) == after_incremental


def test_a_run_with_nothing_new_changes_nothing(resolved: Engine) -> None:
    before = load_table(resolved, entity_records).sort("record_id")
    again = resolve_store(resolved, ANALYST)
    assert again.new_records == 0
    assert again.pairs_scored == 0
    assert load_table(resolved, entity_records).sort("record_id").equals(before)


def _largest_entity(engine: Engine) -> str:
    records = load_table(engine, entity_records)
    return str(records.group_by("entity_id").len().sort(["len", "entity_id"], descending=[True, False])
               ["entity_id"][0])


def test_a_split_survives_re_resolution_and_retraining(resolved: Engine, entity_world: Path) -> None:
    entity = _largest_entity(resolved)
    view = entity_view(resolved, ANALYST, entity)
    moved = view.records["record_id"].to_list()[:2]
    split(resolved, ANALYST, entity, moved, reason="different VAT registrations confirmed by phone")
    for kwargs in ({}, {"full": True}, {"retrain": True}):
        load_kinds(resolved, entity_world, LATER)
        resolve_store(resolved, ANALYST, **kwargs)
        records = load_table(resolved, entity_records)
        owner = dict(records.select("record_id", "entity_id").iter_rows())
        rest = [r for r in view.records["record_id"].to_list() if r not in moved]
        assert owner[moved[0]] == owner[moved[1]]
        assert owner[moved[0]] not in {owner[r] for r in rest}


def test_a_merge_survives_a_full_re_run(resolved: Engine) -> None:
    records = load_table(resolved, entity_records)
    a, b = records.group_by("entity_id").len().sort("entity_id")["entity_id"].to_list()[:2]
    survivor = merge(resolved, ANALYST, a, b, reason="same director and premises, one company")
    resolve_store(resolved, ANALYST, full=True)
    after = load_table(resolved, entity_records)
    members = set(records.filter(pl.col("entity_id").is_in([a, b]))["record_id"].to_list())
    assert after.filter(pl.col("record_id").is_in(list(members)))["entity_id"].n_unique() == 1
    assert survivor in {a, b}


def test_not_same_keeps_apart_what_a_lower_threshold_would_join(resolved: Engine) -> None:
    records = load_table(resolved, entity_records)
    owner = dict(records.select("record_id", "entity_id").iter_rows())
    links = load_table(resolved, entity_links).filter(pl.col("probability") < 0.9)
    weak = next((a, b) for a, b in links.select("record_a", "record_b").iter_rows() if owner[a] != owner[b])
    a, b = owner[weak[0]], owner[weak[1]]
    not_same(resolved, ANALYST, a, b, reason="different registers after all")
    resolve_store(resolved, ANALYST, full=True, threshold=0.5)
    after = dict(load_table(resolved, entity_records).select("record_id", "entity_id").iter_rows())
    ids_a = records.filter(pl.col("entity_id") == a)["record_id"].to_list()
    ids_b = records.filter(pl.col("entity_id") == b)["record_id"].to_list()
    assert {after[r] for r in ids_a}.isdisjoint({after[r] for r in ids_b})


def test_every_merge_is_explained_by_match_weights(resolved: Engine) -> None:
    view = entity_view(resolved, ANALYST, _largest_entity(resolved))
    assert view.links.height >= view.records.height - 1
    explanation = view.links["explanation"][0]
    assert '"level"' in explanation
    assert '"weight"' in explanation
    assert view.sources.height > 0


def test_errors_are_clear(engine: Engine) -> None:
    with pytest.raises(ResolutionError, match="nothing to resolve"):
        resolve_store(engine, ANALYST)
    with pytest.raises(ResolutionError, match="no entity"):
        entity_view(engine, ANALYST, "ENT99999999")
    with pytest.raises(ResolutionError, match="reason"):
        merge(engine, ANALYST, "ENT1", "ENT2", reason=" ")
