"""EDIFACT CUSDEC messages to and from flat declaration rows, for a documented subset.

The reading side maps each UNH..UNT message, cut and checked by the syntax layer in ``edifact``,
to one flat declaration row per item (LIN), with the field names of ``DECLARATIONS``, or to one
error record saying why it cannot be mapped. Which segment and qualifier feeds which column is
documented in ``docs/cusdec.md``. ``write_cusdec`` is the inverse, used by the simulator and the
round-trip tests. Read and write through ``edifact`` (``read_cusdec``, ``iter_cusdec``, ``write_cusdec``).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl
from pydifact.segments import Segment
from pydifact.serializer import Serializer

from cintel.domain.records import DECLARATIONS
from cintel.ingest.edifact import (
    MAX_SEGMENT_CHARS,
    EdifactError,
    EdifactRecord,
    Element,
    Seg,
    Syntax,
    element_value,
    message_error,
    message_text,
    parse_segment,
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in DECLARATIONS.fields)

# BGM document name code (UNCL 1001) -> declaration type, used when BGM C002/1000 does not name it.
DOCUMENT_TYPES: dict[str, str] = {"929": "IM", "930": "IM", "830": "EX", "950": "TR"}
TYPE_DOCUMENTS: dict[str, str] = {"IM": "929", "EX": "830", "TR": "950"}

# Header LOC qualifiers (UNCL 3227), in order of preference.
LOC_FIELDS: dict[str, tuple[str, ...]] = {
    "office_code": ("22", "41"),  # customs office of clearance, else of entry
    "port_of_loading": ("9",),
    "port_of_discharge": ("11", "12"),
    "country_of_dispatch": ("35",),  # country of exportation/despatch
}
LOC_TRANSSHIPMENT = "13"
LOC_ORIGIN = "27"
NET_MASS = ("AAC",)  # MEA C502/6313 total net weight
GROSS_MASS = ("AAD", "G")  # total gross weight, gross weight
MASS_FACTORS: dict[str, Decimal] = {"KGM": Decimal(1), "TNE": Decimal(1000), "GRM": Decimal("0.001")}
MOA_FIELDS: dict[str, str] = {"38": "invoice_value", "40": "customs_value"}


@dataclass(frozen=True)
class _Parsed:
    ordinal: int
    tag: str
    elements: list[Element]

    def get(self, i: int, j: int = 0) -> str | None:
        return element_value(self.elements, i, j)

    def text(self, i: int, first: int = 0, last: int = 99) -> str | None:
        """Components first..last of element i joined without separator (long texts are cut in pieces)."""
        if i >= len(self.elements):
            return None
        element = self.elements[i]
        parts = element[first : last + 1] if isinstance(element, list) else [element][first : last + 1]
        return "".join(parts) or None


class _Unmappable(Exception):
    """Internal: a message cannot be mapped; carries the error record's parts."""

    def __init__(self, line: int, where: str, code: str, text: str) -> None:
        super().__init__(text)
        self.line, self.where, self.code, self.text = line, where, code, text


def message_records(number: int, segs: list[Seg], syntax: Syntax) -> list[EdifactRecord]:
    """The records of one complete UNH..UNT message: one per item, or one error."""
    parsed: list[_Parsed] = []
    for seg in segs:
        if seg.oversized:
            return [message_error(number, segs, seg.ordinal, seg.tag, "EDIFACT_SEGMENT_TOO_LONG",
                                   f"segment {seg.ordinal} ({seg.tag}) has {seg.oversized:,} characters, more "
                                   f"than the {MAX_SEGMENT_CHARS:,} allowed (a missing segment terminator?)")]
        try:
            tag, elements = parse_segment(seg.content, syntax)
        except Exception as exc:  # pydifact raises several types (EDISyntaxError, ValueError, ...)
            return [message_error(number, segs, seg.ordinal, seg.tag or "?", "EDIFACT_SYNTAX",
                                   f"segment {seg.ordinal} cannot be read: {exc}")]
        parsed.append(_Parsed(seg.ordinal, tag, elements))
    declaration = next((p.get(1) for p in parsed if p.tag == "BGM"), None)
    try:
        _check_envelope(parsed)
        rows = _map_cusdec(parsed)
    except _Unmappable as exc:
        return [message_error(number, segs, exc.line, exc.where, exc.code, exc.text, declaration)]
    raw = message_text(segs)
    return [EdifactRecord(line, values, None, raw) for line, values in rows]


