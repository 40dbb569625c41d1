"""DCSA Track & Trace events read as events, their classifier kept: a planned event is not an actual one."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from cintel.domain.records import RecordKind
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.read_dcsa import map_event
from cintel.ingest.readers import ReadOptions, open_reader
from cintel.store import tables

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "dcsa" / "tnt-300-response.json"

V3_PLANNED = {
    "eventID": "v3-pln-1", "eventDateTime": "2025-03-01T08:00:00Z",
    "eventClassification": {"eventTypeCode": "TRANSPORT", "eventClassifierCode": "PLN",
                            "transportEventTypeCode": "ARRI"},
    "eventLocation": {"UNLocationCode": "NLRTM", "facilityCode": "ECTDE"},
    "transportDetails": {"transportCall": {"vesselTransport": {"vesselIMONumber": "9321483"},
                                           "importVoyageNumberOrReference": {"carrierVoyageNumber": "2103N"}}},
}
V3_ESTIMATED_LOAD = {
    "eventID": "v3-est-1", "eventDateTime": "2025-03-02T08:00:00Z", "retractedEventID": "v3-old-1",
    "eventClassification": {"eventTypeCode": "EQUIPMENT", "eventClassifierCode": "EST",
                            "equipmentEventTypeCode": "LOAD"},
    "eventLocation": {"UNLocationCode": "NLRTM"},
    "equipmentDetails": {"equipmentReference": "APZU4812090", "emptyIndicatorCode": "LADEN"},
    "shipmentDetails": {"documentReference": {"typeCode": "TRD", "reference": "BL-77"}},
}
V22_ACTUAL = {
    "eventID": "v22-act-1", "eventType": "EQUIPMENT", "eventClassifierCode": "ACT",
    "eventDateTime": "2025-03-03T10:00:00Z",
    "equipmentEventTypeCode": "DISC", "equipmentReference": "APZU4812090", "emptyIndicatorCode": "EMPTY",
    "transportCall": {"UNLocationCode": "DEHAM", "facilityCode": "CTA", "carrierExportVoyageNumber": "2103S",
                      "vessel": {"vesselIMONumber": 9321483}},
    "documentReferences": [{"documentReferenceType": "BKG", "documentReferenceValue": "BK-1"},
                           {"documentReferenceType": "TRD", "documentReferenceValue": "BL-77"}],
}


def test_a_tnt_3_event_maps_by_the_profile() -> None:
    row = map_event(V3_ESTIMATED_LOAD)
    assert (row["event_type"], row["event_classifier"], row["event_category"]) == ("LOAD", "EST", "EQUIPMENT")
    assert (row["container_number"], row["locode"], row["empty_indicator"]) == ("APZU4812090", "NLRTM", "LADEN")
    assert (row["bl_number"], row["document_reference"]) == ("BL-77", "TRD:BL-77")
    assert row["retracted_event_id"] == "v3-old-1"


def test_a_tnt_2_2_flat_event_maps_by_the_same_profile() -> None:
    row = map_event(V22_ACTUAL)
    assert (row["event_type"], row["event_classifier"], row["vessel_imo"]) == ("DISC", "ACT", 9321483)
    assert (row["locode"], row["facility_code"], row["voyage"]) == ("DEHAM", "CTA", "2103S")
    assert (row["bl_number"], row["document_reference"]) == ("BL-77", "BKG:BK-1;TRD:BL-77")


@pytest.mark.parametrize("layout", ["wrapped", "array", "lines"])
def test_a_dcsa_file_is_detected_as_events_in_any_layout(tmp_path: Path, layout: str) -> None:
    events = [V3_PLANNED, V3_ESTIMATED_LOAD, V22_ACTUAL]
    data = {"wrapped": orjson.dumps({"events": events}, option=orjson.OPT_INDENT_2),
            "array": orjson.dumps(events), "lines": b"".join(orjson.dumps(e) + b"\n" for e in events)}[layout]
    path = tmp_path / "tnt.json"
    path.write_bytes(data)
    reader = open_reader(path, None, ReadOptions())
    assert reader.kind is RecordKind.EVENTS
    frame = next(iter(reader.chunks())).frame
    assert frame["event_classifier"].to_list() == ["PLN", "EST", "ACT"]


def test_a_dcsa_file_given_another_kind_is_refused(tmp_path: Path) -> None:
    from cintel.ingest.problems import IngestError

    path = tmp_path / "tnt.json"
    path.write_bytes(orjson.dumps({"events": [V3_PLANNED]}))
    with pytest.raises(IngestError, match="DCSA file holds events"):
        open_reader(path, None, ReadOptions(kind=RecordKind.MANIFESTS))


def stored(engine: Engine) -> dict[str, dict[str, object]]:
    t = tables.record_tables[RecordKind.EVENTS]
    with engine.connect() as conn:
        return {r.event_id: dict(r._mapping) for r in conn.execute(select(t))}


def quarantined(engine: Engine) -> dict[int, list[str]]:
    q = tables.quarantine
    with engine.connect() as conn:
        return {row: [e["code"] for e in json.loads(errors)] if errors.startswith("[") else [code]
                for row, code, errors in conn.execute(select(q.c.source_row, q.c.code, q.c.errors))}


def test_planned_and_estimated_events_are_stored_as_such(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "tnt.json"
    path.write_bytes(orjson.dumps({"events": [V3_PLANNED, V3_ESTIMATED_LOAD, V22_ACTUAL]}, option=orjson.OPT_INDENT_2))
    report = ingest_file(engine, path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 3, 0)
    rows = stored(engine)
    classifiers = {k: r["event_classifier"] for k, r in rows.items()}
    assert classifiers == {"v3-pln-1": "PLN", "v3-est-1": "EST", "v22-act-1": "ACT"}
    assert (rows["v3-pln-1"]["event_type"], rows["v3-pln-1"]["vessel_imo"], rows["v3-pln-1"]["locode"]) == (
        "ARRI", "9321483", "NLRTM")
    assert rows["v3-est-1"]["document_reference"] == "TRD:BL-77"


@pytest.mark.skipif(not REAL.exists(), reason=f"the real DCSA sample is not at {REAL}")
def test_the_real_tnt_3_response_is_stored_or_quarantined_whole(engine: Engine) -> None:
    report = ingest_file(engine, REAL)
    events = orjson.loads(REAL.read_bytes())["events"]
    assert report.kind == "events"
    assert report.rows_read == len(events) == report.rows_stored + report.rows_quarantined
    rows = stored(engine)
    gate_in = rows["evt-resp-equip-001"]
    assert [gate_in[k] for k in ("event_type", "event_classifier", "event_category")] == ["GTIN", "ACT", "EQUIPMENT"]
    assert [gate_in[k] for k in ("container_number", "locode", "empty_indicator")] == ["APZU4812090", "FRPAR", "EMPTY"]
    bad = quarantined(engine)
    assert "INVALID_IMO" in bad[2]  # the departure's vessel 7654321 has a wrong check digit
    assert "MISSING_SUBJECT" in bad[1]  # a shipment event names no container or vessel
    assert "INVALID_CODE" in bad[4]  # IOT and REEFER events are not modelled
    assert "INVALID_CODE" in bad[5]
    assert len(rows) + len(bad) == len(events)
