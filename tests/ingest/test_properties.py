"""Properties over generated input: validation never raises, readers only raise IngestError, and the
vectorised check digits agree with python-stdnum."""

from __future__ import annotations

import math
import re
import tempfile
from datetime import date
from pathlib import Path

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from stdnum import imo, iso6346

from cintel.domain.codes import country_codes, currency_codes
from cintel.domain.records import DECLARATIONS, FieldKind, RecordFormat
from cintel.ingest.check_digits import container_is_valid, imo_is_valid
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.readers import ReadOptions, open_reader
from cintel.ingest.validate import ROW, validate
from cintel.settings import get_settings
from cintel.store.tables import column_type
from tests.factories import VALID_ITEM

TODAY = date(2025, 6, 30)
K = FieldKind
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALIDATION = settings(FAST, max_examples=40)  # each example validates a whole frame
PROBLEM_CODES = {p.value for p in Problem}

# Text likely to break parsers: separators, quotes, signs, exotic digits and white space, control characters.
AWKWARD = [*"0123456789.,;:-+eE=@ \t\r\n\"'\\/<>|#%", "\x00", "\x07", "\x1b", "\u00a0", "\u2028", "\ufeff", "٣", "é",
           "ß", "𝟘", "N", "a", "I", "n", "f"]
awkward = st.text(st.sampled_from(AWKWARD), max_size=12)
any_text = st.one_of(awkward, st.text(max_size=30), st.just(""), st.none())


def value_for(name: str) -> st.SearchStrategy[str | None]:
    """A field's value: valid, or something arbitrary."""
    return st.one_of(st.just(VALID_ITEM.get(name)), any_text)


rows = st.lists(st.fixed_dictionaries({f.name: value_for(f.name) for f in DECLARATIONS.fields}),
                min_size=1, max_size=6)


def frame_of(records: list[dict[str, str | None]]) -> pl.DataFrame:
    schema = {ROW: pl.Int64, **{f.name: pl.String for f in DECLARATIONS.fields}}
    return pl.DataFrame([{ROW: i, **r} for i, r in enumerate(records, start=1)], schema=schema, orient="row")


# Shapes of coded values once standardised; plain ASCII, whatever digits the input used.
ASCII_SHAPES = {
    K.IMO: re.compile(r"[0-9]{7}"), K.HS_CODE: re.compile(r"[0-9]{6,10}"), K.LOCODE: re.compile(r"[A-Z]{2}[A-Z2-9]{3}"),
    K.CONTAINER_LIST: re.compile(r"[A-Z]{3}[UJZR][0-9]{7}"), K.LOCODE_LIST: re.compile(r"[A-Z]{2}[A-Z2-9]{3}"),
}


def broken_promises(row: dict[str, object], fmt: RecordFormat) -> list[str]:
    """What a row without problems must not be: empty where required, unstorable, implausible."""
    broken = []
    for f in fmt.fields:
        value = row[f.name]
        if value is None:
            if not f.nullable:
                broken.append(f"{f.name} is empty")
            continue
        if isinstance(value, str):
            width = getattr(column_type(f), "length", None) or (f.max_length if f.kind is K.ID else None)
            if width is not None and len(value) > width:
                broken.append(f"{f.name} is longer than its column")
            if "\x00" in value:
                broken.append(f"{f.name} holds NUL")
        if isinstance(value, float) and not math.isfinite(value):
            broken.append(f"{f.name} is not finite")
        if f.kind is K.CODE and f.codes is not None and value not in f.codes.codes():
            broken.append(f"{f.name} is not a code")
        if f.kind is K.COUNTRY and value not in country_codes():
            broken.append(f"{f.name} is not a country")
        if f.kind is K.CURRENCY and value not in currency_codes():
            broken.append(f"{f.name} is not a currency")
        if f.kind is K.DATE and isinstance(value, date) and not get_settings().min_date <= value <= TODAY:
            broken.append(f"{f.name} is implausible")
        if f.kind in ASCII_SHAPES and not all(ASCII_SHAPES[f.kind].fullmatch(v) for v in str(value).split(";")):
            broken.append(f"{f.name} is not {ASCII_SHAPES[f.kind].pattern}")
    return broken