def _check_envelope(parsed: list[_Parsed]) -> None:
    unh, unt = parsed[0], parsed[-1]
    kind = unh.get(1)
    if kind != "CUSDEC":
        raise _Unmappable(unh.ordinal, "UNH", "EDIFACT_UNSUPPORTED_MESSAGE",
                          f"the message is {kind or 'of no stated type'}, not CUSDEC; only customs "
                          "declarations are read from this file")
    if unt.get(0) != str(len(parsed)):
        raise _Unmappable(unt.ordinal, "UNT", "EDIFACT_SEGMENT_COUNT",
                          f"UNT says the message has {unt.get(0) or 'no'} segments, but it has {len(parsed)} "
                          "(UNH to UNT): segments were lost or added")
    if unt.get(1) != unh.get(0):
        raise _Unmappable(unt.ordinal, "UNT", "EDIFACT_REFERENCE_MISMATCH",
                          f"UNT reference {unt.get(1)!r} differs from UNH reference {unh.get(0)!r}")


# ---------------------------------------------------------------- reading: CUSDEC to flat rows


def _map_cusdec(parsed: list[_Parsed]) -> list[tuple[int, dict[str, str | None]]]:
    """Map a checked CUSDEC message to (segment number, flat row) per item; see docs/cusdec.md."""
    body = parsed[1:-1]
    header, items = _sections(body)
    if not any(p.tag == "BGM" for p in header):
        raise _Unmappable(parsed[0].ordinal, "BGM", "EDIFACT_MISSING_SEGMENT",
                          "no BGM segment before the first item, so the declaration number is unknown")
    if not items:
        raise _Unmappable(parsed[0].ordinal, "LIN", "EDIFACT_NO_ITEMS",
                          "the declaration has no items (no LIN segment, nor CST after UNS+D)")
    head = _map_header(header)
    rows = []
    for start, segs in items:
        values = dict(head)
        values.update(_map_item(start, segs, head))
        rows.append((start.ordinal, values))
    return rows


def _sections(body: list[_Parsed]) -> tuple[list[_Parsed], list[tuple[_Parsed, list[_Parsed]]]]:
    """Header segments, and items as (item segment, its segments); UNS+S ends the items."""
    item_tag = "LIN" if any(p.tag == "LIN" for p in body) else "CST"
    header: list[_Parsed] = []
    items: list[tuple[_Parsed, list[_Parsed]]] = []
    detail = item_tag == "LIN"  # CST is an item only in the detail section (after UNS+D)
    for p in body:
        if p.tag == "UNS":
            if p.get(0) == "S":
                break
            detail = True
            continue
        if p.tag == item_tag and detail:
            items.append((p, []))
        elif items:
            items[-1][1].append(p)
        else:
            header.append(p)
    return header, items


