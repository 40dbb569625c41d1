"""An export declaration as a directory-conformant D:99B message: the generic profile maps it without a guide
of its own (the BGM code says export whatever the national name, the consignee abroad is the importer)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from cintel.ingest.edifact import read_cusdec
from cintel.ingest.pipeline import ingest_file
from cintel.store import tables

EXPORT = """UNA:+.? '
UNB+UNOC:3+EXPORTER+AUCUSTOMS+250601:1200+REF1'
UNH+1+CUSDEC:D:99B:UN'
BGM+830:::EXPORT DECLARATION+AU2500001+9'
DTM+129:20250601:102'
LOC+22+AUSYD'
LOC+9+AUSYD'
LOC+36+CN'
RFF+ABT:PREV1'
DTM+137:20240101:102'
NAD+EX+AU123456789++AUSSIE WOOL PTY LTD+1 WOOL ST+SYDNEY++2000+AU'
NAD+CN+++SHANGHAI TEXTILE CO LTD+88 NANJING RD+SHANGHAI+++CN'
NAD+MS+SENDER1'
TDT+20+V12+1+++++9074729:146:11'
EQD+CN+MSCU1234566'
UNS+D'
CST+1+510111:122'
FTX+AAA+++GREASY WOOL'
LOC+27+AU'
MEA+WT+AAD+KGM:1200'
MEA+WT+AAC+KGM:1100'
MOA+38:15000:AUD'
MOA+63:14800'
UNS+S'
UNT+23+1'
UNZ+1+REF1'
"""


def test_an_export_maps_its_type_date_consignee_dispatch_and_values(tmp_path: Path) -> None:
    path = tmp_path / "export.edi"
    path.write_text(EXPORT, encoding="latin-1")
    [record] = read_cusdec(path)
    assert record.error is None, record.error
    v = record.values
    assert v is not None
    assert v["declaration_type"] == "EX"  # 830, although C002/1000 names it in words
    assert v["declaration_date"] == "2025-06-01"  # DTM+129; the DTM+137 under RFF is the reference's date
    assert (v["importer_name"], v["importer_country"]) == ("SHANGHAI TEXTILE CO LTD", "CN")
    assert (v["consignee_name"], v["country_of_destination"]) == ("SHANGHAI TEXTILE CO LTD", "CN")
    assert (v["exporter_id"], v["country_of_dispatch"]) == ("AU123456789", "AU")
    assert (v["gross_mass_kg"], v["net_mass_kg"]) == ("1200", "1100")
    assert (v["invoice_value"], v["invoice_currency"], v["customs_value"]) == ("15000", "AUD", "14800")
    assert v["container_numbers"] == "MSCU1234566"


def test_the_export_is_stored_on_every_back_end(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "export.edi"
    path.write_text(EXPORT, encoding="latin-1")
    report = ingest_file(engine, path)
    assert (report.rows_stored, report.rows_quarantined) == (1, 0)
    d = tables.declarations
    with engine.connect() as conn:
        row = conn.execute(select(d.c.declaration_type, d.c.office_code, d.c.importer_country)).one()
    assert tuple(row) == ("EX", "AUSYD", "CN")
