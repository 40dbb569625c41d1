"""Hostile input is just input: every malformed file ends in one clear line or a quarantine reason.

Each case goes through `ingest_file` on every back end. A file that cannot be read at all raises
`IngestError` with one line naming the problem; anything readable is stored or quarantined row by
row with the expected code, and the batch's books balance:
rows_read = rows_stored + rows_duplicate + rows_quarantined.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, func, inspect, select

from cintel.domain.records import RecordKind
from cintel.ingest.edifact import write_cusdec
from cintel.ingest.pipeline import BatchReport, ingest_file
from cintel.ingest.problems import IngestError
from cintel.ingest.readers import ReadOptions
from cintel.settings import get_settings
from cintel.store import tables
from tests.factories import COLUMNS, declaration, item, write_csv, write_jsonl

SQL = "'; DROP TABLE declarations; --"
HTML = "<script>alert(1)</script>"


def ingest(engine: Engine, path: Path, **kwargs: Any) -> BatchReport:
    """Ingests and checks the batch's books balance."""
    report = ingest_file(engine, path, **kwargs)
    assert report.rows_read == report.rows_stored + report.rows_duplicate + report.rows_quarantined
    return report


def refused(engine: Engine, path: Path, **kwargs: Any) -> str:
    """The one-line message of a file that cannot be ingested."""
    with pytest.raises(IngestError) as caught:
        ingest_file(engine, path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def quarantined(engine: Engine) -> list[tuple[int, str]]:
    """(source row, code) of the open quarantine entries."""
    q = tables.quarantine
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(q.c.source_row, q.c.code).where(q.c.status == "open")))


def messages(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(tables.quarantine.c.message).order_by(tables.quarantine.c.source_row))
                    .scalars())


def stored(engine: Engine, column: str) -> list[Any]:
    table = tables.declaration_items if column in tables.declaration_items.c else tables.declarations
    with engine.connect() as conn:
        return list(conn.execute(select(table.c[column]).order_by(table.c.source_row)).scalars())


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


# ---------------------------------------------------------------- encoding


def test_a_latin1_file_is_refused_with_a_hint_to_pass_the_encoding(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1, importer_name="Société Générale"), encoding="latin-1")
    assert refused(engine, path).startswith("d.csv: not valid utf-8-sig (byte 0xe9 at offset ")
    assert count(engine, tables.batches) == 0


def test_a_latin1_file_is_stored_with_the_encoding_given(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1, importer_name="Société Générale"), encoding="latin-1")
    ingest(engine, path, options=ReadOptions(encoding="latin-1"))
    assert stored(engine, "importer_name") == ["Société Générale"]


def test_a_file_with_a_utf8_byte_order_mark_is_stored(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2), encoding="utf-8-sig")
    assert ingest(engine, path).rows_stored == 2


def test_a_binary_file_named_csv_is_refused_as_not_text(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(bytes(range(256)) * 64)
    assert refused(engine, path).startswith("d.csv: not valid utf-8-sig (byte 0x80 at offset 128)")


def test_a_binary_file_named_jsonl_is_refused_as_not_text(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(bytes(range(256)) * 64)
    assert refused(engine, path).startswith("d.jsonl: not valid utf-8-sig (byte 0x80 at offset 128)")


# ---------------------------------------------------------------- delimiter and columns


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_file_with_another_delimiter_is_stored(engine: Engine, tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2), delimiter=delimiter)
    assert ingest(engine, path).rows_stored == 2


def test_a_wrong_given_delimiter_is_named(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2), delimiter=";")
    assert refused(engine, path, options=ReadOptions(delimiter="|")) == \
        "d.csv: with --delimiter '|' the header is one column; the file looks ';'-separated"


def test_missing_columns_are_named(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1), columns=[c for c in COLUMNS
                                                                    if c not in ("hs_code", "importer_name")])
    assert refused(engine, path) == \
        "d.csv: columns match no record format; closest is declarations, missing: hs_code, importer_name"


def test_missing_columns_are_named_when_the_kind_is_given(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1), columns=[c for c in COLUMNS if c != "hs_code"])
    assert refused(engine, path, options=ReadOptions(kind=RecordKind.DECLARATIONS)) == \
        "d.csv: missing required column(s) for declarations: hs_code"


def test_extra_columns_are_named(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [{**r, "colour": "red", "size": "L"} for r in declaration(1, 1)])
    assert refused(engine, path) == \
        "d.csv: unknown column(s) 'colour', 'size'; remove them or pass --ignore-extra-columns"


