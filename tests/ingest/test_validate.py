"""Every validation rule of the flat formats, one case each, on a frame without any store."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from cintel.domain.records import DECLARATIONS, EVENTS, MANIFESTS, PARTIES, WATCHLIST, RecordFormat
from cintel.ingest.validate import ROW, validate
from tests.factories import VALID_ITEM, item

TODAY = date(2025, 6, 30)


def check(rows: list[dict[str, str | None]], fmt: RecordFormat = DECLARATIONS) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(rows, schema={k: pl.String for k in rows[0]}).with_row_index(ROW, 1)
    result = validate(frame.with_columns(pl.col(ROW).cast(pl.Int64)), fmt, today=TODAY)
    return result.clean, result.problems


def codes(rows: list[dict[str, str | None]], fmt: RecordFormat = DECLARATIONS) -> set[tuple[str, str]]:
    return {(r["field"], r["code"]) for r in check(rows, fmt)[1].iter_rows(named=True)}


def test_a_valid_item_has_no_problem() -> None:
    assert codes([item()]) == set()


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"importer_country": ""}, "importer_country", "MISSING_VALUE"),
        ({"importer_name": "   ", "importer_id": ""}, "importer_name", "MISSING_PARTY"),
        ({"duties": "A00:2250:x:270"}, "duties", "INVALID_ENTRY"),
        ({"item_documents": ":CO-77"}, "item_documents", "INVALID_ENTRY"),
        ({"declaration_id": "D" * 65}, "declaration_id", "TOO_LONG"),
        ({"importer_name": "Acme\x00Ltd"}, "importer_name", "CONTROL_CHARACTER"),
        ({"importer_name": "=HYPERLINK(\"http://x\")"}, "importer_name", "FORMULA_PREFIX"),
        ({"exporter_name": "@SUM(A1)"}, "exporter_name", "FORMULA_PREFIX"),
        ({"declaration_type": "XX"}, "declaration_type", "INVALID_CODE"),
        ({"transport_mode": "6"}, "transport_mode", "INVALID_CODE"),
        ({"incoterm": "FOBB"}, "incoterm", "INVALID_CODE"),
        ({"quantity_unit": "BOXES"}, "quantity_unit", "INVALID_CODE"),
        ({"declaration_date": "01/03/2024"}, "declaration_date", "INVALID_DATE"),
        ({"declaration_date": "2024-02-30"}, "declaration_date", "INVALID_DATE"),
        ({"declaration_date": "2025-07-01"}, "declaration_date", "DATE_IN_FUTURE"),
        ({"declaration_date": "1989-12-31"}, "declaration_date", "DATE_TOO_OLD"),
        ({"invoice_value": "ten"}, "invoice_value", "INVALID_NUMBER"),
        ({"invoice_value": "1,5"}, "invoice_value", "INVALID_NUMBER"),
        ({"invoice_value": "NaN"}, "invoice_value", "NOT_FINITE"),
        ({"invoice_value": "inf"}, "invoice_value", "NOT_FINITE"),
        ({"invoice_value": "1e400"}, "invoice_value", "NOT_FINITE"),
        ({"customs_value": "-1"}, "customs_value", "NEGATIVE_VALUE"),
        ({"customs_value": "1e14"}, "customs_value", "VALUE_TOO_LARGE"),
        ({"item_no": "1.5"}, "item_no", "NOT_INTEGER"),
        ({"item_no": "0"}, "item_no", "NEGATIVE_VALUE"),
        ({"importer_country": "XX"}, "importer_country", "INVALID_COUNTRY"),
        ({"country_of_origin": "CHN"}, "country_of_origin", "INVALID_COUNTRY"),
        ({"invoice_currency": "USX"}, "invoice_currency", "INVALID_CURRENCY"),
        ({"hs_code": "85171"}, "hs_code", "INVALID_HS_CODE"),
        ({"hs_code": "85171200123"}, "hs_code", "INVALID_HS_CODE"),
        ({"hs_code": "77010000"}, "hs_code", "INVALID_HS_CODE"),
        ({"hs_code": "8517AB00"}, "hs_code", "INVALID_HS_CODE"),
        ({"port_of_loading": "CNSZ"}, "port_of_loading", "INVALID_LOCODE"),
        ({"port_of_loading": "QQSZX"}, "port_of_loading", "INVALID_LOCODE"),
        ({"container_numbers": "MSCU1234567"}, "container_numbers", "INVALID_CONTAINER"),
        ({"container_numbers": "MSCU1234566;ABC123"}, "container_numbers", "INVALID_CONTAINER"),
        ({"vessel_imo": "9074728"}, "vessel_imo", "INVALID_IMO"),
        ({"vessel_imo": "907472"}, "vessel_imo", "INVALID_IMO"),
        ({"net_mass_kg": "70"}, "net_mass_kg", "NET_ABOVE_GROSS"),
        ({"quantity_unit": ""}, "quantity_unit", "UNIT_MISSING"),
        ({"quantity": "", "quantity_unit": "NAR"}, "quantity_unit", "UNIT_MISSING"),
        ({"quantity": "30", "quantity_unit": "KGM"}, "quantity", "UNIT_MASS_MISMATCH"),
        ({"quantity": "0"}, "quantity", "VALUE_WITHOUT_QUANTITY"),
    ],
)
def test_each_declaration_rule_reports_its_field_and_code(overrides: dict[str, str], field: str, code: str) -> None:
    assert (field, code) in codes([item(**overrides)])


@pytest.mark.parametrize("overrides", [{"importer_name": ""}, {"importer_id": ""}, {"exporter_name": "",
                                                                                   "exporter_country": ""}])
def test_a_declaration_may_name_its_importer_by_id_or_name_alone_and_omit_its_exporter(
        overrides: dict[str, str]) -> None:
    assert codes([item(**overrides)]) == set()


def test_problem_messages_name_the_field_and_the_value() -> None:
    _, problems = check([item(importer_country="XX")])
    assert problems["message"].to_list() == [
        "importer_country 'XX' is not an ISO 3166 country code such as CN or NL"
    ]
    assert problems[ROW].to_list() == [1]


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"importer_country": " nl "}, "importer_country", "NL"),
        ({"declaration_type": "im"}, "declaration_type", "IM"),
        ({"hs_code": "8517.12.00"}, "hs_code", "85171200"),
        ({"port_of_loading": "cn szx"}, "port_of_loading", "CNSZX"),
        ({"container_numbers": " mscu 123456-6 ; CSQU3054383;"}, "container_numbers", "MSCU1234566;CSQU3054383"),
        ({"vessel_imo": "IMO 9074729"}, "vessel_imo", "9074729"),
        ({"importer_name": "  Acme \t Trading\nB.V. "}, "importer_name", "Acme Trading B.V."),
        ({"importer_name": "Cafe\u0301 Ltd"}, "importer_name", "Caf\u00e9 Ltd"),
    ],
)
def test_values_are_standardised(overrides: dict[str, str], field: str, expected: str) -> None:
    clean, problems = check([item(**overrides)])
    assert problems.height == 0
    assert clean[field].to_list() == [expected]


def test_standardised_names_keep_the_verbatim_value() -> None:
    clean, _ = check([item(importer_name="  ACME  Ltd "), item(item_no="2")])
    assert clean["importer_name"].to_list() == ["ACME Ltd", "Acme Trading B.V."]
    assert clean["importer_name_raw"].to_list() == ["  ACME  Ltd ", None]


def test_values_are_typed() -> None:
    clean, _ = check([item()])
    row = clean.row(0, named=True)
    assert row["declaration_date"] == date(2024, 3, 1)
    assert row["item_no"] == 1
    assert row["invoice_value"] == 10000.0


def test_optional_columns_may_be_absent() -> None:
    row = {k: v for k, v in VALID_ITEM.items() if k not in ("bl_number", "voyage")}
    clean, problems = check([row])
    assert problems.height == 0
    assert clean["bl_number"].to_list() == [None]


def test_every_problem_of_a_row_is_reported() -> None:
    found = codes([item(importer_country="XX", invoice_currency="ZZZ", hs_code="1")])
    assert {c for _, c in found} >= {"INVALID_COUNTRY", "INVALID_CURRENCY", "INVALID_HS_CODE"}


def test_party_register_checks_contact_identifiers() -> None:
    party = {"party_id": "P1", "name": "Acme", "country": "NL", "phone": "call me", "email": "nobody",
             "iban": "NL91ABNA0417164301"}
    found = codes([party], PARTIES)
    assert found == {("phone", "INVALID_PHONE"), ("email", "INVALID_EMAIL"), ("iban", "INVALID_IBAN")}


def test_valid_party_contact_details_are_normalised() -> None:
    party = {"party_id": "P1", "name": "Acme", "country": "NL", "phone": "+31 (10) 123-4567",
             "email": "Info@Acme.NL", "iban": "nl91 abna 0417 1643 00"}
    clean, problems = check([party], PARTIES)
    assert problems.height == 0
    assert clean.select("phone", "email", "iban").row(0) == ("+31101234567", "info@acme.nl", "NL91ABNA0417164300")


def test_an_event_needs_a_container_or_a_vessel() -> None:
    event = {"event_id": "E1", "event_type": "LOAD", "event_time": "2024-03-01T10:00:00Z",
             "container_number": "", "vessel_imo": "", "locode": "NLRTM"}
    assert ("container_number", "MISSING_SUBJECT") in codes([event], EVENTS)


def test_event_times_accept_offsets_and_are_stored_in_utc() -> None:
    event = {"event_id": "E1", "event_type": "DISC", "event_time": "2024-03-01T10:00:00+02:00",
             "container_number": "MSCU1234566", "vessel_imo": "", "locode": "NLRTM",
             "latitude": "51.9", "longitude": "4.1"}
    clean, problems = check([event], EVENTS)
    assert problems.height == 0
    assert clean["event_time"].dt.hour().to_list() == [8]


def test_coordinates_out_of_range_are_rejected() -> None:
    event = {"event_id": "E1", "event_type": "POSN", "event_time": "2024-03-01T10:00:00Z",
             "container_number": "", "vessel_imo": "9074729", "locode": "", "latitude": "91", "longitude": "4"}
    assert ("latitude", "INVALID_COORDINATE") in codes([event], EVENTS)


def test_manifest_arrival_cannot_precede_loading() -> None:
    bl = {"bl_number": "BL1", "vessel_imo": "9074729", "voyage": "V1", "carrier_name": "Line",
          "shipper_name": "S", "shipper_country": "CN", "consignee_name": "C", "consignee_country": "NL",
          "port_of_loading": "CNSHA", "port_of_discharge": "NLRTM", "container_numbers": "MSCU1234566",
          "goods_description": "toys", "gross_mass_kg": "1000", "loading_date": "2024-03-10",
          "arrival_date": "2024-03-01"}
    assert ("arrival_date", "DATE_ORDER") in codes([bl], MANIFESTS)


def test_dates_of_birth_may_predate_trade_records() -> None:
    entry = {"list_name": "L", "entry_id": "1", "name": "John Doe", "entity_type": "person",
             "birth_date": "1961-04-02"}
    assert codes([entry], WATCHLIST) == set()
    assert ("birth_date", "DATE_TOO_OLD") in codes([{**entry, "birth_date": "1850-01-01"}], WATCHLIST)


def test_only_a_planned_or_estimated_event_may_lie_in_the_future() -> None:
    from cintel.domain.records import EVENTS
    from cintel.ingest.validate_row import validate_row

    base = {"event_id": "E1", "event_type": "ARRI", "event_time": "2099-01-01T00:00:00Z", "vessel_imo": "9074729"}
    for classifier, expected in (("PLN", set()), ("EST", set()), ("ACT", {("event_time", "DATE_IN_FUTURE")}),
                                 ("", {("event_time", "DATE_IN_FUTURE")})):
        row = {**base, "event_classifier": classifier}
        assert codes([row], EVENTS) == expected, classifier
        assert {(p.field, p.code.value) for p in validate_row(row, EVENTS).problems} == expected, classifier