def _map_header(header: list[_Parsed]) -> dict[str, str | None]:
    values: dict[str, str | None] = dict.fromkeys(FIELD_NAMES)
    by_tag: dict[str, list[_Parsed]] = {}
    for p in header:
        by_tag.setdefault(p.tag, []).append(p)

    bgm = by_tag["BGM"][0]
    values["declaration_id"] = bgm.get(1)
    code = bgm.get(0)
    values["declaration_type"] = bgm.get(0, 3) or DOCUMENT_TYPES.get(code or "", code)
    for dtm in by_tag.get("DTM", []):
        if dtm.get(0) == "137":
            values["declaration_date"] = _date(dtm.get(0, 1), dtm.get(0, 2))
            break

    locations: dict[str, list[str]] = {}
    for loc in by_tag.get("LOC", []):
        locations.setdefault(loc.get(0) or "", []).append(loc.get(1) or "")
    for name, qualifiers in LOC_FIELDS.items():
        values[name] = next((locations[q][0] or None for q in qualifiers if q in locations), None)
    if LOC_TRANSSHIPMENT in locations:
        values["transshipment_ports"] = ";".join(locations[LOC_TRANSSHIPMENT])
    values["country_of_origin"] = locations.get(LOC_ORIGIN, [""])[0] or None  # items may override

    parties: dict[str | None, _Parsed] = {}
    for nad in by_tag.get("NAD", []):
        parties.setdefault(nad.get(0), nad)
    for role, prefix in (("IM", "importer"), ("EX", "exporter"), ("DT", "declarant")):
        if (party := parties.get(role)) is None:
            continue
        values[f"{prefix}_id"] = party.get(1)
        if prefix == "declarant":
            continue
        values[f"{prefix}_name"] = party.text(3, 0, 4) or party.text(2, 0, 4)  # C080 party name, else C058
        values[f"{prefix}_country"] = party.get(8)
        if prefix == "importer":
            town = " ".join(filter(None, (party.get(7), party.get(5))))  # postcode city
            values["importer_address"] = ", ".join(filter(None, (party.text(4, 0, 3), town))) or None

    tdts = by_tag.get("TDT", [])
    if tdt := next((t for t in tdts if t.get(0) == "20"), tdts[0] if tdts else None):
        values["voyage"] = tdt.get(1)
        values["transport_mode"] = tdt.get(2)
        values["vessel_imo"] = tdt.get(7)
    containers = [eqd.get(1) or "" for eqd in by_tag.get("EQD", []) if eqd.get(0) == "CN"]
    values["container_numbers"] = ";".join(containers) if containers else None
    if cuxes := by_tag.get("CUX"):  # the C504 qualified 4 (invoicing currency), else the first one
        cux = cuxes[0]
        values["invoice_currency"] = next((cux.get(i, 1) for i in (0, 1) if cux.get(i, 2) == "4"), cux.get(0, 1))
    if tods := by_tag.get("TOD"):
        values["incoterm"] = tods[0].get(2) or tods[0].get(2, 3)
    references = {rff.get(0): rff.get(0, 1) for rff in reversed(by_tag.get("RFF", []))}
    values["bl_number"] = references.get("BM") or references.get("AWB")
    return values


def _map_item(start: _Parsed, segs: list[_Parsed], header: dict[str, str | None]) -> dict[str, str | None]:
    values: dict[str, str | None] = {"item_no": start.get(0)}
    if start.tag == "LIN":
        pias = [p for p in segs if p.tag == "PIA"]
        if not pias:
            raise _Unmappable(start.ordinal, "PIA", "EDIFACT_MISSING_SEGMENT",
                              f"item {start.get(0) or '?'} (LIN at segment {start.ordinal}) has no PIA segment "
                              "with the commodity code")
        codes = [(p.get(i), p.get(i, 1)) for p in pias for i in range(1, len(p.elements))]
        values["hs_code"] = next((c for c, q in codes if c and q == "HS"), None) or next(
            (c for c, _ in codes if c), None)
    else:
        values["hs_code"] = start.get(1)
    texts = [p.text(3, 0, 4) or "" for p in segs if p.tag == "FTX" and p.get(0) == "AAA"]
    texts = texts or [p.text(2, 3, 4) or "" for p in segs if p.tag == "IMD"]
    values["goods_description"] = "".join(texts) or None
    origin = next((p.get(1) for p in segs if p.tag == "LOC" and p.get(0) == LOC_ORIGIN), None)
    values["country_of_origin"] = origin or header["country_of_origin"]
    for p in segs:
        if p.tag == "MEA" and p.get(1) in NET_MASS + GROSS_MASS:
            name = "net_mass_kg" if p.get(1) in NET_MASS else "gross_mass_kg"
            values.setdefault(name, _kilograms(p))
        elif p.tag == "QTY" and "quantity" not in values:
            values["quantity"], values["quantity_unit"] = _number(p.get(0, 1)), p.get(0, 2)
        elif p.tag == "MOA" and (amount := MOA_FIELDS.get(p.get(0) or "")):
            values.setdefault(amount, _number(p.get(0, 1)))
            if amount == "invoice_value" and not header["invoice_currency"]:
                values.setdefault("invoice_currency", p.get(0, 2))
    return values


