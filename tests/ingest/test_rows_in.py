"""Records given as Python dicts go through the same path as files: one batch, validated, standardised,
deduplicated, stored; bad rows quarantined with their reason and reported, never dropped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from cintel.domain.records import DECLARATIONS, INSPECTIONS, RecordKind
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.rows_in import ingest_rows
from cintel.store import tables
from cintel.store.engine import make_engine, upgrade
from tests.factories import declaration, write_jsonl

INSPECTION = {"inspection_id": "WEB-1", "declaration_id": "DEC-0001", "inspection_date": "2025-06-30",
              "channel": "red", "outcome": "undervaluation", "findings": "Invoice below the price paid",
              "additional_duty": "120.50", "seizure": "false", "inspector_id": "ivan"}
inspections = tables.record_tables[RecordKind.INSPECTIONS]


def stored(engine: Engine, table: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def test_a_valid_row_is_stored_as_a_batch_named_for_its_source(engine: Engine) -> None:
    report = ingest_rows(engine, RecordKind.INSPECTIONS, [INSPECTION], source="web:ivan")
    assert (report.status, report.rows_read, report.rows_stored, report.rows_quarantined) == ("completed", 1, 1, 0)
    [batch] = stored(engine, tables.batches)
    assert (batch["source_path"], batch["kind"], batch["status"]) == ("web:ivan", "inspections", "completed")
    [row] = stored(engine, inspections)
    assert row["inspection_id"] == "WEB-1"
    assert row["additional_duty"] == 120.5
    assert row["seizure"] is False or row["seizure"] == 0
    assert (row["batch_id"], row["source_row"]) == (batch["id"], 1)


def test_numbers_booleans_and_lists_are_read_as_the_json_reader_reads_them(engine: Engine) -> None:
    report = ingest_rows(engine, RecordKind.INSPECTIONS,
                         [{**INSPECTION, "additional_duty": 99.5, "seizure": True}], source="api:test")
    assert report.rows_stored == 1
    [row] = stored(engine, inspections)
    assert row["additional_duty"] == 99.5
    assert bool(row["seizure"]) is True


def test_a_bad_row_is_quarantined_with_its_reason_and_reported(engine: Engine) -> None:
    rows = [INSPECTION, {**INSPECTION, "inspection_id": "WEB-2", "additional_duty": "-5"},
            {**INSPECTION, "inspection_id": "WEB-3", "outcome": "smuggled"}]
    report = ingest_rows(engine, RecordKind.INSPECTIONS, rows, source="web:ivan")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 1, 2)
    assert [(p["source_row"], p["field"]) for p in report.problems] == [(2, "additional_duty"), (3, "outcome")]
    assert "negative" in report.problems[0]["message"]
    quarantined = stored(engine, tables.quarantine)
    assert {q["record_key"] for q in quarantined} == {"WEB-2", "WEB-3"}
    assert all(q["status"] == "open" and orjson.loads(q["raw"])["inspection_id"] in ("WEB-2", "WEB-3")
               for q in quarantined)


def test_unknown_fields_and_rows_that_are_not_objects_are_quarantined(engine: Engine) -> None:
    report = ingest_rows(engine, RecordKind.INSPECTIONS, [{**INSPECTION, "colour": "blue"}, "not a row", 42],
                         source="web:ivan")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 0, 3)
    assert [p["code"] for p in report.problems] == ["UNKNOWN_FIELD", "MALFORMED_ROW", "MALFORMED_ROW"]


def test_the_same_record_again_is_a_duplicate_and_a_changed_one_a_conflict(engine: Engine) -> None:
    ingest_rows(engine, RecordKind.INSPECTIONS, [INSPECTION], source="web:ivan")
    again = ingest_rows(engine, RecordKind.INSPECTIONS, [INSPECTION], source="web:ivan")
    assert (again.rows_stored, again.rows_duplicate, again.rows_quarantined) == (0, 1, 0)
    changed = ingest_rows(engine, RecordKind.INSPECTIONS, [{**INSPECTION, "outcome": "no_finding"}], source="web:x")
    assert changed.rows_quarantined == 1
    assert changed.problems[0]["code"] == "CONFLICTS_WITH_STORED"


def test_declarations_are_stored_whole_or_quarantined_whole(engine: Engine) -> None:
    good = declaration(1, items=2)
    bad = declaration(2, items=2)
    bad[1]["hs_code"] = "not a code"
    report = ingest_rows(engine, RecordKind.DECLARATIONS, [*good, *bad], source="web:ann")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (4, 2, 2)
    assert [d["declaration_id"] for d in stored(engine, tables.declarations)] == ["DEC-0001"]
    assert len(stored(engine, tables.declaration_items)) == 2


def test_rows_store_the_same_records_as_the_same_rows_from_a_file(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(3, items=3)
    ingest_rows(engine, RecordKind.DECLARATIONS, rows, source="web:ann")
    # The same rows as a JSON Lines file have the same content hash: the file is known already...
    path = write_jsonl(tmp_path / "same.jsonl", rows)
    assert ingest_file(engine, path).status == "skipped"
    # ...and checked again, every record is found identical to the stored one.
    from_file = ingest_file(engine, path, force=True)
    assert (from_file.rows_stored, from_file.rows_duplicate) == (0, 3)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite store for every generated example (a fresh one each would spend the time on migrations);
    each example is checked on its own batch."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('rows_in') / 'store.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


FIELDS = st.sampled_from([f.name for f in INSPECTIONS.fields] + ["colour", ""])
TEXTS = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "2025-06-30", "red", "no_finding", "1e999",
                                                         "-1", "NaN", "true", "<script>alert(1)</script>"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(FIELDS, TEXTS, max_size=12), min_size=1, max_size=4),
       st.sampled_from([RecordKind.INSPECTIONS, RecordKind.DECLARATIONS]))
def test_any_dicts_of_strings_are_stored_or_quarantined_and_accounted_for(shared_store: Engine,
                                                                          rows: list[dict[str, str]],
                                                                          kind: RecordKind) -> None:
    if kind is RecordKind.DECLARATIONS:  # the same texts under the declaration's field names
        rename = dict(zip([f.name for f in INSPECTIONS.fields], [f.name for f in DECLARATIONS.fields], strict=False))
        rows = [{rename.get(k, k): v for k, v in r.items()} for r in rows]
    report = ingest_rows(shared_store, kind, rows, source="web:hypothesis")
    assert report.status == "completed"
    assert report.rows_read == len(rows)
    assert report.rows_read == report.rows_stored + report.rows_duplicate + report.rows_quarantined
    q = tables.quarantine
    with shared_store.connect() as conn:
        quarantined = conn.execute(select(func.count()).select_from(q).where(q.c.batch_id == report.batch_id)
                                   ).scalar_one()
    assert quarantined == report.rows_quarantined == len({p["source_row"] for p in report.problems})