def test_extra_columns_can_be_ignored(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [{**r, "colour": "red"} for r in declaration(1, 2)])
    assert ingest(engine, path, options=ReadOptions(ignore_extra_columns=True)).rows_stored == 2


def test_a_duplicated_column_is_named(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(",".join([*COLUMNS, "hs_code"]) + "\n", encoding="utf-8")
    assert refused(engine, path) == "d.csv: duplicate column(s): hs_code"


def test_sql_in_a_column_name_is_refused_as_an_unknown_column(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [{**r, SQL: "x"} for r in declaration(1, 1)])
    assert refused(engine, path).startswith(f"d.csv: unknown column(s) \"{SQL}\"")
    assert "declarations" in inspect(engine).get_table_names()


# ---------------------------------------------------------------- empty, truncated, not a file


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("d.csv", b"", "d.csv: the file is empty"),
     ("d.csv", b"\r\n \r\n\t\r\n", "d.csv: the file is empty"),
     ("d.csv", b"\xef\xbb\xbf", "d.csv: the file is empty"),
     ("d.jsonl", b"", "d.jsonl: the file is empty"),
     ("d.jsonl", b"\n\n", "d.jsonl: the file is empty"),
     ("d.edi", b"", "d.edi: the file is empty"),
     ("d.parquet", b"", "d.parquet: not a readable Parquet file (Parquet file size is 0 bytes)")],
)
def test_an_empty_file_is_refused(engine: Engine, tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert refused(engine, path) == message


def test_a_file_with_only_a_header_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(",".join(COLUMNS) + "\r\n", encoding="utf-8")
    report = ingest(engine, path)
    assert (report.status, report.rows_read) == ("completed", 0)


def test_a_csv_cut_mid_row_quarantines_the_cut_row(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2) + declaration(2, 1))
    path.write_bytes(path.read_bytes()[:-60])
    report = ingest(engine, path)
    assert (report.rows_stored, quarantined(engine)) == (2, [(3, "MALFORMED_ROW")])
    assert messages(engine) == ["row 3 has 18 fields but the header has 28"]


def test_a_csv_cut_inside_a_quoted_field_quarantines_the_cut_row(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2) + declaration(2, 1, goods_description="Mobile, phones"))
    path.write_bytes(path.read_bytes()[:-40])
    report = ingest(engine, path)
    assert (report.rows_stored, quarantined(engine)) == (2, [(3, "MALFORMED_ROW")])
    assert messages(engine) == ["row 3 cannot be parsed: a quoted field is not closed before the end of the file "
                                "(truncated file or stray quote)"]


def test_a_jsonl_file_cut_mid_line_quarantines_the_cut_line(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", declaration(1, 2) + declaration(2, 1))
    path.write_bytes(path.read_bytes()[:-30])
    report = ingest(engine, path)
    assert (report.rows_stored, quarantined(engine)) == (2, [(3, "MALFORMED_ROW")])
    assert messages(engine)[0].startswith("line 3 is not valid JSON")


def parquet_file(tmp_path: Path) -> Path:
    path = tmp_path / "d.parquet"
    pl.DataFrame(declaration(1, 2) + declaration(2, 1)).write_parquet(path)
    return path


def test_a_truncated_parquet_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = parquet_file(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert refused(engine, path).startswith("d.parquet: not a readable Parquet file (Parquet magic bytes not found")


def test_a_parquet_file_with_corrupt_pages_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = parquet_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\x00" * 200 + data[300:])
    assert refused(engine, path).startswith("d.parquet: Parquet data unreadable after row 0 (")
    assert count(engine, tables.declarations) == 0


def test_a_parquet_column_of_nested_values_is_refused_naming_it(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pl.DataFrame(declaration(1, 1)).with_columns(pl.struct(a=pl.lit(1)).alias("importer_name")).write_parquet(path)
    assert refused(engine, path).startswith("d.parquet: column(s) importer_name (struct<a: int32>) hold nested")


def test_a_directory_is_refused(engine: Engine, tmp_path: Path) -> None:
    assert refused(engine, tmp_path) == f"{tmp_path}: not a regular file"


def test_a_missing_path_is_refused(engine: Engine, tmp_path: Path) -> None:
    assert refused(engine, tmp_path / "nope.csv") == f"{tmp_path / 'nope.csv'}: no such file"


def test_an_unknown_extension_without_format_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.xlsx", declaration(1, 1))
    assert refused(engine, path) == ("d.xlsx: cannot tell the format from the extension; pass --format "
                                     "(csv, jsonl, json, parquet, cusdec, ftm, dcsa)")


def test_an_unknown_extension_is_read_with_the_format_given(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.dat", declaration(1, 1))
    assert ingest(engine, path, file_format="csv").rows_stored == 1


def test_a_file_name_that_is_not_utf8_is_just_a_name(engine: Engine, tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "d.csv", declaration(1, 1))
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xff.csv"))
    plain.rename(odd)
    assert ingest(engine, odd).rows_stored == 1


# ---------------------------------------------------------------- rows that cannot be read


def test_a_ragged_row_is_quarantined_as_malformed(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1) + declaration(2, 1))
    rows = lines(path)
    rows[2] = "DEC-0002,1,2024-03-01\r\n"
    path.write_text("".join(rows), encoding="utf-8")
    report = ingest(engine, path)
    assert (report.rows_stored, quarantined(engine)) == (1, [(2, "MALFORMED_ROW")])


def test_a_ragged_row_quarantines_every_item_of_its_declaration(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 3))
    rows = lines(path)
    rows[2] = "DEC-0001,2\r\n"
    path.write_text("".join(rows), encoding="utf-8")
    ingest(engine, path)
    assert quarantined(engine) == [(1, "DECLARATION_REJECTED"), (2, "MALFORMED_ROW"), (3, "DECLARATION_REJECTED")]


def test_a_ragged_first_item_keeps_the_rest_of_its_declaration_out_of_the_store(engine: Engine,
                                                                                 tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1) + declaration(2, 2))
    rows = lines(path)
    rows[2] = "DEC-0002,1\r\n"
    path.write_text("".join(rows), encoding="utf-8")
    ingest(engine, path)
    assert stored(engine, "declaration_id") == ["DEC-0001"]


def test_a_malformed_row_is_filed_under_its_declaration(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1))
    path.write_text(path.read_text(encoding="utf-8") + "DEC-0002,1\r\n", encoding="utf-8")
    ingest(engine, path)
    with engine.connect() as conn:
        assert conn.execute(select(tables.quarantine.c.record_key)).scalar_one() == "DEC-0002"


