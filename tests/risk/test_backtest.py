from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from cintel.risk.backtest import (
    backtest,
    hit_declarations,
    honest_stopped,
    replay_selection,
    rule_backtest,
    rule_table,
    targeting,
)
from cintel.risk.metrics import targeting_report
from cintel.risk.selection import SelectionPolicy


def window() -> pl.DataFrame:
    """Ten declarations over two days; scores fall with the id; importer A is the fraudster."""
    return pl.DataFrame({
        "declaration_id": [f"D{i}" for i in range(10)],
        "declaration_date": [dt.date(2024, 1, 1)] * 5 + [dt.date(2024, 1, 2)] * 5,
        "score": [10.0, 9, 8, 7, 6, 5, 4, 3, 2, 1],
        "is_fraud": [True, False, True, None, False, None, False, True, None, False],
        "revenue": [100.0, 0, 50, None, 0, None, 0, 25, None, 0],
        "rule_ids": [["R1"], ["R1", "R2"], [], ["R2"], [], [], ["R1"], [], [], []],
        "importer_id": ["A", "B", "A", "C", "D", "C", "E", "A", "B", "F"],
    })


def test_targeting_uses_the_date_top_n_percent_on_labelled_rows_and_adds_revenue_per_inspection() -> None:
    f = window()
    report = targeting(f, levels=(30.0, 50.0))
    labelled = f.filter(pl.col("is_fraud").is_not_null())
    expected = targeting_report(labelled["is_fraud"].cast(float).to_numpy(), labelled["score"].to_numpy(),
                                labelled["revenue"].to_numpy(), (30.0, 50.0))
    assert {k: report[k] for k in expected} == pytest.approx(expected)
    # Seven labelled rows; top 50 % = scores above the median 6: D0, D1, D2 with revenue 150.
    assert report["precision@50%"] == pytest.approx(2 / 3)
    assert report["revenue_per_inspection@50%"] == pytest.approx(50.0)
    # Honest importers with a labelled row: B, D, E, F; only B (D1) is in the top 50 %.
    assert report["honest_stopped@50%"] == pytest.approx(1 / 4)


def test_honest_stopped_counts_importers_not_declarations() -> None:
    imp = pl.Series(["A", "A", "B", "C", "C"])
    fraud = pl.Series([True, False, False, False, None])
    selected = pl.Series([True, True, False, True, True])
    assert honest_stopped(imp, fraud, selected) == pytest.approx(1 / 2)  # B not stopped, C stopped twice
    assert honest_stopped(imp[:2], fraud[:2], selected[:2]) is None


def test_rule_table_gives_hits_load_hit_rate_and_revenue_per_rule() -> None:
    table = {r["rule_id"]: r for r in rule_table(window()).iter_rows(named=True)}
    assert table["R1"] == {"rule_id": "R1", "hits": 3, "load": pytest.approx(0.3), "labelled": 3, "frauds": 1,
                           "hit_rate": pytest.approx(1 / 3), "revenue": 100.0}
    assert table["R2"]["hits"] == 2
    assert table["R2"]["labelled"] == 1
    assert table["R2"]["hit_rate"] == 0.0
    assert table["R2"]["revenue"] == 0.0


def test_rule_with_no_labelled_hit_has_no_hit_rate() -> None:
    f = window().with_columns(rule_ids=pl.Series([[], [], [], ["R9"], [], [], [], [], [], []]))
    assert rule_table(f).row(0, named=True)["hit_rate"] is None


def test_replay_selects_each_day_within_capacity() -> None:
    policy = SelectionPolicy(red_capacity=1, yellow_capacity=1, random_share=0, exploration_share=0)
    replay = replay_selection(window(), policy)
    assert replay["declaration_id"].to_list() == window()["declaration_id"].to_list()
    per_day = replay.group_by("declaration_date", "selected_channel").len().sort("declaration_date",
                                                                                 "selected_channel")
    assert per_day.filter(pl.col("selected_channel") == "red")["len"].to_list() == [1, 1]
    assert replay.filter(pl.col("selected_channel") == "red")["declaration_id"].to_list() == ["D0", "D5"]
    assert replay.filter(pl.col("selected_channel") == "yellow")["declaration_id"].to_list() == ["D1", "D6"]


