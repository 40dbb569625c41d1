"""Who lodges the declaration and what they did before: trader and declarant history, split shipments.

Every statistic for a declaration of day D is a cumulative aggregate over the combined timeline
(history and scored declarations) read just before D with an as-of join, so one call scores a
single day or a whole year with the same values. Inspections count only once dated before D,
which also keeps a declaration's own result out of its features (an inspection is never dated
before the declaration it checks; records that claim so are dropped as implausible).

Hit rates are smoothed towards the hit rate of all inspections before D:
    rate = (hits + HIT_RATE_WEIGHT x prior) / (inspections + HIT_RATE_WEIGHT)
so a trader with 1 hit in 1 inspection scores near the prior, not 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from cintel.domain.codes import OutcomeType

HIT_RATE_WEIGHT = 10.0  # m: pseudo-inspections at the prior rate; a trader needs ~10 of its own to outweigh them
DEFAULT_PRIOR = 0.1  # prior hit rate before any inspection is on record
VOLUME_DAYS = 90  # window of the recent-volume features
RELIEF_THRESHOLD = 150.0  # EUR: consignments of negligible value, relieved from duty (EU Regulation 1186/2009)
SPLIT_DAYS = 2  # split-shipment siblings: same importer and HS6 on the same day or the SPLIT_DAYS before
FRAUD_OUTCOMES: tuple[str, ...] = tuple(o.value for o in OutcomeType if o.is_fraud)


def importer_key() -> pl.Expr:
    """The importer's identifier, or its normalised name when the identifier is missing (private persons)."""
    name = pl.col("importer_name").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.coalesce(pl.col("importer_id"), pl.lit("name:") + name)


def per_declaration(items: pl.DataFrame, exprs: Sequence[pl.Expr], first: Sequence[str] = ()) -> pl.DataFrame:
    """``items.group_by("declaration_id").agg(<first value of each column in first>, *exprs)``, groups in no
    particular order. Items of a single declaration are rolled up without a group_by (which costs several times
    more on a few rows, as in real-time scoring): the first row's columns beside one ``select`` of ``exprs``."""
    if items.height and items.get_column("declaration_id").n_unique() == 1:
        return items.head(1)[["declaration_id", *first]].hstack(items.select(exprs).get_columns())
    return items.group_by("declaration_id").agg(*[pl.col(c).first() for c in first], *exprs)


# One row per declaration: date, importer key, declarant (first item's), total value and main HS6 (of the
# largest-value item).
DECLARATION_ROW_FIRST = ("declaration_date", "importer_key", "declarant_id")
DECLARATION_ROW_COLUMNS: tuple[pl.Expr, ...] = (
    pl.col("customs_value").sum().alias("total_customs_value"),
    # Stable sorts: of items tied on value the first wins, however the frame is laid out in memory.
    pl.col("hs6").sort_by("customs_value", descending=True, nulls_last=True, maintain_order=True).first()
    .alias("main_hs6"),
)


def declaration_rows(items: pl.DataFrame) -> pl.DataFrame:
    """One row per declaration: id, date, importer key, declarant, total value and main HS6 (largest value)."""
    return per_declaration(items, DECLARATION_ROW_COLUMNS, DECLARATION_ROW_FIRST)


def first_seen(rows: pl.DataFrame) -> pl.DataFrame:
    """Per (importer key, HS6): the first day the importer declared the HS6 among ``rows``."""
    return rows.group_by("importer_key", "hs6").agg(first_seen=pl.col("declaration_date").min())


# new_hs6_for_importer of items that carry ``first_seen`` of their importer and HS6: a missing first_seen means
# the pair was never seen before the item's day (the item is its first).
NEW_HS6_COLUMN: pl.Expr = (pl.col("importer_key").is_not_null()
                           & (pl.coalesce(pl.col("first_seen"), pl.col("declaration_date"))
                              >= pl.col("declaration_date"))).alias("new_hs6_for_importer")


