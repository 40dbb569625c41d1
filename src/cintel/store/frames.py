"""Reading the store into Polars frames for the analytic modules (risk features, backtests).

Only standardised columns are read: the verbatim ``*_raw`` twins and the provenance columns stay
in the store. Dates bound the reads the way point-in-time features need them: ``start`` is
inclusive and ``end`` / ``until`` exclusive, so ``load_items(engine, None, day)`` is exactly
"everything known before ``day``". Column types come from the domain model, so an empty result
has the same schema as a full one and SQLite and PostgreSQL give identical frames.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Engine, Select, Table, select

from cintel.domain.records import (
    DECLARATIONS,
    FORMATS,
    INSPECTIONS,
    PARTIES,
    TARIFF,
    Field,
    FieldKind,
    RecordKind,
)
from cintel.store import tables
from cintel.store.case_tables import counted_inspection
from cintel.store.transaction import Bind, transaction

_POLARS_TYPES: dict[FieldKind, type[pl.DataType]] = {
    FieldKind.DATE: pl.Date,
    FieldKind.DATETIME: pl.Datetime,
    FieldKind.INTEGER: pl.Int64,
    FieldKind.DECIMAL: pl.Float64,
    FieldKind.LATITUDE: pl.Float64,
    FieldKind.LONGITUDE: pl.Float64,
    FieldKind.BOOLEAN: pl.Boolean,
}
# Rows fetched per round trip; bounds the driver's buffers on large reads.
_BATCH_ROWS = 200_000


def frame_schema(fields: list[Field] | tuple[Field, ...]) -> dict[str, pl.DataType]:
    """Polars type of each field of the domain model (identifiers and codes are strings)."""
    out: dict[str, pl.DataType] = {}
    for f in fields:
        kind = _POLARS_TYPES.get(f.kind, pl.String)
        out[f.name] = pl.Datetime("us", "UTC") if kind is pl.Datetime else kind()
    return out


def item_schema() -> dict[str, pl.DataType]:
    """Columns of ``load_items``: the declaration's header fields, then its item fields, in model order."""
    return frame_schema(DECLARATIONS.fields)


def _read(bind: Bind, query: Select[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    with transaction(bind) as conn:
        result = conn.execute(query.execution_options(yield_per=_BATCH_ROWS))
        names = list(result.keys())
        parts = [pl.DataFrame([tuple(r) for r in rows], schema=names, orient="row", infer_schema_length=None)
                 for rows in result.partitions()]
    frame = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(schema=names)
    # SQLite hands back untyped values (booleans as 0/1, all-NULL columns): cast to the model's types.
    return frame.select([_cast(frame[name], dtype).alias(name) for name, dtype in schema.items()])


def _cast(column: pl.Series, dtype: pl.DataType) -> pl.Series:
    if isinstance(dtype, pl.Datetime) and isinstance(column.dtype, pl.Datetime):
        # Naive timestamps (SQLite) are stored in UTC; aware ones (PostgreSQL) are converted to it.
        if column.dtype.time_zone is None:
            return column.dt.replace_time_zone("UTC")
        return column.dt.convert_time_zone("UTC")
    return column.cast(dtype)


def load_items(engine: Engine, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """One row per declaration item with its header's fields, declared on ``start`` <= day < ``end``.

    Either bound may be None (open). Rows come sorted by date, declaration and item number.
    """
    d, i = tables.declarations, tables.declaration_items
    header = [d.c[f.name] for f in DECLARATIONS.header_fields]
    item = [i.c[f.name] for f in DECLARATIONS.item_fields]
    by_name = {c.name: c for c in header + item}
    columns = [by_name[f.name] for f in DECLARATIONS.fields]
    query = select(*columns).select_from(d.join(i, i.c.declaration_id == d.c.declaration_id))
    if start is not None:
        query = query.where(d.c.declaration_date >= start)
    if end is not None:
        query = query.where(d.c.declaration_date < end)
    query = query.order_by(d.c.declaration_date, d.c.declaration_id, i.c.item_no)
    return _read(engine, query, item_schema())


def _record_frame(engine: Engine, fields: tuple[Field, ...], table_name: str, date_column: str | None,
                  until: date | None, where: ColumnElement[bool] | None = None) -> pl.DataFrame:
    table = tables.metadata.tables[table_name]
    query = select(*[table.c[f.name] for f in fields])
    if where is not None:
        query = query.where(where)
    if date_column is not None and until is not None:
        query = query.where(table.c[date_column] < until)
    return _read(engine, query.order_by(*[table.c[k] for k in (date_column, fields[0].name) if k]),
                 frame_schema(fields))


def load_inspections(engine: Engine, until: date | None = None) -> pl.DataFrame:
    """Inspection results recorded before ``until`` (all when None) that count as outcomes, columns of
    INSPECTIONS: a record a correction superseded, or one the workspace did not accept, is left out
    (``cintel.store.case_tables.counted_inspection``)."""
    return _record_frame(engine, INSPECTIONS.fields, INSPECTIONS.table, "inspection_date", until,
                         counted_inspection())


def load_tariff(engine: Engine) -> pl.DataFrame:
    """Every tariff measure, columns of TARIFF (validity is applied per declaration date by the features)."""
    return _record_frame(engine, TARIFF.fields, TARIFF.table, None, None)


def load_parties(engine: Engine) -> pl.DataFrame:
    """The trader register, columns of PARTIES."""
    return _record_frame(engine, PARTIES.fields, PARTIES.table, None, None)


def load_records(engine: Engine, kind: RecordKind) -> pl.DataFrame:
    """Every stored record of a kind other than declarations, columns of its format."""
    fmt = FORMATS[kind]
    if kind is RecordKind.DECLARATIONS:
        raise ValueError("declarations are read with load_headers or load_items")
    return _record_frame(engine, fmt.fields, fmt.table, None, None)


def load_headers(engine: Engine, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """One row per declaration with its header fields, declared on ``start`` <= day < ``end``."""
    d = tables.declarations
    query = select(*[d.c[f.name] for f in DECLARATIONS.header_fields])
    if start is not None:
        query = query.where(d.c.declaration_date >= start)
    if end is not None:
        query = query.where(d.c.declaration_date < end)
    return _read(engine, query.order_by(d.c.declaration_date, d.c.declaration_id),
                 frame_schema(DECLARATIONS.header_fields))


def _column_type(column: Any) -> pl.DataType:
    python = column.type.python_type
    if python is date:
        return pl.Date()
    if python is datetime:
        return pl.Datetime("us", "UTC")
    return {str: pl.String(), int: pl.Int64(), float: pl.Float64(), bool: pl.Boolean()}[python]


def load_table(conn: Bind, table: Table, where: Any = None) -> pl.DataFrame:
    """Every row of one of cintel's own tables (optionally filtered), typed from the table's columns.

    With a connection, the read sees that connection's uncommitted writes.
    """
    query = select(table)
    if where is not None:
        query = query.where(where)
    return _read(conn, query, {c.name: _column_type(c) for c in table.columns})
