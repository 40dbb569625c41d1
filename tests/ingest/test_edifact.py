"""EDIFACT CUSDEC: the reader maps the documented subset, survives hostile input, streams; the writer inverts it."""

from __future__ import annotations

import io
import logging
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cintel.domain.records import DECLARATIONS
from cintel.ingest.edifact import (
    BLOCK_BYTES,
    MAX_SEGMENT_CHARS,
    EdifactError,
    EdifactRecord,
    iter_cusdec,
    read_cusdec,
    write_cusdec,
)

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "cusdec_sample.edi"
FIELDS = [f.name for f in DECLARATIONS.fields]
NUMERIC = {"quantity", "net_mass_kg", "gross_mass_kg", "invoice_value", "customs_value"}
HEADER = "UNA:+.? '\nUNB+UNOC:3+SENDER+RECIPIENT+240131:0930+1'\n"


def read_bytes(data: bytes, encoding: str | None = None) -> list[EdifactRecord]:
    return list(iter_cusdec(io.BytesIO(data), encoding))


def read_text(text: str) -> list[EdifactRecord]:
    return read_bytes(text.encode("latin-1"))


def message(body: list[str], ref: str = "1", kind: str = "CUSDEC:D:96B:UN", count: int | None = None) -> str:
    """One UNH..UNT message around body segments (without terminators), with a correct count by default."""
    segments = [f"UNH+{ref}+{kind}", *body]
    segments.append(f"UNT+{len(segments) + 1 if count is None else count}+{ref}")
    return "".join(f"{s}'\n" for s in segments)


GOOD_BODY = ["BGM+929:::IM+D1+9", "DTM+137:20240131:102", "UNS+D", "LIN+1", "PIA+5+847130:HS",
             "FTX+AAA+++BOLTS", "MEA+AAE+AAC+KGM:10", "UNS+S"]


def interchange(*messages: str, count: int | None = None) -> str:
    n = len(messages) if count is None else count
    return HEADER + "".join(messages) + f"UNZ+{n}+1'\n"


def errors(records: list[EdifactRecord]) -> list[tuple[str, str, str]]:
    return [r.error for r in records if r.error is not None]


def assert_one_line(text: str) -> None:
    assert text
    assert "\n" not in text
    assert "\r" not in text
    assert len(text) < 400


# ---------------------------------------------------------------- the documented subset


def test_sample_fixture_reads_two_declarations_with_three_items() -> None:
    records = list(read_cusdec(SAMPLE))

    assert [r.error for r in records] == [None, None, None]
    first, second, third = (r.values for r in records)
    assert first is not None
    first = {k: v for k, v in first.items() if v is not None}  # the fixture leaves the newer fields empty
    assert first == {
        "declaration_id": "24NL0001234567890", "item_no": "1", "declaration_date": "2024-01-31",
        "declaration_type": "IM", "office_code": "NL000396", "importer_id": "NL123456789",
        "importer_name": "VAN DER BERG + ZONEN B.V.", "importer_country": "NL",
        "exporter_name": "SHENZHEN BRIGHT ELECTRONICS CO:LTD", "exporter_country": "CN",
        "declarant_id": "NLBROKER01", "country_of_origin": "CN", "country_of_dispatch": "CN",
        "port_of_loading": "CNSHA", "port_of_discharge": "NLRTM", "transport_mode": "1",
        "vessel_imo": "9074729", "container_numbers": "MSCU1234565;TGHU1234567", "hs_code": "8471300000",
        "goods_description": "PORTABLE COMPUTERS,14 INCH", "quantity": "500", "quantity_unit": "PCE",
        "net_mass_kg": "1250.5", "gross_mass_kg": "1380", "invoice_currency": "USD",
        "invoice_value": "125000.00", "customs_value": "131250.00", "incoterm": "CIF",
        "importer_address": "HAVENSTRAAT 12, 3011 AB ROTTERDAM", "exporter_id": "CN91330000",
        "voyage": "024W", "transshipment_ports": "SGSIN;MYPKG", "bl_number": "MEDUSH123456",
    }
    assert second is not None
    assert third is not None
    assert {k: second[k] for k in ("item_no", "hs_code", "country_of_origin", "net_mass_kg", "quantity")} == {
        "item_no": "2", "hs_code": "8517130000", "country_of_origin": "VN", "net_mass_kg": "800.0",
        "quantity": "2000"}
    assert {k: second[k] for k in FIELDS if DECLARATIONS.field(k).level.value == "header"} == {
        k: first.get(k) for k in FIELDS if DECLARATIONS.field(k).level.value == "header"}
    assert {k: v for k, v in third.items() if v is not None} == {k: v for k, v in {
        "declaration_id": "24NL0009876543210", "item_no": "1", "declaration_date": "2024-02-01",
        "declaration_type": "EX", "office_code": "NL000510", "importer_id": None,
        "importer_name": "ACME IMPORTS INC", "importer_country": "US", "exporter_name": "TULIP FLOWERS B.V.",
        "exporter_country": "NL", "declarant_id": None, "country_of_origin": "NL", "country_of_dispatch": "NL",
        "port_of_loading": "NLRTM", "port_of_discharge": "USNYC", "transport_mode": "4", "vessel_imo": None,
        "container_numbers": None, "hs_code": "0603110000", "goods_description": "FRESH CUT ROSES",
        "quantity": None, "quantity_unit": None, "net_mass_kg": "450.5", "gross_mass_kg": "500",
        "invoice_currency": "EUR", "invoice_value": "9800", "customs_value": "9800", "incoterm": "FCA",
        "importer_address": "500 HARBOR BLVD, 10001 NEW YORK", "exporter_id": "NL987654321", "voyage": None,
        "transshipment_ports": None, "bl_number": "176-12345675",
    }.items() if v is not None}


