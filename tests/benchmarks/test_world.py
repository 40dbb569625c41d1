"""The simulated-world benchmark runs end to end on a tiny world and its metric helpers behave as documented."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from cintel import demo_rules
from cintel.benchmarks.world import SYSTEM_KEYS, rules_score, run_world, tie_broken
from cintel.risk.metrics import top_mask

RANKINGS = ("rules_only", "model_only", "model_only_probability", "combined_ranking", "combined_ranked_by_risk_ranking")
OPERATING = ("combined", "combined_ranked_by_risk", "combined_without_fixed_channels")


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("world-bench")
    out = run_world(smoke=True, seed=1, workdir=workdir)
    assert not list(workdir.iterdir())  # the temporary world and store are removed with the run
    return out


def test_smoke_result_is_json_with_every_system_and_key(result: dict[str, Any]) -> None:
    json.dumps(result)  # the CLI prints it as JSON
    assert set(result["systems"]) == {*RANKINGS, *OPERATING, "fixed_channel_hits", "recall@5%_by_scheme"}
    for name in (*RANKINGS, *OPERATING):
        assert set(SYSTEM_KEYS) <= set(result["systems"][name]), name


def test_rules_only_and_model_only_give_finite_rates_in_range(result: dict[str, Any]) -> None:
    for name in RANKINGS:
        system = result["systems"][name]
        for key in [*SYSTEM_KEYS, "auc"]:
            assert system[key] is not None, (name, key)
            assert math.isfinite(system[key]), (name, key)
            assert 0.0 <= system[key] <= 1.0, (name, key)
    # Recall and revenue can only grow with the share inspected.
    for name in RANKINGS:
        recalls = [result["systems"][name][f"recall@{n}%"] for n in (1, 2, 5, 10)]
        assert recalls == sorted(recalls)


def test_the_entity_layer_is_measured_against_the_same_world_without_it(result: dict[str, Any]) -> None:
    assert result["network"]["entities"] > 0
    gain = result["network_gain"]
    for key in ("model_only_probability_precision@5%", "combined_ranked_by_risk_precision@5%"):
        assert gain[key]["gain"] == pytest.approx(gain[key]["with"] - gain[key]["without"], abs=1e-4)
    assert set(gain["recall@5%_by_scheme"]) <= {"", *result["systems"]["recall@5%_by_scheme"]}


def test_model_ranks_better_than_chance(result: dict[str, Any]) -> None:
    assert result["systems"]["model_only_probability"]["auc"] > 0.55
    assert result["systems"]["model_only"]["precision@10%"] > result["sizes"]["test_fraud_rate"]


def test_combined_selection_fills_capacity_and_only_mandatory_picks_overflow(result: dict[str, Any]) -> None:
    for tag, sel in result["systems"]["combined"]["selection"].items():
        by_reason = sel["by_reason"]
        assert sel["selected"] == sum(by_reason.values()), tag
        assert sel["selected"] == sel["capacity"] + sel["overflow"], tag
        # Ranked and exploration picks only fill what mandatory rule hits and the random share left.
        assert by_reason.get("score", 0) + by_reason.get("exploration", 0) <= sel["capacity"], tag
        if sel["overflow"]:
            assert by_reason.get("score", 0) + by_reason.get("exploration", 0) < sel["capacity"], tag
        assert sel["capacity"] == round(int(tag[:-1]) / 100 * result["sizes"]["test_declarations"]), tag


def test_ratio_is_combined_over_rules_only(result: dict[str, Any]) -> None:
    combined = result["systems"]["combined"]["precision@5%"]
    rules = result["systems"]["rules_only"]["precision@5%"]
    assert result["ratio_precision@5%"] == pytest.approx(combined / rules)
    assert result["meets_target"] == (result["ratio_precision@5%"] >= 3.0)


def test_sizes_and_timings_are_reported(result: dict[str, Any]) -> None:
    sizes = result["sizes"]
    assert sizes["declarations"] == 3_000
    assert 0 < sizes["test_declarations"] < sizes["declarations"]
    assert sizes["train_rows"] >= 100
    assert 0 < sizes["train_frauds"] < sizes["train_rows"]
    assert sizes["rules"] == len(demo_rules.RULES)
    assert result["window"]["model_valid_to"] < result["window"]["test_from"]
    assert all(v >= 0 for v in result["seconds"].values())


def test_ties_are_broken_so_the_top_share_is_exact() -> None:
    scores = np.array([0.0] * 90 + [0.3] * 10)  # a coarse score: the cut at 5 % falls inside a tie
    assert top_mask(scores, 5.0).sum() == 0  # DATE's strict threshold selects nothing
    ranked = tie_broken(scores, seed=3)
    assert top_mask(ranked, 5.0).sum() == 5
    assert set(np.flatnonzero(top_mask(ranked, 5.0))) <= set(range(90, 100))  # only from the higher tie
    assert np.array_equal(ranked, tie_broken(scores, seed=3))


def test_rules_only_ranks_fixed_channel_hits_first() -> None:
    frame = pl.DataFrame({"risk": [0.9, 0.0, 0.0, 0.5], "rule_channel": [None, "red", "yellow", None]})
    order = rules_score(frame).arg_sort(descending=True).to_list()
    assert order == [1, 2, 0, 3]

