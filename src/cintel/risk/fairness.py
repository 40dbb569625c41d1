"""Who carries the inspection burden, and is it explained by risk?

For each group of each dimension (trader country, trader size, office by default) the report gives the
inspection rate, the hit rate among inspected declarations with a known result, the mean predicted risk,
and the inspections the group would have had if the window's inspections had been shared out in
proportion to predicted fraud probability ("risk-proportional": a group holding 10 % of the summed
probability gets 10 % of the inspections). The burden ratio is actual over expected inspections.

A group is flagged when all three hold: the ratio exceeds ``ratio_threshold`` (default 1.5), the group
has at least ``min_n`` declarations (default 30), and a one-sided exact binomial test says the excess is
not chance: P(X ≥ actual | n, expected rate) < ``alpha`` (default 0.01). The binomial treats the group's
declarations as independent draws at the risk-explained rate, the simplest test that scales with n.

A declaration without a probability is given the window's mean probability: unknown risk is neither
high nor low. Trader size, when the frame has no ``trader_size`` column, comes from each importer's
number of declarations in the window, cut at the terciles of the importers' counts: "small" up to the
first tercile, "large" above the second, "medium" between, so importers with equal counts share a size.
A null group value is reported as "(unknown)".
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.stats import binom

DIMENSIONS: tuple[str, ...] = ("importer_country", "trader_size", "office_code")
UNKNOWN = "(unknown)"
REPORT_COLUMNS: tuple[str, ...] = (
    "dimension", "group", "n", "inspected", "inspection_rate", "labelled", "frauds", "hit_rate", "mean_risk",
    "expected_inspections", "expected_rate", "burden_ratio", "p_value", "flagged",
)


def trader_size(importer_id: pl.Series) -> pl.Series:
    """'small', 'medium' or 'large' per row, by the importer's declaration count against the terciles."""
    frame = pl.DataFrame({"imp": importer_id})
    per = frame.group_by("imp").agg(count=pl.len())
    low = per["count"].quantile(1 / 3, interpolation="nearest")
    high = per["count"].quantile(2 / 3, interpolation="nearest")
    size = (pl.when(pl.col("count") <= low).then(pl.lit("small"))
            .when(pl.col("count") > high).then(pl.lit("large")).otherwise(pl.lit("medium")))
    sized = per.with_columns(size=size)
    return frame.join(sized, on="imp", how="left", maintain_order="left")["size"].alias("trader_size")


def _groups(frame: pl.DataFrame, dimension: str, total_inspected: int, total_risk: float) -> pl.DataFrame:
    return (
        frame.group_by(pl.col(dimension).cast(pl.String).fill_null(UNKNOWN).alias("group"))
        .agg(n=pl.len(), inspected=pl.col("inspected").sum(),
             labelled=pl.col("is_fraud").filter(pl.col("inspected")).count(),
             frauds=pl.col("is_fraud").filter(pl.col("inspected")).sum(),
             mean_risk=pl.col("risk").mean(), risk=pl.col("risk").sum())
        .with_columns(
            dimension=pl.lit(dimension),
            inspection_rate=pl.col("inspected") / pl.col("n"),
            hit_rate=pl.when(pl.col("labelled") > 0).then(pl.col("frauds") / pl.col("labelled")),
            expected_inspections=(total_inspected * pl.col("risk") / total_risk) if total_risk > 0
            else pl.lit(total_inspected) * pl.col("n") / frame.height,
        )
        .with_columns(expected_rate=pl.col("expected_inspections") / pl.col("n"),
                      # No risk yet inspected: infinitely more burden than risk explains; neither: undefined.
                      burden_ratio=pl.when(pl.col("expected_inspections") > 0)
                      .then(pl.col("inspected") / pl.col("expected_inspections"))
                      .when(pl.col("inspected") > 0).then(pl.lit(float("inf"))))
    )


def fairness_report(frame: pl.DataFrame, by: tuple[str, ...] = DIMENSIONS, *, ratio_threshold: float = 1.5,
                    min_n: int = 30, alpha: float = 0.01) -> pl.DataFrame:
    """Inspection burden per group against what predicted risk explains, flagging unexplained excess.

    ``frame``: one row per declaration with ``inspected`` (bool), ``is_fraud`` (nullable; known when
    inspected), ``probability`` (nullable) and the ``by`` columns (``trader_size`` may be derived from
    ``importer_id``). Returns one row per (dimension, group) with the columns of ``REPORT_COLUMNS``, the
    flagged groups first, then by burden ratio.
    """
    if "trader_size" in by and "trader_size" not in frame.columns:
        if "importer_id" not in frame.columns:
            raise ValueError("fairness_report: trader_size needs either a trader_size or an importer_id column")
        frame = frame.with_columns(trader_size(frame["importer_id"]))
    missing = [c for c in ("inspected", "is_fraud", "probability", *by) if c not in frame.columns]
    if missing:
        raise ValueError(f"fairness_report: frame lacks columns {missing}")
    if not by:
        raise ValueError("fairness_report: give at least one group column in by")
    prob = frame["probability"].cast(pl.Float64).fill_nan(None)
    frame = frame.with_columns(inspected=pl.col("inspected").fill_null(False).cast(pl.Boolean),
                               is_fraud=pl.col("is_fraud").cast(pl.Boolean),
                               risk=prob.fill_null(prob.mean() or 0.0))
    total_inspected = int(frame["inspected"].sum())
    total_risk = float(frame["risk"].sum())
    groups = pl.concat([_groups(frame, d, total_inspected, total_risk) for d in by], how="vertical_relaxed")
    k = groups["inspected"].to_numpy().astype(np.int64)
    n = groups["n"].to_numpy().astype(np.int64)
    p0 = np.clip(groups["expected_rate"].to_numpy().astype(np.float64), 0.0, 1.0)
    # P(X >= k): the chance of at least this many inspections if only risk drove them.
    p_value = np.where(k > 0, binom.sf(k - 1, n, p0), 1.0)
    return (groups.with_columns(p_value=pl.Series(p_value, dtype=pl.Float64))
            .with_columns(flagged=(pl.col("burden_ratio") > ratio_threshold) & (pl.col("n") >= min_n)
                          & (pl.col("p_value") < alpha))
            .select(REPORT_COLUMNS)
            .sort("flagged", "burden_ratio", "dimension", "group", descending=[True, True, False, False],
                  nulls_last=True))
