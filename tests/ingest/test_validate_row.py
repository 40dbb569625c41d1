"""The one-record validator agrees with the batch validator: same problems (field, code, message) and the
same standardised values, on generated records, hostile values and a simulated world with defects."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cintel.domain.records import DECLARATIONS, FORMATS, FieldKind, RecordFormat
from cintel.ingest import scalar_ops as ops
from cintel.ingest.problems import Problem
from cintel.ingest.read_jsonl import _json_value
from cintel.ingest.rows import string_frame
from cintel.ingest.validate import ROW, validate
from cintel.ingest.validate_row import RowResult, validate_declaration, validate_row
from tests.factories import VALID_ITEM, declaration, item

TODAY = date(2025, 6, 30)
K = FieldKind
EQUIVALENCE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Good values per kind; hostile ones below replace them one field at a time.
GOOD: dict[FieldKind, list[Any]] = {
    K.ID: ["DEC-0001", "NL123456789", "  BRK-7 "],
    K.NAME: ["Acme Trading B.V.", "Shenzhen  Bright\tElectronics", "Cafe\u0301 Müller"],
    K.TEXT: ["Mobile phones", "  cotton\nshirts ", "Ünïcode text"],
    K.DATE: ["2024-03-01", "2020-12-31", "2024-3-1"],
    K.DATETIME: ["2024-05-01T13:45:00Z", "2024-05-01T13:45:00.5+02:00", "2024-05-01 13:45:00"],
    K.INTEGER: ["1", 2, "3.0"],
    K.DECIMAL: ["100", 12.5, 0, "1e3"],
    K.COUNTRY: ["CN", "nl", " de "],
    K.CURRENCY: ["USD", "eur"],
    K.HS_CODE: ["85171200", "8517.12.00", "010121"],
    K.LOCODE: ["CNSZX", "nl rtm"],
    K.LOCODE_LIST: ["SGSIN;AEJEA", ["SGSIN", "NLRTM"]],
    K.CONTAINER_LIST: ["MSCU1234566;CSQU3054383", ["MSCU1234566"]],
    K.CONTAINER: ["MSCU1234566", "cscu-305438-3"],
    K.IMO: ["9074729", "IMO 9074729"],
    K.IBAN: ["NL91ABNA0417164300", "nl91 abna 0417 1643 00"],
    K.EMAIL: ["info@acme.example", "Info@Acme.Example"],
    K.PHONE: ["+31 (10) 123-4567", "0031101234567"],
    K.LATITUDE: ["51.9", -33.5],
    K.LONGITUDE: ["4.5", 179.9],
    K.BOOLEAN: ["yes", True, "0"],
    K.LIST: ["importer;exporter", ["A Ltd", " B  Ltd "]],
    K.ENTRY_LIST: ["A00:2250:0.12:270;B00 : 2520 : : 504", "380:INV-1", "VAT:::x", ":1:2:3", "A:-1", "A:1:2:3:4",
                   "861:CO:77;;"],
}
HOSTILE: list[Any] = [
    None, "", "   ", "x" * 10_000, "\x00", "Acme\x07Ltd", "=SUM(A1)", "+x", "-1", "@x", "NaN", "inf", "-inf", "1e400",
    float("nan"), float("inf"), 1e20, 10**30, 2**63, -5, 1.5, True, False, {"a": 1}, [1, [2]], [], [None], ["", ";"],
    "1_000", "١٢", "１", "1,5", " 1 ", "\u00a0x\u00a0", "\x1c1\x1c", "a\u2028b", "\ufeffCN", "ß", "İ", "ǅ", "\ud800",
    "2024-02-30", "-1-01-01", "+10000-01-01", "0000-01-01", "24-3-1", "2024-05-01T13:45:60", "2024-05-01T13:45:00+02",
    "2099-01-01", "1989-12-31", "2024-05-01T13:45:00+23:59", "8517.12", "85 17 12", "85171200.0", "IMO\u30009074729",
    "nl rtm;;", ";", "MSCU1234567", "XX", "0.00001", "1e-7", "12345678901234567", "quantity", "\U0001d7d8",
]
any_hostile = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20), st.integers(), st.floats())


@st.composite
def records(draw: st.DrawFn) -> tuple[RecordFormat, dict[str, Any]]:
    fmt = draw(st.sampled_from(list(FORMATS.values())))
    row: dict[str, Any] = {}
    for f in fmt.fields:
        good = GOOD[f.kind] if f.kind is not K.CODE else [*(f.codes.codes() if f.codes else []), "im", "fob"]
        row[f.name] = draw(st.sampled_from(good))
    for name in draw(st.lists(st.sampled_from([f.name for f in fmt.fields]), max_size=4, unique=True)):
        row[name] = draw(any_hostile)
    if fmt is DECLARATIONS and draw(st.booleans()):
        row.update(quantity=draw(st.sampled_from(["50", "0", 0.05, None])), quantity_unit=draw(
            st.sampled_from(["KGM", "TNE", None, "NAR"])), net_mass_kg=draw(st.sampled_from(["50", "70", None])))
    return fmt, row


def batch(rows: list[dict[str, Any]], fmt: RecordFormat) -> tuple[list[dict[str, Any]], list[Counter[tuple[Any, ...]]]]:
    """The batch validator's clean rows and problems of records, given as a JSON Lines reader gives them."""
    columns = [f.name for f in fmt.fields]
    data: dict[str, list[Any]] = {c: [] for c in columns}
    for r in rows:
        for c in columns:
            try:
                text = _json_value(r.get(c))
            except ValueError:
                text = None  # the reader refuses the row; validate_row names the field instead
            data[c].append(None if text is not None and "\ud800" in text else text)
    result = validate(string_frame(columns, data, list(range(1, len(rows) + 1))), fmt, today=TODAY)
    # Dates and times as day numbers / microseconds: Polars holds years Python cannot.
    casts = [pl.col(f.name).cast(pl.Int32 if f.kind is K.DATE else pl.Int64) for f in fmt.fields
             if f.kind in (K.DATE, K.DATETIME)]
    clean = result.clean.with_columns(casts).drop(ROW).to_dicts()
    problems: list[Counter[tuple[Any, ...]]] = [Counter() for _ in rows]
    for p in result.problems.iter_rows(named=True):
        problems[p[ROW] - 1][(p["field"], p["code"], p["message"])] += 1
    return clean, problems


