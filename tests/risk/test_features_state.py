"""Real-time features: a day's feature state gives every declaration the values of the batch call."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cintel.risk.features import History, build_features, declaration_features, feature_state, state_features
from cintel.risk.features_history import declaration_rows
from tests.risk.test_features_world import World, make_world

DAYS = [date(2025, 1, 6), date(2025, 3, 12), date(2025, 6, 30)]  # a Monday, a Wednesday, the world's last day


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory)


def _day(frame: pl.DataFrame, day: date) -> pl.DataFrame:
    return frame.filter(pl.col("declaration_date") == day)


def _history(world: World, day: date) -> History:
    return History(world.items.filter(pl.col("declaration_date") < day),
                   world.inspections.filter(pl.col("inspection_date") < day), world.tariff)


def _one(frame: pl.DataFrame, decl: str) -> pl.DataFrame:
    return frame.filter(pl.col("declaration_id") == decl)


@pytest.mark.parametrize("day", DAYS)
def test_the_state_of_a_day_gives_the_whole_day_the_values_of_the_batch_call(world: World, day: date) -> None:
    items = _day(world.items, day)
    expected_items, expected_decls = build_features(items, _history(world, day))
    got_items, got_decls = state_features(items, feature_state(_history(world, day), day, same_day=items))
    assert items.height > 0
    assert_frame_equal(got_items, expected_items, rel_tol=1e-9)
    assert_frame_equal(got_decls, expected_decls, rel_tol=1e-9)


@pytest.mark.parametrize("day", DAYS)
def test_each_declaration_scored_alone_gets_its_values_in_the_days_batch(world: World, day: date) -> None:
    items = _day(world.items, day)
    expected_items, expected_decls = build_features(items, _history(world, day))
    state = feature_state(_history(world, day), day, same_day=items)
    split = set(expected_decls.filter(pl.col("split_siblings") > 0)["declaration_id"])
    decls = sorted(split)[:10] + items["declaration_id"].unique(maintain_order=True).to_list()[:30]
    for decl in decls:
        got_items, got_decls = state_features(_one(items, decl), state)
        assert_frame_equal(got_items, _one(expected_items, decl), rel_tol=1e-9)
        assert_frame_equal(got_decls, _one(expected_decls, decl), rel_tol=1e-9)


def test_a_declaration_not_yet_lodged_is_scored_as_the_batch_scores_it_alone(world: World) -> None:
    day = DAYS[1]
    state = feature_state(_history(world, day), day)
    items = _day(world.items, day)
    for decl in items["declaration_id"].unique(maintain_order=True).to_list()[:10]:
        expected = build_features(_one(items, decl), _history(world, day))
        got = state_features(_one(items, decl), state)
        assert_frame_equal(got[0], expected[0], rel_tol=1e-9)
        assert_frame_equal(got[1], expected[1], rel_tol=1e-9)


def test_new_traders_codes_and_origins_get_the_batch_values(world: World) -> None:
    day = DAYS[1]
    items = _day(world.items, day)
    decl = items["declaration_id"][0]
    # A trader, declarant, code and origin the history has never seen, and a trader without identifier or name.
    unseen = _one(items, decl).with_columns(
        declaration_id=pl.lit("NEW-1"), importer_id=pl.lit("NEW-IMPORTER"), declarant_id=pl.lit("NEW-DECLARANT"),
        hs_code=pl.lit("87120030"), country_of_origin=pl.lit("ZZ"))
    anonymous = _one(items, items["declaration_id"][-1]).with_columns(
        declaration_id=pl.lit("NEW-2"), importer_id=pl.lit(None, pl.String), importer_name=pl.lit(None, pl.String),
        declarant_id=pl.lit(None, pl.String))
    scored = pl.concat([unseen, anonymous])
    state = feature_state(_history(world, day), day, same_day=items)
    expected = build_features(scored, History(pl.concat([_history(world, day).items, items]),
                                              _history(world, day).inspections, world.tariff))
    got = state_features(scored, state)
    assert got[1]["first_time_importer"].to_list() == [True, False]
    assert_frame_equal(got[0], expected[0], rel_tol=1e-9)
    assert_frame_equal(got[1], expected[1], rel_tol=1e-9)


def test_items_of_another_day_are_refused(world: World) -> None:
    state = feature_state(_history(world, DAYS[1]), DAYS[1])
    with pytest.raises(ValueError, match="dated 2025-03-12"):
        state_features(_day(world.items, DAYS[0]).head(1), state)


def test_a_few_declarations_scored_together_get_their_values_in_the_days_batch(world: World) -> None:
    day = DAYS[1]
    items = _day(world.items, day)
    expected_items, expected_decls = build_features(items, _history(world, day))
    state = feature_state(_history(world, day), day, same_day=items)
    decls = items["declaration_id"].unique(maintain_order=True).to_list()[:3]
    got_items, got_decls = state_features(items.filter(pl.col("declaration_id").is_in(decls)), state)
    assert got_decls.height == 3
    assert_frame_equal(got_items, expected_items.filter(pl.col("declaration_id").is_in(decls)), rel_tol=1e-9)
    assert_frame_equal(got_decls, expected_decls.filter(pl.col("declaration_id").is_in(decls)), rel_tol=1e-9)


def test_one_declaration_rolls_up_without_a_group_by_to_the_group_by_values(world: World) -> None:
    day = DAYS[2]
    items = _day(world.items, day)
    item_frame, _ = build_features(items, _history(world, day))
    several = item_frame.group_by("declaration_id").len().filter(pl.col("len") > 1)["declaration_id"].sort()
    assert several.len() > 0
    by_group = declaration_features(item_frame)  # many declarations: a group_by
    for decl in several.head(10).to_list():
        assert_frame_equal(declaration_features(_one(item_frame, decl)), _one(by_group, decl))
        assert_frame_equal(declaration_rows(_one(item_frame, decl)),
                           declaration_rows(item_frame).filter(pl.col("declaration_id") == decl))


def test_the_state_values_every_code_and_origin_of_the_history_in_advance(world: World) -> None:
    day = DAYS[1]
    state = feature_state(_history(world, day), day)
    pairs = _history(world, day).items.select("hs_code", "country_of_origin").unique().rows()
    assert set(pairs) <= set(state.tariff.index)
