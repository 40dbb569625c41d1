"""The model registry on every back end: versions, activation, and models that score the same after loading."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import Engine

from cintel.risk.models import ModelSpec, TrainedModels, train_models
from cintel.risk.registry import RegistryError, activate, list_models, load, load_active, save_model
from tests.risk.test_models import CATEGORICAL, FAST, FEATURES, TARGET_ENCODED, synthetic_frame

FRAME = synthetic_frame(n=3000, seed=7)


@pytest.fixture(scope="module")
def models() -> TrainedModels:
    return train_models(FRAME, FEATURES, CATEGORICAL, target_encoded=TARGET_ENCODED, seed=0, spec=FAST)


@pytest.fixture(scope="module")
def big_model() -> TrainedModels:
    # Many deep trees and no early stop: a booster text of megabytes, as production models are.
    spec = ModelSpec(num_leaves=127, min_data_in_leaf=2, learning_rate=0.01, max_rounds=400,
                     early_stopping_rounds=400, min_data_per_group=5)
    return train_models(FRAME, FEATURES, CATEGORICAL, target_encoded=TARGET_ENCODED, revenue_col=None, spec=spec)


def test_versions_count_up_per_name(engine: Engine, models: TrainedModels) -> None:
    assert save_model(engine, models.fraud, "alice") == "fraud-v1"
    assert save_model(engine, models.fraud, "alice") == "fraud-v2"
    assert models.revenue is not None
    assert save_model(engine, models.revenue, "alice") == "revenue-v1"


def test_loaded_model_scores_exactly_as_trained(engine: Engine, models: TrainedModels) -> None:
    model_id = save_model(engine, models.fraud, "alice")
    again = load(engine, model_id)
    np.testing.assert_array_equal(again.predict_proba(FRAME), models.fraud.predict_proba(FRAME))
    contrib, base = again.contributions(FRAME.head(50))
    expected, expected_base = models.fraud.contributions(FRAME.head(50))
    np.testing.assert_array_equal(contrib, expected)
    np.testing.assert_array_equal(base, expected_base)
    assert again.window == models.fraud.window
    assert again.data_hash == models.fraud.data_hash
    assert again.metrics == models.fraud.metrics
    assert again.encoding.vocab == models.fraud.encoding.vocab
    assert models.revenue is not None
    revenue = load(engine, save_model(engine, models.revenue, "alice"))
    np.testing.assert_array_equal(revenue.predict_revenue(FRAME), models.revenue.predict_revenue(FRAME))


def test_megabyte_boosters_round_trip(engine: Engine, big_model: TrainedModels) -> None:
    text = big_model.fraud.booster.model_to_string()
    assert len(text) > 1_000_000
    again = load(engine, save_model(engine, big_model.fraud, "bob"))
    assert again.booster.model_to_string() == text
    np.testing.assert_array_equal(again.raw_score(FRAME), big_model.fraud.raw_score(FRAME))


def test_activation_retires_the_previous_active_version(engine: Engine, models: TrainedModels) -> None:
    first = save_model(engine, models.fraud, "alice")
    second = save_model(engine, models.fraud, "alice")
    activate(engine, first)
    assert load_active(engine, "fraud").data_hash == models.fraud.data_hash
    activate(engine, second)
    status = {m.model_id: m.status for m in list_models(engine)}
    assert status == {first: "retired", second: "active"}
    with engine.begin() as conn:  # inside a caller's transaction too
        activate(conn, first)
    assert {m.model_id: m.status for m in list_models(engine, "fraud")} == {first: "active", second: "retired"}


def test_missing_models_are_errors_the_user_can_act_on(engine: Engine, models: TrainedModels) -> None:
    with pytest.raises(RegistryError, match="no active version"):
        load_active(engine, "fraud")
    with pytest.raises(RegistryError, match="fraud-v9"):
        load(engine, "fraud-v9")
    with pytest.raises(RegistryError):
        activate(engine, "fraud-v9")


def test_listing_shows_metrics_windows_and_features_newest_first(engine: Engine, models: TrainedModels) -> None:
    save_model(engine, models.fraud, "alice")
    save_model(engine, models.fraud, "carol")
    infos = list_models(engine, "fraud")
    assert [m.version for m in infos] == [2, 1]
    assert infos[0].created_by == "carol"
    assert infos[0].status == "candidate"
    assert infos[0].features == FEATURES
    assert infos[0].metrics["test"]["auc"] == pytest.approx(models.fraud.metrics["test"]["auc"])
    assert infos[0].train_from == date(2024, 1, 1)
    assert infos[0].kind == "classifier"
    assert len(infos[0].data_hash) == 64
