"""Writing flat declaration rows as a CUSDEC interchange: the inverse of the reader.

Used by the simulator and the round-trip tests. Messages carry the association code
``CINTEL1`` in UNH, so the reader maps them with the ``cintel`` profile (``cusdec_profiles/
cintel.toml``), which reads every item value from the item and joins cut texts without a
separator: read(write(rows)) gives every value back.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from pydifact.segments import Segment
from pydifact.serializer import Serializer

from cintel.ingest.cusdec_profile import FIELD_NAMES
from cintel.ingest.edifact import EdifactError, Element, Syntax

ASSOCIATION = "CINTEL1"  # UNH S009/0057: the guide of messages cintel writes
TYPE_DOCUMENTS: dict[str, str] = {"IM": "929", "EX": "830", "TR": "950"}  # UNCL 1001
HEADER_LOCATIONS = (  # flat field, UNCL 3227 location function qualifier written
    ("office_code", "22"), ("port_of_loading", "9"), ("port_of_discharge", "11"),
    ("country_of_dispatch", "35"), ("country_of_destination", "28"))
HEADER_PARTIES = (  # UNCL 3035 party function, flat field prefix, whether name/country/address are written
    ("IM", "importer"), ("EX", "exporter"), ("CN", "consignee"), ("SE", "seller"), ("BY", "buyer"),
    ("AG", "representative"))
AMOUNTS = (("38", "invoice_value"), ("40", "customs_value"))  # UNCL 5025
_LINE_BREAK = re.compile("[\r\n]")


def write_cusdec(items: pl.DataFrame, path: Path, *, prepared_at: datetime | None = None) -> None:
    """Write flat declaration rows as one CUSDEC D:96B interchange, one message per declaration.

    ``prepared_at`` stamps the interchange (UNB date and control reference); give it to get the
    same bytes for the same rows, e.g. from a seeded simulation. It defaults to now.

    Rows are grouped by ``declaration_id`` (they need not be contiguous); header fields are taken
    from the first row of each declaration. Missing columns are treated as empty. The file is
    UNOC (Latin-1) when every value fits, else UNOW (UTF-8). A value with a line break cannot be
    written (line breaks are not data in EDIFACT) and raises ``EdifactError``.
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
        for name, value in row.items():
            if isinstance(value, str) and _LINE_BREAK.search(value):
                raise EdifactError(f"cannot write CUSDEC: row {n} {name} has a line break, which EDIFACT "
                                   "cannot carry")
        groups.setdefault(key, []).append(row)
        latin1 = latin1 and all(not isinstance(v, str) or v.isascii() or _fits_latin1(v) for v in row.values())
    charset, version, codec = ("UNOC", "3", "latin-1") if latin1 else ("UNOW", "4", "utf-8")
    serializer = Serializer(Syntax().characters())
    now = prepared_at or datetime.now(UTC)
    reference = now.strftime("%y%m%d%H%M%S")
    stamp = now.strftime("%y%m%d" if version == "3" else "%Y%m%d")
    envelope = [Segment("UNB", [charset, version], "CINTEL", "CUSTOMS", [stamp, now.strftime("%H%M")], reference)]
    try:
        with Path(path).open("w", encoding=codec, newline="") as out:
            out.write(serializer.serialize(envelope, with_una_header=True, break_lines=True))
            for number, (key, rows) in enumerate(groups.items(), start=1):
                segments = _declaration_segments(key, rows)
                message = [Segment("UNH", str(number), ["CUSDEC", "D", "96B", "UN", ASSOCIATION]), *segments]
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
    for name, qualifier in HEADER_LOCATIONS:
        if value := v(name):
            add("LOC", qualifier, value)
    for port in _parts(v("transshipment_ports")):
        add("LOC", "13", port)
    if bl := v("bl_number"):
        add("RFF", ["BM", bl])
    for role, prefix in HEADER_PARTIES:
        if any(v(f"{prefix}_{f}") for f in ("id", "name", "country", "address")):
            names, street = _chunks(v(f"{prefix}_name"), 35, 5), _chunks(v(f"{prefix}_address"), 35, 4)
            add("NAD", role, v(f"{prefix}_id"), None, names, street, None, None, None, v(f"{prefix}_country"))
    if declarant := v("declarant_id"):
        add("NAD", "DT", declarant)
    if any(v(f) for f in ("voyage", "transport_mode", "vessel_imo")):
        imo = v("vessel_imo")
        add("TDT", "20", v("voyage"), v("transport_mode"), None, None, None, None, [imo, "146", "11"] if imo else None)
    containers = dict.fromkeys(c for row in rows for c in _parts(v("container_numbers", row)))
    for container in containers:  # the declaration's equipment; each item names its own in SGP
        add("EQD", "CN", container)
    if incoterm := v("incoterm"):
        add("TOD", "6", None, incoterm)
    if currency := v("invoice_currency"):
        add("CUX", ["2", currency, "4"])
    for kind_code, reference in _entries(v("documents"), 2):
        add("DOC", kind_code, reference)
    if (packages := v("total_packages")) is not None:
        add("PAC", packages)
    add("UNS", "D")
    for row in rows:
        _item_segments(row, add)
    add("UNS", "S")
    return out


def _item_segments(row: dict[str, object], add: Callable[..., None]) -> None:

    def v(name: str) -> str | None:
        return _format(row.get(name))

    add("LIN", v("item_no"))
    add("PIA", "5", [v("hs_code") or "", "HS"])
    codes = [v(f) for f in ("procedure_code", "previous_procedure", "preference_code")]
    if any(c is not None for c in codes):
        add("CST", None, *([code or "", qualifier] for code, qualifier in zip(codes, ("PRC", "PPR", "PRF"),
                                                                              strict=True)))
    for piece in _chunks(v("goods_description"), 512 * 5, None) or []:
        add("FTX", "AAA", None, None, _chunks(piece, 512, 5))
    if origin := v("country_of_origin"):
        add("LOC", "27", origin)
    for qualifier, name in (("AAC", "net_mass_kg"), ("AAD", "gross_mass_kg")):
        if (mass := v(name)) is not None:
            add("MEA", "AAE", qualifier, ["KGM", mass])
    if (quantity := v("quantity")) is not None or v("quantity_unit"):
        add("QTY", ["47", quantity or "", v("quantity_unit") or ""])
    for qualifier, name in AMOUNTS:
        if (amount := v(name)) is not None:
            add("MOA", [qualifier, amount])
    for kind, base, rate, amount in _entries(v("duties"), 4):
        add("TAX", "1", [kind], None, base or None, ["", "", "", rate] if rate else None)
        if amount:
            add("MOA", ["161", amount])
    for kind, reference in _entries(v("item_documents"), 2):
        add("DOC", kind, reference)
    if any(v(f) is not None for f in ("packages", "package_kind", "package_marks")):
        add("PAC", v("packages"), None, v("package_kind"))
        if marks := _chunks(v("package_marks"), 35, 10):
            add("PCI", None, marks)
    if warehouse := v("warehouse_id"):
        add("NAD", "WH", warehouse)
    for container in _parts(v("container_numbers")):
        add("SGP", container)


def _entries(value: str | None, size: int) -> list[list[str]]:
    """'A:B;C:D' as [[A, B], [C, D]], each padded to ``size`` parts (the last part keeps any ':')."""
    out = []
    for entry in _parts(value):
        parts = entry.split(":", size - 1)
        out.append(parts + [""] * (size - len(parts)))
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
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise EdifactError(f"cannot write CUSDEC: {value} is not a number EDIFACT can carry")
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value) or None


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
