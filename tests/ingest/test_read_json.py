"""JSON files are read by their content: JSON Lines, an array of records, or an object wrapping one."""

from __future__ import annotations

import codecs
from pathlib import Path

import orjson
import pytest

from cintel.domain.records import RecordKind
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.read_json import Layout, _Scanner
from cintel.ingest.readers import BadRow, ReadOptions, open_reader
from tests.factories import declaration


def read(path: Path, **options: object) -> tuple[list[int], list[BadRow], list[str]]:
    reader = open_reader(path, None, ReadOptions(**options))  # type: ignore[arg-type]
    rows: list[int] = []
    bad: list[BadRow] = []
    ids: list[str] = []
    for chunk in reader.chunks():
        rows += chunk.frame["_row"].to_list() if "_row" in chunk.frame.columns else []
        ids += chunk.frame["declaration_id"].to_list()
        bad += chunk.bad_rows
    return rows, bad, ids


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


RECORDS = declaration(1, 2) + declaration(2, 1)


def test_a_pretty_printed_array_is_read_as_records_numbered_by_index(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2))
    reader = open_reader(path, None, ReadOptions())
    assert reader.layout is Layout.ARRAY  # type: ignore[attr-defined]
    _, bad, ids = read(path)
    assert bad == []
    assert ids == ["DEC-0001", "DEC-0001", "DEC-0002"]


def test_a_compact_array_on_one_line_is_an_array(tmp_path: Path) -> None:
    _, bad, ids = read(write(tmp_path / "d.json", orjson.dumps(RECORDS)))
    assert (bad, len(ids)) == ([], 3)


@pytest.mark.parametrize("key", ["events", "data", "results"])
def test_an_object_wrapping_the_array_is_read_as_its_records(tmp_path: Path, key: str) -> None:
    doc = {"metadata": {"count": 3, "tags": [1, 2]}, key: RECORDS}
    _, bad, ids = read(write(tmp_path / "d.json", orjson.dumps(doc, option=orjson.OPT_INDENT_2)))
    assert (bad, len(ids)) == ([], 3)


def test_the_same_records_read_the_same_from_lines_array_and_wrapper(tmp_path: Path) -> None:
    lines = write(tmp_path / "a.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in RECORDS))
    array = write(tmp_path / "b.json", orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2))
    wrapped = write(tmp_path / "c.json", orjson.dumps({"data": RECORDS}, option=orjson.OPT_INDENT_2))
    assert read(lines)[2] == read(array)[2] == read(wrapped)[2]


def test_a_bom_before_an_array_is_ignored(tmp_path: Path) -> None:
    _, bad, ids = read(write(tmp_path / "d.json", codecs.BOM_UTF8 + orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2)))
    assert (bad, len(ids)) == ([], 3)


def test_an_empty_array_with_a_given_kind_has_no_records(tmp_path: Path) -> None:
    _, bad, ids = read(write(tmp_path / "d.json", b"[\n]\n"), kind=RecordKind.DECLARATIONS)
    assert (bad, ids) == ([], [])


def test_an_empty_array_without_a_kind_is_one_file_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no JSON object found in the first 1000 records"):
        read(write(tmp_path / "d.json", b"[]"))


def test_an_array_of_non_objects_is_one_file_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no JSON object found"):
        read(write(tmp_path / "d.json", b"[\n 1,\n 2,\n \"x\"\n]"))


def test_an_array_of_arrays_is_one_file_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no JSON object found"):
        read(write(tmp_path / "d.json", orjson.dumps([RECORDS[:2], RECORDS[2:]], option=orjson.OPT_INDENT_2)))


def test_a_non_object_among_records_is_a_bad_row_with_its_index(tmp_path: Path) -> None:
    doc = orjson.dumps([RECORDS[0], 42, RECORDS[1]], option=orjson.OPT_INDENT_2)
    _, bad, ids = read(write(tmp_path / "d.json", doc))
    assert [(b.row, b.code, b.message) for b in bad] == [(2, Problem.MALFORMED_ROW, "record 2 is not a JSON object")]
    assert len(ids) == 2


