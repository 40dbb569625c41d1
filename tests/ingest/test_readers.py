"""Readers per format, without a store: what each turns a file into, row by row and chunk by chunk."""

from __future__ import annotations

import codecs
import csv
import re
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from cintel.domain.records import RecordKind
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.readers import BadRow, Chunk, ReadOptions, detect_format, open_reader
from cintel.ingest.validate import ROW
from cintel.settings import get_settings
from tests.factories import COLUMNS, declaration, item, write_csv, write_jsonl


def chunks(path: Path, file_format: str | None = None, skip: int = 0, **options: Any) -> list[Chunk]:
    return list(open_reader(path, file_format, ReadOptions(**options)).chunks(skip))


def rows(path: Path, file_format: str | None = None, skip: int = 0, **options: Any) -> pl.DataFrame:
    """Every good row of the file in one frame, in file order."""
    return pl.concat([c.frame for c in chunks(path, file_format, skip, **options)], how="diagonal_relaxed")


def bad_rows(path: Path, file_format: str | None = None, **options: Any) -> list[BadRow]:
    return [b for c in chunks(path, file_format, **options) for b in c.bad_rows]


def column(path: Path, name: str, **options: Any) -> list[Any]:
    return rows(path, **options).get_column(name).to_list()


def csv_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def seven_rows() -> list[dict[str, str]]:
    return declaration(1, 2) + declaration(2, 4) + declaration(3, 1)


def write_parquet(path: Path, records: list[dict[str, Any]], *casts: pl.Expr) -> Path:
    pl.DataFrame(records).with_columns(*casts).write_parquet(path)
    return path


WRITERS: dict[str, Callable[[Path, list[dict[str, Any]]], Path]] = {
    "csv": lambda p, r: write_csv(p.with_suffix(".csv"), r),
    "jsonl": lambda p, r: write_jsonl(p.with_suffix(".jsonl"), r),
    "parquet": lambda p, r: write_parquet(p.with_suffix(".parquet"), r),
}


# ---------------------------------------------------------------- format from the extension


@pytest.mark.parametrize(
    ("name", "expected"),
    [("d.csv", "csv"), ("D.CSV", "csv"), ("d.tsv", "csv"), ("d.txt", "csv"), ("d.jsonl", "jsonl"),
     ("d.ndjson", "jsonl"), ("d.json", "json"), ("d.parquet", "parquet"), ("d.pq", "parquet"),
     ("d.edi", "cusdec"), ("export.2024.csv", "csv")],
)
def test_the_format_comes_from_the_extension(name: str, expected: str) -> None:
    assert detect_format(Path(name), None) == expected


def test_a_given_format_overrides_the_extension() -> None:
    assert detect_format(Path("d.dat"), "csv") == "csv"


def test_an_unknown_extension_asks_for_the_format() -> None:
    with pytest.raises(IngestError, match=r"d\.xlsx: cannot tell the format .* pass --format"):
        detect_format(Path("d.xlsx"), None)


def test_an_unknown_given_format_is_refused() -> None:
    with pytest.raises(IngestError, match="unknown format 'xls'; use one of csv, jsonl, json, parquet, cusdec"):
        detect_format(Path("d.csv"), "xls")


# ---------------------------------------------------------------- CSV: delimiter, encoding, header


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected_from_the_header(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2), delimiter=delimiter)
    reader = open_reader(path, None, ReadOptions())
    assert reader.delimiter == delimiter  # type: ignore[attr-defined]
    assert column(path, "exporter_name") == ["Shenzhen Bright Electronics Co., Ltd."] * 2


def test_a_given_delimiter_is_used_instead_of_the_detected_one(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1), delimiter="|")
    assert open_reader(path, None, ReadOptions(delimiter="|")).delimiter == "|"  # type: ignore[attr-defined]


def test_a_tab_delimiter_can_be_given_as_backslash_t(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.tsv", declaration(1, 1), delimiter="\t")
    assert open_reader(path, None, ReadOptions(delimiter="\\t")).delimiter == "\t"  # type: ignore[attr-defined]


@pytest.mark.parametrize("delimiter", [";;", "", '"', "\n"])
def test_a_delimiter_that_is_not_one_plain_character_is_refused(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1))
    with pytest.raises(IngestError, match="--delimiter must be one character"):
        open_reader(path, None, ReadOptions(delimiter=delimiter))


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1), encoding="utf-8-sig")
    assert column(path, "declaration_id") == ["DEC-0001"]


