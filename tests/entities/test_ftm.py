"""FollowTheMoney / OpenSanctions JSON-lines exports become WATCHLIST rows; bad lines become problems."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cintel.domain.records import WATCHLIST
from cintel.entities.ftm import FtmProblem, parse_line, read_ftm

Read = tuple[pl.DataFrame, list[FtmProblem]]

PERSON = {"id": "NK-1", "schema": "Person", "first_seen": "2021-05-04T10:00:00",
          "properties": {"name": ["Sergey Ivanov", "Сергей Иванов"], "alias": ["S. Ivanov"],
                         "birthDate": ["1970-03-14"], "nationality": ["ru"], "topics": ["sanction"]}}
COMPANY = {"id": "NK-2", "schema": "Company",
           "properties": {"name": ["Romashka LLC"], "weakAlias": ["Romashka"], "previousName": ["Ромашка ООО"],
                          "jurisdiction": ["ru"], "registrationNumber": ["1027700132195"], "innCode": ["7707083893"],
                          "createdAt": ["2019-02-01"], "program": ["EU 833/2014"]}}
VESSEL = {"id": "NK-3", "schema": "Vessel",
          "properties": {"name": ["MERIDIAN STAR"], "imoNumber": ["IMO 9074729"], "flag": ["pa"]}}
SANCTION = {"id": "NK-4", "schema": "Sanction", "properties": {"entity": ["NK-1"], "program": ["EU"]}}


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "export.ftm.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def result(tmp_path: Path) -> Read:
    lines = [json.dumps(e, ensure_ascii=False) for e in (PERSON, COMPANY, VESSEL, SANCTION)]
    lines += ["{not json", json.dumps({"schema": "Person", "properties": {"name": ["No Id"]}}),
              json.dumps({"id": "NK-5", "schema": "Company", "properties": {"country": ["nl"]}}),
              json.dumps({"id": "NK-6", "schema": "Person", "properties": {"name": ["Z" * 10_000]}}),
              json.dumps({"id": "NK-7", "schema": "Person", "properties": {"name": ["张伟"], "birthDate": ["1980"]}}),
              "", json.dumps({"id": "NK-8", "schema": "Martian", "properties": {"name": ["Zork"]}})]
    return read_ftm(write(tmp_path, lines), list_name="OS", list_version="20240101")


def row(frame: pl.DataFrame, entry_id: str) -> dict[str, str | None]:
    return frame.filter(pl.col("entry_id") == entry_id).row(0, named=True)


def test_columns_are_exactly_watchlist_fields_as_strings(result: Read) -> None:
    frame, _ = result
    assert frame.columns == [f.name for f in WATCHLIST.fields]
    assert all(dtype == pl.String for dtype in frame.dtypes)


def test_person_keeps_names_birth_date_and_nationality(result: Read) -> None:
    person = row(result[0], "NK-1")
    assert person["name"] == "Sergey Ivanov"
    assert person["entity_type"] == "person"
    assert person["aliases"] == "Сергей Иванов;S. Ivanov"
    assert person["birth_date"] == "1970-03-14"
    assert person["country"] == "RU"
    assert person["listed_on"] == "2021-05-04"
    assert person["program"] == "sanction"
    assert person["list_name"] == "OS"
    assert person["list_version"] == "20240101"


def test_company_keeps_identifiers_and_aliases(result: Read) -> None:
    company = row(result[0], "NK-2")
    assert company["entity_type"] == "company"
    assert company["country"] == "RU"
    assert company["identifiers"] == "1027700132195;7707083893"
    assert company["aliases"] == "Romashka;Ромашка ООО"
    assert company["listed_on"] == "2019-02-01"
    assert company["program"] == "EU 833/2014"


def test_vessel_keeps_imo_and_flag(result: Read) -> None:
    vessel = row(result[0], "NK-3")
    assert vessel["entity_type"] == "vessel"
    assert vessel["imo"] == "IMO 9074729"
    assert vessel["country"] == "PA"


def test_non_matchable_schemas_are_skipped_silently(result: Read) -> None:
    frame, problems = result
    assert "NK-4" not in frame["entry_id"].to_list()
    assert all(p.code != "sanction" for p in problems)


def test_bad_lines_become_problems_with_line_numbers(result: Read) -> None:
    problems = {(p.line, p.code) for p in result[1]}
    assert problems == {(5, "bad_json"), (6, "missing_id"), (7, "missing_name"), (11, "unknown_schema")}


def test_partial_birth_date_is_left_empty(result: Read) -> None:
    person = row(result[0], "NK-7")
    assert person["name"] == "张伟"
    assert person["birth_date"] is None


def test_very_long_name_is_kept_within_the_field_limit(result: Read) -> None:
    assert len(row(result[0], "NK-6")["name"] or "") == 1024


def test_empty_file_gives_an_empty_frame(tmp_path: Path) -> None:
    frame, problems = read_ftm(write(tmp_path, []), list_name="OS", list_version=None)
    assert frame.height == 0
    assert frame.columns == [f.name for f in WATCHLIST.fields]
    assert problems == []


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(
                                  st.sampled_from(["id", "schema", "properties", "name", "first_seen", "x"]), c,
                                  max_size=5), max_leaves=12).map(json.dumps)))
def test_arbitrary_lines_never_raise(line: str | bytes) -> None:
    parsed, problem, _ = parse_line(line, 1, list_name="L", list_version=None)
    assert parsed is None or set(parsed) == {f.name for f in WATCHLIST.fields}
    assert problem is None or problem.line == 1
