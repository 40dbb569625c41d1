"""Scalar twins of the per-kind `simple` table of `validate._check_field` and of `check_digits`:
how a country, currency, HS code, UN/LOCODE, container, IMO, IBAN, e-mail or phone value is cleaned and
checked. Each pattern is the batch one, translated to Python by `rust_regex`."""

from __future__ import annotations

import math
from collections.abc import Callable

from stdnum import iban, iso6346

from cintel.domain.codes import HS_CHAPTERS, country_codes, currency_codes
from cintel.domain.records import Field, FieldKind
from cintel.ingest import scalar_ops as ops
from cintel.ingest.problems import Problem

K = FieldKind
# Patterns written inline in validate._check_field and check_digits; each names its Polars counterpart.
_HS_GROUPED = ops.rust_regex(r"^[0-9]{4}([.\s]?[0-9]{2}){1,3}$")  # validate._hs_digits
_HS_SEPARATORS = ops.rust_regex(r"[.\s]")
_HS_DIGITS = ops.rust_regex(r"^[0-9]{6,10}$")
_LOCODE = ops.rust_regex(r"^[A-Z]{2}[A-Z2-9]{3}$")  # validate._locode_ok
_SPACE = ops.rust_regex(r"\s")
_CONTAINER_NOISE = ops.rust_regex(r"[\s\-]")
_CONTAINER = ops.rust_regex(r"^[A-Z]{3}[UJZR][0-9]{7}$")  # check_digits.container_is_valid
_IMO_PREFIX = ops.rust_regex(r"^IMO\s*")
_IMO = ops.rust_regex(r"^[0-9]{7}$")  # check_digits.imo_is_valid
_EMAIL = ops.rust_regex(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_NOISE = ops.rust_regex(r"[\s\-().]")
_PHONE = ops.rust_regex(r"^\+?[0-9]{6,15}$")


# ---------------------------------------------------------------- identifiers (check digits)


def _container_ok(value: str) -> bool:
    """`check_digits.container_is_valid`; python-stdnum is the reference the tests prove it against."""
    return bool(_CONTAINER.match(value)) and iso6346.is_valid(value)


def _imo_ok(value: str) -> bool:
    """`check_digits.imo_is_valid`."""
    if not _IMO.match(value):
        return False
    return sum(int(d) * (7 - i) for i, d in enumerate(value[:6])) % 10 == int(value[6])


def _iban_ok(value: str) -> bool:
    """`check_digits.iban_is_valid`: python-stdnum on the value."""
    try:
        return bool(iban.is_valid(value))
    except Exception:  # stdnum on hostile text: a problem for the clerk, never an exception
        return False


def _locode_ok(value: str) -> bool:
    return bool(_LOCODE.match(value)) and value[:2] in country_codes()


def _hs_digits(value: str) -> str:
    return _HS_SEPARATORS.sub("", value) if _HS_GROUPED.match(value) else value


# The `simple` table of validate._check_field: clean, valid, problem, what was expected.
_Simple = tuple[Callable[[str], str], Callable[[str], bool], Problem, str]
SIMPLE: dict[FieldKind, _Simple] = {
    K.COUNTRY: (str.upper, lambda v: v in country_codes(), Problem.INVALID_COUNTRY,
                "an ISO 3166 country code such as CN or NL"),
    K.CURRENCY: (str.upper, lambda v: v in currency_codes(), Problem.INVALID_CURRENCY,
                 "an ISO 4217 currency code such as EUR or USD"),
    K.HS_CODE: (_hs_digits, lambda v: bool(_HS_DIGITS.match(v)) and v[:2] in HS_CHAPTERS, Problem.INVALID_HS_CODE,
                "6 to 10 digits of an existing HS chapter, e.g. 85171200"),
    K.LOCODE: (lambda v: _SPACE.sub("", v.upper()), _locode_ok, Problem.INVALID_LOCODE, "a UN/LOCODE such as CNSHA"),
    K.CONTAINER: (lambda v: _CONTAINER_NOISE.sub("", v.upper()), _container_ok, Problem.INVALID_CONTAINER,
                  "an ISO 6346 number such as MSCU1234566"),
    K.IMO: (lambda v: _IMO_PREFIX.sub("", v.upper(), count=1), _imo_ok, Problem.INVALID_IMO,
            "a 7-digit IMO number with a correct check digit"),
    K.IBAN: (lambda v: _SPACE.sub("", v.upper()), _iban_ok, Problem.INVALID_IBAN, "an IBAN with a correct checksum"),
    K.EMAIL: (str.lower, lambda v: bool(_EMAIL.match(v)), Problem.INVALID_EMAIL, "an e-mail address"),
    K.PHONE: (lambda v: _PHONE_NOISE.sub("", v), lambda v: bool(_PHONE.match(v)), Problem.INVALID_PHONE,
              "a phone number with 6 to 15 digits"),
}


def split_list(text: str, clean: Callable[[str], str]) -> list[str]:
    """`validate._split_list`: ';'-separated, each element cleaned, empty elements dropped."""
    return [v for v in (clean(part) for part in text.split(";")) if v]


_ENTRY_COLON = ops.rust_regex(r" ?: ?")  # validate._standardised_entry


def standardised_entry(value: str) -> str:
    """`validate._standardised_entry`: standardised text without spaces around ':'."""
    return _ENTRY_COLON.sub(":", ops.standardised_text(value))


def bad_entry(entry: str, f: Field) -> bool:
    """`validate._bad_entry`: no type, or a numeric part that is not a finite number >= 0."""
    if entry.startswith(":"):
        return True
    parts = entry.split(":", len(f.parts) - 1)
    for part in f.numeric_parts:
        i = f.parts.index(part)
        value = parts[i] if i < len(parts) else None
        if value:
            number = ops.to_float(value)
            if number is None or not math.isfinite(number) or number < 0:
                return True
    return False
