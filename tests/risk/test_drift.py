"""Population stability per week: shifted populations raise alerts, the same population does not."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from sqlalchemy import Engine, select

from cintel.risk.drift import bin_codes, psi, psi_report, write_drift
from cintel.store.risk_tables import risk_drift


def population(n: int, start: date, days: int, shift: float = 0.0, cn_share: float = 0.3,
               seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    value = rng.normal(10 + shift, 1.0, n)
    value[rng.random(n) < 0.02] = np.nan
    return pl.DataFrame({
        "declaration_date": [start + timedelta(days=int(d)) for d in rng.integers(0, days, n)],
        "log_value": value,
        "country": rng.choice(["CN", "DE", "US"], n, p=[cn_share, (1 - cn_share) / 2, (1 - cn_share) / 2]),
        "score": rng.beta(2, 8 - 4 * shift if shift else 8, n),
    }).with_columns(pl.col("log_value").fill_nan(None))


REFERENCE = population(20_000, date(2024, 1, 1), 180, seed=1)
COLUMNS = ["log_value", "country", "score"]


def test_psi_is_zero_for_identical_shares_and_grows_with_the_shift() -> None:
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0)
    assert psi([50, 50], [60, 40]) < psi([50, 50], [80, 20])
    assert np.isfinite(psi([50, 50, 0], [40, 40, 20]))  # an empty reference bin does not blow up


def test_same_population_raises_no_alert_in_any_week() -> None:
    monitored = population(5_000, date(2024, 7, 1), 28, seed=2)
    report = psi_report(REFERENCE, monitored, COLUMNS, ["country"])
    assert report.height == 4 * len(COLUMNS) or report.height == 5 * len(COLUMNS)
    assert not report["alert"].any()
    assert report["psi"].max() < 0.1  # type: ignore[operator]
    assert set(report["status"]) == {"ok"}


def test_shifted_population_alerts_on_the_shifted_columns_only() -> None:
    monitored = population(5_000, date(2024, 7, 1), 28, shift=0.8, cn_share=0.3, seed=3)
    report = psi_report(REFERENCE, monitored, COLUMNS, ["country"])
    by_name = {name: frame for name, frame in report.group_by("name", maintain_order=True)}
    assert by_name[("log_value",)]["alert"].all()
    assert by_name[("score",)]["alert"].all()
    assert not by_name[("country",)]["alert"].any()


def test_new_categories_and_missing_values_count_as_drift() -> None:
    monitored = population(3_000, date(2024, 7, 1), 14, seed=4).with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit("XX")).otherwise(pl.col("country")).alias("country"),
        pl.when(pl.int_range(pl.len()) % 4 == 0).then(None).otherwise(pl.col("log_value")).alias("log_value"))
    report = psi_report(REFERENCE, monitored, ["country", "log_value"], ["country"])
    assert report.filter(pl.col("name") == "country")["alert"].all()
    assert report.filter(pl.col("name") == "log_value")["status"].is_in(["watch", "alert"]).all()


def test_weeks_are_iso_weeks_starting_on_monday() -> None:
    monitored = population(1_000, date(2024, 7, 3), 10, seed=5)  # a Wednesday
    weeks = psi_report(REFERENCE, monitored, ["score"])["week_start"].to_list()
    assert weeks == [date(2024, 7, 1), date(2024, 7, 8)]
    assert all(w.isoweekday() == 1 for w in weeks)


def test_numeric_bins_are_the_reference_deciles() -> None:
    ref = pl.Series(np.arange(1000, dtype=float))
    ref_codes, _, k = bin_codes(ref, pl.Series([0.0, 999.0, None], dtype=pl.Float64), categorical=False)
    assert k == 11  # ten decile bins plus the missing bin
    counts = np.bincount(ref_codes, minlength=k)
    assert (counts[:10] == 100).all()


def test_empty_monitored_window_gives_an_empty_report() -> None:
    assert psi_report(REFERENCE, REFERENCE.head(0), COLUMNS, ["country"]).is_empty()


def test_reports_are_written_to_the_store(engine: Engine) -> None:
    monitored = population(2_000, date(2024, 7, 1), 14, shift=1.0, seed=6)
    report = psi_report(REFERENCE, monitored, COLUMNS, ["country"])
    assert write_drift(engine, "fraud-v1", report) == report.height
    with engine.connect() as conn:
        rows = conn.execute(select(risk_drift).order_by(risk_drift.c.id)).mappings().all()
    assert len(rows) == report.height
    assert {r["name"] for r in rows} == set(COLUMNS)
    assert sum(r["alert"] for r in rows) == report["alert"].sum()
    assert rows[0]["week_start"] == date(2024, 7, 1)
