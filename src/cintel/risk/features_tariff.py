"""Duty incentives from the tariff: what the declared code and origin pay, and what they avoid.

The duty of a code for an origin on a day is the longest matching third-country measure, lowered
to the longest matching preferential rate for that origin if there is one, plus the longest
matching anti-dumping rate for that origin; only measures valid on the declaration date count.
Neighbours of a code are the tariff's own codes and prefixes under the same heading (HS4) or
chapter (HS2), each valued for the item's origin the same way: a heading prefix such as "8528"
stands for every other code of that heading. The differential (highest neighbour duty minus own
duty) is the incentive to declare the goods under this code rather than a neighbour.
"""

from __future__ import annotations

import polars as pl

from cintel.domain.codes import TariffMeasure

_LENGTHS = range(2, 11)
_KEY = ["code", "origin", "on"]


def is_dated(tariff: pl.DataFrame) -> bool:
    return tariff.height > 0 and (tariff["valid_from"].null_count() < tariff.height
                                  or tariff["valid_to"].null_count() < tariff.height)


def code_duties(keys: pl.DataFrame, tariff: pl.DataFrame) -> pl.DataFrame:
    """For distinct (code, origin, on) keys: third_country, preferential, anti_dumping and duty_rate.

    ``on`` is the day the measures must be valid on (a null day ignores validity).
    """
    measures = tariff.select(
        pl.col("hs_prefix").alias("prefix"), "measure_type", "duty_rate", pl.col("origin").alias("m_origin"),
        "valid_from", "valid_to")
    expanded = (keys.with_columns(length=pl.lit(list(_LENGTHS), pl.List(pl.Int64))).explode("length")
                .filter(pl.col("length") <= pl.col("code").str.len_chars())
                .with_columns(prefix=pl.col("code").str.slice(0, pl.col("length"))))
    hits = expanded.join(measures, on="prefix").filter(
        pl.col("on").is_null() | ((pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("on")))
                                  & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("on")))),
        pl.col("m_origin").is_null() | (pl.col("m_origin") == pl.col("origin")),
        # Preferences and anti-dumping duties exist only for a named origin.
        (pl.col("measure_type") == TariffMeasure.THIRD_COUNTRY.value) | pl.col("m_origin").is_not_null(),
    )
    # Longest prefix wins; at equal length an origin-specific measure beats an erga-omnes one.
    best = (hits.sort("length", pl.col("m_origin").is_not_null())
            .group_by(*_KEY, "measure_type").agg(pl.col("duty_rate").last())
            .pivot("measure_type", index=_KEY, values="duty_rate"))
    for kind in TariffMeasure:
        if kind.value not in best.columns:
            best = best.with_columns(pl.lit(None, pl.Float64).alias(kind.value))
    tc, pref, ad = (pl.col(k.value) for k in (TariffMeasure.THIRD_COUNTRY, TariffMeasure.PREFERENTIAL,
                                              TariffMeasure.ANTI_DUMPING))
    base = pl.min_horizontal(tc.fill_null(0.0), pref.fill_null(float("inf")))
    best = best.with_columns(
        third_country_rate=tc.fill_null(0.0), anti_dumping_rate=ad.fill_null(0.0),
        preferential_margin=pl.when(pref.is_not_null()).then((tc.fill_null(0.0) - pref).clip(lower_bound=0.0))
        .otherwise(0.0),
        duty_rate=base + ad.fill_null(0.0),
    ).select(*_KEY, "third_country_rate", "anti_dumping_rate", "preferential_margin", "duty_rate")
    return keys.join(best, on=_KEY, how="left", nulls_equal=True).with_columns(
        pl.col("third_country_rate", "anti_dumping_rate", "preferential_margin", "duty_rate").fill_null(0.0))


def _neighbours(keys: pl.DataFrame, tariff: pl.DataFrame, level: int) -> pl.DataFrame:
    """Highest duty among the tariff codes sharing the first ``level`` digits, for each key's origin and day."""
    candidates = (tariff.select(pl.col("hs_prefix").alias("neighbour")).unique()
                  .filter(pl.col("neighbour").str.len_chars() >= max(level, 4))
                  .with_columns(group=pl.col("neighbour").str.slice(0, level)))
    groups = keys.select(pl.col("code").str.slice(0, level).alias("group"), "origin", "on").unique()
    pairs = groups.join(candidates, on="group")
    if pairs.height == 0:
        return keys.with_columns(pl.lit(None, pl.Float64).alias("n_rate"), pl.lit(None, pl.String).alias("n_code"))
    valued = code_duties(pairs.select(pl.col("neighbour").alias("code"), "origin", "on").unique(), tariff)
    top = (pairs.join(valued.rename({"code": "neighbour"}), on=["neighbour", "origin", "on"], nulls_equal=True)
           .sort("duty_rate", "neighbour", descending=[True, False])
           .group_by("group", "origin", "on").agg(n_rate=pl.col("duty_rate").first(),
                                                  n_code=pl.col("neighbour").first()))
    return (keys.with_columns(group=pl.col("code").str.slice(0, level))
            .join(top, on=["group", "origin", "on"], how="left", nulls_equal=True).drop("group"))


