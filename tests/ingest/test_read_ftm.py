"""FollowTheMoney watch lists through the ingest pipeline: targets stored with their sanctions, bad lines
quarantined, non-targets never listed, delta files sent to `cintel watchlist import`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cintel.domain.records import RecordKind
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.problems import IngestError
from cintel.ingest.readers import ReadOptions
from cintel.store import tables

ENTITIES = [
    {"id": "ofac-1", "schema": "Person", "target": True,
     "properties": {"name": ["Ivan Petrov"], "birthDate": ["1971-03-02"], "nationality": ["ru"],
                    "alias": ["Ivan Petroff"]}},
    {"id": "ofac-2", "schema": "Company", "target": True, "properties": {"name": ["Black Sea Shipping LLC"],
                                                         "registrationNumber": ["1027700132195"],
                                                         "jurisdiction": ["ru"]}},
    {"id": "ofac-3", "schema": "Vessel", "properties": {"name": ["SEA BREEZE"], "imoNumber": ["9074729"],
                                                        "topics": ["sanction"]}},
    {"id": "assoc", "schema": "Company", "target": False, "properties": {"name": ["Associate Ltd"]}},
    {"id": "ofac-4", "schema": "Sanction", "properties": {"entity": ["ofac-1"], "program": ["RUSSIA-EO14024"]}},
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_ftm_export_is_stored_and_bad_lines_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    lines = [json.dumps(e) for e in ENTITIES] + ["{not json", json.dumps({"id": "x", "schema": "Company",
                                                                          "target": True, "properties": {}})]
    path = _write(tmp_path / "sanctions.ftm.json", lines)
    report = ingest_file(engine, path, file_format="ftm",
                         options=ReadOptions(list_name="OFAC-SDN", list_version="2026-11-20"))
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (5, 3, 2)  # entries and bad lines
    table = tables.record_tables[RecordKind.WATCHLIST]
    with engine.connect() as conn:
        rows = {r.entry_id: r for r in conn.execute(select(table)).all()}
    assert rows["ofac-1"].entity_type == "person"
    assert rows["ofac-1"].country == "RU"
    assert rows["ofac-3"].imo == "9074729"
    assert rows["ofac-2"].list_version == "2026-11-20"
    assert rows["ofac-1"].program == "RUSSIA-EO14024"  # from its Sanction entity
    assert "assoc" not in rows


def test_an_ftm_export_needs_the_list_name(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path / "list.json", [json.dumps(ENTITIES[0])])
    with pytest.raises(IngestError, match="list's name"):
        ingest_file(engine, path, file_format="ftm")


def test_a_delta_file_is_sent_to_the_watchlist_import(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path / "delta.json", [json.dumps({"op": "ADD", "entity": ENTITIES[0]})])
    with pytest.raises(IngestError, match="watchlist import"):
        ingest_file(engine, path, file_format="ftm", options=ReadOptions(list_name="OFAC-SDN"))
