"""Hand-made cases: duty incentives, smoothed hit rates and split shipments, as an officer reads them."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from cintel.domain.records import INSPECTIONS, TARIFF
from cintel.risk.features import FEATURES, History, build_features
from cintel.risk.features_history import DEFAULT_PRIOR, HIT_RATE_WEIGHT
from cintel.store.frames import frame_schema, item_schema

DAY = date(2025, 3, 12)
TARIFF_ROWS = [
    ("TC-61", "61", "third_country", 0.035, None, None, None),
    ("TC-6109", "6109", "third_country", 0.12, None, None, None),
    ("TC-61099090", "61099090", "third_country", 0.06, None, None, None),
    ("TC-8712", "8712", "third_country", 0.14, None, None, None),
    ("AD-8712-CN", "8712", "anti_dumping", 0.486, "CN", None, None),
    ("PR-6109-TR", "6109", "preferential", 0.0, "TR", None, None),
    ("TC-8712-OLD", "87120030", "third_country", 0.5, None, date(2020, 1, 1), date(2020, 12, 31)),
]


def tariff() -> pl.DataFrame:
    return pl.DataFrame(TARIFF_ROWS, schema=frame_schema(TARIFF.fields), orient="row")


def item(decl: str, hs_code: str, origin: str = "CN", day: date = DAY, importer: str | None = "NL1",
         value: float = 1000.0, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {c: None for c in item_schema()}
    row.update(declaration_id=decl, item_no=1, declaration_date=day, declaration_type="IM", office_code="NLRTM01",
               importer_id=importer, importer_name=f"Trader {importer}", importer_country="NL",
               exporter_name="X", exporter_country=origin, declarant_id="BRK", country_of_origin=origin,
               country_of_dispatch=origin, transport_mode="1", hs_code=hs_code, goods_description="goods",
               quantity=10.0, quantity_unit="PCE", net_mass_kg=10.0, gross_mass_kg=11.0, invoice_currency="EUR",
               invoice_value=value, customs_value=value)
    row.update(kw)
    return row


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=item_schema())


def empty_history(items: pl.DataFrame | None = None, inspections: pl.DataFrame | None = None) -> History:
    return History(items if items is not None else frame([]),
                   inspections if inspections is not None else pl.DataFrame(schema=frame_schema(INSPECTIONS.fields)),
                   tariff())


def test_a_lower_duty_code_of_the_same_heading_shows_the_incentive_in_officer_words() -> None:
    items, decls = build_features(frame([item("D1", "61099090", "BD"), item("D2", "61091000", "BD")]),
                                  empty_history())
    low, high = items.row(0, named=True), items.row(1, named=True)
    assert low["duty_rate"] == pytest.approx(0.06)
    assert low["duty_differential_neighbours"] == pytest.approx(0.06)
    assert high["duty_differential_neighbours"] == pytest.approx(0.0)
    text = FEATURES["max_duty_differential_neighbours"].reason(decls.row(0, named=True))
    assert text == "declared under 6109.90 (6 %) while 6109 pays 12 %"


def test_an_origin_without_the_anti_dumping_duty_of_china_is_named() -> None:
    items, decls = build_features(frame([item("D1", "87120030", "MY"), item("D2", "87120030", "CN")]),
                                  empty_history())
    my, cn = items.row(0, named=True), items.row(1, named=True)
    assert (my["anti_dumping_elsewhere"], my["anti_dumping_elsewhere_origin"]) == (pytest.approx(0.486), "CN")
    assert (cn["anti_dumping_elsewhere"], cn["anti_dumping_rate"]) == (0.0, pytest.approx(0.486))
    assert cn["duty_rate"] == pytest.approx(0.14 + 0.486)  # the expired 50 % line does not apply
    reason = FEATURES["max_anti_dumping_elsewhere"].reason(decls.filter(pl.col("declaration_id") == "D1").row(
        0, named=True))
    assert reason == "origin MY for goods under anti-dumping duty from CN (48.6 %)"


def test_a_measure_applies_only_within_its_validity() -> None:
    items, _ = build_features(frame([item("D1", "87120030", "US", day=date(2020, 6, 1))]), empty_history())
    assert items["duty_rate"][0] == pytest.approx(0.5)


def test_a_preferential_origin_shows_its_margin() -> None:
    items, _ = build_features(frame([item("D1", "61091000", "TR")]), empty_history())
    assert items["preferential_margin"][0] == pytest.approx(0.12)
    assert items["duty_rate"][0] == pytest.approx(0.0)


def _inspections(rows: list[tuple[str, date, str]]) -> pl.DataFrame:
    return pl.DataFrame([{"inspection_id": f"I{i}", "declaration_id": d, "inspection_date": day, "channel": "red",
                          "outcome": outcome} for i, (d, day, outcome) in enumerate(rows)],
                        schema=frame_schema(INSPECTIONS.fields))


def test_hit_rates_are_smoothed_towards_the_prior() -> None:
    past = frame([item(f"P{i}", "61091000", day=DAY - timedelta(days=10 + i)) for i in range(4)]
                 + [item("Q1", "61091000", importer="NL2", day=DAY - timedelta(days=20))])
    inspected = _inspections([("P0", DAY - timedelta(days=9), "undervaluation"),
                              ("P1", DAY - timedelta(days=9), "no_finding"),
                              ("Q1", DAY - timedelta(days=19), "no_finding")])
    _, decls = build_features(frame([item("D1", "61091000")]), empty_history(past, inspected))
    row = decls.row(0, named=True)
    prior = 1 / 3  # all inspections before the day
    assert (row["importer_inspections"], row["importer_hits"]) == (2, 1)
    assert row["importer_hit_rate"] == pytest.approx((1 + HIT_RATE_WEIGHT * prior) / (2 + HIT_RATE_WEIGHT))
    assert row["declarant_hit_rate"] == pytest.approx((1 + HIT_RATE_WEIGHT * prior) / (3 + HIT_RATE_WEIGHT))


def test_without_any_inspection_the_hit_rate_is_the_default_prior() -> None:
    _, decls = build_features(frame([item("D1", "61091000")]), empty_history())
    assert decls["importer_hit_rate"][0] == pytest.approx(DEFAULT_PRIOR)
    assert decls["first_time_importer"][0] is True
    assert FEATURES["first_time_importer"].reason(decls.row(0, named=True)) == "first declaration of this importer"


def test_parcels_under_the_relief_threshold_on_consecutive_days_are_split_siblings() -> None:
    parts = [item(f"S{i}", "85171300", importer=None, day=DAY - timedelta(days=i), value=120.0) for i in range(3)]
    other_goods = item("S9", "95030075", importer=None, day=DAY, value=120.0)
    too_old = item("S8", "85171300", importer=None, day=DAY - timedelta(days=3), value=120.0)
    big = item("B1", "85171300", importer=None, day=DAY, value=5000.0)
    _, decls = build_features(frame([*parts, other_goods, too_old, big]), empty_history())
    by_id = {r["declaration_id"]: r for r in decls.iter_rows(named=True)}
    assert [by_id[f"S{i}"]["split_siblings"] for i in range(3)] == [2, 2, 1]
    assert by_id["S0"]["split_total_value"] == pytest.approx(360.0)
    assert (by_id["S9"]["split_siblings"], by_id["B1"]["split_siblings"]) == (0, 0)
    assert FEATURES["split_siblings"].reason(by_id["S0"]) == (
        "3 low-value consignments of HS 851713 by the same importer within 3 days, together 360 EUR "
        "(relief threshold 150 EUR)")


def test_a_cheap_item_is_explained_against_its_peers() -> None:
    past = frame([item(f"P{i}", "85171300", day=DAY - timedelta(days=30 + i), value=1000.0 + i) for i in range(12)])
    items, decls = build_features(frame([item("D1", "85171300", value=220.0)]), empty_history(past))
    assert items["unit_value_ratio_hs6_origin"][0] == pytest.approx(220 / 1005.5, rel=1e-6)
    assert items["unit_value_peers"][0] == 12
    text = FEATURES["min_unit_value_ratio"].reason(decls.row(0, named=True))
    assert text == "unit value 78 % below peers for HS 851713 from CN"


def test_too_few_peers_give_no_ratio() -> None:
    past = frame([item(f"P{i}", "85171300", day=DAY - timedelta(days=30)) for i in range(3)])
    items, _ = build_features(frame([item("D1", "85171300", value=10.0)]), empty_history(past))
    assert items["unit_value_ratio_hs6_origin"][0] is None
