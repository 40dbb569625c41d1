"""The closed loop: each week the policies select, inspect with the ground truth, record and retrain."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import polars as pl
import pytest

from cintel.benchmarks.loop import loop_spec, loop_world
from cintel.benchmarks.world import build_world_store
from cintel.domain.records import INSPECTIONS
from cintel.risk.loop import LoopConfig, LoopWorld, day_capacities, inspect, run_loop
from cintel.store.frames import frame_schema

CONFIG = LoopConfig(weeks=3, capacity_share=0.08, exploration_shares=(0.0, 0.5), seed=4, spec=loop_spec(smoke=True))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> LoopWorld:
    """A 3,000-declaration world over six months, ingested, with the demo rulebook (a few seconds)."""
    engine, out, _ = build_world_store(tmp_path_factory.mktemp("loop-world"), declarations=3_000, seed=2, months=6)
    frames = loop_world(engine, out)
    engine.dispose()
    return frames


@pytest.fixture(scope="module")
def result(world: LoopWorld) -> dict[str, Any]:
    return run_loop(world, CONFIG)


def test_every_policy_records_every_week(result: dict[str, Any]) -> None:
    assert set(result["policies"]) == {"exploration=0", "exploration=0.5"}
    for policy in result["policies"].values():
        assert [w["week"] for w in policy["weeks"]] == [0, 1, 2]
        for week in policy["weeks"]:
            assert week["selected"] >= week["capacity"] > 0
            for key in ("precision", "detected_precision", "revenue_share"):
                assert week[key] is None or 0.0 <= week[key] <= 1.0, key
            assert week["detected"] <= week["frauds"] <= week["selected"]
            assert week["revenue_found"] <= week["revenue_at_risk"]


def test_inspections_grow_by_what_each_week_selected(result: dict[str, Any]) -> None:
    history = result["initial_model"]["history_inspections"]
    for policy in result["policies"].values():
        counts = [w["inspections"] for w in policy["weeks"]]
        selected = np.cumsum([w["selected"] for w in policy["weeks"]])
        assert counts == [history + int(s) for s in selected]


def test_each_retrain_learns_from_more_findings(result: dict[str, Any]) -> None:
    for policy in result["policies"].values():
        rows = [w["train_rows"] for w in policy["weeks"]]
        assert rows[0] == result["initial_model"]["train_rows"]
        assert rows[0] < rows[1] < rows[2]


def test_exploration_takes_places_only_when_the_policy_reserves_them(result: dict[str, Any]) -> None:
    none = result["policies"]["exploration=0"]["weeks"]
    half = result["policies"]["exploration=0.5"]["weeks"]
    assert all("exploration" not in w["by_reason"] for w in none)
    assert sum(w["by_reason"].get("exploration", 0) for w in half) > 0


def test_same_seed_same_loop(world: LoopWorld, result: dict[str, Any]) -> None:
    again = run_loop(world, CONFIG)
    assert again["policies"] == result["policies"]


def test_retraining_every_second_week_keeps_the_model_in_between(world: LoopWorld) -> None:
    out = run_loop(world, replace(CONFIG, exploration_shares=(0.0,), retrain_every=2))
    rows = [w["train_rows"] for w in out["policies"]["exploration=0"]["weeks"]]
    assert rows[0] == rows[1] < rows[2]


def test_capacity_is_shared_out_exactly_over_small_days() -> None:
    caps = day_capacities(np.array([17, 17, 17, 17]), 0.05)  # 0.85 each: every day alone rounds to 1 or 0
    assert caps.sum() == round(0.05 * 68)
    assert set(caps.tolist()) <= {0, 1}
    assert day_capacities(np.array([100, 300]), 0.1).tolist() == [10, 30]


def test_inspection_finds_only_frauds_with_duty_near_their_revenue() -> None:
    chosen = pl.DataFrame({"declaration_id": ["a", "b", "c", "d"], "declaration_date": [date(2025, 1, 6)] * 4,
                           "channel": ["red", "red", "green", "yellow"], "selection_reason": ["score"] * 2 + ["none",
                                                                                                            "rule"]})
    truth = pl.DataFrame({"declaration_id": ["a", "b", "c", "d"], "is_fraud": [True, False, True, True],
                          "revenue": [1000.0, 0.0, 500.0, 200.0],
                          "outcome": ["undervaluation", None, "undervaluation", "prohibited_goods"]})
    schema = frame_schema(INSPECTIONS.fields)
    found = inspect(chosen, truth, np.random.default_rng(0), detect_red=1.0, detect_yellow=1.0, schema=schema,
                    prefix="T")
    assert found.columns == list(schema)
    assert found["declaration_id"].to_list() == ["a", "b", "d"]  # green is not inspected
    assert found["outcome"].to_list() == ["undervaluation", "no_finding", "prohibited_goods"]
    assert found["seizure"].to_list() == [False, False, True]
    duty = found["additional_duty"].to_list()
    assert 850.0 <= duty[0] <= 1000.0
    assert duty[1] == 0.0
    assert (found["inspection_date"] >= date(2025, 1, 6)).all()
    missed = inspect(chosen, truth, np.random.default_rng(0), detect_red=0.0, detect_yellow=0.0, schema=schema,
                     prefix="T")
    assert set(missed["outcome"].to_list()) == {"no_finding"}
    assert missed["additional_duty"].sum() == 0.0
