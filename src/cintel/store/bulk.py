"""Bulk writes and key look-ups, per dialect: COPY on PostgreSQL, executemany on SQLite.

Frames handed here are already validated and typed; these functions only move them into
tables inside the caller's transaction, so a chunk is stored whole or not at all.
"""

from __future__ import annotations

import io

import orjson
import polars as pl
from sqlalchemy import Connection, Table, text


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def copy_rows(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    """Appends the frame's rows (columns named as the table's) to table; returns rows written."""
    if frame.height == 0:
        return 0
    # Columns empty in the whole chunk (raw twins, unused optional fields) are left to their NULL default.
    columns = [c for c in frame.columns if c in table.c and frame[c].null_count() < frame.height]
    frame = frame.select(columns)
    if _is_postgres(conn):
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, null_value="", datetime_format="%Y-%m-%dT%H:%M:%S%.f%z")
        quoted = ", ".join(f'"{c}"' for c in columns)
        dbapi = conn.connection.driver_connection
        # Identifiers come from our own table metadata, never from input; values travel as COPY data.
        statement = f'COPY "{table.name}" ({quoted}) FROM STDIN (FORMAT csv)'
        with dbapi.cursor() as cur, cur.copy(statement) as copy:  # type: ignore[union-attr]
            copy.write(buffer.getbuffer())
        return frame.height
    # SQLite: store values the way SQLAlchemy's SQLite types read them back.
    frame = frame.with_columns(
        [pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S.%6f") for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        + [pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Date]
        + [pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean]
    )
    placeholders = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})'  # noqa: S608 (our identifiers)
    conn.exec_driver_sql(statement, frame.rows())
    return frame.height


def existing(conn: Connection, table: Table, key: tuple[str, ...], values: pl.DataFrame) -> pl.DataFrame:
    """Rows of table whose key is among values' keys: the key columns, record_hash and batch_id."""
    schema = {**{k: pl.String for k in key}, "record_hash": pl.String, "batch_id": pl.Int64}
    first = values.get_column(key[0]).unique().cast(pl.String).to_list()
    if not first:
        return pl.DataFrame(schema=schema)
    cols = ", ".join(f'"{k}"' for k in key)
    if _is_postgres(conn):
        sql = text(f'SELECT {cols}, record_hash, batch_id FROM "{table.name}" WHERE "{key[0]}" = ANY(:ids)')  # noqa: S608
        params: dict[str, object] = {"ids": first}
    else:
        sql = text(f'SELECT {cols}, record_hash, batch_id FROM "{table.name}" '  # noqa: S608
                   f'WHERE "{key[0]}" IN (SELECT value FROM json_each(:ids))')
        params = {"ids": orjson.dumps(first).decode()}
    rows = conn.execute(sql, params).all()
    found = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    return found.join(values.select([pl.col(k).cast(pl.String) for k in key]).unique(), on=list(key))
