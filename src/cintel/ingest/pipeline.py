"""Loading one file into the store as a batch: read, validate, quarantine, deduplicate, store.

Each chunk is one transaction that stores its good records, quarantines its bad ones and
advances the batch's counters and resume cursor together, so an interrupted ingest leaves the
store consistent and the same command resumes where it stopped. For every batch,
rows_read = rows_stored + rows_duplicate + rows_quarantined.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from cintel.domain.records import RecordFormat
from cintel.ingest.loader import BatchLoader
from cintel.ingest.prepare import Prepared, prepare
from cintel.ingest.problems import IngestError
from cintel.ingest.readers import Chunk, ReadOptions, detect_format, open_reader, printable
from cintel.ingest.validate import ROW
from cintel.store import tables

log = logging.getLogger(__name__)
Progress = Callable[[int], None]
T = TypeVar("T")


class IngestInterrupted(Exception):
    """The user stopped an ingest; the batch was left resumable."""


@dataclass
class BatchReport:
    batch_id: int
    path: str
    kind: str
    format: str
    status: str
    sha256: str
    rows_read: int
    rows_stored: int
    rows_duplicate: int
    rows_quarantined: int
    resumed_from_row: int = 0
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _ahead(items: Iterator[T], stop: threading.Event) -> Iterator[T]:
    """Produces the next item in a background thread while the caller works on the current one.

    Validation (Polars, which releases the GIL) of chunk n+1 then overlaps the database write of
    chunk n; an error in the producer is raised in the caller.
    """
    slot: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slot.put(("item", item), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slot.put(("done", None))
        except BaseException as exc:  # handed to the consumer, which decides
            slot.put(("error", exc))

    threading.Thread(target=produce, name="cintel-prepare", daemon=True).start()
    while True:
        tag, value = slot.get()
        if tag == "done":
            return
        if tag == "error":
            assert isinstance(value, BaseException)
            raise value
        yield value  # type: ignore[misc]


def _carry_split(chunk: Chunk, fmt: RecordFormat) -> tuple[Chunk, Chunk | None]:
    """Splits off the last record's rows, and every row after its first one, for the next chunk.

    The last record is the one of the last row that names a record, readable or not, so that an
    unreadable item never separates a declaration from the rest of its items.
    """
    frame = chunk.frame
    if not fmt.group or len(fmt.group) != 1:
        return chunk, None
    key_col = fmt.group[0]
    keyed = [(b.row, b.key) for b in chunk.bad_rows if b.key is not None]
    if frame.height:
        last_good = frame.select(ROW, pl.col(key_col).cast(pl.String)).row(-1)
        keyed.append((last_good[0], last_good[1]))
    if not keyed:
        return chunk, None
    last_key = max(keyed, key=lambda rk: rk[0])[1]
    starts = [row for row, key in keyed if key == last_key]
    starts += frame.filter(pl.col(key_col).cast(pl.String) == last_key).get_column(ROW).to_list()
    first_row = min(starts)
    keep = Chunk(frame.filter(pl.col(ROW) < first_row), [b for b in chunk.bad_rows if b.row < first_row],
                 sources={r: t for r, t in chunk.sources.items() if r < first_row})
    carry = Chunk(frame.filter(pl.col(ROW) >= first_row), [b for b in chunk.bad_rows if b.row >= first_row],
                  sources={r: t for r, t in chunk.sources.items() if r >= first_row})
    carried = carry.frame.height + len(carry.bad_rows)
    keep.records = chunk.records - carried
    carry.records = carried
    return keep, carry


def _merge(carry: Chunk | None, chunk: Chunk) -> Chunk:
    if carry is None:
        return chunk
    frame = pl.concat([carry.frame, chunk.frame], how="diagonal_relaxed")
    return Chunk(frame, carry.bad_rows + chunk.bad_rows, carry.records + chunk.records,
                 {**carry.sources, **chunk.sources})


def ingest_file(
    engine: Engine,
    path: Path,
    *,
    file_format: str | None = None,
    options: ReadOptions | None = None,
    force: bool = False,
    progress: Progress | None = None,
    replay_of: int | None = None,
    resolves: dict[int, int] | None = None,
) -> BatchReport:
    """Ingests one file as a batch, resuming an interrupted batch of the same file."""
    options = options or ReadOptions()
    reader = open_reader(path, file_format, options)
    shown_path = printable(path)
    source_format = detect_format(path, file_format)
    sha = file_sha256(path)
    b = tables.batches
    with engine.begin() as conn:
        previous = conn.execute(
            select(b).where(b.c.sha256 == sha, b.c.kind == reader.kind.value).order_by(b.c.id.desc())
        ).mappings().first()
    if previous is not None and previous["status"] == "completed" and not force:
        return BatchReport(previous["id"], shown_path, reader.kind.value, source_format, "skipped", sha,
                           previous["rows_read"], previous["rows_stored"], previous["rows_duplicate"],
                           previous["rows_quarantined"],
                           message=f"already ingested as batch {previous['id']}; use --force to re-check it")
    resume = previous is not None and previous["status"] != "completed" and not force
    skip = previous["rows_committed"] if resume and previous is not None else 0
    with engine.begin() as conn:
        if resume and previous is not None:
            batch_id = previous["id"]
            conn.execute(update(b).where(b.c.id == batch_id).values(status="running", error=None))
        else:
            inserted = conn.execute(insert(b).values(
                kind=reader.kind.value, source_path=shown_path, source_format=source_format, sha256=sha,
                size_bytes=path.stat().st_size, status="running", started_at=datetime.now(UTC),
                rows_read=0, rows_stored=0, rows_duplicate=0, rows_quarantined=0, rows_committed=0,
                replay_of=replay_of,
            )).inserted_primary_key
            assert inserted is not None
            batch_id = inserted[0]
    loader = BatchLoader(engine, reader.fmt, batch_id, resolves)
    cursor = skip
    status, error = "completed", None
    stop = threading.Event()
    crash: Exception | None = None

    def prepared_chunks() -> Iterator[Prepared]:
        carry: Chunk | None = None
        for chunk in reader.chunks(skip):
            work, carry = _carry_split(_merge(carry, chunk), reader.fmt)
            yield prepare(work, reader.fmt)
        if carry is not None:
            yield prepare(carry, reader.fmt)

    try:
        for prepared in _ahead(prepared_chunks(), stop):
            cursor = _commit(engine, loader, prepared, cursor, progress)
    except KeyboardInterrupt:
        status, error = "interrupted", f"interrupted by the user after row {cursor}; run the same command to resume"
    except IngestError as exc:
        status, error = "failed", str(exc)
    except Exception as exc:
        # An unexpected fault (database gone, disk full): the batch is marked so, then the error goes on.
        crash = exc
        status, error = "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        stop.set()
    with engine.begin() as conn:
        conn.execute(update(b).where(b.c.id == batch_id).values(
            status=status, error=error, finished_at=datetime.now(UTC)))
        final = conn.execute(select(b).where(b.c.id == batch_id)).mappings().one()
    report = BatchReport(batch_id, shown_path, reader.kind.value, source_format, status, sha, final["rows_read"],
                         final["rows_stored"], final["rows_duplicate"], final["rows_quarantined"], skip, error or "")
    log.info("batch %s %s: read %s, stored %s, duplicate %s, quarantined %s", batch_id, status,
             report.rows_read, report.rows_stored, report.rows_duplicate, report.rows_quarantined)
    if crash is not None:
        raise crash
    if status == "interrupted":
        raise IngestInterrupted(error)
    if status == "failed":
        raise IngestError(f"{error} (batch {batch_id}: rows up to {cursor} are stored; fix and run again to resume)")
    return report


def _commit(engine: Engine, loader: BatchLoader, prepared: Prepared, cursor: int, progress: Progress | None) -> int:
    chunk = prepared.chunk
    rows = chunk.frame.height + len(chunk.bad_rows)
    cursor += chunk.records
    with engine.begin() as conn:
        outcome = loader.load(conn, prepared)
        if chunk.sources and outcome.quarantined:
            _keep_sources(conn, loader.batch_id, chunk.sources)
        if outcome.stored + outcome.duplicate + outcome.quarantined != rows:
            raise RuntimeError(f"batch {loader.batch_id}: row accounting broke ({outcome} for {rows} rows)")
        b = tables.batches
        conn.execute(update(b).where(b.c.id == loader.batch_id).values(
            rows_read=b.c.rows_read + rows, rows_stored=b.c.rows_stored + outcome.stored,
            rows_duplicate=b.c.rows_duplicate + outcome.duplicate,
            rows_quarantined=b.c.rows_quarantined + outcome.quarantined, rows_committed=cursor,
        ))
    if progress:
        progress(chunk.records)
    return cursor


def _keep_sources(conn: Connection, batch_id: int, sources: dict[int, str]) -> None:
    """Gives the quarantine entries of this chunk the source text their rows were mapped from.

    For EDIFACT, the flat row (``raw``) says what was read and ``source_text`` the message's segments,
    so a clerk sees the value that could not be mapped.
    """
    q = tables.quarantine
    rows = list(sources)
    for start in range(0, len(rows), 500):
        part = rows[start:start + 500]
        entries = conn.execute(select(q.c.id, q.c.source_row).where(
            q.c.batch_id == batch_id, q.c.source_text.is_(None), q.c.source_row.in_(part))).all()
        if entries:
            conn.execute(update(q).where(q.c.id == bindparam("entry")).values(source_text=bindparam("text")),
                         [{"entry": e.id, "text": sources[e.source_row]} for e in entries])
