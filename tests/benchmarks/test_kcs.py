"""The KCS benchmark runs end to end on a subsample (the full five-seed run is not part of the suite)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cintel.benchmarks.kcs import KEYS, TRAIN_TO, engineer, read_kcs, run_kcs

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "kcs"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"KCS data not at {DATA}")


def test_smoke_run_reports_every_key_with_sane_values() -> None:
    result = run_kcs(DATA, seeds=2, smoke=True)
    json.dumps(result)  # the CLI prints it as JSON
    for key in KEYS:
        assert 0.0 <= result[key] <= 1.0
        assert result["std"][key] >= 0.0
        assert len([s[key] for s in result["per_seed"]]) == 2
    assert result["auc"] > 0.6  # even a few small trees beat chance
    assert result["precision@10%"] > 0.3  # above the 21.6 % fraud rate
    assert result["n_train"] == 6000
    assert result["n_valid"] == 2000
    assert result["n_test"] == 8481
    assert result["published"]["lightgbm"]["precision@5%"] == 0.762
    assert result["single_row_ms"]["p99"] > 0


def test_critical_fraud_is_never_a_feature_and_peer_prices_come_from_training_only() -> None:
    frame = read_kcs(DATA)
    assert "Critical Fraud" not in frame.columns
    engineered = engineer(frame)
    # Changing prices after the training window must not move the HS6 medians the features compare with.
    later = frame.with_columns(pl.when(pl.col("date") > TRAIN_TO).then(pl.col("price") * 100)
                               .otherwise(pl.col("price")).alias("price"))
    first_train = engineered.filter(pl.col("date") <= TRAIN_TO)["unit_price_vs_hs6"]
    assert engineer(later).filter(pl.col("date") <= TRAIN_TO)["unit_price_vs_hs6"].equals(first_train)
    assert engineered["date"].min() == date(2020, 1, 1)


def test_the_cli_prints_the_benchmark_as_json_and_refuses_a_missing_folder(tmp_path: Path) -> None:
    from tests.test_cli import Cli, assert_one_line_error

    cli = Cli(tmp_path)
    result = cli.json("bench", "kcs", "--smoke", "--seeds", "1", "--data", str(DATA))
    assert set(KEYS) <= result.keys()
    assert_one_line_error(cli("bench", "kcs", "--data", str(tmp_path / "nowhere")))