def test_a_byte_order_mark_is_dropped_when_utf8_is_given_explicitly(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1), encoding="utf-8-sig")
    assert column(path, "declaration_id", encoding="utf-8") == ["DEC-0001"]


def test_a_byte_order_mark_with_encoding_latin1_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1), encoding="utf-8-sig")
    with pytest.raises(IngestError, match="UTF-8 byte order mark, but --encoding latin-1 was given"):
        open_reader(path, None, ReadOptions(encoding="latin-1"))


def test_a_latin1_file_is_refused_with_a_hint_to_pass_the_encoding(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [item(importer_name="Société Générale")], encoding="latin-1")
    with pytest.raises(IngestError, match=r"not valid utf-8-sig \(byte 0xe9 at offset \d+\)\. .*--encoding latin-1"):
        open_reader(path, None, ReadOptions())


def test_a_latin1_file_is_read_with_encoding_latin1(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [item(importer_name="Société Générale")], encoding="latin-1")
    assert column(path, "importer_name", encoding="latin-1") == ["Société Générale"]


@pytest.mark.parametrize("encoding", ["klingon", "rot13"])
def test_a_name_that_is_not_a_text_encoding_is_refused(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1))
    with pytest.raises(IngestError, match=f"unknown encoding '{encoding}'"):
        open_reader(path, None, ReadOptions(encoding=encoding))


def test_bytes_beyond_the_checked_start_that_are_not_utf8_reject_only_their_row(tmp_path: Path) -> None:
    many = [r for n in range(1, 5001) for r in declaration(n, 1)]  # > 1 MiB, the part checked up front
    path = write_csv(tmp_path / "d.csv", many)
    with path.open("a", encoding="latin-1", newline="") as fh:
        csv.writer(fh).writerow(item(declaration_id="DEC-LATIN", importer_name="Société").values())
    [bad] = bad_rows(path)
    assert (bad.row, bad.code, bad.key) == (5001, Problem.MALFORMED_ROW, "DEC-LATIN")
    assert bad.message == "row 5001 is not valid utf-8-sig (byte 0xe9); if the file is Latin-1, pass --encoding latin-1"
    assert "Soci\\xe9t\\xe9" in bad.raw


def test_the_record_kind_is_detected_from_the_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [{"party_id": "P1", "name": "Acme", "country": "NL"}])
    assert open_reader(path, None, ReadOptions()).kind is RecordKind.PARTIES


def test_duplicate_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(",".join([*COLUMNS, "hs_code"]) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"duplicate column\(s\): hs_code"):
        open_reader(path, None, ReadOptions())


def test_a_file_with_only_a_header_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(",".join(COLUMNS) + "\r\n", encoding="utf-8")
    assert chunks(path) == []


# ---------------------------------------------------------------- CSV: rows


def test_blank_lines_are_not_records(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 3))
    path.write_text(path.read_text(encoding="utf-8").replace("\r\n", "\r\n\r\n"), encoding="utf-8")
    assert column(path, ROW) == [1, 2, 3]


