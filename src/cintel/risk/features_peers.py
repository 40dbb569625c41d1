"""Price and mass against peers: what a declaration's goods usually cost and weigh, point in time.

Peers of an item are the items of the same HS subheading (HS6) from the same origin, counted in
the same unit. Their statistics for a declaration of day D come from the 52 weeks before the
Monday of D's week (``PEER_WEEKS``): only rows dated before D are used (none from D or later), and
every declaration of a week shares one set of statistics, so the whole timeline is computed with
one vectorised aggregation per distinct week rather than per day. Medians and MADs are taken on
log values, where prices are roughly symmetric. When an HS6 x origin group has fewer than
``MIN_PEERS`` rows the HS6 across all origins stands in.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl

PEER_WEEKS = 52
MIN_PEERS = 10  # fewer peers than this and the median says more about chance than about price
MAD_SCALE = 1.4826  # MAD x this estimates the standard deviation of normal data
MIN_LOG_SPREAD = 0.05  # floor of the robust spread (log units) so identical peers do not give infinite z
BY_MASS = "KGM"  # basis of items without a usable quantity: value per kilogram of net mass


def _unit_value_columns() -> list[pl.Expr]:
    has_qty = pl.col("quantity").is_not_null() & (pl.col("quantity") > 0) & pl.col("quantity_unit").is_not_null()
    basis = pl.when(has_qty).then(pl.col("quantity_unit")).otherwise(pl.lit(BY_MASS))
    per = pl.when(has_qty).then(pl.col("quantity")).otherwise(pl.col("net_mass_kg"))
    counted = has_qty & (pl.col("quantity_unit") != BY_MASS)
    return [
        pl.col("hs_code").str.slice(0, 6).alias("hs6"),
        basis.alias("unit_basis"),
        pl.when(per > 0).then(pl.col("customs_value") / per).alias("unit_value"),
        pl.when(counted & (pl.col("net_mass_kg") > 0)).then(pl.col("net_mass_kg") / pl.col("quantity"))
        .alias("kg_per_unit"),
        pl.col("declaration_date").dt.truncate("1w").alias("week"),
    ]


# hs6, the unit basis, unit value, kg per unit and the week of an item, from its own columns (one with_columns),
# then the logs of unit value and kg per unit (a second one, reading the first's columns: cheaper for Polars than
# repeating their expressions, and the number of Polars calls is what costs on the few rows of real-time scoring).
UNIT_VALUE_COLUMNS: tuple[pl.Expr, ...] = tuple(_unit_value_columns())
LOG_COLUMNS: tuple[pl.Expr, ...] = (
    pl.when(pl.col("unit_value") > 0).then(pl.col("unit_value").log()).alias("log_uv"),
    pl.when(pl.col("kg_per_unit") > 0).then(pl.col("kg_per_unit").log()).alias("log_kpu"),
)


def _robust(col: str, prefix: str) -> list[pl.Expr]:
    x = pl.col(col).drop_nulls()
    return [
        x.len().alias(f"{prefix}_n"),
        x.median().alias(f"{prefix}_median"),
        (x - x.median()).abs().median().alias(f"{prefix}_mad"),
    ]


PEER_STATS = ("uvo", "uvh", "kpu", "share")  # names of the tables peer_stats returns, in order
PEER_KEYS: dict[str, tuple[str, ...]] = {  # what each table is keyed by
    "uvo": ("hs6", "country_of_origin", "unit_basis"),
    "uvh": ("hs6", "unit_basis"),
    "kpu": ("hs6", "unit_basis"),
    "share": ("hs6", "country_of_origin"),
}


def peer_window(timeline: pl.DataFrame, week: date) -> pl.DataFrame:
    """The rows that are peers of every declaration of ``week`` (a Monday): the PEER_WEEKS weeks before it."""
    return timeline.filter(pl.col("declaration_date") < week,
                           pl.col("declaration_date") >= week - timedelta(weeks=PEER_WEEKS))


def peer_stats(past: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Peer statistics from one window of past rows, one table per PEER_STATS name, keyed by PEER_KEYS."""
    share = (past.group_by(*PEER_KEYS["share"]).len("n_origin")
             .with_columns(origin_share_hs6=pl.col("n_origin") / pl.col("n_origin").sum().over("hs6"))
             .drop("n_origin"))
    return {
        "uvo": past.group_by(*PEER_KEYS["uvo"]).agg(_robust("log_uv", "uvo")),
        "uvh": past.group_by(*PEER_KEYS["uvh"]).agg(_robust("log_uv", "uvh")),
        "kpu": past.group_by(*PEER_KEYS["kpu"]).agg(_robust("log_kpu", "kpu")),
        "share": share,
    }


