"""DCSA Track & Trace events (TNT 2.2 and 3.0) mapped to flat EVENTS rows by a documented profile.

The mapping is data: `FIELD_PATHS` gives, for each field of the `events` format, the JSON paths
tried in order (the first that holds a value wins), so one table reads both the TNT 3.0 shape
(`eventClassification`, `transportDetails.transportCall`, `equipmentDetails`) and the flat 2.2
shape (`eventType`, `eventClassifierCode`, `transportCall.vessel`). `DOCUMENT_PATHS` says where
the document references are; every one found becomes a `TYPE:REFERENCE` entry, and the transport
document (TRD) is the event's bill of lading.

Path syntax: keys joined by `.`; `key[name=VALUE]` picks the element of a list (or the object) whose
`name` is VALUE; `key[*]` takes every element of a list. Fields not found are empty.

What is kept honest: the classifier is copied as given (a PLN or EST event is not an ACT one) and
left empty when absent; categories cintel does not model (IOT, REEFER) keep their code, so the
validator quarantines them (INVALID_CODE) rather than the reader dropping them; SHIPMENT events
name no container or vessel and are quarantined as MISSING_SUBJECT.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_CLASSIFICATION = "eventClassification"
_TRANSPORT_CALL_3 = "transportDetails.transportCall"

FIELD_PATHS: dict[str, tuple[str, ...]] = {
    "event_id": ("eventID",),
    "event_time": ("eventDateTime",),
    "event_classifier": (f"{_CLASSIFICATION}.eventClassifierCode", "eventClassifierCode"),
    "event_category": (f"{_CLASSIFICATION}.eventTypeCode", "eventType"),
    "event_type": (
        f"{_CLASSIFICATION}.equipmentEventTypeCode", f"{_CLASSIFICATION}.transportEventTypeCode",
        f"{_CLASSIFICATION}.shipmentEventTypeCode", f"{_CLASSIFICATION}.iotEventTypeCode",
        f"{_CLASSIFICATION}.reeferEventTypeCode",
        "equipmentEventTypeCode", "transportEventTypeCode", "shipmentEventTypeCode",
    ),
    "container_number": ("equipmentDetails.equipmentReference", "equipmentReference"),
    "vessel_imo": (
        f"{_TRANSPORT_CALL_3}.vesselTransport.vesselIMONumber", "transportCall.vessel.vesselIMONumber",
        "vessel.vesselIMONumber",
    ),
    "locode": (
        "eventLocation.UNLocationCode", f"{_TRANSPORT_CALL_3}.location.UNLocationCode",
        "transportCall.UNLocationCode", "transportCall.location.UNLocationCode",
    ),
    "latitude": ("eventLocation.geoCoordinate.latitude", "eventLocation.latitude",
                 "transportCall.location.latitude"),
    "longitude": ("eventLocation.geoCoordinate.longitude", "eventLocation.longitude",
                  "transportCall.location.longitude"),
    "facility_code": ("eventLocation.facilityCode", f"{_TRANSPORT_CALL_3}.location.facilityCode",
                      "transportCall.facilityCode", "transportCall.location.facilityCode"),
    # The export voyage first: the one a departure, a load or a gate-in belongs to.
    "voyage": (
        f"{_TRANSPORT_CALL_3}.exportVoyageNumberOrReference.carrierVoyageNumber",
        f"{_TRANSPORT_CALL_3}.exportVoyageNumberOrReference.universalVoyageReference",
        f"{_TRANSPORT_CALL_3}.importVoyageNumberOrReference.carrierVoyageNumber",
        f"{_TRANSPORT_CALL_3}.importVoyageNumberOrReference.universalVoyageReference",
        "transportCall.carrierExportVoyageNumber", "transportCall.exportVoyageNumber",
        "transportCall.carrierImportVoyageNumber", "transportCall.importVoyageNumber",
    ),
    "bl_number": (
        "shipmentDetails.documentReference[typeCode=TRD].reference",
        "shipmentDetails.additionalDocumentReferences[typeCode=TRD].reference",
        "documentReferences[typeCode=TRD].reference",
        "documentReferences[documentReferenceType=TRD].documentReferenceValue",
        "transportDocumentReference",
    ),
    "empty_indicator": ("equipmentDetails.emptyIndicatorCode", "emptyIndicatorCode"),
    "retracted_event_id": ("retractedEventID",),
}

# Where document references are: (path to one reference or a list of them, key of the type, key of the value).
DOCUMENT_PATHS: tuple[tuple[str, str, str], ...] = (
    ("shipmentDetails.documentReference", "typeCode", "reference"),
    ("shipmentDetails.additionalDocumentReferences[*]", "typeCode", "reference"),
    ("documentReferences[*]", "typeCode", "reference"),
    ("documentReferences[*]", "documentReferenceType", "documentReferenceValue"),
    ("", "documentTypeCode", "documentID"),  # a 2.2 shipment event names its own document
)

_STEP = re.compile(r"^(?P<key>[^\[]*)(?:\[(?:(?P<all>\*)|(?P<name>[^=\]]+)=(?P<value>[^\]]*))\])?$")


def _steps(path: str) -> list[tuple[str, str | None, str | None, bool]]:
    steps = []
    for part in path.split(".") if path else []:
        m = _STEP.match(part)
        if m is None:
            raise ValueError(f"bad DCSA path step {part!r}")
        steps.append((m["key"], m["name"], m["value"], bool(m["all"])))
    return steps


def resolve(obj: Any, path: str) -> Iterator[Any]:
    """Every value at `path` in `obj` (see the module docstring for the syntax)."""
    values: list[Any] = [obj]
    for key, name, wanted, every in _steps(path):
        found: list[Any] = []
        for value in values:
            if key:
                value = value.get(key) if isinstance(value, dict) else None
            if value is None:
                continue
            if every:
                found.extend(value if isinstance(value, list) else [value])
            elif name is not None:
                candidates = value if isinstance(value, list) else [value]
                found.extend(c for c in candidates if isinstance(c, dict) and str(c.get(name)) == wanted)
            else:
                found.append(value)
        values = found
    yield from values


def first(obj: Any, paths: tuple[str, ...]) -> Any:
    """The value at the first of `paths` that holds one (not null, not an empty string)."""
    for path in paths:
        for value in resolve(obj, path):
            if value is not None and value != "":
                return value
    return None


def documents(obj: Any) -> list[str]:
    """The document references of an event as TYPE:REFERENCE entries, each once, in the order found."""
    entries: list[str] = []
    for path, type_key, value_key in DOCUMENT_PATHS:
        for ref in resolve(obj, path):
            if isinstance(ref, dict) and ref.get(type_key) not in (None, "") and ref.get(value_key) not in (None, ""):
                entry = f"{ref[type_key]}:{ref[value_key]}"
                if entry not in entries:
                    entries.append(entry)
    return entries


def is_dcsa_event(obj: object) -> bool:
    """Whether a JSON object has the shape of a DCSA event (3.0 classification or 2.2 type and classifier)."""
    return isinstance(obj, dict) and (
        isinstance(obj.get(_CLASSIFICATION), dict) or ("eventType" in obj and "eventClassifierCode" in obj))


def map_event(obj: dict[str, Any]) -> dict[str, Any]:
    """The flat EVENTS values of a DCSA event, as JSON values (the reader turns them into text)."""
    values: dict[str, Any] = {name: first(obj, paths) for name, paths in FIELD_PATHS.items()}
    docs = documents(obj)
    values["document_reference"] = ";".join(docs) if docs else None
    return values
