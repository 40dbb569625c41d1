"""Small hand-made records for tests: one valid declaration item, varied by overrides."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from cintel.domain.records import DECLARATIONS

VALID_ITEM: dict[str, str] = {
    "declaration_id": "DEC-0001",
    "item_no": "1",
    "declaration_date": "2024-03-01",
    "declaration_type": "IM",
    "office_code": "NLRTM01",
    "importer_id": "NL123456789",
    "importer_name": "Acme Trading B.V.",
    "importer_country": "NL",
    "exporter_name": "Shenzhen Bright Electronics Co., Ltd.",
    "exporter_country": "CN",
    "declarant_id": "BRK-7",
    "country_of_origin": "CN",
    "country_of_dispatch": "CN",
    "port_of_loading": "CNSZX",
    "port_of_discharge": "NLRTM",
    "transport_mode": "1",
    "vessel_imo": "9074729",
    "container_numbers": "MSCU1234566;CSQU3054383",
    "hs_code": "85171200",
    "goods_description": "Mobile phones",
    "quantity": "100",
    "quantity_unit": "NAR",
    "net_mass_kg": "50",
    "gross_mass_kg": "60",
    "invoice_currency": "USD",
    "invoice_value": "10000",
    "customs_value": "9200",
    "incoterm": "FOB",
}
COLUMNS = [f.name for f in DECLARATIONS.fields if f.required]


def item(**overrides: Any) -> dict[str, str]:
    return {**VALID_ITEM, **overrides}


def declaration(n: int, items: int = 2, **overrides: Any) -> list[dict[str, str]]:
    """A declaration DEC-n with `items` consistent items."""
    return [item(declaration_id=f"DEC-{n:04d}", item_no=str(i), **overrides) for i in range(1, items + 1)]


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None, **fmt: Any) -> Path:
    columns = columns or list(rows[0]) if rows else COLUMNS
    with path.open("w", encoding=fmt.pop("encoding", "utf-8"), newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", **fmt)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path