def _peer_columns() -> list[pl.Expr]:
    own = pl.col("uvo_n").fill_null(0) >= MIN_PEERS
    hs6_ok = pl.col("uvh_n").fill_null(0) >= MIN_PEERS
    median = pl.when(own).then(pl.col("uvo_median")).when(hs6_ok).then(pl.col("uvh_median"))
    mad = pl.when(own).then(pl.col("uvo_mad")).when(hs6_ok).then(pl.col("uvh_mad"))
    peers = pl.when(own).then(pl.col("uvo_n")).when(hs6_ok).then(pl.col("uvh_n"))
    spread = pl.max_horizontal(mad * MAD_SCALE, pl.lit(MIN_LOG_SPREAD))
    mass_ok = pl.col("kpu_n").fill_null(0) >= MIN_PEERS
    return [
        (pl.col("log_uv") - median).exp().alias("unit_value_ratio_hs6_origin"),
        ((pl.col("log_uv") - median) / spread).alias("unit_value_robust_z"),
        peers.cast(pl.Int64).alias("unit_value_peers"),
        pl.when(mass_ok).then((pl.col("log_kpu") - pl.col("kpu_median")).exp()).alias("mass_per_unit_ratio"),
        # An origin never seen for these goods in the window has share 0, not "unknown".
        pl.col("origin_share_hs6").fill_null(0.0),
    ]


# The peer features of rows that carry their peer statistics (the columns of ``peer_stats``' tables):
# unit_value_ratio_hs6_origin, unit_value_robust_z, unit_value_peers, mass_per_unit_ratio and origin_share_hs6
# (null where peers are too few).
PEER_COLUMNS: tuple[pl.Expr, ...] = tuple(_peer_columns())


def is_peer_statistic(column: str) -> bool:
    """Whether ``column`` is a peer statistic (uvo_*, uvh_*, kpu_*) that ``PEER_COLUMNS`` reads."""
    return column[:4] in ("uvo_", "uvh_", "kpu_")


def peer_columns(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (carrying their peer statistics) with the ``PEER_COLUMNS`` features; the statistics are dropped."""
    return rows.with_columns(PEER_COLUMNS).drop([c for c in rows.columns if is_peer_statistic(c)])


def peer_features(targets: pl.DataFrame, timeline: pl.DataFrame) -> pl.DataFrame:
    """For each target row (prepared with ``UNIT_VALUE_COLUMNS`` and ``LOG_COLUMNS``), its value and mass against peers.

    ``timeline`` holds every row that may serve as a peer (history and targets, prepared the same way);
    a target of week W sees only timeline rows dated in [W - PEER_WEEKS weeks, W), W being a Monday.
    Returns ``targets`` with the columns of ``peer_columns`` added.
    """
    timeline = timeline.select("declaration_date", "hs6", "country_of_origin", "unit_basis", "log_uv", "log_kpu")
    parts: list[pl.DataFrame] = []
    for week in targets.get_column("week").unique().sort().to_list():
        rows = targets.filter(pl.col("week") == week)
        stats = peer_stats(peer_window(timeline, week))
        for name in PEER_STATS:
            rows = rows.join(stats[name], on=list(PEER_KEYS[name]), how="left")
        parts.append(rows)
    if not parts:
        return targets.with_columns(
            [pl.lit(None, pl.Float64).alias(c) for c in ("unit_value_ratio_hs6_origin", "unit_value_robust_z",
                                                       "mass_per_unit_ratio", "origin_share_hs6")]
            + [pl.lit(None, pl.Int64).alias("unit_value_peers")])
    return peer_columns(pl.concat(parts, how="diagonal_relaxed"))


def percent_off(ratio: float) -> str:
    """'78 % below' / '2.5 times' wording of a ratio to peers."""
    if ratio < 1:
        return f"{round((1 - ratio) * 100)} % below"
    if ratio >= 2:
        return f"{ratio:.1f} times"
    return f"{round((ratio - 1) * 100)} % above"


def finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