def test_lines_of_white_space_are_not_records(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", declaration(1, 2)))
    (tmp_path / "d.csv").write_text("".join([lines[0], "   \r\n", lines[1], "\t\r\n", lines[2]]), encoding="utf-8")
    assert (column(tmp_path / "d.csv", ROW), bad_rows(tmp_path / "d.csv")) == ([1, 2], [])


def test_blank_lines_before_the_header_are_skipped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2))
    path.write_text("\r\n\r\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert column(path, "item_no") == ["1", "2"]


def test_a_row_with_too_few_fields_is_a_bad_row_with_its_declaration_key(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", declaration(1, 3)))
    lines[2] = "DEC-0001,2,2024-03-01\r\n"
    (tmp_path / "d.csv").write_text("".join(lines), encoding="utf-8")
    assert bad_rows(tmp_path / "d.csv") == [
        BadRow(2, Problem.MALFORMED_ROW, "row 2 has 3 fields but the header has 28", "DEC-0001,2,2024-03-01\r\n",
               key="DEC-0001"),
    ]


def test_a_row_with_too_many_fields_is_a_bad_row_with_its_declaration_key(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", declaration(1, 2)))
    lines[2] = lines[2].rstrip("\r\n") + ",surplus\r\n"
    (tmp_path / "d.csv").write_text("".join(lines), encoding="utf-8")
    [bad] = bad_rows(tmp_path / "d.csv")
    assert (bad.row, bad.code, bad.key, bad.message) == (2, Problem.MALFORMED_ROW, "DEC-0001",
                                                        "row 2 has 29 fields but the header has 28")


def test_a_bad_row_keeps_its_line_verbatim(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", declaration(1, 2)))
    lines[2] = 'DEC-0001;"odd ""quoted"" text";2\r\n'
    (tmp_path / "d.csv").write_text("".join(lines), encoding="utf-8")
    assert bad_rows(tmp_path / "d.csv")[0].raw == 'DEC-0001;"odd ""quoted"" text";2\r\n'


def test_the_rows_around_a_bad_row_are_read(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", declaration(1, 3)))
    lines[2] = "DEC-0001,2\r\n"
    (tmp_path / "d.csv").write_text("".join(lines), encoding="utf-8")
    assert column(tmp_path / "d.csv", ROW) == [1, 3]


def test_a_quoted_field_may_span_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 1, goods_description="Mobile phones\nand chargers"))
    assert column(path, "goods_description") == ["Mobile phones\nand chargers"]


def test_rows_are_numbered_by_record_not_by_line(tmp_path: Path) -> None:
    rows_ = declaration(1, 1, goods_description="one\ntwo\nthree") + declaration(2, 1)
    assert column(write_csv(tmp_path / "d.csv", rows_), ROW) == [1, 2]


def test_a_stray_quote_is_a_bad_row_and_reading_goes_on(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", declaration(1, 3)))
    lines[2] = lines[2].replace("Mobile phones", '"Mobile" phones')
    (tmp_path / "d.csv").write_text("".join(lines), encoding="utf-8")
    [bad] = bad_rows(tmp_path / "d.csv")
    assert (bad.row, bad.key) == (2, "DEC-0001")
    assert bad.message.startswith("row 2 cannot be parsed: text follows a closing quote")
    assert column(tmp_path / "d.csv", ROW) == [1, 3]


def test_a_quote_left_open_at_the_end_of_the_file_is_a_bad_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", declaration(1, 2))
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write('DEC-0002,1,"2024-03-01,IM,NLRTM01\r\n')
    [bad] = bad_rows(path)
    assert (bad.row, bad.code, bad.key) == (3, Problem.MALFORMED_ROW, "DEC-0002")
    assert "a quoted field is not closed before the end of the file" in bad.message
    assert bad.raw == 'DEC-0002,1,"2024-03-01,IM,NLRTM01\r\n'
    assert column(path, ROW) == [1, 2]


def test_a_field_longer_than_the_limit_stops_the_file_with_one_line(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "csv_field_limit", 1000)
    path = write_csv(tmp_path / "d.csv", [item(goods_description="x" * 2000)])
    with pytest.raises(IngestError, match=r"^d\.csv: row 1 has a field longer than 1,000 characters "
                                          r"\(CINTEL_CSV_FIELD_LIMIT\); is a quote not closed\?$"):
        chunks(path)


# ---------------------------------------------------------------- chunks and resuming


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_small_chunks_read_the_same_rows_as_one_chunk(tmp_path: Path, file_format: str, chunk_rows: int) -> None:
    path = WRITERS[file_format](tmp_path / "d", seven_rows())
    assert rows(path, chunk_rows=chunk_rows).equals(rows(path, chunk_rows=100))


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_no_chunk_holds_more_than_chunk_rows_records(tmp_path: Path, file_format: str) -> None:
    path = WRITERS[file_format](tmp_path / "d", seven_rows())
    assert [c.records for c in chunks(path, chunk_rows=3)] == [3, 3, 1]


def test_bad_rows_are_the_same_whatever_the_chunk_size(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", seven_rows()))
    lines[3] = "DEC-0002,1\r\n"
    lines[6] = "DEC-0002,4,x\r\n"
    (tmp_path / "d.csv").write_text("".join(lines), encoding="utf-8")
    assert bad_rows(tmp_path / "d.csv", chunk_rows=2) == bad_rows(tmp_path / "d.csv", chunk_rows=100)


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_skip_resumes_after_that_many_records_with_the_same_row_numbers(tmp_path: Path, file_format: str) -> None:
    path = WRITERS[file_format](tmp_path / "d", seven_rows())
    whole = rows(path, chunk_rows=2)
    assert rows(path, skip=3, chunk_rows=2).equals(whole.filter(pl.col(ROW) > 3))


def test_skip_counts_bad_rows_as_records(tmp_path: Path) -> None:
    lines = csv_lines(write_csv(tmp_path / "d.csv", seven_rows()))
    lines[2] = "DEC-0001,2\r\n"
    (tmp_path / "d.csv").write_text("".join(lines), encoding="utf-8")
    resumed = chunks(tmp_path / "d.csv", skip=2)
    assert [r for c in resumed for r in c.frame.get_column(ROW).to_list()] == [3, 4, 5, 6, 7]
    assert sum(c.records for c in resumed) == 5


def test_a_chunk_is_handed_out_before_the_rest_of_the_file_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [r for n in range(1, 5001) for r in declaration(n, 1)])
    with path.open("ab") as fh:  # beyond the start checked up front: only reading that far finds it
        fh.write(b"\xff" * 10)
    first = next(open_reader(path, None, ReadOptions(chunk_rows=10)).chunks())
    assert first.frame.height == 10


@pytest.mark.parametrize(("file_format", "declarations"), [("csv", 10_000), ("jsonl", 5_000)])
def test_reading_in_small_chunks_holds_only_a_chunk_in_memory(tmp_path: Path, file_format: str,
                                                              declarations: int) -> None:
    path = WRITERS[file_format](tmp_path / "d", [r for n in range(1, declarations + 1) for r in declaration(n, 1)])
    reader = open_reader(path, None, ReadOptions(chunk_rows=100))
    tracemalloc.start()
    try:
        for _ in reader.chunks():
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < path.stat().st_size / 4


# ---------------------------------------------------------------- JSON Lines


@pytest.mark.parametrize(
    ("value", "text"),
    [("MSCU1234566", "MSCU1234566"), (100, "100"), (50.5, "50.5"), (85171200.0, "85171200"), (True, "true"),
     (False, "false"), (None, None), (["MSCU1234566", "CSQU3054383"], "MSCU1234566;CSQU3054383"),
     ([1, 2.5], "1;2.5"), (["MSCU1234566", None], "MSCU1234566"), ([], None), (1e20, "1e+20"), (-0.5, "-0.5")],
)
def test_json_values_of_every_type_are_read_as_the_text_they_stand_for(tmp_path: Path, value: object,
                                                                       text: str | None) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{**item(), "container_numbers": value}])
    assert column(path, "container_numbers") == [text]


def test_a_field_missing_from_a_json_object_is_read_as_empty(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [item(), {k: v for k, v in item().items() if k != "incoterm"}])
    assert column(path, "incoterm") == ["FOB", None]


@pytest.mark.parametrize(("literal", "text"), [(b"NaN", "NaN"), (b"Infinity", "Infinity"), (b"-Infinity", "-Infinity"),
                                               (b"1e400", "1e400")])
def test_numbers_json_parsers_refuse_are_read_as_their_text_for_the_checks(tmp_path: Path, literal: bytes,
                                                                         text: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(orjson.dumps(item())[:-1] + b',"invoice_value":' + literal + b"}\n")
    assert column(path, "invoice_value") == [text]


def test_a_nested_object_is_a_bad_row_naming_the_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{**item(), "importer_name": {"first": "Acme"}}])
    [bad] = bad_rows(path)
    assert (bad.row, bad.code, bad.field, bad.key) == (1, Problem.MALFORMED_ROW, "importer_name", "DEC-0001")
    assert bad.message.startswith("line 1: importer_name holds a nested object or list")


def test_a_line_that_is_not_json_is_a_bad_row_kept_verbatim(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", declaration(1, 1))
    with path.open("ab") as fh:
        fh.write(b'{"declaration_id": "DEC-0002", \n')
    [bad] = bad_rows(path)
    assert (bad.row, bad.code, bad.raw) == (2, Problem.MALFORMED_ROW, '{"declaration_id": "DEC-0002", ')
    assert bad.message.startswith("line 2 is not valid JSON")


@pytest.mark.parametrize("line", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_a_json_value_that_is_not_an_object_is_a_bad_row(tmp_path: Path, line: bytes) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", declaration(1, 1))
    path.write_bytes(path.read_bytes() + line + b"\n")
    assert [(b.row, b.message) for b in bad_rows(path)] == [(2, "line 2 is not a JSON object")]


def test_an_unknown_json_field_is_a_bad_row_with_its_declaration_key(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{**item(), "colour": "red"}])
    assert [(b.code, b.field, b.key, b.message) for b in bad_rows(path)] == [
        (Problem.UNKNOWN_FIELD, "colour", "DEC-0001", "line 1 has unknown field(s): 'colour'")]


def test_unknown_json_fields_can_be_ignored(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{**item(), "colour": "red"}])
    assert column(path, "declaration_id", ignore_extra_columns=True) == ["DEC-0001"]


def test_a_numeric_declaration_id_is_the_key_of_a_bad_json_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{**item(), "declaration_id": 4711, "hs_code": [["8517"]]}])
    assert bad_rows(path)[0].key == "4711"