def test_a_nul_byte_in_a_malformed_row_is_quarantined_as_an_escape(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1))
    path.write_text(path.read_text(encoding="utf-8") + "DEC-0002,\x00,1\r\n", encoding="utf-8")
    ingest(engine, path)
    with engine.connect() as conn:
        assert conn.execute(select(tables.quarantine.c.raw)).scalar_one() == "DEC-0002,\\x00,1\r\n"


def test_a_json_line_with_a_nested_object_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [*declaration(1, 1), {**item(declaration_id="DEC-2"),
                                                                   "importer_name": {"$ne": None}}])
    report = ingest(engine, path)
    assert (report.rows_stored, quarantined(engine)) == (1, [(2, "MALFORMED_ROW")])


# ---------------------------------------------------------------- values


def test_a_10_mb_goods_description_is_quarantined_too_long(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1, goods_description="x" * 10_000_000) + declaration(2, 1))
    report = ingest(engine, path)
    assert (report.rows_stored, quarantined(engine)) == (1, [(1, "TOO_LONG")])
    assert messages(engine) == ["goods_description has 10000000 characters; at most 4096 are allowed"]


def test_a_field_beyond_the_csv_field_limit_stops_the_file_with_one_line(engine: Engine, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "csv_field_limit", 10_000)
    path = write_csv(tmp_path / "d.csv", declaration(1, 1, goods_description="x" * 20_000))
    assert refused(engine, path).startswith(
        "d.csv: row 1 has a field longer than 10,000 characters (CINTEL_CSV_FIELD_LIMIT); is a quote not closed?")


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "@SUM(A1:A9)", "+HYPERLINK(\"http://x\")", "-cmd"])
def test_a_spreadsheet_formula_in_a_name_is_quarantined(engine: Engine, tmp_path: Path, name: str) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, importer_name=name)))
    assert quarantined(engine) == [(1, "FORMULA_PREFIX")]


def test_sql_in_a_name_is_stored_verbatim(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, importer_name=SQL)))
    assert stored(engine, "importer_name") == [SQL]


def test_html_in_a_name_is_stored_verbatim(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, exporter_name=HTML)))
    assert stored(engine, "exporter_name") == [HTML]


def test_the_tables_survive_sql_in_every_text_field(engine: Engine, tmp_path: Path) -> None:
    rows = declaration(1, 1, importer_name=SQL, exporter_name=SQL, goods_description=SQL, importer_address=SQL)
    ingest(engine, write_csv(tmp_path / "d.csv", rows))
    ingest(engine, write_csv(tmp_path / "e.csv", declaration(2, 1)))
    assert (count(engine, tables.declarations), count(engine, tables.declaration_items)) == (2, 2)