def test_every_record_has_every_declaration_field() -> None:
    for record in read_cusdec(SAMPLE):
        assert record.values is not None
        assert list(record.values) == FIELDS


def test_line_is_the_segment_number_of_the_item_counting_una_as_one() -> None:
    records = list(read_cusdec(SAMPLE))
    lines = SAMPLE.read_text().splitlines()

    assert [r.line for r in records] == [22, 31, 57]
    assert all(lines[r.line - 1].startswith("LIN+") for r in records)


def test_raw_is_the_whole_message_verbatim() -> None:
    first, _, third = read_cusdec(SAMPLE)
    text = SAMPLE.read_text()

    assert first.raw.startswith("UNH+1+CUSDEC")
    assert first.raw.endswith("UNT+39+1'")
    assert first.raw in text
    assert third.raw in text
    assert third.raw.startswith("UNH+2+")
    assert third.raw.endswith("UNT+24+2'")


def test_una_with_non_default_separators_release_and_decimal_comma() -> None:
    [record] = read_cusdec(DATA / "cusdec_custom_una.edi")

    assert record.error is None
    assert record.values is not None
    assert record.values["declaration_id"] == "DECL~42"
    assert record.values["importer_name"] == "O'BRIEN + SONS: #1 ~ BEST|*, ANTWERP"
    assert record.values["exporter_name"] == "ACME: WIDGETS + CO'S"
    assert record.values["goods_description"] == "BOLTS + NUTS: 'M8'"
    assert record.values["net_mass_kg"] == "12.5"
    assert record.values["invoice_value"] == "100.25"


def test_release_character_escapes_every_service_character() -> None:
    text = interchange(message(["BGM+929:::IM+A?+B?:C?'D??E+9", "NAD+IM+++O?'NEIL ?+ SONS?: ??+++++IE",
                                "LIN+1", "PIA+5+847130:HS", "FTX+AAA+++END WITH RELEASE??"]))

    [record] = read_text(text)

    assert record.values is not None
    assert record.values["declaration_id"] == "A+B:C'D?E"
    assert record.values["importer_name"] == "O'NEIL + SONS: ?"
    assert record.values["goods_description"] == "END WITH RELEASE?"


def test_latin1_file_declared_unoc_is_decoded() -> None:
    [record] = read_cusdec(DATA / "cusdec_latin1.edi")

    assert record.values is not None
    assert record.values["importer_name"] == "SOCIÉTÉ GÉNÉRALE D'IMPORT"
    assert record.values["exporter_name"] == "MÜLLER + SÖHNE GMBH"
    assert record.values["goods_description"] == "FROMAGE À PÂTE DURE, CRÈME BRÛLÉE"


def test_bytes_outside_the_declared_character_set_are_a_file_error() -> None:
    data = (DATA / "cusdec_latin1.edi").read_bytes().replace(b"UNOC", b"UNOW")

    with pytest.raises(EdifactError, match=r"segment 7 \(NAD\): byte 0xC9 is not valid in character set UNOW"):
        read_bytes(data)