def _anti_dumping_elsewhere(keys: pl.DataFrame, tariff: pl.DataFrame) -> pl.DataFrame:
    """Highest anti-dumping rate on the code for an origin other than the declared one, with that origin."""
    ad = tariff.filter(pl.col("measure_type") == TariffMeasure.ANTI_DUMPING.value, pl.col("origin").is_not_null())
    others = ad.select(pl.col("origin").alias("ad_origin")).unique()
    pairs = keys.join(others, how="cross").filter(pl.col("ad_origin") != pl.col("origin"))
    if pairs.height == 0:
        return keys.with_columns(pl.lit(0.0).alias("anti_dumping_elsewhere"),
                                 pl.lit(None, pl.String).alias("anti_dumping_elsewhere_origin"))
    valued = code_duties(pairs.select("code", pl.col("ad_origin").alias("origin"), "on").unique(), ad)
    top = (pairs.join(valued.rename({"origin": "ad_origin"}), on=["code", "ad_origin", "on"], nulls_equal=True)
           .filter(pl.col("anti_dumping_rate") > 0)
           .sort("anti_dumping_rate", "ad_origin", descending=[True, False])
           .group_by(*_KEY).agg(anti_dumping_elsewhere=pl.col("anti_dumping_rate").first(),
                                anti_dumping_elsewhere_origin=pl.col("ad_origin").first()))
    return keys.join(top, on=_KEY, how="left", nulls_equal=True).with_columns(
        pl.col("anti_dumping_elsewhere").fill_null(0.0))


TARIFF_COLUMNS = ("anti_dumping_rate", "preferential_margin", "duty_rate", "duty_neighbour_rate",
                  "duty_neighbour_code", "anti_dumping_elsewhere", "anti_dumping_elsewhere_origin",
                  "duty_differential_neighbours", "duty_differential_chapter")


def tariff_day(tariff: pl.DataFrame) -> pl.Expr:
    """The day measures must be valid on: the declaration date, or null for an undated tariff."""
    return pl.col("declaration_date") if is_dated(tariff) else pl.lit(None, pl.Date)


def tariff_table(keys: pl.DataFrame, tariff: pl.DataFrame) -> pl.DataFrame:
    """For distinct (code, origin, on) keys: the TARIFF_COLUMNS features of items with that code and origin
    declared on that day (``on`` null for an undated tariff)."""
    tariff = tariff.with_columns(pl.col("valid_from", "valid_to").cast(pl.Date))
    own = code_duties(keys, tariff)
    heading = _neighbours(keys, tariff, 4).rename({"n_rate": "duty_neighbour_rate", "n_code": "duty_neighbour_code"})
    chapter = _neighbours(keys, tariff, 2).rename({"n_rate": "chapter_rate", "n_code": "chapter_code"})
    ad = _anti_dumping_elsewhere(keys, tariff)
    return (own.join(heading, on=_KEY, nulls_equal=True).join(chapter, on=_KEY, nulls_equal=True)
            .join(ad, on=_KEY, nulls_equal=True)
            .with_columns(
                duty_differential_neighbours=(pl.col("duty_neighbour_rate") - pl.col("duty_rate")).fill_null(0.0),
                duty_differential_chapter=(pl.col("chapter_rate") - pl.col("duty_rate")).fill_null(0.0),
                # Goods that already pay the duty have nothing to gain from another origin.
                anti_dumping_elsewhere=pl.when(pl.col("anti_dumping_rate") > 0).then(0.0)
                .otherwise(pl.col("anti_dumping_elsewhere")),
            )
            .with_columns(anti_dumping_elsewhere_origin=pl.when(pl.col("anti_dumping_elsewhere") > 0)
                          .then(pl.col("anti_dumping_elsewhere_origin")))
            .select(*_KEY, *TARIFF_COLUMNS))


def tariff_features(items: pl.DataFrame, tariff: pl.DataFrame) -> pl.DataFrame:
    """Adds the TARIFF_COLUMNS (duty_rate, anti_dumping_rate, preferential_margin, duty_differential_neighbours
    (heading), duty_neighbour_code, duty_neighbour_rate, duty_differential_chapter, anti_dumping_elsewhere and
    anti_dumping_elsewhere_origin) to items (hs_code, country_of_origin, declaration_date)."""
    keyed = items.with_columns(_code=pl.col("hs_code"), _origin=pl.col("country_of_origin"), _on=tariff_day(tariff))
    keys = keyed.select(pl.col("_code").alias("code"), pl.col("_origin").alias("origin"),
                        pl.col("_on").alias("on")).unique()
    table = tariff_table(keys, tariff).rename({"code": "_code", "origin": "_origin", "on": "_on"})
    return keyed.join(table, on=["_code", "_origin", "_on"], how="left", nulls_equal=True).drop(
        "_code", "_origin", "_on")
