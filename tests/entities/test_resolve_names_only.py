"""Resolution on stores with few or no identifiers: names, countries and counterparts only (issue 12)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from cintel.domain.records import RecordKind
from cintel.entities.records import comparison_frame
from cintel.entities.resolve import evidence_in_words, party_spec, train_model
from cintel.entities.screening_service import screen_store
from cintel.entities.service import resolve_store
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.readers import ReadOptions
from cintel.store.entity_tables import entity_records
from cintel.store.frames import load_table
from tests.entities.conftest import ANALYST, load_kinds
from tests.factories import declaration, write_csv

SPELLINGS = ("Ningbo Haitian Electrical Appliance Co., Ltd.", "NINGBO HAITIAN ELEC. APPLIANCE CO.,LTD")


def _declarations_only(path: Path) -> Path:
    """Declarations whose exporters are known by name and country only; importers by name only."""
    rows: list[dict[str, str]] = []
    for n in range(40):
        exporter = SPELLINGS[n % 2] if n < 8 else f"{['Xiamen', 'Qingdao'][n % 2]} Company{n} Trading Co., Ltd."
        rows += declaration(n + 1, items=1, importer_id="", importer_name=f"Importer {n % 3 if n < 8 else n} B.V.",
                            exporter_name=exporter if n != 39 else "", declarant_id="", vessel_imo="")
    return write_csv(path / "declarations.csv", rows)


def test_a_store_of_declarations_without_identifiers_resolves_on_names_and_counterparts(
        engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, _declarations_only(tmp_path), options=ReadOptions(kind=RecordKind.DECLARATIONS))
    report = resolve_store(engine, ANALYST)
    assert report.evidence.startswith("no shared identifiers: names, countries and counterparts")
    records = load_table(engine, entity_records).filter(pl.col("name").is_in(list(SPELLINGS)))
    assert records.height == 2
    assert records["entity_id"].n_unique() == 1


def test_a_register_and_a_watch_list_alone_resolve_and_screen(engine: Engine, entity_world: Path) -> None:
    load_kinds(engine, entity_world, (RecordKind.PARTIES, RecordKind.WATCHLIST))
    report = resolve_store(engine, ANALYST)
    assert report.entities > 0
    screen_store(engine, ANALYST)


def test_training_without_any_identifier_gives_every_level_its_values() -> None:
    records = pl.DataFrame({"record_id": [f"r{k}" for k in range(6)], "entity_type": ["unknown"] * 6,
                            "name": ["Acme Trading Co., Ltd.", "ACME TRADING CO.,LTD", "Beta Textile Ltd.",
                                     "Gamma Mfg. GmbH", "Delta Intl LLC", "Acme Textile Co Ltd"],
                            "country": ["CN", "CN", "VN", "DE", "AE", "CN"]})
    model = train_model(comparison_frame(records), party_spec())
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                assert 0 < level["m_probability"] <= 1
                assert 0 < level["u_probability"] <= 1
    assert 0 < model["probability_two_random_records_match"] < 1


def test_a_link_is_explained_in_words() -> None:
    words = evidence_in_words({"name": {"level": "name (legal form removed) equal", "weight": 9.1},
                               "country": {"level": "country equal", "weight": 2.0},
                               "importers": {"level": "3+ importers in common", "weight": 4.0, "shared": 3},
                               "tax_id": {"level": "one side missing", "weight": 0.0},
                               "ports": {"level": "no ports of loading in common", "weight": -1.5, "shared": 0}})
    assert words == ("name (legal form removed) equal, 3 importers in common, country equal; "
                     "against: no ports of loading in common")


@pytest.mark.parametrize(("a", "b"), [
    ("Shenzhen Bright Elec. Tech. Co., Ltd.", "SHENZHEN BRIGHT ELECTRONICS TECHNOLOGY COMPANY LIMITED"),
    ("Hoang Phat Trading Co., Ltd.", "CÔNG TY TNHH THƯƠNG MẠI HOÀNG PHÁT")])
def test_abbreviations_and_translated_business_words_compare_equal(a: str, b: str) -> None:
    frame = comparison_frame(pl.DataFrame({"record_id": ["a", "b"], "entity_type": ["unknown"] * 2, "name": [a, b],
                                           "country": ["CN", "CN"]}))
    assert frame["name_sorted"][0] == frame["name_sorted"][1]


def test_names_with_different_numbers_carry_different_numbers() -> None:
    frame = comparison_frame(pl.DataFrame({"record_id": ["a", "b"], "entity_type": ["unknown"] * 2,
                                           "name": ["Yiwu Hongxin No.2 Garment Factory",
                                                    "Yiwu Hongxin Garment Factory"],
                                           "country": ["CN", "CN"]}))
    assert frame["name_numbers"].to_list() == ["2", None]