def test_encoding_argument_overrides_the_unb_character_set() -> None:
    data = (DATA / "cusdec_latin1.edi").read_bytes().replace(b"UNOC", b"UNOW")

    [record] = read_bytes(data, encoding="latin-1")

    assert record.values is not None
    assert record.values["importer_name"] == "SOCIÉTÉ GÉNÉRALE D'IMPORT"


def test_utf8_file_declared_unow_is_decoded() -> None:
    text = interchange(message(["BGM+929:::IM+D1+9", "NAD+IM+++北京贸易有限公司+++++CN", "LIN+1",
                                "PIA+5+847130:HS"])).replace("UNOC:3", "UNOW:4")

    [record] = read_bytes(text.encode("utf-8"))

    assert record.values is not None
    assert record.values["importer_name"] == "北京贸易有限公司"


def test_declaration_type_from_document_code_when_not_named() -> None:
    def kind(bgm: str) -> str | None:
        [record] = read_text(interchange(message([bgm, "LIN+1", "PIA+5+847130:HS"])))
        assert record.values is not None
        return record.values["declaration_type"]

    assert kind("BGM+929+D1+9") == "IM"
    assert kind("BGM+830+D1+9") == "EX"
    assert kind("BGM+950+D1+9") == "TR"
    assert kind("BGM+914+D1+9") == "914"  # passed on as found: the validator names the problem
    assert kind("BGM+:::EX+D1+9") == "EX"  # the name, when there is no standard code
    assert kind("BGM+830:::EXPORT DECLARATION+D1+9") == "EX"  # the standard code wins over a national name


def test_masses_in_tonnes_and_grams_are_converted_exactly() -> None:
    [record] = read_text(interchange(message(["BGM+929+D1+9", "LIN+1", "PIA+5+847130:HS",
                                              "MEA+AAE+AAC+GRM:1500", "MEA+AAE+AAD+TNE:0,0125"])))

    assert record.values is not None
    assert (record.values["net_mass_kg"], record.values["gross_mass_kg"]) == ("1.500", "12.5000")


def test_customs_items_without_lin_are_read_from_cst() -> None:
    body = ["BGM+929+D1+9", "CST++1:ZZZ", "UNS+D", "CST+1+845012907:108:ZZZ", "FTX+AAA+++CENTRIFUGES",
            "LOC+27+AU", "MOA+38:1688", "CST+2+850440", "UNS+S"]

    records = read_text(interchange(message(body)))

    assert [(r.values or {}).get("item_no") for r in records] == ["1", "2"]
    assert [(r.values or {}).get("hs_code") for r in records] == ["845012907", "850440"]
    assert records[0].values is not None
    assert records[0].values["country_of_origin"] == "AU"


def test_values_are_passed_on_as_found_not_validated() -> None:
    [record] = read_text(interchange(message(["BGM+:::XX+D1+9", "DTM+137:31/01/2024", "LOC+35+Narnia",
                                              "LIN+1", "PIA+5+NOTACODE:HS", "MEA+AAE+AAC+KGM:heavy"])))

    assert record.values is not None
    assert record.values["declaration_type"] == "XX"
    assert record.values["declaration_date"] == "31/01/2024"
    assert record.values["country_of_dispatch"] == "Narnia"
    assert record.values["hs_code"] == "NOTACODE"
    assert record.values["net_mass_kg"] == "heavy"


# ---------------------------------------------------------------- malformed and hostile input

SAMPLE_TEXT = SAMPLE.read_text()


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "the file is empty"),
    (b"\n\r\n  ", "the file is empty"),
    (b"declaration_id,item_no,declaration_date\nD1,1,2024-01-31\n", "not an EDIFACT interchange"),
    (b"\x00\xff\xfe\x89PNG\r\n\x1a\n garbage", "not an EDIFACT interchange"),
    (b"UNA:+.? '\nUNH+1+CUSDEC:D:96B:UN'", "segment 2 (after UNA) should be the UNB header"),
    (b"UNA:+", "UNA): the service string advice is cut short"),
    (b"UNA::::::UNB+UNOC:3'", "UNA): separators"),
    (b"UNAa+.? 'UNB+UNOC:3'", "UNA): "),
    (b"UNA:+;? 'UNB+UNOC:3'", "decimal mark"),
    (b"UNB+UNOZ:3+A+B+1:1+1'", "character set 'UNOZ' is not supported"),
    (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSDEC:D:96B:UN'UNT+2+1'UNB+UNOC:3+A+B+1:1+2'", "a second interchange"),
])
def test_file_level_problems_raise_one_clear_line(data: bytes, expected: str) -> None:
    with pytest.raises(EdifactError) as caught:
        read_bytes(data)

    assert expected in str(caught.value)
    assert_one_line(str(caught.value))


