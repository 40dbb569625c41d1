"""Contributions become the top reasons in an officer's words."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import pytest

from cintel.risk.explain import Reason, describe, top_reasons, top_reasons_batch
from cintel.risk.feature_spec import FeatureKind, FeatureLevel, FeatureSpec
from cintel.risk.features import FEATURES as REGISTRY
from cintel.risk.features import model_features
from cintel.risk.models import train_models
from cintel.risk.reasons import feature_phrase
from tests.risk.test_models import CATEGORICAL, FAST, FEATURES, TARGET_ENCODED, synthetic_frame


def _unit_value(row: Mapping[str, Any]) -> str | None:
    r = row["unit_value_ratio"]
    if r is None or r >= 1:
        return None
    return f"unit value {round((1 - r) * 100)} % below peers for HS {row['hs6']} from {row['country']}"


def _country(row: Mapping[str, Any]) -> str | None:
    return f"origin {row['country']} has a high fraud rate" if row["country"] == "CN" else None


SPECS = {
    "unit_value_ratio": FeatureSpec("unit_value_ratio", "unit value against peers", FeatureKind.NUMBER,
                                    FeatureLevel.DECLARATION, _unit_value),
    "country": FeatureSpec("country", "country of origin", FeatureKind.CATEGORY, FeatureLevel.DECLARATION, _country),
    "log_value": FeatureSpec("log_value", "log of declared value", FeatureKind.NUMBER, FeatureLevel.DECLARATION,
                             lambda row: None),
}
NAMES = ["unit_value_ratio", "country", "log_value", "importer"]
ROW = {"unit_value_ratio": 0.22, "country": "CN", "hs6": "851712", "log_value": 9.5, "importer": "IMP0001"}


def test_strongest_raising_features_are_told_in_words_in_order() -> None:
    reasons = top_reasons([0.4, 0.9, 0.1, -0.5], NAMES, ROW, SPECS, k=2)
    assert [r.feature for r in reasons] == ["country", "unit_value_ratio"]
    assert reasons[1].text == "unit value 78 % below peers for HS 851712 from CN"
    assert reasons[1].value == 0.22
    assert reasons[0].contribution == pytest.approx(0.9)


def test_features_lowering_the_score_are_never_reasons() -> None:
    reasons = top_reasons([0.4, -0.9, -0.1, -0.5], NAMES, ROW, SPECS, k=3)
    assert [r.feature for r in reasons] == ["unit_value_ratio"]
    assert top_reasons([-0.1, -0.2, -0.3, -0.4], NAMES, ROW, SPECS) == []


def test_features_with_nothing_to_say_are_skipped_for_the_next_one() -> None:
    reasons = top_reasons([0.2, 0.1, 0.9, 0.0], NAMES, ROW, SPECS, k=2)
    assert [r.feature for r in reasons] == ["unit_value_ratio", "country"]


def test_when_no_feature_has_words_the_strongest_is_told_by_description_and_value() -> None:
    row = {**ROW, "unit_value_ratio": 1.5, "country": "DE"}
    reasons = top_reasons([0.2, 0.1, 0.9, 0.0], NAMES, row, SPECS, k=3)
    assert reasons == [Reason("log_value", pytest.approx(0.9), 9.5, "log of declared value: 9.5")]  # type: ignore[arg-type]


def test_features_without_a_spec_are_told_by_name_and_value() -> None:
    reasons = top_reasons([0.0, 0.0, 0.0, 0.7], NAMES, ROW, SPECS)
    assert reasons[0].text == "importer: IMP0001"


def test_values_are_described_for_people() -> None:
    assert describe(None) == "unknown"
    assert describe(float("nan")) == "unknown"
    assert describe(True) == "yes"
    assert describe(0.123456) == "0.123"
    assert describe("CN") == "CN"


def test_batch_matches_row_by_row_and_only_asks_the_selected_features() -> None:
    rng = np.random.default_rng(3)
    n = 500
    rows = pl.DataFrame({"unit_value_ratio": rng.uniform(0, 2, n), "country": rng.choice(["CN", "DE"], n),
                         "hs6": ["851712"] * n, "log_value": rng.normal(9, 1, n), "importer": ["IMP1"] * n})
    contrib = rng.normal(0, 1, size=(n, len(NAMES)))
    batch = top_reasons_batch(contrib, NAMES, rows, SPECS, k=2)
    for i, row in enumerate(rows.iter_rows(named=True)):
        assert batch[i] == top_reasons(contrib[i], NAMES, row, SPECS, k=2)

    calls: list[str] = []
    wide = [f"f{j}" for j in range(50)]
    specs = {name: FeatureSpec(name, name, FeatureKind.NUMBER, FeatureLevel.DECLARATION,
                               lambda row, name=name: calls.append(name) or f"{name} high") for name in wide}
    wide_contrib = rng.normal(0, 1, size=(20, 50))
    top_reasons_batch(wide_contrib, wide, [{}] * 20, specs, k=3)
    assert len(calls) == 60  # k per row, not 50 per row


def test_batch_of_a_hundred_thousand_rows_is_fast() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    rows = [ROW] * n
    contrib = rng.normal(0, 1, size=(n, len(NAMES)))
    t0 = time.perf_counter()
    out = top_reasons_batch(contrib, NAMES, rows, SPECS, k=3)
    assert len(out) == n
    assert time.perf_counter() - t0 < 10  # about 1 s here: a million rows is a matter of seconds


def test_reasons_from_a_trained_model_name_the_planted_signal() -> None:
    frame = synthetic_frame(n=3000)
    model = train_models(frame, FEATURES, CATEGORICAL, target_encoded=TARGET_ENCODED, spec=FAST).fraud
    suspicious = frame.filter((pl.col("unit_value_ratio") < 0.3) & (pl.col("country") == "CN")).head(20)
    contrib, _ = model.contributions(suspicious)
    reasons = top_reasons_batch(contrib, model.features, suspicious, SPECS, k=2)
    told = [r.feature for rs in reasons for r in rs]
    assert told.count("unit_value_ratio") >= 15
    assert any("below peers" in r.text for rs in reasons for r in rs)


def test_a_feature_without_a_sentence_is_told_in_a_clerks_words_and_units() -> None:
    """A declarant hit rate below the sentence threshold still pushed the score: the clerk reads "broker's past
    hit rate 19 %", not the feature's technical description ("Smoothed declarant hit rate, m = 10: 0.19")."""
    row = {"declarant_hit_rate": 0.19, "declarant_inspections": 10, "declarant_hits": 2}
    [reason] = top_reasons([0.8], ["declarant_hit_rate"], row, REGISTRY, k=3)
    assert reason.text == "broker's past hit rate 19 %"


@pytest.mark.parametrize("name", [*model_features(), "main_hs6"])  # main_hs6: target-encoded for the model
def test_every_model_feature_has_clerk_words(name: str) -> None:
    spec = REGISTRY[name]
    value = {FeatureKind.NUMBER: 0.25, FeatureKind.FLAG: True, FeatureKind.CATEGORY: "CN"}[spec.kind]
    text = feature_phrase(name, value)
    assert text, f"no clerk phrase for {name}"
    # No column names, no formulas.
    assert "_" not in text
    assert "m =" not in text
    assert "Smoothed" not in text
