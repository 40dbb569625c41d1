"""Real CUSDEC messages (SARS samples): mapped by their guide's profile, every syntax variant alike,
and through the pipeline on every back end with the message's segments kept for the clerk."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from cintel.domain.access import local_operator
from cintel.ingest.edifact import read_cusdec
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.quarantine import show_entry
from cintel.store import tables

REAL = Path(__file__).parents[2] / ".." / "shared" / "data" / "real" / "cusdec"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"the real samples are not here ({REAL})")
BASE = "za_sars_cusdec_89.edi"
# Variants that add or change a value on purpose; the rest must read exactly as the base file.
CHANGED = {
    "sars_una_decimal_comma.edi": {"invoice_value": "2250.50"},
    "sars_release_in_name.edi": {"importer_id": "00549578", "importer_name": "O'BRIEN + SONS (PTY) LTD:DURBAN",
                                 "importer_address": "1 QUAY'S ROAD, 4001 DURBAN"},
    "sars_unow_utf8name.edi": {"importer_id": "00549578", "importer_name": "ŁÓDŹ TRADING SP. Z O.O.",
                               "importer_country": "PL", "importer_address": "UL. PIOTRKOWSKA 1, 90-001 ŁÓDŹ"},
}
CHANGED["sars_unoy_utf8name.edi"] = CHANGED["sars_unow_utf8name.edi"]


def values(name: str) -> dict[str, str | None]:
    [record] = read_cusdec(REAL / name)
    assert record.error is None, record.error
    assert record.values is not None
    return record.values


def test_sars_import_maps_header_item_parties_duties_and_documents() -> None:
    v = values(BASE)

    assert {k: v[k] for k in (
        "declaration_id", "declaration_type", "office_code", "importer_country", "country_of_dispatch",
        "country_of_destination", "country_of_origin", "port_of_loading", "transport_mode", "hs_code",
        "gross_mass_kg", "invoice_value", "customs_value", "duties", "documents", "total_packages", "packages",
        "package_marks", "representative_id", "preference_code", "bl_number", "item_no")} == {
        "declaration_id": "00505655JSA20160506000088", "declaration_type": "IM",
        "office_code": "JSA",  # LOC+96, place of lodgement of documents
        "importer_country": "ZA",  # implied: the SARS profile names the administration's country
        "country_of_dispatch": "AU", "country_of_destination": "ZA", "country_of_origin": "AU",
        "port_of_loading": "AUSYD", "transport_mode": "4", "hs_code": "845012907",
        "gross_mass_kg": "500.00",  # header MEA, the only item's default
        "invoice_value": "2250", "customs_value": "2250", "duties": "1P1:::675.00;VAT:::441.00",
        "documents": "380:INVH1", "total_packages": "2", "packages": "2",
        "package_marks": "MARKS AND NUMBERS TESTING HERE", "representative_id": "00505655",
        "preference_code": "100", "bl_number": "081-21333222", "item_no": "0001",
    }


def test_a_date_under_a_reference_is_not_the_declaration_date() -> None:
    assert values(BASE)["declaration_date"] is None  # both DTM+137 stand under RFF (SG RFF-DTM)


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("sars_*.edi")) if REAL.is_dir() else [])
def test_every_syntax_variant_reads_the_same_declaration(name: str) -> None:
    expected = {**values(BASE), **CHANGED.get(name, {})}

    assert values(name) == expected


def test_wrong_segment_count_quarantines_that_message_and_the_next_is_read() -> None:
    first, second = read_cusdec(REAL / "za_sars_cusdec_two.edi")

    assert first.values is None
    assert first.error is not None
    assert first.error[:2] == ("UNT", "EDIFACT_SEGMENT_COUNT")
    assert "UNT says the message has 48 segments, but it has 58" in first.error[2]
    assert first.raw.startswith("UNH+3242+CUSDEC:D:96B:UN:ZZZ01'\nBGM+929+00505655JSA20161020003240")
    assert second.error is None
    assert second.values is not None
    assert second.values["declaration_id"] == "00505655JSA20160506000088"


def quarantine(engine: Engine) -> list[dict[str, object]]:
    q = tables.quarantine
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(q).order_by(q.c.source_row)).mappings()]


def test_ingested_sars_message_is_quarantined_with_its_reason_and_segments(engine: Engine) -> None:
    report = ingest_file(engine, REAL / BASE)

    assert report.rows_read == 1
    entries = quarantine(engine)
    if report.rows_stored:  # the record format may one day accept a declaration without a date
        assert entries == []
        return
    [entry] = entries
    problems = {e["field"]: e["code"] for e in orjson.loads(str(entry["errors"]))}
    # The message names no importer, no invoice currency, no net mass, and no declaration date (its
    # DTM+137 are the dates of references): what a clerk must add before it can be stored.
    assert problems == {"net_mass_kg": "MISSING_VALUE", "declaration_date": "MISSING_VALUE",
                        "invoice_currency": "MISSING_VALUE", "importer_name": "MISSING_PARTY"}
    assert entry["source_text"] is not None
    assert "CST+0001+845012907:108:ZZZ+100'" in str(entry["source_text"])
    assert "RFF+BH:VICTHB001'\nDTM+137:20160506:102'" in str(entry["source_text"])
    shown = show_entry(engine, local_operator("test"), int(entry["id"]))  # type: ignore[call-overload]
    assert shown["source_text"] == entry["source_text"]
    assert '"hs_code":"845012907"' in shown["raw"]


def test_unmappable_message_keeps_its_segments_in_quarantine(engine: Engine) -> None:
    report = ingest_file(engine, REAL / "za_sars_cusdec_two.edi")

    assert report.rows_read == 2
    first = quarantine(engine)[0]
    assert first["code"] == "EDIFACT_ERROR"
    assert "EDIFACT_SEGMENT_COUNT" in str(first["message"])
    assert str(first["source_text"]).startswith("UNH+3242+CUSDEC")
