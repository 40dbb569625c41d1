"""Quarantine: list, show, export for correction, and replay of rejected rows.

A rejected row is kept exactly as read, with every problem found in it. A clerk exports the
open entries to CSV, fixes them in a spreadsheet and replays the file: rows that now pass are
stored and their entries marked resolved; rows that still fail are quarantined again with
their new reasons.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from cintel.domain.access import AccessContext
from cintel.domain.records import RecordKind, record_format
from cintel.ingest.pipeline import BatchReport, ingest_file
from cintel.ingest.problems import IngestError
from cintel.ingest.readers import ReadOptions
from cintel.spreadsheet import QUOTE, formula_like, safe_cell
from cintel.store import tables

log = logging.getLogger(__name__)
q = tables.quarantine
META = ("quarantine_id", "error_field", "error_code", "error_message", "raw_line")


@dataclass(frozen=True)
class Filter:
    batch_id: int | None = None
    code: str | None = None
    kind: RecordKind | None = None
    status: str | None = "open"
    ids: tuple[int, ...] = ()


def _where(f: Filter) -> list[Any]:
    clauses: list[Any] = []
    if f.batch_id is not None:
        clauses.append(q.c.batch_id == f.batch_id)
    if f.code:
        clauses.append(q.c.code == f.code.upper())
    if f.kind:
        clauses.append(q.c.kind == f.kind.value)
    if f.status:
        clauses.append(q.c.status == f.status)
    if f.ids:
        clauses.append(q.c.id.in_(f.ids))
    return clauses


def _audit(ctx: AccessContext, action: str, detail: str) -> None:
    log.info("access user=%s purpose=%r action=%s %s", ctx.user, ctx.purpose, action, detail)


def list_entries(engine: Engine, ctx: AccessContext, f: Filter, limit: int = 50) -> list[dict[str, Any]]:
    """Quarantine entries matching the filter, newest first, without their raw data."""
    _audit(ctx, "quarantine.list", str(f))
    cols = [q.c.id, q.c.batch_id, q.c.kind, q.c.source_row, q.c.record_key, q.c.field, q.c.code, q.c.message,
            q.c.status]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).where(*_where(f)).order_by(q.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]


def show_entry(engine: Engine, ctx: AccessContext, entry_id: int) -> dict[str, Any]:
    """One entry with every problem found and the row as it was read."""
    _audit(ctx, "quarantine.show", f"id={entry_id}")
    b = tables.batches
    with engine.connect() as conn:
        row = conn.execute(
            select(q, b.c.source_path).join(b, b.c.id == q.c.batch_id).where(q.c.id == entry_id)
        ).mappings().first()
    if row is None:
        raise IngestError(f"no quarantine entry {entry_id}")
    entry = dict(row)
    entry["errors"] = orjson.loads(entry["errors"])
    entry["created_at"] = entry["created_at"].isoformat()
    return entry


def _defuse(value: str | None) -> str | None:
    """Stops a spreadsheet from running a cell as a formula (OWASP CSV injection advice)."""
    return safe_cell(value) if value else value


def _restore(value: str) -> str:
    if value.startswith(QUOTE) and formula_like(value[1:]):
        return value[1:]
    return value


def _raw_values(raw: str) -> tuple[dict[str, Any], str]:
    """The row's values, or the raw line when the row could not be parsed at all."""
    try:
        values = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}, raw
    return (values, "") if isinstance(values, dict) else ({}, raw)


