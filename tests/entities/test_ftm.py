"""FollowTheMoney / OpenSanctions exports: only sanction targets become entries, with their sanctions;
everything else is context or counted; bad lines become problems; a hostile line never raises."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cintel.domain.records import WATCHLIST
from cintel.entities.ftm import FtmProblem, Operation, apply_operations, parse_line, read_export
from cintel.entities.ftm_targets import TARGET_TOPICS, derive, is_target, read_ftm

Read = tuple[pl.DataFrame, list[FtmProblem]]
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "ftm"

PERSON = {"id": "NK-1", "schema": "Person", "first_seen": "2021-05-04T10:00:00",
          "properties": {"name": ["Sergey Ivanov", "Сергей Иванов"], "alias": ["S. Ivanov"],
                         "birthDate": ["1970-03-14"], "nationality": ["ru"], "topics": ["sanction"]}}
COMPANY = {"id": "NK-2", "schema": "Company", "target": True,
           "properties": {"name": ["Romashka LLC"], "weakAlias": ["Romashka"], "previousName": ["Ромашка ООО"],
                          "jurisdiction": ["ru"], "registrationNumber": ["1027700132195"], "innCode": ["7707083893"],
                          "createdAt": ["2019-02-01"], "program": ["EU 833/2014"]}}
VESSEL = {"id": "NK-3", "schema": "Vessel", "target": True,
          "properties": {"name": ["MERIDIAN STAR"], "imoNumber": ["IMO 9074729"], "flag": ["pa"]}}
SANCTION = {"id": "NK-4", "schema": "Sanction", "properties": {"entity": ["NK-1"], "program": ["EU"],
                                                                "authority": ["Council"], "startDate": ["2022-02-28"]}}
NON_TARGET = {"id": "NK-9", "schema": "Company", "properties": {"name": ["Honest Trading BV"], "country": ["nl"]}}
LINKED = {"id": "NK-10", "schema": "Person", "properties": {"name": ["Olga Linked"], "topics": ["sanction.linked"]}}


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "export.ftm.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def result(tmp_path: Path) -> Read:
    lines = [json.dumps(e, ensure_ascii=False) for e in (PERSON, COMPANY, VESSEL, SANCTION, NON_TARGET, LINKED)]
    lines += ["{not json", json.dumps({"schema": "Person", "properties": {"name": ["No Id"]}}),
              json.dumps({"id": "NK-5", "schema": "Company", "target": True, "properties": {"country": ["nl"]}}),
              json.dumps({"id": "NK-6", "schema": "Person", "target": True, "properties": {"name": ["Z" * 10_000]}}),
              json.dumps({"id": "NK-7", "schema": "Person", "target": True,
                          "properties": {"name": ["张伟"], "birthDate": ["1980"]}}),
              "", json.dumps({"id": "NK-8", "schema": "Martian", "properties": {"name": ["Zork"]}})]
    return read_ftm(write(tmp_path, lines), list_name="OS", list_version="20240101")


def row(frame: pl.DataFrame, entry_id: str) -> dict[str, str | None]:
    return frame.filter(pl.col("entry_id") == entry_id).row(0, named=True)


def test_columns_are_exactly_watchlist_fields_as_strings(result: Read) -> None:
    frame, _ = result
    assert frame.columns == [f.name for f in WATCHLIST.fields]
    assert all(dtype == pl.String for dtype in frame.dtypes)


def test_only_targets_become_entries(result: Read) -> None:
    assert set(result[0]["entry_id"].to_list()) == {"NK-1", "NK-2", "NK-3", "NK-6", "NK-7"}


def test_person_keeps_names_birth_date_nationality_and_its_sanction(result: Read) -> None:
    person = row(result[0], "NK-1")
    assert person["name"] == "Sergey Ivanov"
    assert person["entity_type"] == "person"
    assert person["aliases"] == "Сергей Иванов;S. Ivanov"
    assert person["birth_date"] == "1970-03-14"
    assert person["country"] == "RU"
    assert (person["program"], person["authority"], person["listed_on"]) == ("EU", "Council", "2022-02-28")
    assert person["topics"] == "sanction"
    assert person["list_version"] == "20240101"


def test_company_keeps_identifiers_and_aliases(result: Read) -> None:
    company = row(result[0], "NK-2")
    assert company["country"] == "RU"
    assert company["identifiers"] == "1027700132195;7707083893"
    assert company["aliases"] == "Romashka;Ромашка ООО"
    assert company["listed_on"] == "2019-02-01"
    assert company["program"] == "EU 833/2014"


def test_vessel_keeps_a_checked_imo_and_flag(result: Read) -> None:
    vessel = row(result[0], "NK-3")
    assert (vessel["entity_type"], vessel["imo"], vessel["country"]) == ("vessel", "9074729", "PA")


def test_bad_lines_become_problems_with_line_numbers(result: Read) -> None:
    problems = {(p.line, p.code) for p in result[1]}
    assert problems == {(7, "bad_json"), (8, "missing_id"), (9, "missing_name"), (13, "unknown_schema")}


def test_partial_birth_date_is_left_empty_and_long_names_cut(result: Read) -> None:
    assert row(result[0], "NK-7")["birth_date"] is None
    assert len(row(result[0], "NK-6")["name"] or "") == WATCHLIST.field("name").max_length


@pytest.mark.parametrize(("entity", "sanctioned", "expected"), [
    ({"schema": "Company", "target": False, "properties": {"topics": ["sanction"]}}, set(), False),
    ({"schema": "Company", "target": True, "properties": {}}, set(), True),
    ({"schema": "Person", "properties": {"topics": ["wanted"]}}, set(), True),
    ({"schema": "Person", "properties": {"topics": ["debarment"]}}, set(), True),
    ({"schema": "Person", "properties": {"topics": ["sanction.linked", "role.pep", "crime", "poi"]}}, set(), False),
    ({"id": "x", "schema": "Company", "properties": {}}, {"x"}, True),
    ({"schema": "Address", "target": True, "properties": {}}, set(), False),
])
def test_which_entities_are_targets(entity: dict[str, object], sanctioned: set[str], expected: bool) -> None:
    assert is_target(entity, sanctioned) is expected
    assert {"sanction", "debarment", "wanted"} == TARGET_TOPICS


def test_non_targets_are_context_or_skipped(tmp_path: Path) -> None:
    link = {"id": "L", "schema": "Family", "properties": {"person": ["NK-1"], "relative": ["NK-10"]}}
    export = read_export(write(tmp_path, [json.dumps(e) for e in (PERSON, SANCTION, NON_TARGET, LINKED, link)]))
    derived = derive(export.entities, export.line_of, list_name="L", list_version=None)
    assert (derived.non_targets_context, derived.non_targets_skipped) == (1, 1)
    assert derived.schemata == {"Sanction": {"context": 1, "skipped": 0}, "Family": {"context": 1, "skipped": 0}}
    assert {(c.entry_id, c.entity_id) for c in derived.context} == {("NK-1", "NK-4"), ("NK-1", "L"), ("NK-1", "NK-10")}


def test_delta_lines_are_operations_and_apply_to_a_state() -> None:
    add = parse_line(json.dumps({"op": "ADD", "entity": COMPANY}), 1)
    gone = parse_line(json.dumps({"op": "DEL", "entity": {"id": "NK-1"}}), 2)
    unknown = parse_line(json.dumps({"op": "DEL", "entity": {"id": "nobody"}}), 3)
    assert isinstance(add, Operation)
    assert isinstance(gone, Operation)
    assert isinstance(unknown, Operation)
    state, missing = apply_operations({"NK-1": PERSON}, [add, gone, unknown])
    assert set(state) == {"NK-2"}
    assert [m.entity_id for m in missing] == ["nobody"]
    assert isinstance(parse_line(json.dumps({"op": "ZAP", "entity": COMPANY}), 4), FtmProblem)


@pytest.mark.skipif(not (REAL / "yente_parteispenden_entities.ftm.json").exists(), reason=f"no samples in {REAL}")
def test_a_non_sanctions_dataset_has_no_targets() -> None:
    frame, problems = read_ftm(REAL / "yente_parteispenden_entities.ftm.json", list_name="x", list_version=None)
    assert frame.height == 0
    assert problems == []


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda c: st.lists(c, max_size=4) | st.dictionaries(
                                  st.sampled_from(["id", "schema", "properties", "name", "op", "entity", "target",
                                                   "x"]), c, max_size=5), max_leaves=12).map(json.dumps)))
def test_arbitrary_lines_never_raise(line: str | bytes) -> None:
    parsed = parse_line(line, 1)
    if isinstance(parsed, dict):
        derive({parsed["id"]: parsed}, {parsed["id"]: 1}, list_name="L", list_version=None)
    assert not isinstance(parsed, FtmProblem) or parsed.line == 1
