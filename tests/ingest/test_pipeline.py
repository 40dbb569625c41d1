"""Loading files as batches: accounting, whole declarations, idempotency, interruption, on every back end."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from cintel.domain.access import local_operator
from cintel.ingest import loader, pipeline
from cintel.ingest.pipeline import IngestInterrupted, ingest_file
from cintel.ingest.quarantine import Filter, export_entries, replay_file
from cintel.ingest.readers import ReadOptions
from cintel.store import tables
from cintel.store.stats import store_stats
from tests.factories import declaration, item, write_csv, write_jsonl


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def quarantine_codes(engine: Engine) -> dict[int, str]:
    q = tables.quarantine
    with engine.connect() as conn:
        rows = conn.execute(select(q.c.source_row, q.c.code).where(q.c.status == "open")).all()
    return {row: code for row, code in rows}


def accounted(report: pipeline.BatchReport) -> bool:
    return report.rows_read == report.rows_stored + report.rows_duplicate + report.rows_quarantined


def test_rows_read_equal_rows_stored_plus_quarantined(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 2) + declaration(2, 3) + declaration(3, 1, importer_country="XX")
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (6, 5, 1)
    assert accounted(report)
    assert count(engine, tables.declarations) == 2
    assert count(engine, tables.declaration_items) == 5
    assert count(engine, tables.declaration_containers) == 4


def test_a_bad_item_quarantines_its_whole_declaration(engine: Engine, tmp_path: Path) -> None:
    rows = [*declaration(1, 3)]
    rows[1]["hs_code"] = "12"
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    assert report.rows_quarantined == 3
    assert count(engine, tables.declarations) == 0
    assert count(engine, tables.declaration_items) == 0
    assert quarantine_codes(engine) == {1: "DECLARATION_REJECTED", 2: "INVALID_HS_CODE", 3: "DECLARATION_REJECTED"}


def test_stored_records_carry_their_provenance(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2))
    report = ingest_file(engine, path)
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    d, i = tables.declarations, tables.declaration_items
    with engine.connect() as conn:
        header = conn.execute(select(d.c.batch_id, d.c.source_row, d.c.record_hash, d.c.n_items)).one()
        items = conn.execute(select(i.c.item_no, i.c.source_row).order_by(i.c.item_no)).all()
    assert header.batch_id == report.batch_id
    assert header.source_row == 1
    assert header.n_items == 2
    assert len(header.record_hash) == 32
    assert [tuple(r) for r in items] == [(1, 1), (2, 2)]


def test_ingesting_the_same_file_again_is_skipped(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2))
    first = ingest_file(engine, path)
    again = ingest_file(engine, path)
    assert again.status == "skipped"
    assert again.batch_id == first.batch_id
    assert count(engine, tables.batches) == 1


def test_forcing_a_re_ingest_stores_nothing_twice(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2) + declaration(2, 1))
    ingest_file(engine, path)
    again = ingest_file(engine, path, force=True)
    assert (again.rows_stored, again.rows_duplicate) == (0, 3)
    assert count(engine, tables.declaration_items) == 3


def test_the_same_records_in_another_format_are_recognised(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 2) + declaration(2, 1)
    ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    pl.DataFrame(rows).with_columns(pl.col("item_no").cast(pl.Int64), pl.col("net_mass_kg").cast(pl.Float64)) \
        .write_parquet(tmp_path / "d.parquet")
    report = ingest_file(engine, tmp_path / "d.parquet")
    assert (report.rows_stored, report.rows_duplicate, report.rows_quarantined) == (0, 3, 0)
    report = ingest_file(engine, write_jsonl(tmp_path / "d.jsonl", rows))
    assert report.rows_duplicate == 3


def test_a_changed_record_with_a_stored_key_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, write_csv(tmp_path / "a.csv", declaration(1, 1)))
    report = ingest_file(engine, write_csv(tmp_path / "b.csv", declaration(1, 1, customs_value="1")))
    assert report.rows_quarantined == 1
    assert quarantine_codes(engine) == {1: "CONFLICTS_WITH_STORED"}


def test_duplicate_keys_in_a_file_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    rows = [*declaration(1, 2), item(declaration_id="DEC-0001", item_no="2")]
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    assert report.rows_quarantined == 3
    assert set(quarantine_codes(engine).values()) == {"DECLARATION_REJECTED", "DUPLICATE_KEY"}


def test_items_disagreeing_on_a_header_field_are_quarantined(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 2)
    rows[1]["importer_name"] = "Someone Else"
    ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    assert set(quarantine_codes(engine).values()) == {"INCONSISTENT_HEADER"}
    q = tables.quarantine
    with engine.connect() as conn:
        assert "importer_name" in conn.execute(select(q.c.message)).scalars().first()


def test_a_declaration_spanning_chunks_is_stored_whole(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 2) + declaration(2, 4) + declaration(3, 1)
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", rows), options=ReadOptions(chunk_rows=3))
    assert (report.rows_read, report.rows_stored) == (7, 7)
    with engine.connect() as conn:
        n_items = conn.execute(select(tables.declarations.c.n_items).order_by("declaration_id")).scalars().all()
    assert n_items == [2, 4, 1]


def test_a_bad_item_in_the_next_chunk_still_rejects_the_whole_declaration(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 2) + declaration(2, 4)
    rows[5]["importer_country"] = "XX"
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", rows), options=ReadOptions(chunk_rows=3))
    assert (report.rows_stored, report.rows_quarantined) == (2, 4)
    assert count(engine, tables.declaration_items) == 2


def test_items_of_a_declaration_scattered_over_the_file_are_flagged(engine: Engine, tmp_path: Path) -> None:
    rows = [*declaration(1, 1), *declaration(2, 1), item(declaration_id="DEC-0001", item_no="2")]
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", rows), options=ReadOptions(chunk_rows=2))
    assert accounted(report)
    assert quarantine_codes(engine) == {3: "SPLIT_DECLARATION"}


def test_other_record_kinds_are_detected_and_stored(engine: Engine, tmp_path: Path) -> None:
    parties = [{"party_id": "P1", "name": "Acme", "country": "NL", "phone": "+31 10 1234567"},
               {"party_id": "P2", "name": "Bad", "country": "ZZ"}]
    report = ingest_file(engine, write_csv(tmp_path / "parties.csv", parties))
    assert (report.kind, report.rows_stored, report.rows_quarantined) == ("parties", 1, 1)
    with engine.connect() as conn:
        assert conn.execute(select(tables.record_tables[report.kind].c.phone)).scalar_one() == "+31101234567"


def big_file(tmp_path: Path, declarations: int = 30) -> Path:
    rows = [r for n in range(1, declarations + 1) for r in declaration(n, 1 + n % 3)]
    return write_csv(tmp_path / "big.csv", rows)


def test_an_interrupted_ingest_keeps_whole_chunks_and_resumes(engine: Engine, tmp_path: Path) -> None:
    path = big_file(tmp_path)
    calls = {"n": 0}

    def stop_after_two_chunks(_: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(IngestInterrupted, match="resume"):
        ingest_file(engine, path, options=ReadOptions(chunk_rows=10), progress=stop_after_two_chunks)
    with engine.connect() as conn:
        batch = conn.execute(select(tables.batches)).mappings().one()
    assert batch["status"] == "interrupted"
    assert batch["rows_read"] == count(engine, tables.declaration_items) > 0
    resumed = ingest_file(engine, path, options=ReadOptions(chunk_rows=10))
    assert resumed.status == "completed"
    assert resumed.batch_id == batch["id"]
    assert resumed.resumed_from_row == batch["rows_committed"]
    assert (resumed.rows_read, resumed.rows_stored, resumed.rows_duplicate) == (60, 60, 0)
    assert count(engine, tables.declarations) == 30


def test_a_crash_mid_chunk_rolls_the_chunk_back(engine: Engine, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = big_file(tmp_path)
    real = loader.copy_rows
    calls = {"n": 0}

    def failing_copy(conn, table, frame):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:  # second chunk, after its headers were written
            raise OSError("disk full")
        return real(conn, table, frame)

    monkeypatch.setattr(loader, "copy_rows", failing_copy)
    with pytest.raises(OSError, match="disk full"):
        ingest_file(engine, path, options=ReadOptions(chunk_rows=10))
    with engine.connect() as conn:
        committed, status = conn.execute(select(tables.batches.c.rows_committed, tables.batches.c.status)).one()
    assert status == "failed"
    with engine.connect() as conn:
        headers = conn.execute(select(func.sum(tables.declarations.c.n_items))).scalar_one()
    assert headers == count(engine, tables.declaration_items) == committed
    monkeypatch.setattr(loader, "copy_rows", real)
    resumed = ingest_file(engine, path, options=ReadOptions(chunk_rows=10))
    assert resumed.rows_read == 60
    assert count(engine, tables.declaration_items) == 60


def test_quarantined_rows_can_be_exported_fixed_and_replayed(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 2) + declaration(2, 2, importer_country="XX") + declaration(3, 1, hs_code="1")
    ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    ctx = local_operator("test")
    export = tmp_path / "fix.csv"
    assert export_entries(engine, ctx, Filter(), export) == 3
    with export.open(encoding="utf-8") as fh:
        fixed = list(csv.DictReader(fh))
    for row in fixed:
        if row["importer_country"] == "XX":
            row["importer_country"] = "NL"
    write_csv(export, fixed, columns=list(fixed[0]))
    report = replay_file(engine, ctx, export)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 2, 1)
    stats = store_stats(engine)
    assert stats["declarations"] == 2
    assert stats["quarantine_resolved"] == 2
    assert stats["quarantine_by_code"] == {"INVALID_HS_CODE": 1}


def test_replay_without_a_fix_quarantines_the_rows_again(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, importer_country="XX")))
    from cintel.ingest.quarantine import replay_entries

    report = replay_entries(engine, local_operator("test"), Filter())
    assert (report.rows_stored, report.rows_quarantined) == (0, 1)
    assert store_stats(engine)["quarantined"] == 1


def test_items_of_one_declaration_may_travel_in_different_containers(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 2)
    rows[0]["container_numbers"], rows[1]["container_numbers"] = "MSCU1234566;TGHU7654320", "TGHU7654320"
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", rows))
    assert (report.rows_stored, report.rows_quarantined) == (2, 0)
    i, c = tables.declaration_items, tables.declaration_containers
    with engine.connect() as conn:
        per_item = conn.execute(select(i.c.item_no, i.c.container_numbers).order_by(i.c.item_no)).all()
        union = conn.execute(select(c.c.container_number).order_by(c.c.container_number)).scalars().all()
    assert [tuple(r) for r in per_item] == [(1, "MSCU1234566;TGHU7654320"), (2, "TGHU7654320")]
    assert union == ["MSCU1234566", "TGHU7654320"]


def test_the_customs_fields_are_stored_standardised(engine: Engine, tmp_path: Path) -> None:
    extra = {"procedure_code": "40", "previous_procedure": "00", "preference_code": "300",
             "country_of_destination": "nl", "duties": "A00 : 9200 : 0.14 : 1288 ; B00:10488:0.21:2202.48",
             "item_documents": "N954:EUR1-77;380:INV-1", "documents": "705:MSCUBL1", "packages": "12",
             "package_kind": "CT", "package_marks": "ACME  1-12", "total_packages": "12",
             "consignee_name": "Acme Logistics B.V.", "consignee_country": "NL", "seller_name": "Bright HK Ltd",
             "seller_country": "HK", "buyer_name": "Acme Trading B.V.", "representative_id": "NLREP1"}
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, **extra)))
    assert report.rows_stored == 1
    d, i = tables.declarations, tables.declaration_items
    with engine.connect() as conn:
        header = conn.execute(select(d)).mappings().one()
        stored = conn.execute(select(i)).mappings().one()
    assert stored["duties"] == "A00:9200:0.14:1288;B00:10488:0.21:2202.48"
    assert stored["duties_raw"] == extra["duties"]
    assert (stored["packages"], stored["package_marks"], stored["preference_code"]) == (12, "ACME 1-12", "300")
    assert (header["country_of_destination"], header["seller_country"], header["total_packages"]) == ("NL", "HK", 12)


def test_a_declaration_naming_no_importer_is_quarantined_with_the_reason(engine: Engine, tmp_path: Path) -> None:
    report = ingest_file(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, importer_id="", importer_name="")))
    assert report.rows_quarantined == 1
    assert quarantine_codes(engine) == {1: "MISSING_PARTY"}
