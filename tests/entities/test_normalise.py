"""Comparison keys: equal for spellings of one value, None for junk, never an exception."""

from __future__ import annotations

import time

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cintel.entities.normalise import (
    address_key,
    email_key,
    iban_key,
    imo_key,
    name_core,
    name_key,
    name_phonetic,
    name_tokens,
    normalise_parties,
    phone_e164,
    postcode,
    tax_id_key,
)

HOSTILE = ["", " ", "...", "\x00\x01\x1f", "x" * 10_000, "\u202eevil\u202c", "😀🚢", "Ооо Ромашка 张伟 محمد",
           "\ufeff\u200b", "A" * 5000 + " B.V."]


@pytest.mark.parametrize("variant", ["ACME TRADING BV", "Acme Trading Besloten Vennootschap", "acme trading b.v."])
def test_dutch_legal_form_spellings_share_a_key(variant: str) -> None:
    assert name_key(variant) == name_key("Acme Trading B.V.") == "acme trading bv"


@pytest.mark.parametrize("variant", ["Ningbo Huaxin Textiles Company Limited", "NINGBO HUAXIN TEXTILES CO.,LTD",
                                     "Ningbo Huaxin Textiles Co Ltd"])
def test_limited_company_spellings_share_a_key(variant: str) -> None:
    assert name_key(variant) == name_key("Ningbo Huaxin Textiles Co., Ltd.") == "ningbo huaxin textiles ltd"


def test_core_drops_the_legal_form() -> None:
    assert name_core("Star Roova Motors Kabushiki Kaisha") == name_core("Star Roova Motors K.K.") == "star roova motors"


def test_cyrillic_is_transliterated() -> None:
    assert name_key("Ооо Ромашка") == "ooo romashka"
    assert name_core("Ооо Ромашка") == "romashka"


def test_tokens_ignore_order() -> None:
    assert name_tokens("Zhang Wei") == name_tokens("Wei Zhang") == ["wei", "zhang"]


def test_phonetic_key_bridges_spellings() -> None:
    assert name_phonetic("Jovanović Petrović") == name_phonetic("Jovanovic Petrovic")


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_names_never_raise(raw: str) -> None:
    for fn in (name_key, name_core, name_phonetic):
        out = fn(raw)
        assert out is None or out.isascii()
    assert isinstance(name_tokens(raw), list)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_name_key_is_ascii_idempotent_and_never_raises(raw: str) -> None:
    key = name_key(raw)
    if key is not None:
        assert key.isascii()
        assert key == key.strip()
        assert name_key(key) == key


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from([None, "NL", "DE", "CN", "zz", ""]))
def test_every_key_function_survives_any_text(raw: str, country: str | None) -> None:
    for value in (phone_e164(raw, country), email_key(raw), iban_key(raw), tax_id_key(raw, country), imo_key(raw),
                  address_key(raw, country), postcode(raw, country)):
        assert value is None or isinstance(value, str)


@pytest.mark.parametrize(("raw", "country", "expected"), [
    ("010 456 7890", "NL", "+31104567890"), ("0031 10 456 7890", None, "+31104567890"),
    ("+31 (0)10-456 7890", None, "+31104567890"), ("12", "NL", None), ("not a phone", "NL", None),
])
def test_phone_numbers_become_e164(raw: str, country: str | None, expected: str | None) -> None:
    assert phone_e164(raw, country) == expected


def test_email_key_lowercases_and_rejects_malformed() -> None:
    assert email_key("  Info@Example.COM ") == "info@example.com"
    assert email_key("a@b") is None
    assert email_key("a@@b.com") is None
    assert email_key("no-at.example.com") is None


def test_iban_key_compacts_valid_and_rejects_bad_check_digits() -> None:
    assert iban_key("NL91 ABNA 0417 1643 00") == "NL91ABNA0417164300"
    assert iban_key("NL91ABNA0417164301") is None


def test_tax_id_key_compacts_and_validates() -> None:
    assert tax_id_key("DE 136 695 976") == "DE136695976"
    assert tax_id_key("136695976", "DE") == "DE136695976"  # valid German VAT number gets its prefix
    assert tax_id_key("nl-804.945.136") == "NL804945136"
    assert tax_id_key("x") is None


def test_tax_id_key_strict_rejects_a_failed_vat_check() -> None:
    assert tax_id_key("NL804945136B01", strict=True) is None
    assert tax_id_key("NL804945136B01") == "NL804945136B01"


@pytest.mark.parametrize(("raw", "expected"), [("IMO 9074729", "9074729"), ("9074729", "9074729"),
                                                ("IMO9074729", "9074729"), ("9074728", None), ("907472", None)])
def test_imo_key_checks_the_check_digit(raw: str, expected: str | None) -> None:
    assert imo_key(raw) == expected


def test_address_key_abbreviates_street_words_and_keeps_numbers() -> None:
    assert address_key("Havenstraat 258, 1151 XM Schiphol", "NL") == address_key("Havenstr. 258 1151XM SCHIPHOL", "NL")
    assert address_key("12 Harbour Road, Industrial Zone", "CN") == "12 harbour rd ind zn"


def test_postcode_finds_dutch_and_digit_postcodes() -> None:
    assert postcode("Havenstraat 258, 1151 xm Schiphol", "NL") == "1151XM"
    assert postcode("12 Harbour Road, 518000 Shenzhen", "CN") == "518000"
    assert postcode("Main Street", "GB") is None


def test_normalise_parties_adds_keys_and_keeps_raw_columns() -> None:
    frame = pl.DataFrame({"name": ["Acme B.V.", "ACME BV", None], "country": ["NL", "NL", None],
                          "phone": ["010 456 7890", None, "x"], "imo": ["IMO 9074729", None, None]})
    out = normalise_parties(frame)
    assert out.select(frame.columns).equals(frame)
    assert out["name_key"].to_list() == ["acme bv", "acme bv", None]
    assert out["name_tokens"].to_list()[0] == ["acme"]
    assert out["phone_key"].to_list() == ["+31104567890", None, None]
    assert out["imo_key"].to_list() == ["9074729", None, None]
    assert out["email_key"].null_count() == 3  # no email column: nulls


def test_normalise_parties_computes_once_per_distinct_value() -> None:
    names = [f"Company {i % 2000} B.V." for i in range(200_000)]
    frame = pl.DataFrame({"name": names, "country": ["NL"] * len(names)})
    start = time.perf_counter()
    out = normalise_parties(frame)
    assert time.perf_counter() - start < 10
    assert out["name_key"].n_unique() == 2000


def test_line_of_business_and_branch_words_are_the_marks_of_a_name() -> None:
    from cintel.entities.normalise import fold_core, name_marks

    assert name_marks(fold_core("ningbo haitian textiles export branch")) == (["export", "textile"], "branch")
    assert name_marks(fold_core("ningbo haitian")) == ([], None)


def test_romanisations_share_a_skeleton_and_other_names_do_not() -> None:
    from cintel.entities.normalise import name_skeleton

    assert name_skeleton("stroytekh volgakhim snab") == name_skeleton("stroiteh volgahim snab")
    assert name_skeleton("geumho seoheung chem") == name_skeleton("kumho sohung chem")
    assert name_skeleton("haitian trading") != name_skeleton("haitian textile")
    assert name_skeleton(None) is None
