"""Deliberate data-quality defects, so that validation and quarantine have work to do.

At ``defect_rate`` a record (a whole declaration, or one row of the other files) gets exactly
one defect of the kinds real data shows: an invalid country code ('UK', 'EL'), a container or
IBAN with a wrong check digit, net mass above gross mass, a missing required value, an
impossible date, a negative value, an unknown currency ('RMB') or a malformed HS code. Each is
listed in ``truth/defects.parquet`` with the record's key, the field and the defect code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from cintel.domain.records import RecordKind
from cintel.simulate.sampling import lookup

_BAD_COUNTRIES = ("UK", "EL", "XX", "CHN", "Germany")
_BAD_CURRENCIES = ("RMB", "EURO", "US$", "XYZ", "NTD")
_BAD_HS = ("77001000", "1234", "85AB1300", "99999999", "8517130000000")


@dataclass(frozen=True)
class Defect:
    """One kind of defect on one field: how to break a column's values."""

    code: str
    field: str
    level: str  # "header" (all rows of a declaration) or "item" (its first item) or "row"
    applies: Callable[[pl.DataFrame], pl.Series] | None  # rows that can take this defect
    breaks: Callable[[pl.Expr, int], pl.Expr]  # (column, seed) -> broken column


def _pick(values: tuple[str, ...], seed: int) -> pl.Expr:
    return pl.lit(values[seed % len(values)])


def _bad_check_digit(col: pl.Expr, seed: int) -> pl.Expr:
    """Changes the 11th character of a container number (its check digit) or an IBAN's last digit."""
    del seed
    last = col.str.slice(10, 1).cast(pl.Int64, strict=False).fill_null(0)
    return col.str.slice(0, 10) + ((last + 1) % 10).cast(pl.String) + col.str.slice(11)


def _bad_iban(col: pl.Expr, seed: int) -> pl.Expr:
    del seed
    last = col.str.slice(-1, 1).cast(pl.Int64, strict=False).fill_null(0)
    return col.str.slice(0, col.str.len_chars() - 1) + ((last + 1) % 10).cast(pl.String)


def _bad_date(col: pl.Expr, seed: int) -> pl.Expr:
    """An impossible month (13) or day (32); the rest of the value is kept."""
    options = [col.str.slice(0, 5) + "13" + col.str.slice(7), col.str.slice(0, 8) + "32" + col.str.slice(10)]
    return options[seed % len(options)]


def _negative(col: pl.Expr, seed: int) -> pl.Expr:
    del seed
    return -col - 1.0


def _missing(col: pl.Expr, seed: int) -> pl.Expr:
    del col, seed
    return pl.lit(None)


def _not_null(name: str) -> Callable[[pl.DataFrame], pl.Series]:
    return lambda frame: frame[name].is_not_null()


