"""Parties: heavy-tailed importer sizes, front-company rings, name noise and entity truth."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from cintel.domain.records import RecordKind
from tests.simulate.conftest import read


def test_a_few_importers_lodge_a_large_share_of_declarations(world: Path) -> None:
    truth = pl.read_parquet(world / "truth" / "declarations_truth.parquet")
    companies = truth.filter(pl.col("importer_entity_id").str.starts_with("E"))
    sizes = companies.group_by("importer_entity_id").len().sort("len", descending=True)["len"]
    top = math.ceil(0.01 * len(sizes))
    assert sizes.head(top).sum() / sizes.sum() >= 0.2


def test_ring_members_share_a_director_address_phone_or_bank_account(world: Path) -> None:
    register = read(world, RecordKind.PARTIES).join(
        pl.read_parquet(world / "truth" / "parties_truth.parquet").select("party_id", "ring_id"), on="party_id")
    rings = register.filter(pl.col("ring_id").is_not_null())
    assert rings["ring_id"].n_unique() >= 3
    director = rings.with_columns(director=pl.col("directors").str.split(";")).explode("director")
    for _, members in rings.group_by("ring_id"):
        assert members.height >= 3
        for row in members.iter_rows(named=True):
            others = members.filter(pl.col("party_id") != row["party_id"])
            theirs = director.filter(pl.col("party_id").is_in(others["party_id"].implode()))["director"]
            shared = (set(row["directors"].split(";")) & set(theirs)) or any(
                row[c] is not None and row[c] in set(others[c]) for c in ("address", "phone", "iban"))
            assert shared, row["party_id"]


def test_ring_members_move_money_between_each_other(world: Path) -> None:
    register = read(world, RecordKind.PARTIES).join(
        pl.read_parquet(world / "truth" / "parties_truth.parquet").select("party_id", "ring_id"), on="party_id")
    ring_names = register.filter(pl.col("ring_id").is_not_null())["name"].implode()
    payments = read(world, RecordKind.FINANCIAL)
    internal = payments.filter(pl.col("payer_name").is_in(ring_names) & pl.col("payee_name").is_in(ring_names))
    assert internal.height > 0


def test_some_parties_are_registered_twice_as_one_entity(world: Path) -> None:
    truth = pl.read_parquet(world / "truth" / "parties_truth.parquet")
    assert truth["party_id"].is_unique().all()
    assert truth["entity_id"].n_unique() < truth.height


def test_declared_names_are_noisy_but_mostly_the_registered_spelling(world: Path) -> None:
    declarations = read(world, RecordKind.DECLARATIONS).filter(pl.col("importer_id").is_not_null())
    registered = read(world, RecordKind.PARTIES).select("party_id", pl.col("name").alias("registered"))
    names = declarations.join(registered, left_on="importer_id", right_on="party_id")
    same = (names["importer_name"] == names["registered"]).mean()
    assert same is not None
    assert 0.7 < same < 0.97
