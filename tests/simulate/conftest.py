"""Small simulated worlds shared by the simulator's tests, and the field rules they must obey.

The rules are written out here with stdnum, pycountry and searoute (not taken from the
validator) so that the simulator is checked against the record definitions independently.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from searoute import setup_P
from stdnum import iban, imo, iso6346

from cintel.domain.codes import HS_CHAPTERS, QuantityUnit, country_codes, currency_codes
from cintel.domain.records import FieldKind, RecordKind, record_format
from cintel.simulate import SimulationSummary, simulate_world

END = date(2025, 6, 30)
SMALL = 2_000


@cache
def locodes() -> frozenset[str]:
    return frozenset(data["port"] for _, data in setup_P().nodes(data=True))


def _date_ok(value: str) -> bool:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10 and date(1990, 1, 1) <= day <= END


def _datetime_ok(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value):
        return False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return datetime(1990, 1, 1).date() <= moment.date() <= END


def _hs_ok(value: str) -> bool:
    return bool(re.fullmatch(r"\d{6,10}", value)) and value[:2] in HS_CHAPTERS


def _number_ok(signed: bool) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int | float) and math.isfinite(v) and (signed or v >= 0)


CHECKS: dict[FieldKind, Callable[[object], bool]] = {
    FieldKind.COUNTRY: lambda v: v in country_codes(),
    FieldKind.CURRENCY: lambda v: v in currency_codes(),
    FieldKind.DATE: lambda v: _date_ok(str(v)),
    FieldKind.DATETIME: lambda v: _datetime_ok(str(v)),
    FieldKind.HS_CODE: lambda v: _hs_ok(str(v)),
    FieldKind.LOCODE: lambda v: v in locodes(),
    FieldKind.LOCODE_LIST: lambda v: all(p in locodes() for p in str(v).split(";")),
    FieldKind.CONTAINER: lambda v: iso6346.is_valid(str(v)),
    FieldKind.CONTAINER_LIST: lambda v: all(iso6346.is_valid(c) for c in str(v).split(";")),
    FieldKind.IMO: lambda v: imo.is_valid(str(v)),
    FieldKind.IBAN: lambda v: iban.is_valid(str(v)),
    FieldKind.EMAIL: lambda v: bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", str(v))),
    FieldKind.PHONE: lambda v: bool(re.fullmatch(r"\+\d{6,15}", re.sub(r"[\s().-]", "", str(v)))),
    FieldKind.LATITUDE: lambda v: isinstance(v, float) and -90 <= v <= 90,
    FieldKind.LONGITUDE: lambda v: isinstance(v, float) and -180 <= v <= 180,
    FieldKind.INTEGER: lambda v: isinstance(v, int),
    FieldKind.BOOLEAN: lambda v: isinstance(v, bool),
}


def violations(kind: RecordKind, frame: pl.DataFrame) -> pl.DataFrame:
    """(row, field) of every value that breaks its field's rule, and of broken cross-field rules."""
    found: list[tuple[int, str]] = []
    for f in record_format(kind).fields:
        values = frame[f.name].to_list()
        check = CHECKS.get(f.kind)
        if f.kind is FieldKind.DECIMAL:
            check = _number_ok(f.signed)
        for row, value in enumerate(values):
            if value is None or value == "":
                if not f.nullable:
                    found.append((row, f.name))
                continue
            ok = (check(value) if check else True) and (f.codes is None or value in f.codes.codes())
            if not ok or len(str(value)) > f.max_length:
                found.append((row, f.name))
    if kind is RecordKind.DECLARATIONS:
        rows = frame.with_row_index("row")
        mass = rows.filter(pl.col("net_mass_kg") > pl.col("gross_mass_kg"))
        found += [(r, "gross_mass_kg") for r in mass["row"]]
        kgm = rows.filter((pl.col("quantity_unit") == QuantityUnit.KGM.value)
                          & ((pl.col("quantity") - pl.col("net_mass_kg")).abs() > 0.01 * pl.col("net_mass_kg")))
        found += [(r, "quantity") for r in kgm["row"]]
    return pl.DataFrame(found, schema={"row": pl.Int64, "field": pl.String}, orient="row")


def read(world: Path, kind: RecordKind, ext: str = "parquet") -> pl.DataFrame:
    path = world / f"{kind.value}.{ext}"
    if ext == "csv":
        return pl.read_csv(path, infer_schema=False)
    if ext == "jsonl":  # read with json: polars' ndjson reader may reorder columns
        with path.open(encoding="utf-8") as lines:
            return pl.DataFrame([json.loads(line) for line in lines], infer_schema_length=None)
    return pl.read_parquet(path)


@pytest.fixture(scope="session")
def clean_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary]:
    """A 2,000-declaration world without data defects, in every flat format."""
    out = tmp_path_factory.mktemp("clean")
    summary = simulate_world(out, declarations=SMALL, seed=7, formats=("csv", "jsonl", "parquet"),
                             defect_rate=0.0, end_date=END)
    return out, summary


@pytest.fixture(scope="session")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary]:
    """A 2,000-declaration world with 5 % of its records broken."""
    out = tmp_path_factory.mktemp("dirty")
    summary = simulate_world(out, declarations=SMALL, seed=11, defect_rate=0.05, end_date=END)
    return out, summary


@pytest.fixture(scope="session")
def world(clean_world: tuple[Path, SimulationSummary]) -> Path:
    return clean_world[0]