DEFECTS: dict[RecordKind, tuple[Defect, ...]] = {
    RecordKind.DECLARATIONS: (
        Defect("invalid_country", "exporter_country", "header", None, lambda c, s: _pick(_BAD_COUNTRIES, s)),
        Defect("invalid_country", "country_of_origin", "item", None, lambda c, s: _pick(_BAD_COUNTRIES, s)),
        Defect("bad_container_check_digit", "container_numbers", "item", _not_null("container_numbers"),
               _bad_check_digit),
        Defect("net_mass_exceeds_gross", "gross_mass_kg", "item", None,
               lambda c, s: pl.col("net_mass_kg") * 0.8),
        Defect("missing_required", "office_code", "header", None, _missing),
        Defect("missing_required", "customs_value", "item", None, _missing),
        Defect("unparsable_date", "declaration_date", "header", None, _bad_date),
        Defect("negative_value", "invoice_value", "item", None, _negative),
        Defect("unknown_currency", "invoice_currency", "header", None, lambda c, s: _pick(_BAD_CURRENCIES, s)),
        Defect("bad_hs_code", "hs_code", "item", None, lambda c, s: _pick(_BAD_HS, s)),
        Defect("bad_imo_check_digit", "vessel_imo", "header", _not_null("vessel_imo"), _bad_iban),
    ),
    RecordKind.PARTIES: (
        Defect("invalid_country", "country", "row", None, lambda c, s: _pick(_BAD_COUNTRIES, s)),
        Defect("bad_iban_check_digit", "iban", "row", _not_null("iban"), _bad_iban),
        Defect("missing_required", "name", "row", None, _missing),
        Defect("unparsable_date", "registered_on", "row", _not_null("registered_on"), _bad_date),
    ),
    RecordKind.MANIFESTS: (
        Defect("bad_container_check_digit", "container_numbers", "row", _not_null("container_numbers"),
               _bad_check_digit),
        Defect("invalid_country", "shipper_country", "row", None, lambda c, s: _pick(_BAD_COUNTRIES, s)),
        Defect("unparsable_date", "loading_date", "row", None, _bad_date),
        Defect("negative_value", "gross_mass_kg", "row", None, _negative),
    ),
    RecordKind.EVENTS: (
        Defect("bad_container_check_digit", "container_number", "row", _not_null("container_number"),
               _bad_check_digit),
        Defect("unparsable_date", "event_time", "row", None, _bad_date),
        Defect("unknown_code", "event_type", "row", None, lambda c, s: pl.lit("XXXX")),
    ),
    RecordKind.FINANCIAL: (
        Defect("negative_value", "amount", "row", None, _negative),
        Defect("unknown_currency", "currency", "row", None, lambda c, s: _pick(_BAD_CURRENCIES, s)),
        Defect("bad_iban_check_digit", "payer_account", "row", _not_null("payer_account"), _bad_iban),
        Defect("unparsable_date", "record_date", "row", None, _bad_date),
    ),
}
_KEYS: dict[RecordKind, str] = {RecordKind.DECLARATIONS: "declaration_id", RecordKind.PARTIES: "party_id",
                                RecordKind.MANIFESTS: "bl_number", RecordKind.EVENTS: "event_id",
                                RecordKind.FINANCIAL: "record_id"}
DEFECT_COLUMNS = {"record_kind": pl.String, "record_key": pl.String, "field": pl.String, "defect": pl.String}


def inject_defects(rng: np.random.Generator, kind: RecordKind, frame: pl.DataFrame,
                   rate: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Break a share ``rate`` of the records of one file; returns the file and the defect list."""
    defects = DEFECTS.get(kind, ())
    if rate <= 0 or not defects or frame.height == 0:
        return frame, pl.DataFrame(schema=DEFECT_COLUMNS)
    key = _KEYS[kind]
    grouped = kind is RecordKind.DECLARATIONS
    # One draw per record: per declaration (all its items), else per row.
    first_row = frame["item_no"].to_numpy() == 1 if grouped else np.ones(frame.height, dtype=bool)
    record_of_row = np.cumsum(first_row) - 1
    n_records = int(first_row.sum())
    broken = rng.random(n_records) < rate
    choice = rng.integers(0, len(defects), n_records)
    seed = rng.integers(0, 1_000, n_records)
    # A defect that does not apply to a record (no container to corrupt) falls back to one that always does.
    fallback = next(i for i, d in enumerate(defects) if d.applies is None)
    for i, defect in enumerate(defects):
        if defect.applies is not None:
            ok = defect.applies(frame).to_numpy()[first_row]
            choice = np.where((choice == i) & ~ok, fallback, choice)
    row_choice = np.where(broken[record_of_row], choice[record_of_row], -1)
    row_seed = seed[record_of_row] % 6
    # Only the broken rows are touched: gather them, break them, scatter them back.
    columns = {name: frame[name] for name in {d.field for d in defects}}
    for i, defect in enumerate(defects):
        hit = row_choice == i
        if defect.level == "item":
            hit &= first_row
        for variant in np.unique(row_seed[hit]):
            rows = np.flatnonzero(hit & (row_seed == variant))
            broken_values = frame[rows].select(defect.breaks(pl.col(defect.field), int(variant)).alias("v"))["v"]
            column = columns[defect.field]
            columns[defect.field] = column.scatter(rows, broken_values.cast(column.dtype))
    out = frame.with_columns(**columns)
    records = np.flatnonzero(broken)
    keys = frame[key].filter(pl.Series(first_row))
    listed = pl.DataFrame({
        "record_kind": kind.value,
        "record_key": keys.gather(records),
        "field": lookup([d.field for d in defects], choice[records]),
        "defect": lookup([d.code for d in defects], choice[records]),
    }, schema=DEFECT_COLUMNS)
    return out, listed
