import numpy as np
import pytest

from cintel.risk.metrics import precision_at, recall_at, revenue_at, targeting_report, top_mask


def test_top_n_percent_is_strictly_above_the_percentile_as_in_date() -> None:
    scores = np.arange(100, dtype=float)
    assert top_mask(scores, 5).sum() == 5  # 95..99 are above the 95th percentile 94.05
    assert top_mask(np.ones(100), 10).sum() == 0  # all tied: nothing is strictly above


def test_precision_recall_and_revenue_at_n_percent() -> None:
    labels = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    scores = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], dtype=float)
    revenue = np.array([100, 50, 0, 0, 50, 0, 0, 0, 0, 0], dtype=float)
    assert precision_at(labels, scores, 20) == 1.0
    assert recall_at(labels, scores, 20) == pytest.approx(2 / 3)
    assert revenue_at(revenue, scores, 20) == pytest.approx(150 / 200)
    assert precision_at(labels, scores, 50) == pytest.approx(3 / 5)


def test_report_has_every_level_and_auc() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(1000) < 0.2
    report = targeting_report(labels, labels + rng.random(1000), revenue=labels * 10.0)
    assert report["precision@5%"] == 1.0
    assert report["auc"] == 1.0
    assert {"precision@1%", "recall@10%", "revenue@2%"} <= report.keys()


def test_degenerate_inputs_give_zero_not_an_error() -> None:
    assert precision_at([], [], 5) == 0.0
    assert recall_at([0, 0], [1.0, 2.0], 50) == 0.0
    with pytest.raises(ValueError, match="percent"):
        top_mask([1.0], 0)
