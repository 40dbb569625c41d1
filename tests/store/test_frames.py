"""Reading the store into frames: standardised columns only, date bounds, same types on every back end."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from cintel.domain.records import INSPECTIONS, TARIFF
from cintel.ingest.pipeline import ingest_file
from cintel.store.frames import frame_schema, item_schema, load_inspections, load_items, load_tariff
from tests.factories import declaration, write_csv


def _fill(engine: Engine, tmp_path: Path) -> None:
    rows = (declaration(1, 2, declaration_date="2024-03-01") + declaration(2, 1, declaration_date="2024-03-02")
            + declaration(3, 3, declaration_date="2024-03-05", importer_name="  Acme   Trading B.V. "))
    ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    inspections = tmp_path / "i.csv"
    with inspections.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["inspection_id", "declaration_id", "inspection_date", "channel", "outcome", "seizure"])
        writer.writerow(["I1", "DEC-0001", "2024-03-02", "red", "undervaluation", "false"])
        writer.writerow(["I2", "DEC-0003", "2024-03-06", "yellow", "no_finding", ""])
    ingest_file(engine, inspections)
    tariff = tmp_path / "t.csv"
    tariff.write_text("measure_id,hs_prefix,measure_type,duty_rate,origin,valid_from,valid_to\n"
                      "TC-85,85,third_country,0.035,,,\nAD-8517-CN,8517,anti_dumping,0.2,CN,2024-01-01,\n")
    ingest_file(engine, tariff)


def test_items_carry_header_and_item_fields_without_raw_or_provenance(engine: Engine, tmp_path: Path) -> None:
    _fill(engine, tmp_path)
    items = load_items(engine)
    assert items.schema == pl.Schema(item_schema())
    assert items.height == 6
    assert not [c for c in items.columns if c.endswith("_raw") or c in ("batch_id", "source_row", "record_hash")]
    assert items.select("declaration_id", "item_no").rows()[:3] == [("DEC-0001", 1), ("DEC-0001", 2),
                                                                    ("DEC-0002", 1)]
    assert items.filter(pl.col("declaration_id") == "DEC-0003")["importer_name"][0] == "Acme Trading B.V."
    assert items["customs_value"][0] == 9200.0


def test_item_bounds_are_start_inclusive_and_end_exclusive(engine: Engine, tmp_path: Path) -> None:
    _fill(engine, tmp_path)
    assert load_items(engine, None, date(2024, 3, 2))["declaration_id"].unique().to_list() == ["DEC-0001"]
    assert load_items(engine, date(2024, 3, 2), None)["declaration_id"].unique().sort().to_list() == [
        "DEC-0002", "DEC-0003"]
    empty = load_items(engine, date(2030, 1, 1))
    assert empty.height == 0
    assert empty.schema == pl.Schema(item_schema())


def test_inspections_before_a_day_and_the_tariff_come_typed(engine: Engine, tmp_path: Path) -> None:
    _fill(engine, tmp_path)
    ins = load_inspections(engine, until=date(2024, 3, 6))
    assert ins.schema == pl.Schema(frame_schema(INSPECTIONS.fields))
    assert ins["inspection_id"].to_list() == ["I1"]
    assert ins["seizure"].to_list() == [False]
    assert load_inspections(engine).height == 2
    tariff = load_tariff(engine)
    assert tariff.schema == pl.Schema(frame_schema(TARIFF.fields))
    assert tariff.sort("measure_id")["valid_from"].to_list() == [date(2024, 1, 1), None]