def _kilograms(mea: _Parsed) -> str | None:
    """A mass in kg: KGM (or no unit) as found, TNE and GRM converted exactly."""
    unit, value = mea.get(2) or "KGM", _number(mea.get(2, 1))
    if unit not in MASS_FACTORS:
        raise _Unmappable(mea.ordinal, "MEA", "EDIFACT_UNSUPPORTED_UNIT",
                          f"segment {mea.ordinal} gives a mass in {unit!r}; use KGM, TNE or GRM")
    if unit == "KGM" or value is None:
        return value
    try:
        return _plain(Decimal(value) * MASS_FACTORS[unit])
    except InvalidOperation:
        return value  # not a number: the validator reports it


def _number(value: str | None) -> str | None:
    """EDIFACT numbers have no thousands separator, so a comma can only be the decimal mark."""
    return value.replace(",", ".") if value else value


def _date(value: str | None, fmt: str | None) -> str | None:
    """CCYYMMDD (102) and its longer forms (203, 204) as YYYY-MM-DD; anything else as found."""
    lengths = {"102": 8, "203": 12, "204": 14}
    if value and fmt in lengths and len(value) == lengths[fmt] and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    return value


# ---------------------------------------------------------------- writing


def write_cusdec(items: pl.DataFrame, path: Path, *, prepared_at: datetime | None = None) -> None:
    """Write flat declaration rows as one CUSDEC D:96B interchange, one message per declaration.

    ``prepared_at`` stamps the interchange (UNB date and control reference); give it to get the
    same bytes for the same rows, e.g. from a seeded simulation. It defaults to now.

    Rows are grouped by ``declaration_id`` (they need not be contiguous); header fields are taken
    from the first row of each declaration. Missing columns are treated as empty. The file is
    UNOC (Latin-1) when every value fits, else UNOW (UTF-8).
    """
    if "declaration_id" not in items.columns:
        raise EdifactError("cannot write CUSDEC: the frame has no declaration_id column")
    groups: dict[str, list[dict[str, object]]] = {}
    latin1 = True
    columns = [c for c in FIELD_NAMES if c in items.columns]
    for n, row in enumerate(items.select(columns).iter_rows(named=True), start=1):
        key = _format(row["declaration_id"])
        if key is None:
            raise EdifactError(f"cannot write CUSDEC: row {n} has no declaration_id")
        groups.setdefault(key, []).append(row)
        latin1 = latin1 and all(not isinstance(v, str) or v.isascii() or _fits_latin1(v) for v in row.values())
    charset, version, codec = ("UNOC", "3", "latin-1") if latin1 else ("UNOW", "4", "utf-8")
    syntax = Syntax()
    serializer = Serializer(syntax.characters())
    now = prepared_at or datetime.now(UTC)
    reference = now.strftime("%y%m%d%H%M%S")
    stamp = now.strftime("%y%m%d" if version == "3" else "%Y%m%d")
    envelope = [Segment("UNB", [charset, version], "CINTEL", "CUSTOMS", [stamp, now.strftime("%H%M")], reference)]
    try:
        with Path(path).open("w", encoding=codec, newline="") as out:
            out.write(serializer.serialize(envelope, with_una_header=True, break_lines=True))
            for number, (key, rows) in enumerate(groups.items(), start=1):
                segments = _declaration_segments(key, rows)
                message = [Segment("UNH", str(number), ["CUSDEC", "D", "96B", "UN"]), *segments]
                message.append(Segment("UNT", str(len(message) + 1), str(number)))
                out.write(serializer.serialize(message, with_una_header=False, break_lines=True))
            out.write(serializer.serialize([Segment("UNZ", str(len(groups)), reference)], with_una_header=False,
                                           break_lines=True))
    except UnicodeEncodeError as exc:
        raise EdifactError(f"cannot write CUSDEC: {exc.object[exc.start:exc.end]!r} cannot be encoded "
                           f"as {codec}") from None