def test_a_byte_order_mark_before_the_first_json_line_is_ignored(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", declaration(1, 2))
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    assert (column(path, ROW), bad_rows(path)) == ([1, 2], [])


def test_blank_lines_are_not_json_records(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in declaration(1, 2)).replace(b"\n", b"\n\n  \n") + b"\n\n")
    assert column(path, ROW) == [1, 2]


def test_a_latin1_json_file_is_refused_with_a_hint_to_pass_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(orjson.dumps(item(importer_name="Société")).decode().encode("latin-1") + b"\n")
    with pytest.raises(IngestError, match=r"d\.jsonl: not valid utf-8-sig \(byte 0xe9 .*--encoding latin-1"):
        open_reader(path, None, ReadOptions())


def test_a_latin1_json_file_is_read_with_encoding_latin1(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(orjson.dumps(item(importer_name="Société")).decode().encode("latin-1") + b"\n")
    assert column(path, "importer_name", encoding="latin-1") == ["Société"]


def test_a_json_escape_of_half_a_surrogate_pair_is_a_bad_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", declaration(1, 1))
    path.write_bytes(path.read_bytes() + orjson.dumps(item())[:-1] + b',"importer_address":"\\ud800"}\n')
    [bad] = bad_rows(path)
    assert "half of a UTF-16 surrogate pair" in bad.message
    assert bad.raw.endswith('"importer_address":"\\ud800"}')


def test_json_nested_beyond_any_parser_s_depth_is_a_bad_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", declaration(1, 1))
    path.write_bytes(path.read_bytes() + b"[" * 100_000 + b"\n")
    assert [(b.row, b.code) for b in bad_rows(path)] == [(2, Problem.MALFORMED_ROW)]


def test_a_nul_byte_in_a_bad_json_line_is_kept_as_an_escape(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", declaration(1, 1))
    path.write_bytes(path.read_bytes() + b'{"declaration_id": "A\x00B"\n')
    assert bad_rows(path)[0].raw == '{"declaration_id": "A\\x00B"'


# ---------------------------------------------------------------- Parquet


def test_typed_parquet_columns_are_kept_for_the_checks(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 2), pl.col("item_no").cast(pl.Int64),
                         pl.col("net_mass_kg").cast(pl.Float64), pl.col("declaration_date").str.to_date())
    frame = rows(path)
    assert [frame.schema[c] for c in ("item_no", "net_mass_kg", "declaration_date")] == [pl.Int64(), pl.Float64(),
                                                                                         pl.Date()]
    assert frame.get_column("declaration_date").to_list() == [date(2024, 3, 1)] * 2


def test_string_parquet_columns_are_read_as_text(tmp_path: Path) -> None:
    frame = rows(write_parquet(tmp_path / "d.parquet", declaration(1, 2)))
    assert frame.drop(ROW).to_dicts() == declaration(1, 2)


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    assert column(write_parquet(tmp_path / "d.parquet", seven_rows()), ROW, chunk_rows=3) == list(range(1, 8))


@pytest.mark.parametrize("dtype", [pl.List(pl.String), pl.Array(pl.String, 2)])
def test_parquet_list_columns_are_joined_with_semicolons(tmp_path: Path, dtype: pl.DataType) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1),
                         pl.col("container_numbers").str.split(";").cast(dtype))
    assert column(path, "container_numbers") == ["MSCU1234566;CSQU3054383"]


