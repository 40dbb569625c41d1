"""Ingesting records given as Python dicts (a web form, an API call) through the same path as files.

A call is one batch (``source_path`` names where the rows came from, e.g. ``web:<username>``): the rows
become a chunk of string values exactly as the JSON Lines reader makes them, then the shared steps
run unchanged: `prepare` (validate, standardise, cross-row checks, hashes) and `BatchLoader` (duplicates,
conflicts, quarantine, store), in one transaction with the batch's counters. A bad row is quarantined
with its reason and reported, never dropped: rows_read = rows_stored + rows_duplicate + rows_quarantined.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, insert, select, update

from cintel.domain.records import RecordKind, record_format
from cintel.ingest.loader import BatchLoader
from cintel.ingest.pipeline import BatchReport, _commit
from cintel.ingest.prepare import prepare
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.read_jsonl import _json_scalar, _json_value
from cintel.ingest.rows import SURROGATE, BadRow, Chunk, printable, string_frame
from cintel.store import tables

log = logging.getLogger(__name__)
SOURCE_FORMAT = "json"  # the rows arrive as JSON-like values, read as the JSON Lines reader reads them
MAX_ROWS = 100_000  # one call is one chunk held in memory; files are the way for more


@dataclass
class RowsReport(BatchReport):
    """A batch report with the problems of the quarantined rows (field, code, message, source_row)."""

    problems: list[dict[str, Any]] = field(default_factory=list)


def _raw(row: object) -> str:
    """The row as it was given, for the quarantine (JSON when possible, else its repr)."""
    try:
        return printable(orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS).decode())
    except (TypeError, orjson.JSONEncodeError):
        return printable(repr(row))


def _strings(row: Mapping[Any, Any]) -> list[str]:
    out: list[str] = []
    for key, value in row.items():
        out.append(str(key))
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list | tuple):
            out.extend(v for v in value if isinstance(v, str))
    return out


def _parse(row_no: int, row: object, columns: list[str], field_names: set[str], group: tuple[str, ...]
           ) -> dict[str, str | None] | BadRow:
    """One row as the string values of the format's columns, or a BadRow saying why it cannot be read."""
    raw = _raw(row)
    if not isinstance(row, Mapping):
        return BadRow(row_no, Problem.MALFORMED_ROW, f"row {row_no} is not an object of named fields", raw)
    key = None
    if group:
        try:
            group_value = _json_scalar(row.get(group[0]))
            key = printable(group_value.strip()) if group_value is not None else None
        except ValueError:
            key = None
    if any(SURROGATE.search(s) for s in _strings(row)):
        # PostgreSQL text cannot hold half a surrogate pair; the JSON Lines reader refuses them likewise.
        return BadRow(row_no, Problem.MALFORMED_ROW,
                      f"row {row_no} holds half of a UTF-16 surrogate pair (\\ud800-\\udfff)", raw, key=key)
    unknown = [k for k in row if k not in field_names]
    if unknown:
        return BadRow(row_no, Problem.UNKNOWN_FIELD,
                      f"row {row_no} has unknown field(s): {', '.join(printable(repr(k))[:40] for k in unknown[:5])}",
                      raw, printable(str(unknown[0]))[:64], key)
    values: dict[str, str | None] = {}
    for name in columns:
        given: Any = row.get(name)
        if isinstance(given, tuple):
            given = list(given)
        try:
            values[name] = _json_value(given)
        except ValueError as exc:
            return BadRow(row_no, Problem.MALFORMED_ROW, f"row {row_no}: {name} {exc}", raw, name, key)
    return values


def rows_chunk(kind: RecordKind, rows: Sequence[object]) -> Chunk:
    """The rows as a chunk of string columns (row numbers from 1), as a reader yields it from a file."""
    fmt = record_format(kind)
    columns = [f.name for f in fmt.fields]
    data: dict[str, list[str | None]] = {c: [] for c in columns}
    numbers: list[int] = []
    bad: list[BadRow] = []
    for row_no, row in enumerate(rows, start=1):
        parsed = _parse(row_no, row, columns, set(fmt.field_map), fmt.group)
        if isinstance(parsed, BadRow):
            bad.append(parsed)
            continue
        numbers.append(row_no)
        for c in columns:
            data[c].append(parsed[c])
    return Chunk(string_frame(columns, data, numbers), bad, len(rows))


def _sha256(rows: Sequence[object]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(_raw(row).encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return digest.hexdigest()


def _problems(engine: Engine, batch_id: int) -> list[dict[str, Any]]:
    q = tables.quarantine
    with engine.connect() as conn:
        found = conn.execute(select(q.c.source_row, q.c.record_key, q.c.field, q.c.code, q.c.message)
                             .where(q.c.batch_id == batch_id).order_by(q.c.source_row, q.c.id)).mappings().all()
    return [dict(r) for r in found]


def ingest_rows(engine: Engine, kind: RecordKind, rows: Sequence[object], source: str) -> RowsReport:
    """Ingests ``rows`` (dicts of field name -> text, number, boolean or list) as one batch of ``kind``
    from ``source`` (shown as the batch's source path); returns what was stored, what was a duplicate of
    a stored record and what was quarantined, with the quarantined rows' problems."""
    if len(rows) > MAX_ROWS:
        raise IngestError(f"{len(rows)} rows in one call; at most {MAX_ROWS:,} (ingest a file for more)")
    fmt = record_format(kind)
    source = printable(source)[:1000]
    sha = _sha256(rows)
    b = tables.batches
    with engine.begin() as conn:
        inserted = conn.execute(insert(b).values(
            kind=fmt.kind.value, source_path=source, source_format=SOURCE_FORMAT, sha256=sha,
            size_bytes=sum(len(_raw(r)) for r in rows), status="running", started_at=datetime.now(UTC),
            rows_read=0, rows_stored=0, rows_duplicate=0, rows_quarantined=0, rows_committed=0,
        )).inserted_primary_key
    assert inserted is not None
    batch_id = int(inserted[0])
    status, error = "completed", None
    try:
        if rows:
            _commit(engine, BatchLoader(engine, fmt, batch_id, None), prepare(rows_chunk(kind, rows), fmt), 0, None)
    except Exception as exc:
        # The batch is marked failed (its one transaction rolled back), then the error goes on.
        status, error = "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise
    finally:
        with engine.begin() as conn:
            conn.execute(update(b).where(b.c.id == batch_id).values(
                status=status, error=error, finished_at=datetime.now(UTC)))
    with engine.connect() as conn:
        final = conn.execute(select(b).where(b.c.id == batch_id)).mappings().one()
    report = RowsReport(batch_id, source, fmt.kind.value, SOURCE_FORMAT, status, sha, final["rows_read"],
                        final["rows_stored"], final["rows_duplicate"], final["rows_quarantined"],
                        problems=_problems(engine, batch_id) if final["rows_quarantined"] else [])
    log.info("batch %s from %s: read %s, stored %s, duplicate %s, quarantined %s", batch_id, source,
             report.rows_read, report.rows_stored, report.rows_duplicate, report.rows_quarantined)
    return report
