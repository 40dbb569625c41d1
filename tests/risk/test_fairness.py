from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from cintel.risk.fairness import REPORT_COLUMNS, fairness_report, trader_size


def group(country: str, n: int, probability: float | None, inspected: int, frauds: int = 0,
          office: str = "OF1") -> pl.DataFrame:
    """``n`` declarations of one country, the first ``inspected`` inspected, the first ``frauds`` of those fraud."""
    return pl.DataFrame({
        "declaration_id": [f"{country}{i}" for i in range(n)],
        "importer_country": [country] * n,
        "office_code": [office] * n,
        "trader_size": ["medium"] * n,
        "probability": pl.Series([probability] * n, dtype=pl.Float64),
        "inspected": [i < inspected for i in range(n)],
        "is_fraud": pl.Series([(i < frauds) if i < inspected else None for i in range(n)], dtype=pl.Boolean),
    })


def row(report: pl.DataFrame, dimension: str, name: str) -> dict[str, Any]:
    return report.filter((pl.col("dimension") == dimension) & (pl.col("group") == name)).row(0, named=True)


def test_a_group_inspected_three_times_more_than_its_risk_explains_is_flagged() -> None:
    # Same risk everywhere; A and B inspected at 10 %, C at 30 %.
    frame = pl.concat([group("A", 4500, 0.05, 450), group("B", 4500, 0.05, 450), group("C", 1000, 0.05, 300)])
    report = fairness_report(frame, by=("importer_country",))
    c = row(report, "importer_country", "C")
    assert c["expected_inspections"] == pytest.approx(120.0)  # 1200 inspections × 1000/10000 of the risk
    assert c["burden_ratio"] == pytest.approx(2.5)
    assert c["p_value"] < 1e-6
    assert c["flagged"] is True
    assert row(report, "importer_country", "A")["flagged"] is False
    assert report["flagged"].to_list()[0] is True  # flagged groups come first


def test_a_group_inspected_in_proportion_to_its_risk_is_not_flagged() -> None:
    # D is twice as risky as E and inspected twice as often: burden matches risk.
    frame = pl.concat([group("D", 1000, 0.10, 200, frauds=40), group("E", 1000, 0.05, 100, frauds=5)])
    report = fairness_report(frame, by=("importer_country",))
    d = row(report, "importer_country", "D")
    assert d["burden_ratio"] == pytest.approx(1.0)
    assert d["flagged"] is False
    assert d["inspection_rate"] == pytest.approx(0.2)
    assert d["hit_rate"] == pytest.approx(0.2)
    assert d["mean_risk"] == pytest.approx(0.1)
    assert d["labelled"] == 200
    assert not report["flagged"].any()


def test_small_or_insignificant_excess_is_not_flagged() -> None:
    base = group("A", 5000, 0.05, 500)
    tiny = group("T", 10, 0.05, 5)  # ratio ≈ 5 but only 10 declarations
    noisy = group("N", 40, 0.05, 8)  # ratio ≈ 2 but 8 vs 4 expected is not significant at 1 %
    report = fairness_report(pl.concat([base, tiny, noisy]), by=("importer_country",))
    assert row(report, "importer_country", "T")["burden_ratio"] > 4
    assert row(report, "importer_country", "N")["burden_ratio"] > 1.5
    assert not report["flagged"].any()
    relaxed = fairness_report(pl.concat([base, tiny, noisy]), by=("importer_country",), min_n=5, alpha=0.05)
    assert row(relaxed, "importer_country", "T")["flagged"] is True


def test_inspecting_a_group_the_model_sees_no_risk_in_is_an_infinite_burden() -> None:
    frame = pl.concat([group("A", 1000, 0.1, 100), group("Z", 100, 0.0, 30)])
    z = row(fairness_report(frame, by=("importer_country",)), "importer_country", "Z")
    assert z["expected_inspections"] == 0.0
    assert math.isinf(z["burden_ratio"])
    assert z["flagged"] is True


def test_unknown_probability_counts_as_average_risk_and_null_groups_are_reported() -> None:
    frame = pl.concat([group("A", 100, 0.2, 20), group("B", 100, None, 10)]).with_columns(
        importer_country=pl.when(pl.col("importer_country") == "B").then(None).otherwise(pl.col("importer_country")))
    report = fairness_report(frame, by=("importer_country",), min_n=1)
    unknown = row(report, "importer_country", "(unknown)")
    assert unknown["mean_risk"] == pytest.approx(0.2)
    assert unknown["expected_inspections"] == pytest.approx(15.0)


def test_every_dimension_is_reported_and_trader_size_is_derived_from_declaration_counts() -> None:
    sizes = trader_size(pl.Series(["a"] * 10 + ["b"] * 3 + ["c", "d"]))
    assert sizes.to_list() == ["large"] * 10 + ["medium"] * 3 + ["small"] * 2
    frame = group("A", 60, 0.1, 6).drop("trader_size").with_columns(
        importer_id=pl.Series(["big"] * 40 + ["mid"] * 15 + ["s1"] * 3 + ["s2"] * 2))
    report = fairness_report(frame)
    assert report.columns == list(REPORT_COLUMNS)
    assert set(report["dimension"]) == {"importer_country", "trader_size", "office_code"}
    assert set(report.filter(pl.col("dimension") == "trader_size")["group"]) == {"small", "medium", "large"}
    with pytest.raises(ValueError, match="trader_size"):
        fairness_report(frame.drop("importer_id"))
    with pytest.raises(ValueError, match="office_code"):
        fairness_report(frame.drop("office_code"))