def export_entries(engine: Engine, ctx: AccessContext, f: Filter, out: Path) -> int:
    """Writes the matching entries to a CSV a clerk can correct and replay; returns rows written."""
    _audit(ctx, "quarantine.export", f"{f} -> {out}")
    with engine.connect() as conn:
        kinds = conn.execute(select(q.c.kind).where(*_where(f)).distinct()).scalars().all()
        if len(kinds) > 1:
            raise IngestError(f"the entries hold several record kinds ({', '.join(sorted(kinds))}); pass --kind")
        if not kinds:
            raise IngestError("no quarantine entries match")
        fmt = record_format(kinds[0])
        columns = [fl.name for fl in fmt.fields]
        rows = conn.execute(select(q.c.id, q.c.field, q.c.code, q.c.message, q.c.raw).where(*_where(f))
                            .order_by(q.c.batch_id, q.c.source_row))
        written = 0
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([META[0], *columns, *META[1:]])
            for entry_id, field, code, message, raw in rows:
                values, raw_line = _raw_values(raw)
                cells = [None if values.get(c) is None else str(values[c]) for c in columns]
                writer.writerow([entry_id, *(_defuse(c) for c in cells), field, code, _defuse(message),
                                 _defuse(raw_line)])
                written += 1
    return written


def _replay_csv(engine: Engine, kind: RecordKind, rows: list[tuple[int, dict[str, str]]],
                origin: int | None) -> BatchReport:
    fmt = record_format(kind)
    columns = [fl.name for fl in fmt.fields]
    with tempfile.TemporaryDirectory(prefix="cintel-replay-") as tmp:
        path = Path(tmp) / f"replay-{kind.value}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for _, values in rows:
                writer.writerow([values.get(c) for c in columns])
        resolves = {row_no: entry_id for row_no, (entry_id, _) in enumerate(rows, start=1)}
        return ingest_file(engine, path, file_format="csv", options=ReadOptions(kind=kind), replay_of=origin,
                           resolves=resolves)


def replay_file(engine: Engine, ctx: AccessContext, path: Path) -> BatchReport:
    """Ingests a corrected export; entries whose rows now pass are marked resolved."""
    _audit(ctx, "quarantine.replay", str(path))
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or META[0] not in reader.fieldnames:
                raise IngestError(f"{path.name}: not a quarantine export (no {META[0]} column)")
            rows = [(int(r[META[0]]), {k: _restore(v or "") for k, v in r.items() if k and k not in META})
                    for r in reader]
    except (UnicodeDecodeError, csv.Error, ValueError) as exc:
        raise IngestError(f"{path.name}: cannot read the corrected export ({exc})") from None
    if not rows:
        raise IngestError(f"{path.name}: no rows to replay")
    return _replay_ids(engine, [r[0] for r in rows], dict(rows))


def replay_entries(engine: Engine, ctx: AccessContext, f: Filter) -> BatchReport:
    """Re-checks stored entries unchanged (after reference data or rules were corrected)."""
    _audit(ctx, "quarantine.replay", str(f))
    with engine.connect() as conn:
        ids = conn.execute(select(q.c.id).where(*_where(f)).order_by(q.c.id)).scalars().all()
    if not ids:
        raise IngestError("no quarantine entries match")
    return _replay_ids(engine, list(ids), None)


def _replay_ids(engine: Engine, ids: list[int], corrected: dict[int, dict[str, str]] | None) -> BatchReport:
    with engine.connect() as conn:
        entries = conn.execute(select(q.c.id, q.c.kind, q.c.batch_id, q.c.raw, q.c.status)
                               .where(q.c.id.in_(ids)).order_by(q.c.id)).all()
    if len(entries) != len(set(ids)):
        missing = sorted(set(ids) - {e.id for e in entries})
        raise IngestError(f"unknown quarantine id(s): {', '.join(map(str, missing[:10]))}")
    kinds = {e.kind for e in entries}
    if len(kinds) > 1:
        raise IngestError(f"entries of several record kinds ({', '.join(sorted(kinds))}); replay one kind at a time")
    rows = [(e.id, corrected[e.id] if corrected is not None else _raw_values(e.raw)[0]) for e in entries
            if e.status == "open"]
    if not rows:
        raise IngestError("all these entries are already resolved")
    origin = entries[0].batch_id if len({e.batch_id for e in entries}) == 1 else None
    return _replay_csv(engine, RecordKind(kinds.pop()), rows, origin)
