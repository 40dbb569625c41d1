"""The `cintel` command as scripts use it (in this process, through its entry point: tests/cli_runner.py): JSON
output for scripts, one line and an exit code on errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from cintel.domain.access import local_operator
from cintel.domain.records import FORMATS, RecordKind
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.quarantine import Filter, export_entries
from cintel.store import tables
from tests.cli_runner import Cli, assert_one_line_error
from tests.conftest import migrated_sqlite
from tests.factories import declaration, write_csv

__all__ = ["Cli", "assert_one_line_error"]  # imported from here by the other command line tests


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, migrated_sqlite())


def one_bad_declaration(folder: Path) -> Path:
    """d.csv: two good declarations (3 items) and one whose importer country is wrong."""
    return write_csv(folder / "d.csv", declaration(1, 2) + declaration(2, 1) + declaration(3, 1, importer_country="XX"))


# ---------------------------------------------------------------- --json output


def test_ingest_json_reports_the_counts_of_each_file(cli: Cli) -> None:
    one_bad_declaration(cli.folder)
    [report] = cli.json("ingest", "d.csv")
    assert {k: report[k] for k in ("path", "kind", "format", "status", "rows_read", "rows_stored", "rows_duplicate",
                                   "rows_quarantined")} == {
        "path": "d.csv", "kind": "declarations", "format": "csv", "status": "completed", "rows_read": 4,
        "rows_stored": 3, "rows_duplicate": 0, "rows_quarantined": 1}


def test_ingesting_the_same_file_again_reports_skipped(cli: Cli) -> None:
    path = one_bad_declaration(cli.folder)
    first = ingest_file(cli.store(), path)
    [again] = cli.json("ingest", "d.csv")
    assert (again["status"], again["batch_id"], again["rows_read"]) == ("skipped", first.batch_id, 4)


def test_stats_json_counts_declarations_items_quarantine_and_batches(cli: Cli) -> None:
    ingest_file(cli.store(), one_bad_declaration(cli.folder))
    stats = cli.json("stats")
    assert {k: stats[k] for k in ("declarations", "items", "quarantined", "batches")} == \
        {"declarations": 2, "items": 3, "quarantined": 1, "batches": 1}


def test_formats_json_describes_every_record_kind(cli: Cli) -> None:
    described = cli.json("formats")
    assert set(described) == {k.value for k in RecordKind}
    assert [f["name"] for f in described["declarations"]["fields"]] == \
        [f.name for f in FORMATS[RecordKind.DECLARATIONS].fields]


def test_formats_json_of_one_kind_describes_only_that_kind(cli: Cli) -> None:
    assert list(cli.json("formats", "parties")) == ["parties"]


def test_db_upgrade_json_says_the_store_is_current(cli: Cli) -> None:
    assert cli.json("db", "upgrade") == {"database": cli.url, "current": True}


def test_quarantine_list_json_gives_each_entry_with_its_reason(cli: Cli) -> None:
    ingest_file(cli.store(), one_bad_declaration(cli.folder))
    [entry] = cli.json("quarantine", "list")
    assert {k: entry[k] for k in ("source_row", "record_key", "field", "code", "status")} == {
        "source_row": 4, "record_key": "DEC-0003", "field": "importer_country", "code": "INVALID_COUNTRY",
        "status": "open"}


def test_quarantine_show_json_gives_every_problem_and_the_row_as_read(cli: Cli) -> None:
    ingest_file(cli.store(), one_bad_declaration(cli.folder))
    with cli.store().connect() as conn:
        entry_id = conn.execute(select(tables.quarantine.c.id)).scalar_one()
    shown = cli.json("quarantine", "show", str(entry_id))
    assert [e["code"] for e in shown["errors"]] == ["INVALID_COUNTRY"]
    assert json.loads(shown["raw"])["importer_country"] == "XX"


def test_quarantine_export_json_says_how_many_rows_went_where(cli: Cli) -> None:
    ingest_file(cli.store(), one_bad_declaration(cli.folder))
    assert cli.json("quarantine", "export", "fix.csv") == {"exported": 1, "file": "fix.csv"}
    with (cli.folder / "fix.csv").open(encoding="utf-8") as fh:
        assert [r["importer_country"] for r in csv.DictReader(fh)] == ["XX"]


def test_replaying_an_entry_unchanged_quarantines_it_again(cli: Cli) -> None:
    ingest_file(cli.store(), one_bad_declaration(cli.folder))
    with cli.store().connect() as conn:
        entry_id = conn.execute(select(tables.quarantine.c.id)).scalar_one()
    report = cli.json("quarantine", "replay", "--id", str(entry_id))
    assert (report["rows_read"], report["rows_stored"], report["rows_quarantined"]) == (1, 0, 1)


def test_replaying_a_fixed_export_resolves_the_entries(cli: Cli) -> None:
    """The clerk's loop: export, fix in a spreadsheet, replay. The export is the one `quarantine export`
    writes (tested above), made in-process here to keep the test fast."""
    engine = cli.store()
    ingest_file(engine, one_bad_declaration(cli.folder))
    export_entries(engine, local_operator("test"), Filter(), cli.folder / "fix.csv")
    with (cli.folder / "fix.csv").open(encoding="utf-8") as fh:
        fixed = [{**r, "importer_country": "NL"} for r in csv.DictReader(fh)]
    write_csv(cli.folder / "fix.csv", fixed, columns=list(fixed[0]))
    report = cli.json("quarantine", "replay", "fix.csv")
    assert (report["rows_stored"], report["rows_quarantined"]) == (1, 0)
    q = tables.quarantine
    with cli.store().connect() as conn:
        assert conn.execute(select(q.c.status, q.c.resolved_batch_id)).one() == ("resolved", report["batch_id"])


# ---------------------------------------------------------------- errors: one line, no traceback, non-zero exit


def test_a_missing_file_is_one_line_and_exit_1(cli: Cli) -> None:
    done = cli("ingest", "missing.csv")
    assert_one_line_error(done)
    assert (done.returncode, done.stderr.strip()) == (1, "error: missing.csv: no such file")


def test_a_missing_file_with_json_still_reports_it_on_stdout(cli: Cli) -> None:
    done = cli("ingest", "missing.csv", "--json")
    assert_one_line_error(done)
    assert json.loads(done.stdout) == [{"path": "missing.csv", "status": "failed",
                                        "message": "missing.csv: no such file"}]


def test_an_unknown_format_is_one_line(cli: Cli) -> None:
    write_csv(cli.folder / "d.csv", declaration(1, 1))
    done = cli("ingest", "d.csv", "--format", "xls")
    assert_one_line_error(done)
    assert done.stderr.strip() == ("error: unknown format 'xls'; use one of csv, jsonl, json, parquet, cusdec, ftm, "
                                   "dcsa")


def test_a_directory_is_one_line(cli: Cli) -> None:
    (cli.folder / "dir.csv").mkdir()
    done = cli("ingest", "dir.csv")
    assert_one_line_error(done)
    assert done.stderr.strip() == "error: dir.csv: not a regular file"


def test_an_unknown_quarantine_entry_is_one_line(cli: Cli) -> None:
    done = cli("quarantine", "show", "999")
    assert_one_line_error(done)
    assert done.stderr.strip() == "error: no quarantine entry 999"


def test_replay_without_anything_to_replay_is_one_line(cli: Cli) -> None:
    assert_one_line_error(cli("quarantine", "replay"))


def test_an_empty_file_is_one_line(cli: Cli) -> None:
    (cli.folder / "empty.csv").write_bytes(b"")
    done = cli("ingest", "empty.csv")
    assert_one_line_error(done)
    assert done.stderr.strip() == "error: empty.csv: the file is empty"


def test_an_unknown_kind_is_one_line(cli: Cli) -> None:
    write_csv(cli.folder / "d.csv", declaration(1, 1))
    assert_one_line_error(cli("ingest", "d.csv", "--kind", "bogus"))


def test_an_unreadable_file_is_one_line(cli: Cli) -> None:
    (cli.folder / "d.csv").write_bytes(bytes(range(256)) * 16)
    assert_one_line_error(cli("ingest", "d.csv"))


def test_an_unreachable_database_is_one_line(cli: Cli) -> None:
    cli.env["CINTEL_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    assert_one_line_error(cli("stats"))


def test_a_missing_argument_is_one_line(cli: Cli) -> None:
    assert_one_line_error(cli("ingest"))
