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

import duckdb
import orjson
import polars as pl
from sqlalchemy import Connection, Engine, insert, select, update

from cintel.domain.records import RecordFormat, RecordKind
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.readers import BadRow, Chunk, ReadOptions, detect_format, open_reader, printable
from cintel.ingest.validate import PROBLEM_SCHEMA, ROW, validate
from cintel.store import tables
from cintel.store.bulk import copy_rows, existing

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


def _group_key(fmt: RecordFormat) -> tuple[str, ...]:
    return fmt.group or fmt.key


def _concat(columns: list[str]) -> pl.Expr:
    return pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in columns], separator="\x1f")


def _record_hashes(std: pl.DataFrame, fmt: RecordFormat) -> pl.DataFrame:
    """A stable content hash per record (per group for multi-row records), independent of file format.

    A declaration's header fields repeat on each item row; they are hashed once per declaration.
    """
    group = list(_group_key(fmt))
    order = [k for k in fmt.key if k not in group]
    row_fields = [f.name for f in (fmt.item_fields if fmt.group else fmt.fields)]
    rows = std.select(*group, *order, _concat(row_fields).alias("t"))
    if fmt.group:
        headers = std.unique(subset=group, keep="first").select(
            *group, _concat([f.name for f in fmt.header_fields]).alias("h"))
    else:
        headers = rows.select(*group, pl.lit("").alias("h"))
    order_sql = f"ORDER BY {', '.join(order)}" if order else ""
    keys = ", ".join(group)
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.register("row_text", rows.to_arrow())
        con.register("header_text", headers.to_arrow())
        # Column names come from the record format, never from input.
        query = (f"SELECT {keys}, md5(any_value(h) || chr(29) || string_agg(t, chr(30) {order_sql})) AS record_hash "  # noqa: S608
                 f"FROM row_text JOIN header_text USING ({keys}) GROUP BY {keys}")
        hashed = con.sql(query).pl()
    result: pl.DataFrame = hashed.with_columns([pl.col(k).cast(std.schema[k]) for k in group])
    return result


def _row_problems(std: pl.DataFrame, fmt: RecordFormat) -> pl.DataFrame:
    """Problems that need several rows to see: duplicate keys, inconsistent declaration headers."""
    parts = [pl.DataFrame(schema=PROBLEM_SCHEMA)]
    key = list(fmt.key)
    dupes = std.filter(pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    if dupes.height:
        parts.append(dupes.select(
            pl.col(ROW), pl.lit(key[-1]).alias("field"), pl.lit(Problem.DUPLICATE_KEY.value).alias("code"),
            pl.format("{} {} appears more than once in the file", pl.lit(" + ".join(key)),
                      pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" / ")).alias("message"),
        ))
    if fmt.group:
        headers = [f.name for f in fmt.header_fields if f.name not in fmt.group]
        # One pass finds the rare records whose items disagree; only those are examined field by field.
        suspects = std.group_by(list(fmt.group)).agg(pl.struct(headers).n_unique().alias("variants")) \
            .filter(pl.col("variants") > 1).drop("variants")
        if suspects.height:
            varying = std.join(suspects, on=list(fmt.group), nulls_equal=True).group_by(list(fmt.group)).agg(
                [(pl.col(h).n_unique() > 1).alias(h) for h in headers]
            ).with_columns(
                pl.concat_str([pl.when(pl.col(h)).then(pl.lit(h)) for h in headers], separator=", ",
                              ignore_nulls=True).alias("fields")
            )
            parts.append(std.join(varying.select(*fmt.group, "fields"), on=list(fmt.group)).select(
                pl.col(ROW), pl.col("fields").str.split(", ").list.first().alias("field"),
                pl.lit(Problem.INCONSISTENT_HEADER.value).alias("code"),
                pl.format("items of declaration {} disagree on {}", pl.col(fmt.group[0]), pl.col("fields"))
                .alias("message"),
            ))
    return pl.concat(parts)


@dataclass
class Prepared:
    """A chunk checked and hashed, ready to be stored; computing it needs no database."""

    chunk: Chunk
    std: pl.DataFrame
    problems: pl.DataFrame
    hashes: pl.DataFrame


def prepare(chunk: Chunk, fmt: RecordFormat) -> Prepared:
    checked = validate(chunk.frame, fmt)
    problems = pl.concat([checked.problems, _row_problems(checked.clean, fmt)])
    return Prepared(chunk, checked.clean, problems, _record_hashes(checked.clean, fmt))


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


@dataclass
class _Outcome:
    stored: int
    duplicate: int
    quarantined: int