def test_whole_floats_in_a_code_column_are_read_without_a_fraction(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1), pl.col("hs_code").cast(pl.Float64),
                         pl.col("vessel_imo").cast(pl.Float64))
    assert rows(path).select("hs_code", "vessel_imo").row(0) == ("85171200", "9074729")


def test_decimals_in_a_code_column_are_read_without_a_fraction(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1), pl.col("hs_code").cast(pl.Decimal(12, 2)))
    assert column(path, "hs_code") == ["85171200"]


def test_fractions_in_a_numeric_column_stay_numbers(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1, net_mass_kg="50.5"),
                         pl.col("net_mass_kg").cast(pl.Float64))
    assert column(path, "net_mass_kg") == [50.5]


def test_binary_parquet_columns_holding_utf8_are_read_as_text(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1, importer_name="Société"),
                         pl.col("importer_name").cast(pl.Binary))
    assert column(path, "importer_name") == ["Société"]


def test_a_binary_parquet_value_that_is_not_utf8_is_a_bad_row(tmp_path: Path) -> None:
    records = declaration(1, 2)
    path = tmp_path / "d.parquet"
    pl.DataFrame(records).with_columns(pl.Series("importer_name", [b"Acme", b"Soci\xe9t\xe9"])).write_parquet(path)
    [bad] = bad_rows(path)
    assert (bad.row, bad.code, bad.field, bad.key) == (2, Problem.MALFORMED_ROW, "importer_name", "DEC-0001")
    assert orjson.loads(bad.raw)["importer_name"] == "Soci\\xe9t\\xe9"
    assert column(path, ROW) == [1]