def test_sql_in_a_declaration_id_is_matched_as_data_on_reingest(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [item(declaration_id="D'; DROP TABLE x;--")])
    ingest(engine, path)
    again = ingest(engine, path, force=True)
    assert (again.rows_duplicate, stored(engine, "declaration_id")) == (1, ["D'; DROP TABLE x;--"])


@pytest.mark.parametrize(
    ("value", "code"),
    [("1e400", "NOT_FINITE"), ("-1e400", "NOT_FINITE"), ("NaN", "NOT_FINITE"), ("inf", "NOT_FINITE"),
     ("-inf", "NOT_FINITE"), ("-5", "NEGATIVE_VALUE"), ("1,5", "INVALID_NUMBER"), ("1 000", "INVALID_NUMBER"),
     ("0x10", "INVALID_NUMBER"), ("1" + "0" * 30, "VALUE_TOO_LARGE"), ("9" * 400, "NOT_FINITE")],
)
def test_a_hostile_amount_is_quarantined(engine: Engine, tmp_path: Path, value: str, code: str) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, invoice_value=value)))
    assert quarantined(engine) == [(1, code)]


@pytest.mark.parametrize(("value", "code"), [("99999999999999999999", "VALUE_TOO_LARGE"), ("1.5", "NOT_INTEGER"),
                                             ("1e400", "NOT_FINITE"), ("0", "NEGATIVE_VALUE")])
def test_a_hostile_item_number_is_quarantined(engine: Engine, tmp_path: Path, value: str, code: str) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", [item(item_no=value)]))
    assert quarantined(engine) == [(1, code)]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"1e400"])
def test_a_non_finite_json_number_is_quarantined_not_finite(engine: Engine, tmp_path: Path, literal: bytes) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(write_jsonl(tmp_path / "x.jsonl", [item()]).read_bytes()[:-2] + b',"invoice_value":' +
                     literal + b"}\n")
    ingest(engine, path)
    assert quarantined(engine) == [(1, "NOT_FINITE")]


@pytest.mark.parametrize(("value", "code"), [("2099-01-01", "DATE_IN_FUTURE"), ("1985-01-01", "DATE_TOO_OLD"),
                                             ("2024-02-30", "INVALID_DATE"), ("01/03/2024", "INVALID_DATE"),
                                             ("99999-01-01", "INVALID_DATE")])
def test_an_implausible_date_is_quarantined(engine: Engine, tmp_path: Path, value: str, code: str) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, declaration_date=value)))
    assert quarantined(engine) == [(1, code)]


@pytest.mark.parametrize("name", ["Acme\x00Ltd", "Acme\x07Ltd", "Acme\x1b[31mLtd", "Acme\x7fLtd"])
def test_a_control_character_in_a_name_is_quarantined(engine: Engine, tmp_path: Path, name: str) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, importer_name=name)))
    assert quarantined(engine) == [(1, "CONTROL_CHARACTER")]


def test_a_nul_byte_in_a_json_name_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_jsonl(tmp_path / "d.jsonl", declaration(1, 1, importer_name="Acme\x00Ltd")))
    assert quarantined(engine) == [(1, "CONTROL_CHARACTER")]


@pytest.mark.parametrize(("field", "code"), [("importer_country", "INVALID_COUNTRY"),
                                             ("invoice_value", "INVALID_NUMBER"),
                                             ("declaration_date", "INVALID_DATE")])
def test_a_nul_byte_in_a_coded_field_is_quarantined(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest,
                                                    field: str, code: str) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, **{field: "1\x00"})))
    assert quarantined(engine) == [(1, code)]


def test_a_nul_byte_in_an_email_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    parties = [{"party_id": "P1", "name": "Acme", "country": "NL", "email": "info\x00@acme.example"}]
    report = ingest(engine, write_csv(tmp_path / "p.csv", parties))
    assert report.rows_quarantined == 1


def test_an_overlong_email_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    parties = [{"party_id": "P1", "name": "Acme", "country": "NL", "email": "a" * 300 + "@acme.example"}]
    report = ingest(engine, write_csv(tmp_path / "p.csv", parties))
    assert report.rows_quarantined == 1


def test_an_imo_number_in_arabic_indic_digits_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, vessel_imo="٩٠٧٤٧٢٩")))
    assert quarantined(engine) == [(1, "INVALID_IMO")]


def test_a_container_number_in_arabic_indic_digits_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, container_numbers="MSCU١٢٣٤٥٦٦")))
    assert quarantined(engine) == [(1, "INVALID_CONTAINER")]


