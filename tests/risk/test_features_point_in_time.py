"""Point-in-time correctness: a declaration of day D sees only what was known before D."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cintel.risk.features import History, build_features
from tests.risk.test_features_world import World, make_world

D = date(2025, 3, 12)  # a Wednesday: peers come from before Monday 10 March


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory)


def _day(frame: pl.DataFrame, day: date) -> pl.DataFrame:
    return frame.filter(pl.col("declaration_date") == day)


def daily(world: World, day: date, inspections: pl.DataFrame | None = None,
          extra: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The daily scoring call: the day's items against everything dated before it."""
    items = _day(world.items, day) if extra is None else pl.concat([_day(world.items, day), extra])
    ins = world.inspections if inspections is None else inspections
    history = History(world.items.filter(pl.col("declaration_date") < day),
                      ins.filter(pl.col("inspection_date") < day), world.tariff)
    return build_features(items, history)


def test_a_window_call_gives_each_day_the_values_of_its_daily_call(world: World) -> None:
    start, end = D - timedelta(days=30), D + timedelta(days=30)
    history = History(world.items.filter(pl.col("declaration_date") < start), world.inspections, world.tariff)
    window = world.items.filter(pl.col("declaration_date").is_between(start, end, closed="left"))
    items_w, decls_w = build_features(window, history)
    for day in (D, start, D + timedelta(days=5)):
        items_d, decls_d = daily(world, day)
        assert items_d.height > 0
        assert_frame_equal(_day(items_w, day), items_d, rel_tol=1e-9)
        assert_frame_equal(_day(decls_w, day), decls_d, rel_tol=1e-9)


@pytest.mark.parametrize("ahead", [1, 7, 60])
def test_future_declarations_and_inspections_never_change_a_days_features(world: World, ahead: int) -> None:
    items_d, decls_d = daily(world, D)
    future = _day(world.items, D + timedelta(days=ahead))
    # Every inspection on file, to the end of the world, including those of later days.
    history = History(world.items.filter(pl.col("declaration_date") < D), world.inspections, world.tariff)
    items_f, decls_f = build_features(pl.concat([_day(world.items, D), future]), history)
    assert future.height > 0
    assert_frame_equal(_day(items_f, D), items_d, rel_tol=1e-9)
    assert_frame_equal(_day(decls_f, D), decls_d, rel_tol=1e-9)


def test_later_days_of_the_same_week_are_never_peers(world: World) -> None:
    items_d, _ = daily(world, D)
    # Price the rest of the week a hundred times higher: the day's peer statistics must not move.
    week = world.items.filter(pl.col("declaration_date").is_between(D - timedelta(days=2), D + timedelta(days=4)))
    others = week.filter(pl.col("declaration_date") != D).with_columns(pl.col("customs_value") * 100)
    history = History(world.items.filter(pl.col("declaration_date") < D - timedelta(days=2)).vstack(
        week.filter(pl.col("declaration_date") < D)), world.inspections, world.tariff)
    items_f, _ = build_features(pl.concat([_day(world.items, D), others.filter(pl.col("declaration_date") > D)]),
                                history)
    cols = ["unit_value_ratio_hs6_origin", "unit_value_robust_z", "mass_per_unit_ratio", "origin_share_hs6"]
    assert_frame_equal(_day(items_f, D).select(cols), items_d.select(cols), rel_tol=1e-9)


def _fraud_found(decl_ids: pl.Series, on: date, importer_rows: pl.DataFrame) -> pl.DataFrame:
    n = decl_ids.len()
    return pl.DataFrame({
        "inspection_id": [f"X{i}" for i in range(n)], "declaration_id": decl_ids,
        "inspection_date": [on] * n, "channel": ["red"] * n, "outcome": ["undervaluation"] * n,
        "findings": [None] * n, "additional_duty": [100.0] * n, "seizure": [False] * n, "seized_goods": [None] * n,
        "inspector_id": [None] * n, "selection_reason": [None] * n,
    }, schema=importer_rows.schema)


@pytest.mark.parametrize("days_after", [0, 1, 30])
def test_a_declarations_own_inspection_never_leaks_into_its_features(world: World, days_after: int) -> None:
    _, decls_d = daily(world, D)
    own = _day(world.items, D).get_column("declaration_id").unique()
    found = _fraud_found(own, D + timedelta(days=days_after), world.inspections)
    history = History(world.items.filter(pl.col("declaration_date") < D),
                      pl.concat([world.inspections, found]), world.tariff)
    _, decls_f = build_features(_day(world.items, D), history)
    assert_frame_equal(decls_f, decls_d, rel_tol=1e-9)


def test_an_inspection_dated_before_its_declaration_is_ignored(world: World) -> None:
    _, decls_d = daily(world, D)
    later = _day(world.items, D + timedelta(days=3))
    # Implausible records: later declarations "inspected" before they were lodged, with findings.
    found = _fraud_found(later.get_column("declaration_id").unique(), D - timedelta(days=5), world.inspections)
    history = History(world.items.filter(pl.col("declaration_date") < D),
                      pl.concat([world.inspections, found]), world.tariff)
    _, decls_f = build_features(pl.concat([_day(world.items, D), later]), history)
    assert_frame_equal(_day(decls_f, D), decls_d, rel_tol=1e-9)


def test_history_features_count_only_earlier_days(world: World) -> None:
    _, decls = daily(world, D)
    row = decls.filter(pl.col("importer_declarations_before") > 5).row(0, named=True)
    before = world.items.filter(pl.col("importer_id") == row["importer_id"], pl.col("declaration_date") < D)
    recent = before.filter(pl.col("declaration_date") >= D - timedelta(days=90))
    assert row["importer_declarations_before"] == before["declaration_id"].n_unique()
    assert row["importer_declarations_90d"] == recent["declaration_id"].n_unique()
    assert row["importer_age_days"] == (D - before["declaration_date"].min()).days  # type: ignore[operator]
    assert row["first_time_importer"] is False
