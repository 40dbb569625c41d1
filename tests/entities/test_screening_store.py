"""Screening the store's parties against its watch lists, and remembering analysts' dispositions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from cintel.entities.screen import ScreeningError
from cintel.entities.screening_service import (
    DispositionError,
    dispose,
    dispose_many,
    open_hits,
    party_hits,
    screen_store,
)
from cintel.entities.service import ResolutionReport, resolve_store
from cintel.store.entity_tables import entity_record_sources, entity_records, screening_dispositions, screening_hits
from cintel.store.frames import load_table
from tests.conftest import StoreTemplate
from tests.entities.conftest import ANALYST


@pytest.fixture
def screened(resolved_world: tuple[StoreTemplate, ResolutionReport], tmp_path: Path) -> Iterator[Engine]:
    """The entity world loaded, resolved and screened: a private copy of the session's resolved world."""
    with resolved_world[0].copy(tmp_path) as engine:
        yield engine


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
    assert listed_records <= set(hits["record_ids"].explode().to_list())


def test_a_false_positive_does_not_alert_again(screened: Engine) -> None:
    hit = open_hits(screened, ANALYST, limit=1).row(0, named=True)
    dispose(screened, ANALYST, hit["id"], "false_positive", "different company, other country of registration")
    report = screen_store(screened, ANALYST)
    assert report.suppressed >= 1
    again = open_hits(screened, ANALYST, limit=10_000).explode("record_ids")
    assert again.filter(pl.col("record_ids").is_in(hit["record_ids"]) & (pl.col("entry_id") == hit["entry_id"])
                        ).is_empty()


def test_errors_are_clear(screened: Engine) -> None:
    with pytest.raises(ScreeningError, match="no watch list named"):
        screen_store(screened, ANALYST, list_name="NOPE")
    with pytest.raises(ScreeningError, match="disposition must be"):
        dispose(screened, ANALYST, 1, "maybe", "unsure")
    with pytest.raises(ScreeningError, match="no screening hit"):
        dispose(screened, ANALYST, 10**9, "true_hit", "sure")
    with pytest.raises(ScreeningError, match="reason"):
        dispose(screened, ANALYST, 1, "true_hit", "  ")
    with pytest.raises(DispositionError) as refused:
        dispose_many(screened, ANALYST, [], "", "no")
    assert set(refused.value.problems) == {"hit_ids", "disposition", "reason"}


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
    hits = open_hits(screened, ANALYST, limit=10_000).explode("record_ids").drop("record_id").join(
        load_table(screened, entity_records).select(pl.col("record_id").alias("record_ids"), "tax_id"),
        on="record_ids")
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
    assert set(acme["record_id"]) <= set(hits["record_ids"].explode())


def _record_hits(engine: Engine) -> pl.DataFrame:
    return load_table(engine, screening_hits).join(
        load_table(engine, entity_records).select("record_id", "entity_id"), on="record_id")


def test_a_party_has_one_open_hit_per_list_entry_however_many_of_its_records_match(screened: Engine) -> None:
    per_record = _record_hits(screened).filter(pl.col("open"))
    repeated = per_record.group_by("entity_id", "list_name", "entry_id").len().filter(pl.col("len") > 1)
    assert repeated.height > 0  # the world has parties resolved from several records that all match one entry
    hits = open_hits(screened, ANALYST, limit=10_000)
    assert hits.select("entity_id", "list_name", "entry_id").is_duplicated().sum() == 0
    assert hits.height == per_record.select("entity_id", "list_name", "entry_id").n_unique()
    many = repeated.row(0, named=True)
    row = hits.filter((pl.col("entity_id") == many["entity_id"]) & (pl.col("entry_id") == many["entry_id"])).row(
        0, named=True)
    assert row["records"] == many["len"] == len(row["record_ids"]) == len(row["hit_ids"])
    best = per_record.filter((pl.col("entity_id") == many["entity_id"]) & (pl.col("entry_id") == many["entry_id"]))
    assert row["score"] == best["score"].max()
    shown = party_hits(screened, ANALYST, many["entity_id"])
    assert [(h["list_name"], h["entry_id"]) for h in shown].count((many["list_name"], many["entry_id"])) == 1


def test_one_disposition_covers_every_record_of_the_party_and_holds_on_the_next_run(screened: Engine) -> None:
    hits = open_hits(screened, ANALYST, limit=10_000).filter(pl.col("records") > 1)
    hit = hits.row(0, named=True)
    assert dispose_many(screened, ANALYST, [hit["id"]], "false_positive", "another company, other register",
                        entity_id=hit["entity_id"]) == 1
    verdicts = load_table(screened, screening_dispositions).filter(pl.col("entry_id") == hit["entry_id"])
    assert set(hit["record_ids"]) <= set(verdicts["record_id"].to_list())
    assert set(verdicts.filter(pl.col("record_id").is_in(hit["record_ids"]))["reason"]) == {
        "another company, other register"}
    closed = _record_hits(screened).filter(pl.col("id").is_in(hit["hit_ids"]))
    assert not closed["open"].any()
    screen_store(screened, ANALYST)
    again = _record_hits(screened).filter((pl.col("entity_id") == hit["entity_id"])
                                          & (pl.col("entry_id") == hit["entry_id"]) & pl.col("open"))
    assert again.is_empty()


def test_several_hits_take_one_disposition_and_a_strangers_hit_is_refused(screened: Engine) -> None:
    hits = open_hits(screened, ANALYST, limit=10_000)
    two = hits.head(2)
    assert two["entity_id"].n_unique() == 2
    first, second = two.rows(named=True)
    with pytest.raises(ScreeningError, match="has no screening hit"):
        dispose_many(screened, ANALYST, [first["id"], second["id"]], "true_hit", "register agrees",
                     entity_id=first["entity_id"])
    assert _record_hits(screened).filter(pl.col("id").is_in([first["id"], second["id"]]))["open"].all()
    assert dispose_many(screened, ANALYST, [first["id"], second["id"]], "true_hit", "register agrees") == 2
    shown = party_hits(screened, ANALYST, first["entity_id"])
    mine = next(h for h in shown if h["entry_id"] == first["entry_id"])
    assert (mine["disposition"], mine["reason"], mine["decided_by"], mine["open"]) == (
        "true_hit", "register agrees", ANALYST.user, False)
