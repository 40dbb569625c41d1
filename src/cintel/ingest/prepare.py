"""Preparing a chunk for the store, without touching it: checks that need several rows, content hashes.

Pure computation on frames, so it can run in a background thread while the previous chunk is
written, and in tests without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from cintel.domain.records import RecordFormat
from cintel.ingest.problems import Problem
from cintel.ingest.readers import Chunk
from cintel.ingest.validate import PROBLEM_SCHEMA, ROW, validate


def group_key(fmt: RecordFormat) -> tuple[str, ...]:
    return fmt.group or fmt.key


def _concat(columns: list[str]) -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in columns], separator="\x1f")


def _record_hashes(std: pl.DataFrame, fmt: RecordFormat) -> pl.DataFrame:
    """A stable content hash per record (per group for multi-row records), independent of file format.

    A declaration's header fields repeat on each item row; they are hashed once per declaration.
    """
    group = list(group_key(fmt))
    order = [k for k in fmt.key if k not in group]
    row_fields = [f.name for f in (fmt.item_fields if fmt.group else fmt.fields)]
    rows = std.select(*group, *order, _concat(row_fields).alias("t"))
    if fmt.group:
        headers = std.unique(subset=group, keep="first").select(
            *group, _concat([f.name for f in fmt.header_fields]).alias("h"))
    else:
        headers = rows.select(*group, pl.lit("").alias("h"))
    order_sql = f"ORDER BY {', '.join(order)}" if order else ""
    keys = ", ".join(group)
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.register("row_text", rows.to_arrow())
        con.register("header_text", headers.to_arrow())
        # Column names come from the record format, never from input.
        query = (f"SELECT {keys}, md5(any_value(h) || chr(29) || string_agg(t, chr(30) {order_sql})) AS record_hash "  # noqa: S608
                 f"FROM row_text JOIN header_text USING ({keys}) GROUP BY {keys}")
        hashed = con.sql(query).pl()
    result: pl.DataFrame = hashed.with_columns([pl.col(k).cast(std.schema[k]) for k in group])
    return result


def _row_problems(std: pl.DataFrame, fmt: RecordFormat) -> pl.DataFrame:
    """Problems that need several rows to see: duplicate keys, inconsistent declaration headers."""
    parts = [pl.DataFrame(schema=PROBLEM_SCHEMA)]
    key = list(fmt.key)
    dupes = std.filter(pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    if dupes.height:
        parts.append(dupes.select(
            pl.col(ROW), pl.lit(key[-1]).alias("field"), pl.lit(Problem.DUPLICATE_KEY.value).alias("code"),
            pl.format("{} {} appears more than once in the file", pl.lit(" + ".join(key)),
                      pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")).alias("message"),
        ))
    if fmt.group:
        headers = [f.name for f in fmt.header_fields if f.name not in fmt.group]
        # One pass finds the rare records whose items disagree; only those are examined field by field.
        suspects = std.group_by(list(fmt.group)).agg(pl.struct(headers).n_unique().alias("variants")) \
            .filter(pl.col("variants") > 1).drop("variants")
        if suspects.height:
            varying = std.join(suspects, on=list(fmt.group), nulls_equal=True).group_by(list(fmt.group)).agg(
                [(pl.col(h).n_unique() > 1).alias(h) for h in headers]
            ).with_columns(
                pl.concat_str([pl.when(pl.col(h)).then(pl.lit(h)) for h in headers], separator=", ",
                              ignore_nulls=True).alias("fields")
            )
            parts.append(std.join(varying.select(*fmt.group, "fields"), on=list(fmt.group)).select(
                pl.col(ROW), pl.col("fields").str.split(", ").list.first().alias("field"),
                pl.lit(Problem.INCONSISTENT_HEADER.value).alias("code"),
                pl.format("items of declaration {} disagree on {}", pl.col(fmt.group[0]), pl.col("fields"))
                .alias("message"),
            ))
    return pl.concat(parts)


@dataclass
class Prepared:
    """A chunk checked and hashed, ready to be stored; computing it needs no database."""

    chunk: Chunk
    std: pl.DataFrame
    problems: pl.DataFrame
    hashes: pl.DataFrame


def prepare(chunk: Chunk, fmt: RecordFormat) -> Prepared:
    """Validates a chunk and finds its cross-row problems and record hashes."""
    checked = validate(chunk.frame, fmt)
    problems = pl.concat([checked.problems, _row_problems(checked.clean, fmt)])
    return Prepared(chunk, checked.clean, problems, _record_hashes(checked.clean, fmt))