def test_non_edifact_file_with_explicit_encoding_is_still_rejected() -> None:
    with pytest.raises(EdifactError, match="not an EDIFACT interchange"):
        read_bytes(b"a,b,c\n1,2,3\n", encoding="utf-8")


def test_truncated_file_keeps_complete_messages_and_reports_the_cut_one() -> None:
    cut = SAMPLE_TEXT.index("MEA+AAE+AAC+KGM:450,5") + 10

    records = read_text(SAMPLE_TEXT[:cut])

    assert [r.error is None for r in records] == [True, True, False]
    where, code, text = errors(records)[0]
    assert (where, code) == ("UNT", "EDIFACT_TRUNCATED")
    assert "truncated" in text
    assert records[2].line == 42
    assert records[2].raw.startswith("UNH+2+")
    assert records[2].raw.endswith("MEA+AAE+AA")


def test_message_without_unt_followed_by_another_is_reported_alone() -> None:
    broken = message(GOOD_BODY).replace("UNT+10+1'\n", "")

    records = read_text(interchange(broken, message(GOOD_BODY, ref="2")))

    assert errors(records)[0][1] == "EDIFACT_TRUNCATED"
    assert "UNH" in errors(records)[0][2]
    assert records[1].values is not None
    assert records[1].line == 16


def test_missing_bgm_is_an_error_record_for_that_message_only() -> None:
    records = read_text(interchange(message(GOOD_BODY), message(GOOD_BODY[1:], ref="2")))

    assert records[0].error is None
    assert records[1].values is None
    assert records[1].error is not None
    where, code, text = records[1].error
    assert (where, code) == ("BGM", "EDIFACT_MISSING_SEGMENT")
    assert text.startswith("message 2 (UNH at segment 13): no BGM segment")
    assert records[1].line == 13


def test_item_without_commodity_code_is_read_for_the_validator_to_report() -> None:
    body = [*GOOD_BODY[:-1], "LIN+2", "FTX+AAA+++NUTS", "UNS+S"]

    *_, record = read_text(interchange(message(body)))

    assert record.error is None
    assert record.values is not None
    assert record.values["hs_code"] is None  # the validator says it is missing, with the row kept
    assert record.line == 11


def test_wrong_unt_count_is_an_error_record() -> None:
    [record] = read_text(interchange(message(GOOD_BODY, count=7)))

    assert record.error is not None
    assert record.error[:2] == ("UNT", "EDIFACT_SEGMENT_COUNT")
    assert "UNT says the message has 7 segments, but it has 10" in record.error[2]


def test_unt_reference_must_match_unh() -> None:
    text = interchange(message(GOOD_BODY)).replace("UNT+10+1'", "UNT+10+9'")

    [record] = read_text(text)

    assert record.error is not None
    assert record.error[1] == "EDIFACT_REFERENCE_MISMATCH"


def test_non_cusdec_message_is_rejected_and_the_others_read() -> None:
    invoic = message(["BGM+380+INV1+9", "LIN+1", "PIA+5+847130:HS"], ref="2", kind="INVOIC:D:96A:UN")

    records = read_text(interchange(message(GOOD_BODY), invoic, message(GOOD_BODY, ref="3")))

    assert [r.error[1] if r.error else None for r in records] == [None, "EDIFACT_UNSUPPORTED_MESSAGE", None]
    assert records[1].error is not None
    assert "INVOIC, not CUSDEC" in records[1].error[2]


def test_message_without_items_is_an_error_record() -> None:
    [record] = read_text(interchange(message(["BGM+929+D1+9"])))

    assert record.error is not None
    assert record.error[1] == "EDIFACT_NO_ITEMS"