def test_a_truncated_array_is_one_file_error_naming_the_position(tmp_path: Path) -> None:
    text = orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2)
    with pytest.raises(IngestError, match=r"not valid JSON: .* at line \d+, column \d+ \(byte \d+\).*truncated"):
        read(write(tmp_path / "d.json", text[: len(text) // 2]))


def test_a_truncation_that_happens_to_end_in_a_bracket_is_one_file_error(tmp_path: Path) -> None:
    doc = b'[\n{"declaration_id": "DEC-1", "container_numbers": ["A", "B"]'
    with pytest.raises(IngestError, match="not valid JSON") as err:
        read(write(tmp_path / "d.json", doc + b"]"))
    assert "\n" not in str(err.value)


def test_text_after_the_array_is_one_file_error(tmp_path: Path) -> None:
    doc = orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2) + b"\ngarbage\n"
    with pytest.raises(IngestError, match=r"ends with 'garbage' at line \d+, column 1"):
        read(write(tmp_path / "d.json", doc))


def test_garbage_is_one_file_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError):
        read(write(tmp_path / "d.json", b"this is not json at all\n"))


def test_a_missing_comma_between_records_is_one_file_error(tmp_path: Path) -> None:
    doc = b"[\n" + orjson.dumps(RECORDS[0]) + b"\n" + orjson.dumps(RECORDS[1]) + b"\n]"
    with pytest.raises(IngestError, match=r"not valid JSON: .*line \d+, column \d+"):
        read(write(tmp_path / "d.json", doc))


def test_a_trailing_comma_is_one_file_error(tmp_path: Path) -> None:
    doc = b"[\n" + orjson.dumps(RECORDS[0]) + b",\n]"
    with pytest.raises(IngestError, match="empty value before"):
        read(write(tmp_path / "d.json", doc))


def test_deep_nesting_in_a_record_is_a_bad_row_and_costs_no_memory(tmp_path: Path) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    doc = b"[\n" + orjson.dumps(RECORDS[0]) + b',\n{"declaration_id": "DEC-9", "goods_description": ' + deep + b"}\n]"
    _, bad, ids = read(write(tmp_path / "d.json", doc))
    assert len(ids) == 1
    assert [(b.row, b.code) for b in bad] == [(2, Problem.MALFORMED_ROW)]


def test_a_huge_string_is_read_as_one_value(tmp_path: Path) -> None:
    records = [{**RECORDS[0], "goods_description": "x" * 5_000_000}, RECORDS[1]]
    _, bad, ids = read(write(tmp_path / "d.json", orjson.dumps(records, option=orjson.OPT_INDENT_2)))
    assert (bad, len(ids)) == ([], 2)


def test_brackets_commas_and_escaped_quotes_inside_strings_do_not_split_records(tmp_path: Path) -> None:
    tricky = 'a "quoted" ], {x}, [y] \\ back\\slash \\"'
    records = [{**RECORDS[0], "goods_description": tricky}, RECORDS[1]]
    _, bad, ids = read(write(tmp_path / "d.json", orjson.dumps(records, option=orjson.OPT_INDENT_2)))
    assert (bad, len(ids)) == ([], 2)


def test_records_across_block_boundaries_are_cut_right() -> None:
    import io

    records = [{**RECORDS[i % 3], "goods_description": 'q\\"' * (i % 7) + "]" * i} for i in range(60)]
    doc = orjson.dumps({"data": records}, option=orjson.OPT_INDENT_2)
    for block in (1, 7, 64, 1000):
        texts = [orjson.loads(t) for t, _ in _Scanner(io.BytesIO(doc), Layout.OBJECT, block=block)]
        assert texts == records


def test_a_json_lines_file_whose_first_line_is_a_bracket_is_json_lines(tmp_path: Path) -> None:
    doc = b"[\n" + b"".join(orjson.dumps(r) + b"\n" for r in RECORDS)
    _, bad, ids = read(write(tmp_path / "d.json", doc))
    assert [(b.row, b.code) for b in bad] == [(1, Problem.MALFORMED_ROW)]
    assert len(ids) == 3


def test_a_json_lines_file_whose_first_line_is_an_array_is_json_lines(tmp_path: Path) -> None:
    doc = b"[1, 2]\n" + b"".join(orjson.dumps(r) + b"\n" for r in RECORDS)
    _, bad, ids = read(write(tmp_path / "d.json", doc))
    assert [(b.row, b.message) for b in bad] == [(1, "line 1 is not a JSON object")]
    assert len(ids) == 3


def test_a_single_pretty_printed_record_is_one_record(tmp_path: Path) -> None:
    _, bad, ids = read(write(tmp_path / "d.json", orjson.dumps(RECORDS[0], option=orjson.OPT_INDENT_2)))
    assert (bad, ids) == ([], ["DEC-0001"])


def test_skip_resumes_an_array_after_that_many_records(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2))
    reader = open_reader(path, None, ReadOptions())
    chunks = list(reader.chunks(skip=2))
    assert [c.records for c in chunks] == [1]
    assert chunks[0].frame["declaration_id"].to_list() == ["DEC-0002"]


def test_a_json_document_in_another_encoding_is_refused_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2))
    with pytest.raises(IngestError):
        open_reader(path, "json", ReadOptions(encoding="latin-1")).chunks().__next__()
