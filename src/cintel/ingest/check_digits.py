"""Check-digit validation as Polars expressions.

ISO 6346 and IMO checks run on every container and vessel of every declaration, so they are
written as column expressions; tests prove them equal to python-stdnum's validators. IBANs are
rarer (parties, payments), so python-stdnum checks each distinct value directly.
"""

from __future__ import annotations

import polars as pl
from stdnum import iban

# ISO 6346 letter values: A=10 upwards, skipping multiples of 11.
_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _value % 11 == 0:
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1
_CONTAINER_VALUES = {**_LETTER_VALUES, **{str(d): d for d in range(10)}}


def container_is_valid(expr: pl.Expr) -> pl.Expr:
    """True where the value is an ISO 6346 container number (owner, category U/J/Z/R, serial, check digit)."""
    total = pl.sum_horizontal(
        expr.str.slice(i, 1).replace_strict(_CONTAINER_VALUES, default=0, return_dtype=pl.Int64) * (2**i)
        for i in range(10)
    )
    check = expr.str.slice(10, 1).cast(pl.Int64, strict=False)
    # [0-9], not \d: Polars' \d also matches other scripts' digits, which the check cannot weigh.
    return (expr.str.contains(r"^[A-Z]{3}[UJZR][0-9]{7}$") & ((total % 11) % 10 == check)).fill_null(False)


def imo_is_valid(expr: pl.Expr) -> pl.Expr:
    """True where the value is a 7-digit IMO ship number with a correct check digit."""
    digits = [expr.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(7)]
    total = pl.sum_horizontal(d * (7 - i) for i, d in enumerate(digits[:6]))
    return (expr.str.contains(r"^[0-9]{7}$") & (total % 10 == digits[6])).fill_null(False)


def iban_is_valid(expr: pl.Expr) -> pl.Expr:
    """True where the value is a valid IBAN (country format and mod-97 checksum)."""

    def check(values: pl.Series) -> pl.Series:
        distinct = values.drop_nulls().unique()
        valid = {v: bool(iban.is_valid(v)) for v in distinct.to_list()}
        return values.replace_strict(valid, default=None, return_dtype=pl.Boolean)

    return expr.map_batches(check, return_dtype=pl.Boolean)