def test_an_hs_code_with_arabic_indic_digits_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, hs_code="85١٧١٢٠٠")))
    assert quarantined(engine) == [(1, "INVALID_HS_CODE")]


def test_a_phone_number_in_arabic_indic_digits_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    parties = [{"party_id": "P1", "name": "Acme", "country": "NL", "phone": "+٣١١٠١٢٣٤٥٦٧"}]
    ingest(engine, write_csv(tmp_path / "p.csv", parties))
    assert quarantined(engine) == [(1, "INVALID_PHONE")]


def test_a_spreadsheet_float_hs_code_is_never_stored_as_another_code(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "d.csv", declaration(1, 1, hs_code="85171200.0")))
    assert stored(engine, "hs_code") in ([], ["85171200"])


def test_a_float_hs_code_column_in_parquet_is_stored_as_the_code(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pl.DataFrame(declaration(1, 1)).with_columns(pl.col("hs_code").cast(pl.Float64)).write_parquet(path)
    ingest(engine, path)
    assert stored(engine, "hs_code") == ["85171200"]


def test_a_binary_parquet_name_that_is_not_utf8_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pl.DataFrame(declaration(1, 1) + declaration(2, 1)) \
        .with_columns(pl.Series("importer_name", [b"Acme", b"\xff\xfe"])).write_parquet(path)
    report = ingest(engine, path)
    assert (report.rows_stored, quarantined(engine)) == (1, [(2, "MALFORMED_ROW")])
    assert messages(engine) == ["row 2: importer_name is not valid UTF-8 text"]


# ---------------------------------------------------------------- EDIFACT


def cusdec_file(tmp_path: Path) -> Path:
    path = tmp_path / "d.edi"
    write_cusdec(pl.DataFrame(declaration(1, 2) + declaration(2, 1)), path)
    return path


def test_a_well_formed_cusdec_file_is_stored(engine: Engine, tmp_path: Path) -> None:
    assert ingest(engine, cusdec_file(tmp_path)).rows_stored == 3


def test_a_file_that_is_not_edifact_is_refused_naming_the_missing_header(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.edi"
    path.write_text("declaration_id,item_no\nDEC-1,1\n", encoding="utf-8")
    message = refused(engine, path)
    assert message.startswith("d.edi: ")
    assert "UNB" in message


def test_a_binary_file_named_edi_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.edi"
    path.write_bytes(bytes(range(256)) * 16)
    assert refused(engine, path).startswith("d.edi: ")


def test_bytes_outside_the_declared_edifact_charset_are_refused_in_one_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.edi"
    path.write_bytes(b"UNB+UNOA:3+SENDER+CUSTOMS+240301:1200+1'" + bytes(range(128, 256)) + b"'")
    assert "0x80" in refused(engine, path)


def test_a_truncated_cusdec_file_quarantines_the_cut_message(engine: Engine, tmp_path: Path) -> None:
    path = cusdec_file(tmp_path)
    text = path.read_text(encoding="latin-1")
    path.write_text(text[: text.index("UNH+2") + 60], encoding="latin-1")
    report = ingest(engine, path)
    codes = quarantined(engine)
    assert (report.rows_stored, [c for _, c in codes]) == (2, ["EDIFACT_ERROR"])
    assert "truncated" in messages(engine)[0].lower()


def test_an_unreadable_cusdec_segment_quarantines_its_message(engine: Engine, tmp_path: Path) -> None:
    path = cusdec_file(tmp_path)
    text = path.read_text(encoding="latin-1")
    path.write_text(text.replace("LIN+1'", "LIN1'", 1), encoding="latin-1")
    report = ingest(engine, path)
    assert (report.rows_stored, [c for _, c in quarantined(engine)]) == (1, ["EDIFACT_ERROR"])


def test_a_cusdec_value_of_sql_and_html_is_stored_verbatim(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.edi"
    write_cusdec(pl.DataFrame(declaration(1, 1, importer_name=HTML, goods_description=SQL)), path)
    ingest(engine, path)
    assert (stored(engine, "importer_name"), stored(engine, "goods_description")) == ([HTML], [SQL])


# ---------------------------------------------------------------- a spreadsheet round trip of hostile text


def test_hostile_text_survives_a_quoted_csv_round_trip(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    tricky = 'He said "hi",\r\nthen; left|\t'
    rows = declaration(1, 1, importer_address=tricky)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    ingest(engine, path)
    with engine.connect() as conn:
        assert conn.execute(select(tables.declarations.c.importer_address_raw)).scalar_one() == tricky
