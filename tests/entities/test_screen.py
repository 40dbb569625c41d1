"""Watch-list screening: which parties alert against which entries, with what score and why."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cintel.entities.screen import (
    HIT_COLUMNS,
    ScreeningError,
    apply_dispositions,
    build_index,
    exact_screen,
    screen,
)
from cintel.entities.screen_index import MAX_NAME_CHARS, ScreeningIndex
from cintel.simulate.config import Scheme, SimulationConfig
from cintel.simulate.world import simulate_configured_world

ENTRIES = [
    # list_name, entry_id, name, entity_type, aliases, country, birth_date, imo, identifiers
    ("L", "P1", "Sergey Ivanov", "person", None, "RU", "1970-03-14", None, None),
    ("L", "P2", "John Smith", "person", None, "GB", "1965-01-01", None, None),
    ("L", "P3", "Mohammed Al-Farsi", "person", None, "AE", None, None, None),
    ("L", "C1", "Blue Triero Electronics B.V.", "company", "Triero Elec. BV", "NL", None, None, "NL839010395"),
    ("L", "C2", "Ningbo Huaxin Textiles Co., Ltd.", "company", None, "CN", None, None, None),
    ("L", "C3", "ABC Ltd", "company", None, "GB", None, None, None),
    ("L", "C4", "Ромашка ООО", "company", None, "RU", None, None, None),
    ("L", "V1", "Meridian Star", "vessel", None, None, None, "9074729", None),
    ("L", "D1", "Vanora Apparel Ltd", "company", None, "TR", None, None, None),
    ("L", "D2", "Golden Fenix Trading LLC", "company", None, "AE", None, None, None),
]


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    cols = ["list_name", "entry_id", "name", "entity_type", "aliases", "country", "birth_date", "imo", "identifiers"]
    frame = pl.DataFrame(ENTRIES, schema=cols, orient="row").with_columns(list_version=pl.lit("2024-01-01"))
    return build_index(frame)


def one(index: ScreeningIndex, name: str, **attrs: str | None) -> pl.DataFrame:
    row = {"party_key": "p", "name": name, **attrs}
    return screen(index, pl.DataFrame([row], schema=dict.fromkeys(row, pl.String)))


def best(index: ScreeningIndex, name: str, **attrs: str | None) -> dict[str, Any] | None:
    hits = one(index, name, **attrs)
    return hits.row(0, named=True) if hits.height else None


def test_hits_have_the_documented_columns(index: ScreeningIndex) -> None:
    assert one(index, "Sergey Ivanov").columns == list(HIT_COLUMNS)


def test_reordered_person_name_matches(index: ScreeningIndex) -> None:
    hit = best(index, "Ivanov Sergey", entity_type="person")
    assert hit is not None
    assert hit["entry_id"] == "P1"
    assert hit["score"] == pytest.approx(1.0)


def test_initial_gets_partial_credit(index: ScreeningIndex) -> None:
    hit = best(index, "J. Smith")
    assert hit is not None
    assert hit["entry_id"] == "P2"
    assert 0.7 <= float(hit["score"]) < 1.0


def test_transliterated_name_matches(index: ScreeningIndex) -> None:
    assert (best(index, "Muhammad Al Farsi") or {}).get("entry_id") == "P3"
    assert (best(index, "Romashka OOO") or {}).get("entry_id") == "C4"


def test_legal_form_noise_is_ignored(index: ScreeningIndex) -> None:
    hit = best(index, "NINGBO HUAXIN TEXTILES COMPANY LIMITED")
    assert hit is not None
    assert hit["entry_id"] == "C2"
    assert hit["name_score"] == pytest.approx(1.0)


def test_typo_still_matches(index: ScreeningIndex) -> None:
    hit = best(index, "Blue Trier Electronics B.V.")
    assert hit is not None
    assert hit["entry_id"] == "C1"
    assert float(hit["score"]) >= 0.85


def test_alias_is_reported_as_the_matched_name(index: ScreeningIndex) -> None:
    hit = best(index, "Triero Elec BV")
    assert hit is not None
    assert hit["matched_name"] == "Triero Elec. BV"


def test_different_distinctive_word_does_not_alert(index: ScreeningIndex) -> None:
    assert best(index, "Blue Coria Electronics B.V.") is None


def test_identifier_alone_matches(index: ScreeningIndex) -> None:
    hit = best(index, "Completely Different Name GmbH", identifiers="XX1;NL 839010395")
    assert hit is not None
    assert hit["entry_id"] == "C1"
    assert hit["identifier_match"] is True
    assert hit["score"] == pytest.approx(0.95)


def test_vessel_matches_by_imo(index: ScreeningIndex) -> None:
    hit = best(index, "MV Renamed Ship", imo="IMO 9074729", entity_type="vessel")
    assert hit is not None
    assert hit["entry_id"] == "V1"
    assert hit["imo_match"] is True
    assert hit["score"] == pytest.approx(0.98)


def test_country_disagreement_costs_a_tenth(index: ScreeningIndex) -> None:
    hit = best(index, "Sergey Ivanov", country="UA")
    assert hit is not None
    assert hit["country_agrees"] is False
    assert hit["score"] == pytest.approx(0.90)


def test_birth_date_disagreement_costs_fifteen_hundredths(index: ScreeningIndex) -> None:
    hit = best(index, "Sergey Ivanov", birth_date="1980-07-01")
    assert hit is not None
    assert hit["birth_date_agrees"] is False
    assert hit["score"] == pytest.approx(0.85)


def test_year_only_birth_date_that_agrees_is_no_penalty(index: ScreeningIndex) -> None:
    hit = best(index, "Sergey Ivanov", birth_date="1970")
    assert hit is not None
    assert hit["birth_date_agrees"] is True
    assert hit["score"] == pytest.approx(1.0)


def test_threshold_is_inclusive(index: ScreeningIndex) -> None:
    row = {"party_key": "p", "name": "Sergey Ivanov", "country": "UA"}
    frame = pl.DataFrame([row])
    assert screen(index, frame, threshold=0.90).height == 1
    assert screen(index, frame, threshold=0.9001).height == 0


def test_short_names_must_match_exactly(index: ScreeningIndex) -> None:
    assert (best(index, "ABC Limited") or {}).get("entry_id") == "C3"
    assert best(index, "ABD Ltd") is None


def test_person_does_not_match_a_company(index: ScreeningIndex) -> None:
    assert best(index, "Ningbo Huaxin Textiles", entity_type="person") is None


def test_explanation_is_a_json_object_of_features(index: ScreeningIndex) -> None:
    hit = best(index, "Sergey Ivanov", country="UA")
    assert hit is not None
    features = json.loads(str(hit["explanation"]))
    assert features["country_mismatch"] == pytest.approx(-0.1)
    assert {"name_jaro_winkler", "name_token_set", "identifier", "imo", "birth_date_mismatch"} <= set(features)


def test_limit_caps_hits_per_party(index: ScreeningIndex) -> None:
    frame = pl.DataFrame({"party_key": ["p"], "name": ["Golden Fenix Trading LLC"], "identifiers": ["NL839010395"]})
    assert screen(index, frame, limit=1).height == 1
    assert screen(index, frame, limit=5).height == 2


def test_missing_name_column_is_a_user_error(index: ScreeningIndex) -> None:
    with pytest.raises(ScreeningError, match="name"):
        screen(index, pl.DataFrame({"party_key": ["p"]}))


@pytest.mark.parametrize("name", ["", "   ", "x" * 10_000, "!!!???", "\x00\x07\u202e", "😀", "Иван 张伟 محمد",
                                  "Sergey Ivanov" + " x" * 4000])
def test_hostile_names_give_a_clear_result(index: ScreeningIndex, name: str) -> None:
    hits = one(index, name)
    assert hits.columns == list(HIT_COLUMNS)
    assert hits["score"].is_between(0, 1).all()


def test_long_names_are_cut_before_matching(index: ScreeningIndex) -> None:
    assert MAX_NAME_CHARS <= 1000
    hit = best(index, "Sergey Ivanov" + " " * 5000 + "tail")
    assert hit is not None
    assert hit["entry_id"] == "P1"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120), st.sampled_from([None, "person", "company", "vessel", "junk"]))
def test_random_text_never_raises_and_scores_stay_in_range(index: ScreeningIndex, name: str,
                                                            kind: str | None) -> None:
    hits = one(index, name, entity_type=kind)
    assert hits["score"].is_between(0, 1).all()
    assert hits["name_score"].is_between(0, 1).all()


def test_false_positive_disposition_suppresses_the_pair(index: ScreeningIndex) -> None:
    hits = pl.concat([one(index, "Sergey Ivanov"), one(index, "John Smith").with_columns(party_key=pl.lit("q"))])
    disp = pl.DataFrame({"party_key": ["p", "q"], "list_name": ["L", "L"], "entry_id": ["P1", "P2"],
                         "disposition": ["false_positive", "true_hit"]})
    out = apply_dispositions(hits, disp)
    assert out["party_key"].to_list() == ["q"]
    assert out["disposition"].to_list() == ["true_hit"]


def test_unknown_disposition_is_a_user_error(index: ScreeningIndex) -> None:
    disp = pl.DataFrame({"party_key": ["p"], "list_name": ["L"], "entry_id": ["P1"], "disposition": ["maybe"]})
    with pytest.raises(ScreeningError, match="maybe"):
        apply_dispositions(one(index, "Sergey Ivanov"), disp)


def test_exact_baseline_matches_casefolded_names_and_aliases() -> None:
    entries = pl.DataFrame({"list_name": ["L"], "entry_id": ["C1"], "name": ["Acme B.V."], "aliases": ["Acme;Ac Me"],
                            "list_version": ["v"]})
    parties = pl.DataFrame({"party_key": ["a", "b", "c"], "name": ["ACME B.V.", "ac me", "Acme BV"]})
    assert exact_screen(entries, parties)["party_key"].to_list() == ["a", "b"]


# --- the simulated world ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    base = SimulationConfig(declarations=30_000, seed=7, defect_rate=0.0, end_date=date.today() - timedelta(days=1))
    key = Scheme.WATCHLISTED_PARTY.value
    # More listed traders than the default world has, so that recall is measured on dozens, not two.
    schemes = {**base.schemes, key: dataclasses.replace(base.schemes[key], importer_share=0.03,  # type: ignore[call-arg]
                                                        exporter_share=0.03)}
    simulate_configured_world(dataclasses.replace(base, schemes=schemes), out, formats=("parquet",))
    return out


@pytest.fixture(scope="module")
def world_screened(world: Path) -> pl.DataFrame:
    decl = pl.read_parquet(world / "declarations.parquet")
    truth = pl.read_parquet(world / "truth" / "parties_truth.parquet")
    mentions = pl.concat([
        decl.select(pl.col("importer_id").alias("party_id"), pl.col("importer_name").alias("name"),
                    pl.col("importer_country").alias("country")),
        decl.select(pl.col("exporter_id").alias("party_id"), pl.col("exporter_name").alias("name"),
                    pl.col("exporter_country").alias("country")),
    ]).filter(pl.col("party_id").is_not_null()).unique()
    mentions = mentions.join(truth.select("party_id", "watchlisted"), on="party_id", how="inner").with_columns(
        party_key=pl.col("party_id") + "|" + pl.col("name"), entity_type=pl.lit("company"))
    hits = screen(build_index(pl.read_parquet(world / "watchlist.parquet")),
                  mentions.select("party_key", "name", "country", "entity_type"))
    return mentions.with_columns(hit=pl.col("party_key").is_in(hits["party_key"].unique().implode()))


def test_world_listed_traders_are_found_under_their_misspelt_names(world_screened: pl.DataFrame) -> None:
    listed = world_screened.filter("watchlisted")
    assert listed["party_id"].n_unique() >= 20
    assert listed["hit"].sum() >= 0.9 * listed.height  # share of distinct (party, spelling) mentions found


def test_world_false_positive_rate_is_low(world_screened: pl.DataFrame) -> None:
    clean = world_screened.filter(~pl.col("watchlisted"))
    # Measured 0.5 % (17 of 3,326 mentions) with recall 1.0 (57 mentions, 30 parties) on this world; the
    # synthetic names share syllables, so a few near-twins alert.
    assert clean["hit"].sum() <= 0.03 * clean.height
