"""Screening the store's parties against its watch lists, and remembering analysts' dispositions."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from cintel.entities.screen import ScreeningError
from cintel.entities.screening_service import dispose, open_hits, screen_store
from cintel.entities.service import resolve_store
from cintel.store.entity_tables import entity_record_sources, entity_records
from cintel.store.frames import load_table
from tests.entities.conftest import ANALYST, FIRST, LATER, load_kinds


@pytest.fixture
def screened(engine: Engine, entity_world: Path) -> Engine:
    load_kinds(engine, entity_world, (*FIRST, *LATER))
    resolve_store(engine, ANALYST)
    screen_store(engine, ANALYST)
    return engine


def test_listed_traders_raise_hits(screened: Engine, entity_world: Path) -> None:
    hits = open_hits(screened, ANALYST, limit=10_000)
    parties = pl.read_parquet(entity_world / "truth" / "parties_truth.parquet")
    listed = parties.filter(pl.col("watchlisted"))["party_id"].to_list()
    assert hits.height > 0
    assert hits["score"].min() >= 0.70
    records = load_table(screened, entity_records)
    traded = load_table(screened, entity_record_sources).filter(pl.col("source_kind") != "watchlist")
    listed_records = set(records.filter(pl.col("tax_id").is_in(listed)).join(traded, on="record_id", how="semi")
                         ["record_id"].to_list())
    assert listed_records
    assert listed_records <= set(hits["record_id"].to_list())


def test_a_false_positive_does_not_alert_again(screened: Engine) -> None:
    hit = open_hits(screened, ANALYST, limit=1).row(0, named=True)
    dispose(screened, ANALYST, hit["id"], "false_positive", "different company, other country of registration")
    report = screen_store(screened, ANALYST)
    assert report.suppressed >= 1
    again = open_hits(screened, ANALYST, limit=10_000)
    assert again.filter((pl.col("record_id") == hit["record_id"]) & (pl.col("entry_id") == hit["entry_id"])).is_empty()


def test_errors_are_clear(screened: Engine) -> None:
    with pytest.raises(ScreeningError, match="no watch list named"):
        screen_store(screened, ANALYST, list_name="NOPE")
    with pytest.raises(ScreeningError, match="disposition must be"):
        dispose(screened, ANALYST, 1, "maybe", "unsure")
    with pytest.raises(ScreeningError, match="no screening hit"):
        dispose(screened, ANALYST, 10**9, "true_hit", "sure")
    with pytest.raises(ScreeningError, match="reason"):
        dispose(screened, ANALYST, 1, "true_hit", "  ")


def test_an_empty_store_says_what_to_do_first(engine: Engine) -> None:
    with pytest.raises(ScreeningError, match="watchlist import"):
        screen_store(engine, ANALYST)


def test_confirmed_and_near_certain_hits_feed_the_listed_parties_rule(screened: Engine) -> None:
    from datetime import date

    from cintel.demo_rules import install, refresh_listed_parties
    from cintel.risk import rulebook
    from cintel.settings import get_settings
    from tests.risk.conftest import APPROVER, AUTHOR

    install(screened, AUTHOR, APPROVER)
    strong = get_settings().screening_auto_list_score
    hits = open_hits(screened, ANALYST, limit=10_000).join(
        load_table(screened, entity_records).select("record_id", "tax_id"), on="record_id")
    weak = hits.filter((pl.col("score") < strong) & pl.col("tax_id").is_not_null())
    added = refresh_listed_parties(screened, AUTHOR, before=date(2026, 1, 1))
    listed = set(rulebook.load_lookups(screened)["listed_parties"])
    near_certain = set(hits.filter(pl.col("score") >= strong)["tax_id"].drop_nulls().to_list())
    assert added == len(listed) == len(near_certain) > 0
    if weak.height:
        confirm = weak.row(0, named=True)
        assert confirm["tax_id"] not in listed
        dispose(screened, ANALYST, confirm["id"], "true_hit", "confirmed by the register")
        refresh_listed_parties(screened, AUTHOR, before=date(2026, 1, 1))
        assert confirm["tax_id"] in set(rulebook.load_lookups(screened)["listed_parties"])


def test_a_listed_vat_number_finds_the_registered_party_whatever_its_name(engine: Engine, tmp_path: Path) -> None:
    from cintel.ingest.pipeline import ingest_file

    register = tmp_path / "parties.csv"
    pl.DataFrame({"party_id": ["REG-1", "REG-2"], "name": ["Acme Trading BV", "Other Goods BV"],
                  "country": ["NL", "NL"], "eori": [None, None], "vat": ["NL123456789B01", None]}).write_csv(register)
    listing = tmp_path / "watchlist.csv"
    pl.DataFrame({"list_name": ["EU"], "entry_id": ["E-1"], "name": ["Zenith Holdings Limited"],
                  "entity_type": ["company"], "identifiers": ["123456789B01"]}).write_csv(listing)
    for path in (register, listing):
        assert ingest_file(engine, path).rows_quarantined == 0
    resolve_store(engine, ANALYST)
    records = load_table(engine, entity_records)
    acme = records.filter(pl.col("tax_id") == "REG-1")
    assert acme["identifiers"].to_list() == ["NL123456789B01;REG-1"]  # an empty EORI does not void them
    screen_store(engine, ANALYST)
    hits = open_hits(engine, ANALYST, limit=100)
    assert set(acme["record_id"]) <= set(hits["record_id"])