def comparable(result: RowResult, fmt: RecordFormat) -> tuple[dict[str, Any], Counter[tuple[Any, ...]]]:
    clean = dict(result.clean)
    for f in fmt.fields:
        value = clean[f.name]
        if isinstance(value, datetime):
            clean[f.name] = ops.micros(value)
        elif isinstance(value, date):
            clean[f.name] = ops.day_number(value)
    problems = Counter((p.field, p.code.value, p.message) for p in result.problems
                       if p.code not in (Problem.MALFORMED_ROW, Problem.UNKNOWN_FIELD))
    return clean, problems


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_equivalent(rows: list[dict[str, Any]], fmt: RecordFormat) -> None:
    clean, problems = batch(rows, fmt)
    for i, row in enumerate(rows):
        result = validate_row(row, fmt, TODAY)
        malformed = {p.field for p in result.problems if p.code is Problem.MALFORMED_ROW}
        got_clean, got_problems = comparable(result, fmt)
        # A value the reader refuses is empty for the batch; its MISSING_VALUE is not repeated by validate_row.
        want = Counter({k: n for k, n in problems[i].items() if k[0] not in malformed})
        assert got_problems == want, row
        for name, value in clean[i].items():
            if name.removesuffix("_raw") in malformed:
                continue
            # Polars' dates outside years 1-9999 have no Python date: validate_row keeps None there.
            if value is not None and got_clean[name] is None and fmt.field(name.removesuffix("_raw")).kind in (
                    K.DATE, K.DATETIME):
                assert ops.date_of(value) is None if fmt.field(name).kind is K.DATE else True
                continue
            assert same(got_clean[name], value), (name, got_clean[name], value)


@EQUIVALENCE
@given(records())
@example((DECLARATIONS, dict(VALID_ITEM)))
def test_one_record_gives_the_batch_problems_and_clean_values(case: tuple[RecordFormat, dict[str, Any]]) -> None:
    fmt, row = case
    assert_equivalent([row], fmt)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from([*"0123456789.+-eEinfatyINFATY_ ,", "\x1c", "١"]), max_size=10))
def test_numbers_are_read_as_polars_reads_them(text: str) -> None:
    stripped = ops.strip(text)
    polars = pl.Series([stripped]).cast(pl.Float64, strict=False).item()
    assert same(ops.to_float(stripped), polars) or (polars is None and ops.to_float(stripped) is None)


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False))
def test_numbers_are_written_as_polars_writes_them(value: float) -> None:
    assert ops.float_text(value) == pl.select(pl.format("{}", pl.lit(value, dtype=pl.Float64))).item()


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from([*"0123456789-+ T:.Z", "\u00a0"]), max_size=26))
def test_dates_are_read_as_polars_reads_them(text: str) -> None:
    days = pl.Series([text]).str.to_date("%Y-%m-%d", strict=False).cast(pl.Int32).item()
    parsed = ops.parse_date(text)
    assert (parsed[0] if parsed else None) == days