@pytest.mark.parametrize(
    ("value", "shown"),
    [pytest.param(pl.struct(first=pl.lit("Acme")), "importer_name (struct<first: large_string>)", id="struct"),
     pytest.param(pl.lit([["a"]]), "importer_name (large_list<element: large_list<element: large_string>>)",
                  id="list of lists"),
     pytest.param(pl.lit(pl.Series([[1]]).cast(pl.List(pl.Duration("us")))),
                  "importer_name (large_list<element: duration[us]>)", id="list of durations")],
)
def test_a_parquet_column_of_nested_or_odd_values_is_refused_naming_it(tmp_path: Path, value: pl.Expr,
                                                                        shown: str) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1), value.alias("importer_name"))
    with pytest.raises(IngestError, match=re.escape(f"d.parquet: column(s) {shown} hold nested")):
        open_reader(path, None, ReadOptions())


def test_a_duration_parquet_column_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1), pl.duration(days=1).alias("net_mass_kg"))
    with pytest.raises(IngestError, match=r"column\(s\) net_mass_kg \(duration\[us\]\) hold nested"):
        open_reader(path, None, ReadOptions())


def test_a_parquet_file_of_a_given_kind_is_read_as_that_kind(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "d.parquet", declaration(1, 1))
    assert open_reader(path, None, ReadOptions(kind=RecordKind.DECLARATIONS)).kind is RecordKind.DECLARATIONS


def test_csv_from_a_spreadsheet_reads_like_the_factory_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(item()), delimiter=";", quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(declaration(1, 2))
    assert rows(path).equals(rows(write_csv(tmp_path / "plain.csv", declaration(1, 2))))