# ---------------------------------------------------------------- validation


@VALIDATION
@given(rows)
def test_validating_arbitrary_rows_never_raises(records: list[dict[str, str | None]]) -> None:
    result = validate(frame_of(records), DECLARATIONS, today=TODAY)
    assert result.clean.height == len(records)


@VALIDATION
@given(rows)
def test_every_problem_names_an_input_row_a_field_and_a_known_code(records: list[dict[str, str | None]]) -> None:
    problems = validate(frame_of(records), DECLARATIONS, today=TODAY).problems
    assert set(problems.get_column(ROW).to_list()) <= set(range(1, len(records) + 1))
    assert set(problems.get_column("code").to_list()) <= PROBLEM_CODES
    assert set(problems.get_column("field").to_list()) <= set(DECLARATIONS.field_map)
    assert all(problems.get_column("message").to_list())


@VALIDATION
@given(rows)
@example([dict(VALID_ITEM)])
def test_a_row_without_problems_keeps_every_promise_of_its_format(records: list[dict[str, str | None]]) -> None:
    result = validate(frame_of(records), DECLARATIONS, today=TODAY)
    flagged = set(result.problems.get_column(ROW).to_list())
    for row in result.clean.filter(~pl.col(ROW).is_in(sorted(flagged))).iter_rows(named=True):
        assert broken_promises(row, DECLARATIONS) == [], row


def test_a_problem_message_is_one_line_even_for_a_value_with_a_line_break() -> None:
    problems = validate(frame_of([{**VALID_ITEM, "importer_country": "N\nL"}]), DECLARATIONS, today=TODAY).problems
    assert "\n" not in problems.get_column("message").item()


# ---------------------------------------------------------------- readers

HEADER = ",".join(VALID_ITEM).encode()


def read_everything(path: Path, options: ReadOptions) -> None:
    """Reads a file to its end; checks the books of each chunk while at it."""
    rows_seen: list[int] = []
    for chunk in open_reader(path, None, options).chunks():
        assert chunk.records == chunk.frame.height + len(chunk.bad_rows)
        rows_seen += chunk.frame.get_column(ROW).to_list() + [b.row for b in chunk.bad_rows]
        for bad in chunk.bad_rows:
            assert "\x00" not in bad.raw
            bad.raw.encode("utf-8")  # storable as text: no undecodable bytes left as surrogates
    assert len(rows_seen) == len(set(rows_seen))


options = st.builds(ReadOptions, encoding=st.sampled_from([None, "latin-1", "utf-8"]),
                    chunk_rows=st.integers(1, 4), ignore_extra_columns=st.booleans())


def only_ingest_errors(suffix: str, content: bytes, opts: ReadOptions) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{suffix}"
        path.write_bytes(content)
        message = ""
        try:
            read_everything(path, opts)
        except IngestError as exc:
            message = str(exc)
    assert "\n" not in message


@FAST
@given(st.binary(max_size=400), options)
def test_arbitrary_bytes_as_csv_only_raise_ingest_error(content: bytes, opts: ReadOptions) -> None:
    only_ingest_errors(".csv", content, opts)


@FAST
@given(st.binary(max_size=600), options)
def test_arbitrary_bytes_after_a_valid_csv_header_only_raise_ingest_error(content: bytes, opts: ReadOptions) -> None:
    only_ingest_errors(".csv", HEADER + b"\r\n" + content, opts)


@FAST
@given(st.lists(st.lists(st.one_of(awkward, st.text(max_size=8)), max_size=30), max_size=5), options)
def test_arbitrary_csv_records_after_a_valid_header_only_raise_ingest_error(records: list[list[str]],
                                                                          opts: ReadOptions) -> None:
    body = "".join(",".join(record) + "\r\n" for record in records).encode("utf-8")
    only_ingest_errors(".csv", HEADER + b"\r\n" + body, opts)


@FAST
@given(st.binary(max_size=400), options)
def test_arbitrary_bytes_as_jsonl_only_raise_ingest_error(content: bytes, opts: ReadOptions) -> None:
    only_ingest_errors(".jsonl", content, opts)


