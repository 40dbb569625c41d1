"""Scalar twins of the Polars string operations `validate.py` is built from.

Polars runs on Rust: its white space, its regular expressions, its number and date parsers and its
number formatting differ from Python's in small ways (Python's `str.strip` also strips \\x1c-\\x1f,
`float` reads '1_000' and Arabic digits, `re`'s `$` matches before a final newline). The real-time
validator must agree with the batch one to the character, so each operation is written here once,
next to the Polars expression it mirrors; tests compare them on generated text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import polars as pl

# Rust's `char::is_whitespace` (Unicode White_Space): what `str.strip_chars()` and the regex `\s` of Polars mean.
_WS_CLASS = "\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
              + "\u2028\u2029\u202f\u205f\u3000")
_WS_RUN = re.compile(f"[{_WS_CLASS}]+")
_DISPLAY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def rust_regex(pattern: str) -> re.Pattern[str]:
    """A Python regex matching what the Rust `regex` pattern matches in `str.contains` (no multi-line flags).

    `\\s` becomes Rust's white space set, `$` matches only at the very end.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            pair = pattern[i: i + 2]
            out.append(_WS_CLASS if pair == r"\s" and in_class else f"[{_WS_CLASS}]" if pair == r"\s" else pair)
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        elif ch == "$" and not in_class:
            ch = r"\Z"
        out.append(ch)
        i += 1
    return re.compile("".join(out))


def strip(value: str) -> str:
    """`str.strip_chars()`."""
    return value.strip(WHITESPACE)


def standardised_text(value: str) -> str:
    """`validate._standardised_text`: NFC, white space runs to one space, trimmed."""
    return strip(_WS_RUN.sub(" ", unicodedata.normalize("NFC", value)))


def shown(text: str) -> str:
    """`validate._shown`: control characters replaced, cut to 40 characters."""
    text = _DISPLAY_CONTROL.sub("\ufffd", text)
    return text[:40] + "…" if len(text) > 40 else text


def to_float(text: str) -> float | None:
    """`cast(pl.Float64, strict=False)` of trimmed text: Python's `float` also reads underscores, non-ASCII
    digits and surrounding white space, which Polars refuses."""
    if not text.isascii() or "_" in text or any(c.isspace() for c in text):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def float_text(value: float) -> str:
    """A float as `pl.format` writes it: like `repr`, but 1e-05 is 0.00001 and exponents are not padded."""
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)
    if power == -5:
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


# ---------------------------------------------------------------- dates

# The common spelling, read without Polars; anything else is handed to Polars' own parser (chrono), whose
# grammar (signed and short years, spaces inside, leap seconds, offsets without minutes) is not worth copying.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
                           r"(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?"
                           r"| [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)")
_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f")


_EPOCH_DAY = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_number(value: date) -> int:
    """Days since 1970-01-01, the physical value of `pl.Date`."""
    return value.toordinal() - _EPOCH_DAY


def parse_date(text: str) -> tuple[int, str] | None:
    """`str.to_date("%Y-%m-%d", strict=False)`: (days since 1970-01-01, the date as Polars writes it).

    Days rather than a `date`: Polars reads years Python cannot hold ('-1-01-01', '+10000-01-01').
    """
    if _ISO_DATE.fullmatch(text):
        try:
            value = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return day_number(value), value.isoformat()
    return _polars_date(text)


@lru_cache(maxsize=1024)
def _polars_date(text: str) -> tuple[int, str] | None:
    parsed = pl.Series([text], dtype=pl.String).str.to_date("%Y-%m-%d", strict=False)
    days = parsed.cast(pl.Int32).item()
    return None if days is None else (int(days), str(parsed.cast(pl.String).item()))


def date_of(days: int) -> date | None:
    """The `date` of a day number, or None outside the years Python holds (1 to 9999)."""
    ordinal = days + _EPOCH_DAY
    return date.fromordinal(ordinal) if 1 <= ordinal <= date.max.toordinal() else None


def parse_datetime(text: str) -> tuple[int, str] | None:
    """The coalesced `str.to_datetime` of `validate._check_field` (time_zone UTC, time_unit us):
    (microseconds since the epoch, the time as Polars writes it)."""
    if _ISO_DATETIME.fullmatch(text):
        try:
            value = datetime.fromisoformat(text)
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
        else:
            return micros(value), datetime_text(value)
    return _polars_datetime(text)


@lru_cache(maxsize=1024)
def _polars_datetime(text: str) -> tuple[int, str] | None:
    series = pl.Series([text], dtype=pl.String)
    parsed = pl.select(pl.coalesce(pl.lit(series).str.to_datetime(f, strict=False, time_zone="UTC", time_unit="us")
                                   for f in _DATETIME_FORMATS)).to_series()
    us = parsed.cast(pl.Int64).item()
    return None if us is None else (int(us), str(pl.select(pl.format("{}", pl.lit(parsed))).item()))


def micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, the physical value of `pl.Datetime("us")`."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def datetime_text(value: datetime) -> str:
    """A UTC datetime as `pl.format` writes it."""
    return f"{value:%Y-%m-%d %H:%M:%S.%f}+00:00"


def datetime_of(us: int) -> datetime | None:
    """The aware UTC datetime of epoch microseconds, or None outside Python's range."""
    try:
        return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=us)
    except OverflowError:
        return None
