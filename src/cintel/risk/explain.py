"""Why a declaration scored high, in an officer's words: the features that pushed its fraud score up
most (LightGBM contributions), each told by its feature's own ``reason``, e.g.
"unit value 78 % below peers for HS 851712 from CN".

Only features that *raised* the score are told; a feature whose reason says nothing for this row
(``reason`` returns None) is skipped in favour of the next one. If no raising feature has anything
to say, the strongest one is still told in a clerk's words with its value ("broker's past hit rate
19 %", from the catalogue of cintel.risk.reasons), so a high score is never left unexplained. A
feature the catalogue does not know is told as "<description>: <value>" (no spec: "<name>: <value>").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from cintel.risk.feature_spec import FeatureSpec
from cintel.risk.reasons import feature_phrase

if TYPE_CHECKING:
    from cintel.risk.models import Model


@dataclass(frozen=True)
class Reason:
    feature: str
    contribution: float  # added to the log-odds of fraud
    value: Any
    text: str


def top_reasons(contrib_row: npt.ArrayLike, feature_names: Sequence[str], row: Mapping[str, Any],
                specs: Mapping[str, FeatureSpec], k: int = 3) -> list[Reason]:
    """The k strongest reasons for one declaration (contributions in ``feature_names`` order)."""
    c = np.asarray(contrib_row, dtype=np.float64)
    order = np.argsort(-c, kind="stable")
    return _reasons(c, order, feature_names, row, specs, k)


def top_reasons_batch(contrib: npt.NDArray[np.float64], feature_names: Sequence[str],
                      rows: pl.DataFrame | Iterable[Mapping[str, Any]], specs: Mapping[str, FeatureSpec],
                      k: int = 3, candidates: int | None = None) -> list[list[Reason]]:
    """Reasons for many declarations at once (batch scoring of up to millions of rows).

    The top ``candidates`` features per row (default 3k, enough to step over features with nothing
    to say) are found with one vectorised ``argpartition``; the Python ``reason`` functions run only
    for those, so the cost grows with rows x k, not rows x features.
    """
    n, f = contrib.shape
    m = min(f, candidates or 3 * k)
    top = np.argpartition(-contrib, m - 1, axis=1)[:, :m] if m < f else np.broadcast_to(np.arange(f), (n, f))
    vals = np.take_along_axis(contrib, top, axis=1)
    order = np.take_along_axis(top, np.argsort(-vals, axis=1, kind="stable"), axis=1)
    has_positive: npt.NDArray[np.bool_] = np.asarray((vals > 0).any(axis=1))
    iterator = rows.iter_rows(named=True) if isinstance(rows, pl.DataFrame) else iter(rows)
    out: list[list[Reason]] = []
    for i, row in enumerate(iterator):
        out.append(_reasons(contrib[i], order[i], feature_names, row, specs, k) if has_positive[i] else [])
    if len(out) != n:
        raise ValueError(f"{n} contribution rows but {len(out)} feature rows")
    return out


def batch_reasons(model: Model, frame: pl.DataFrame, specs: Mapping[str, FeatureSpec], k: int = 3) -> list[list[str]]:
    """The model's top reasons, as sentences, for every declaration of ``frame`` (its feature rows)."""
    if frame.is_empty():
        return []
    contrib, _ = model.contributions(frame)
    return [[r.text for r in rs] for rs in top_reasons_batch(contrib, model.features, frame, specs, k)]


def describe(value: Any) -> str:
    """A value as an officer reads it: numbers to three significant digits, missing as 'unknown'."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _reasons(c: npt.NDArray[np.float64], order: npt.ArrayLike, feature_names: Sequence[str],
             row: Mapping[str, Any], specs: Mapping[str, FeatureSpec], k: int) -> list[Reason]:
    out: list[Reason] = []
    fallback: Reason | None = None
    for j in np.asarray(order).tolist():
        contribution = float(c[j])
        if contribution <= 0:
            break
        name = feature_names[j]
        value = row.get(name)
        spec = specs.get(name)
        if spec is None:
            out.append(Reason(name, contribution, value, feature_phrase(name, value) or f"{name}: {describe(value)}"))
        else:
            text = spec.reason(row)
            if text is None:
                if fallback is None:
                    fallback = Reason(name, contribution, value, feature_phrase(name, value)
                                      or f"{spec.description}: {describe(value)}")
                continue
            out.append(Reason(name, contribution, value, text))
        if len(out) == k:
            break
    return out or ([fallback] if fallback else [])