def _cumulative(events: pl.DataFrame, key: str, day: str, sums: dict[str, pl.Expr]) -> pl.DataFrame:
    """Per (key, day): running totals of ``sums`` up to and including that day, sorted by day."""
    daily = events.group_by(key, day).agg(**sums).sort(key, day)
    return (daily.with_columns([pl.col(c).cum_sum().over(key).alias(c) for c in sums])
            .rename({day: "_day"}).sort("_day"))


def _as_of(queries: pl.DataFrame, cumulative: pl.DataFrame, key: str | None, at: pl.Expr,
           names: list[str], suffix: str) -> pl.DataFrame:
    """Running totals of ``names`` as they stood at day ``at`` (inclusive), per key; 0 before the first day."""
    q = queries.with_columns(_day=at).with_row_index("_row").sort("_day")
    right = cumulative.select(*([key] if key else []), "_day", *names).rename({n: n + suffix for n in names})
    joined = q.join_asof(right, on="_day", by=key, strategy="backward", check_sortedness=False)
    return joined.sort("_row").drop("_row", "_day").with_columns(
        [pl.col(n + suffix).fill_null(0) for n in names])


def trader_features(decls: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Age, first-time flag, all-time and recent volume of each target's importer (declarations before D)."""
    known = decls.filter(pl.col("importer_key").is_not_null())
    first = known.group_by("importer_key").agg(first_day=pl.col("declaration_date").min())
    cum = _cumulative(known, "importer_key", "declaration_date",
                      {"n": pl.len(), "value": pl.col("total_customs_value").sum()})
    day = pl.col("declaration_date")
    out = _as_of(targets, cum, "importer_key", day - timedelta(days=1), ["n", "value"], "_now")
    out = _as_of(out, cum, "importer_key", day - timedelta(days=VOLUME_DAYS + 1), ["n", "value"], "_then")
    out = out.join(first, on="importer_key", how="left")
    known_before = pl.col("first_day") < day
    return out.with_columns(
        importer_declarations_before=pl.col("n_now").cast(pl.Int64),
        importer_declarations_90d=(pl.col("n_now") - pl.col("n_then")).cast(pl.Int64),
        importer_value_90d=(pl.col("value_now") - pl.col("value_then")).cast(pl.Float64),
        importer_age_days=pl.when(known_before).then((day - pl.col("first_day")).dt.total_days()),
        first_time_importer=pl.col("importer_key").is_not_null() & ~known_before.fill_null(False),
    ).drop("n_now", "n_then", "value_now", "value_then", "first_day")


def inspection_events(inspections: pl.DataFrame, decls: pl.DataFrame) -> pl.DataFrame:
    """Inspections with the importer and declarant of the declaration they checked, and whether they hit."""
    return (inspections.select("declaration_id", "inspection_date", "outcome")
            .join(decls.select("declaration_id", "declaration_date", "importer_key", "declarant_id"),
                  on="declaration_id")
            .filter(pl.col("inspection_date") >= pl.col("declaration_date"))
            .with_columns(hit=pl.col("outcome").is_in(FRAUD_OUTCOMES).cast(pl.Int64), one=pl.lit(1, pl.Int64)))


def hit_rate_features(events: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Inspections and smoothed hit rates of the importer and the declarant, from inspections before D."""
    at = pl.col("declaration_date") - timedelta(days=1)
    everyone = _cumulative(events.with_columns(_all=pl.lit(0)), "_all", "inspection_date",
                           {"n": pl.col("one").sum(), "hits": pl.col("hit").sum()})
    out = _as_of(targets.with_columns(_all=pl.lit(0)), everyone, "_all", at, ["n", "hits"], "_all").drop("_all")
    prior = pl.when(pl.col("n_all") > 0).then(pl.col("hits_all") / pl.col("n_all")).otherwise(DEFAULT_PRIOR)
    out = out.with_columns(_prior=prior).drop("n_all", "hits_all")
    for who, key in (("importer", "importer_key"), ("declarant", "declarant_id")):
        cum = _cumulative(events.filter(pl.col(key).is_not_null()), key, "inspection_date",
                          {"n": pl.col("one").sum(), "hits": pl.col("hit").sum()})
        out = _as_of(out, cum, key, at, ["n", "hits"], "_w")
        rate = (pl.col("hits_w") + HIT_RATE_WEIGHT * pl.col("_prior")) / (pl.col("n_w") + HIT_RATE_WEIGHT)
        out = out.with_columns(
            pl.when(pl.col(key).is_not_null()).then(pl.col("n_w")).cast(pl.Int64).alias(f"{who}_inspections"),
            pl.when(pl.col(key).is_not_null()).then(pl.col("hits_w")).cast(pl.Int64).alias(f"{who}_hits"),
            pl.when(pl.col(key).is_not_null()).then(rate).alias(f"{who}_hit_rate"),
        ).drop("n_w", "hits_w")
    return out.drop("_prior")


def split_features(decls: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Low-value declarations of the same importer and main HS6 on day D and the SPLIT_DAYS before.

    Same-day declarations count: they are lodged, hence known, when the day is scored. Only
    declarations whose total is at or under RELIEF_THRESHOLD take part.
    """
    small = pl.col("total_customs_value") <= RELIEF_THRESHOLD
    daily = (decls.filter(small, pl.col("importer_key").is_not_null())
             .group_by("importer_key", "main_hs6", "declaration_date")
             .agg(_n=pl.len(), _v=pl.col("total_customs_value").sum()))
    out = targets.with_columns(_n_sum=pl.lit(0, pl.Int64), _v_sum=pl.lit(0.0))
    for back in range(SPLIT_DAYS + 1):
        shifted = daily.with_columns(pl.col("declaration_date") + timedelta(days=back))
        out = (out.join(shifted, on=["importer_key", "main_hs6", "declaration_date"], how="left")
               .with_columns(_n_sum=pl.col("_n_sum") + pl.col("_n").fill_null(0),
                             _v_sum=pl.col("_v_sum") + pl.col("_v").fill_null(0.0))
               .drop("_n", "_v"))
    return split_columns(out)


def split_column_exprs(importer_key: pl.Expr) -> tuple[pl.Expr, ...]:
    """The split-shipment features of declaration rows that carry ``_n_sum`` and ``_v_sum`` (count and value of
    the low-value declarations of the same importer and main HS6 over the window, themselves included), with
    ``importer_key`` the declaration's importer key (real-time scoring reads it from another column)."""
    small = pl.col("total_customs_value") <= RELIEF_THRESHOLD
    counted = small & importer_key.is_not_null()
    return (
        small.fill_null(False).alias("below_relief_threshold"),
        pl.when(counted).then(pl.col("_n_sum") - 1).otherwise(0).cast(pl.Int64).alias("split_siblings"),
        pl.when(counted).then(pl.col("_v_sum")).otherwise(pl.col("total_customs_value")).alias("split_total_value"),
    )


SPLIT_COLUMNS: tuple[pl.Expr, ...] = split_column_exprs(pl.col("importer_key"))


def split_columns(targets: pl.DataFrame) -> pl.DataFrame:
    """``targets`` with the ``SPLIT_COLUMNS`` features, without ``_n_sum`` and ``_v_sum``."""
    return targets.with_columns(SPLIT_COLUMNS).drop("_n_sum", "_v_sum")


def labels(inspections: pl.DataFrame) -> pl.DataFrame:
    """Per inspected declaration: first inspection day, any fraud finding, additional duty and seizure."""
    return (inspections.group_by("declaration_id")
            .agg(inspected_on=pl.col("inspection_date").min(),
                 is_fraud=pl.col("outcome").is_in(FRAUD_OUTCOMES).any(),
                 additional_duty=pl.col("additional_duty").fill_null(0.0).sum(),
                 seized=pl.col("seizure").fill_null(False).any())
            .sort("declaration_id"))
