"""Drift monitoring: the population stability index (PSI) of each feature and of the score, per ISO
week of the monitored period, against the model's training window.

Bins are fixed on the reference (training) data — deciles for numbers, the categories seen for
categorical features, plus one bin for missing values and one for categories never seen — so weeks
are comparable with each other. Empty bins get a small epsilon share, as PSI's logarithm needs.
Usual reading: below 0.1 stable, 0.1-0.2 worth watching, above 0.2 the population has shifted and
the model's figures can no longer be trusted without a look.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Connection, Engine

from cintel.store.risk_tables import risk_drift

ALERT_PSI = 0.2
WATCH_PSI = 0.1
EPSILON = 1e-4

SCHEMA = {"week_start": pl.Date, "name": pl.String, "n": pl.Int64, "psi": pl.Float64, "status": pl.String,
          "alert": pl.Boolean}


def psi(expected: npt.ArrayLike, actual: npt.ArrayLike, epsilon: float = EPSILON) -> float:
    """PSI between two distributions over the same bins (counts or shares): sum (a - e) ln(a / e)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e = np.clip(e / e.sum(), epsilon, None)
    a = np.clip(a / a.sum(), epsilon, None)
    return float(np.sum((a - e) * np.log(a / e)))


def bin_codes(reference: pl.Series, values: pl.Series, categorical: bool, bins: int = 10) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """Bin indices of the reference and of the monitored values, and the number of bins.

    Numbers: bins between the reference's deciles (ties merged), then a bin for missing values.
    Categories: one bin per reference category, one for unseen ones, one for missing values.
    """
    if categorical:
        cats = reference.cast(pl.String).drop_nulls().unique().sort()
        lookup = pl.Series(range(len(cats)), dtype=pl.Int64)

        def code(s: pl.Series) -> npt.NDArray[np.int64]:
            mapped = s.cast(pl.String).replace_strict(cats, lookup, default=len(cats), return_dtype=pl.Int64)
            return mapped.set(s.is_null(), len(cats) + 1).to_numpy().astype(np.int64)

        return code(reference), code(values), len(cats) + 2
    ref = reference.cast(pl.Float64).to_numpy()
    known = ref[~np.isnan(ref)]
    edges = np.unique(np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])) if known.size else np.array([])

    def code_numbers(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        out = np.searchsorted(edges, x, side="right").astype(np.int64)
        out[np.isnan(x)] = len(edges) + 1
        return out

    return code_numbers(ref), code_numbers(values.cast(pl.Float64).to_numpy()), len(edges) + 2


def psi_report(reference: pl.DataFrame, monitored: pl.DataFrame, columns: Sequence[str],
               categorical: Sequence[str] = (), *, date_col: str = "declaration_date", bins: int = 10,
               threshold: float = ALERT_PSI, watch: float = WATCH_PSI, epsilon: float = EPSILON) -> pl.DataFrame:
    """PSI per ISO week (Monday start) of ``monitored`` for each column (features and, e.g., 'score').

    Returns week_start, name, n (rows that week), psi, status (ok / watch / alert) and alert
    (psi > threshold), one row per week and column.
    """
    if monitored.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    week = monitored[date_col].cast(pl.Date).dt.truncate("1w")
    weeks = week.unique().sort()
    week_idx = (week.rank("dense").cast(pl.Int64) - 1).to_numpy()
    n_week = np.bincount(week_idx, minlength=len(weeks))
    names, psis, week_col = [], [], []
    for col in columns:
        ref_codes, codes, k = bin_codes(reference[col], monitored[col], col in categorical, bins)
        expected = np.bincount(ref_codes, minlength=k)
        counts = np.zeros((len(weeks), k))
        np.add.at(counts, (week_idx, codes), 1.0)
        for w in range(len(weeks)):
            names.append(col)
            week_col.append(weeks[w])
            psis.append(psi(expected, counts[w], epsilon))
    report = pl.DataFrame({"week_start": week_col, "name": names, "psi": psis},
                          schema_overrides={"week_start": pl.Date})
    sizes = pl.DataFrame({"week_start": weeks, "n": n_week.astype(np.int64)})
    return report.join(sizes, on="week_start", how="left", maintain_order="left").with_columns(
        pl.when(pl.col("psi") > threshold).then(pl.lit("alert"))
        .when(pl.col("psi") > watch).then(pl.lit("watch")).otherwise(pl.lit("ok")).alias("status"),
        (pl.col("psi") > threshold).alias("alert"),
    ).select(list(SCHEMA))


def write_drift(conn: Connection | Engine, model_id: str, report: pl.DataFrame,
                measured_at: datetime | None = None) -> int:
    """Append a PSI report to ``risk_drift`` for ``model_id``; returns the number of rows written."""
    if report.is_empty():
        return 0
    at = measured_at or datetime.now(UTC)
    rows = [{"model_id": model_id, "week_start": r["week_start"], "name": r["name"], "psi": r["psi"],
             "alert": r["alert"], "measured_at": at} for r in report.iter_rows(named=True)]
    if isinstance(conn, Engine):
        with conn.begin() as c:
            c.execute(risk_drift.insert(), rows)
    else:
        conn.execute(risk_drift.insert(), rows)
    return len(rows)