def test_mass_in_an_unknown_unit_is_an_error_record() -> None:
    [record] = read_text(interchange(message(["BGM+929+D1+9", "LIN+1", "PIA+5+847130:HS", "MEA+AAE+AAC+LBR:5"])))

    assert record.error is not None
    assert record.error[1] == "EDIFACT_UNSUPPORTED_UNIT"


def test_garbage_inside_a_message_is_a_syntax_error_record() -> None:
    text = interchange(message(GOOD_BODY), message([*GOOD_BODY[:3], "\x00\x7f gar bage", *GOOD_BODY[3:]], ref="2"))

    records = read_text(text)

    assert records[0].error is None
    assert records[1].error is not None
    assert records[1].error[1] == "EDIFACT_SYNTAX"
    assert "segment 17 cannot be read" in records[1].error[2]


def test_segments_outside_any_message_become_one_error_record() -> None:
    text = HEADER + "BGM+929+LOST+9'\nFTX+AAA+++STRAY'\n" + message(GOOD_BODY) + "UNZ+1+1'\n"

    records = read_text(text)

    assert records[0].error == ("BGM", "EDIFACT_OUTSIDE_MESSAGE",
                                "segments 3-4 (BGM, FTX) are outside any UNH..UNT message and were not read")
    assert records[0].raw == "BGM+929+LOST+9'\nFTX+AAA+++STRAY'"
    assert records[1].error is None


def test_one_megabyte_segment_is_rejected_without_losing_the_other_messages() -> None:
    huge = "FTX+AAA+++" + "X" * 1_000_000
    text = interchange(message(GOOD_BODY), message([*GOOD_BODY[:4], huge, *GOOD_BODY[4:]], ref="2"),
                       message(GOOD_BODY, ref="3"))

    records = read_text(text)

    assert [r.error[1] if r.error else None for r in records] == [None, "EDIFACT_SEGMENT_TOO_LONG", None]
    assert records[1].error is not None
    assert f"segment 18 (FTX) has 1,000,010 characters, more than the {MAX_SEGMENT_CHARS:,}" in records[1].error[2]
    assert len(records[1].raw) < 10_000  # only the beginning of the huge segment is kept


def test_file_without_any_segment_terminator_is_bounded_and_reported() -> None:
    text = HEADER + "UNH+1+CUSDEC:D:96B:UN'" + "garbage without terminator " * 40_000

    [record] = read_text(text)

    assert record.error is not None
    assert record.error[1] == "EDIFACT_TRUNCATED"
    assert len(record.raw) < 10_000


def test_error_messages_are_single_lines() -> None:
    text = interchange(message(GOOD_BODY[1:]), message(GOOD_BODY, ref="2", count=3),
                       message([*GOOD_BODY[:3], "x\ny+1", *GOOD_BODY[3:]], ref="3"))

    for where, code, text_ in errors(read_text(text)):
        assert where
        assert code.startswith("EDIFACT_")
        assert_one_line(text_)


def test_missing_unz_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cintel.ingest.edifact"):
        records = read_text(HEADER + message(GOOD_BODY))

    assert len(records) == 1
    assert records[0].error is None
    assert "no UNZ trailer" in caplog.text


def test_wrong_unz_count_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cintel.ingest.edifact"):
        read_text(interchange(message(GOOD_BODY), count=5))

    assert "counts 5 messages, the file has 1" in caplog.text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_raise_edifact_error(data: bytes) -> None:
    try:
        records = read_bytes(data)
    except EdifactError as exc:
        assert_one_line(str(exc))
    else:
        assert all(isinstance(r, EdifactRecord) for r in records)


EDI_ALPHABET = st.sampled_from(["'", "+", ":", "?", "\n", " ", "UNH", "UNT", "UNZ", "UNB", "UNA", "BGM", "LIN",
                                "PIA", "MEA", "CUSDEC", "1", "2", "KGM", "TNE", "X", "é", "\x00", "UNS+D", "UNS+S"])


