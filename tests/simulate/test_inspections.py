"""Recorded inspections: biased towards the rules' targets, and better than chance but not perfect."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cintel.domain.codes import OutcomeType
from cintel.domain.records import RecordKind
from tests.simulate.conftest import read


def _joined(world: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    truth = pl.read_parquet(world / "truth" / "declarations_truth.parquet")
    inspections = read(world, RecordKind.INSPECTIONS).join(truth, on="declaration_id")
    return truth, inspections


def test_rule_targeted_declarations_are_inspected_far_more_often(world: Path) -> None:
    truth, inspections = _joined(world)
    by_rule = inspections.filter(pl.col("selection_reason") != "random selection").height
    random = inspections.filter(pl.col("selection_reason") == "random selection").height
    assert by_rule > random > 0
    # The random share inspects about 2 % of everything.
    assert 0.005 < random / truth.height < 0.04


def test_inspections_find_fraud_more_often_than_its_share_of_trade(world: Path) -> None:
    truth, inspections = _joined(world)
    hit_rate = (inspections["outcome"] != OutcomeType.NO_FINDING.value).mean()
    assert hit_rate is not None
    assert hit_rate > truth["is_fraud"].mean()


def test_inspectors_miss_some_fraud(world: Path) -> None:
    _, inspections = _joined(world)
    fraud = inspections.filter(pl.col("is_fraud"))
    assert (fraud["outcome"] == OutcomeType.NO_FINDING.value).any()


def test_recorded_outcomes_are_outcome_codes_with_duty_and_seizures_where_due(world: Path) -> None:
    _, inspections = _joined(world)
    assert set(inspections["outcome"]) <= set(OutcomeType.codes())
    found = inspections.filter(pl.col("outcome") != OutcomeType.NO_FINDING.value)
    assert (found["additional_duty"] >= 0).all()
    assert (inspections.filter(pl.col("seizure"))["outcome"] == OutcomeType.PROHIBITED_GOODS.value).all()