class BatchLoader:
    """Stores the chunks of one file as one batch."""

    def __init__(self, engine: Engine, fmt: RecordFormat, batch_id: int, resolves: dict[int, int] | None) -> None:
        self.engine = engine
        self.fmt = fmt
        self.batch_id = batch_id
        # source row -> quarantine id it fixes (replay of an exported quarantine file)
        self.resolves = resolves or {}
        self.table = tables.declarations if fmt.kind is RecordKind.DECLARATIONS else tables.record_tables[fmt.kind]

    def _quarantine_rows(self, raw: pl.DataFrame, problems: pl.DataFrame, bad_rows: list[BadRow],
                         group_rejects: pl.DataFrame) -> list[dict[str, object]]:
        now = datetime.now(UTC)
        key_cols = list(_group_key(self.fmt))
        entries: list[dict[str, object]] = []
        if problems.height or group_rejects.height:
            listed = pl.concat([problems, group_rejects]).group_by(ROW, maintain_order=True).agg(
                pl.struct("field", "code", "message").alias("errors"))
            joined = listed.join(raw, on=ROW, how="left")
            for rec in joined.iter_rows(named=True):
                errors = rec.pop("errors")
                row = rec.pop(ROW)
                key = " / ".join(str(rec.get(k)) for k in key_cols)
                entries.append({
                    "batch_id": self.batch_id, "kind": self.fmt.kind.value, "source_row": row,
                    "record_key": key[:500], "field": errors[0]["field"][:64], "code": errors[0]["code"],
                    "message": errors[0]["message"], "errors": orjson.dumps(errors).decode(),
                    "raw": orjson.dumps(rec, default=str).decode(), "status": "open", "created_at": now,
                })
        for bad in bad_rows:
            error = {"field": bad.field, "code": bad.code.value, "message": bad.message}
            entries.append({
                "batch_id": self.batch_id, "kind": self.fmt.kind.value, "source_row": bad.row,
                "record_key": bad.key[:500] if bad.key is not None else None,
                "field": bad.field, "code": bad.code.value, "message": bad.message,
                "errors": orjson.dumps([error]).decode(), "raw": bad.raw, "status": "open", "created_at": now,
            })
        return entries

    def load(self, conn: Connection, prepared: Prepared) -> _Outcome:
        """Stores a prepared chunk inside the caller's transaction; returns what happened to its rows."""
        fmt = self.fmt
        chunk, std, problems, hashes = prepared.chunk, prepared.std, prepared.problems, prepared.hashes
        raw = chunk.frame
        group = list(_group_key(fmt))

        # Records whose key is already stored: identical ones are duplicates, others conflicts.
        stored = existing(conn, self.table, tuple(group), hashes)
        if stored.height:
            stored = stored.rename({"record_hash": "stored_hash", "batch_id": "stored_batch"})
            compare = hashes.with_columns([pl.col(k).cast(pl.String) for k in group]).join(stored, on=group)
            conflicts = compare.filter(pl.col("record_hash") != pl.col("stored_hash"))
            duplicates = compare.filter(pl.col("record_hash") == pl.col("stored_hash")).select(group)
            if conflicts.height:
                rows = std.with_columns([pl.col(k).cast(pl.String) for k in group]).join(
                    conflicts, on=group).select(
                    pl.col(ROW), pl.lit(group[0]).alias("field"),
                    pl.when(pl.col("stored_batch") == self.batch_id)
                    .then(pl.lit(Problem.SPLIT_DECLARATION.value))
                    .otherwise(pl.lit(Problem.CONFLICTS_WITH_STORED.value)).alias("code"),
                    pl.when(pl.col("stored_batch") == self.batch_id)
                    .then(pl.format("items of {} are not contiguous in the file; part was stored from earlier "
                                    "rows", pl.col(group[0])))
                    .otherwise(pl.format("{} {} is already stored (batch {}) with different content; "
                                         "amend it there instead", pl.lit(group[0]), pl.col(group[0]),
                                         pl.col("stored_batch"))).alias("message"),
                )
                problems = pl.concat([problems, rows])
        else:
            duplicates = pl.DataFrame(schema={k: pl.String for k in group})

        # A record with any bad row is rejected whole; its other rows say why.
        bad_keys = std.join(problems.select(ROW).unique(), on=ROW).select(group)
        unreadable = [b.key for b in chunk.bad_rows if b.key is not None]
        if unreadable and len(group) == 1:
            bad_keys = pl.concat([bad_keys, pl.DataFrame({group[0]: unreadable}).cast(bad_keys.schema)])
        bad_keys = bad_keys.unique()
        rejected = std.join(bad_keys, on=group, how="semi", nulls_equal=True)
        reasons = problems.join(std.select(ROW, *group), on=ROW).select(*group, "message", ROW)
        if unreadable and len(group) == 1:
            keyed = [b for b in chunk.bad_rows if b.key is not None]
            reasons = pl.concat([reasons, pl.DataFrame(
                {group[0]: [b.key for b in keyed], "message": [b.message for b in keyed], ROW: [b.row for b in keyed]},
                schema={group[0]: pl.String, "message": pl.String, ROW: pl.Int64}).cast(reasons.schema)])
        first_error = reasons.sort(ROW).group_by(group).agg(
            pl.col("message").first().alias("why"), pl.col(ROW).min().alias("bad_row"))
        group_rejects = rejected.join(problems.select(ROW).unique(), on=ROW, how="anti").join(
            first_error, on=group).select(
            pl.col(ROW), pl.lit(group[0]).alias("field"), pl.lit(Problem.DECLARATION_REJECTED.value).alias("code"),
            pl.format("rejected with row {} of the same record: {}", pl.col("bad_row"), pl.col("why"))
            .alias("message"),
        )
        entries = self._quarantine_rows(raw.filter(pl.col(ROW).is_in(rejected.get_column(ROW).implode())),
                                        problems.join(std.select(ROW), on=ROW, how="semi"),
                                        chunk.bad_rows, group_rejects)
        if entries:
            conn.execute(insert(tables.quarantine), entries)

        good = std.join(bad_keys, on=group, how="anti", nulls_equal=True)
        dup_rows = good.with_columns([pl.col(k).cast(pl.String) for k in group]).join(duplicates, on=group,
                                                                                        how="semi")
        new = good.join(dup_rows.select(ROW), on=ROW, how="anti").join(hashes, on=group)
        new = new.with_columns(pl.lit(self.batch_id).alias("batch_id"))
        self._store(conn, new)
        self._settle(conn, good.get_column(ROW),
                     rejected.get_column(ROW).to_list() + [b.row for b in chunk.bad_rows])
        return _Outcome(stored=new.height, duplicate=dup_rows.height,
                        quarantined=rejected.height + len(chunk.bad_rows))

    def _store(self, conn: Connection, new: pl.DataFrame) -> None:
        if new.height == 0:
            return
        if self.fmt.kind is not RecordKind.DECLARATIONS:
            copy_rows(conn, self.table, new.rename({ROW: "source_row"}))
            return
        headers = new.sort(ROW).group_by("declaration_id", maintain_order=True).agg(
            pl.all().exclude("item_no").first(), pl.len().alias("n_items"), pl.col(ROW).min().alias("source_row"))
        copy_rows(conn, tables.declarations, headers)
        copy_rows(conn, tables.declaration_items, new.rename({ROW: "source_row"}))
        containers = headers.select(
            "declaration_id", pl.col("container_numbers").str.split(";").alias("container_number")
        ).explode("container_number").drop_nulls().unique()
        copy_rows(conn, tables.declaration_containers, containers)

    def _settle(self, conn: Connection, passed: pl.Series, failed: list[int]) -> None:
        """In a replay, marks entries whose rows now pass as resolved, and those failing again as superseded
        by their new entry, so each rejected row has exactly one open entry."""
        if not self.resolves:
            return
        for status, rows in (("resolved", passed.to_list()), ("superseded", failed)):
            ids = [self.resolves[r] for r in rows if r in self.resolves]
            for start in range(0, len(ids), 500):
                conn.execute(update(tables.quarantine).where(tables.quarantine.c.id.in_(ids[start:start + 500]))
                             .values(status=status, resolved_batch_id=self.batch_id))


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
    keep = Chunk(frame.filter(pl.col(ROW) < first_row), [b for b in chunk.bad_rows if b.row < first_row])
    carry = Chunk(frame.filter(pl.col(ROW) >= first_row), [b for b in chunk.bad_rows if b.row >= first_row])
    carried = carry.frame.height + len(carry.bad_rows)
    keep.records = chunk.records - carried
    carry.records = carried
    return keep, carry


def _merge(carry: Chunk | None, chunk: Chunk) -> Chunk:
    if carry is None:
        return chunk
    frame = pl.concat([carry.frame, chunk.frame], how="diagonal_relaxed")
    return Chunk(frame, carry.bad_rows + chunk.bad_rows, carry.records + chunk.records)


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
    finally:
        stop.set()
    with engine.begin() as conn:
        conn.execute(update(b).where(b.c.id == batch_id).values(
            status=status, error=error, finished_at=datetime.now(UTC)))
        final = conn.execute(select(b).where(b.c.id == batch_id)).mappings().one()
    report = BatchReport(batch_id, shown_path, reader.kind.value, source_format, status, sha, final["rows_read"],
                         final["rows_stored"], final["rows_duplicate"], final["rows_quarantined"], skip, error or "")
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