@settings(max_examples=300, deadline=None)
@given(st.lists(EDI_ALPHABET, max_size=200).map("".join), st.sampled_from(["latin-1", "utf-8"]))
def test_arbitrary_text_after_a_valid_header_only_raises_edifact_error(body: str, codec: str) -> None:
    try:
        records = read_bytes((HEADER + body).encode(codec))
    except EdifactError as exc:
        assert_one_line(str(exc))
    else:
        for record in records:
            assert (record.values is None) != (record.error is None)
            if record.error:
                assert_one_line(record.error[2])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_sample_only_raises_edifact_error_or_yields_records(data: st.DataObject) -> None:
    raw = bytearray(SAMPLE.read_bytes())
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            del raw[at : at + data.draw(st.integers(1, 40))]
        elif action == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=10))
        elif at < len(raw):
            raw[at] = data.draw(st.integers(0, 255))
    try:
        records = read_bytes(bytes(raw))
    except EdifactError as exc:
        assert_one_line(str(exc))
    else:
        assert all(isinstance(r, EdifactRecord) for r in records)


# ---------------------------------------------------------------- streaming


class CountingStream(io.BytesIO):
    """A binary stream that remembers how much was read and in what sizes."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0
        self.requests: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.requests.append(-1 if size is None else size)
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_two_thousand_messages_are_streamed_block_by_block(tmp_path: Path) -> None:
    n = 2000
    frame = pl.DataFrame({
        "declaration_id": [f"D{i:05d}" for i in range(n) for _ in range(2)],
        "item_no": [j for _ in range(n) for j in (1, 2)],
        "importer_name": ["ACME TRADING ' + : ? LTD"] * (2 * n),
    "importer_country": ["NL"] * (2 * n),
        "hs_code": ["847130"] * (2 * n),
        "goods_description": ["PORTABLE COMPUTERS"] * (2 * n),
        "net_mass_kg": [12.5] * (2 * n),
    })
    path = tmp_path / "big.edi"
    write_cusdec(frame, path)
    stream = CountingStream(path.read_bytes())
    assert path.stat().st_size > 6 * BLOCK_BYTES

    records = iter_cusdec(stream)
    first = next(records)

    assert first.values is not None
    assert first.values["declaration_id"] == "D00000"
    assert stream.consumed <= BLOCK_BYTES  # one block was enough for the first declaration
    rest = list(records)
    assert len(rest) == 2 * n - 1
    assert all(r.error is None for r in rest)
    assert stream.consumed == path.stat().st_size
    assert max(stream.requests) == BLOCK_BYTES  # never one read of the whole file


# ---------------------------------------------------------------- writing and the round trip


def test_writer_groups_rows_of_a_declaration_that_are_not_contiguous(tmp_path: Path) -> None:
    frame = pl.DataFrame({"declaration_id": ["A", "B", "A"], "item_no": [1, 1, 2], "hs_code": ["01", "02", "03"]})
    path = tmp_path / "out.edi"

    write_cusdec(frame, path)
    records = list(read_cusdec(path))

    assert [(r.values or {}).get("declaration_id") for r in records] == ["A", "A", "B"]
    assert [(r.values or {}).get("hs_code") for r in records] == ["01", "03", "02"]
    text = path.read_text(encoding="latin-1")
    assert text.startswith("UNA:+.? '\nUNB+UNOC:3+")
    assert text.count("UNH+") == 2
    assert "UNZ+2+" in text


def test_writer_uses_utf8_only_when_latin1_cannot_carry_the_values(tmp_path: Path) -> None:
    latin, wide = tmp_path / "latin.edi", tmp_path / "wide.edi"

    write_cusdec(pl.DataFrame({"declaration_id": ["A"], "importer_name": ["Société"]}), latin)
    write_cusdec(pl.DataFrame({"declaration_id": ["A"], "importer_name": ["東京商事"]}), wide)

    assert b"UNB+UNOC:3" in latin.read_bytes()
    assert "Société".encode("latin-1") in latin.read_bytes()
    assert b"UNB+UNOW:4" in wide.read_bytes()
    assert "東京商事".encode() in wide.read_bytes()


def test_writer_cuts_long_texts_into_standard_lengths_and_reader_joins_them(tmp_path: Path) -> None:
    name, description = "N" * 34 + "é" * 200, "".join(chr(65 + i % 26) for i in range(4000))
    frame = pl.DataFrame({"declaration_id": ["A"], "item_no": [1], "importer_name": [name],
                          "goods_description": [description]})
    path = tmp_path / "long.edi"

    write_cusdec(frame, path)
    [record] = read_cusdec(path)

    assert record.values is not None
    assert (record.values["importer_name"], record.values["goods_description"]) == (name, description)
    assert path.read_text(encoding="latin-1").count("FTX+AAA") == 2


@pytest.mark.parametrize("frame", [
    pl.DataFrame({"item_no": [1]}),
    pl.DataFrame({"declaration_id": ["A", None]}),
    pl.DataFrame({"declaration_id": ["A"], "net_mass_kg": [float("nan")]}),
    pl.DataFrame({"declaration_id": ["A"], "invoice_value": [float("inf")]}),
])
def test_writer_refuses_rows_it_cannot_represent(frame: pl.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(EdifactError, match="cannot write CUSDEC"):
        write_cusdec(frame, tmp_path / "x.edi")


ENTRY_FIELDS = {"documents", "duties", "item_documents"}
TEXT_FIELDS = [f for f in FIELDS if f not in NUMERIC | ENTRY_FIELDS | {
    "item_no", "declaration_date", "declaration_id", "container_numbers", "transshipment_ports"}]
HOSTILE = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), min_size=1, max_size=40),
    st.sampled_from(["O'Brien + Sons: ?", "'", "?", "??'", "+:'?", "UNT+2+1'", "?'UNA:+.? '", "Ölwerk ÄÖÜ",
                     "東京商事", " lead", "trail ", "\ufeffBOM", "?"]),
)
NUMBER = st.floats(allow_nan=False, allow_infinity=False)
LIST = st.lists(st.text(st.characters(codec="utf-8", exclude_characters=";\r\n"), min_size=1,
                        max_size=12), min_size=1, max_size=3).map(";".join)
PART = st.text(st.characters(codec="utf-8", exclude_characters=";:\r\n"), min_size=1, max_size=10)
DOCUMENTS = st.lists(st.tuples(PART, PART), min_size=1, max_size=3).map(
    lambda entries: ";".join(f"{kind}:{ref}" for kind, ref in entries))
DUTIES = st.lists(st.tuples(PART, *[st.one_of(st.just(""), PART)] * 3), min_size=1, max_size=3).map(
    lambda entries: ";".join(":".join(parts) for parts in entries))


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


HEADER_STRATEGY = st.fixed_dictionaries({
    **{f: optional(HOSTILE) for f in TEXT_FIELDS if DECLARATIONS.field(f).level.value == "header"},
    "declaration_date": optional(st.dates()),
    "transshipment_ports": optional(LIST),
    "documents": optional(DOCUMENTS),
})
ITEM_STRATEGY = st.fixed_dictionaries({
    **{f: optional(HOSTILE) for f in TEXT_FIELDS if DECLARATIONS.field(f).level.value == "item"},
    **{f: optional(NUMBER) for f in NUMERIC},
    "item_no": st.integers(0, 10**6),
    "container_numbers": optional(LIST),  # containers belong to items
    "duties": optional(DUTIES),
    "item_documents": optional(DOCUMENTS),
})
DECLARATIONS_STRATEGY = st.lists(st.tuples(HOSTILE, HEADER_STRATEGY, st.lists(ITEM_STRATEGY, min_size=1,
                                                                                max_size=3)),
                                 min_size=1, max_size=4, unique_by=lambda d: d[0])


def expected_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DECLARATIONS_STRATEGY, st.randoms())
def test_round_trip_gives_back_every_value(declarations: list[Any], rnd: Any) -> None:
    rows = [{"declaration_id": key, **header, **item} for key, header, items in declarations for item in items]
    shuffled = rows[:]
    rnd.shuffle(shuffled)  # the writer must group rows of a declaration wherever they are
    frame = pl.DataFrame(shuffled, schema={
        **{f: pl.String for f in FIELDS if f not in NUMERIC | {"item_no", "declaration_date"}},
        **{f: pl.Float64 for f in NUMERIC}, "item_no": pl.Int64, "declaration_date": pl.Date})
    first_seen = list(dict.fromkeys(r["declaration_id"] for r in shuffled))
    expected = [r for key in first_seen for r in shuffled if r["declaration_id"] == key]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "round.edi"
        write_cusdec(frame, path)
        records = list(read_cusdec(path))

    assert [r.error for r in records] == [None] * len(expected)
    for record, row in zip(records, expected, strict=True):
        assert record.values is not None
        for field in FIELDS:
            got, want = record.values[field], row.get(field)
            if field in NUMERIC and want is not None:
                assert got is not None, field
                assert float(got) == want, field
            else:
                assert got == expected_text(field, want), field