UNREADABLE = [{"a": 1}, [1, {"b": 2}], "\ud800", b"bytes", object(), date(2024, 1, 1), 10**5000]


@pytest.mark.parametrize("value", UNREADABLE, ids=range(len(UNREADABLE)))
@pytest.mark.parametrize("name", [f.name for f in DECLARATIONS.fields])
def test_a_value_json_cannot_give_is_a_malformed_field_not_an_exception(name: str, value: Any) -> None:
    result = validate_row(item(**{name: value}), DECLARATIONS, TODAY)
    own = [p.code for p in result.problems if p.field == name]
    assert own[0] is Problem.MALFORMED_ROW
    assert Problem.MISSING_VALUE not in own
    assert result.clean[name] is None  # and cross-field rules see it as empty


def test_a_nested_value_is_a_malformed_field() -> None:
    problems = validate_row(item(hs_code={"code": "85171200"}), DECLARATIONS, TODAY).problems
    assert [(p.field, p.code) for p in problems] == [("hs_code", Problem.MALFORMED_ROW)]


def test_an_unknown_column_is_a_problem_unless_ignored() -> None:
    row = item(colour="red")
    assert [p.code for p in validate_row(row, DECLARATIONS, TODAY).problems] == [Problem.UNKNOWN_FIELD]
    assert validate_row(row, DECLARATIONS, TODAY, ignore_extra_columns=True).problems == []


def test_a_valid_item_is_clean_and_typed() -> None:
    result = validate_row(item(importer_name=" Acme  Trading "), DECLARATIONS, TODAY)
    assert result.ok
    assert result.clean["declaration_date"] == date(2024, 3, 1)
    assert result.clean["item_no"] == 1
    assert result.clean["importer_name"] == "Acme Trading"
    assert result.clean["importer_name_raw"] == " Acme  Trading "


def prepared_problems(rows: list[dict[str, Any]]) -> list[Counter[tuple[Any, ...]]]:
    """Problems ingest's prepare step finds in the rows (per row, field and own checks included)."""
    from cintel.ingest.prepare import _row_problems

    columns = [f.name for f in DECLARATIONS.fields]
    data = {c: [_json_value(r.get(c)) for r in rows] for c in columns}
    checked = validate(string_frame(columns, data, list(range(1, len(rows) + 1))), DECLARATIONS, today=TODAY)
    found: list[Counter[tuple[Any, ...]]] = [Counter() for _ in rows]
    for p in pl.concat([checked.problems, _row_problems(checked.clean, DECLARATIONS)]).iter_rows(named=True):
        found[p[ROW] - 1][(p["field"], p["code"], p["message"])] += 1
    return found


@pytest.mark.parametrize("rows", [
    declaration(1, items=3),
    [*declaration(1, items=2), item(declaration_id="DEC-0001", item_no="2")],
    [*declaration(1, items=2), item(declaration_id="DEC-0001", item_no="3", importer_country="DE",
                                    invoice_currency="EUR")],
    [item(declaration_id="DEC-0001", item_no="1"), item(declaration_id="DEC-0001", item_no="2", quantity="x")],
], ids=["consistent", "duplicate-item", "inconsistent-header", "bad-item"])
def test_a_declaration_gets_the_cross_item_problems_of_ingest(rows: list[dict[str, Any]]) -> None:
    _, problems = validate_declaration(rows, TODAY)
    got: list[Counter[tuple[Any, ...]]] = [Counter() for _ in rows]
    for p in problems:
        assert p.row is not None
        got[p.row - 1][(p.field, p.code.value, p.message)] += 1
    assert got == prepared_problems(rows)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    from cintel.simulate import simulate_world

    out: Path = tmp_path_factory.mktemp("world")
    simulate_world(out, declarations=500, seed=3, formats=("parquet",), defect_rate=0.05)
    frame = pl.read_parquet(next(out.rglob("declarations.parquet")))
    return frame.select([pl.col(c).cast(pl.String) for c in frame.columns if c in DECLARATIONS.field_map])


def test_every_simulated_declaration_row_gets_the_batch_result(simulated: pl.DataFrame) -> None:
    rows = simulated.to_dicts()
    assert_equivalent(rows, DECLARATIONS)
    _, problems = batch(rows, DECLARATIONS)
    assert sum(map(len, problems)) > 0  # the defects really reached the comparison
