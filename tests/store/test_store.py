"""The store on every back end: schema from migrations, SQLite settings, bulk writes that keep every value."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text

from cintel.store import tables
from cintel.store.bulk import copy_rows, existing
from cintel.store.engine import is_current, make_engine, upgrade


def test_migrations_build_exactly_the_tables_of_the_domain_model(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), tables.metadata)
    assert diff == []
    assert is_current(engine)


def test_upgrading_an_up_to_date_store_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert is_current(engine)


def test_the_embedded_store_uses_write_ahead_logging(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'store.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "nested" / "store.db").exists()


def _batch(engine: Engine) -> int:
    with engine.begin() as conn:
        return conn.execute(tables.batches.insert().values(
            kind="events", source_path="x", source_format="csv", sha256="0" * 64, size_bytes=0, status="running",
            started_at=datetime.now(UTC), rows_read=0, rows_stored=0, rows_duplicate=0, rows_quarantined=0,
            rows_committed=0)).inserted_primary_key[0]


def test_bulk_writes_keep_every_value_and_type(engine: Engine) -> None:
    batch = _batch(engine)
    hostile = 'quote " comma , semicolon ; newline \n tab \t unicode 北京 \\N NULL'
    frame = pl.DataFrame({
        "event_id": ["E1", "E2"],
        "event_type": ["LOAD", "POSN"],
        "event_time": [datetime(2024, 3, 1, 10, 30, 15, 123456, tzinfo=UTC), datetime(2024, 3, 2, tzinfo=UTC)],
        "container_number": ["MSCU1234566", None],
        "vessel_imo": [None, "9074729"],
        "locode": ["NLRTM", None],
        "latitude": [None, 51.95],
        "longitude": [None, -4.125],
        "bl_number": [hostile, ""],
        "voyage": [None, None],
        "batch_id": [batch, batch],
        "source_row": [1, 2],
        "record_hash": ["a" * 32, "b" * 32],
    }).with_columns(pl.col("event_time").dt.convert_time_zone("UTC"))
    table = tables.record_tables["events"]  # type: ignore[index]
    with engine.begin() as conn:
        assert copy_rows(conn, table, frame) == 2
    with engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.event_id)).mappings().all()
    assert rows[0]["bl_number"] == hostile
    assert rows[0]["event_time"].replace(tzinfo=UTC) == datetime(2024, 3, 1, 10, 30, 15, 123456, tzinfo=UTC)
    assert rows[0]["latitude"] is None
    assert rows[0]["vessel_imo"] is None
    assert (rows[1]["latitude"], rows[1]["longitude"]) == (51.95, -4.125)


def test_key_lookup_finds_stored_records(engine: Engine) -> None:
    batch = _batch(engine)
    d = tables.declarations
    header = {c.name: None for c in d.columns} | {
        "declaration_id": "D1", "declaration_date": date(2024, 1, 1), "declaration_type": "IM",
        "office_code": "X", "importer_name": "A", "importer_country": "NL", "exporter_name": "B",
        "exporter_country": "CN", "country_of_dispatch": "CN", "transport_mode": "1", "invoice_currency": "EUR",
        "n_items": 1, "batch_id": batch, "source_row": 1, "record_hash": "h1"}
    with engine.begin() as conn:
        conn.execute(d.insert().values(header))
        found = existing(conn, d, ("declaration_id",), pl.DataFrame({"declaration_id": ["D1", "D2"]}))
    assert found.to_dicts() == [{"declaration_id": "D1", "record_hash": "h1", "batch_id": batch}]


def test_a_loaded_store_has_no_broken_reference(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cintel.ingest.pipeline import ingest_file
    from cintel.store.integrity import integrity_report
    from tests.factories import declaration, write_csv

    ingest_file(engine, write_csv(tmp_path / "d.csv", declaration(1, 3) + declaration(2, 1)))
    assert set(integrity_report(engine).values()) == {0}
    with engine.begin() as conn:
        conn.execute(tables.declarations.delete().where(tables.declarations.c.declaration_id == "DEC-0001"))
    report = integrity_report(engine)
    assert report["items_without_declaration"] == 3
    assert report["containers_without_declaration"] == 2