def _fits_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _declaration_segments(key: str, rows: list[dict[str, object]]) -> list[Segment]:
    """The body of one CUSDEC message (BGM..UNS+S) for the rows of one declaration."""
    first = rows[0]

    def v(name: str, row: dict[str, object] = first) -> str | None:
        return _format(row.get(name))

    out: list[Segment] = []

    def add(tag: str, *elements: Element | None) -> None:
        trimmed = [e if e is not None else "" for e in elements]
        while trimmed and trimmed[-1] in ("", []):
            trimmed.pop()
        with warnings.catch_warnings():  # pydifact warns about an empty LIN (no item number); write it anyway
            warnings.simplefilter("ignore", SyntaxWarning)
            out.append(Segment(tag, *trimmed))

    kind = v("declaration_type")
    add("BGM", [TYPE_DOCUMENTS.get(kind or "", ""), "", "", kind or ""], key, "9")
    if (when := first.get("declaration_date")) is not None:
        add("DTM", _dtm(when))
    for name, qualifiers in LOC_FIELDS.items():
        if value := v(name):
            add("LOC", qualifiers[0], value)
    for port in _parts(v("transshipment_ports")):
        add("LOC", LOC_TRANSSHIPMENT, port)
    if bl := v("bl_number"):
        add("RFF", ["BM", bl])
    for role, prefix in (("IM", "importer"), ("EX", "exporter")):
        if any(v(f"{prefix}_{f}") for f in ("id", "name", "country", "address")):
            names, street = _chunks(v(f"{prefix}_name"), 35, 5), _chunks(v(f"{prefix}_address"), 35, 4)
            add("NAD", role, v(f"{prefix}_id"), None, names, street, None, None, None, v(f"{prefix}_country"))
    if declarant := v("declarant_id"):
        add("NAD", "DT", declarant)
    if any(v(f) for f in ("voyage", "transport_mode", "vessel_imo")):
        imo = v("vessel_imo")
        add("TDT", "20", v("voyage"), v("transport_mode"), None, None, None, None, [imo, "146", "11"] if imo else None)
    for container in _parts(v("container_numbers")):
        add("EQD", "CN", container)
    if incoterm := v("incoterm"):
        add("TOD", "6", None, incoterm)
    if currency := v("invoice_currency"):
        add("CUX", ["2", currency, "4"])
    add("UNS", "D")
    for row in rows:
        add("LIN", v("item_no", row))
        add("PIA", "5", [v("hs_code", row) or "", "HS"])
        for piece in _chunks(v("goods_description", row), 512 * 5, None) or []:
            add("FTX", "AAA", None, None, _chunks(piece, 512, 5))
        if origin := v("country_of_origin", row):
            add("LOC", LOC_ORIGIN, origin)
        for qualifier, name in ((NET_MASS[0], "net_mass_kg"), (GROSS_MASS[0], "gross_mass_kg")):
            if (mass := v(name, row)) is not None:
                add("MEA", "AAE", qualifier, ["KGM", mass])
        if (quantity := v("quantity", row)) is not None or v("quantity_unit", row):
            add("QTY", ["47", quantity or "", v("quantity_unit", row) or ""])
        for qualifier, name in MOA_FIELDS.items():
            if (amount := v(name, row)) is not None:
                add("MOA", [qualifier, amount])
    add("UNS", "S")
    return out


def _format(value: object) -> str | None:
    """A cell as EDIFACT text: numbers in plain decimal notation, lossless; empty as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EdifactError(f"cannot write CUSDEC: {value} is not a number EDIFACT can carry")
        return _plain(Decimal(repr(value)))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise EdifactError(f"cannot write CUSDEC: {value} is not a number EDIFACT can carry")
        return _plain(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value) or None


def _plain(number: Decimal) -> str:
    """Decimal notation without exponent (EDIFACT numbers have none), keeping every digit."""
    return format(number, "f")


def _dtm(value: object) -> list[str]:
    """DTM+137 composite: ISO dates as CCYYMMDD (format 102), anything else as found."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):  # not strftime: %Y does not pad years before 1000
        return ["137", f"{value.year:04d}{value.month:02d}{value.day:02d}", "102"]
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return ["137", text.replace("-", ""), "102"]
    return ["137", text]


def _parts(value: str | None) -> list[str]:
    return value.split(";") if value else []


def _chunks(text: str | None, size: int, limit: int | None) -> list[str] | None:
    """Cut text into pieces of ``size``; the last of ``limit`` pieces takes the rest."""
    if not text:
        return [] if limit is None else None
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    if limit is not None and len(pieces) > limit:
        pieces[limit - 1 :] = ["".join(pieces[limit - 1 :])]
    return pieces
