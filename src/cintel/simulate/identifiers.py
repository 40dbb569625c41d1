"""Vectorised generators of identifiers that carry check digits.

Containers (ISO 6346), ships (IMO numbers), bank accounts (IBAN) and the like are made for
whole arrays at once, because a national-scale world holds millions of them. Every function
returns numbers that pass the matching ``python-stdnum`` validator; ``corrupt_*`` helpers
produce the deliberately broken variants used for data-quality defects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import polars as pl
from stdnum import iban as stdnum_iban

from cintel.simulate.sampling import lookup

# ISO 6346 letter values skip multiples of 11 (A=10, B=12, ..., Z=38).
_ISO6346_ALPHABET = "0123456789A BCDEFGHIJK LMNOPQRSTU VWXYZ"
_ISO6346_VALUE = {ch: i for i, ch in enumerate(_ISO6346_ALPHABET) if ch != " "}
# Countries whose IBAN carries an extra national check digit in stdnum; we leave them without
# an account rather than reimplement every national scheme.
_IBAN_NATIONAL_CHECKS = frozenset({"BE", "ES", "ME", "NO"})
_LETTERS = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _digits_to_str(codes: np.ndarray) -> np.ndarray:
    """Turn an (n, k) array of ASCII codes into an array of n Python strings."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return codes.view(f"S{codes.shape[1]}").ravel().astype(str)


def container_numbers(owners: Sequence[str], owner_index: np.ndarray, serials: np.ndarray) -> pl.Series:
    """ISO 6346 container numbers: 3-letter owner code + 'U' + 6-digit serial + check digit.

    ``owners`` is a small table of owner codes, ``owner_index`` picks one per container.
    """
    # Weighted sum of the owner part (positions 0-3, 'U' included) per owner code, then the serial.
    owner_sum = np.array([sum(_ISO6346_VALUE[ch] * 2**i for i, ch in enumerate(code + "U")) for code in owners])
    serial_digits = np.stack([(serials // 10 ** (5 - i)) % 10 for i in range(6)], axis=1)
    total = owner_sum[owner_index] + (serial_digits * (2 ** np.arange(4, 10))).sum(axis=1)
    check = total % 11 % 10
    return (lookup(owners, owner_index) + "U" + pl.Series(serials).cast(pl.String).str.zfill(6)
            + pl.Series(check).cast(pl.String))


def imo_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct IMO ship numbers (7 digits, last one the weighted-sum check digit)."""
    # Modern merchant ships carry numbers from 9000000 upwards; 6-digit stems keep them distinct.
    stems = rng.choice(np.arange(900_000, 999_999), size=n, replace=False)
    digits = np.stack([(stems // 10 ** (5 - i)) % 10 for i in range(6)], axis=1)
    check = (digits * np.arange(7, 1, -1)).sum(axis=1) % 10
    out: np.ndarray = (stems * 10 + check).astype(str)
    return out


def _bban_structure(country: str) -> list[tuple[int, str]] | None:
    info = stdnum_iban._ibandb.info(country)
    structure = info[0][1].get("bban") if info else None
    if not structure:
        return None
    return [(int(count), kind) for count, kind in re.findall(r"(\d+)!([nac])", structure)]


def iban_supported(country: str) -> bool:
    """Whether we can issue IBANs for accounts in this country."""
    return country not in _IBAN_NATIONAL_CHECKS and _bban_structure(country) is not None


def ibans(rng: np.random.Generator, country: str, n: int) -> np.ndarray:
    """n valid IBANs of a country (random BBAN in the country's format, ISO 7064 check digits)."""
    structure = _bban_structure(country)
    if structure is None or country in _IBAN_NATIONAL_CHECKS:
        raise ValueError(f"no IBAN format for {country}")
    parts = []
    for count, kind in structure:
        if kind == "n":
            parts.append(_DIGITS[rng.integers(0, 10, size=(n, count))])
        elif kind == "a":
            parts.append(_LETTERS[rng.integers(0, 26, size=(n, count))])
        else:  # 'c': alphanumeric; mostly digits as real accounts are
            is_letter = rng.random((n, count)) < 0.2
            parts.append(np.where(is_letter, _LETTERS[rng.integers(0, 26, size=(n, count))],
                                  _DIGITS[rng.integers(0, 10, size=(n, count))]))
    bban = np.concatenate(parts, axis=1).astype(np.uint8)
    # mod 97 of BBAN + country + '00', letters counted as two digits (A=10 ... Z=35).
    tail = np.frombuffer((country + "00").encode(), dtype=np.uint8)
    chars = np.concatenate([bban, np.broadcast_to(tail, (n, 4))], axis=1).astype(np.int64)
    remainder = np.zeros(n, dtype=np.int64)
    for col in chars.T:
        letter = col >= ord("A")
        value = np.where(letter, col - ord("A") + 10, col - ord("0"))
        remainder = (remainder * np.where(letter, 100, 10) + value) % 97
    check = 98 - remainder
    head = np.stack([np.full(n, ord(country[0])), np.full(n, ord(country[1])),
                     check // 10 + ord("0"), check % 10 + ord("0")], axis=1)
    return _digits_to_str(np.concatenate([head, bban], axis=1))


def corrupt_check_digit(values: pl.Series) -> pl.Series:
    """Replace the last character (the check digit) with a different digit."""
    last = values.str.slice(-1, 1)
    bumped = (last.cast(pl.Int64, strict=False).fill_null(0) + 1) % 10
    return values.str.slice(0, values.str.len_chars() - 1) + bumped.cast(pl.String)