def test_backtest_with_capacities_reports_what_the_selection_would_have_found() -> None:
    f = window().with_columns(channel=pl.Series(["red", "red", "green", "green", "yellow",
                                                 "green", "green", "red", "green", "green"]))
    policy = SelectionPolicy(red_capacity=1, yellow_capacity=1, random_share=0, exploration_share=0)
    report = backtest(f, policy, levels=(10.0, 50.0))
    red = report["selection"]["by_channel"]["red"]
    assert red["selected"] == 2
    assert red["labelled"] == 1
    assert red["frauds"] == 1
    assert red["precision"] == 1.0
    assert red["revenue"] == 100.0
    assert red["revenue_share"] == pytest.approx(100 / 175)
    inspected = report["selection"]["by_channel"]["inspected"]
    assert inspected["selected"] == 4
    assert inspected["precision"] == pytest.approx(1 / 3)
    assert report["selection"]["by_reason"]["score"]["selected"] == 4
    assert report["selection"]["by_reason"]["random"]["selected"] == 0
    historical = report["selection"]["historical"]
    assert historical["selected"] == 4
    assert historical["frauds"] == 2
    assert historical["revenue"] == 125.0
    assert report["n"] == 10
    assert report["labelled"] == 7
    assert report["frauds"] == 3
    json.dumps(report)  # stored as is in a run's summary


def test_backtest_without_capacities_has_no_selection_and_needs_its_columns() -> None:
    report = backtest(window())
    assert report["selection"] is None
    assert {"precision@1%", "honest_stopped@10%"} <= report["targeting"].keys()
    with pytest.raises(ValueError, match="importer_id"):
        backtest(window().drop("importer_id"))
    with pytest.raises(ValueError, match="declaration_date"):
        backtest(window().drop("declaration_date"), SelectionPolicy(red_capacity=1, yellow_capacity=1))


def test_a_better_score_backtests_better() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    fraud = rng.random(n) < 0.1
    f = pl.DataFrame({"declaration_id": [str(i) for i in range(n)], "is_fraud": fraud,
                      "revenue": np.where(fraud, rng.exponential(100, n), 0.0),
                      "rule_ids": [[]] * n, "importer_id": rng.integers(0, 500, n).astype(str)},
                     schema_overrides={"rule_ids": pl.List(pl.String)})
    good = targeting(f.with_columns(score=pl.Series(fraud + rng.random(n) * 0.8)))
    noise = targeting(f.with_columns(score=pl.Series(rng.random(n))))
    assert good["precision@5%"] > noise["precision@5%"] + 0.5  # type: ignore[operator]
    assert good["honest_stopped@10%"] < noise["honest_stopped@10%"]  # type: ignore[operator]


def test_rule_backtest_measures_a_candidate_and_its_overlap_with_existing_rules() -> None:
    f = window()
    candidate = pl.Series([True, True, False, True, False, False, False, True, False, False])
    result = rule_backtest(f, candidate)
    assert result["hits"] == 4
    assert result["load"] == 0.4
    assert result["labelled"] == 3
    assert result["frauds"] == 2
    assert result["hit_rate"] == pytest.approx(2 / 3)
    assert result["revenue"] == 125.0
    assert result["revenue_share"] == pytest.approx(125 / 175)
    assert result["new_hits"] == 1  # D7 hits no existing rule
    assert result["overlap"] == [{"rule_id": "R1", "shared": 2, "share_of_candidate": 0.5},
                                 {"rule_id": "R2", "shared": 2, "share_of_candidate": 0.5}]
    with pytest.raises(ValueError, match="rows"):
        rule_backtest(f, candidate[:3])


def test_a_candidates_hit_list_has_each_declaration_it_hit_with_its_outcome() -> None:
    f = window()
    hits = pl.Series([i % 3 == 0 for i in range(10)])  # D0, D3, D6, D9
    listed = hit_declarations(f, hits)
    assert listed.columns == ["declaration_id", "declaration_date", "is_fraud", "revenue"]
    assert listed["declaration_id"].to_list() == ["D0", "D3", "D6", "D9"]
    assert listed["is_fraud"].to_list() == [True, None, False, False]  # D3 never inspected
    assert listed["revenue"].to_list() == [100.0, None, 0.0, 0.0]
    assert listed.height == rule_backtest(f, hits)["hits"]
    with pytest.raises(ValueError, match="hits has 3 rows"):
        hit_declarations(f, pl.Series([True, False, True]))
