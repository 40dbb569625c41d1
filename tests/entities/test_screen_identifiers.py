"""A listed identifier (registration, INN, VAT, IMO, tax number) matches any identifier a party gives."""

from __future__ import annotations

import polars as pl
import pytest

from cintel.entities.screen import build_index, screen
from cintel.entities.screen_index import identifier_keys

ENTRY = pl.DataFrame({"list_name": ["L"], "entry_id": ["e1"], "name": ["Romashka LLC"], "entity_type": ["company"],
                      "country": ["RU"], "identifiers": ["1027700132195;7707083893"]})


@pytest.mark.parametrize("party_identifiers", ["XX0001;7707083893", "RU7707083893", "ru 7707083893;NL0001"])
def test_a_listed_number_matches_any_of_a_partys_identifiers(party_identifiers: str) -> None:
    party = pl.DataFrame({"party_key": ["p"], "name": ["Totally Different Name"], "entity_type": ["company"],
                          "country": ["RU"], "identifiers": [party_identifiers]})
    hits = screen(build_index(ENTRY), party)
    assert hits["identifier_match"].to_list() == [True]


def test_vat_numbers_match_with_and_without_their_country_prefix() -> None:
    assert set(identifier_keys("NL804945136B01", "NL")) & set(identifier_keys("804945136B01", "NL"))
    assert set(identifier_keys("ATU12345678", None)) & set(identifier_keys("U12345678", "AT"))
    assert not set(identifier_keys("7707083893", "RU")) & set(identifier_keys("7707083894", "RU"))
