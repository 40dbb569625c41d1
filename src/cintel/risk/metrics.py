"""Targeting metrics as the customs-fraud literature defines them (DATE, KDD 2020; Kim et al.,
TKDE 2022): the top n % of declarations by score are "inspected"; precision is the share of frauds
among them, recall the share of all frauds they catch, revenue the share of all revenue at risk
they recover.

The top n % follows the DATE reference implementation, ``score > percentile(score, 100 - n)``, so
ties at the threshold are left out and the selection can be a little under n %.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

LEVELS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)

FloatArray = npt.NDArray[np.float64]


def top_mask(scores: npt.ArrayLike, percent: float) -> npt.NDArray[np.bool_]:
    """Which items are in the top ``percent`` % by score (DATE: strictly above the percentile)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return np.zeros(0, dtype=bool)
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    return s > np.percentile(s, 100 - percent)


def precision_at(labels: npt.ArrayLike, scores: npt.ArrayLike, percent: float) -> float:
    """Share of frauds among the top ``percent`` % (0 when nothing is selected)."""
    y = np.asarray(labels, dtype=np.float64)
    mask = top_mask(scores, percent)
    return float(y[mask].mean()) if mask.any() else 0.0


def recall_at(labels: npt.ArrayLike, scores: npt.ArrayLike, percent: float) -> float:
    """Share of all frauds found in the top ``percent`` % (0 when there is no fraud)."""
    y = np.asarray(labels, dtype=np.float64)
    total = y.sum()
    return float(y[top_mask(scores, percent)].sum() / total) if total > 0 else 0.0


def revenue_at(revenue: npt.ArrayLike, scores: npt.ArrayLike, percent: float) -> float:
    """Share of all revenue at risk recovered by inspecting the top ``percent`` %."""
    r = np.asarray(revenue, dtype=np.float64)
    total = r.sum()
    return float(r[top_mask(scores, percent)].sum() / total) if total > 0 else 0.0


def targeting_report(labels: npt.ArrayLike, scores: npt.ArrayLike, revenue: npt.ArrayLike | None = None,
                     levels: tuple[float, ...] = LEVELS) -> dict[str, float]:
    """Precision@n %, recall@n % and, given revenue, revenue@n % for each level, plus ROC AUC."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    report: dict[str, float] = {}
    for n in levels:
        tag = f"{n:g}%"
        report[f"precision@{tag}"] = precision_at(y, s, n)
        report[f"recall@{tag}"] = recall_at(y, s, n)
        if revenue is not None:
            report[f"revenue@{tag}"] = revenue_at(revenue, s, n)
    report["auc"] = float(roc_auc_score(y, s)) if 0 < y.sum() < y.size else float("nan")
    return report
