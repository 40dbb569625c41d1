"""Resolution on stores with few or no identifiers: names, countries and counterparts only (issue 12)."""

from __future__ import annotations

import json
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


def _name_evidence(names: list[str], pairs: list[tuple[int, int]]) -> list[tuple[str, float]]:
    """The name level reached by each of the given pairs of ``names`` (one Chinese city, one port), and its
    match weight, with a model trained on them and a few others (no identifiers: priors, u from random pairs)."""
    from cintel.entities.resolve import score_pairs

    filler = [f"{w} {line} Co., Ltd." for w in ("Xiamen Hongda", "Qingdao Jinlong", "Foshan Meili", "Tianjin Rongfa")
              for line in ("Trading", "Textile", "Furniture")]
    every = names + filler
    ids = [f"r{k:02d}" for k in range(len(every))]
    records = pl.DataFrame({"record_id": ids, "entity_type": ["unknown"] * len(every), "name": every,
                            "country": ["CN"] * len(every)})
    facts = pl.DataFrame({"record_id": ids, "importers": [None] * len(every), "ports": [["CNNGB"]] * len(every),
                          "hs_chapters": [None] * len(every)},
                         schema={"record_id": pl.String, "importers": pl.List(pl.String),
                                 "ports": pl.List(pl.String), "hs_chapters": pl.List(pl.String)})
    compared = comparison_frame(records, facts)
    scored = score_pairs(train_model(compared, party_spec(), max_pairs=1e4), compared, floor=0.0)
    found = {(a, b): json.loads(e)["name"] for a, b, e in scored.select("record_a", "record_b", "explanation")
             .iter_rows()}
    return [(found[(ids[a], ids[b])]["level"], found[(ids[a], ids[b])]["weight"]) for a, b in pairs]


def test_siblings_with_a_different_line_of_business_word_stay_apart() -> None:
    same, sibling = _name_evidence(["Ningbo Haitian Textile Co., Ltd.", "HAITIAN TEXTILES (NINGBO) CO.,LTD",
                                    "Ningbo Haitian Trading Co., Ltd."], [(0, 1), (0, 2)])
    assert same[1] > 2
    assert sibling[0] == "names carry different line-of-business words"
    assert sibling[1] < -5


def test_a_branch_is_another_company() -> None:
    ((level, weight),) = _name_evidence(["Ningbo Haitian Textile Co., Ltd.",
                                         "Ningbo Haitian Textile Co., Ltd. East Branch"], [(0, 1)])
    assert level == "names carry different branch words"
    assert weight < -5


def test_a_dropped_city_word_does_not_prevent_a_match() -> None:
    ((level, weight),) = _name_evidence(["Ningbo Haitian Electrical Appliance Co., Ltd.",
                                         "HAITIAN ELEC. APPLIANCE CO.,LTD"], [(0, 1)])
    assert level.startswith("one name's words all in the other")
    assert weight > 2


def test_two_romanisations_of_one_korean_name_are_compared() -> None:
    frame = comparison_frame(pl.DataFrame({"record_id": ["a", "b"], "entity_type": ["unknown"] * 2,
                                           "name": ["Samjin Gwangmyeong Steel Co., Ltd.",
                                                    "SAMCHIN KWANGMYONG STEEL CORP."], "country": ["KR", "KR"]}))
    assert frame["name_skeleton"][0] == frame["name_skeleton"][1]