@FAST
@given(st.lists(st.binary(max_size=80), max_size=6), options)
def test_arbitrary_lines_after_a_valid_json_line_only_raise_ingest_error(lines: list[bytes],
                                                                       opts: ReadOptions) -> None:
    only_ingest_errors(".jsonl", orjson.dumps(VALID_ITEM) + b"\n" + b"\n".join(lines), opts)


@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_parquet_only_raise_ingest_error(content: bytes) -> None:
    only_ingest_errors(".parquet", content, ReadOptions())


@FAST
@given(st.binary(max_size=400), st.sampled_from([b"", b"UNA:+.? '", b"UNA:+.? 'UNB+UNOC:3+S+R+240301:1200+1'"]))
def test_arbitrary_bytes_as_edifact_only_raise_ingest_error(content: bytes, prefix: bytes) -> None:
    only_ingest_errors(".edi", prefix + content, ReadOptions())


# ---------------------------------------------------------------- check digits against python-stdnum

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


def vectorised(check: object, values: list[str]) -> list[bool | None]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(check(pl.col("v"))).to_series().to_list()  # type: ignore[operator]


@st.composite
def containers(draw: st.DrawFn) -> str:
    """ISO 6346 numbers, most with the right check digit, some with a wrong one or a wrong category."""
    owner = draw(st.text(LETTERS, min_size=3, max_size=3))
    category = draw(st.sampled_from("UJZR") | st.sampled_from(LETTERS))
    serial = draw(st.text(DIGITS, min_size=6, max_size=6))
    body = owner + category + serial
    check = draw(st.just(iso6346.calc_check_digit(body)) | st.sampled_from(DIGITS))
    return body + check


def owner_is_letters(value: str) -> bool:
    return value[:3].isalpha() and value[:3].isascii()


@FAST
@given(st.lists(containers() | st.text(LETTERS + DIGITS, max_size=13), min_size=1, max_size=50))
def test_container_check_agrees_with_stdnum_iso6346(values: list[str]) -> None:
    expected = [iso6346.is_valid(v) and owner_is_letters(v) for v in values]
    assert vectorised(container_is_valid, values) == expected


@FAST
@given(st.lists(containers(), min_size=1, max_size=50))
def test_generated_containers_with_stdnum_s_check_digit_are_valid(values: list[str]) -> None:
    valid = [v for v in values if v[3] in "UJZR" and v[-1] == iso6346.calc_check_digit(v[:-1])]
    assume(valid)
    assert all(vectorised(container_is_valid, valid))


def test_an_owner_code_with_digits_is_refused_where_stdnum_accepts_it() -> None:
    number = "123U123456" + iso6346.calc_check_digit("123U123456")
    assert (iso6346.is_valid(number), vectorised(container_is_valid, [number])) == (True, [False])


@st.composite
def imo_numbers(draw: st.DrawFn) -> str:
    body = draw(st.text(DIGITS, min_size=6, max_size=6))
    return body + draw(st.just(imo.calc_check_digit(body)) | st.sampled_from(DIGITS))


@FAST
@given(st.lists(imo_numbers() | st.text(DIGITS, max_size=9) | st.text(LETTERS + DIGITS, max_size=8),
                min_size=1, max_size=50))
def test_imo_check_agrees_with_stdnum_imo(values: list[str]) -> None:
    expected = [imo.is_valid(v) and v.isdigit() for v in values]  # stdnum also strips an 'IMO' prefix first
    assert vectorised(imo_is_valid, values) == expected


@FAST
@given(st.lists(st.text(max_size=12), min_size=1, max_size=30))
def test_check_digit_expressions_answer_true_or_false_for_ascii_text(values: list[str]) -> None:
    values = [v for v in values if v.isascii()]
    assume(values)
    assert None not in vectorised(container_is_valid, values) + vectorised(imo_is_valid, values)


@pytest.mark.parametrize(("check", "value"), [(container_is_valid, "MSCU١٢٣٤٥٦٦"), (imo_is_valid, "٩٠٧٤٧٢٩")])
def test_check_digit_expressions_answer_false_for_non_ascii_digits(check: object, value: str) -> None:
    assert vectorised(check, [value]) == [False]
